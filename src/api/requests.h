// Parsing of API request bodies: pure functions, fuzzed by test/fuzz/fuzz_api_json.cpp.
#pragma once

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

}  // namespace depai::api
