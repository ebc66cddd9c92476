// x/wallet queries (JSON; i64/u64 as decimal strings, keys as hex):
//   /wallet/params
//   /wallet/wallets/<bech32>  the wallet, its balances, its session keys and, for the wallet and
//                             each key, the period the next block is in and what was spent in it
//   /wallet/owners/<bech32>   the owner's wallets
#include <functional>

#include "crypto/bech32.h"
#include "x/types/codec.h"
#include "x/wallet/module.h"

namespace depai::x::wallet {

using nlohmann::json;

namespace {
json PeriodJson(const PeriodView& pv, const Coins& budgets) {
  json remaining = json::object();
  for (const auto& c : budgets.list()) {
    const Amount spent = pv.spent.amount_of(c.denom);
    remaining[c.denom] = spent >= c.amount ? "0" : c.amount.sub(spent).value().str();
  }
  return json{{"period", std::to_string(pv.period)},
              {"start_height", std::to_string(pv.start_height)},
              {"end_height", std::to_string(pv.end_height)},
              {"spent", pv.spent.str()},
              {"remaining", remaining}};
}
}  // namespace

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view path) const {
  if (path.substr(0, 8) != "/wallet/") return std::nullopt;
  auto run = [&]() -> Result<json> {
    DEPAI_ASSIGN_OR_RETURN(const Params params, keeper_.params(s));
    if (path == "/wallet/params") return MessageToJson(params);
    // The height the next block will have: the last committed one + 1 is what CheckTx uses, and
    // the App passes it as the query height (s is the committed state).
    const int64_t next = next_height_ ? next_height_() : 0;
    if (path.substr(0, 16) == "/wallet/wallets/") {
      const std::string addr_s(path.substr(16));
      DEPAI_ASSIGN_OR_RETURN(const Bytes a, ParseAddress(addr_s, "wallet"));
      DEPAI_ASSIGN_OR_RETURN(auto w, keeper_.wallet(s, a));
      if (!w) return WalletErr(kErrUnknownWallet, "no agent wallet " + addr_s);
      json out = MessageToJson(*w);
      DEPAI_ASSIGN_OR_RETURN(const PeriodView wpv, keeper_.wallet_period(s, *w, next));
      DEPAI_ASSIGN_OR_RETURN(const PolicyRec wp, ParsePolicy(w->policy(), params, "policy"));
      out["current"] = PeriodJson(wpv, wp.budgets);
      out["height"] = std::to_string(next);
      json keys_j = json::array();
      Status st = keeper_.for_each_key(s, a, [&](const SessionKey& k) {
        json kj = MessageToJson(k);
        kj["pub_key"] = HexEncode(k.pub_key());
        auto kpv = keeper_.key_period(s, a, k, next);
        auto kp = ParsePolicy(k.policy(), params, "session key policy");
        if (kpv.ok() && kp.ok()) kj["current"] = PeriodJson(kpv.value(), kp->budgets);
        keys_j.push_back(std::move(kj));
        return true;
      });
      DEPAI_TRY(st);
      out["session_keys"] = std::move(keys_j);
      return out;
    }
    if (path.substr(0, 15) == "/wallet/owners/") {
      const std::string owner_s(path.substr(15));
      DEPAI_ASSIGN_OR_RETURN(const Bytes o, ParseAddress(owner_s, "owner"));
      json list = json::array();
      DEPAI_TRY(keeper_.for_each_wallet_of(s, o, [&](const Wallet& w) {
        list.push_back(MessageToJson(w));
        return true;
      }));
      return json{{"owner", owner_s}, {"wallets", list}};
    }
    return RootErr(kErrUnknownRequest, "unknown query path: " + std::string(path));
  };
  return run();
}

}  // namespace depai::x::wallet
