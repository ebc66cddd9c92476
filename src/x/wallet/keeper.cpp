// x/wallet records and the owner's messages. See keeper.h.
#include "x/wallet/keeper.h"

#include <algorithm>

#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "x/types/codec.h"
#include "x/wallet/keys.h"

namespace depai::x::wallet {

namespace {
EventAttribute Attr(std::string k, std::string v, bool index = false) {
  return EventAttribute{std::move(k), std::move(v), index};
}
std::string B32(std::string_view a) { return crypto::AddressToBech32(a); }

Error InvalidPolicy(const std::string& what, const std::string& msg) {
  return WalletErr(kErrInvalidPolicy, what + ": " + msg);
}
}  // namespace

Params DefaultParams() {
  Params p;
  p.set_max_session_keys(16);
  p.set_max_policy_entries(32);
  p.set_max_label_length(64);
  return p;
}

Status ValidateParams(const Params& p) {
  if (p.max_session_keys() < 1 || p.max_policy_entries() < 1 || p.max_label_length() < 1)
    return RootErr(kErrInvalidGenesis,
                   "wallet params: max_session_keys, max_policy_entries and max_label_length must be >= 1");
  return {};
}

Result<PolicyRec> ParsePolicy(const Policy& pb, const Params& params, const std::string& what) {
  PolicyRec r;
  const auto lim = static_cast<int>(params.max_policy_entries());
  if (pb.budgets_size() > lim || pb.allowed_msgs_size() > lim || pb.counterparties_size() > lim ||
      pb.resource_kinds_size() > lim || pb.max_price_per_block_size() > lim)
    return InvalidPolicy(what, "a list has more than " + std::to_string(lim) + " entries");
  auto budgets = CoinsFromProto(pb.budgets());
  if (!budgets.ok()) return InvalidPolicy(what, "budgets: " + budgets.error().message);
  for (const auto& c : pb.budgets())
    if (!c.amount().empty() && c.amount() == "0")
      return InvalidPolicy(what, "budgets: a zero budget for " + c.denom() + " (leave the denom out to forbid it)");
  r.budgets = budgets.value();
  if (pb.period_blocks() < 1 && !(pb.period_blocks() == 0 && r.budgets.empty()))
    return InvalidPolicy(what, "period_blocks must be >= 1 (0 only without budgets)");
  r.period_blocks = std::max<int64_t>(1, pb.period_blocks());
  for (const auto& t : pb.allowed_msgs()) {
    if (t.size() < 2 || t[0] != '/')
      return InvalidPolicy(what, "allowed_msgs: '" + t + "' is not a type URL (/depai.bank.v1.MsgSend)");
    r.allowed_msgs.push_back(t);
  }
  for (const auto& c : pb.counterparties()) {
    if (c.rfind("did:depai:", 0) == 0) {
      if (c.size() == 10) return InvalidPolicy(what, "counterparties: '" + c + "' has no identifier");
      r.counterparty_dids.push_back(c);
      continue;
    }
    auto a = crypto::AddressFromBech32(c);
    if (!a.ok()) return InvalidPolicy(what, "counterparties: '" + c + "' is neither an address nor a did:depai: DID");
    r.counterparty_addrs.push_back(a.value());
  }
  for (const auto& k : pb.resource_kinds()) {
    bool known = false;
    for (const char* kind : kResourceKinds) known = known || k == kind;
    if (!known)
      return InvalidPolicy(what, "resource_kinds: '" + k + "' is not one of cpu, memory, gpu, storage, bandwidth");
    r.resource_kinds.push_back(k);
  }
  auto caps = CoinsFromProto(pb.max_price_per_block());
  if (!caps.ok()) return InvalidPolicy(what, "max_price_per_block: " + caps.error().message);
  r.price_caps = caps.value();
  if (pb.expires_height() < 0) return InvalidPolicy(what, "expires_height must not be negative");
  r.expires_height = pb.expires_height();
  std::sort(r.allowed_msgs.begin(), r.allowed_msgs.end());
  std::sort(r.counterparty_addrs.begin(), r.counterparty_addrs.end());
  std::sort(r.counterparty_dids.begin(), r.counterparty_dids.end());
  std::sort(r.resource_kinds.begin(), r.resource_kinds.end());
  return r;
}

Bytes WalletAddress(std::string_view owner20, uint64_t n) {
  Bytes pre = "depai-wallet";
  pre.append(owner20);
  PutU64BE(pre, n);
  return crypto::Sha256(pre).substr(0, 20);
}

// ---- views ----------------------------------------------------------------------------------

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  return DecodeRecord<Params>(*v, "wallet params");
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<std::optional<Wallet>> Keeper::wallet(const store::KVReader& s, std::string_view w20) const {
  auto v = s.get(keys::Wallet(w20));
  if (!v) return std::optional<Wallet>();
  DEPAI_ASSIGN_OR_RETURN(Wallet w, DecodeRecord<Wallet>(*v, "wallet"));
  return std::optional<Wallet>(std::move(w));
}

Result<std::optional<SessionKey>> Keeper::session_key(const store::KVReader& s, std::string_view w20,
                                                      std::string_view pub) const {
  auto v = s.get(keys::Key(w20, pub));
  if (!v) return std::optional<SessionKey>();
  DEPAI_ASSIGN_OR_RETURN(SessionKey k, DecodeRecord<SessionKey>(*v, "session key"));
  return std::optional<SessionKey>(std::move(k));
}

Status Keeper::for_each_wallet(const store::KVReader& s, const std::function<bool(const Wallet&)>& fn) const {
  return ForEachRecord(
      s, keys::kWalletPrefix, [](std::string_view v) { return DecodeRecord<Wallet>(v, "wallet"); },
      [&](std::string_view, const Wallet& w) { return fn(w); });
}

Status Keeper::for_each_key(const store::KVReader& s, std::string_view w20,
                            const std::function<bool(const SessionKey&)>& fn) const {
  return ForEachRecord(
      s, keys::KeysOf(w20), [](std::string_view v) { return DecodeRecord<SessionKey>(v, "session key"); },
      [&](std::string_view, const SessionKey& k) { return fn(k); });
}

Status Keeper::for_each_wallet_of(const store::KVReader& s, std::string_view owner20,
                                  const std::function<bool(const Wallet&)>& fn) const {
  const std::string prefix = keys::OwnedBy(owner20);
  Status st;
  s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view k, std::string_view) {
    auto w = wallet(s, k.substr(prefix.size()));
    if (!w.ok()) {
      st = w.error();
      return false;
    }
    if (!w.value()) {
      st = Fault(kFaultInvariant, "owner index names a wallet that does not exist");
      return false;
    }
    return fn(*w.value());
  });
  return st;
}

