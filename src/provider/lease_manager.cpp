#include "provider/lease_manager.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "client/market_msgs.h"
#include "client/provider_msgs.h"
#include "util/bytes.h"
#include "util/files.h"
#include "x/market/keeper.h"
#include "x/provider/keeper.h"

namespace depai::provider {

namespace fs = std::filesystem;
namespace mv1 = depai::market::v1;

namespace {

std::string ReasonEnum(const std::string& short_name) {
  if (short_name.rfind("CLOSE_REASON_", 0) == 0) return short_name;
  return "CLOSE_REASON_" + short_name;
}

uint64_t PriceOf(const std::string& s) {
  auto a = Amount::Parse(s);
  return a.ok() ? a->raw() : 0;
}

bool LeaseClosedError(const Error& e) {
  return client::IsChainError(e, x::market::kCodespace, x::market::kErrLeaseClosed);
}

}  // namespace

void LeaseManager::Hold(uint64_t lease_id, int64_t height) {
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    if (shared_.st.leases.count(lease_id)) return;
  }
  auto l = chain_.GetLease(lease_id);
  if (!l.ok()) return spdlog::warn("lease {}: {}", lease_id, l.error().message);
  if (l->provider() != chain_.address()) return;  // not ours, whatever the caller said
  auto o = chain_.GetOrder(l->order_id());
  if (!o.ok()) return spdlog::warn("lease {}: order {}: {}", lease_id, l->order_id(), o.error().message);
  HeldLease hl;
  hl.id = lease_id;
  hl.order_id = l->order_id();
  hl.owner = l->owner();
  hl.price = PriceOf(l->price_per_block());
  hl.start_height = l->start_height();
  hl.resources = OrderTotals(*o);
  hl.manifest_hash = HexEncode(o->manifest_hash());
  hl.manifest_deadline = std::max(hl.start_height, height) + cfg_.manifest_timeout_blocks;
  hl.last_withdraw_height = hl.start_height;
  hl.closed = l->state() == mv1::LEASE_STATE_CLOSED;
  std::lock_guard<std::mutex> lock(shared_.mu);
  if (shared_.st.leases.count(lease_id)) return;  // an HTTP thread held it meanwhile
  shared_.st.bids.erase(hl.order_id);
  shared_.st.leases[lease_id] = hl;
  shared_.Save();
  spdlog::info("won lease {} (order {}, owner {}, {}udpai per block); waiting for the manifest until height {}",
               lease_id, hl.order_id, hl.owner, hl.price, hl.manifest_deadline);
}

Status LeaseManager::Reconcile(int64_t height) {
  auto leases = chain_.LeasesOf(chain_.address());
  if (!leases.ok()) return leases.status();
  for (const auto& l : *leases) {
    if (l.provider() != chain_.address()) continue;
    const bool closed = l.state() == mv1::LEASE_STATE_CLOSED;
    bool known;
    {
      std::lock_guard<std::mutex> lock(shared_.mu);
      auto it = shared_.st.leases.find(l.id());
      known = it != shared_.st.leases.end();
      if (known && closed && !it->second.closed) {
        it->second.closed = true;
        it->second.close_reason = mv1::CloseReason_Name(l.close_reason());  // as the chain's JSON names it
        runtime_.Stop(l.id());
        shared_.Save();
      }
    }
    if (!known && !closed) Hold(l.id(), height);
  }
  return {};
}

void LeaseManager::OnLeaseClosed(uint64_t lease_id, const std::string& reason, int64_t height) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  auto it = shared_.st.leases.find(lease_id);
  if (it == shared_.st.leases.end() || it->second.closed) return;
  it->second.closed = true;
  it->second.close_reason = reason;
  spdlog::info("lease {} closed on chain at height {} ({}); stopping its workload", lease_id, height, reason);
  runtime_.Stop(lease_id, 1000);
  shared_.Save();
}

