#include "x/bank/keeper.h"

#include <map>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/bank/keys.h"
#include "x/types/codec.h"

namespace depai::x::bank {

namespace {
using keys::kBalPrefix;
using keys::kDenomPrefix;
using keys::kSupplyPrefix;

// A stored balance or supply: 8 bytes big-endian, at most Amount::kMax. Anything else is a fault.
Result<Amount> DecodeAmount(std::string_view v, const char* what) {
  DEPAI_ASSIGN_OR_RETURN(uint64_t raw, DecodeU64Record(v, what));
  auto a = Amount::Of(raw);
  if (!a.ok()) return Fault(kFaultCorruptRecord, std::string("stored ") + what + " exceeds the maximum amount");
  return a;
}
}  // namespace

const Bytes& FeeCollectorAddress() {
  static const Bytes addr = crypto::Sha256("module:fee_collector").substr(0, 20);
  return addr;
}

Result<Amount> Keeper::balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const {
  Bytes v;  // 8 bytes: no allocation
  if (!s.get_into(keys::Bal(addr, denom), v)) return Amount();
  return DecodeAmount(v, "balance");
}

Status Keeper::for_each_balance(const store::KVReader& s, const BalanceFn& fn) const {
  Status st;
  s.iterate(kBalPrefix, store::PrefixEnd(kBalPrefix), [&](std::string_view k, std::string_view v) {
    if (k.size() <= kBalPrefix.size() + 20) {
      st = Fault(kFaultCorruptRecord, "balance key without a denom");
      return false;
    }
    auto a = DecodeAmount(v, "balance");
    if (!a.ok()) {
      st = a.error();
      return false;
    }
    return fn(k.substr(kBalPrefix.size(), 20), k.substr(kBalPrefix.size() + 20), a.value());
  });
  return st;
}

Result<Coins> Keeper::balances(const store::KVReader& s, std::string_view addr) const {
  std::string prefix = std::string(kBalPrefix) + std::string(addr);
  std::vector<Coin> coins;
  Status st;
  s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    auto a = DecodeAmount(v, "balance");
    if (!a.ok()) {
      st = a.error();
      return false;
    }
    coins.push_back(Coin{std::string(k.substr(prefix.size())), a.value()});
    return true;
  });
  DEPAI_TRY(st);
  auto c = Coins::From(std::move(coins));
  if (!c.ok()) return Fault(kFaultCorruptRecord, "stored balances do not form a coin set: " + c.error().message);
  return c;
}

Result<Amount> Keeper::supply(const store::KVReader& s, std::string_view denom) const {
  auto v = s.get(keys::Supply(denom));
  if (!v) return Amount();
  return DecodeAmount(*v, "supply");
}

namespace {
Result<Amount> Counter(const store::KVReader& s, const std::string& key, const char* what) {
  Bytes v;
  if (!s.get_into(key, v)) return Amount();
  return DecodeAmount(v, what);
}
}  // namespace

Result<Amount> Keeper::minted_total(const store::KVReader& s, std::string_view denom) const {
  return Counter(s, keys::Minted(denom), "minted total");
}
Result<Amount> Keeper::burned_total(const store::KVReader& s, std::string_view denom) const {
  return Counter(s, keys::Burned(denom), "burned total");
}
Result<Amount> Keeper::base_supply(const store::KVReader& s, std::string_view denom) const {
  return Counter(s, keys::Base(denom), "base supply");
}

void Keeper::set_mint_burn(store::KVStore& s, std::string_view denom, Amount base, Amount minted, Amount burned) const {
  s.set(keys::Base(denom), U64BE(base.raw()));
  if (!minted.is_zero()) s.set(keys::Minted(denom), U64BE(minted.raw()));
  if (!burned.is_zero()) s.set(keys::Burned(denom), U64BE(burned.raw()));
}

Result<Coins> Keeper::total_supply(const store::KVReader& s) const {
  std::vector<Coin> coins;
  Status st;
  s.iterate(kSupplyPrefix, store::PrefixEnd(kSupplyPrefix), [&](std::string_view k, std::string_view v) {
    auto a = DecodeAmount(v, "supply");
    if (!a.ok()) {
      st = a.error();
      return false;
    }
    coins.push_back(Coin{std::string(k.substr(kSupplyPrefix.size())), a.value()});
    return true;
  });
  DEPAI_TRY(st);
  auto c = Coins::From(std::move(coins));
  if (!c.ok()) return Fault(kFaultCorruptRecord, "stored supply does not form a coin set: " + c.error().message);
  return c;
}

Result<std::optional<DenomMetadata>> Keeper::denom(const store::KVReader& s, std::string_view denom) const {
  thread_local Bytes v;
  if (!s.get_into(keys::Denom(denom), v)) return std::optional<DenomMetadata>();
  auto it = parsed_denoms_.find(v);
  if (it != parsed_denoms_.end()) return std::optional<DenomMetadata>(it->second);
  DEPAI_ASSIGN_OR_RETURN(auto m, DecodeRecord<DenomMetadata>(v, "denom metadata"));
  if (parsed_denoms_.size() > 1024) parsed_denoms_.clear();
  parsed_denoms_.emplace(v, m);
  return std::optional<DenomMetadata>(std::move(m));
}

