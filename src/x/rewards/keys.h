// x/rewards store keys (module-internal: only x/rewards' files include this).
//   rewards/params              -> depai.rewards.v1.Params
//   rewards/state               -> depai.rewards.v1.EpochState (the running epoch)
//   rewards/work/<provider20>   -> u64 BE: the provider's billed work this epoch, micro-USD
//   rewards/buyer/<buyer20>     -> "" : the buyer paid this epoch (counted once)
//   rewards/epoch/<BE64 epoch>  -> depai.rewards.v1.EpochRecord
//   rewards/prov/<provider20>   -> depai.rewards.v1.ProviderRewards
#pragma once

#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::x::rewards::keys {
inline constexpr std::string_view kParams = "rewards/params";
inline constexpr std::string_view kState = "rewards/state";
inline constexpr std::string_view kWorkPrefix = "rewards/work/";
inline constexpr std::string_view kBuyerPrefix = "rewards/buyer/";
inline constexpr std::string_view kEpochPrefix = "rewards/epoch/";
inline constexpr std::string_view kProvPrefix = "rewards/prov/";

inline std::string Work(std::string_view p) { return std::string(kWorkPrefix) + std::string(p); }
inline std::string Buyer(std::string_view b) { return std::string(kBuyerPrefix) + std::string(b); }
inline std::string Epoch(uint64_t e) { return std::string(kEpochPrefix) + U64BE(e); }
inline std::string Prov(std::string_view p) { return std::string(kProvPrefix) + std::string(p); }
}  // namespace depai::x::rewards::keys
