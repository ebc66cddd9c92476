// x/oracle messages on the skeleton (x/types/module.h): MsgPostPrice. validate parses the feeder
// and refuses a zero price; check and apply call the keeper.
#include "crypto/bech32.h"
#include "x/oracle/module.h"

namespace depai::x::oracle {

using depai::oracle::v1::MsgPostPrice;

namespace {
Result<PostPriceParsed> ValidatePostPrice(const MsgPostPrice& m) {
  PostPriceParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.feeder(), "feeder"));
  if (m.price_e9() == 0) return OracleErr(kErrInvalidPrice, "price_e9 must be positive");
  p.price_e9 = m.price_e9();
  return p;
}

nlohmann::json PostPriceJson(const google::protobuf::Message& pm) {
  const auto& m = static_cast<const MsgPostPrice&>(pm);
  return nlohmann::json{
      {"feeder", m.feeder()}, {"price_e9", std::to_string(m.price_e9())}, {"price", FormatUsdE9(m.price_e9())}};
}
}  // namespace

std::vector<MsgRoute> Module::routes() {
  return {MakeRoute(TypedRoute<MsgPostPrice, PostPriceParsed>{
      kTypePostPrice, &ValidatePostPrice,
      [this](const View& v, const PostPriceParsed& p) { return keeper_.check_post_price(v.state, p); },
      [this](Context& ctx, const PostPriceParsed& p) { return keeper_.post_price(ctx, p); }, &PostPriceJson})};
}

}  // namespace depai::x::oracle
