// What x/market needs from other modules. Implemented by adapters in src/app (or fakes in tests),
// so market never includes another module's internals. Addresses are 20 raw bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "depai/provider/v1/provider.pb.h"
#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"
#include "x/types/errors.h"

namespace depai::x::market {

// Read view of x/provider plus the active-lease counter market maintains on each provider. Reads
// return Result so that a corrupt provider record reaches market as a fault, not as "absent".
class ProviderKeeper {
 public:
  virtual ~ProviderKeeper() = default;
  virtual Result<std::optional<depai::provider::v1::Provider>> get(const store::KVReader& s,
                                                                   std::string_view addr) const = 0;
  virtual Result<std::vector<depai::provider::v1::AuditedAttributes>> audits(const store::KVReader& s,
                                                                             std::string_view provider) const = 0;
  // The provider's reputation in basis points (0..10000): x/verify's integer EMA of verdicts,
  // or its documented prior for a provider with no verdict yet.
  virtual Result<uint32_t> reputation_bps(const store::KVReader& s, std::string_view addr) const = 0;
  // +1 when a lease opens, -1 when it closes.
  virtual Status add_active_lease(store::KVStore& s, std::string_view addr, int64_t delta) const = 0;
};

// x/identity's view of device attestation (null in the Keeper: no identity module, and an order
// with require_attested then accepts no bid).
class IdentityKeeper {
 public:
  virtual ~IdentityKeeper() = default;
  // True iff the account's linked DID carries an attestation by a currently registered attester.
  virtual Result<bool> attested(const store::KVReader& s, std::string_view addr20) const = 0;
};

// Where a share of each take fee goes (x/verify's checker pool); implemented in src/app.
inline constexpr const char* kCheckerPoolAccount = "module:checker_pool";

class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  // Market always passes user_transfer = false (module-driven movements).
  virtual Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins,
                      bool user_transfer) const = 0;
  virtual Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const = 0;
  // Burns coins held by `from` (ucredit paid to a credit lease, from the escrow module account).
  // A keeper that cannot burn refuses as an internal fault, so udpai-only setups need not implement it.
  virtual Status burn(Context& ctx, std::string_view from, const Coins& coins) const {
    return Fault(kFaultInternal, "this bank keeper cannot burn");
  }
};

// Told of every lease payment (x/rewards records revenue with it); implemented in src/app.
class RevenueHook {
 public:
  virtual ~RevenueHook() = default;
  // A lease paid `paid` (the provider's share + take) in `denom` this block; `burned` says the
  // coins were burned (ucredit) rather than credited to the provider (udpai).
  virtual Status on_paid(Context& ctx, std::string_view buyer20, std::string_view provider20, uint64_t lease_id,
                         const Coin& to_provider, const Coin& take, bool burned) const = 0;
};

}  // namespace depai::x::market
