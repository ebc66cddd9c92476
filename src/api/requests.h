// Parsing of API requests: the POST /txs body, the path parameters (address, height, tx hash) and
// the query strings of the node's HTTP API. Pure functions, no state, safe from any thread; fuzzed
// by test/fuzz/fuzz_api_json.cpp. Each one accepts exactly what doc/openapi.yaml declares for that
// parameter and returns a clear Error otherwise (codespace "api" unless noted; the codes are listed
// in doc/api.md), which the server answers with 400.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/result.h"

namespace depai::api {

enum class BroadcastMode { kSync, kCommit };

struct TxRequest {
  Bytes tx;
  BroadcastMode mode = BroadcastMode::kSync;
};

// {"tx_bytes": "<base64 TxRaw>", "mode": "sync"|"commit"}. Errors: codespace "api".
Result<TxRequest> ParseTxRequest(std::string_view body);

// Heights are int64 block heights: decimal digits only (no sign, space or exponent), at least
// `min`, at most INT64_MAX. `name` names the parameter in the error message. Error code 7.
inline constexpr int64_t kMaxHeight = std::numeric_limits<int64_t>::max();
Result<int64_t> ParseHeight(std::string_view name, std::string_view raw, int64_t min = 1);

// A tx hash path segment (percent-decoded): exactly 64 hex characters, either case; returned
// upper-case, as the node stores them. Error code 9.
Result<std::string> ParseTxHash(std::string_view raw);

// An account address path segment (percent-decoded): a bech32 depai1... address of 20 bytes,
// all lower-case or all upper-case (BIP-173), returned as given. Error: codespace "sdk", code 7
// (invalid address), the chain's own code for it.
Result<std::string> ParseAddressParam(std::string_view raw);

// The query string of an HTTP target ("/events?a=1&b=x%20y"), percent-decoded, as name -> value
// ("" for "?a" or "?a="). A name given twice is an error (code 16, kErrDuplicateParam): the API never guesses which
// one was meant.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view target);

// GET /events?from_height=H&to_height=H2&type=T: heights as ParseHeight (minimum 1), type any
// string; every one optional, other names ignored.
struct EventsRequest {
  std::optional<int64_t> from_height;
  std::optional<int64_t> to_height;
  std::string type;  // "" = every type
};
Result<EventsRequest> ParseEventsRequest(std::string_view target);

}  // namespace depai::api