Result<uint64_t> Keeper::wallet_count(const store::KVReader& s, std::string_view owner20) const {
  auto v = s.get(keys::Count(owner20));
  if (!v) return uint64_t{0};
  return DecodeU64Record(*v, "wallet count");
}
void Keeper::set_wallet_count(store::KVStore& s, std::string_view owner20, uint64_t n) const {
  s.set(keys::Count(owner20), U64BE(n));
}

Result<std::optional<Spend>> Keeper::wallet_spend(const store::KVReader& s, std::string_view w20) const {
  auto v = s.get(keys::Spend(w20));
  if (!v) return std::optional<Spend>();
  DEPAI_ASSIGN_OR_RETURN(Spend sp, DecodeRecord<Spend>(*v, "wallet spend"));
  return std::optional<Spend>(std::move(sp));
}
Result<std::optional<Spend>> Keeper::key_spend(const store::KVReader& s, std::string_view w20,
                                               std::string_view pub) const {
  auto v = s.get(keys::KeySpend(w20, pub));
  if (!v) return std::optional<Spend>();
  DEPAI_ASSIGN_OR_RETURN(Spend sp, DecodeRecord<Spend>(*v, "session key spend"));
  return std::optional<Spend>(std::move(sp));
}

Result<PeriodView> Keeper::period_of(const store::KVReader& s, std::string_view spend_key, int64_t start,
                                     int64_t period_blocks, int64_t height) const {
  PeriodView pv;
  const int64_t rel = height > start ? height - start : 0;
  pv.period = rel / period_blocks;
  pv.start_height = start + pv.period * period_blocks;
  pv.end_height = pv.start_height + period_blocks - 1;
  auto v = s.get(spend_key);
  if (!v) return pv;
  DEPAI_ASSIGN_OR_RETURN(const Spend sp, DecodeRecord<Spend>(*v, "spend"));
  auto coins = CoinsFromProto(sp.spent());
  if (!coins.ok()) return Fault(kFaultCorruptRecord, "stored spend: " + coins.error().message);
  if (sp.period() == pv.period) pv.spent = coins.value();
  return pv;
}

Result<PeriodView> Keeper::wallet_period(const store::KVReader& s, const Wallet& w, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(const Bytes a, crypto::AddressFromBech32(w.address()));
  const int64_t pb = std::max<int64_t>(1, w.policy().period_blocks());
  return period_of(s, keys::Spend(a), w.created_height(), pb, height);
}
Result<PeriodView> Keeper::key_period(const store::KVReader& s, std::string_view w20, const SessionKey& k,
                                      int64_t height) const {
  const int64_t pb = std::max<int64_t>(1, k.policy().period_blocks());
  return period_of(s, keys::KeySpend(w20, k.pub_key()), k.added_height(), pb, height);
}

