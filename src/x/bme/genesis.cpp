// x/bme genesis: params (overrides on top of the defaults, field by field, as x/verify's), the
// circuit breaker's window, and the totals. Export then import gives the same state.
#include "x/bme/module.h"
#include "x/types/codec.h"

namespace depai::x::bme {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "bme genesis: " + m); }

template <typename M>
Result<M> FromJson(const json& j, const std::string& what) {
  return ProtoFromJsonAs<M>(j, "bme genesis: " + what);
}

Result<Amount> AmountOrZero(const std::string& s, const std::string& what) {
  if (s.empty()) return Amount();
  auto a = Amount::Parse(s);
  if (!a.ok()) return GenesisErr(what + " '" + s + "' is not an amount");
  return *a;
}

}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) {  // overrides on top of the defaults, field by field
    DEPAI_TRY(MergeParamsJson(g["params"], &params, "bme genesis"));
  }
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(s, params);
  TotalsRec t;
  if (g.contains("totals")) {
    DEPAI_ASSIGN_OR_RETURN(auto pb, FromJson<depai::bme::v1::Totals>(g["totals"], "totals"));
    DEPAI_ASSIGN_OR_RETURN(t.burned, AmountOrZero(pb.burned(), "totals.burned"));
    DEPAI_ASSIGN_OR_RETURN(t.minted, AmountOrZero(pb.minted(), "totals.minted"));
    t.burns = pb.burns();
    keeper_.set_totals(s, t);
  }
  if (g.contains("window")) {
    DEPAI_ASSIGN_OR_RETURN(auto pb, FromJson<depai::bme::v1::Window>(g["window"], "window"));
    WindowRec w;
    if (pb.window() < 0) return GenesisErr("window.window must not be negative");
    w.window = pb.window();
    DEPAI_ASSIGN_OR_RETURN(w.burned, AmountOrZero(pb.burned(), "window.burned"));
    DEPAI_ASSIGN_OR_RETURN(w.prev_burned, AmountOrZero(pb.prev_burned(), "window.prev_burned"));
    keeper_.set_window(s, w);
  }
  if (auto st = keeper_.check_invariants(s); !st.ok()) return GenesisErr(st.error().message);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, keeper_.params(s));
  json out{{"params", MessageToJson(p.pb)}};
  DEPAI_ASSIGN_OR_RETURN(const WindowRec w, keeper_.window(s));
  if (w.window != 0 || !w.burned.is_zero() || !w.prev_burned.is_zero())
    out["window"] = {
        {"window", std::to_string(w.window)}, {"burned", w.burned.str()}, {"prev_burned", w.prev_burned.str()}};
  DEPAI_ASSIGN_OR_RETURN(const TotalsRec t, keeper_.totals(s));
  if (t.burns != 0 || !t.burned.is_zero() || !t.minted.is_zero())
    out["totals"] = {{"burned", t.burned.str()}, {"minted", t.minted.str()}, {"burns", std::to_string(t.burns)}};
  return out;
}

}  // namespace depai::x::bme
