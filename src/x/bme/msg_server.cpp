// x/bme messages on the skeleton (x/types/module.h): MsgBurnForCredits. validate parses the owner
// and the udpai amount once; check and apply call the keeper. Nothing else lives here.
#include "x/bme/module.h"
#include "x/types/codec.h"
#include "x/types/price.h"

namespace depai::x::bme {

using depai::bme::v1::MsgBurnForCredits;

namespace {
Result<BurnParsed> ValidateBurn(const MsgBurnForCredits& m) {
  BurnParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  auto a = Amount::Parse(m.amount());
  if (!a.ok()) return BmeErr(kErrInvalidAmount, "amount '" + m.amount() + "': " + a.error().message);
  if (a->is_zero()) return BmeErr(kErrInvalidAmount, "amount must be positive");
  p.amount = *a;
  return p;
}
}  // namespace

std::vector<MsgRoute> Module::routes() {
  return {
      MakeRoute(TypedRoute<MsgBurnForCredits, BurnParsed>{
          kTypeBurnForCredits, &ValidateBurn,
          [this](const View& v, const BurnParsed& p) {
            return keeper_.check_burn(v.state, p, v.header.height, v.header.time_unix_ms);
          },
          [this](Context& ctx, const BurnParsed& p) { return keeper_.burn_for_credits(ctx, p).status(); },
          &MessageToJson,
          [](const BurnParsed& p) {
            MsgSpend s;
            s.outflow = Coins::From({Coin{kNativeDenom, p.amount}}).value();
            return s;
          }}),
  };
}

}  // namespace depai::x::bme