void Keeper::put_wallet(store::KVStore& s, const Wallet& w, std::string_view w20, std::string_view owner20) const {
  s.set(keys::Wallet(w20), DeterministicSerialize(w));
  s.set(keys::Owner(owner20, w20), "");
}
void Keeper::put_key(store::KVStore& s, std::string_view w20, const SessionKey& k) const {
  s.set(keys::Key(w20, k.pub_key()), DeterministicSerialize(k));
}
void Keeper::put_wallet_spend(store::KVStore& s, std::string_view w20, const Spend& sp) const {
  s.set(keys::Spend(w20), DeterministicSerialize(sp));
}
void Keeper::put_key_spend(store::KVStore& s, std::string_view w20, std::string_view pub, const Spend& sp) const {
  s.set(keys::KeySpend(w20, pub), DeterministicSerialize(sp));
}

// ---- owner messages ---------------------------------------------------------------------------

Result<Wallet> Keeper::owned_wallet(const store::KVReader& s, std::string_view w20, std::string_view owner20) const {
  DEPAI_ASSIGN_OR_RETURN(auto w, wallet(s, w20));
  if (!w) return WalletErr(kErrUnknownWallet, "no agent wallet " + B32(w20));
  if (w->owner() != B32(owner20))
    return WalletErr(kErrNotOwner, "wallet " + B32(w20) + " is owned by " + w->owner() + ", not " + B32(owner20));
  return *w;
}

Status Keeper::check_create(const store::KVReader& s, const CreateParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  if (m.label.size() > p.max_label_length())
    return WalletErr(kErrInvalidLabel, "label longer than " + std::to_string(p.max_label_length()) + " bytes");
  DEPAI_ASSIGN_OR_RETURN(const uint64_t n, wallet_count(s, m.signer));
  DEPAI_ASSIGN_OR_RETURN(const bool isw, is_wallet(s, m.signer));
  if (isw) return WalletErr(kErrMsgNotAllowed, "an agent wallet cannot create wallets");
  const Bytes addr = WalletAddress(m.signer, n);
  if (!m.deposit.empty()) DEPAI_TRY(bank_->check_send(s, m.signer, addr, m.deposit));
  return {};
}

Result<Bytes> Keeper::create(Context& ctx, const CreateParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const uint64_t n, wallet_count(s, m.signer));
  const Bytes addr = WalletAddress(m.signer, n);
  set_wallet_count(s, m.signer, n + 1);
  Wallet w;
  w.set_address(B32(addr));
  w.set_owner(B32(m.signer));
  *w.mutable_policy() = m.policy;
  w.set_label(m.label);
  w.set_created_height(ctx.header->height);
  put_wallet(s, w, addr, m.signer);
  DEPAI_TRY(bank_->ensure_account(s, addr));
  if (!m.deposit.empty()) DEPAI_TRY(bank_->send(ctx, m.signer, addr, m.deposit));
  ctx.events->emit_attrs("wallet.created", Attr("wallet", w.address(), true), Attr("owner", w.owner(), true),
                         Attr("label", m.label), Attr("deposit", m.deposit.str()));
  return addr;
}

Status Keeper::check_update_policy(const store::KVReader& s, const UpdatePolicyParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Wallet w, owned_wallet(s, m.wallet, m.signer));
  if (w.revoked()) return WalletErr(kErrWalletRevoked, "wallet " + w.address() + " was revoked; its policy is final");
  return {};
}
Status Keeper::update_policy(Context& ctx, const UpdatePolicyParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(Wallet w, owned_wallet(*ctx.store, m.wallet, m.signer));
  *w.mutable_policy() = m.policy;
  ctx.store->set(keys::Wallet(m.wallet), DeterministicSerialize(w));
  ctx.events->emit_attrs("wallet.policy_updated", Attr("wallet", w.address(), true));
  return {};
}

Status Keeper::check_add_key(const store::KVReader& s, const AddKeyParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Wallet w, owned_wallet(s, m.wallet, m.signer));
  if (w.revoked()) return WalletErr(kErrWalletRevoked, "wallet " + w.address() + " was revoked");
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  if (m.label.size() > p.max_label_length())
    return WalletErr(kErrInvalidLabel, "label longer than " + std::to_string(p.max_label_length()) + " bytes");
  DEPAI_ASSIGN_OR_RETURN(auto existing, session_key(s, m.wallet, m.pub_key));
  if (existing)
    return WalletErr(kErrKeyExists, "key " + HexEncode(m.pub_key) + " is already a session key of " + w.address() +
                                        (existing->revoked() ? " (revoked: a revoked key cannot come back)" : ""));
  uint32_t count = 0;
  DEPAI_TRY(for_each_key(s, m.wallet, [&](const SessionKey&) {
    ++count;
    return true;
  }));
  if (count >= p.max_session_keys())
    return WalletErr(kErrTooManyKeys, "wallet " + w.address() + " has " + std::to_string(count) +
                                          " session keys (revoked ones count), the maximum is " +
                                          std::to_string(p.max_session_keys()));
  return {};
}
Status Keeper::add_key(Context& ctx, const AddKeyParsed& m) const {
  SessionKey k;
  k.set_pub_key(m.pub_key);
  k.set_label(m.label);
  *k.mutable_policy() = m.policy;
  k.set_added_height(ctx.header->height);
  put_key(*ctx.store, m.wallet, k);
  ctx.events->emit_attrs("wallet.session_key_added", Attr("wallet", B32(m.wallet), true),
                         Attr("pub_key", HexEncode(m.pub_key), true), Attr("label", m.label));
  return {};
}

