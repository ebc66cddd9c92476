// x/bank genesis: denom metadata, balances and supply (import checks the supply invariant).
#include <map>

#include "crypto/bech32.h"
#include "x/bank/module.h"

namespace depai::x::bank {

using nlohmann::json;

namespace {
Error genesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "bank genesis: " + m); }

Result<Coins> CoinsFromJson(const json& j) {
  if (!j.is_array()) return RootErr(kErrInvalidCoins, "coins must be an array");
  std::vector<Coin> v;
  for (const auto& c : j) {
    if (!c.is_object() || !c.contains("denom") || !c.contains("amount") || !c["denom"].is_string())
      return RootErr(kErrInvalidCoins, "coin needs denom and amount");
    std::string amt = c["amount"].is_string()            ? c["amount"].get<std::string>()
                      : c["amount"].is_number_unsigned() ? std::to_string(c["amount"].get<uint64_t>())
                                                         : std::string("?");
    auto a = Amount::Parse(amt);
    if (!a.ok()) return a.error();
    v.push_back(Coin{c["denom"].get<std::string>(), a.value()});
  }
  auto coins = Coins::From(std::move(v));
  if (!coins.ok()) return RootErr(kErrInvalidCoins, coins.error().message);
  return coins;
}

}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return genesisErr("must be an object");
  if (!g.contains("denom_metadata") || !g["denom_metadata"].is_array() || g["denom_metadata"].empty())
    return genesisErr("denom_metadata must list at least one denom");
  for (const auto& jm : g["denom_metadata"]) {
    if (!jm.is_object() || !jm.contains("denom") || !jm["denom"].is_string())
      return genesisErr("denom metadata needs a denom");
    DenomMetadata m;
    m.set_denom(jm["denom"].get<std::string>());
    if (!ValidDenom(m.denom())) return genesisErr("invalid denom '" + m.denom() + "'");
    m.set_display(jm.value("display", m.denom()));
    m.set_exponent(jm.value("exponent", 0u));
    m.set_transferable(jm.value("transferable", true));
    std::string max = jm.contains("max_supply") ? (jm["max_supply"].is_string() ? jm["max_supply"].get<std::string>()
                                                                                : jm["max_supply"].dump())
                                                : std::to_string(Amount::kMax);
    auto a = Amount::Parse(max);
    if (!a.ok()) return genesisErr("max_supply of " + m.denom() + ": " + a.error().message);
    m.set_max_supply(a->str());
    DEPAI_ASSIGN_OR_RETURN(auto existing, keeper_.denom(*ctx.store, m.denom()));
    if (existing) return genesisErr("duplicate denom " + m.denom());
    keeper_.set_denom(*ctx.store, m);
  }
  std::map<std::string, Amount> sums;
  if (g.contains("balances")) {
    if (!g["balances"].is_array()) return genesisErr("balances must be an array");
    for (const auto& jb : g["balances"]) {
      if (!jb.is_object() || !jb.contains("address") || !jb["address"].is_string() || !jb.contains("coins"))
        return genesisErr("balance needs address and coins");
      auto addr = crypto::AddressFromBech32(jb["address"].get<std::string>());
      if (!addr.ok()) return genesisErr(addr.error().message);
      auto coins = CoinsFromJson(jb["coins"]);
      if (!coins.ok()) return genesisErr(coins.error().message);
      DEPAI_ASSIGN_OR_RETURN(auto existing, keeper_.balances(*ctx.store, *addr));
      if (!existing.empty()) return genesisErr("duplicate balance for " + jb["address"].get<std::string>());
      DEPAI_TRY(keeper_.ensure_account(*ctx.store, *addr));
      for (const auto& c : coins->list()) {
        DEPAI_ASSIGN_OR_RETURN(auto meta, keeper_.denom(*ctx.store, c.denom));
        if (!meta) return genesisErr("balance in unknown denom " + c.denom);
        auto s = sums[c.denom].add(c.amount);
        if (!s.ok()) return genesisErr("supply of " + c.denom + " overflows");
        sums[c.denom] = s.value();
        keeper_.set_balance(*ctx.store, *addr, c.denom, c.amount);
      }
    }
  }
  for (const auto& [d, s] : sums) keeper_.set_supply(*ctx.store, d, s);
  // Cumulative mint and burn carried over from an export; base = supply - minted + burned.
  std::map<std::string, std::pair<Amount, Amount>> counters;
  if (g.contains("mint_burn")) {
    if (!g["mint_burn"].is_array()) return genesisErr("mint_burn must be an array");
    for (const auto& jc : g["mint_burn"]) {
      if (!jc.is_object() || !jc.contains("denom") || !jc["denom"].is_string())
        return genesisErr("mint_burn entry needs a denom");
      const auto d = jc["denom"].get<std::string>();
      DEPAI_ASSIGN_OR_RETURN(auto meta, keeper_.denom(*ctx.store, d));
      if (!meta) return genesisErr("mint_burn for unknown denom " + d);
      if (counters.count(d)) return genesisErr("duplicate mint_burn for " + d);
      auto m = Amount::Parse(jc.value("minted", std::string("0")));
      auto b = Amount::Parse(jc.value("burned", std::string("0")));
      if (!m.ok() || !b.ok()) return genesisErr("mint_burn amounts of " + d + " must be decimal strings");
      counters[d] = {m.value(), b.value()};
    }
  }
  DEPAI_ASSIGN_OR_RETURN(auto all_denoms, keeper_.denoms(*ctx.store));
  for (const auto& m : all_denoms) {
    auto it = counters.find(m.denom());
    const Amount minted = it == counters.end() ? Amount() : it->second.first;
    const Amount burned = it == counters.end() ? Amount() : it->second.second;
    DEPAI_ASSIGN_OR_RETURN(Amount supply, keeper_.supply(*ctx.store, m.denom()));
    auto plus = supply.add(burned);
    if (!plus.ok()) return genesisErr("supply + burned of " + m.denom() + " overflows");
    auto base = plus->sub(minted);
    if (!base.ok()) return genesisErr("minted total of " + m.denom() + " exceeds supply + burned");
    keeper_.set_mint_burn(*ctx.store, m.denom(), base.value(), minted, burned);
  }
  if (g.contains("supply")) {
    auto want = CoinsFromJson(g["supply"]);
    if (!want.ok()) return genesisErr("supply: " + want.error().message);
    DEPAI_ASSIGN_OR_RETURN(Coins have, keeper_.total_supply(*ctx.store));
    if (!(want.value() == have))
      return genesisErr("declared supply " + want->str() + " does not equal the sum of balances " + have.str());
  }
  auto inv = keeper_.check_supply_full(*ctx.store);
  if (!inv.ok()) return genesisErr(inv.error().message);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& state) const {
  json metas = json::array();
  DEPAI_ASSIGN_OR_RETURN(auto denoms, keeper_.denoms(state));
  for (const auto& m : denoms)
    metas.push_back(json{{"denom", m.denom()},
                         {"display", m.display()},
                         {"exponent", m.exponent()},
                         {"transferable", m.transferable()},
                         {"max_supply", m.max_supply()}});
  // Balances grouped by address, in address order.
  json bals = json::array();
  std::string cur;
  std::vector<Coin> coins;
  auto flush = [&] {
    if (cur.empty()) return;
    auto c = Coins::From(coins);
    bals.push_back(json{{"address", crypto::AddressToBech32(cur)}, {"coins", CoinsToJson(c.ok() ? *c : Coins())}});
    coins.clear();
  };
  DEPAI_TRY(keeper_.for_each_balance(state, [&](std::string_view addr, std::string_view denom, Amount a) {
    if (addr != cur) {
      flush();
      cur = std::string(addr);
    }
    coins.push_back(Coin{std::string(denom), a});
    return true;
  }));
  flush();
  DEPAI_ASSIGN_OR_RETURN(Coins supply, keeper_.total_supply(state));
  json mint_burn = json::array();
  for (const auto& m : denoms) {
    DEPAI_ASSIGN_OR_RETURN(Amount minted, keeper_.minted_total(state, m.denom()));
    DEPAI_ASSIGN_OR_RETURN(Amount burned, keeper_.burned_total(state, m.denom()));
    if (minted.is_zero() && burned.is_zero()) continue;
    mint_burn.push_back(json{{"denom", m.denom()}, {"minted", minted.str()}, {"burned", burned.str()}});
  }
  json out{{"denom_metadata", metas}, {"balances", bals}, {"supply", CoinsToJson(supply)}};
  if (!mint_burn.empty()) out["mint_burn"] = mint_burn;
  return out;
}

}  // namespace depai::x::bank
