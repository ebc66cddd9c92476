#include "provider/state_store.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "util/files.h"

namespace depai::provider {

using nlohmann::json;

StateStore::StateStore(std::string path, std::string provider_address)
    : path_(std::move(path)), provider_(std::move(provider_address)) {}

DaemonState StateStore::Load() const {
  DaemonState s;
  std::ifstream in(path_);
  if (!in) return s;
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) {
    spdlog::warn("ignoring an unreadable {}", path_);
    return s;
  }
  if (j.value("provider", "") != provider_) {
    spdlog::warn("state.json belongs to provider {}, not {}: starting afresh", j.value("provider", ""), provider_);
    return s;
  }
  try {
    s.next_height = j.value("next_height", int64_t{0});
    s.last_heartbeat_window = j.value("last_heartbeat_window", int64_t{-1});
    const json bids = j.value("bids", json::object()), leases = j.value("leases", json::object());
    for (const auto& [k, v] : bids.items()) {
      OpenBid b;
      b.order_id = std::stoull(k);
      b.price = v.value("price", uint64_t{0});
      b.height = v.value("height", int64_t{0});
      b.resources = Totals::FromJson(v.value("resources", json::object()));
      s.bids[b.order_id] = b;
    }
    for (const auto& [k, v] : leases.items()) {
      HeldLease l;
      l.id = std::stoull(k);
      l.order_id = v.value("order_id", uint64_t{0});
      l.owner = v.value("owner", "");
      l.price = v.value("price", uint64_t{0});
      l.start_height = v.value("start_height", int64_t{0});
      l.resources = Totals::FromJson(v.value("resources", json::object()));
      l.manifest_hash = v.value("manifest_hash", "");
      l.manifest_received = v.value("manifest_received", false);
      l.manifest_deadline = v.value("manifest_deadline", int64_t{0});
      l.closed = v.value("closed", false);
      l.close_reason = v.value("close_reason", "");
      l.pending_close = v.value("pending_close", "");
      l.last_withdraw_height = v.value("last_withdraw_height", int64_t{0});
      l.workload_error = v.value("workload_error", "");
      l.gpus = v.value("gpus", std::vector<uint32_t>{});
      s.leases[l.id] = l;
    }
    for (const auto& id : j.value("skipped", json::array())) s.skipped.insert(id.get<uint64_t>());
  } catch (const std::exception& e) {  // nlohmann type errors, stoull on a bad key
    spdlog::warn("ignoring a malformed {}: {}", path_, e.what());
    return DaemonState{};
  }
  spdlog::info("resumed from state.json: next height {}, {} bids, {} leases", s.next_height, s.bids.size(),
               s.leases.size());
  return s;
}

Status StateStore::Save(const DaemonState& s) const {
  json bids = json::object(), leases = json::object();
  for (const auto& [id, b] : s.bids)
    bids[std::to_string(id)] = {{"price", b.price}, {"height", b.height}, {"resources", b.resources.to_json()}};
  for (const auto& [id, l] : s.leases)
    leases[std::to_string(id)] = {{"order_id", l.order_id},
                                  {"owner", l.owner},
                                  {"price", l.price},
                                  {"start_height", l.start_height},
                                  {"resources", l.resources.to_json()},
                                  {"manifest_hash", l.manifest_hash},
                                  {"manifest_received", l.manifest_received},
                                  {"manifest_deadline", l.manifest_deadline},
                                  {"closed", l.closed},
                                  {"close_reason", l.close_reason},
                                  {"pending_close", l.pending_close},
                                  {"last_withdraw_height", l.last_withdraw_height},
                                  {"workload_error", l.workload_error},
                                  {"gpus", l.gpus}};
  json j{{"provider", provider_},
         {"next_height", s.next_height},
         {"last_heartbeat_window", s.last_heartbeat_window},
         {"bids", bids},
         {"leases", leases},
         {"skipped", s.skipped}};
  return WriteFileAtomic(path_, j.dump(2));
}

void SharedState::Save() {
  if (auto r = store.Save(st); !r.ok()) spdlog::error("saving the provider state: {}", r.error().message);
}

}  // namespace depai::provider