Status Keeper::check_revoke_key(const store::KVReader& s, const RevokeKeyParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Wallet w, owned_wallet(s, m.wallet, m.signer));
  DEPAI_ASSIGN_OR_RETURN(auto k, session_key(s, m.wallet, m.pub_key));
  if (!k)
    return WalletErr(kErrUnknownSessionKey, "key " + HexEncode(m.pub_key) + " is not a session key of " + w.address());
  if (k->revoked()) return WalletErr(kErrSessionKeyRevoked, "session key '" + k->label() + "' is already revoked");
  return {};
}
Status Keeper::revoke_key(Context& ctx, const RevokeKeyParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto k, session_key(*ctx.store, m.wallet, m.pub_key));
  if (!k) return Fault(kFaultInternal, "revoke_key: the checked session key is gone");
  k->set_revoked(true);
  put_key(*ctx.store, m.wallet, *k);
  ctx.events->emit_attrs("wallet.session_key_revoked", Attr("wallet", B32(m.wallet), true),
                         Attr("pub_key", HexEncode(m.pub_key), true), Attr("label", k->label()));
  return {};
}

Status Keeper::check_revoke_wallet(const store::KVReader& s, const RevokeWalletParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Wallet w, owned_wallet(s, m.wallet, m.signer));
  if (w.revoked()) return WalletErr(kErrWalletRevoked, "wallet " + w.address() + " is already revoked");
  return {};
}
Status Keeper::revoke_wallet(Context& ctx, const RevokeWalletParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(Wallet w, owned_wallet(*ctx.store, m.wallet, m.signer));
  w.set_revoked(true);
  ctx.store->set(keys::Wallet(m.wallet), DeterministicSerialize(w));
  ctx.events->emit_attrs("wallet.revoked", Attr("wallet", w.address(), true), Attr("owner", w.owner()));
  return {};
}

Status Keeper::check_fund(const store::KVReader& s, const FundParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto w, wallet(s, m.wallet));
  if (!w) return WalletErr(kErrUnknownWallet, "no agent wallet " + B32(m.wallet));
  return bank_->check_send(s, m.signer, m.wallet, m.amount);
}
Status Keeper::fund(Context& ctx, const FundParsed& m) const {
  DEPAI_TRY(bank_->send(ctx, m.signer, m.wallet, m.amount));
  ctx.events->emit_attrs("wallet.funded", Attr("wallet", B32(m.wallet), true), Attr("sender", B32(m.signer)),
                         Attr("amount", m.amount.str()));
  return {};
}

namespace {
// What a drain moves: the amount asked, or every transferable balance.
Result<Coins> DrainAmount(const BankKeeper& bank, const store::KVReader& s, const DrainParsed& m) {
  if (!m.amount.empty()) return m.amount;
  DEPAI_ASSIGN_OR_RETURN(const Coins all, bank.balances(s, m.wallet));
  std::vector<Coin> v;
  for (const auto& c : all.list())
    if (bank.transferable(s, c.denom)) v.push_back(c);
  return Coins::From(std::move(v));
}
}  // namespace

Status Keeper::check_drain(const store::KVReader& s, const DrainParsed& m) const {
  DEPAI_TRY(owned_wallet(s, m.wallet, m.signer).status());
  DEPAI_ASSIGN_OR_RETURN(const Coins amount, DrainAmount(*bank_, s, m));
  if (amount.empty())
    return WalletErr(kErrInvalidAmount, "wallet " + B32(m.wallet) + " holds nothing transferable to drain");
  return bank_->check_send(s, m.wallet, m.signer, amount);
}
Status Keeper::drain(Context& ctx, const DrainParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Coins amount, DrainAmount(*bank_, *ctx.store, m));
  DEPAI_TRY(bank_->send(ctx, m.wallet, m.signer, amount));
  ctx.events->emit_attrs("wallet.drained", Attr("wallet", B32(m.wallet), true), Attr("owner", B32(m.signer)),
                         Attr("amount", amount.str()));
  return {};
}

}  // namespace depai::x::wallet
