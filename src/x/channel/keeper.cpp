// x/channel records, views, params, and the message phases (keeper.h).
#include "x/channel/keeper.h"

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/channel/keys.h"
#include "x/types/codec.h"

namespace depai::x::channel {

namespace {

std::string Id(uint64_t id) { return std::to_string(id); }
std::string U(uint64_t v) { return std::to_string(v); }

Coins One(const std::string& denom, Amount a) { return Coins::From({Coin{denom, a}}).value(); }

Result<Bytes> StoredAddress(const std::string& bech32, const char* what) {
  auto a = crypto::AddressFromBech32(bech32);
  if (!a.ok() || a->size() != 20)
    return Fault(kFaultCorruptRecord, std::string("stored channel ") + what + " '" + bech32 + "' is not an address");
  return *a;
}

Result<ChannelRec> DecodeChannel(std::string_view v) {
  ChannelRec c;
  DEPAI_ASSIGN_OR_RETURN(c.pb, DecodeRecord<Channel>(v, "channel"));
  DEPAI_ASSIGN_OR_RETURN(c.deposit, DecodeAmountField(c.pb.deposit(), "channel deposit"));
  DEPAI_ASSIGN_OR_RETURN(c.redeemed, DecodeAmountField(c.pb.redeemed(), "channel redeemed"));
  DEPAI_ASSIGN_OR_RETURN(c.payer, StoredAddress(c.pb.payer(), "payer"));
  DEPAI_ASSIGN_OR_RETURN(c.payee, StoredAddress(c.pb.payee(), "payee"));
  const auto& d = c.pb.denom();
  if (d != kDenom && d != kCreditDenom)
    return Fault(kFaultCorruptRecord, "stored channel denom '" + d + "' is not udpai or ucredit");
  if (c.pb.voucher_key().size() != 32) return Fault(kFaultCorruptRecord, "stored channel voucher_key is not 32 bytes");
  if (c.pb.state() != depai::channel::v1::CHANNEL_STATE_OPEN &&
      c.pb.state() != depai::channel::v1::CHANNEL_STATE_CLOSING)
    return Fault(kFaultCorruptRecord, "stored channel " + Id(c.pb.id()) + " has an unknown state");
  if (c.redeemed > c.deposit)
    return Fault(kFaultCorruptRecord, "stored channel " + Id(c.pb.id()) + " redeemed " + c.redeemed.str() +
                                          " exceeds its deposit " + c.deposit.str());
  return c;
}

}  // namespace

const Bytes& ModuleAddress() {
  static const Bytes a = crypto::Sha256("module:channel").substr(0, 20);
  return a;
}

Params DefaultParams() {
  Params p;
  p.set_min_challenge_blocks(100);
  p.set_max_challenge_blocks(1'000'000);
  p.set_max_ticket_units(100'000);
  p.set_gas_per_hash(10);
  return p;
}

Status ValidateParams(const Params& p) {
  auto bad = [](const std::string& m) { return ChannelErr(kErrInvalidParams, m); };
  if (p.min_challenge_blocks() < 1) return bad("min_challenge_blocks must be at least 1");
  if (p.max_challenge_blocks() < p.min_challenge_blocks())
    return bad("max_challenge_blocks " + std::to_string(p.max_challenge_blocks()) + " is below min_challenge_blocks " +
               std::to_string(p.min_challenge_blocks()));
  if (p.max_ticket_units() < 1 || p.max_ticket_units() > 10'000'000)
    return bad("max_ticket_units must be in [1, 10000000]");
  if (p.gas_per_hash() > 1'000'000) return bad("gas_per_hash must be at most 1000000");
  return {};
}

// ---- records ----

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  DEPAI_ASSIGN_OR_RETURN(auto p, DecodeRecord<Params>(*v, "channel params"));
  if (auto st = ValidateParams(p); !st.ok())
    return Fault(kFaultCorruptRecord, "stored channel params are out of range: " + st.error().message);
  return p;
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<uint64_t> Keeper::last_id(const store::KVReader& s) const {
  auto v = s.get(keys::kSeq);
  if (!v) return uint64_t{0};
  return DecodeU64Record(*v, "channel sequence");
}
void Keeper::set_last_id(store::KVStore& s, uint64_t id) const { s.set(keys::kSeq, U64BE(id)); }

Result<std::optional<ChannelRec>> Keeper::channel(const store::KVReader& s, uint64_t id) const {
  auto v = s.get(keys::Channel(id));
  if (!v) return std::optional<ChannelRec>();
  DEPAI_ASSIGN_OR_RETURN(auto c, DecodeChannel(*v));
  if (c.pb.id() != id) return Fault(kFaultCorruptRecord, "stored channel " + Id(id) + " carries id " + Id(c.pb.id()));
  return std::optional<ChannelRec>(std::move(c));
}

void Keeper::set_channel(store::KVStore& s, const ChannelRec& c) const {
  Channel pb = c.pb;
  pb.set_deposit(c.deposit.str());
  pb.set_redeemed(c.redeemed.str());
  s.set(keys::Channel(pb.id()), DeterministicSerialize(pb));
}

Status Keeper::for_each_channel(const store::KVReader& s, const ChannelFn& fn) const {
  return ForEachRecord(s, keys::kChannelPrefix, &DecodeChannel,
                       [&](std::string_view, const ChannelRec& c) { return fn(c); });
}

Result<ChannelRec> Keeper::existing(const store::KVReader& s, uint64_t id) const {
  DEPAI_ASSIGN_OR_RETURN(auto c, channel(s, id));
  if (!c) return ChannelErr(kErrChannelNotFound, "channel " + Id(id) + " not found (never opened, or settled)");
  return std::move(*c);
}

// ---- proofs ----

Result<Advance> Keeper::advance(const Params& params, const ChannelRec& c, const ProofParsed& p,
                                std::string_view chain_id, bool verify) const {
  Advance a;
  a.next = c.pb;
  Channel& n = a.next;
  const std::string ch = "channel " + Id(c.pb.id());
  if (p.voucher) {
    const Voucher& v = *p.voucher;
    if (v.nonce() <= c.pb.nonce())
      return ChannelErr(kErrStaleVoucher, "stale voucher: nonce " + U(v.nonce()) + " is not above " + ch +
                                              "'s recorded nonce " + U(c.pb.nonce()));
    VoucherFields f = FieldsOf(v);
    f.channel_id = c.pb.id();  // the id signed is the channel's: a voucher for another channel fails here
    if (verify && !VerifyVoucherSig(c.pb.voucher_key(), chain_id, f, v.signature()))
      return ChannelErr(
          kErrBadSignature,
          "voucher signature does not verify under " + ch + "'s voucher key on chain " + std::string(chain_id) +
              ": forged, or signed for another channel or chain (the voucher names channel " + U(v.channel_id()) + ")");
    n.set_nonce(v.nonce());
    n.set_voucher_amount(v.amount());
    n.set_ticket_root(v.ticket_root());
    n.set_unit_price(v.unit_price());
    n.set_max_units(v.max_units());
    n.set_ticket_units(0);
    n.set_ticket_head(v.ticket_root());
  }
  if (p.ticket) {
    const Ticket& t = *p.ticket;
    if (n.ticket_root().empty())
      return ChannelErr(kErrInvalidTicket,
                        "ticket for " + ch + ", whose voucher (nonce " + U(n.nonce()) + ") commits to no hash chain");
    if (t.units() > n.max_units())
      return ChannelErr(kErrInvalidTicket,
                        "ticket of " + U(t.units()) + " units is beyond the voucher's max_units " + U(n.max_units()));
    if (t.units() > params.max_ticket_units())
      return ChannelErr(kErrInvalidTicket, "ticket of " + U(t.units()) + " units is beyond params.max_ticket_units " +
                                               U(params.max_ticket_units()));
    if (t.units() <= n.ticket_units())
      return ChannelErr(kErrInvalidTicket, "ticket is not longer: " + U(t.units()) + " units, " + ch + " has " +
                                               U(n.ticket_units()) + " on this chain");
    a.hashes = t.units() - n.ticket_units();
    if (verify && !ChainReaches(t.preimage(), a.hashes, n.ticket_head()))
      return ChannelErr(kErrInvalidTicket,
                        "ticket preimage for unit " + U(t.units()) + " does not hash to the chain: " + U(a.hashes) +
                            " SHA-256 steps do not reach the recorded head (unit " + U(n.ticket_units()) + ")");
    n.set_ticket_units(t.units());
    n.set_ticket_head(t.preimage());
  }
  DEPAI_ASSIGN_OR_RETURN(const uint64_t proven, ProvenTotal(n.voucher_amount(), n.ticket_units(), n.unit_price()));
  a.proven = Amount::Of(proven).value();
  const std::string d = c.pb.denom();
  if (a.proven > c.deposit)
    return ChannelErr(kErrOverDeposit, "over-deposit redeem: proven total " + a.proven.str() + d + " (voucher " +
                                           U(n.voucher_amount()) + " + " + U(n.ticket_units()) + " units x " +
                                           U(n.unit_price()) + ") exceeds " + ch + "'s deposit " + c.deposit.str() + d);
  if (a.proven < c.redeemed)
    return ChannelErr(kErrBelowRedeemed, "proof's total " + a.proven.str() + d + " is below the " + c.redeemed.str() +
                                             d + " already redeemed on " + ch);
  a.pay = a.proven.sub(c.redeemed).value();
  return a;
}

// ---- open / top-up ----

Status Keeper::check_open(const store::KVReader& s, const OpenParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  if (m.challenge_blocks < p.min_challenge_blocks() || m.challenge_blocks > p.max_challenge_blocks())
    return ChannelErr(kErrInvalidMsg, "challenge_blocks " + std::to_string(m.challenge_blocks) + " is outside [" +
                                          std::to_string(p.min_challenge_blocks()) + ", " +
                                          std::to_string(p.max_challenge_blocks()) + "] (params)");
  DEPAI_ASSIGN_OR_RETURN(const Amount have, bank_->balance(s, m.signer, m.denom));
  if (have < m.deposit)
    return RootErr(kErrInsufficientFunds, "insufficient funds: balance " + have.str() + m.denom +
                                              " is smaller than the deposit " + m.deposit.str() + m.denom);
  return {};
}

Result<uint64_t> Keeper::open(Context& ctx, const OpenParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const uint64_t last, last_id(s));
  const uint64_t id = last + 1;
  set_last_id(s, id);
  DEPAI_TRY(bank_->send(ctx, m.signer, ModuleAddress(), One(m.denom, m.deposit)));
  ChannelRec c;
  c.pb.set_id(id);
  c.pb.set_payer(crypto::AddressToBech32(m.signer));
  c.pb.set_payee(crypto::AddressToBech32(m.payee));
  c.pb.set_denom(m.denom);
  c.pb.set_voucher_key(m.voucher_key);
  c.pb.set_challenge_blocks(m.challenge_blocks);
  c.pb.set_state(depai::channel::v1::CHANNEL_STATE_OPEN);
  c.pb.set_opened_height(ctx.header->height);
  c.deposit = m.deposit;
  c.payer = m.signer;
  c.payee = m.payee;
  set_channel(s, c);
  if (ctx.events)
    ctx.events->emit_attrs("channel.open", EventAttribute{"id", Id(id)}, EventAttribute{"payer", c.pb.payer()},
                           EventAttribute{"payee", c.pb.payee()}, EventAttribute{"deposit", m.deposit.str() + m.denom},
                           EventAttribute{"challenge_blocks", std::to_string(m.challenge_blocks)});
  return id;
}

Status Keeper::check_topup(const store::KVReader& s, const TopUpParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const ChannelRec c, existing(s, m.id));
  if (c.payer != m.signer)
    return ChannelErr(kErrNotParty, "only channel " + Id(m.id) + "'s payer " + c.pb.payer() + " can top it up");
  if (c.payee != m.payee)
    return ChannelErr(kErrInvalidMsg, "top-up names payee " + crypto::AddressToBech32(m.payee) + " but channel " +
                                          Id(m.id) + "'s payee is " + c.pb.payee());
  if (c.pb.state() != depai::channel::v1::CHANNEL_STATE_OPEN)
    return ChannelErr(kErrWrongState, "channel " + Id(m.id) + " is closing (settles at height " +
                                          std::to_string(c.pb.settle_height()) + "): no top-up");
  if (m.denom != c.pb.denom())
    return ChannelErr(kErrInvalidMsg, "top-up denom " + m.denom + " is not channel " + Id(m.id) + "'s " + c.pb.denom());
  auto sum = c.deposit.add(m.amount);
  if (!sum.ok()) return ChannelErr(kErrOverflow, "deposit " + c.deposit.str() + " + " + m.amount.str() + " overflows");
  DEPAI_ASSIGN_OR_RETURN(const Amount have, bank_->balance(s, m.signer, m.denom));
  if (have < m.amount)
    return RootErr(kErrInsufficientFunds, "insufficient funds: balance " + have.str() + m.denom +
                                              " is smaller than the top-up " + m.amount.str() + m.denom);
  return {};
}

