// x/provider end-block: pays out the unbonding entries that are due at this height.
#include "crypto/bech32.h"
#include "x/provider/keeper.h"
#include "x/provider/keys.h"
#include "x/types/codec.h"

namespace depai::x::provider {

using keys::kUnbondPrefix;

Status Keeper::end_block(Context& ctx) const {
  const int64_t h = ctx.header->height;
  if (h < 0 || !bank_) return {};
  // Due entries are exactly the keys in [prefix, prefix + BE(h + 1)): the scan stops at the first
  // entry that is not due, so the cost is the number of due entries (plus one).
  std::vector<std::pair<std::string, UnbondingEntry>> due;
  Status st;
  ctx.store->iterate(kUnbondPrefix, keys::Unbond(h + 1, ""), [&](std::string_view k, std::string_view v) {
    auto e = DecodeUnbonding(v);
    if (!e.ok()) {
      st = e.error();
      return false;
    }
    if (k.size() != kUnbondPrefix.size() + 8 + 20) {
      st = Fault(kFaultCorruptRecord, "unbonding key of the wrong length");
      return false;
    }
    due.emplace_back(std::string(k), std::move(e).value());
    return true;
  });
  DEPAI_TRY(st);
  for (const auto& [key, e] : due) {
    std::string_view owner = std::string_view(key).substr(kUnbondPrefix.size() + 8);
    DEPAI_ASSIGN_OR_RETURN(Amount amount, DecodeAmountField(e.amount(), "unbonding amount"));
    auto paid = bank_->send(ctx, BondAddress(), owner, BondCoins(amount));
    if (!paid.ok()) {
      if (IsFault(paid)) return paid;
      return Fault(kFaultInvariant, "provider unbonding payout failed: " + paid.error().message);
    }
    ctx.store->del(key);
    if (ctx.events)
      ctx.events->emit("provider.unbonded", {{"owner", e.owner()}, {"amount", amount.str() + kBondDenom}});
  }
  return {};
}

}  // namespace depai::x::provider
