// x/wallet keeper: agent wallets with on-chain policies.
//
// An owner creates a wallet account for an agent (MsgCreateWallet). Nobody holds the wallet's own
// key (its address is a hash, not a public key's): only its session keys sign for it, through
// SignerInfo.wallet, and the ante handler (src/app/ante.cpp) asks this keeper, for every such tx:
//   1. authorize: the wallet exists and is not revoked; the key is one of its session keys, not
//      revoked; neither the wallet's policy nor the key's has expired (expires_height);
//   2. check_tx: every message's route describes its spend (x::MsgSpend; a message type nobody
//      described can never be signed by a wallet), and both policies (the wallet's, then the
//      key's) allow it: message type, counterparties (address, or DID through x/identity),
//      resource kinds, price per block caps, and the period budgets, counting the fee and the
//      declared outflow of every message so far;
//   3. record: the fee (in the ante, kept even when a message fails), then, after the messages
//      ran, the wallet's *measured* balance drop per denom (settle: refused when it passes a
//      budget, so an understated descriptor still cannot overspend).
// Every refusal is an ordinary error naming the rule and its numbers, e.g.
//   "budget 5000udpai/period (wallet policy): spent 4800, this message 400".
//
// Periods: period k of a policy covers heights [start + k*P, start + (k+1)*P), where start is the
// wallet's created_height (the wallet policy) or the key's added_height (the key's). A spend
// record from an older period counts as nothing: the next period's budget is whole again.
//
// State (prefix "wallet/", keys.h); only this keeper touches it. Views return Result: a stored
// record that does not decode is a fault. Files: keeper.cpp (records, owner messages),
// policy.cpp (authorize, check_tx, record, settle), invariants.cpp. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "depai/wallet/v1/wallet.pb.h"
#include "store/kv.h"
#include "util/amount.h"
#include "x/types/context.h"
#include "x/types/module.h"
#include "x/wallet/expected_keepers.h"

namespace depai::x::wallet {

inline constexpr const char* kCodespace = "wallet";
enum Code : uint32_t {
  kErrInvalidPolicy = 2,
  kErrUnknownWallet = 3,
  kErrNotOwner = 4,
  kErrWalletRevoked = 5,
  kErrUnknownSessionKey = 6,
  kErrSessionKeyRevoked = 7,
  kErrExpired = 8,
  kErrMsgNotAllowed = 9,  // the type is not in allowed_msgs, or no route describes its spend
  kErrCounterparty = 10,
  kErrResourceKind = 11,
  kErrPriceCap = 12,
  kErrBudget = 13,
  kErrTooManyKeys = 14,
  kErrKeyExists = 15,
  kErrInvalidKey = 16,
  kErrInvalidAmount = 17,
  kErrInvalidLabel = 18,
};
inline Error WalletErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

using depai::wallet::v1::Params;
using depai::wallet::v1::Policy;
using depai::wallet::v1::SessionKey;
using depai::wallet::v1::Spend;
using depai::wallet::v1::Wallet;

Params DefaultParams();
Status ValidateParams(const Params& p);

inline constexpr const char* kResourceKinds[] = {"cpu", "memory", "gpu", "storage", "bandwidth"};

// A policy, parsed once (addresses to bytes, coins to Coins, lists sorted).
struct PolicyRec {
  Coins budgets;
  int64_t period_blocks = 1;
  std::vector<std::string> allowed_msgs;
  std::vector<Bytes> counterparty_addrs;
  std::vector<std::string> counterparty_dids;
  std::vector<std::string> resource_kinds;
  Coins price_caps;
  int64_t expires_height = 0;
  bool any_counterparty() const { return counterparty_addrs.empty() && counterparty_dids.empty(); }
};
// Errors are kErrInvalidPolicy naming the field (`what` prefixes it: "policy", "session key policy").
Result<PolicyRec> ParsePolicy(const Policy& pb, const Params& params, const std::string& what);

// The address of the owner's n-th wallet: SHA-256("depai-wallet" || owner20 || u64be n)[:20].
Bytes WalletAddress(std::string_view owner20, uint64_t n);

// ---- parsed messages ----
struct CreateParsed {
  Bytes signer;  // owner
  Policy policy;
  PolicyRec rec;
  Coins deposit;
  std::string label;
};
struct UpdatePolicyParsed {
  Bytes signer;  // owner
  Bytes wallet;
  Policy policy;
  PolicyRec rec;
};
struct AddKeyParsed {
  Bytes signer;  // owner
  Bytes wallet;
  Bytes pub_key;
  std::string label;
  Policy policy;
  PolicyRec rec;
};
struct RevokeKeyParsed {
  Bytes signer;  // owner
  Bytes wallet;
  Bytes pub_key;
};
struct RevokeWalletParsed {
  Bytes signer;  // owner
  Bytes wallet;
};
struct FundParsed {
  Bytes signer;  // sender
  Bytes wallet;
  Coins amount;
};
struct DrainParsed {
  Bytes signer;  // owner
  Bytes wallet;
  Coins amount;  // empty: every transferable balance
};

// A wallet and the session key signing a tx for it, as authorize found them.
struct SessionAuth {
  Bytes wallet;
  Wallet rec;
  PolicyRec wallet_policy;
  Bytes pub_key;
  SessionKey key;
  PolicyRec key_policy;
};

// One message of a wallet-signed tx: its type and its route's spend (nullopt: the route has none).
struct TxMsg {
  std::string type_url;
  std::optional<MsgSpend> spend;
};

// A policy's period at a height, and what was spent in it.
struct PeriodView {
  int64_t period = 0;
  int64_t start_height = 0;  // of the period
  int64_t end_height = 0;    // last height of the period
  Coins spent;
};

class Keeper {
 public:
  Keeper(const BankKeeper* bank, const IdentityKeeper* identity) : bank_(bank), identity_(identity) {}
  void set_identity(const IdentityKeeper* identity) { identity_ = identity; }