Result<std::vector<DenomMetadata>> Keeper::denoms(const store::KVReader& s) const {
  std::vector<DenomMetadata> out;
  DEPAI_TRY(ForEachRecord(
      s, kDenomPrefix, [](std::string_view v) { return DecodeRecord<DenomMetadata>(v, "denom metadata"); },
      [&](std::string_view, const DenomMetadata& m) {
        out.push_back(m);
        return true;
      }));
  return out;
}

Status Keeper::check_transferable(const store::KVReader& s, const Coins& coins) const {
  for (const auto& c : coins.list()) {
    DEPAI_ASSIGN_OR_RETURN(auto meta, denom(s, c.denom));
    if (!meta) return BankErr(kErrUnknownDenom, "unknown denom '" + c.denom + "'");
    if (!meta->transferable()) return BankErr(kErrNotTransferable, "denom '" + c.denom + "' is not transferable");
  }
  return {};
}

Status Keeper::check_funds(const store::KVReader& s, std::string_view from, const Coins& coins) const {
  for (const auto& c : coins.list()) {
    DEPAI_ASSIGN_OR_RETURN(Amount have, balance(s, from, c.denom));
    if (have < c.amount)
      return RootErr(kErrInsufficientFunds,
                     "insufficient funds: spendable balance " + have.str() + c.denom + " is smaller than " + c.str());
  }
  return {};
}

Status Keeper::check_send(const store::KVReader& s, const SendParsed& m) const {
  DEPAI_TRY(check_transferable(s, m.amount));
  DEPAI_TRY(check_recipient(m.to));
  return check_funds(s, m.signer, m.amount);
}

Status Keeper::check_multi_send(const store::KVReader& s, const MultiSendParsed& m) const {
  for (const auto& o : m.outputs) {
    DEPAI_TRY(check_transferable(s, o.coins));
    DEPAI_TRY(check_recipient(o.to));
  }
  return check_funds(s, m.signer, m.total);
}

Status Keeper::multi_send(Context& ctx, const MultiSendParsed& m) const {
  for (const auto& o : m.outputs)
    DEPAI_TRY(send(ctx, m.signer, o.to, o.coins, true));  // the tx branch is dropped on error
  return {};
}

Status Keeper::check_recipient(std::string_view to) const {
  if (blocked(to))
    return BankErr(
        kErrBlockedAddress,
        crypto::AddressToBech32(to) + " is a module account: it cannot receive transfers (use the module's messages)");
  return {};
}

void Keeper::set_denom(store::KVStore& s, const DenomMetadata& m) const {
  s.set(keys::Denom(m.denom()), DeterministicSerialize(m));
}

void Keeper::set_balance(store::KVStore& s, std::string_view addr, std::string_view denom, Amount a) const {
  if (a.is_zero())
    s.del(keys::Bal(addr, denom));
  else
    s.set(keys::Bal(addr, denom), U64BE(a.raw()));
}

void Keeper::set_supply(store::KVStore& s, std::string_view denom, Amount a) const {
  s.set(keys::Supply(denom), U64BE(a.raw()));
}

Status Keeper::ensure_account(store::KVStore& s, std::string_view addr) const {
  if (accounts_ && !accounts_->has_account(s, addr)) return accounts_->create_account(s, addr);
  return {};
}

Status Keeper::send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins,
                    bool user_transfer) const {
  auto& s = *ctx.store;
  if (user_transfer) DEPAI_TRY(check_recipient(to));
  // Validate everything before writing anything, so an error leaves the store unchanged.
  std::vector<std::pair<Amount, Amount>> next;  // (new from balance, new to balance)
  for (const auto& c : coins.list()) {
    DEPAI_ASSIGN_OR_RETURN(auto meta, denom(s, c.denom));
    if (!meta) return BankErr(kErrUnknownDenom, "unknown denom '" + c.denom + "'");
    if (user_transfer && !meta->transferable())
      return BankErr(kErrNotTransferable, "denom '" + c.denom + "' is not transferable");
    DEPAI_ASSIGN_OR_RETURN(Amount fb, balance(s, from, c.denom));
    auto nf = fb.sub(c.amount);
    if (!nf.ok())
      return RootErr(kErrInsufficientFunds,
                     "insufficient funds: spendable balance " + fb.str() + c.denom + " is smaller than " + c.str());
    Amount tb = nf.value();
    if (from != to) {
      DEPAI_ASSIGN_OR_RETURN(tb, balance(s, to, c.denom));
    }
    auto nt = tb.add(c.amount);
    if (!nt.ok()) return RootErr(kErrOverflow, "balance overflow for " + c.denom);
    next.emplace_back(nf.value(), nt.value());
  }
  if (!coins.empty()) DEPAI_TRY(ensure_account(s, to));
  for (size_t i = 0; i < coins.list().size(); ++i) {
    const auto& denomName = coins.list()[i].denom;
    set_balance(s, from, denomName, next[i].first);
    set_balance(s, to, denomName, next[i].second);
  }
  if (ctx.events && !coins.empty()) {
    std::string fromS = crypto::AddressToBech32(from), toS = crypto::AddressToBech32(to), amt = coins.str();
    // Indexed (searchable in CometBFT's tx index): transfer sender and recipient only. The
    // amounts and the coin_spent/coin_received pair repeat them; indexing them would cost every
    // node ~3x the index writes per transfer for no new query.
    ctx.events->emit_attrs("coin_spent", EventAttribute{"spender", fromS, false}, EventAttribute{"amount", amt, false});
    ctx.events->emit_attrs("coin_received", EventAttribute{"receiver", toS, false},
                           EventAttribute{"amount", amt, false});
    ctx.events->emit_attrs("transfer", EventAttribute{"recipient", std::move(toS), true},
                           EventAttribute{"sender", std::move(fromS), true},
                           EventAttribute{"amount", std::move(amt), false});
  }
  return {};
}

