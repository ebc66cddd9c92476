// What x/verify needs from other modules. Implemented by adapters in src/app (or fakes in tests),
// so verify never includes another module's internals. Addresses are 20 raw bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "depai/provider/v1/provider.pb.h"
#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"

namespace depai::x::verify {

class ProviderKeeper {
 public:
  virtual ~ProviderKeeper() = default;
  virtual Result<std::optional<depai::provider::v1::Provider>> get(const store::KVReader& s,
                                                                   std::string_view addr) const = 0;
  // Every registered provider in address order; fn returns false to stop.
  virtual Status for_each(
      const store::KVReader& s,
      const std::function<bool(std::string_view addr, const depai::provider::v1::Provider&)>& fn) const = 0;
  // Takes min(amount, collateral) from the provider's collateral and moves it to `to`; returns
  // what was taken.
  virtual Result<Amount> slash(Context& ctx, std::string_view addr, Amount amount, std::string_view to) const = 0;
  // Moves `amount` from `from` back into the provider's collateral (an overturned verdict).
  virtual Status restore(Context& ctx, std::string_view addr, Amount amount, std::string_view from) const = 0;
};

// An active lease as verify sees it: who pays, the rate, when it started, the order's SLA, and
// the resources it holds (the sum over the order's groups of units x count).
struct LeaseInfo {
  uint64_t id = 0;
  Bytes owner;  // 20 bytes
  Amount rate;  // udpai per block
  int64_t start_height = 0;
  uint32_t min_uptime_bps = 0;  // 0: no SLA
  uint32_t max_latency_ms = 0;
  uint64_t cpu_millicores = 0;
  std::vector<std::pair<std::string, uint64_t>> gpus;  // (model, count)
};

class MarketKeeper {
 public:
  virtual ~MarketKeeper() = default;
  // The provider's ACTIVE and GRACE leases, in lease id order.
  virtual Result<std::vector<LeaseInfo>> active_leases(const store::KVReader& s, std::string_view provider) const = 0;
  // Closes the lease with reason PROVIDER_UNSTABLE (settled to now; the escrow's rest goes back).
  virtual Status close_unstable(Context& ctx, uint64_t lease_id) const = 0;
};

class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  virtual Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const = 0;
  virtual Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const = 0;
};

}  // namespace depai::x::verify