Status Keeper::topup(Context& ctx, const TopUpParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(ChannelRec c, existing(*ctx.store, m.id));
  DEPAI_TRY(bank_->send(ctx, m.signer, ModuleAddress(), One(m.denom, m.amount)));
  DEPAI_ASSIGN_OR_RETURN(c.deposit, c.deposit.add(m.amount));
  set_channel(*ctx.store, c);
  if (ctx.events)
    ctx.events->emit_attrs("channel.topup", EventAttribute{"id", Id(m.id)},
                           EventAttribute{"amount", m.amount.str() + m.denom},
                           EventAttribute{"deposit", c.deposit.str() + m.denom});
  return {};
}

// ---- redeem / close / settle ----

Status Keeper::check_redeem(const store::KVReader& s, const ProofParsed& m, std::string_view chain_id) const {
  DEPAI_ASSIGN_OR_RETURN(const ChannelRec c, existing(s, m.id));
  if (c.payee != m.signer)
    return ChannelErr(kErrNotParty, "only channel " + Id(m.id) + "'s payee " + c.pb.payee() + " can redeem");
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  return advance(p, c, m, chain_id, true).status();
}

Status Keeper::apply_proof(Context& ctx, const Params& params, ChannelRec& c, const ProofParsed& m,
                           const char* what) const {
  DEPAI_ASSIGN_OR_RETURN(Advance a, advance(params, c, m, ctx.header->chain_id, false));
  if (ctx.gas && a.hashes > 0) DEPAI_TRY(ctx.gas->consume(a.hashes * params.gas_per_hash(), "ticket hashes"));
  // The payer's own proof (in its close) pays the payee what it proves but is not recorded: the
  // payee's vouchers are compared with the last one the payee presented, so a payer cannot
  // pre-empt them with a voucher of a huge nonce (doc/modules/channel.md, "Disputes").
  if (m.signer != c.payee) {
    a.next.set_nonce(c.pb.nonce());
    a.next.set_voucher_amount(c.pb.voucher_amount());
    a.next.set_ticket_root(c.pb.ticket_root());
    a.next.set_unit_price(c.pb.unit_price());
    a.next.set_max_units(c.pb.max_units());
    a.next.set_ticket_units(c.pb.ticket_units());
    a.next.set_ticket_head(c.pb.ticket_head());
  }
  c.pb = std::move(a.next);
  if (!a.pay.is_zero()) {
    if (c.credit()) {
      DEPAI_TRY(bank_->burn(ctx, ModuleAddress(), One(kCreditDenom, a.pay)));
    } else {
      DEPAI_TRY(bank_->send(ctx, ModuleAddress(), c.payee, One(kDenom, a.pay)));
    }
  }
  c.redeemed = a.proven;
  set_channel(*ctx.store, c);
  if (ctx.events)
    ctx.events->emit_attrs(
        std::string("channel.") + what, EventAttribute{"id", Id(c.pb.id())}, EventAttribute{"nonce", U(c.pb.nonce())},
        EventAttribute{"ticket_units", U(c.pb.ticket_units())}, EventAttribute{"proven", a.proven.str() + c.pb.denom()},
        EventAttribute{"paid", a.pay.str() + c.pb.denom()}, EventAttribute{"burned", c.credit() ? "true" : "false"});
  return {};
}

