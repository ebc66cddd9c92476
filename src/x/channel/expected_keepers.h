// What x/channel needs from other modules: the bank (deposits into module:channel, payouts,
// refunds, and the burn of ucredit paid for service). Implemented by an adapter in src/app (or a
// fake in tests), so x/channel never includes another module's internals. Addresses are 20 raw
// bytes. Thread-safety: called from the one thread that runs the state machine.
#pragma once

#include <string_view>

#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"

namespace depai::x::channel {

class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  // A module transfer (not a user transfer: ucredit, non-transferable, moves too).
  virtual Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const = 0;
  virtual Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const = 0;
  // Burns coins held by `from` (ucredit paid through a credit channel, from module:channel).
  virtual Status burn(Context& ctx, std::string_view from, const Coins& coins) const = 0;
};

}  // namespace depai::x::channel
