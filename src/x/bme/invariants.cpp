// x/bme invariants: every stored record decodes (a corrupt one is a fault), and the circuit
// breaker's two buckets never hold more than the module's cumulative burn. A break is
// Fault(kFaultInvariant). (The supply side, udpai burned and ucredit minted, is bank's supply
// invariant.)
#include "x/bme/keeper.h"

namespace depai::x::bme {

Status Keeper::check_invariants(const store::KVReader& s) const {
  DEPAI_TRY(params(s).status());
  DEPAI_ASSIGN_OR_RETURN(const WindowRec w, window(s));
  DEPAI_ASSIGN_OR_RETURN(const TotalsRec t, totals(s));
  const unsigned __int128 in_window = static_cast<unsigned __int128>(w.burned.raw()) + w.prev_burned.raw();
  if (in_window > t.burned.raw())
    return Fault(kFaultInvariant, "bme invariant broken: the window holds " + w.burned.str() + "+" +
                                      w.prev_burned.str() + "udpai but only " + t.burned.str() +
                                      "udpai were ever burned");
  if (t.burns == 0 && (!t.burned.is_zero() || !t.minted.is_zero()))
    return Fault(kFaultInvariant, "bme invariant broken: totals without any burn");
  return {};
}

}  // namespace depai::x::bme
