// x/bank's seeded random messages for the determinism test: sends and multi-sends between the
// test accounts, sometimes in an unknown denom, for more than the balance, or to a module account.
#include "x/bank/module.h"

namespace depai::x::bank {

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  if (sim.accounts.empty()) return std::nullopt;
  auto& rng = sim.rng;
  const size_t from = rng.below(sim.accounts.size());
  auto amount = [&](depai::tx::v1::Coin* c) {
    const uint64_t kind = rng.below(20);
    c->set_denom(kind == 0 ? "ufoo" : "udpai");
    c->set_amount(std::to_string(kind == 1 ? 0 : 1 + rng.below(kind == 2 ? 4'000'000'000 : 2'000'000)));
  };
  auto to = [&]() -> std::string {
    if (rng.chance(3)) return crypto::AddressToBech32(FeeCollectorAddress());
    return sim.accounts[rng.below(sim.accounts.size())].bech32;
  };
  if (rng.chance(80)) {
    depai::bank::v1::MsgSend m;
    m.set_from_address(sim.accounts[from].bech32);
    m.set_to_address(to());
    amount(m.add_amount());
    return SimMsg{from, PackAny(kTypeSend, m)};
  }
  depai::bank::v1::MsgMultiSend m;
  m.set_from_address(sim.accounts[from].bech32);
  const uint64_t n = 1 + rng.below(4);
  for (uint64_t i = 0; i < n; ++i) {
    auto* o = m.add_outputs();
    o->set_address(to());
    amount(o->add_coins());
  }
  return SimMsg{from, PackAny(kTypeMultiSend, m)};
}

}  // namespace depai::x::bank