Status Keeper::redeem(Context& ctx, const ProofParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(ChannelRec c, existing(*ctx.store, m.id));
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(*ctx.store));
  return apply_proof(ctx, p, c, m, "redeem");
}

Status Keeper::check_close(const store::KVReader& s, const ProofParsed& m, std::string_view chain_id) const {
  DEPAI_ASSIGN_OR_RETURN(const ChannelRec c, existing(s, m.id));
  if (c.payer != m.signer && c.payee != m.signer)
    return ChannelErr(kErrNotParty, "only channel " + Id(m.id) + "'s payer " + c.pb.payer() + " or payee " +
                                        c.pb.payee() + " can close it");
  if (c.pb.state() == depai::channel::v1::CHANNEL_STATE_CLOSING && !m.has_proof())
    return ChannelErr(kErrWrongState, "channel " + Id(m.id) + " is already closing (settles at height " +
                                          std::to_string(c.pb.settle_height()) +
                                          "); a second close must carry a higher voucher or a longer ticket");
  if (!m.has_proof()) return {};
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  return advance(p, c, m, chain_id, true).status();
}

Status Keeper::close(Context& ctx, const ProofParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(ChannelRec c, existing(*ctx.store, m.id));
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(*ctx.store));
  if (c.pb.state() == depai::channel::v1::CHANNEL_STATE_OPEN) {
    c.pb.set_state(depai::channel::v1::CHANNEL_STATE_CLOSING);
    c.pb.set_settle_height(ctx.header->height + c.pb.challenge_blocks());
    c.pb.set_closed_by(crypto::AddressToBech32(m.signer));
    if (ctx.events)
      ctx.events->emit_attrs("channel.close", EventAttribute{"id", Id(m.id)},
                             EventAttribute{"closed_by", c.pb.closed_by()},
                             EventAttribute{"settle_height", std::to_string(c.pb.settle_height())});
  }
  if (m.has_proof()) return apply_proof(ctx, p, c, m, "close_proof");
  set_channel(*ctx.store, c);
  return {};
}

