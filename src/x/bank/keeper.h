// x/bank keeper: balances per denom, total supply, denom metadata, sends, mint and burn.
//
// State (prefix "bank/", keys in x/bank/keys.h): balances, supply and denom metadata. Only this
// keeper touches "bank/"; everyone else uses these methods and iterators. Every amount is a
// checked Amount; sums that would exceed 2^63-1 or a denom's max_supply fail. Views return
// Result: a stored record that does not decode is a fault (x/types/errors.h), never a zero.
// Files: keeper.cpp (views, writes), invariants.cpp, msg_server.cpp (the messages), genesis.cpp,
// query.cpp, sim.cpp. Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>

#include "depai/bank/v1/bank.pb.h"
#include "store/kv.h"
#include "util/amount.h"
#include "x/bank/expected_keepers.h"
#include "x/types/context.h"

namespace depai::x::bank {

inline constexpr const char* kCodespace = "bank";
enum Code : uint32_t {
  kErrNoOutputs = 2,
  kErrUnknownDenom = 3,
  kErrNotTransferable = 4,
  kErrMaxSupply = 5,
  kErrTooManyOutputs = 6,
  kErrSupplyInvariant = 7,
  kErrBlockedAddress = 8,  // a module account that only its module may pay into
};
inline Error BankErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

using DenomMetadata = depai::bank::v1::DenomMetadata;

// Address of the module account that collects fees: SHA-256("module:fee_collector")[:20].
const Bytes& FeeCollectorAddress();

// Parsed messages (msg_server.cpp validates into these once; check and apply receive them).
struct SendParsed {
  Bytes signer;  // from
  Bytes to;
  Coins amount;
};
struct Output {
  Bytes to;
  Coins coins;
};
struct MultiSendParsed {
  Bytes signer;  // from
  std::vector<Output> outputs;
  Coins total;
};

class Keeper {
 public:
  explicit Keeper(const AccountKeeper* accounts = nullptr) : accounts_(accounts) {}
  // ---- views ----
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const;
  Result<Coins> balances(const store::KVReader& s, std::string_view addr) const;
  Result<Amount> supply(const store::KVReader& s, std::string_view denom) const;
  Result<Coins> total_supply(const store::KVReader& s) const;
  // Cumulative mint and burn of a denom since genesis (0 when none), and the supply the chain
  // started from: supply == base + minted - burned always (the supply invariant).
  Result<Amount> minted_total(const store::KVReader& s, std::string_view denom) const;
  Result<Amount> burned_total(const store::KVReader& s, std::string_view denom) const;
  Result<Amount> base_supply(const store::KVReader& s, std::string_view denom) const;
  Result<std::optional<DenomMetadata>> denom(const store::KVReader& s, std::string_view denom) const;
  Result<std::vector<DenomMetadata>> denoms(const store::KVReader& s) const;
  // Every non-zero balance in (address, denom) order; fn returns false to stop.
  using BalanceFn = std::function<bool(std::string_view addr, std::string_view denom, Amount amount)>;
  Status for_each_balance(const store::KVReader& s, const BalanceFn& fn) const;

  // ---- checks (read-only; the check phase of the messages) ----
  // Every denom of a user transfer is registered and transferable.
  Status check_transferable(const store::KVReader& s, const Coins& coins) const;
  // `from` holds at least `coins` now (CheckTx rejects overdrafts before they reach a block).
  Status check_funds(const store::KVReader& s, std::string_view from, const Coins& coins) const;
  // A user transfer to `to`: not a blocked module account.
  Status check_recipient(std::string_view to) const;

  Status check_send(const store::KVReader& s, const SendParsed& m) const;
  Status check_multi_send(const store::KVReader& s, const MultiSendParsed& m) const;

  // ---- writes ----
  Status multi_send(Context& ctx, const MultiSendParsed& m) const;
  void set_denom(store::KVStore& s, const DenomMetadata& m) const;

  // Moves coins; fails with insufficient funds, unknown denom, or (when user_transfer) a
  // non-transferable denom. On error the store is unchanged.
  Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins, bool user_transfer) const;
  Status mint(Context& ctx, std::string_view to, const Coins& coins) const;
  Status burn(Context& ctx, std::string_view from, const Coins& coins) const;

  // ---- invariants (invariants.cpp); a break is a fault ----
  // Full check: sum of balances == supply per denom, supply <= max_supply, and
  // supply == base + minted - burned.
  Status check_supply_full(const store::KVReader& s) const;
  // Incremental check over one block's writes (balance deltas == supply delta == minted delta -
  // burned delta, per denom).
  Status check_supply_block(const store::CacheStore& block, const store::KVReader& committed) const;

  void set_balance(store::KVStore& s, std::string_view addr, std::string_view denom, Amount a) const;
  void set_supply(store::KVStore& s, std::string_view denom, Amount a) const;
  // Genesis import: the counters as exported, and the base that makes the invariant hold.
  void set_mint_burn(store::KVStore& s, std::string_view denom, Amount base, Amount minted, Amount burned) const;

  // Module accounts whose balance another module's invariant pins (collateral, escrow): user
  // transfers to them are refused, or anyone could break that invariant and halt the chain.
  // Configured once by the App at start-up.
  void block_address(std::string_view addr) { blocked_.emplace(addr); }
  bool blocked(std::string_view addr) const { return blocked_.count(addr) > 0; }

  // Creates the auth account for `addr` if it has none (first receipt of funds).
  Status ensure_account(store::KVStore& s, std::string_view addr) const;

 private:
  // Parsed denom metadata keyed by its stored bytes: a pure memo of the protobuf parse, so it
  // can never disagree with state.
  mutable std::map<std::string, DenomMetadata, std::less<>> parsed_denoms_;
  const AccountKeeper* accounts_;
  std::set<std::string, std::less<>> blocked_;
};

}  // namespace depai::x::bank
