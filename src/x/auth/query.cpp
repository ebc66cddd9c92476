// x/auth queries: /auth/params, /auth/account/<addr>; JSON forms of params and accounts.
#include "x/auth/module.h"

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "util/amount.h"

namespace depai::x::auth {

using nlohmann::json;

json ParamsToJson(const Params& p) {
  return json{{"max_memo_characters", p.max_memo_characters()},
              {"tx_size_limit", p.tx_size_limit()},
              {"max_gas_per_tx", p.max_gas_per_tx()},
              {"sig_verify_cost", p.sig_verify_cost()},
              {"tx_size_cost_per_byte", p.tx_size_cost_per_byte()},
              {"min_gas_price_micro", p.min_gas_price_micro()},
              {"fee_denom", p.fee_denom()}};
}

json AccountToJson(const Account& a) {
  return json{{"address", crypto::AddressToBech32(a.address())},
              {"pub_key", a.pub_key().empty() ? json(nullptr) : json(crypto::Base64Encode(a.pub_key()))},
              {"account_number", std::to_string(a.account_number())},
              {"sequence", std::to_string(a.sequence())}};
}

std::optional<Result<json>> Module::query(const store::KVReader& state, std::string_view path) const {
  constexpr std::string_view kAcc = "/auth/account/";
  if (path == "/auth/params") {
    auto p = keeper_.params(state);
    if (!p.ok()) return Result<json>(p.error());
    return Result<json>(ParamsToJson(*p));
  }
  if (path.substr(0, kAcc.size()) != kAcc) return std::nullopt;
  auto addr = crypto::AddressFromBech32(path.substr(kAcc.size()));
  if (!addr.ok()) return Result<json>(addr.error());
  auto got = keeper_.get_account(state, *addr);
  if (!got.ok()) return Result<json>(got.error());
  const auto& acc = *got;
  if (!acc)
    return Result<json>(RootErr(kErrUnknownAddress, "account " + std::string(path.substr(kAcc.size())) + " not found"));
  return Result<json>(AccountToJson(*acc));
}

}  // namespace depai::x::auth
