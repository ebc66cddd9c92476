// x/identity end_block: attester bonds due back at this height (identity/unbond/<height>...).
// Only the current height's entries are read.
#include "crypto/bech32.h"
#include "x/identity/keeper.h"
#include "x/identity/keys.h"
#include "x/types/codec.h"

namespace depai::x::identity {

Status Keeper::end_block(Context& ctx) const {
  auto& s = *ctx.store;
  const std::string pre = keys::UnbondAt(ctx.header->height);
  std::vector<Bytes> due;
  Status bad;
  s.iterate(pre, store::PrefixEnd(pre), [&](std::string_view k, std::string_view) {
    if (k.size() != pre.size() + 20) {
      bad = Fault(kFaultCorruptRecord, "identity unbond key is not 20 bytes of address");
      return false;
    }
    due.emplace_back(k.substr(pre.size()));
    return true;
  });
  DEPAI_TRY(bad);
  for (const auto& owner : due) {
    s.del(pre + owner);
    DEPAI_ASSIGN_OR_RETURN(auto a, attester(s, owner));
    if (!a || a->active()) return Fault(kFaultInvariant, "an attester bond is due but the attester is not unbonding");
    DEPAI_ASSIGN_OR_RETURN(Amount bond, DecodeAmountField(a->bond(), "attester bond"));
    if (!bond.is_zero()) {
      auto c = Coins::From({Coin{kDenom, bond}});
      if (!c.ok()) return Fault(kFaultInternal, "attester bond is not a coin");
      DEPAI_TRY(bank_->send(ctx, ModuleAddress(), owner, *c));
    }
    s.del(keys::Attester(owner));
    if (ctx.events)
      ctx.events->emit("identity.attester_unbonded", {{"attester", a->owner()}, {"amount", bond.str(), false}});
  }
  return {};
}

}  // namespace depai::x::identity
