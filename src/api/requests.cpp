#include "api/requests.h"

#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace depai::api {

Result<TxRequest> ParseTxRequest(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return Error{"api", 2, "request body is not valid JSON"};
  if (!j.is_object()) return Error{"api", 2, "request body must be a JSON object"};
  if (!j.contains("tx_bytes") || !j["tx_bytes"].is_string())
    return Error{"api", 3, "missing string field 'tx_bytes' (base64 TxRaw)"};
  TxRequest r;
  auto tx = crypto::Base64Decode(j["tx_bytes"].get<std::string>());
  if (!tx) return Error{"api", 4, "'tx_bytes' is not valid base64"};
  if (tx->empty()) return Error{"api", 4, "'tx_bytes' is empty"};
  r.tx = std::move(*tx);
  if (j.contains("mode")) {
    if (!j["mode"].is_string()) return Error{"api", 5, "'mode' must be \"sync\" or \"commit\""};
    auto m = j["mode"].get<std::string>();
    if (m == "sync")
      r.mode = BroadcastMode::kSync;
    else if (m == "commit")
      r.mode = BroadcastMode::kCommit;
    else
      return Error{"api", 5, "'mode' must be \"sync\" or \"commit\", got \"" + m + "\""};
  }
  return r;
}

}  // namespace depai::api
