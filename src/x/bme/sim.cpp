// x/bme's seeded random messages for the determinism test: burns of random sizes by the test
// accounts, sometimes zero, malformed, above the balance or past the circuit breaker's cap.
#include "x/bme/module.h"

namespace depai::x::bme {

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  if (sim.accounts.empty()) return std::nullopt;
  auto& rng = sim.rng;
  const size_t from = rng.below(sim.accounts.size());
  depai::bme::v1::MsgBurnForCredits m;
  m.set_owner(sim.accounts[from].bech32);
  const uint64_t kind = rng.below(20);
  if (kind == 0) {
    m.set_amount("0");
  } else if (kind == 1) {
    m.set_amount("12x");
  } else if (kind == 2) {
    m.set_amount("9000000000000000000");  // more than any balance and any cap
  } else if (kind == 3) {
    m.set_amount("1");  // usually 0 credits
  } else {
    m.set_amount(std::to_string(1 + rng.below(5'000'000)));
  }
  return SimMsg{from, PackAny(kTypeBurnForCredits, m)};
}

}  // namespace depai::x::bme
