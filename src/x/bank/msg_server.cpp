// x/bank messages on the skeleton (x/types/module.h): MsgSend and MsgMultiSend.
// validate parses addresses and amounts once into the Parsed structs; check and apply call the
// keeper. Nothing else lives here.
#include "x/bank/module.h"

namespace depai::x::bank {

using depai::bank::v1::MsgMultiSend;
using depai::bank::v1::MsgSend;

namespace {
// Stateless validation of an amount list from a message.
template <typename RC>
Result<Coins> ValidAmount(const RC& rc) {
  auto c = CoinsFromProto(rc);
  if (!c.ok()) {
    if (c.error().code == depai::kErrOverflow) return RootErr(x::kErrOverflow, c.error().message);
    return RootErr(kErrInvalidCoins, c.error().message);
  }
  if (c->empty()) return RootErr(kErrInvalidCoins, "amount must be positive");
  if (static_cast<size_t>(rc.size()) != c->list().size())
    return RootErr(kErrInvalidCoins, "zero amounts are not allowed");
  return c;
}

Result<SendParsed> ValidateSend(const MsgSend& m) {
  SendParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.from_address(), "from_address"));
  DEPAI_ASSIGN_OR_RETURN(p.to, ParseAddress(m.to_address(), "to_address"));
  DEPAI_ASSIGN_OR_RETURN(p.amount, ValidAmount(m.amount()));
  return p;
}

Result<MultiSendParsed> ValidateMultiSend(const MsgMultiSend& m) {
  MultiSendParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.from_address(), "from_address"));
  if (m.outputs().empty()) return BankErr(kErrNoOutputs, "multi-send needs at least one output");
  if (static_cast<size_t>(m.outputs().size()) > kMaxOutputs)
    return BankErr(kErrTooManyOutputs, "multi-send has more than " + std::to_string(kMaxOutputs) + " outputs");
  for (const auto& o : m.outputs()) {
    Output out;
    DEPAI_ASSIGN_OR_RETURN(out.to, ParseAddress(o.address(), "outputs.address"));
    DEPAI_ASSIGN_OR_RETURN(out.coins, ValidAmount(o.coins()));
    auto t = p.total.add(out.coins);
    if (!t.ok()) return RootErr(kErrOverflow, "multi-send total overflows");
    p.total = std::move(t).value();
    p.outputs.push_back(std::move(out));
  }
  return p;
}

nlohmann::json SendJson(const google::protobuf::Message& pm) {
  const auto& m = static_cast<const MsgSend&>(pm);
  auto amount = CoinsFromProto(m.amount());
  return nlohmann::json{{"from_address", m.from_address()},
                        {"to_address", m.to_address()},
                        {"amount", amount.ok() ? CoinsToJson(*amount) : nlohmann::json::array()}};
}

nlohmann::json MultiSendJson(const google::protobuf::Message& pm) {
  const auto& m = static_cast<const MsgMultiSend&>(pm);
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& o : m.outputs()) {
    auto c = CoinsFromProto(o.coins());
    outs.push_back({{"address", o.address()}, {"coins", c.ok() ? CoinsToJson(*c) : nlohmann::json::array()}});
  }
  return nlohmann::json{{"from_address", m.from_address()}, {"outputs", outs}};
}
}  // namespace

std::vector<MsgRoute> Module::routes() {
  return {
      MakeRoute(TypedRoute<MsgSend, SendParsed>{
          kTypeSend, &ValidateSend,
          [this](const View& v, const SendParsed& p) { return keeper_.check_send(v.state, p); },
          [this](Context& ctx, const SendParsed& p) { return keeper_.send(ctx, p.signer, p.to, p.amount, true); },
          &SendJson,
          [](const SendParsed& p) {
            MsgSpend s;
            s.outflow = p.amount;
            s.counterparties.push_back(p.to);
            return s;
          }}),
      MakeRoute(TypedRoute<MsgMultiSend, MultiSendParsed>{
          kTypeMultiSend, &ValidateMultiSend,
          [this](const View& v, const MultiSendParsed& p) { return keeper_.check_multi_send(v.state, p); },
          [this](Context& ctx, const MultiSendParsed& p) { return keeper_.multi_send(ctx, p); }, &MultiSendJson,
          [](const MultiSendParsed& p) {
            MsgSpend s;
            s.outflow = p.total;
            for (const auto& o : p.outputs) s.counterparties.push_back(o.to);
            return s;
          }}),
  };
}

}  // namespace depai::x::bank
