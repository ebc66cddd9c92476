// x/oracle queries: /oracle/price (price_info at the last committed block's height and time, from
// the App's clock),
// /oracle/params, /oracle/validators.
#include "crypto/hash.h"
#include "x/oracle/module.h"

namespace depai::x::oracle {

using nlohmann::json;

json PriceInfoJson(const x::PriceInfo& p) {
  return json{{"available", p.available},
              {"reason", p.reason},
              {"price", FormatUsdE9(p.price_e9)},
              {"ema", FormatUsdE9(p.ema_e9)},
              {"conf", FormatUsdE9(p.conf_e9)},
              {"conservative", FormatUsdE9(p.conservative_e9())},
              {"price_e9", std::to_string(p.price_e9)},
              {"ema_e9", std::to_string(p.ema_e9)},
              {"conf_e9", std::to_string(p.conf_e9)},
              {"conservative_e9", std::to_string(p.conservative_e9())},
              {"height", std::to_string(p.height)},
              {"time_ms", std::to_string(p.time_ms)},
              {"reports", p.reports}};
}

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view full) const {
  if (full.substr(0, 8) != "/oracle/") return std::nullopt;
  auto run = [&]() -> Result<json> {
    const std::string_view path = full.substr(0, full.find('?'));
    if (path == "/oracle/price") {
      DEPAI_ASSIGN_OR_RETURN(auto rec, keeper_.price(s));
      // At the last committed block (or, without a clock, at the round's own block).
      std::pair<int64_t, int64_t> at = clock_ ? clock_() : std::pair<int64_t, int64_t>{0, 0};
      if (!clock_ && rec) at = {rec->height(), rec->time_ms()};
      DEPAI_ASSIGN_OR_RETURN(auto info, keeper_.price_info(s, at.first, at.second));
      json j = PriceInfoJson(info);
      j["source"] = !rec                                                         ? "none"
                    : rec->source() == depai::oracle::v1::SOURCE_VOTE_EXTENSIONS ? "vote_extensions"
                                                                                 : "feeders";
      j["power_bps"] = rec ? rec->power_bps() : 0;
      j["at_height"] = std::to_string(at.first);
      j["at_time_ms"] = std::to_string(at.second);
      return j;
    }
    if (path == "/oracle/params") {
      DEPAI_ASSIGN_OR_RETURN(auto p, keeper_.params(s));
      return MessageToJson(p);
    }
    if (path == "/oracle/validators") {
      json list = json::array();
      DEPAI_TRY(keeper_.for_each_validator(s, [&](const Validator& v) {
        list.push_back({{"address", HexEncode(v.address(), true)},
                        {"pub_key", crypto::Base64Encode(v.pub_key())},
                        {"power", std::to_string(v.power())}});
        return true;
      }));
      DEPAI_ASSIGN_OR_RETURN(int64_t e, keeper_.ve_enable_height(s));
      return json{{"validators", list}, {"vote_extensions_enable_height", std::to_string(e)}};
    }
    return RootErr(kErrUnknownRequest, "unknown query path: " + std::string(full));
  };
  return std::optional<Result<json>>(run());
}

}  // namespace depai::x::oracle
