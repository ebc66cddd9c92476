// x/oracle genesis: params (overrides on the defaults, field by field), the last price, the
// validator set and CometBFT's vote_extensions_enable_height. Export, then import,
// gives the same state.
#include "crypto/hash.h"
#include "x/oracle/keys.h"
#include "x/oracle/module.h"
#include "x/types/codec.h"

namespace depai::x::oracle {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "oracle genesis: " + m); }

Result<int64_t> I64(const json& g, const char* key) {
  if (!g.contains(key)) return int64_t{0};
  const auto& v = g[key];
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (!s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos)
      return static_cast<int64_t>(std::stoll(s));
  }
  return GenesisErr(std::string(key) + " must be a non-negative decimal integer");
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) {  // overrides on top of the defaults, field by field
    DEPAI_TRY(MergeParamsJson(g["params"], &params, "oracle genesis"));
  }
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(s, params);
  if (g.contains("price") && !g["price"].is_null()) {
    PriceState p;
    if (auto st = ProtoFromJson(g["price"], &p, "oracle genesis: price"); !st.ok()) return st;
    if (p.price_e9() == 0 || p.price_e9() > params.max_price_e9() || p.ema_e9() > params.max_price_e9())
      return GenesisErr("price is outside [1, max_price_e9]");
    keeper_.set_price(s, p);
  }
  if (g.contains("validators")) {
    if (!g["validators"].is_array()) return GenesisErr("validators must be an array");
    std::vector<std::pair<Bytes, int64_t>> vals;
    for (const auto& v : g["validators"]) {
      if (!v.is_object() || !v.contains("pub_key") || !v["pub_key"].is_string())
        return GenesisErr("a validator needs a base64 pub_key");
      auto pk = crypto::Base64Decode(v["pub_key"].get<std::string>());
      if (!pk) return GenesisErr("a validator's pub_key is not base64");
      DEPAI_ASSIGN_OR_RETURN(int64_t power, I64(v, "power"));
      vals.emplace_back(*pk, power);
    }
    if (auto st = keeper_.set_validators(s, vals); !st.ok()) return GenesisErr(st.error().message);
  }
  DEPAI_ASSIGN_OR_RETURN(int64_t ve, I64(g, "vote_extensions_enable_height"));
  keeper_.set_ve_enable_height(s, ve);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(auto params, keeper_.params(s));
  json g{{"params", MessageToJson(params)}};
  DEPAI_ASSIGN_OR_RETURN(auto price, keeper_.price(s));
  if (price) g["price"] = MessageToJson(*price);
  json vals = json::array();
  DEPAI_TRY(keeper_.for_each_validator(s, [&](const Validator& v) {
    vals.push_back({{"pub_key", crypto::Base64Encode(v.pub_key())}, {"power", std::to_string(v.power())}});
    return true;
  }));
  g["validators"] = vals;
  DEPAI_ASSIGN_OR_RETURN(int64_t ve, keeper_.ve_enable_height(s));
  g["vote_extensions_enable_height"] = std::to_string(ve);
  return g;
}

}  // namespace depai::x::oracle
