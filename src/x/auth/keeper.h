// x/auth keeper: accounts, account numbers, sequences and the auth params.
//
// State (prefix "auth/"):
//   auth/acc/<addr20>   -> depai.auth.v1.BaseAccount
//   auth/next_acc_num   -> u64 big-endian, the next account number to assign
//   auth/params         -> depai.auth.v1.Params
// Only this keeper touches the "auth/" prefix. Views return Result: a stored record that does not
// decode is a fault (x/types/errors.h). Not thread-safe.
#pragma once

#include <optional>

#include "depai/auth/v1/auth.pb.h"
#include "store/kv.h"
#include "util/result.h"
#include "x/types/context.h"

namespace depai::x::auth {

using Account = depai::auth::v1::BaseAccount;
using Params = depai::auth::v1::Params;

Params DefaultParams();

class Keeper {
 public:
  Result<Params> params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;
  Result<std::optional<Account>> get_account(const store::KVReader& s, std::string_view addr) const;
  void set_account(store::KVStore& s, const Account& acc) const;
  bool has_account(const store::KVReader& s, std::string_view addr) const;
  // Creates an account with the next account number (does not check existence).
  Result<Account> new_account(store::KVStore& s, std::string_view addr) const;
  void set_next_account_number(store::KVStore& s, uint64_t next) const;
  // Every account in address order; fn returns false to stop.
  Status for_each_account(const store::KVReader& s, const std::function<bool(const Account&)>& fn) const;

 private:
  mutable std::optional<Bytes> params_bytes_;  // memo of the last parsed params (never disagrees with state)
  mutable Params params_;
};

}  // namespace depai::x::auth
