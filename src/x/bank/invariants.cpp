// x/bank invariants: the sum of balances equals the supply per denom, and supply <= max_supply.
// A break is a fault (kFaultInvariant): it halts the node.
#include <map>

#include "x/bank/keeper.h"
#include "x/bank/keys.h"
#include "x/types/codec.h"

namespace depai::x::bank {

using keys::kBalPrefix;
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
  return {};
}

Status Keeper::check_supply_block(const store::CacheStore& block, const store::KVReader& committed) const {
  // Signed deltas per denom, in 128 bits so they cannot overflow.
  std::map<std::string, __int128, std::less<>> bal_delta, supply_delta;
  const bool use_originals = block.parent() == &committed;
  Status st;
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>& v, const std::optional<Bytes>* orig) {
    if (!st.ok()) return;
    std::string_view key(k);
    std::map<std::string, __int128, std::less<>>* deltas = nullptr;
    std::string_view denom;
    if (key.substr(0, kBalPrefix.size()) == kBalPrefix) {
      deltas = &bal_delta;
      denom = key.substr(std::min(key.size(), kBalPrefix.size() + 20));
    } else if (key.substr(0, kSupplyPrefix.size()) == kSupplyPrefix) {
      deltas = &supply_delta;
      denom = key.substr(kSupplyPrefix.size());
    } else {
      return;
    }
    auto old = use_originals && orig ? *orig : committed.get(k);
    auto nv = v ? DecodeU64Record(*v, "balance or supply") : Result<uint64_t>(0);
    auto ov = old ? DecodeU64Record(*old, "balance or supply") : Result<uint64_t>(0);
    if (!nv.ok()) st = nv.error();
    if (!ov.ok()) st = ov.error();
    if (!st.ok()) return;
    auto it = deltas->find(denom);
    if (it == deltas->end()) it = deltas->emplace(std::string(denom), 0).first;
    it->second += static_cast<__int128>(nv.value()) - static_cast<__int128>(ov.value());
  });
  DEPAI_TRY(st);
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
