// x/wallet's seeded random messages for the determinism test. Owners create wallets (with a
// budget, sometimes a counterparty list or an expiry), add and revoke session keys (the test
// accounts' own keys), fund and drain them; and a session key signs for a wallet: bank sends
// within or over the budget, to listed or unlisted counterparties, and messages no wallet may
// sign. Some are meant to fail (not the owner, unknown wallet, bad policy, over budget).
#include "crypto/bech32.h"
#include "depai/bank/v1/bank.pb.h"
#include "x/types/codec.h"
#include "x/wallet/module.h"

namespace depai::x::wallet {

using namespace depai::wallet::v1;  // NOLINT(google-build-using-namespace): the module's own protos

namespace {
Policy RandomPolicy(SimRng& rng, const std::vector<SimAccount>& accounts) {
  Policy p;
  auto* b = p.add_budgets();
  b->set_denom("udpai");
  b->set_amount(std::to_string(1000 + rng.below(200'000)));
  p.set_period_blocks(static_cast<int64_t>(1 + rng.below(6)));
  if (rng.chance(40)) p.add_counterparties(accounts[rng.below(accounts.size())].bech32);
  if (rng.chance(20)) p.set_expires_height(static_cast<int64_t>(5 + rng.below(30)));
  if (rng.chance(5)) p.set_period_blocks(0);  // invalid with a budget
  return p;
}
}  // namespace

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  if (sim.accounts.empty()) return std::nullopt;
  auto& rng = sim.rng;
  const size_t who = rng.below(sim.accounts.size());
  const SimAccount& acc = sim.accounts[who];
  // The wallets in state, in key order.
  std::vector<Wallet> wallets;
  if (!keeper_
           .for_each_wallet(sim.state,
                            [&](const Wallet& w) {
                              wallets.push_back(w);
                              return true;
                            })
           .ok())
    return std::nullopt;
  const uint64_t kind = wallets.empty() ? 0 : rng.below(10);
  if (kind == 0 || kind == 1) {
    MsgCreateWallet m;
    m.set_owner(acc.bech32);
    *m.mutable_policy() = RandomPolicy(rng, sim.accounts);
    auto* d = m.add_deposit();
    d->set_denom("udpai");
    d->set_amount(std::to_string(rng.below(500'000)));
    if (d->amount() == "0") m.clear_deposit();
    m.set_label("sim");
    return SimMsg{who, PackAny(kTypeCreateWallet, m)};
  }
  const Wallet& w = wallets[rng.below(wallets.size())];
  // Usually the owner, sometimes someone else (refused: not the owner).
  size_t owner_idx = who;
  for (size_t i = 0; i < sim.accounts.size(); ++i)
    if (sim.accounts[i].bech32 == w.owner() && rng.chance(85)) owner_idx = i;
  const std::string& owner = sim.accounts[owner_idx].bech32;
  if (kind == 2) {
    MsgAddSessionKey m;
    m.set_owner(owner);
    m.set_wallet(w.address());
    // The session key is a test account's key: the test signs with it (SimMsg::wallet).
    m.set_pub_key(sim.session_pubkeys.empty() ? std::string(32, 'k')
                                              : sim.session_pubkeys[rng.below(sim.session_pubkeys.size())]);
    m.set_label("k" + std::to_string(rng.below(100)));
    if (rng.chance(50)) *m.mutable_policy() = RandomPolicy(rng, sim.accounts);
    return SimMsg{owner_idx, PackAny(kTypeAddSessionKey, m)};
  }
  if (kind == 3) {
    std::vector<SessionKey> ks;
    (void)keeper_.for_each_key(sim.state, crypto::AddressFromBech32(w.address()).value(), [&](const SessionKey& k) {
      ks.push_back(k);
      return true;
    });
    if (ks.empty() || rng.chance(20)) {
      MsgRevokeWallet m;
      m.set_owner(owner);
      m.set_wallet(w.address());
      return SimMsg{owner_idx, PackAny(kTypeRevokeWallet, m)};
    }
    MsgRevokeSessionKey m;
    m.set_owner(owner);
    m.set_wallet(w.address());
    m.set_pub_key(ks[rng.below(ks.size())].pub_key());
    return SimMsg{owner_idx, PackAny(kTypeRevokeSessionKey, m)};
  }
  if (kind == 4) {
    MsgFundWallet m;
    m.set_sender(acc.bech32);
    m.set_wallet(w.address());
    auto* c = m.add_amount();
    c->set_denom("udpai");
    c->set_amount(std::to_string(1 + rng.below(300'000)));
    return SimMsg{who, PackAny(kTypeFundWallet, m)};
  }
  if (kind == 5) {
    MsgDrainWallet m;
    m.set_owner(owner);
    m.set_wallet(w.address());
    if (rng.chance(50)) {
      auto* c = m.add_amount();
      c->set_denom("udpai");
      c->set_amount(std::to_string(1 + rng.below(100'000)));
    }
    return SimMsg{owner_idx, PackAny(kTypeDrainWallet, m)};
  }
  if (kind == 6) {
    MsgUpdatePolicy m;
    m.set_owner(owner);
    m.set_wallet(w.address());
    *m.mutable_policy() = RandomPolicy(rng, sim.accounts);
    return SimMsg{owner_idx, PackAny(kTypeUpdatePolicy, m)};
  }
  // kind 7..9: a session key signs for the wallet. The key is one of the wallet's when it has
  // any, else a test account's key that is not one (refused in the ante).
  std::vector<SessionKey> ks;
  const Bytes w20 = crypto::AddressFromBech32(w.address()).value();
  (void)keeper_.for_each_key(sim.state, w20, [&](const SessionKey& k) {
    ks.push_back(k);
    return true;
  });
  size_t signer = who;
  if (!ks.empty() && rng.chance(85)) {
    const Bytes& pk = ks[rng.below(ks.size())].pub_key();
    for (size_t i = 0; i < sim.session_pubkeys.size() && i < sim.accounts.size(); ++i)
      if (sim.session_pubkeys[i] == pk) signer = i;
  }
  SimMsg out;
  out.signer = signer;
  out.wallet = w20;
  if (kind == 9 && rng.chance(30)) {  // a message no wallet may sign: an owner message for itself
    MsgCreateWallet m;
    m.set_owner(w.address());
    m.mutable_policy()->set_period_blocks(1);
    out.msg = PackAny(kTypeCreateWallet, m);
    return out;
  }
  depai::bank::v1::MsgSend send;
  send.set_from_address(w.address());
  send.set_to_address(sim.accounts[rng.below(sim.accounts.size())].bech32);
  auto* c = send.add_amount();
  c->set_denom("udpai");
  c->set_amount(std::to_string(1 + rng.below(rng.chance(50) ? 5'000 : 400'000)));
  out.msg = PackAny("/depai.bank.v1.MsgSend", send);
  return out;
}

}  // namespace depai::x::wallet
