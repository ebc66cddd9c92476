// x/auth genesis: params and accounts (import checks addresses, keys and numbers).
#include "x/auth/module.h"

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "util/amount.h"

namespace depai::x::auth {

using nlohmann::json;

namespace {
Error genesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "auth genesis: " + m); }

Result<uint64_t> U64Field(const json& j, const char* key, uint64_t dflt) {
  if (!j.contains(key)) return dflt;
  const auto& v = j.at(key);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    auto a = depai::Amount::Parse(v.get<std::string>());
    if (a.ok()) return a->raw();
  }
  return genesisErr(std::string("field '") + key + "' must be a non-negative integer");
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return genesisErr("must be an object");
  Params p = DefaultParams();
  if (g.contains("params")) {
    const auto& jp = g.at("params");
    if (!jp.is_object()) return genesisErr("params must be an object");
    DEPAI_ASSIGN_OR_RETURN(auto memo, U64Field(jp, "max_memo_characters", p.max_memo_characters()));
    DEPAI_ASSIGN_OR_RETURN(auto size, U64Field(jp, "tx_size_limit", p.tx_size_limit()));
    DEPAI_ASSIGN_OR_RETURN(auto gas, U64Field(jp, "max_gas_per_tx", p.max_gas_per_tx()));
    DEPAI_ASSIGN_OR_RETURN(auto sig, U64Field(jp, "sig_verify_cost", p.sig_verify_cost()));
    DEPAI_ASSIGN_OR_RETURN(auto perb, U64Field(jp, "tx_size_cost_per_byte", p.tx_size_cost_per_byte()));
    DEPAI_ASSIGN_OR_RETURN(auto mgp, U64Field(jp, "min_gas_price_micro", p.min_gas_price_micro()));
    p.set_max_memo_characters(memo);
    p.set_tx_size_limit(size);
    p.set_max_gas_per_tx(gas);
    p.set_sig_verify_cost(sig);
    p.set_tx_size_cost_per_byte(perb);
    p.set_min_gas_price_micro(mgp);
    if (jp.contains("fee_denom")) {
      if (!jp["fee_denom"].is_string() || !depai::ValidDenom(jp["fee_denom"].get<std::string>()))
        return genesisErr("bad fee_denom");
      p.set_fee_denom(jp["fee_denom"].get<std::string>());
    }
    if (p.tx_size_limit() == 0 || p.max_gas_per_tx() == 0)
      return genesisErr("tx_size_limit and max_gas_per_tx must be > 0");
  }
  keeper_.set_params(*ctx.store, p);
  uint64_t next = 0;
  if (g.contains("accounts")) {
    if (!g["accounts"].is_array()) return genesisErr("accounts must be an array");
    std::vector<Account> accs;
    for (const auto& ja : g["accounts"]) {
      if (!ja.is_object() || !ja.contains("address") || !ja["address"].is_string())
        return genesisErr("account needs an address");
      auto addr = crypto::AddressFromBech32(ja["address"].get<std::string>());
      if (!addr.ok()) return genesisErr(addr.error().message);
      DEPAI_ASSIGN_OR_RETURN(auto existing, keeper_.get_account(*ctx.store, *addr));
      if (existing) return genesisErr("duplicate account " + ja["address"].get<std::string>());
      Account a;
      a.set_address(*addr);
      if (ja.contains("pub_key") && ja["pub_key"].is_string()) {
        auto pk = crypto::Base64Decode(ja["pub_key"].get<std::string>());
        if (!pk || pk->size() != 32) return genesisErr("bad pub_key for " + ja["address"].get<std::string>());
        a.set_pub_key(*pk);
      }
      DEPAI_ASSIGN_OR_RETURN(auto num, U64Field(ja, "account_number", next));
      DEPAI_ASSIGN_OR_RETURN(auto seq, U64Field(ja, "sequence", 0));
      a.set_account_number(num);
      a.set_sequence(seq);
      next = std::max(next, num + 1);
      keeper_.set_account(*ctx.store, a);
    }
  }
  keeper_.set_next_account_number(*ctx.store, next);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& state) const {
  json accs = json::array();
  DEPAI_TRY(keeper_.for_each_account(state, [&](const Account& a) {
    accs.push_back(AccountToJson(a));
    return true;
  }));
  DEPAI_ASSIGN_OR_RETURN(auto params, keeper_.params(state));
  return json{{"params", ParamsToJson(params)}, {"accounts", accs}};
}

}  // namespace depai::x::auth
