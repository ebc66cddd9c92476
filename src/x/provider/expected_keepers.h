// What x/provider needs from other modules. Implemented by adapters in src/app, so provider never
// includes another module's internals.
#pragma once

#include <string_view>

#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"

namespace depai::x::provider {

class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  virtual Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const = 0;
  // A module transfer (not a user transfer): moves `coins` or fails leaving the store unchanged.
  virtual Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const = 0;
};

}  // namespace depai::x::provider
