// What x/bank needs from other modules. Implemented by adapters in src/app, so bank never
// includes another module's internals.
#pragma once

#include <string_view>

#include "store/kv.h"
#include "util/result.h"

namespace depai::x::bank {

class AccountKeeper {
 public:
  virtual ~AccountKeeper() = default;
  virtual bool has_account(const store::KVReader& s, std::string_view addr) const = 0;
  // Creates an account with the next account number (first time an address receives funds).
  virtual Status create_account(store::KVStore& s, std::string_view addr) const = 0;
};

}  // namespace depai::x::bank
