// x/provider invariant: the udpai balance of module:provider_bond equals the sum of all
// providers' collateral plus the sum of all unbonding amounts. A break is a fault
// (kFaultInvariant): it halts the node. So is a record that does not decode.
#include "x/provider/keeper.h"
#include "x/provider/keys.h"
#include "x/types/block_changes.h"
#include "x/types/codec.h"

namespace depai::x::provider {

using keys::kProviderPrefix;
using keys::kUnbondPrefix;

namespace {
Error Broken(const std::string& m) { return Fault(kFaultInvariant, "provider bond invariant broken: " + m); }
}  // namespace

Status Keeper::check_bond_full(const store::KVReader& s) const {
  unsigned __int128 sum = 0;
  Status st;
  auto add = [&](const auto& amount, const char* what) {  // false (and st) on a bad stored amount
    auto a = DecodeAmountField(amount, what);
    if (!a.ok()) st = a.error();
    if (a.ok()) sum += a->raw();
    return a.ok();
  };
  DEPAI_TRY(for_each_provider(
      s, [&](std::string_view, const Provider& p) { return add(p.collateral(), "provider collateral"); }));
  DEPAI_TRY(st);
  DEPAI_TRY(for_each_unbonding(
      s, [&](std::string_view, const UnbondingEntry& e) { return add(e.amount(), "unbonding amount"); }));
  DEPAI_TRY(st);
  uint64_t bal = 0;
  if (bank_) {
    DEPAI_ASSIGN_OR_RETURN(const Amount b, bank_->balance(s, BondAddress(), kBondDenom));
    bal = b.raw();
  }
  if (sum != bal)
    return Broken("module:provider_bond holds " + std::to_string(bal) + kBondDenom +
                  " but collateral + unbonding sum to a different amount");
  return {};
}

Status Keeper::check_bond_block(const store::CacheStore& block, const store::KVReader& committed) const {
  __int128 delta = 0;
  // What one stored provider or unbonding value contributes to the bond account.
  auto collateral = [](const std::optional<Bytes>& b) -> Result<uint64_t> {
    if (!b) return uint64_t{0};
    DEPAI_ASSIGN_OR_RETURN(auto p, DecodeProvider(*b));
    DEPAI_ASSIGN_OR_RETURN(auto a, DecodeAmountField(p.collateral(), "provider collateral"));
    return a.raw();
  };
  auto unbonding = [](const std::optional<Bytes>& b) -> Result<uint64_t> {
    if (!b) return uint64_t{0};
    DEPAI_ASSIGN_OR_RETURN(auto e, DecodeUnbonding(*b));
    DEPAI_ASSIGN_OR_RETURN(auto a, DecodeAmountField(e.amount(), "unbonding amount"));
    return a.raw();
  };
  auto add = [&](auto amount_of) {
    return [&delta, amount_of](std::string_view, const std::optional<Bytes>& before,
                               const std::optional<Bytes>& after) -> Status {
      DEPAI_ASSIGN_OR_RETURN(uint64_t nv, amount_of(after));
      DEPAI_ASSIGN_OR_RETURN(uint64_t ov, amount_of(before));
      delta += static_cast<__int128>(nv) - static_cast<__int128>(ov);
      return {};
    };
  };
  DEPAI_TRY(ForEachBlockChange(block, committed, kProviderPrefix, add(collateral)));
  DEPAI_TRY(ForEachBlockChange(block, committed, kUnbondPrefix, add(unbonding)));
  if (!bank_) return {};
  DEPAI_ASSIGN_OR_RETURN(const Amount bond_block, bank_->balance(block, BondAddress(), kBondDenom));
  DEPAI_ASSIGN_OR_RETURN(const Amount bond_committed, bank_->balance(committed, BondAddress(), kBondDenom));
  const __int128 bal_delta = static_cast<__int128>(bond_block.raw()) - static_cast<__int128>(bond_committed.raw());
  if (bal_delta != delta)
    return Broken("in block: module:provider_bond balance changed by a different amount than collateral + unbonding");
  return {};
}

}  // namespace depai::x::provider
