#include "cli/node_client.h"

#include <map>

#include "client/http_client.h"
#include "crypto/hash.h"
#include "util/bytes.h"
#include "x/types/tx.h"

namespace depai::cli {

using nlohmann::json;

std::string ApiErrorMessage(const json& body, int status) {
  if (body.is_object() && body.contains("message"))
    return body["message"].get<std::string>() + " (codespace " + body.value("codespace", "?") + ", code " +
           std::to_string(body.value("code", 0u)) + ")";
  return "HTTP " + std::to_string(status);
}

namespace {
// --node may name a CometBFT RPC endpoint (port 26657) instead of a depai API: detected from the
// JSON-RPC shape of GET /status. Queries then go through abci_query and broadcasts through
// broadcast_tx_sync/commit, and the answers are mapped to the depai API's shapes.
bool IsCometRpc(const GlobalOptions& g) {
  static std::map<std::string, bool> cache;
  auto it = cache.find(g.node);
  if (it != cache.end()) return it->second;
  auto r = client::HttpRequest(g.node, "GET", "/status");
  if (!r.ok()) throw CommandError{r.error().message};
  json body = json::parse(r->body, nullptr, false);
  bool comet = body.is_object() && body.contains("jsonrpc");
  cache[g.node] = comet;
  return comet;
}

json CometGet(const GlobalOptions& g, const std::string& path) {
  auto r = client::HttpRequest(g.node, "GET", path);
  if (!r.ok()) throw CommandError{r.error().message};
  json body = json::parse(r->body, nullptr, false);
  if (body.is_discarded()) throw CommandError{"CometBFT returned invalid JSON for " + path};
  if (body.contains("error"))
    throw CommandError{"CometBFT RPC error: " +
                       body["error"].value("data", body["error"].value("message", std::string("?")))};
  return body["result"];
}

json CometQuery(const GlobalOptions& g, const std::string& app_path) {
  auto res = CometGet(g, "/abci_query?path=%22" + app_path + "%22")["response"];
  if (res.value("code", 0u) != 0)
    throw CommandError{res.value("log", "") + " (codespace " + res.value("codespace", "") + ", code " +
                       std::to_string(res.value("code", 0u)) + ")"};
  auto v = crypto::Base64Decode(res.value("value", ""));
  json out = json::parse(v.value_or("null"), nullptr, false);
  if (out.is_discarded()) throw CommandError{"app returned invalid JSON for " + app_path};
  return out;
}

json CometTranslate(const GlobalOptions& g, const std::string& path) {
  auto starts = [&](const char* p) { return path.rfind(p, 0) == 0; };
  if (path == "/status") {
    auto r = CometGet(g, "/status");
    return json{{"chain_id", r["node_info"]["network"]},
                {"node_version", "cometbft " + r["node_info"].value("version", std::string())},
                {"latest_block_height", r["sync_info"]["latest_block_height"]},
                {"latest_app_hash", r["sync_info"]["latest_app_hash"]},
                {"latest_block_time", r["sync_info"]["latest_block_time"]},
                {"mempool_size", 0}};
  }
  if (starts("/q/")) return CometQuery(g, path.substr(2));
  if (starts("/accounts/")) return CometQuery(g, "/auth/account/" + path.substr(10));
  if (starts("/balances/")) return CometQuery(g, "/bank/balances/" + path.substr(10));
  if (path == "/supply") return CometQuery(g, "/bank/supply");
  if (starts("/txs/")) {
    auto r = CometGet(g, "/tx?hash=0x" + path.substr(5));
    auto& res = r["tx_result"];
    return json{{"hash", r["hash"]},
                {"height", r["height"]},
                {"index", r["index"]},
                {"code", res.value("code", 0u)},
                {"codespace", res.value("codespace", "")},
                {"log", res.value("log", "")},
                {"gas_wanted", res.value("gas_wanted", "0")},
                {"gas_used", res.value("gas_used", "0")},
                {"tx", json{{"raw", r["tx"]}}}};
  }
  if (starts("/blocks/")) {
    std::string h = path.substr(8);
    auto r = CometGet(g, h == "latest" ? "/block" : "/block?height=" + h);
    auto& hdr = r["block"]["header"];
    json txs = json::array();
    for (const auto& t : r["block"]["data"]["txs"]) {
      auto raw = crypto::Base64Decode(t.get<std::string>()).value_or("");
      txs.push_back(json{{"hash", x::TxHash(raw)}, {"code", 0}});
    }
    return json{{"height", hdr["height"]},
                {"time", hdr["time"]},
                {"hash", r["block_id"]["hash"]},
                {"app_hash", hdr["app_hash"]},
                {"num_txs", txs.size()},
                {"txs", txs},
                {"note", "CometBFT header app_hash is the state after the previous block"}};
  }
  throw CommandError{"not available through a CometBFT RPC node: " + path};
}
}  // namespace

json GetJsonOrThrow(const GlobalOptions& g, const std::string& path) {
  if (IsCometRpc(g)) return CometTranslate(g, path);
  auto r = client::HttpRequest(g.node, "GET", path);
  if (!r.ok()) throw CommandError{r.error().message};
  json body = json::parse(r->body, nullptr, false);
  if (r->status != 200) throw CommandError{ApiErrorMessage(body, r->status)};
  if (body.is_discarded()) throw CommandError{"node returned invalid JSON for " + path};
  return body;
}

std::pair<int, json> PostJson(const GlobalOptions& g, const std::string& path, const json& body) {
  if (path == "/txs" && IsCometRpc(g)) {
    auto tx = crypto::Base64Decode(body.value("tx_bytes", "")).value_or("");
    bool commit = body.value("mode", "sync") == "commit";
    auto r =
        CometGet(g, std::string(commit ? "/broadcast_tx_commit" : "/broadcast_tx_sync") + "?tx=0x" + HexEncode(tx));
    const json& ck = commit ? r["check_tx"] : r;
    if (ck.value("code", 0u) != 0)
      return {400, json{{"code", ck.value("code", 0u)},
                        {"codespace", ck.value("codespace", "")},
                        {"message", ck.value("log", "")},
                        {"hash", r.value("hash", "")}}};
    if (!commit) return {200, json{{"hash", r.value("hash", "")}, {"code", 0}, {"codespace", ""}, {"log", ""}}};
    const json& res = r["tx_result"];
    return {200, json{{"hash", r.value("hash", "")},
                      {"height", r.value("height", "0")},
                      {"code", res.value("code", 0u)},
                      {"codespace", res.value("codespace", "")},
                      {"log", res.value("log", "")},
                      {"gas_wanted", res.value("gas_wanted", "0")},
                      {"gas_used", res.value("gas_used", "0")},
                      {"events", res.value("events", json::array())}}};
  }
  auto r = client::HttpRequest(g.node, "POST", path, body.dump());
  if (!r.ok()) throw CommandError{r.error().message};
  json out = json::parse(r->body, nullptr, false);
  if (out.is_discarded()) throw CommandError{"node returned invalid JSON (HTTP " + std::to_string(r->status) + ")"};
  return {r->status, out};
}

}  // namespace depai::cli
