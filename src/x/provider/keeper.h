// x/provider keeper: the registry of resource providers, auditor attestations, collateral
// bonding and unbonding.
//
// State (prefix "provider/", keys in x/provider/keys.h): providers, attestations, unbonding
// entries and params. Only this keeper touches "provider/"; queries, genesis and other modules
// use these methods and iterators. Views return Result: a stored record that does not decode (or
// holds a malformed amount, or params out of range) is a fault (x/types/errors.h), never an
// absent record or a zero. Collateral is held by the module account module:provider_bond and
// moved only through the BankKeeper interface (module transfers).
// Invariant: balance(module:provider_bond, udpai) == sum(collateral) + sum(unbonding amounts);
// a break is a fault (kFaultInvariant).
// Files: keeper.cpp (views, checks, message writes), end_block.cpp (unbonding payouts),
// invariants.cpp, msg_server.cpp (the messages), genesis.cpp, query.cpp, sim.cpp.
// Addresses passed as std::string_view are 20 raw bytes. Not thread-safe.
#pragma once

#include <functional>
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
  kErrBondInvariant = 15,  // retired: a broken bond invariant is now Fault(kFaultInvariant)
};
inline Error ProviderErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

using Attribute = depai::provider::v1::Attribute;
using Provider = depai::provider::v1::Provider;
using AuditedAttributes = depai::provider::v1::AuditedAttributes;
using UnbondingEntry = depai::provider::v1::UnbondingEntry;
using Params = depai::provider::v1::Params;

inline constexpr const char* kBondDenom = "udpai";
inline constexpr uint64_t kDefaultMinCollateral = 1'000'000;
inline constexpr int64_t kDefaultUnbondingBlocks = 100;
inline constexpr int64_t kDefaultHeartbeatWindow = 10;
inline constexpr uint32_t kMaxUptimeBps = 10000;

// Field limits (the validators in module.h enforce them).
inline constexpr size_t kMaxAttributes = 32;  // per provider, and per attestation after merging
inline constexpr size_t kMaxAttributeKey = 64;
inline constexpr size_t kMaxAttributeValue = 128;
inline constexpr size_t kMaxEndpoint = 256;
inline constexpr size_t kMaxRegion = 32;
inline constexpr size_t kMaxCell = 64;
inline constexpr size_t kMaxGpus = 8;
inline constexpr size_t kMaxStorage = 8;
inline constexpr size_t kMaxResourceName = 32;
inline constexpr int64_t kMaxLatE6 = 90'000'000;
inline constexpr int64_t kMaxLonE6 = 180'000'000;

// Address of the module account holding collateral: SHA-256("module:provider_bond")[:20].
const Bytes& BondAddress();
Params DefaultParams();
// min_collateral a positive amount, unbonding_blocks >= 0, heartbeat_window >= 1.
Status ValidateParams(const Params& p);

// Parsed messages (msg_server.cpp validates into these once; check and apply receive them).
// The bech32 strings are the message's own, for error messages.
struct RegisterParsed {
  Bytes signer;       // owner
  std::string owner;  // bech32
  Provider details;   // endpoint, location, region, attributes (sorted by key), resources
  Amount collateral;  // udpai, positive
};
struct UpdateParsed {
  Bytes signer;  // owner
  std::string owner;
  Provider details;
  Amount collateral_add;  // udpai; zero: none
};
struct DeregisterParsed {
  Bytes signer;  // owner
  std::string owner;
};
struct HeartbeatParsed {
  Bytes signer;  // owner
  std::string owner;
};
struct SignParsed {
  Bytes signer;  // auditor
  Bytes provider;
  std::string auditor_bech32, provider_bech32;
  std::vector<Attribute> attributes;  // 1..32, unique keys, sorted by key
};
struct DeleteParsed {
  Bytes signer;  // auditor
  Bytes provider;
  std::string auditor_bech32, provider_bech32;
  std::vector<std::string> keys;  // unique, in message order; empty = all
};

class Keeper {
 public:
  explicit Keeper(const BankKeeper* bank = nullptr) : bank_(bank) {}
  const BankKeeper* bank() const { return bank_; }

  // ---- views ----
  // The stored params (defaults when absent).
  Result<Params> params(const store::KVReader& s) const;
  Result<std::optional<Provider>> get(const store::KVReader& s, std::string_view addr) const;
  // Every auditor's attestation for `provider`, in auditor address order.
  Result<std::vector<AuditedAttributes>> audits(const store::KVReader& s, std::string_view provider) const;
  // One auditor's attestation for one provider.
  Result<std::optional<AuditedAttributes>> audit(const store::KVReader& s, std::string_view provider,
                                                 std::string_view auditor) const;
  // Uptime in basis points at `height`, using params.heartbeat_window from `s`:
  //   min(10000, heartbeat_windows * 10000 / windows_since_registration),
  //   windows_since_registration = height/w - registered_height/w + 1.
  Result<uint32_t> uptime_bps(const store::KVReader& s, const Provider& p, int64_t height) const;
  static uint32_t UptimeBps(const Provider& p, int64_t height, int64_t heartbeat_window);

