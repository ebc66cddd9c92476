// What x/rewards needs from other modules, implemented by adapters in src/app (or fakes in
// tests), so that rewards never includes another module's internals. Addresses are 20 raw bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "depai/provider/v1/provider.pb.h"
#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"
#include "x/types/price.h"

namespace depai::x::rewards {

class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  virtual Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const = 0;
  // Module transfer (never a user transfer).
  virtual Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const = 0;
  virtual Result<Amount> supply(const store::KVReader& s, std::string_view denom) const = 0;
  virtual Result<Amount> minted_total(const store::KVReader& s, std::string_view denom) const = 0;
  virtual Result<Amount> burned_total(const store::KVReader& s, std::string_view denom) const = 0;
};

class MintKeeper {
 public:
  virtual ~MintKeeper() = default;
  virtual Result<Amount> minted_total(const store::KVReader& s) const = 0;  // x/mint's emissions so far
};

class OracleKeeper {
 public:
  virtual ~OracleKeeper() = default;
  virtual Result<x::PriceInfo> price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const = 0;
};

// A provider's verification record over heights [from, to] (x/verify's standing view).
struct Standing {
  bool failed = false;               // a failing verdict with effect (not offline/latency) in the range
  uint64_t verified_ops_per_ms = 0;  // the newest compute verdict's capacity when it passed, else 0
  uint32_t liveness_probes = 0;      // liveness verdicts with effect in the range
  uint32_t liveness_passes = 0;
};

class VerifyKeeper {
 public:
  virtual ~VerifyKeeper() = default;
  virtual Result<Standing> standing(const store::KVReader& s, std::string_view provider, int64_t from,
                                    int64_t to) const = 0;
};

// Resources on a provider's running leases.
struct Leased {
  uint64_t cpu_millicores = 0, memory_mib = 0, gpus = 0;
};

class ProviderKeeper {
 public:
  virtual ~ProviderKeeper() = default;
  // Every registered provider in address order; fn returns false to stop.
  virtual Status for_each(
      const store::KVReader& s,
      const std::function<bool(std::string_view addr, const depai::provider::v1::Provider&)>& fn) const = 0;
};

class MarketKeeper {
 public:
  virtual ~MarketKeeper() = default;
  virtual Result<Leased> leased(const store::KVReader& s, std::string_view provider) const = 0;
};

}  // namespace depai::x::rewards
