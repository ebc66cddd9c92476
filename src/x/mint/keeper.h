// x/mint keeper: the per-block emission, its halving schedule and the hard cap.
//
// Each block's begin_block mints reward(blocks, minted) udpai into module:rewards_pending, where
// x/rewards splits it at each epoch end (doc/modules/mint.md):
//   BLOCKS mode:   era = blocks / halving_blocks
//   ISSUANCE mode: era = the number of k >= 1 with minted >= max_emission - (max_emission >> k)
//                  (halvings at 1/2, 3/4, 7/8, ... of the cap, as Bittensor's at 10.5M of 21M)
//   reward = min(initial_reward >> era, max_emission - minted, max_supply(udpai) - supply(udpai))
// `blocks` counts the blocks that ran the mint, so the schedule does not depend on the chain's
// initial height. Integers only. Closed forms of the total minted after N blocks are below; the
// unit tests hold the chain to them.
//
// State (prefix "mint/", keys.h): params and the minter. Only this keeper touches "mint/".
// A stored record that does not decode is a fault. Not thread-safe.
#pragma once

#include <string>

#include "depai/mint/v1/mint.pb.h"
#include "util/amount.h"
#include "x/mint/expected_keepers.h"
#include "x/types/context.h"

namespace depai::x::mint {

inline constexpr const char* kCodespace = "mint";
inline constexpr const char* kDenom = "udpai";

using depai::mint::v1::Minter;
using depai::mint::v1::Params;

// SHA-256("module:rewards_pending")[:20]: the epoch's emissions wait here for x/rewards.
const Bytes& RewardsPendingAddress();

Params DefaultParams();
Status ValidateParams(const Params& p);  // root ErrInvalidGenesis naming the field

// Parsed params (amounts parsed once).
struct ParsedParams {
  Amount initial_reward;
  Amount max_emission;
  depai::mint::v1::HalvingMode mode = depai::mint::v1::HALVING_MODE_BLOCKS;
  int64_t halving_blocks = 0;
};
Result<ParsedParams> ParseParams(const Params& p);

// Halvings so far for a minter that has run `blocks` blocks and minted `minted`.
uint32_t Era(const ParsedParams& p, uint64_t blocks, Amount minted);
// The next block's reward before the max_supply clip: min(initial >> era, max_emission - minted).
Amount ScheduledReward(const ParsedParams& p, uint64_t blocks, Amount minted);
// Closed form: total minted after n blocks, ignoring the bank's max_supply.
//   BLOCKS:   min(cap, H * sum_{k<e} (R >> k) + r * (R >> e)), with e = n / H, r = n % H
//   ISSUANCE: era by era: era k lasts ceil((T_{k+1} - T_k) / (R >> k)) blocks, T_k = cap - (cap >> k),
//             the last block of an era overshooting into the next; evaluated per era, not per block.
Amount TotalAfter(const ParsedParams& p, uint64_t n);

class Keeper {
 public:
  explicit Keeper(const BankKeeper* bank) : bank_(bank) {}
  Result<Params> params(const store::KVReader& s) const;  // DefaultParams() when none stored
  void set_params(store::KVStore& s, const Params& p) const;
  Result<Minter> minter(const store::KVReader& s) const;  // zero minter when none stored
  void set_minter(store::KVStore& s, const Minter& m) const;
  // Total udpai x/mint has minted (the rewards module reads epoch emissions from it).
  Result<Amount> minted_total(const store::KVReader& s) const;

  // Mints this block's reward into RewardsPendingAddress() (event "mint.minted"). Errors halt.
  Status begin_block(Context& ctx) const;

  // minted <= max_emission; the minter's amounts parse. A break is Fault(kFaultInvariant).
  Status check_invariants(const store::KVReader& s) const;

 private:
  const BankKeeper* bank_;
};

}  // namespace depai::x::mint
