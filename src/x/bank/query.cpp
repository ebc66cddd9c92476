// x/bank queries: /bank/supply, /bank/denoms, /bank/balances/<addr>.
#include "crypto/bech32.h"
#include "x/bank/module.h"

namespace depai::x::bank {

using nlohmann::json;

json CoinsToJson(const Coins& c) {
  json a = json::array();
  for (const auto& coin : c.list()) a.push_back(json{{"denom", coin.denom}, {"amount", coin.amount.str()}});
  return a;
}

std::optional<Result<json>> Module::query(const store::KVReader& state, std::string_view path) const {
  constexpr std::string_view kBal = "/bank/balances/";
  if (path == "/bank/supply") {
    auto s = keeper_.total_supply(state);
    if (!s.ok()) return Result<json>(s.error());
    return Result<json>(json{{"supply", CoinsToJson(*s)}});
  }
  if (path == "/bank/denoms") {
    auto g = export_genesis(state);
    if (!g.ok()) return g;
    return Result<json>((*g)["denom_metadata"]);
  }
  if (path.substr(0, kBal.size()) != kBal) return std::nullopt;
  auto addr = crypto::AddressFromBech32(path.substr(kBal.size()));
  if (!addr.ok()) return Result<json>(RootErr(kErrInvalidAddress, addr.error().message));
  auto b = keeper_.balances(state, *addr);
  if (!b.ok()) return Result<json>(b.error());
  return Result<json>(json{{"address", std::string(path.substr(kBal.size()))}, {"balances", CoinsToJson(*b)}});
}

}  // namespace depai::x::bank
