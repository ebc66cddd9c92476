#include <time.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/backend.h"
#include "client/http_client.h"
#include "crypto/hash.h"
#include "util/bytes.h"
#include "x/types/tx.h"

namespace depai::api {

using nlohmann::json;

namespace {

// GET on the CometBFT JSON-RPC; the "result" member, or nullopt on any error.
std::optional<json> RpcGet(const std::string& rpc, const std::string& path, int timeout_ms = 10000) {
  auto r = client::HttpRequest(rpc, "GET", path, "", timeout_ms);
  if (!r.ok() || r->status != 200) return std::nullopt;
  json body = json::parse(r->body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || body.contains("error") || !body.contains("result"))
    return std::nullopt;
  return body["result"];
}

int64_t I64(const json& j) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (!s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), ::isdigit)) return std::stoll(s);
  }
  return 0;
}

Bytes HexBytes(const json& j) {
  if (!j.is_string()) return {};
  return HexDecode(j.get<std::string>()).value_or(Bytes());
}

// RFC 3339 ("2026-11-22T18:30:00.123456789Z") to unix milliseconds; 0 when malformed.
int64_t ParseRfc3339Ms(const std::string& s) {
  tm t{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  if (!rest) return 0;
  int64_t ms = 0;
  if (*rest == '.') {
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits)
      if (digits < 3) ms = ms * 10 + (*rest - '0');
    for (; digits < 3; ++digits) ms *= 10;
  }
  return static_cast<int64_t>(timegm(&t)) * 1000 + ms;
}

std::vector<app::Event> EventsFrom(const json& arr) {
  std::vector<app::Event> out;
  if (!arr.is_array()) return out;
  for (const auto& e : arr) {
    app::Event ev;
    ev.type = e.value("type", "");
    if (e.contains("attributes") && e["attributes"].is_array())
      for (const auto& a : e["attributes"])
        ev.attributes.push_back({a.value("key", ""), a.value("value", ""), a.value("index", true)});
    out.push_back(std::move(ev));
  }
  return out;
}

app::ExecTxResult ResultFrom(const json& r) {
  app::ExecTxResult x;
  x.code = r.value("code", 0u);
  x.log = r.value("log", "");
  x.info = r.value("info", "");
  x.codespace = r.value("codespace", "");
  x.gas_wanted = I64(r.value("gas_wanted", json("0")));
  x.gas_used = I64(r.value("gas_used", json("0")));
  x.events = EventsFrom(r.value("events", json::array()));
  return x;
}

}  // namespace

app::ResponseCheckTx CometBackend::Broadcast(const Bytes& tx, std::string* hash_out) {
  if (hash_out) *hash_out = x::TxHash(tx);
  app::ResponseCheckTx out;
  auto r = RpcGet(rpc_, "/broadcast_tx_sync?tx=0x" + HexEncode(tx), 30000);
  if (!r) {
    out.code = 1;
    out.codespace = "api";
    out.log = "CometBFT RPC " + rpc_ + " did not accept the transaction (down, or the mempool is full)";
    return out;
  }
  out.code = r->value("code", 0u);
  out.codespace = r->value("codespace", "");
  out.log = r->value("log", "");
  return out;
}

std::optional<devnet::TxLocation> CometBackend::FindTx(const std::string& hash) {
  auto r = RpcGet(rpc_, "/tx?hash=0x" + hash);
  if (!r) return std::nullopt;
  devnet::TxLocation loc;
  loc.height = I64((*r)["height"]);
  loc.index = static_cast<size_t>(I64((*r)["index"]));
  if (loc.height <= 0) return std::nullopt;
  return loc;
}

std::optional<devnet::TxLocation> CometBackend::WaitForTx(const std::string& hash, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto loc = FindTx(hash);
    // Wait until the App has committed that height too, so queries that follow see the tx.
    if (loc && loc->height <= Status().height) return loc;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

app::ResponseQuery CometBackend::Query(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  app::RequestQuery q;
  q.path = path;
  return app_.Query(q);
}

devnet::NodeStatus CometBackend::Status() {
  devnet::NodeStatus s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.chain_id = app_.chain_id();
    auto info = app_.Info({});
    s.height = info.last_block_height;
    s.app_hash = info.last_block_app_hash;
  }
  if (auto r = RpcGet(rpc_, "/status", 3000)) {
    const auto& si = (*r)["sync_info"];
    if (I64(si["latest_block_height"]) == s.height)
      s.block_time_unix_ms = ParseRfc3339Ms(si.value("latest_block_time", ""));
  }
  if (auto r = RpcGet(rpc_, "/num_unconfirmed_txs", 3000)) s.mempool_size = static_cast<size_t>(I64((*r)["n_txs"]));
  return s;
}

std::optional<devnet::StoredBlock> CometBackend::Block(int64_t height) {
  auto b = RpcGet(rpc_, "/block?height=" + std::to_string(height));
  if (!b || !(*b)["block"].is_object()) return std::nullopt;
  auto res = RpcGet(rpc_, "/block_results?height=" + std::to_string(height));
  if (!res) return std::nullopt;
  const auto& hdr = (*b)["block"]["header"];
  devnet::StoredBlock out;
  out.height = I64(hdr["height"]);
  out.time_unix_ms = ParseRfc3339Ms(hdr.value("time", ""));
  out.hash = HexBytes((*b)["block_id"]["hash"]);
  out.prev_hash = HexBytes(hdr["last_block_id"]["hash"]);
  out.proposer = HexBytes(hdr["proposer_address"]);
  // The header's app_hash is the state after the previous block; block_results has this block's.
  // (base64 in block_results, unlike the hex of headers).
  out.app_hash = crypto::Base64Decode(res->value("app_hash", std::string())).value_or(Bytes());
  for (const auto& t : (*b)["block"]["data"]["txs"])
    out.txs.push_back(crypto::Base64Decode(t.get<std::string>()).value_or(""));
  if ((*res)["txs_results"].is_array())
    for (const auto& r : (*res)["txs_results"]) out.results.push_back(ResultFrom(r));
  out.results.resize(out.txs.size());
  out.events = EventsFrom(res->value("finalize_block_events", json::array()));
  return out;
}

std::string CometBackend::TxJson(const Bytes& tx) {
  std::lock_guard<std::mutex> lock(mu_);
  return app_.TxToJson(tx);
}

}  // namespace depai::api