namespace {
struct NextAmounts {
  Amount supply, balance, counter;
};
}  // namespace

Status Keeper::mint(Context& ctx, std::string_view to, const Coins& coins) const {
  auto& s = *ctx.store;
  std::vector<NextAmounts> next;
  for (const auto& c : coins.list()) {
    DEPAI_ASSIGN_OR_RETURN(auto meta, denom(s, c.denom));
    if (!meta) return BankErr(kErrUnknownDenom, "unknown denom '" + c.denom + "'");
    DEPAI_ASSIGN_OR_RETURN(Amount cur_supply, supply(s, c.denom));
    auto ns = cur_supply.add(c.amount);
    if (!ns.ok()) return RootErr(kErrOverflow, "supply overflow for " + c.denom);
    auto max = Amount::Parse(meta->max_supply());
    if (max.ok() && ns.value() > max.value())
      return BankErr(kErrMaxSupply, "minting " + c.str() + " would exceed max supply " + meta->max_supply() + c.denom);
    DEPAI_ASSIGN_OR_RETURN(Amount cur_bal, balance(s, to, c.denom));
    auto nb = cur_bal.add(c.amount);
    if (!nb.ok()) return RootErr(kErrOverflow, "balance overflow for " + c.denom);
    DEPAI_ASSIGN_OR_RETURN(Amount cur_minted, minted_total(s, c.denom));
    auto nm = cur_minted.add(c.amount);
    if (!nm.ok()) return RootErr(kErrOverflow, "cumulative mint of " + c.denom + " overflows");
    next.push_back({ns.value(), nb.value(), nm.value()});
  }
  if (!coins.empty()) DEPAI_TRY(ensure_account(s, to));
  for (size_t i = 0; i < coins.list().size(); ++i) {
    set_supply(s, coins.list()[i].denom, next[i].supply);
    set_balance(s, to, coins.list()[i].denom, next[i].balance);
    s.set(keys::Minted(coins.list()[i].denom), U64BE(next[i].counter.raw()));
  }
  if (ctx.events && !coins.empty())
    ctx.events->emit("coinbase", {{"minter", crypto::AddressToBech32(to)}, {"amount", coins.str()}});
  return {};
}

Status Keeper::burn(Context& ctx, std::string_view from, const Coins& coins) const {
  auto& s = *ctx.store;
  std::vector<NextAmounts> next;
  for (const auto& c : coins.list()) {
    DEPAI_ASSIGN_OR_RETURN(Amount cur_bal, balance(s, from, c.denom));
    auto nb = cur_bal.sub(c.amount);
    if (!nb.ok()) return RootErr(kErrInsufficientFunds, "insufficient funds to burn " + c.str());
    DEPAI_ASSIGN_OR_RETURN(Amount cur_supply, supply(s, c.denom));
    auto ns = cur_supply.sub(c.amount);
    if (!ns.ok()) return BankErr(kErrSupplyInvariant, "burn exceeds supply of " + c.denom);
    DEPAI_ASSIGN_OR_RETURN(Amount cur_burned, burned_total(s, c.denom));
    auto nbu = cur_burned.add(c.amount);
    if (!nbu.ok()) return RootErr(kErrOverflow, "cumulative burn of " + c.denom + " overflows");
    next.push_back({ns.value(), nb.value(), nbu.value()});
  }
  for (size_t i = 0; i < coins.list().size(); ++i) {
    set_balance(s, from, coins.list()[i].denom, next[i].balance);
    set_supply(s, coins.list()[i].denom, next[i].supply);
    s.set(keys::Burned(coins.list()[i].denom), U64BE(next[i].counter.raw()));
  }
  if (ctx.events && !coins.empty())
    ctx.events->emit("burn", {{"burner", crypto::AddressToBech32(from)}, {"amount", coins.str()}});
  return {};
}

}  // namespace depai::x::bank
