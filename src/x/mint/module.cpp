// x/mint genesis (params overriding the defaults field by field, and the minter) and queries.
#include "x/mint/module.h"

#include "x/mint/keys.h"
#include "x/types/codec.h"

namespace depai::x::mint {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "mint genesis: " + m); }
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  Params params = DefaultParams();
  if (g.contains("params")) {  // overrides on top of the defaults, field by field
    DEPAI_TRY(MergeParamsJson(g["params"], &params, "mint genesis"));
  }
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(*ctx.store, params);
  if (g.contains("minter")) {
    Minter m;
    DEPAI_TRY(ProtoFromJson(g["minter"], &m, "mint genesis: minter"));
    auto minted = Amount::Parse(m.minted());
    if (!minted.ok()) return GenesisErr("minter.minted '" + m.minted() + "' is not an amount");
    if (!Amount::Parse(m.last_reward().empty() ? "0" : m.last_reward()).ok())
      return GenesisErr("minter.last_reward is not an amount");
    if (*minted > ParseParams(params)->max_emission) return GenesisErr("minter.minted exceeds max_emission");
    keeper_.set_minter(*ctx.store, m);
  }
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& state) const {
  DEPAI_ASSIGN_OR_RETURN(Params p, keeper_.params(state));
  json out{{"params", MessageToJson(p)}};
  if (state.get(keys::kMinter)) {  // a chain that never minted has no minter record
    DEPAI_ASSIGN_OR_RETURN(Minter m, keeper_.minter(state));
    out["minter"] = MessageToJson(m);
  }
  return out;
}

std::optional<Result<json>> Module::query(const store::KVReader& state, std::string_view path) const {
  if (path != "/mint/status") return std::nullopt;
  return [&]() -> Result<json> {
    DEPAI_ASSIGN_OR_RETURN(Params p, keeper_.params(state));
    DEPAI_ASSIGN_OR_RETURN(Minter m, keeper_.minter(state));
    DEPAI_ASSIGN_OR_RETURN(ParsedParams pp, ParseParams(p));
    DEPAI_ASSIGN_OR_RETURN(Amount minted, DecodeAmountField(m.minted(), "minter minted"));
    return json{{"params", MessageToJson(p)},
                {"minter", MessageToJson(m)},
                {"era", Era(pp, m.blocks(), minted)},
                {"next_reward", ScheduledReward(pp, m.blocks(), minted).str()},
                {"remaining", (minted < pp.max_emission ? pp.max_emission.sub(minted).value() : Amount()).str()}};
  }();
}

}  // namespace depai::x::mint
