// x/bank invariants: the sum of balances equals the supply per denom, and supply <= max_supply.
// A break is a fault (kFaultInvariant): it halts the node.
#include <map>

#include "x/bank/keeper.h"
#include "x/bank/keys.h"
#include "x/types/block_changes.h"
#include "x/types/codec.h"

namespace depai::x::bank {

using keys::kBalPrefix;
using keys::kBasePrefix;
using keys::kBurnedPrefix;
using keys::kMintedPrefix;
using keys::kSupplyPrefix;

namespace {
Error Broken(const std::string& m) { return Fault(kFaultInvariant, "bank supply invariant: " + m); }

Status WithinMax(const Keeper& k, const store::KVReader& s, const std::string& d, Amount supply) {
  DEPAI_ASSIGN_OR_RETURN(auto meta, k.denom(s, d));
  if (!meta) return {};
  auto max = Amount::Parse(meta->max_supply());
  if (max.ok() && supply > max.value()) return Broken("supply of " + d + " exceeds max supply " + meta->max_supply());
  return {};
}
}  // namespace

Status Keeper::check_supply_full(const store::KVReader& s) const {
  std::map<std::string, unsigned __int128, std::less<>> sums;
  DEPAI_TRY(for_each_balance(s, [&](std::string_view, std::string_view denom, Amount a) {
    auto it = sums.find(denom);
    if (it == sums.end()) it = sums.emplace(std::string(denom), 0).first;
    it->second += a.raw();
    return true;
  }));
  DEPAI_ASSIGN_OR_RETURN(Coins supply, total_supply(s));
  for (const auto& [d, sum] : sums)
    if (sum != supply.amount_of(d).raw())
      return Broken(d + ": balances sum differs from supply " + supply.amount_of(d).str());
  for (const auto& c : supply.list()) {
    if (!sums.count(c.denom) && !c.amount.is_zero())
      return Broken(c.denom + ": no balances but supply " + c.amount.str());
    DEPAI_TRY(WithinMax(*this, s, c.denom, c.amount));
  }
  // Mint and burn account for every change of supply since genesis.
  DEPAI_ASSIGN_OR_RETURN(auto denoms, this->denoms(s));
  for (const auto& m : denoms) {
    DEPAI_ASSIGN_OR_RETURN(Amount base, base_supply(s, m.denom()));
    DEPAI_ASSIGN_OR_RETURN(Amount minted, minted_total(s, m.denom()));
    DEPAI_ASSIGN_OR_RETURN(Amount burned, burned_total(s, m.denom()));
    const unsigned __int128 lhs = static_cast<unsigned __int128>(supply.amount_of(m.denom()).raw()) + burned.raw();
    const unsigned __int128 rhs = static_cast<unsigned __int128>(base.raw()) + minted.raw();
    if (lhs != rhs)
      return Broken(m.denom() + ": supply " + supply.amount_of(m.denom()).str() + " != base " + base.str() +
                    " + minted " + minted.str() + " - burned " + burned.str());
  }
  return {};
}

Status Keeper::check_supply_block(const store::CacheStore& block, const store::KVReader& committed) const {
  // Signed deltas per denom, in 128 bits so they cannot overflow.
  std::map<std::string, __int128, std::less<>> bal_delta, supply_delta;
  auto add_to = [](std::map<std::string, __int128, std::less<>>& deltas, std::string_view denom,
                   const std::optional<Bytes>& before, const std::optional<Bytes>& after) -> Status {
    auto nv = after ? DecodeU64Record(*after, "balance or supply") : Result<uint64_t>(0);
    auto ov = before ? DecodeU64Record(*before, "balance or supply") : Result<uint64_t>(0);
    if (!ov.ok()) return ov.error();
    if (!nv.ok()) return nv.error();
    auto it = deltas.find(denom);
    if (it == deltas.end()) it = deltas.emplace(std::string(denom), 0).first;
    it->second += static_cast<__int128>(nv.value()) - static_cast<__int128>(ov.value());
    return {};
  };
  DEPAI_TRY(ForEachBlockChange(
      block, committed, kBalPrefix, [&](std::string_view key, const auto& before, const auto& after) {
        return add_to(bal_delta, key.substr(std::min(key.size(), kBalPrefix.size() + 20)), before, after);
      }));
  DEPAI_TRY(ForEachBlockChange(block, committed, kSupplyPrefix,
                               [&](std::string_view key, const auto& before, const auto& after) {
                                 return add_to(supply_delta, key.substr(kSupplyPrefix.size()), before, after);
                               }));
  // minted - burned + base changes, per denom: must equal the supply change.
  std::map<std::string, __int128, std::less<>> mb_delta, burned_delta;
  for (auto prefix : {kMintedPrefix, kBasePrefix})
    DEPAI_TRY(
        ForEachBlockChange(block, committed, prefix, [&](std::string_view key, const auto& before, const auto& after) {
          return add_to(mb_delta, key.substr(prefix.size()), before, after);
        }));
  DEPAI_TRY(ForEachBlockChange(block, committed, kBurnedPrefix,
                               [&](std::string_view key, const auto& before, const auto& after) {
                                 return add_to(burned_delta, key.substr(kBurnedPrefix.size()), before, after);
                               }));
  for (const auto& [d, bd] : burned_delta) mb_delta[d] -= bd;
  for (const auto& [d, md] : mb_delta) {
    auto it = supply_delta.find(d);
    if ((it == supply_delta.end() ? 0 : it->second) != md)
      return Broken("supply of " + d + " changed by other than mint and burn in block");
  }
  for (const auto& [d, sd] : supply_delta)
    if (sd != 0 && !mb_delta.count(d)) return Broken("supply of " + d + " changed without a mint or burn");
  for (const auto& [d, delta] : bal_delta) {
    auto it = supply_delta.find(d);
    __int128 sd = it == supply_delta.end() ? 0 : it->second;
    if (sd != delta) return Broken("in block for " + d);
  }
  for (const auto& [d, sd] : supply_delta) {
    if (sd != 0 && !bal_delta.count(d)) return Broken("supply of " + d + " changed without balances");
    DEPAI_ASSIGN_OR_RETURN(Amount now, supply(block, d));
    DEPAI_TRY(WithinMax(*this, block, d, now));
  }
  return {};
}

}  // namespace depai::x::bank
