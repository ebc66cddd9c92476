// What x/mint needs from other modules, implemented by an adapter in src/app (or a fake in
// tests), so that mint never includes another module's internals. Addresses are 20 raw bytes.
#pragma once

#include <string_view>

#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"

namespace depai::x::mint {

class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  // Creates `coins` in `to` (supply grows; fails past the denom's max_supply).
  virtual Status mint(Context& ctx, std::string_view to, const Coins& coins) const = 0;
  virtual Result<Amount> supply(const store::KVReader& s, std::string_view denom) const = 0;
  // The denom's max_supply from its metadata (Amount::kMax when the denom has none).
  virtual Result<Amount> max_supply(const store::KVReader& s, std::string_view denom) const = 0;
};

}  // namespace depai::x::mint
