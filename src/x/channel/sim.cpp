// x/channel's seeded random messages for the determinism test: opens (udpai and ucredit, some
// with a challenge period out of range or a deposit above the balance), top-ups, redeems with
// vouchers signed by the generator's fixed voucher key (newer, stale, forged, over the deposit)
// and tickets from a per-channel hash chain (longer, not longer, wrong preimage), closes by
// either side and by strangers, and settles before and after the challenge period.
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "x/channel/module.h"

namespace depai::x::channel {

namespace v1 = depai::channel::v1;

namespace {
constexpr uint64_t kSimChain = 16;  // hash-chain length of the generator's vouchers

const crypto::KeyPair& SimKey() {
  static const crypto::KeyPair k = *crypto::KeyFromSeed(crypto::Sha256("depai/sim/channel-voucher-key"));
  return k;
}
Bytes ChainSeed(uint64_t id, uint64_t nonce) {
  std::string s = "depai/sim/channel-chain/";
  PutU64BE(s, id);
  PutU64BE(s, nonce);
  return crypto::Sha256(s);
}
size_t IndexOf(const std::vector<SimAccount>& accs, const Bytes& addr) {
  for (size_t i = 0; i < accs.size(); ++i)
    if (accs[i].addr == addr) return i;
  return 0;
}
}  // namespace

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  if (sim.accounts.size() < 2) return std::nullopt;
  auto& rng = sim.rng;
  std::vector<ChannelRec> chans;
  if (!keeper_
           .for_each_channel(sim.state,
                             [&](const ChannelRec& c) {
                               chans.push_back(c);
                               return chans.size() < 64;
                             })
           .ok())
    return std::nullopt;
  const uint64_t kind = chans.empty() ? 0 : rng.below(10);
  if (kind <= 2) {  // open
    const size_t from = rng.below(sim.accounts.size());
    size_t to = rng.below(sim.accounts.size());
    if (to == from && !rng.chance(10)) to = (from + 1) % sim.accounts.size();  // sometimes payer == payee
    v1::MsgOpenChannel m;
    m.set_payer(sim.accounts[from].bech32);
    m.set_payee(sim.accounts[to].bech32);
    const bool credit = rng.chance(20);
    m.mutable_deposit()->set_denom(credit ? kCreditDenom : kDenom);
    m.mutable_deposit()->set_amount(std::to_string(
        rng.chance(5) ? 9'000'000'000'000'000'000ull : (credit ? 1 + rng.below(200) : 1000 + rng.below(100000))));
    m.set_voucher_key(SimKey().pubkey);
    m.set_challenge_blocks(rng.chance(10) ? 0 : 2 + static_cast<int64_t>(rng.below(4)));
    return SimMsg{from, PackAny(kTypeOpen, m), {}};
  }
  const ChannelRec& c = chans[rng.below(chans.size())];
  const size_t payer = IndexOf(sim.accounts, c.payer), payee = IndexOf(sim.accounts, c.payee);
  if (kind == 3) {  // top-up
    v1::MsgTopUpChannel m;
    m.set_payer(c.pb.payer());
    m.set_id(c.pb.id());
    m.set_payee(c.pb.payee());
    m.mutable_amount()->set_denom(rng.chance(10) ? (c.credit() ? kDenom : kCreditDenom) : c.pb.denom());
    m.mutable_amount()->set_amount(std::to_string(1 + rng.below(c.credit() ? 50 : 20000)));
    return SimMsg{payer, PackAny(kTypeTopUp, m), {}};
  }
  if (kind <= 6) {  // redeem: a voucher, a ticket, or both
    v1::MsgRedeemChannel m;
    m.set_payee(c.pb.payee());
    m.set_id(c.pb.id());
    const bool voucher = c.pb.ticket_root().empty() || rng.chance(50);
    if (voucher) {
      v1::Voucher v;
      v.set_channel_id(rng.chance(5) ? c.pb.id() + 1 : c.pb.id());  // sometimes another channel's
      const uint64_t dep = c.deposit.raw();
      const uint64_t floor = c.redeemed.raw();
      v.set_amount(rng.chance(8) ? dep + 1 : floor + rng.below(dep - floor + 1) / 2);
      v.set_nonce(rng.chance(10) ? c.pb.nonce() : c.pb.nonce() + 1 + rng.below(3));  // sometimes stale
      if (rng.chance(50)) {
        v.set_ticket_root(crypto::Sha256Iter(ChainSeed(c.pb.id(), v.nonce()), kSimChain));
        v.set_unit_price(1 + rng.below(5));
        v.set_max_units(kSimChain);
      }
      const Bytes sb = VoucherSignBytes(sim.chain_id, FieldsOf(v)).value();
      Bytes sig = crypto::Sign(SimKey(), sb);
      if (rng.chance(8)) sig[0] = static_cast<char>(sig[0] ^ 1);  // forged
      v.set_signature(sig);
      *m.mutable_voucher() = v;
      if (!v.ticket_root().empty() && rng.chance(50)) {
        const uint64_t k = 1 + rng.below(kSimChain);
        m.mutable_ticket()->set_units(k);
        m.mutable_ticket()->set_preimage(crypto::Sha256Iter(ChainSeed(c.pb.id(), v.nonce()), kSimChain - k));
      }
    } else {
      const uint64_t k = c.pb.ticket_units() + (rng.chance(15) ? 0 : 1 + rng.below(4));
      m.mutable_ticket()->set_units(k == 0 ? 1 : k);
      const uint64_t kk = m.ticket().units();
      Bytes pre = crypto::Sha256Iter(ChainSeed(c.pb.id(), c.pb.nonce()), kk > kSimChain ? 0 : kSimChain - kk);
      if (rng.chance(10)) pre[5] = static_cast<char>(pre[5] ^ 1);
      m.mutable_ticket()->set_preimage(pre);
    }
    return SimMsg{rng.chance(10) ? payer : payee, PackAny(kTypeRedeem, m), {}};
  }
  if (kind <= 8) {  // close, by either side or a stranger
    v1::MsgCloseChannel m;
    const uint64_t who = rng.below(10);
    const size_t signer = who < 5 ? payer : who < 9 ? payee : rng.below(sim.accounts.size());
    m.set_sender(sim.accounts[signer].bech32);
    m.set_id(rng.chance(5) ? c.pb.id() + 1000 : c.pb.id());
    return SimMsg{signer, PackAny(kTypeClose, m), {}};
  }
  v1::MsgSettleChannel m;  // settle, by anyone
  const size_t signer = rng.below(sim.accounts.size());
  m.set_sender(sim.accounts[signer].bech32);
  m.set_id(c.pb.id());
  return SimMsg{signer, PackAny(kTypeSettle, m), {}};
}

}  // namespace depai::x::channel
