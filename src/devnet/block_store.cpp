#include "devnet/block_store.h"

#include <rocksdb/write_batch.h>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "util/bytes.h"
#include "x/types/tx.h"

namespace depai::devnet {

using nlohmann::json;

namespace {
std::string BlockKey(int64_t h) { return "b/" + U64BE(static_cast<uint64_t>(h)); }

json EventsJson(const std::vector<app::Event>& evs) {
  json a = json::array();
  for (const auto& e : evs) {
    json attrs = json::array();
    for (const auto& at : e.attributes) attrs.push_back({{"key", at.key}, {"value", at.value}, {"index", at.index}});
    a.push_back({{"type", e.type}, {"attributes", attrs}});
  }
  return a;
}

std::vector<app::Event> EventsFrom(const json& a) {
  std::vector<app::Event> out;
  for (const auto& e : a) {
    app::Event ev;
    ev.type = e.value("type", "");
    for (const auto& at : e["attributes"])
      ev.attributes.push_back({at.value("key", ""), at.value("value", ""), at.value("index", true)});
    out.push_back(std::move(ev));
  }
  return out;
}
}  // namespace

Result<std::unique_ptr<BlockStore>> BlockStore::Open(const std::string& path) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) return Error{"devnet", 1, "cannot open block store " + path + ": " + s.ToString()};
  auto bs = std::make_unique<BlockStore>();
  bs->db_.reset(raw);
  return bs;
}

int64_t BlockStore::height() const {
  std::string v;
  if (!db_->Get(rocksdb::ReadOptions(), "h", &v).ok()) return 0;
  return static_cast<int64_t>(GetU64BE(v));
}

Status BlockStore::save(const StoredBlock& b) {
  json txs = json::array(), results = json::array();
  for (const auto& t : b.txs) txs.push_back(crypto::Base64Encode(t));
  for (const auto& r : b.results)
    results.push_back({{"code", r.code},
                       {"codespace", r.codespace},
                       {"log", r.log},
                       {"gas_wanted", r.gas_wanted},
                       {"gas_used", r.gas_used},
                       {"events", EventsJson(r.events)}});
  json j{{"height", b.height},
         {"time_unix_ms", b.time_unix_ms},
         {"hash", HexEncode(b.hash, true)},
         {"prev_hash", HexEncode(b.prev_hash, true)},
         {"proposer", HexEncode(b.proposer, true)},
         {"app_hash", HexEncode(b.app_hash, true)},
         {"txs", txs},
         {"results", results},
         {"events", EventsJson(b.events)}};
  rocksdb::WriteBatch batch;
  batch.Put(BlockKey(b.height), j.dump());
  for (size_t i = 0; i < b.txs.size(); ++i)
    batch.Put("t/" + x::TxHash(b.txs[i]), std::to_string(b.height) + "/" + std::to_string(i));
  batch.Put("h", U64BE(static_cast<uint64_t>(b.height)));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = db_->Write(wo, &batch);
  if (!s.ok()) return Error{"devnet", 2, "block store write: " + s.ToString()};
  return {};
}

std::optional<StoredBlock> BlockStore::get(int64_t height) const {
  std::string v;
  if (!db_->Get(rocksdb::ReadOptions(), BlockKey(height), &v).ok()) return std::nullopt;
  json j = json::parse(v, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  StoredBlock b;
  b.height = j["height"].get<int64_t>();
  b.time_unix_ms = j["time_unix_ms"].get<int64_t>();
  b.hash = HexDecode(j["hash"].get<std::string>()).value_or("");
  b.prev_hash = HexDecode(j["prev_hash"].get<std::string>()).value_or("");
  b.proposer = HexDecode(j["proposer"].get<std::string>()).value_or("");
  b.app_hash = HexDecode(j["app_hash"].get<std::string>()).value_or("");
  for (const auto& t : j["txs"]) b.txs.push_back(crypto::Base64Decode(t.get<std::string>()).value_or(""));
  for (const auto& r : j["results"]) {
    app::ExecTxResult er;
    er.code = r["code"].get<uint32_t>();
    er.codespace = r["codespace"].get<std::string>();
    er.log = r["log"].get<std::string>();
    er.gas_wanted = r["gas_wanted"].get<int64_t>();
    er.gas_used = r["gas_used"].get<int64_t>();
    er.events = EventsFrom(r["events"]);
    b.results.push_back(std::move(er));
  }
  b.events = EventsFrom(j["events"]);
  return b;
}

std::optional<TxLocation> BlockStore::find_tx(const std::string& hash) const {
  std::string v;
  if (!db_->Get(rocksdb::ReadOptions(), "t/" + hash, &v).ok()) return std::nullopt;
  auto slash = v.find('/');
  return TxLocation{std::stoll(v.substr(0, slash)), static_cast<size_t>(std::stoull(v.substr(slash + 1)))};
}

}  // namespace depai::devnet
