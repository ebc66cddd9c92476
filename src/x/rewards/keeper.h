// x/rewards keeper: per-epoch accumulators of paid work, the epoch distribution of emissions,
// and the revenue-quality record of every epoch.
//
// During an epoch, x/market reports every lease payment (on_paid, via the RevenueHook adapter):
// the buyer paid `to_provider + take` in udpai or ucredit; its micro-USD value (ucredit 1:1,
// udpai at the oracle price, or the last known price while the oracle is stale) is added to the
// provider's work and to the epoch's organic revenue.
//
// At the end of the epoch's last block (rewards runs after every other module), the whole balance
// of module:rewards_pending (the epoch's x/mint emissions plus what earlier epochs carried) is
// split by parameters (doc/modules/rewards.md):
//   work          pro rata to each eligible provider's billed work (micro-USD)
//   availability  pro rata to verified_ops_per_ms x uptime_bps (liveness passes / probes)
//   checkers      to module:checker_pool;  validators  to module:validator_pool;  treasury
// A provider that failed verification in the epoch (x/verify standing.failed) is not eligible
// for either share. Every share is rounded down; what is not paid (remainders, and a pool with no
// eligible recipient) stays in rewards_pending and is carried into the next epoch: no unit is
// created or lost. Rewards are paid to providers automatically at the epoch end (no claims).
//
// State (prefix "rewards/", keys.h); only this keeper touches it. A corrupt record is a fault.
// Not thread-safe.
#pragma once

#include <optional>
#include <string>

#include "depai/rewards/v1/rewards.pb.h"
#include "x/rewards/expected_keepers.h"
#include "x/types/context.h"

namespace depai::x::rewards {

inline constexpr const char* kCodespace = "rewards";
// Stable codes: never renumber or reuse.
enum Code : uint32_t {
  kErrEpochNotFound = 2,  // the epoch has not ended (or never will: before genesis)
};
inline Error RewardsErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

using depai::rewards::v1::EpochRecord;
using depai::rewards::v1::EpochState;
using depai::rewards::v1::Params;
using depai::rewards::v1::ProviderRewards;

// SHA-256("module:rewards_pending")[:20] (x/mint mints into it), "module:validator_pool",
// "module:checker_pool", "module:treasury".
const Bytes& PendingAddress();
const Bytes& ValidatorPoolAddress();
const Bytes& CheckerPoolAddress();
const Bytes& TreasuryAddress();

Params DefaultParams();
Status ValidateParams(const Params& p);  // root ErrInvalidGenesis naming the field

// floor(pool * w / total), 128-bit; when total does not fit 64 bits, w and total are shifted
// right together until it does (documented precision loss, deterministic).
Amount ProRata(Amount pool, unsigned __int128 w, unsigned __int128 total);

struct Keepers {
  const BankKeeper* bank = nullptr;
  const MintKeeper* mint = nullptr;
  const OracleKeeper* oracle = nullptr;
  const VerifyKeeper* verify = nullptr;
  const ProviderKeeper* providers = nullptr;
  const MarketKeeper* market = nullptr;
};

class Keeper {
 public:
  explicit Keeper(Keepers k) : k_(k) {}
  Result<Params> params(const store::KVReader& s) const;  // DefaultParams() when none stored
  void set_params(store::KVStore& s, const Params& p) const;
  Result<std::optional<EpochState>> state(const store::KVReader& s) const;
  void set_state(store::KVStore& s, const EpochState& st) const;
  Result<std::optional<EpochRecord>> epoch(const store::KVReader& s, uint64_t e) const;
  using EpochFn = std::function<bool(const EpochRecord&)>;
  Status for_each_epoch(const store::KVReader& s, const EpochFn& fn) const;  // epoch order
  Result<std::optional<ProviderRewards>> provider_rewards(const store::KVReader& s, std::string_view p20) const;
  using ProviderRewardsFn = std::function<bool(const ProviderRewards&)>;
  Status for_each_provider_rewards(const store::KVReader& s, const ProviderRewardsFn& fn) const;
  // This epoch's work so far, in micro-USD (0 when none).
  Result<Amount> work(const store::KVReader& s, std::string_view p20) const;
  using WorkFn = std::function<bool(std::string_view p20, Amount uusd)>;
  Status for_each_work(const store::KVReader& s, const WorkFn& fn) const;
  Status for_each_buyer(const store::KVReader& s, const std::function<bool(std::string_view)>& fn) const;

  // Starts epoch 0 at `height` (genesis) with the counters as they are now.
  Status start(Context& ctx, uint64_t epoch, int64_t height) const;

  // x/market's RevenueHook: a lease paid `to_provider + take` this block.
  Status on_paid(Context& ctx, std::string_view buyer20, std::string_view provider20, uint64_t lease_id,
                 const Coin& to_provider, const Coin& take, bool burned) const;

  // At the epoch's last block: distribute, record, start the next epoch. Errors halt the node.
  Status end_block(Context& ctx) const;

  // Module account balance: the pending pool holds only udpai; the running state parses.
  Status check_invariants(const store::KVReader& s) const;

  // The micro-USD price used now: the oracle's price_e9 (available or not; 0 when none yet).
  Result<x::PriceInfo> price_now(const Context& ctx) const;

 private:
  Status distribute(Context& ctx, const Params& p, EpochState& st) const;
  Keepers k_;
};

}  // namespace depai::x::rewards
