// x/bme genesis: params (overrides on top of the defaults, field by field, as x/verify's), the
// circuit breaker's window, the totals and the clock. Export then import gives the same state.
#include "x/bme/module.h"
#include "x/types/codec.h"

namespace depai::x::bme {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "bme genesis: " + m); }

template <typename M>
Result<M> FromJson(const json& j, const std::string& what) {
  M m;
  if (auto st = ProtoFromJson(j, &m, "bme genesis: " + what); !st.ok()) return st.error();
  return m;
}

Result<Amount> AmountOrZero(const std::string& s, const std::string& what) {
  if (s.empty()) return Amount();
  auto a = Amount::Parse(s);
  if (!a.ok()) return GenesisErr(what + " '" + s + "' is not an amount");
  return *a;
}

Result<int64_t> I64(const json& g, const char* key) {
  if (!g.contains(key)) return int64_t{0};
  const auto& v = g[key];
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (!s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos) return std::stoll(s);
  }
  return GenesisErr(std::string(key) + " must be a non-negative decimal integer");
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) {
    if (!g["params"].is_object()) return GenesisErr("params must be an object");
    json merged = MessageToJson(params);
    for (const auto& [k, v] : g["params"].items()) merged[k] = v;
    DEPAI_ASSIGN_OR_RETURN(params, FromJson<Params>(merged, "params"));
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
  if (g.contains("clock")) {
    if (!g["clock"].is_object()) return GenesisErr("clock must be an object");
    Clock c;
    DEPAI_ASSIGN_OR_RETURN(c.height, I64(g["clock"], "height"));
    DEPAI_ASSIGN_OR_RETURN(c.time_ms, I64(g["clock"], "time_ms"));
    keeper_.set_clock(s, c);
  }
  if (auto st = keeper_.check_invariants(s); !st.ok()) return GenesisErr(st.error().message);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, keeper_.params(s));
  json out{{"params", MessageToJson(p.pb)}};
  DEPAI_ASSIGN_OR_RETURN(const WindowRec w, keeper_.window(s));
  if (w.window != 0 || !w.burned.is_zero() || !w.prev_burned.is_zero())
    out["window"] = {{"window", std::to_string(w.window)}, {"burned", w.burned.str()}, {"prev_burned", w.prev_burned.str()}};
  DEPAI_ASSIGN_OR_RETURN(const TotalsRec t, keeper_.totals(s));
  if (t.burns != 0 || !t.burned.is_zero() || !t.minted.is_zero())
    out["totals"] = {{"burned", t.burned.str()}, {"minted", t.minted.str()}, {"burns", std::to_string(t.burns)}};
  DEPAI_ASSIGN_OR_RETURN(const Clock c, keeper_.clock(s));
  if (c.height != 0 || c.time_ms != 0)
    out["clock"] = {{"height", std::to_string(c.height)}, {"time_ms", std::to_string(c.time_ms)}};
  return out;
}

}  // namespace depai::x::bme
