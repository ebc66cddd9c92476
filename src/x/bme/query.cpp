// x/bme queries (JSON; u64/i64 as decimal strings):
//   /bme/params  the parameters
//   /bme/status  params, the circuit breaker's window as the next block would see it, the price
//                the next burn would use (read at the last committed block's height + 1 and its time), totals
#include "x/bme/module.h"
#include "x/types/codec.h"

namespace depai::x::bme {

using nlohmann::json;

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view path) const {
  if (path.substr(0, 5) != "/bme/") return std::nullopt;
  auto run = [&]() -> Result<json> {
    DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, keeper_.params(s));
    if (path == "/bme/params") return MessageToJson(p.pb);
    if (path != "/bme/status") return RootErr(kErrUnknownRequest, "unknown query path: " + std::string(path));
    const Clock c = keeper_.last_block();
    const int64_t next = c.height + 1;
    DEPAI_ASSIGN_OR_RETURN(const WindowView w, keeper_.window_at(s, next));
    DEPAI_ASSIGN_OR_RETURN(const PriceInfo pi, keeper_.price_info(s, next, c.time_ms));
    DEPAI_ASSIGN_OR_RETURN(const TotalsRec t, keeper_.totals(s));
    // What would a burn be refused for right now, if anything (the cap aside)?
    std::string halt;
    if (!pi.available) {
      halt = "price unavailable: " + (pi.reason.empty() ? std::string("no price") : pi.reason);
    } else {
      auto q = keeper_.quote(s, next, c.time_ms, Amount::Of(1'000'000'000).value());
      if (!q.ok() && q.error().code != kErrCircuitBreaker && q.error().code != kErrCreditOverflow)
        halt = q.error().message;
    }
    const uint64_t cons = pi.conservative_e9();
    return json{
        {"params", MessageToJson(p.pb)},
        {"height", std::to_string(next)},
        {"time_ms", std::to_string(c.time_ms)},
        {"window",
         {{"window", std::to_string(w.window)},
          {"start_height", std::to_string(w.window * p.pb.window_blocks())},
          {"burned", w.current.str()},
          {"prev_burned", w.previous.str()},
          {"counted", w.counted.str()},
          {"remaining", w.remaining.str()},
          {"cap", p.window_cap.str()}}},
        {"price",
         {{"available", pi.available},
          {"reason", pi.reason},
          {"price", UsdDecimal(pi.price_e9)},
          {"ema", UsdDecimal(pi.ema_e9)},
          {"conf", UsdDecimal(pi.conf_e9)},
          {"conservative", UsdDecimal(cons)},
          {"price_e9", std::to_string(pi.price_e9)},
          {"ema_e9", std::to_string(pi.ema_e9)},
          {"conf_e9", std::to_string(pi.conf_e9)},
          {"conservative_e9", std::to_string(cons)},
          {"price_height", std::to_string(pi.height)},
          {"price_time_ms", std::to_string(pi.time_ms)},
          {"reports", pi.reports}}},
        {"minting", halt.empty()},
        {"halt_reason", halt},
        {"totals", {{"burned", t.burned.str()}, {"minted", t.minted.str()}, {"burns", std::to_string(t.burns)}}}};
  };
  return run();
}

}  // namespace depai::x::bme