  // Iterators; fn returns false to stop. A record that does not decode stops the walk with a fault.
  // Every provider in owner address order (owner: 20 bytes from the key).
  using ProviderFn = std::function<bool(std::string_view owner, const Provider& p)>;
  Status for_each_provider(const store::KVReader& s, const ProviderFn& fn) const;
  // Attestations in (provider, auditor) order: all of them, or those of one provider.
  using AuditFn = std::function<bool(const AuditedAttributes& a)>;
  Status for_each_audit(const store::KVReader& s, const AuditFn& fn) const;
  Status for_each_audit_of(const store::KVReader& s, std::string_view provider, const AuditFn& fn) const;
  // Unbonding entries in (completion_height, owner) order (owner: 20 bytes from the key).
  using UnbondingFn = std::function<bool(std::string_view owner, const UnbondingEntry& e)>;
  Status for_each_unbonding(const store::KVReader& s, const UnbondingFn& fn) const;

  // ---- checks (read-only; the check phase of the messages) ----
  Status check_register(const store::KVReader& s, const RegisterParsed& m) const;
  Status check_update(const store::KVReader& s, const UpdateParsed& m) const;
  Status check_deregister(const store::KVReader& s, const DeregisterParsed& m) const;
  Status check_sign_attributes(const store::KVReader& s, const SignParsed& m) const;
  Status check_delete_attributes(const store::KVReader& s, const DeleteParsed& m) const;
  Status check_heartbeat(const store::KVReader& s, const HeartbeatParsed& m, int64_t height) const;

  // ---- message writes (the apply phase: check has passed on the same state) ----
  Status register_provider(Context& ctx, const RegisterParsed& m) const;
  Status update_provider(Context& ctx, const UpdateParsed& m) const;
  Status deregister_provider(Context& ctx, const DeregisterParsed& m) const;
  Status sign_attributes(Context& ctx, const SignParsed& m) const;
  Status delete_attributes(Context& ctx, const DeleteParsed& m) const;
  Status heartbeat(Context& ctx, const HeartbeatParsed& m) const;

  // ---- other writes ----
  // Adds `delta` to the provider's active lease count (clamped at 0); no-op for an unknown
  // address (x/market maintains the count).
  Status add_active_lease(store::KVStore& s, std::string_view addr, int64_t delta) const;
  // x/verify's slashes: takes min(amount, collateral) from the provider's collateral to `to`
  // (returns what was taken; 0 for an unknown provider), and gives `amount` back from `from`
  // (to the owner's account when it has deregistered since). Both keep the bond invariant.
  Result<Amount> slash(Context& ctx, std::string_view addr, Amount amount, std::string_view to) const;
  Status restore(Context& ctx, std::string_view addr, Amount amount, std::string_view from) const;
  void set_params(store::KVStore& s, const Params& p) const;
  void set(store::KVStore& s, std::string_view addr, const Provider& p) const;
  void set_audit(store::KVStore& s, std::string_view provider, std::string_view auditor,
                 const AuditedAttributes& a) const;
  // Records `amount` unbonding for `owner` until `completion_height` (merged with an entry for
  // the same owner and height).
  Status add_unbonding(store::KVStore& s, std::string_view owner, Amount amount, int64_t completion_height) const;
  // Pays out entries with completion_height <= ctx.header->height (end_block.cpp). Reads only
  // the due keys. A payout that fails is a fault.
  Status end_block(Context& ctx) const;

  // ---- invariants (invariants.cpp); a break is a fault ----
  // Full check (genesis, start-up).
  Status check_bond_full(const store::KVReader& s) const;
  // Per-block form from the block's writes: the change of the bond balance equals the change of
  // sum(collateral) + sum(unbonding).
  Status check_bond_block(const store::CacheStore& block, const store::KVReader& committed) const;

 private:
  // Moves `amount` of udpai from `owner` to the bond account (module transfer).
  Status bond(Context& ctx, std::string_view owner, Amount amount) const;
  // The provider that check found; absent here is a fault (check ran on the same state).
  Result<Provider> must_get(const store::KVReader& s, std::string_view addr) const;
  Status check_funds(const store::KVReader& s, std::string_view owner, Amount need) const;

  // Decoders of stored records (DecodeRecord plus their amount fields); a bad record is a fault.
  static Result<Provider> DecodeProvider(std::string_view bytes);
  static Result<UnbondingEntry> DecodeUnbonding(std::string_view bytes);
  static Coins BondCoins(Amount a);

  const BankKeeper* bank_;
};

}  // namespace depai::x::provider
