// x/channel messages on the skeleton (x/types/module.h): open, top-up, redeem, close, settle.
// validate parses addresses, amounts, keys and the voucher/ticket shapes once into the Parsed
// structs (keeper.h); check and apply call the keeper. Open and top-up describe their spend
// (outflow = the deposit, counterparty = the payee); redeem, close and settle move nothing out
// of their signer (an empty spend), so an agent wallet may sign them.
#include "x/channel/module.h"

#include "crypto/bech32.h"

namespace depai::x::channel {

namespace v1 = depai::channel::v1;

namespace {

Error Invalid(const std::string& m) { return ChannelErr(kErrInvalidMsg, m); }

Result<std::pair<std::string, Amount>> ValidCoin(const depai::tx::v1::Coin& c, const char* field) {
  if (c.denom() != kDenom && c.denom() != kCreditDenom)
    return Invalid(std::string(field) + ": denom must be udpai or ucredit, got '" + c.denom() + "'");
  auto a = Amount::Parse(c.amount());
  if (!a.ok()) return Invalid(std::string(field) + ": " + a.error().message);
  if (a->is_zero()) return Invalid(std::string(field) + " must be positive");
  return std::pair<std::string, Amount>{c.denom(), *a};
}

Status ValidTicket(const v1::Ticket& t) {
  if (t.preimage().size() != 32)
    return ChannelErr(kErrInvalidTicket,
                      "ticket.preimage must be 32 bytes, got " + std::to_string(t.preimage().size()));
  if (t.units() == 0) return ChannelErr(kErrInvalidTicket, "ticket.units must be at least 1");
  return {};
}

template <typename M>
Result<ProofParsed> ValidProof(const M& m, const std::string& signer, const char* signer_field) {
  ProofParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(signer, signer_field));
  if (m.id() == 0) return ChannelErr(kErrChannelNotFound, "id must be set");
  p.id = m.id();
  if (m.has_voucher()) {
    DEPAI_TRY(CheckVoucherShape(m.voucher()));
    p.voucher = m.voucher();
  }
  if (m.has_ticket()) {
    DEPAI_TRY(ValidTicket(m.ticket()));
    p.ticket = m.ticket();
  }
  return p;
}

Result<OpenParsed> ValidateOpen(const v1::MsgOpenChannel& m) {
  OpenParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.payer(), "payer"));
  DEPAI_ASSIGN_OR_RETURN(p.payee, ParseAddress(m.payee(), "payee"));
  if (p.signer == p.payee) return Invalid("payer and payee must differ");
  if (!m.has_deposit()) return Invalid("deposit is required");
  DEPAI_ASSIGN_OR_RETURN(auto c, ValidCoin(m.deposit(), "deposit"));
  p.denom = c.first;
  p.deposit = c.second;
  if (m.voucher_key().size() != 32)
    return Invalid("voucher_key must be a 32-byte ed25519 key, got " + std::to_string(m.voucher_key().size()) +
                   " bytes");
  p.voucher_key = m.voucher_key();
  p.challenge_blocks = m.challenge_blocks();
  return p;
}

Result<TopUpParsed> ValidateTopUp(const v1::MsgTopUpChannel& m) {
  TopUpParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.payer(), "payer"));
  if (m.id() == 0) return ChannelErr(kErrChannelNotFound, "id must be set");
  p.id = m.id();
  DEPAI_ASSIGN_OR_RETURN(p.payee, ParseAddress(m.payee(), "payee"));
  if (!m.has_amount()) return Invalid("amount is required");
  DEPAI_ASSIGN_OR_RETURN(auto c, ValidCoin(m.amount(), "amount"));
  p.denom = c.first;
  p.amount = c.second;
  return p;
}

Result<ProofParsed> ValidateRedeem(const v1::MsgRedeemChannel& m) {
  DEPAI_ASSIGN_OR_RETURN(auto p, ValidProof(m, m.payee(), "payee"));
  if (!p.has_proof()) return Invalid("a redeem carries a voucher, a ticket, or both");
  return p;
}

Result<ProofParsed> ValidateClose(const v1::MsgCloseChannel& m) { return ValidProof(m, m.sender(), "sender"); }

