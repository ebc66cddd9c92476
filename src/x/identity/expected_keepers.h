// What x/identity needs from other modules: the bank, to hold attester bonds in module:identity.
// Implemented by an adapter in src/app (or a fake in tests). Addresses are 20 raw bytes.
// Thread-safety: as the bank keeper (one thread).
#pragma once

#include <string_view>

#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"

namespace depai::x::identity {

class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  // A module-driven movement (user_transfer = false: module:identity is a blocked address).
  virtual Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const = 0;
  virtual Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const = 0;
};

}  // namespace depai::x::identity
