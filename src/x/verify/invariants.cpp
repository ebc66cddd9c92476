// x/verify invariants: the bond account holds exactly the checkers' bonds, and the slash account
// exactly the slashes of verdicts that are not yet final (PENDING or APPEALED).
#include "crypto/bech32.h"
#include "x/types/block_changes.h"
#include "x/types/codec.h"
#include "x/verify/keeper.h"
#include "x/verify/keys.h"

namespace depai::x::verify {

namespace {
Result<Amount> Held(const Verdict& v) {
  const auto st = v.state();
  if (st != depai::verify::v1::VERDICT_STATE_PENDING && st != depai::verify::v1::VERDICT_STATE_APPEALED)
    return Amount();
  return DecodeAmountField(v.slashed(), "verdict slashed");
}

struct Sums {
  Amount bonds, held;
};

Result<Sums> Totals(const Keeper& k, const store::KVReader& s) {
  Sums t;
  Status st;
  DEPAI_TRY(k.for_each_checker(s, [&](std::string_view, const Checker& c) {
    auto b = DecodeAmountField(c.bond(), "checker bond");
    auto sum = b.ok() ? t.bonds.add(*b) : Result<Amount>(b.error());
    if (!sum.ok()) {
      st = sum.error();
      return false;
    }
    t.bonds = *sum;
    return true;
  }));
  DEPAI_TRY(st);
  DEPAI_TRY(k.for_each_verdict(s, [&](const Verdict& v) {
    auto h = Held(v);
    auto sum = h.ok() ? t.held.add(*h) : Result<Amount>(h.error());
    if (!sum.ok()) {
      st = sum.error();
      return false;
    }
    t.held = *sum;
    return true;
  }));
  DEPAI_TRY(st);
  return t;
}
}  // namespace

Status Keeper::check_invariants_full(const store::KVReader& s) const {
  if (!bank_) return {};
  DEPAI_ASSIGN_OR_RETURN(Sums t, Totals(*this, s));
  DEPAI_ASSIGN_OR_RETURN(Amount bond, bank_->balance(s, BondAddress(), kDenom));
  if (bond != t.bonds)
    return Fault(kFaultInvariant, "verify bond account holds " + bond.str() + "udpai, the checkers' bonds sum to " +
                                      t.bonds.str() + "udpai");
  DEPAI_ASSIGN_OR_RETURN(Amount held, bank_->balance(s, SlashAddress(), kDenom));
  if (held != t.held)
    return Fault(kFaultInvariant,
                 "verify slash account holds " + held.str() + "udpai, pending verdicts hold " + t.held.str() + "udpai");
  return {};
}

Status Keeper::check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const {
  // Only when this block touched checkers or verdicts; the sums are over the module's own records
  // (few compared with accounts), so the full form is used.
  bool touched = false;
  for (auto prefix : {keys::kCheckerPrefix, keys::kVerdictPrefix}) {
    DEPAI_TRY(ForEachBlockChange(block, committed, prefix,
                                 [&](std::string_view, const std::optional<Bytes>&, const std::optional<Bytes>&) {
                                   touched = true;
                                   return Status{};
                                 }));
    if (touched) break;
  }
  if (!touched) return {};
  return check_invariants_full(block);
}

}  // namespace depai::x::verify
