// x/identity's seeded random messages for the determinism test, built from the state read through
// the keeper: DID creations from a small pool of device keys (repeats are refused: exists; some
// keys malformed), attester registrations (some below the bond), unregistrations, attestations
// signed with the attesters' derived keys over sim.chain_id (some tampered after signing: forged;
// some by unregistered attesters), links (allowed and not), updates with key rotation (some by a
// non-controller) and deactivations.
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "x/identity/module.h"

namespace depai::x::identity {

namespace v1 = depai::identity::v1;

namespace {
crypto::KeyPair SimKey(const std::string& what, uint64_t i) {
  return *crypto::KeyFromSeed(crypto::Sha256("identity-sim-" + what + "-" + std::to_string(i)));
}
std::optional<size_t> IndexOf(const std::vector<SimAccount>& accounts, const std::string& bech32) {
  for (size_t i = 0; i < accounts.size(); ++i)
    if (accounts[i].bech32 == bech32) return i;
  return std::nullopt;
}
}  // namespace

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  auto& rng = sim.rng;
  if (sim.accounts.empty()) return std::nullopt;
  const size_t who = rng.below(sim.accounts.size());
  const uint64_t pick = rng.below(100);
  std::vector<DidDocument> dids;
  (void)keeper_.for_each_did(sim.state, [&](const DidDocument& d) {
    dids.push_back(d);
    return true;
  });
  if (pick < 25 || dids.empty()) {
    v1::MsgCreateDid m;
    m.set_controller(sim.accounts[who].bech32);
    auto* k = m.add_keys();
    k->set_id("key-1");
    const Bytes pub = SimKey("device", rng.below(12)).pubkey;
    k->set_public_key(rng.chance(5) ? pub.substr(0, 31) : pub);
    if (rng.chance(50)) m.add_accounts(sim.accounts[rng.below(sim.accounts.size())].bech32);
    if (rng.chance(30)) {
      auto* s = m.add_services();
      s->set_id("compute");
      s->set_type("DePINProvider");
      s->set_endpoint(rng.chance(10) ? "not a uri" : "https://robot.example/api");
    }
    return SimMsg{who, PackAny(kTypeCreateDid, m)};
  }
  const DidDocument& d = dids[rng.below(dids.size())];
  const size_t controller = IndexOf(sim.accounts, d.controller()).value_or(who);
  if (pick < 35) {
    v1::MsgRegisterAttester m;
    m.set_owner(sim.accounts[who].bech32);
    m.set_pub_key(SimKey("attester", who).pubkey);
    m.set_name("sim maker " + std::to_string(who));
    m.mutable_bond()->set_denom(rng.chance(3) ? "ucredit" : kDenom);
    m.mutable_bond()->set_amount(std::to_string(rng.chance(10) ? 5 : 100'000'000 + rng.below(1000)));
    return SimMsg{who, PackAny(kTypeRegisterAttester, m)};
  }
  if (pick < 38) {
    v1::MsgUnregisterAttester m;
    m.set_owner(sim.accounts[who].bech32);
    return SimMsg{who, PackAny(kTypeUnregisterAttester, m)};
  }
  if (pick < 70) {
    const size_t maker = rng.below(sim.accounts.size());
    v1::MsgAttestDevice m;
    m.set_sender(sim.accounts[controller].bech32);
    m.set_did(d.id());
    const auto& vm = d.verification_methods(static_cast<int>(rng.below(d.verification_methods_size())));
    m.set_device_key_id(rng.chance(5) ? "key-9" : vm.id());
    m.set_model("drone-x" + std::to_string(rng.below(3)));
    m.set_serial("SN" + std::to_string(rng.below(1000)));
    m.set_attester(sim.accounts[maker].bech32);
    m.set_signature(crypto::Sign(SimKey("attester", maker),
                                 AttestationStatement(sim.chain_id, d.id(), vm.public_key(), m.model(), m.serial())));
    if (rng.chance(15)) m.set_serial(m.serial() + "0");  // tampered after signing: a forgery
    return SimMsg{controller, PackAny(kTypeAttestDevice, m)};
  }
  if (pick < 85) {
    size_t signer = who;
    if (rng.chance(60) && d.accounts_size() > 0)
      signer = IndexOf(sim.accounts, d.accounts(static_cast<int>(rng.below(d.accounts_size())))).value_or(who);
    else if (rng.chance(50))
      signer = controller;
    v1::MsgLinkDid m;
    m.set_account(sim.accounts[signer].bech32);
    if (!rng.chance(5)) m.set_did(d.id());
    return SimMsg{signer, PackAny(kTypeLinkDid, m)};
  }
  if (pick < 95) {
    const size_t signer = rng.chance(80) ? controller : who;
    v1::MsgUpdateDid m;
    m.set_controller(sim.accounts[signer].bech32);
    m.set_did(d.id());
    for (const auto& vm : d.verification_methods())
      if (vm.id() == "key-1" || rng.chance(50)) *m.add_keys() = vm;
    if (m.keys_size() == 0 || rng.chance(30)) {  // rotation: a new key (sometimes the same fragment twice)
      auto* k = m.add_keys();
      k->set_id(rng.chance(5) && m.keys_size() > 1 ? m.keys(0).id() : "key-" + std::to_string(2 + rng.below(4)));
      k->set_public_key(SimKey("rotated", rng.below(100)).pubkey);
    }
    for (const auto& a : d.accounts()) m.add_accounts(a);
    if (rng.chance(40)) m.add_accounts(sim.accounts[rng.below(sim.accounts.size())].bech32);
    return SimMsg{signer, PackAny(kTypeUpdateDid, m)};
  }
  v1::MsgDeactivateDid m;
  const size_t signer = rng.chance(50) ? controller : who;
  m.set_controller(sim.accounts[signer].bech32);
  m.set_did(d.id());
  return SimMsg{signer, PackAny(kTypeDeactivateDid, m)};
}

}  // namespace depai::x::identity
