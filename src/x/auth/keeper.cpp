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

Result<Params> Keeper::params(const store::KVReader& s) const {
  thread_local Bytes v;
  if (!s.get_into(kParams, v)) return DefaultParams();
  if (params_bytes_ && *params_bytes_ == v) return params_;  // a memo of the parse, keyed by the bytes
  DEPAI_ASSIGN_OR_RETURN(params_, DecodeRecord<Params>(v, "auth params"));
  params_bytes_ = v;
  return params_;
}

void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(kParams, DeterministicSerialize(p)); }

Result<std::optional<Account>> Keeper::get_account(const store::KVReader& s, std::string_view addr) const {
  thread_local Bytes v;  // read through every store layer without a copy per layer
  if (!s.get_into(AccKey(addr), v)) return std::optional<Account>();
  DEPAI_ASSIGN_OR_RETURN(auto a, DecodeRecord<Account>(v, "account"));
  return std::optional<Account>(std::move(a));
}

bool Keeper::has_account(const store::KVReader& s, std::string_view addr) const { return s.has(AccKey(addr)); }

void Keeper::set_account(store::KVStore& s, const Account& acc) const {
  s.set(AccKey(acc.address()), DeterministicSerialize(acc));
}

Result<Account> Keeper::new_account(store::KVStore& s, std::string_view addr) const {
  auto n = s.get(kNextNum);
  uint64_t num = 0;
  if (n) {
    DEPAI_ASSIGN_OR_RETURN(num, DecodeU64Record(*n, "next account number"));
  }
  s.set(kNextNum, U64BE(num + 1));
  Account a;
  a.set_address(std::string(addr));
  a.set_account_number(num);
  a.set_sequence(0);
  set_account(s, a);
  return a;
}

void Keeper::set_next_account_number(store::KVStore& s, uint64_t next) const { s.set(kNextNum, U64BE(next)); }

Status Keeper::for_each_account(const store::KVReader& s, const std::function<bool(const Account&)>& fn) const {
  Status st;
  s.iterate(kAccPrefix, store::PrefixEnd(kAccPrefix), [&](std::string_view, std::string_view v) {
    auto a = DecodeRecord<Account>(v, "account");
    if (!a.ok()) {
      st = a.error();
      return false;
    }
    return fn(*a);
  });
  return st;
}

}  // namespace depai::x::auth
