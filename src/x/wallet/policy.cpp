// x/wallet: what the ante handler asks for every wallet-signed tx. See keeper.h.
#include <algorithm>

#include "crypto/bech32.h"
#include "x/types/codec.h"
#include "x/wallet/keeper.h"
#include "x/wallet/keys.h"

namespace depai::x::wallet {

namespace {
std::string B32(std::string_view a) { return crypto::AddressToBech32(a); }

std::string KeyName(const SessionKey& k) {
  return "session key '" + (k.label().empty() ? HexEncode(k.pub_key()).substr(0, 16) : k.label()) + "'";
}

// The amounts of `a` and `b` in one denom, added (saturating at Amount's max: a budget check
// then fails, which is what an overflowing spend deserves).
Amount AddSat(Amount a, Amount b) {
  auto r = a.add(b);
  return r.ok() ? r.value() : Amount::Of(Amount::kMax).value();
}

Result<Coins> AddCoins(const Coins& a, const Coins& b) {
  auto r = a.add(b);
  if (!r.ok()) return WalletErr(kErrBudget, "spend overflows: " + r.error().message);
  return r.value();
}

// Is `spent + adding` within `budget` for every denom of `adding`? The refusal names the rule.
// A session key's policy without budgets adds no budget of its own (its wallet's applies);
// `open` says so. A wallet's policy without budgets lets nothing leave.
Status FitsBudget(const Coins& budget, const Coins& spent, const Coins& adding, const std::string& who,
                  const std::string& what, const PeriodView& pv, bool open = false) {
  if (open && budget.empty()) return {};
  for (const auto& c : adding.list()) {
    if (c.amount.is_zero()) continue;
    const Amount cap = budget.amount_of(c.denom);
    const Amount had = spent.amount_of(c.denom);
    if (cap.is_zero())
      return WalletErr(kErrBudget,
                       "budget (" + who + "): no budget for " + c.denom + ", " + what + " " + c.amount.str() + c.denom);
    const Amount total = AddSat(had, c.amount);
    if (total > cap)
      return WalletErr(kErrBudget, "budget " + cap.str() + c.denom + "/period (" + who + "): spent " + had.str() +
                                       ", " + what + " " + c.amount.str() + " (period " + std::to_string(pv.period) +
                                       " ends at height " + std::to_string(pv.end_height) + ")");
  }
  return {};
}

bool Contains(const std::vector<std::string>& v, std::string_view x) {
  return std::binary_search(v.begin(), v.end(), x, std::less<>());
}
}  // namespace

Result<bool> Keeper::is_wallet(const store::KVReader& s, std::string_view addr) const {
  if (addr.size() != 20) return false;
  return s.get(keys::Wallet(addr)).has_value();
}

Result<SessionAuth> Keeper::authorize(const store::KVReader& s, std::string_view w20, std::string_view pub,
                                      int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(const Params params, this->params(s));
  DEPAI_ASSIGN_OR_RETURN(auto w, wallet(s, w20));
  if (!w) return WalletErr(kErrUnknownWallet, "account " + B32(w20) + " is not an agent wallet");
  if (w->revoked()) return WalletErr(kErrWalletRevoked, "wallet " + w->address() + " was revoked by its owner");
  DEPAI_ASSIGN_OR_RETURN(auto k, session_key(s, w20, pub));
  if (!k)
    return WalletErr(kErrUnknownSessionKey,
                     "key " + HexEncode(pub) + " is not a session key of wallet " + w->address());
  if (k->revoked())
    return WalletErr(kErrSessionKeyRevoked, KeyName(*k) + " of wallet " + w->address() + " was revoked by its owner");
  SessionAuth a;
  a.wallet = Bytes(w20);
  a.pub_key = Bytes(pub);
  // A stored policy was validated when it was written; one that no longer parses is corrupt.
  auto wp = ParsePolicy(w->policy(), params, "wallet policy");
  if (!wp.ok()) return Fault(kFaultCorruptRecord, "stored wallet policy: " + wp.error().message);
  auto kp = ParsePolicy(k->policy(), params, "session key policy");
  if (!kp.ok()) return Fault(kFaultCorruptRecord, "stored session key policy: " + kp.error().message);
  a.wallet_policy = std::move(wp).value();
  a.key_policy = std::move(kp).value();
  if (a.wallet_policy.expires_height != 0 && height > a.wallet_policy.expires_height)
    return WalletErr(kErrExpired, "expired: the policy of wallet " + w->address() + " expired at height " +
                                      std::to_string(a.wallet_policy.expires_height) + ", this block is " +
                                      std::to_string(height));
  if (a.key_policy.expires_height != 0 && height > a.key_policy.expires_height)
    return WalletErr(kErrExpired, "expired: " + KeyName(*k) + " expired at height " +
                                      std::to_string(a.key_policy.expires_height) + ", this block is " +
                                      std::to_string(height));
  a.rec = std::move(*w);
  a.key = std::move(*k);
  return a;
}

Status Keeper::check_counterparty(const store::KVReader& s, const PolicyRec& p, const std::string& who,
                                  std::string_view addr) const {
  if (p.any_counterparty()) return {};
  if (std::binary_search(p.counterparty_addrs.begin(), p.counterparty_addrs.end(), addr)) return {};
  std::string did_note;
  if (!p.counterparty_dids.empty() && identity_) {
    DEPAI_ASSIGN_OR_RETURN(const auto did, identity_->linked_did(s, addr));
    if (did && Contains(p.counterparty_dids, *did)) return {};
    did_note = did ? " (its DID " + *did + " is not listed either)" : " (it has no linked DID)";
  }
  return WalletErr(kErrCounterparty, "counterparty (" + who + "): " + B32(addr) + " is not an allowed counterparty" +
                                         did_note + "; allowed: " + std::to_string(p.counterparty_addrs.size()) +
                                         " address(es), " + std::to_string(p.counterparty_dids.size()) + " DID(s)");
}

Status Keeper::check_policy(const store::KVReader& s, const PolicyRec& p, const std::string& who, const TxMsg& m,
                            int64_t) const {
  if (!p.allowed_msgs.empty() && !Contains(p.allowed_msgs, m.type_url))
    return WalletErr(kErrMsgNotAllowed, "message type (" + who + "): " + m.type_url + " is not in allowed_msgs");
  const MsgSpend& sp = *m.spend;
  for (const auto& c : sp.counterparties) DEPAI_TRY(check_counterparty(s, p, who, c));
  if (sp.counterparty_chosen_later && !p.any_counterparty())
    return WalletErr(kErrCounterparty, "counterparty (" + who + "): " + m.type_url +
                                           " lets the chain choose the counterparty (auto-select), and this policy "
                                           "lists counterparties; accept a listed provider's bid instead");
  if (!p.resource_kinds.empty())
    for (const auto& k : sp.resource_kinds)
      if (!Contains(p.resource_kinds, k))
        return WalletErr(kErrResourceKind, "resource kind (" + who + "): " + k + " is not allowed");
  for (const auto& price : sp.prices_per_block) {
    const Amount cap = p.price_caps.amount_of(price.denom);
    if (!cap.is_zero() && price.amount > cap)
      return WalletErr(kErrPriceCap, "price cap " + cap.str() + price.denom + "/block (" + who + "): this message " +
                                         price.amount.str() + price.denom + "/block");
  }
  return {};
}

Status Keeper::check_tx(const store::KVReader& s, const SessionAuth& a, const Coins& fee,
                        const std::vector<TxMsg>& msgs, int64_t height) const {
  const std::string wwho = "wallet policy";
  const std::string kwho = KeyName(a.key) + " policy";
  DEPAI_ASSIGN_OR_RETURN(const PeriodView wpv, wallet_period(s, a.rec, height));
  DEPAI_ASSIGN_OR_RETURN(const PeriodView kpv, key_period(s, a.wallet, a.key, height));
  DEPAI_TRY(FitsBudget(a.wallet_policy.budgets, wpv.spent, fee, wwho, "this fee", wpv));
  DEPAI_TRY(FitsBudget(a.key_policy.budgets, kpv.spent, fee, kwho, "this fee", kpv, true));
  DEPAI_ASSIGN_OR_RETURN(Coins wspent, AddCoins(wpv.spent, fee));
  DEPAI_ASSIGN_OR_RETURN(Coins kspent, AddCoins(kpv.spent, fee));
  for (const auto& m : msgs) {
    if (!m.spend)
      return WalletErr(kErrMsgNotAllowed, "message type: " + m.type_url + " cannot be signed by an agent wallet");
    DEPAI_TRY(check_policy(s, a.wallet_policy, wwho, m, height));
    DEPAI_TRY(check_policy(s, a.key_policy, kwho, m, height));
    DEPAI_TRY(FitsBudget(a.wallet_policy.budgets, wspent, m.spend->outflow, wwho, "this message", wpv));
    DEPAI_TRY(FitsBudget(a.key_policy.budgets, kspent, m.spend->outflow, kwho, "this message", kpv, true));
    DEPAI_ASSIGN_OR_RETURN(wspent, AddCoins(wspent, m.spend->outflow));
    DEPAI_ASSIGN_OR_RETURN(kspent, AddCoins(kspent, m.spend->outflow));
  }
  return {};
}

Status Keeper::record(Context& ctx, const SessionAuth& a, const Coins& amount, std::string_view what) const {
  if (amount.empty()) return {};
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(const PeriodView wpv, wallet_period(s, a.rec, h));
  DEPAI_ASSIGN_OR_RETURN(const PeriodView kpv, key_period(s, a.wallet, a.key, h));
  DEPAI_ASSIGN_OR_RETURN(const Coins wtotal, AddCoins(wpv.spent, amount));
  DEPAI_ASSIGN_OR_RETURN(const Coins ktotal, AddCoins(kpv.spent, amount));
  Spend ws;
  ws.set_period(wpv.period);
  CoinsToProto(wtotal, ws.mutable_spent());
  put_wallet_spend(s, a.wallet, ws);
  Spend ks;
  ks.set_period(kpv.period);
  CoinsToProto(ktotal, ks.mutable_spent());
  put_key_spend(s, a.wallet, a.pub_key, ks);
  ctx.events->emit_attrs(
      "wallet.spent", EventAttribute{"wallet", a.rec.address(), true},
      EventAttribute{"session_key", HexEncode(a.pub_key), false}, EventAttribute{"what", std::string(what), false},
      EventAttribute{"amount", amount.str(), false}, EventAttribute{"period", std::to_string(wpv.period), false},
      EventAttribute{"period_spent", wtotal.str(), false});
  return {};
}

Status Keeper::settle(Context& ctx, const SessionAuth& a, const Coins& before) const {
  DEPAI_ASSIGN_OR_RETURN(const Coins after, bank_->balances(*ctx.store, a.wallet));
  std::vector<Coin> drop;
  for (const auto& c : before.list()) {
    const Amount now = after.amount_of(c.denom);
    if (now < c.amount) drop.push_back(Coin{c.denom, c.amount.sub(now).value()});
  }
  DEPAI_ASSIGN_OR_RETURN(const Coins measured, Coins::From(std::move(drop)));
  if (measured.empty()) return {};
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(const PeriodView wpv, wallet_period(*ctx.store, a.rec, h));
  DEPAI_ASSIGN_OR_RETURN(const PeriodView kpv, key_period(*ctx.store, a.wallet, a.key, h));
  DEPAI_TRY(
      FitsBudget(a.wallet_policy.budgets, wpv.spent, measured, "wallet policy", "measured by this tx's messages", wpv));
  DEPAI_TRY(FitsBudget(a.key_policy.budgets, kpv.spent, measured, KeyName(a.key) + " policy",
                       "measured by this tx's messages", kpv, true));
  return record(ctx, a, measured, "messages");
}

}  // namespace depai::x::wallet