Result<SettleParsed> ValidateSettle(const v1::MsgSettleChannel& m) {
  SettleParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.sender(), "sender"));
  if (m.id() == 0) return ChannelErr(kErrChannelNotFound, "id must be set");
  p.id = m.id();
  return p;
}

MsgSpend NoSpend(const auto&) { return {}; }

}  // namespace

nlohmann::json ProtoToJson(const google::protobuf::Message& m) {
  nlohmann::json j = MessageToJson(m);
  auto hex = [](nlohmann::json& o, const char* k, const std::string& v) {
    if (o.contains(k)) o[k] = HexEncode(v);
  };
  if (const auto* o = dynamic_cast<const v1::MsgOpenChannel*>(&m)) hex(j, "voucher_key", o->voucher_key());
  auto proof = [&](const v1::Voucher* v, const v1::Ticket* t) {
    if (v && j.contains("voucher")) {
      hex(j["voucher"], "ticket_root", v->ticket_root());
      hex(j["voucher"], "signature", v->signature());
    }
    if (t && j.contains("ticket")) hex(j["ticket"], "preimage", t->preimage());
  };
  if (const auto* r = dynamic_cast<const v1::MsgRedeemChannel*>(&m))
    proof(r->has_voucher() ? &r->voucher() : nullptr, r->has_ticket() ? &r->ticket() : nullptr);
  if (const auto* c = dynamic_cast<const v1::MsgCloseChannel*>(&m))
    proof(c->has_voucher() ? &c->voucher() : nullptr, c->has_ticket() ? &c->ticket() : nullptr);
  return j;
}

std::vector<MsgRoute> Module::routes() {
  const Keeper& k = keeper_;
  return {
      MakeRoute(TypedRoute<v1::MsgOpenChannel, OpenParsed>{
          kTypeOpen, &ValidateOpen, [&k](const View& v, const OpenParsed& p) { return k.check_open(v.state, p); },
          [&k](Context& c, const OpenParsed& p) { return k.open(c, p).status(); }, &ProtoToJson,
          [](const OpenParsed& p) {
            return MsgSpend{Coins::From({Coin{p.denom, p.deposit}}).value(), {p.payee}, {}, {}};
          }}),
      MakeRoute(TypedRoute<v1::MsgTopUpChannel, TopUpParsed>{
          kTypeTopUp, &ValidateTopUp, [&k](const View& v, const TopUpParsed& p) { return k.check_topup(v.state, p); },
          [&k](Context& c, const TopUpParsed& p) { return k.topup(c, p); }, &ProtoToJson,
          // The message names the payee (check requires the channel's), so the spend has it.
          [](const TopUpParsed& p) {
            return MsgSpend{Coins::From({Coin{p.denom, p.amount}}).value(), {p.payee}, {}, {}};
          }}),
      MakeRoute(TypedRoute<v1::MsgRedeemChannel, ProofParsed>{
          kTypeRedeem, &ValidateRedeem,
          [&k](const View& v, const ProofParsed& p) { return k.check_redeem(v.state, p, v.header.chain_id); },
          [&k](Context& c, const ProofParsed& p) { return k.redeem(c, p); }, &ProtoToJson, &NoSpend<ProofParsed>}),
      MakeRoute(TypedRoute<v1::MsgCloseChannel, ProofParsed>{
          kTypeClose, &ValidateClose,
          [&k](const View& v, const ProofParsed& p) { return k.check_close(v.state, p, v.header.chain_id); },
          [&k](Context& c, const ProofParsed& p) { return k.close(c, p); }, &ProtoToJson, &NoSpend<ProofParsed>}),
      MakeRoute(TypedRoute<v1::MsgSettleChannel, SettleParsed>{
          kTypeSettle, &ValidateSettle,
          [&k](const View& v, const SettleParsed& p) { return k.check_settle(v.state, p, v.header.height); },
          [&k](Context& c, const SettleParsed& p) { return k.settle(c, p); }, &ProtoToJson, &NoSpend<SettleParsed>}),
  };
}

}  // namespace depai::x::channel
