// x/oracle's seeded random messages for the determinism test: price posts from feeders (most
// succeed; sometimes 0, above max_price_e9, or a second post in the block) and from accounts that
// are not feeders (refused).
#include "x/oracle/module.h"

namespace depai::x::oracle {

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  auto& rng = sim.rng;
  if (sim.accounts.empty()) return std::nullopt;
  auto p = keeper_.params(sim.state);
  if (!p.ok()) return std::nullopt;
  std::vector<size_t> feeders;
  for (size_t i = 0; i < sim.accounts.size(); ++i)
    for (const auto& f : p->feeders())
      if (f == sim.accounts[i].bech32) feeders.push_back(i);
  size_t who = rng.below(sim.accounts.size());
  if (!feeders.empty() && rng.chance(75)) who = feeders[rng.below(feeders.size())];
  depai::oracle::v1::MsgPostPrice m;
  m.set_feeder(sim.accounts[who].bech32);
  const uint64_t pick = rng.below(100);
  if (pick < 5) {
    m.set_price_e9(0);
  } else if (pick < 10) {
    m.set_price_e9(p->max_price_e9() + 1 + rng.below(1000));
  } else {
    // around 0.50 USD, +-10%
    m.set_price_e9(450'000'000 + rng.below(100'000'001));
  }
  return SimMsg{who, PackAny(kTypePostPrice, m)};
}

}  // namespace depai::x::oracle
