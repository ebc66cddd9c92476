// Builders for the provider daemon's unit tests (bidder, lease manager): a provider config, the
// chain's provider record, orders and leases, a temporary home, and a scripted Runtime.
// Not thread-safe beyond FakeRuntime (which takes a mutex).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "client/deploy_spec.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "fake_chain.h"
#include "provider/config.h"
#include "provider/runtime.h"
#include "provider/state_store.h"

namespace depai::test {

namespace mv1 = depai::market::v1;
namespace pv1 = depai::provider::v1;

inline std::string NewAddress() { return crypto::AddressToBech32(crypto::AddressOf(crypto::GenerateKey().pubkey)); }

// Inventory: 4000 millicores, 4096 MiB, 2 GPUs "h100"; rule: 100 per unit + 10 per core.
inline provider::ProviderConfig TestConfig() {
  provider::ProviderConfig cfg;
  cfg.region = "eu-west";
  cfg.attributes = {{"tier", "gold"}};
  cfg.inventory.set_cpu_millicores(4000);
  cfg.inventory.set_memory_mib(4096);
  auto* g = cfg.inventory.add_gpus();
  g->set_model("h100");
  g->set_count(2);
  cfg.rule.base = 100;
  cfg.rule.per_cpu_core = 10;
  cfg.rule.per_memory_gib = 0;
  cfg.rule.per_gpu = {{"h100", 50}};
  cfg.manifest_timeout_blocks = 5;
  cfg.withdraw_every_blocks = 10;
  cfg.gpu_devices = {{"h100", {0, 1}}};
  cfg.sandbox.mode = "none";
  return cfg;
}

// The chain's record of us, matching TestConfig.
inline client::ProviderRecord SelfRecord(const std::string& me, const provider::ProviderConfig& cfg) {
  client::ProviderRecord r;
  r.provider.set_owner(me);
  r.provider.set_region(cfg.region);
  for (const auto& [k, v] : cfg.attributes) {
    auto* a = r.provider.add_attributes();
    a->set_key(k);
    a->set_value(v);
  }
  *r.provider.mutable_resources() = cfg.inventory;
  return r;
}

inline mv1::Order MakeOrder(uint64_t id, uint64_t cpu, uint64_t mem, uint32_t count = 1, uint64_t max_price = 1000) {
  mv1::Order o;
  o.set_id(id);
  o.set_owner("depai1owner");
  o.set_state(mv1::ORDER_STATE_OPEN);
  o.set_max_price_per_block(std::to_string(max_price));
  o.set_created_height(1);
  o.set_bid_window_end(100);
  auto* g = o.add_groups();
  g->set_name("main");
  g->set_count(count);
  g->mutable_units()->set_cpu_millicores(cpu);
  g->mutable_units()->set_memory_mib(mem);
  return o;
}

inline mv1::Lease MakeLease(uint64_t id, uint64_t order_id, const std::string& owner, const std::string& provider,
                            int64_t start_height) {
  mv1::Lease l;
  l.set_id(id);
  l.set_order_id(order_id);
  l.set_owner(owner);
  l.set_provider(provider);
  l.set_price_per_block("120");
  l.set_start_height(start_height);
  l.set_state(mv1::LEASE_STATE_ACTIVE);
  return l;
}

// A one-service exec manifest and its JSON.
inline client::Manifest ShManifest(const std::string& script) {
  client::Manifest m;
  client::ServiceSpec s;
  s.name = "main";
  s.command = {"/bin/sh", "-c", script};
  s.timeout_s = 60;
  m.services["main"] = s;
  return m;
}

// A temporary directory, removed at destruction.
struct TempHome {
  std::string path;
  TempHome() {
    static int n = 0;
    path = (std::filesystem::temp_directory_path() /
            ("depai-prov-" + std::to_string(::getpid()) + "-" + std::to_string(++n)))
               .string();
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempHome() { std::filesystem::remove_all(path); }
};

// A Runtime whose leases' states the test sets; records starts and stops.
class FakeRuntime : public provider::Runtime {
 public:
  std::string name() const override { return "fake"; }
  Status Start(uint64_t lease_id, const client::Manifest& m, const provider::Limits& limits) override {
    std::lock_guard<std::mutex> lock(mu);
    if (fail_start) return Error{"runtime", 1, "cannot start: scripted failure"};
    started[lease_id] = limits;
    provider::LeaseStatus st;
    st.lease_id = lease_id;
    for (const auto& [n, s] : m.services) {
      provider::ServiceStatus ss;
      ss.service = n;
      st.services.push_back(ss);
    }
    status[lease_id] = st;
    return {};
  }
  Status Stop(uint64_t lease_id, int64_t) override {
    std::lock_guard<std::mutex> lock(mu);
    stopped.push_back(lease_id);
    if (status.count(lease_id)) status[lease_id].state = provider::RunState::kStopped;
    return {};
  }
  std::optional<provider::LeaseStatus> GetStatus(uint64_t lease_id) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = status.find(lease_id);
    if (it == status.end()) return std::nullopt;
    return it->second;
  }
  void SetState(uint64_t lease_id, provider::RunState s, std::optional<int> exit_code = std::nullopt) {
    std::lock_guard<std::mutex> lock(mu);
    status[lease_id].state = s;
    for (auto& ss : status[lease_id].services) {
      ss.state = s;
      ss.exit_code = exit_code;
    }
  }
  std::string LogPath(uint64_t, const std::string&, const std::string&) override { return ""; }
  std::vector<provider::Artifact> Artifacts(uint64_t) override { return {}; }
  std::string ArtifactPath(uint64_t, const std::string&) override { return ""; }
  std::vector<uint64_t> Leases() override { return {}; }
  Result<UniqueFd> Connect(uint64_t, const std::string&, uint16_t) override { return Error{"runtime", 1, "no ports"}; }

  std::mutex mu;
  bool fail_start = false;
  std::map<uint64_t, provider::Limits> started;
  std::map<uint64_t, provider::LeaseStatus> status;
  std::vector<uint64_t> stopped;
};

}  // namespace depai::test