Status Keeper::check_settle(const store::KVReader& s, const SettleParsed& m, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(const ChannelRec c, existing(s, m.id));
  if (c.pb.state() != depai::channel::v1::CHANNEL_STATE_CLOSING)
    return ChannelErr(kErrWrongState, "channel " + Id(m.id) + " is open: close it first");
  if (height < c.pb.settle_height())
    return ChannelErr(kErrChallengePeriod, "channel " + Id(m.id) + "'s challenge period runs until height " +
                                               std::to_string(c.pb.settle_height()) + ", now " +
                                               std::to_string(height));
  return {};
}

Status Keeper::settle(Context& ctx, const SettleParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const ChannelRec c, existing(*ctx.store, m.id));
  const Amount rest = c.deposit.sub(c.redeemed).value();  // redeemed <= deposit (DecodeChannel)
  if (!rest.is_zero()) DEPAI_TRY(bank_->send(ctx, ModuleAddress(), c.payer, One(c.pb.denom(), rest)));
  ctx.store->del(keys::Channel(m.id));
  if (ctx.events)
    ctx.events->emit_attrs(
        "channel.settle", EventAttribute{"id", Id(m.id)}, EventAttribute{"to_payee", c.redeemed.str() + c.pb.denom()},
        EventAttribute{"to_payer", rest.str() + c.pb.denom()}, EventAttribute{"burned", c.credit() ? "true" : "false"});
  return {};
}

nlohmann::json ChannelJson(const Channel& c) {
  nlohmann::json j = MessageToJson(c);
  j["voucher_key"] = HexEncode(c.voucher_key());
  j["ticket_root"] = HexEncode(c.ticket_root());
  j["ticket_head"] = HexEncode(c.ticket_head());
  auto proven = ProvenTotal(c.voucher_amount(), c.ticket_units(), c.unit_price());
  auto redeemed = Amount::Parse(c.redeemed());
  if (proven.ok() && redeemed.ok()) {
    // What is proven on chain: the recorded (payee's) proof, or more if the payer's close paid more.
    if (redeemed->raw() > *proven) proven = redeemed->raw();
    j["proven"] = std::to_string(*proven);
    auto dep = Amount::Parse(c.deposit());
    if (dep.ok() && dep->raw() >= *proven) j["remaining"] = std::to_string(dep->raw() - *proven);
  }
  return j;
}

}  // namespace depai::x::channel
