// What x/bme needs from other modules. Implemented by adapters in src/app (or fakes in tests), so
// bme never includes another module's internals. Addresses are 20 raw bytes.
// Thread-safety: implementations are called from the one thread that runs the state machine.
#pragma once

#include <cstdint>
#include <string_view>

#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"
#include "x/types/price.h"

namespace depai::x::bme {

// The DPAI/USD price for a block at (height, time_ms), as x/oracle's keeper answers it
// (x/oracle/keeper.h `price_info`). "No price" (stale, too few reports, none yet) is an
// available = false answer with its reason, never an error; an Error is a fault (a corrupt
// record) and halts the node.
class OracleKeeper {
 public:
  virtual ~OracleKeeper() = default;
  virtual Result<x::PriceInfo> price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const = 0;
};

// Balances, mint and burn (x/bank). Mint and burn change the denom's supply; neither is a user
// transfer, so ucredit's transferable = false does not stop them.
class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  virtual Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const = 0;
  virtual Status mint(Context& ctx, std::string_view to, const Coins& coins) const = 0;
  virtual Status burn(Context& ctx, std::string_view from, const Coins& coins) const = 0;
};

}  // namespace depai::x::bme