void LeaseManager::CloseLease(uint64_t lease_id, const std::string& reason) {
  auto r = chain_.Broadcast(
      {client::PackMsgCloseLease(chain_.address(), lease_id, client::ParseCloseReason(ReasonEnum(reason)).value())});
  std::lock_guard<std::mutex> lock(shared_.mu);
  HeldLease& l = shared_.st.leases[lease_id];
  if (!r.ok()) {
    spdlog::warn("closing lease {} ({}) failed: {} ({} {})", lease_id, reason, r.error().message, r.error().codespace,
                 r.error().code);
    if (LeaseClosedError(r.error())) {
      l.closed = true;
      l.pending_close.clear();
      shared_.Save();
    }
    return;
  }
  spdlog::info("closed lease {} at height {}: {}", lease_id, r->height, reason);
  l.closed = true;
  l.close_reason = ReasonEnum(reason).substr(13);
  l.pending_close.clear();
  shared_.Save();
}

void LeaseManager::Housekeeping(int64_t h) {
  std::vector<std::pair<uint64_t, std::string>> to_close;
  std::vector<uint64_t> to_withdraw;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    for (auto& [id, l] : shared_.st.leases) {
      if (l.closed) continue;
      if (!l.pending_close.empty()) {
        to_close.push_back({id, l.pending_close});
        continue;
      }
      if (!l.manifest_received) {
        if (h > l.manifest_deadline) to_close.push_back({id, "MANIFEST_TIMEOUT"});
        continue;
      }
      auto st = runtime_.GetStatus(id);
      if (st && st->state == RunState::kFailed) {
        for (const auto& s : st->services)
          if (!s.error.empty() || s.exit_code || s.term_signal)
            l.workload_error = s.service + ": " + (s.error.empty() ? "" : s.error + "; ") +
                               (s.exit_code ? "exit code " + std::to_string(*s.exit_code) : "") +
                               (s.term_signal ? "killed by signal " + std::to_string(*s.term_signal) : "") +
                               (s.timed_out ? " (timeout)" : "");
        to_close.push_back({id, "WORKLOAD_FAILED"});
      } else if (st && st->state == RunState::kSucceeded && cfg_.close_completed) {
        to_close.push_back({id, "WORKLOAD_COMPLETED"});
      } else if (h - l.last_withdraw_height >= cfg_.withdraw_every_blocks) {
        to_withdraw.push_back(id);
      }
    }
  }
  for (const auto& [id, reason] : to_close) CloseLease(id, reason);
  for (uint64_t id : to_withdraw) {
    auto r = chain_.Broadcast({client::PackMsgWithdrawLease(chain_.address(), id)});
    std::lock_guard<std::mutex> lock(shared_.mu);
    HeldLease& l = shared_.st.leases[id];
    l.last_withdraw_height = h;
    if (r.ok()) {
      spdlog::info("withdrew earnings of lease {} at height {}", id, r->height);
    } else {
      spdlog::warn("withdraw of lease {} failed: {} ({} {})", id, r.error().message, r.error().codespace,
                   r.error().code);
      if (LeaseClosedError(r.error())) l.closed = true;
    }
    shared_.Save();
  }
  // Heartbeat: once per window.
  int64_t window;
  bool beat;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    window = h / std::max<int64_t>(1, shared_.heartbeat_window);
    beat = window != shared_.st.last_heartbeat_window;
  }
  if (beat) {
    auto r = chain_.Broadcast({client::PackMsgProviderHeartbeat(chain_.address())});
    if (!r.ok() && !client::IsChainError(r.error(), x::provider::kCodespace, x::provider::kErrHeartbeatWindow))
      spdlog::warn("heartbeat failed: {} ({} {})", r.error().message, r.error().codespace, r.error().code);
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.st.last_heartbeat_window = window;
    shared_.Save();
  }
}

Result<std::vector<uint32_t>> LeaseManager::AssignGpus(HeldLease& l) {
  if (!l.gpus.empty()) return l.gpus;  // assigned before (a restart keeps them)
  std::set<uint32_t> taken;
  for (const auto& [id, o] : shared_.st.leases)
    if (id != l.id && !o.closed) taken.insert(o.gpus.begin(), o.gpus.end());
  std::vector<uint32_t> out;
  for (const auto& [model, n] : l.resources.gpus) {
    auto it = cfg_.gpu_devices.find(model);
    uint64_t got = 0;
    if (it != cfg_.gpu_devices.end())
      for (uint32_t i : it->second)
        if (got < n && !taken.count(i)) {
          out.push_back(i);
          taken.insert(i);
          ++got;
        }
    if (got < n)
      return Error{kProviderdCodespace, 21,
                   "needs " + std::to_string(n) + " GPU(s) of model " + model + ", only " + std::to_string(got) +
                       " free device(s)"};
  }
  l.gpus = out;
  return out;
}

