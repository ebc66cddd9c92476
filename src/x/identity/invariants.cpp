// x/identity invariants: module:identity holds exactly the attester bonds; every link points at a
// stored DID; every unbonding attester has its due entry. A break is Fault(kFaultInvariant).
#include "x/identity/keeper.h"
#include "x/identity/keys.h"
#include "x/types/codec.h"

namespace depai::x::identity {

Status Keeper::check_invariants_full(const store::KVReader& s) const {
  Amount sum;
  Status bad;
  DEPAI_TRY(for_each_attester(s, [&](std::string_view owner, const Attester& a) {
    auto b = DecodeAmountField(a.bond(), "attester bond");
    auto n = b.ok() ? sum.add(*b) : Result<Amount>(b.error());
    if (!n.ok()) {
      bad = Fault(kFaultInvariant, "identity: attester bonds overflow");
      return false;
    }
    sum = *n;
    if (!a.active() && !s.get(keys::Unbond(a.unbond_height(), owner))) {
      bad = Fault(kFaultInvariant, "identity: unbonding attester " + a.owner() + " has no due entry at height " +
                                       std::to_string(a.unbond_height()));
      return false;
    }
    return true;
  }));
  DEPAI_TRY(bad);
  DEPAI_ASSIGN_OR_RETURN(Amount held, bank_->balance(s, ModuleAddress(), kDenom));
  if (held != sum)
    return Fault(kFaultInvariant, "identity: module:identity holds " + held.str() + "udpai but attester bonds sum to " +
                                      sum.str() + "udpai");
  DEPAI_TRY(for_each_link(s, [&](std::string_view account, std::string_view did20) {
    if (!s.get(keys::Did(did20))) {
      bad = Fault(kFaultInvariant, "identity: a link points at " + DidOf(did20) + ", which does not exist");
      return false;
    }
    return true;
  }));
  return bad;
}

Status Keeper::check_invariants_block(const store::CacheStore& block, const store::KVReader&) const {
  bool touched = false;
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>&) {
    if (!touched && k.compare(0, keys::kPrefix.size(), keys::kPrefix) == 0) touched = true;
  });
  return touched ? check_invariants_full(block) : Status{};
}

}  // namespace depai::x::identity
