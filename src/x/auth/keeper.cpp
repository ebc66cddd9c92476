#include "x/auth/keeper.h"

#include "x/types/codec.h"

namespace depai::x::auth {

namespace {
constexpr std::string_view kAccPrefix = "auth/acc/";
constexpr std::string_view kNextNum = "auth/next_acc_num";
constexpr std::string_view kParams = "auth/params";
std::string AccKey(std::string_view addr) { return std::string(kAccPrefix) + std::string(addr); }
}  // namespace

Params DefaultParams() {
  Params p;
  p.set_max_memo_characters(256);
  p.set_tx_size_limit(64 * 1024);
  p.set_max_gas_per_tx(10'000'000);
  p.set_sig_verify_cost(1000);
  p.set_tx_size_cost_per_byte(10);
  p.set_min_gas_price_micro(50);  // 200000 gas -> 10udpai
  p.set_fee_denom("udpai");
  return p;
}

Params Keeper::params(const store::KVReader& s) const {
  auto v = s.get(kParams);
  if (!v) return DefaultParams();
  Params p;
  p.ParseFromString(*v);
  return p;
}

void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(kParams, DeterministicSerialize(p)); }

std::optional<Account> Keeper::get_account(const store::KVReader& s, std::string_view addr) const {
  auto v = s.get(AccKey(addr));
  if (!v) return std::nullopt;
  Account a;
  if (!a.ParseFromString(*v)) return std::nullopt;
  return a;
}

bool Keeper::has_account(const store::KVReader& s, std::string_view addr) const { return s.has(AccKey(addr)); }

void Keeper::set_account(store::KVStore& s, const Account& acc) const {
  s.set(AccKey(acc.address()), DeterministicSerialize(acc));
}

Account Keeper::new_account(store::KVStore& s, std::string_view addr) const {
  auto n = s.get(kNextNum);
  uint64_t num = n ? GetU64BE(*n) : 0;
  s.set(kNextNum, U64BE(num + 1));
  Account a;
  a.set_address(std::string(addr));
  a.set_account_number(num);
  a.set_sequence(0);
  set_account(s, a);
  return a;
}

Account Keeper::get_or_create(store::KVStore& s, std::string_view addr) const {
  if (auto a = get_account(s, addr)) return *a;
  return new_account(s, addr);
}

void Keeper::iterate_accounts(const store::KVReader& s, const std::function<bool(const Account&)>& fn) const {
  s.iterate(kAccPrefix, store::PrefixEnd(kAccPrefix), [&](std::string_view, std::string_view v) {
    Account a;
    a.ParseFromArray(v.data(), static_cast<int>(v.size()));
    return fn(a);
  });
}

}  // namespace depai::x::auth