  // ---- views ----
  Result<Params> params(const store::KVReader& s) const;  // defaults when none are stored
  void set_params(store::KVStore& s, const Params& p) const;
  Result<std::optional<Wallet>> wallet(const store::KVReader& s, std::string_view w20) const;
  Result<std::optional<SessionKey>> session_key(const store::KVReader& s, std::string_view w20,
                                                std::string_view pub) const;
  Status for_each_wallet(const store::KVReader& s, const std::function<bool(const Wallet&)>& fn) const;
  Status for_each_key(const store::KVReader& s, std::string_view w20,
                      const std::function<bool(const SessionKey&)>& fn) const;
  Status for_each_wallet_of(const store::KVReader& s, std::string_view owner20,
                            const std::function<bool(const Wallet&)>& fn) const;
  Result<uint64_t> wallet_count(const store::KVReader& s, std::string_view owner20) const;
  // The spend records as stored (nullopt: none).
  Result<std::optional<Spend>> wallet_spend(const store::KVReader& s, std::string_view w20) const;
  Result<std::optional<Spend>> key_spend(const store::KVReader& s, std::string_view w20, std::string_view pub) const;
  // The period a block at `height` is in, for the wallet's policy / a key's, with its spend.
  Result<PeriodView> wallet_period(const store::KVReader& s, const Wallet& w, int64_t height) const;
  Result<PeriodView> key_period(const store::KVReader& s, std::string_view w20, const SessionKey& k,
                                int64_t height) const;

  // ---- owner messages: check reads only; the write assumes the check passed ----
  Status check_create(const store::KVReader& s, const CreateParsed& m) const;
  Result<Bytes> create(Context& ctx, const CreateParsed& m) const;  // the new wallet's address
  Status check_update_policy(const store::KVReader& s, const UpdatePolicyParsed& m) const;
  Status update_policy(Context& ctx, const UpdatePolicyParsed& m) const;
  Status check_add_key(const store::KVReader& s, const AddKeyParsed& m) const;
  Status add_key(Context& ctx, const AddKeyParsed& m) const;
  Status check_revoke_key(const store::KVReader& s, const RevokeKeyParsed& m) const;
  Status revoke_key(Context& ctx, const RevokeKeyParsed& m) const;
  Status check_revoke_wallet(const store::KVReader& s, const RevokeWalletParsed& m) const;
  Status revoke_wallet(Context& ctx, const RevokeWalletParsed& m) const;
  Status check_fund(const store::KVReader& s, const FundParsed& m) const;
  Status fund(Context& ctx, const FundParsed& m) const;
  Status check_drain(const store::KVReader& s, const DrainParsed& m) const;
  Status drain(Context& ctx, const DrainParsed& m) const;

  // ---- the ante's calls for a wallet-signed tx (policy.cpp) ----
  // True iff `addr` is an agent wallet (its txs must be signed through SignerInfo.wallet).
  Result<bool> is_wallet(const store::KVReader& s, std::string_view addr) const;
  Result<SessionAuth> authorize(const store::KVReader& s, std::string_view w20, std::string_view pub,
                                int64_t height) const;
  Status check_tx(const store::KVReader& s, const SessionAuth& a, const Coins& fee, const std::vector<TxMsg>& msgs,
                  int64_t height) const;
  // Adds `amount` to the current period's spend of the wallet and of the key (no budget check:
  // check_tx has just passed on the same state). Emits wallet.spent.
  Status record(Context& ctx, const SessionAuth& a, const Coins& amount, std::string_view what) const;
  // After the messages: `before` is the wallet's balances before them. The measured drop per
  // denom must fit both budgets (kErrBudget naming "measured"); then it is recorded.
  Status settle(Context& ctx, const SessionAuth& a, const Coins& before) const;

  // ---- invariants (invariants.cpp); a break is Fault(kFaultInvariant) ----
  Status check_invariants(const store::KVReader& s) const;

  // Genesis import helpers.
  void put_wallet(store::KVStore& s, const Wallet& w, std::string_view w20, std::string_view owner20) const;
  void put_key(store::KVStore& s, std::string_view w20, const SessionKey& k) const;
  void put_wallet_spend(store::KVStore& s, std::string_view w20, const Spend& sp) const;
  void put_key_spend(store::KVStore& s, std::string_view w20, std::string_view pub, const Spend& sp) const;
  void set_wallet_count(store::KVStore& s, std::string_view owner20, uint64_t n) const;

 private:
  Result<Wallet> owned_wallet(const store::KVReader& s, std::string_view w20, std::string_view owner20) const;
  Status check_policy(const store::KVReader& s, const PolicyRec& p, const std::string& who, const TxMsg& m,
                      int64_t height) const;
  Status check_counterparty(const store::KVReader& s, const PolicyRec& p, const std::string& who,
                            std::string_view addr) const;
  Result<PeriodView> period_of(const store::KVReader& s, std::string_view spend_key, int64_t start,
                               int64_t period_blocks, int64_t height) const;

  const BankKeeper* bank_;
  const IdentityKeeper* identity_;
};

}  // namespace depai::x::wallet
