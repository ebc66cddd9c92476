// x/provider invariant: the udpai balance of module:provider_bond equals the sum of all
// providers' collateral plus the sum of all unbonding amounts. A break is a fault
// (kFaultInvariant): it halts the node. So is a record that does not decode.
#include "x/provider/keeper.h"
#include "x/provider/keys.h"
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
  DEPAI_TRY(for_each_provider(s, [&](std::string_view, const Provider& p) {
    auto a = StoredAmount(p.collateral(), "provider collateral");
    if (!a.ok()) {
      st = a.error();
      return false;
    }
    sum += a->raw();
    return true;
  }));
  DEPAI_TRY(st);
  DEPAI_TRY(for_each_unbonding(s, [&](std::string_view, const UnbondingEntry& e) {
    auto a = StoredAmount(e.amount(), "unbonding amount");
    if (!a.ok()) {
      st = a.error();
      return false;
    }
    sum += a->raw();
    return true;
  }));
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
  const bool use_originals = block.parent() == &committed;
  Status st;
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>& v, const std::optional<Bytes>* orig) {
    if (!st.ok()) return;
    std::string_view key(k);
    const bool is_provider = key.substr(0, kProviderPrefix.size()) == kProviderPrefix;
    const bool is_unbond = key.substr(0, kUnbondPrefix.size()) == kUnbondPrefix;
    if (!is_provider && !is_unbond) return;
    auto old = use_originals && orig ? *orig : committed.get(k);
    auto amount_of = [&](const std::optional<Bytes>& b) -> Result<uint64_t> {
      if (!b) return uint64_t{0};
      if (is_provider) {
        DEPAI_ASSIGN_OR_RETURN(auto p, DecodeProvider(*b));
        DEPAI_ASSIGN_OR_RETURN(auto a, StoredAmount(p.collateral(), "provider collateral"));
        return a.raw();
      }
      DEPAI_ASSIGN_OR_RETURN(auto e, DecodeUnbonding(*b));
      DEPAI_ASSIGN_OR_RETURN(auto a, StoredAmount(e.amount(), "unbonding amount"));
      return a.raw();
    };
    auto nv = amount_of(v), ov = amount_of(old);
    if (!nv.ok()) st = nv.error();
    if (!ov.ok()) st = ov.error();
    if (!st.ok()) return;
    delta += static_cast<__int128>(nv.value()) - static_cast<__int128>(ov.value());
  });
  DEPAI_TRY(st);
  if (!bank_) return {};
  DEPAI_ASSIGN_OR_RETURN(const Amount bond_block, bank_->balance(block, BondAddress(), kBondDenom));
  DEPAI_ASSIGN_OR_RETURN(const Amount bond_committed, bank_->balance(committed, BondAddress(), kBondDenom));
  const __int128 bal_delta = static_cast<__int128>(bond_block.raw()) - static_cast<__int128>(bond_committed.raw());
  if (bal_delta != delta)
    return Broken("in block: module:provider_bond balance changed by a different amount than collateral + unbonding");
  return {};
}

}  // namespace depai::x::provider