Limits LeaseManager::LimitsFor(const HeldLease& l, const client::Manifest& m) const {
  Limits lim;
  lim.cpu_millicores = l.resources.cpu_millicores;
  lim.gpus = l.gpus;
  lim.open_files = cfg_.open_files;
  lim.max_restarts = cfg_.max_restarts;
  if (l.resources.memory_mib) lim.memory_bytes = l.resources.memory_mib << 20;
  uint64_t storage = 0;
  for (const auto& [k, v] : l.resources.storage) storage += v;
  lim.file_size_bytes = (storage ? storage : cfg_.default_file_size_mib) << 20;
  uint64_t max_timeout = 0;
  bool unbounded = false;
  for (const auto& [n, s] : m.services) {
    if (s.timeout_s == 0) unbounded = true;
    max_timeout = std::max(max_timeout, s.timeout_s);
  }
  // CPU seconds: the cores bought for the whole wall-clock budget (at least 1s).
  if (!unbounded && l.resources.cpu_millicores)
    lim.cpu_seconds = std::max<uint64_t>(1, (l.resources.cpu_millicores * max_timeout + 999) / 1000);
  return lim;
}

Result<bool> LeaseManager::AcceptManifest(uint64_t lease_id, int64_t start_height, const nlohmann::json& manifest_json,
                                          const client::Manifest& m) {
  bool known;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    known = shared_.st.leases.count(lease_id) > 0;
  }
  if (!known) Hold(lease_id, start_height);
  const std::string hash = HexEncode(client::ManifestHash(manifest_json));
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    auto it = shared_.st.leases.find(lease_id);
    if (it == shared_.st.leases.end())
      return Error{kProviderdCodespace, kErrUnavailable,
                   "lease " + std::to_string(lease_id) + " is not known yet; retry"};
    if (it->second.closed)
      return Error{kProviderdCodespace, kErrLeaseIsClosed, "lease " + std::to_string(lease_id) + " is closed"};
    if (it->second.manifest_received) return false;
    if (hash != it->second.manifest_hash)
      return Error{kProviderdCodespace, kErrManifestHash,
                   "manifest hash " + hash + " does not match the order's manifest_hash " + it->second.manifest_hash};
  }
  fs::create_directories(manifest_dir_);
  if (auto st = WriteFileAtomic(manifest_dir_ + "/" + std::to_string(lease_id) + ".json", manifest_json.dump());
      !st.ok())
    return Error{kProviderdCodespace, kErrUnavailable, "cannot store the manifest: " + st.error().message};
  HeldLease copy;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    HeldLease& hl = shared_.st.leases[lease_id];
    auto gp = AssignGpus(hl);
    if (!gp.ok()) {
      hl.manifest_received = true;
      hl.workload_error = gp.error().message;
      hl.pending_close = "WORKLOAD_FAILED";
      shared_.Save();
      return Error{kProviderdCodespace, kErrCannotStart,
                   "the workload cannot start: " + gp.error().message + "; the lease will be closed"};
    }
    copy = hl;
    shared_.Save();
  }
  auto st = runtime_.Start(lease_id, m, LimitsFor(copy, m));
  std::lock_guard<std::mutex> lock(shared_.mu);
  HeldLease& hl = shared_.st.leases[lease_id];
  hl.manifest_received = true;
  if (!st.ok()) {
    hl.workload_error = st.error().message;
    hl.pending_close = "WORKLOAD_FAILED";
    shared_.Save();
    return Error{kProviderdCodespace, kErrCannotStart,
                 "the workload cannot start: " + st.error().message + "; the lease will be closed"};
  }
  shared_.Save();
  spdlog::info("lease {}: manifest {} accepted, workload started", lease_id, hash);
  return true;
}

}  // namespace depai::provider
