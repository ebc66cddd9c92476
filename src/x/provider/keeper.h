// x/provider keeper: the registry of resource providers, auditor attestations, collateral
// bonding and unbonding.
//
// State (prefix "provider/"):
//   provider/p/<owner20>                                -> depai.provider.v1.Provider
//   provider/audit/<provider20><auditor20>              -> depai.provider.v1.AuditedAttributes
//   provider/unbond/<completion_height u64 BE><owner20> -> depai.provider.v1.UnbondingEntry
//   provider/params                                     -> depai.provider.v1.Params (defaults when absent)
// Only this keeper touches "provider/". Collateral is held by the module account
// module:provider_bond and moved only through the BankKeeper interface (module transfers).
// Invariant: balance(module:provider_bond, udpai) == sum(collateral) + sum(unbonding amounts).
// Addresses passed as std::string_view are 20 raw bytes. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "depai/provider/v1/provider.pb.h"
#include "store/cache_store.h"
#include "store/kv.h"
#include "util/amount.h"
#include "x/provider/expected_keepers.h"
#include "x/types/context.h"

namespace depai::x::provider {

inline constexpr const char* kCodespace = "provider";
// Stable codes: never renumber or reuse.
enum Code : uint32_t {
  kErrInvalidEndpoint = 2,
  kErrInvalidLocation = 3,
  kErrInvalidRegion = 4,
  kErrInvalidAttributes = 5,
  kErrInvalidResources = 6,
  kErrInvalidCollateral = 7,  // wrong denom, zero or malformed amount
  kErrCollateralTooLow = 8,   // below params.min_collateral
  kErrAlreadyRegistered = 9,
  kErrNotFound = 10,      // no provider registered at this address
  kErrActiveLeases = 11,  // deregistration while leases are active
  kErrAuditNotFound = 12,
  kErrHeartbeatWindow = 13,  // a heartbeat was already counted in this window
  kErrInvalidParams = 14,
  kErrBondInvariant = 15,
};
inline Error ProviderErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

using Provider = depai::provider::v1::Provider;
using AuditedAttributes = depai::provider::v1::AuditedAttributes;
using UnbondingEntry = depai::provider::v1::UnbondingEntry;
using Params = depai::provider::v1::Params;

inline constexpr const char* kBondDenom = "udpai";
inline constexpr uint64_t kDefaultMinCollateral = 1'000'000;
inline constexpr int64_t kDefaultUnbondingBlocks = 100;
inline constexpr int64_t kDefaultHeartbeatWindow = 10;
inline constexpr uint32_t kMaxUptimeBps = 10000;

// Address of the module account holding collateral: SHA-256("module:provider_bond")[:20].
const Bytes& BondAddress();
Params DefaultParams();
// min_collateral a positive amount, unbonding_blocks >= 0, heartbeat_window >= 1.
Status ValidateParams(const Params& p);

class Keeper {
 public:
  explicit Keeper(const BankKeeper* bank = nullptr) : bank_(bank) {}
  const BankKeeper* bank() const { return bank_; }

  Params params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;

  // ---- the API x/market relies on (keep these names and signatures) ------------------------
  std::optional<Provider> get(const store::KVReader& s, std::string_view addr) const;
  // Every auditor's attestation for `provider`, in auditor address order.
  std::vector<AuditedAttributes> audits(const store::KVReader& s, std::string_view provider) const;
  // Uptime in basis points at `height`, using params.heartbeat_window from `s`:
  //   min(10000, heartbeat_windows * 10000 / windows_since_registration),
  //   windows_since_registration = height/w - registered_height/w + 1.
  uint32_t uptime_bps(const store::KVReader& s, const Provider& p, int64_t height) const;
  static uint32_t UptimeBps(const Provider& p, int64_t height, int64_t heartbeat_window);
  // Adds `delta` to the provider's active lease count (clamped at 0); no-op for an unknown address.
  void add_active_lease(store::KVStore& s, std::string_view addr, int64_t delta) const;
  // ------------------------------------------------------------------------------------------

  // One auditor's attestation for one provider.
  std::optional<AuditedAttributes> audit(const store::KVReader& s, std::string_view provider,
                                         std::string_view auditor) const;
  void set(store::KVStore& s, std::string_view addr, const Provider& p) const;
  void remove(store::KVStore& s, std::string_view addr) const;
  // Every provider in owner address order.
  std::vector<Provider> providers(const store::KVReader& s) const;
  void set_audit(store::KVStore& s, std::string_view provider, std::string_view auditor,
                 const AuditedAttributes& a) const;
  void delete_audit(store::KVStore& s, std::string_view provider, std::string_view auditor) const;
  // Every attestation in (provider, auditor) order.
  std::vector<AuditedAttributes> all_audits(const store::KVReader& s) const;

  // Collateral movements through the bank (module transfers).
  Status bond(Context& ctx, std::string_view owner, Amount amount) const;
  // Records `amount` unbonding for `owner` until `completion_height` (merged with an entry for
  // the same owner and height).
  Status add_unbonding(store::KVStore& s, std::string_view owner, Amount amount, int64_t completion_height) const;
  // Unbonding entries in (completion_height, owner) order.
  std::vector<UnbondingEntry> unbonding(const store::KVReader& s) const;
  // Pays out entries with completion_height <= ctx.header->height. Reads only the due keys.
  Status end_block(Context& ctx) const;

  // Full invariant check (genesis, start-up).
  Status check_bond_full(const store::KVReader& s) const;
  // Per-block form from the block's writes: the change of the bond balance equals the change of
  // sum(collateral) + sum(unbonding).
  Status check_bond_block(const store::CacheStore& block, const store::KVReader& committed) const;

 private:
  const BankKeeper* bank_;
};

}  // namespace depai::x::provider
