// x/wallet messages on the skeleton (x/types/module.h). validate parses addresses, coins, keys and
// the policy once; check and apply call the keeper. Only MsgFundWallet describes a spend: the
// owner's messages can never be signed by an agent wallet (a wallet cannot widen its own policy).
#include "crypto/ed25519.h"
#include "x/types/codec.h"
#include "x/wallet/module.h"

namespace depai::x::wallet {

using namespace depai::wallet::v1;  // NOLINT(google-build-using-namespace): the module's own protos

namespace {
// Policies are validated against the default limits here (stateless) and against the chain's
// params in check (a policy within the defaults but above a lowered limit is refused there).
Result<PolicyRec> Parse(const Policy& p, const std::string& what) { return ParsePolicy(p, DefaultParams(), what); }

Result<Bytes> PubKey(const std::string& k) {
  if (k.size() != crypto::kPubKeySize) return WalletErr(kErrInvalidKey, "pub_key must be a 32-byte ed25519 key");
  return k;
}

template <typename RC>
Result<Coins> PositiveCoins(const RC& rc, const char* what, bool allow_empty) {
  auto c = CoinsFromProto(rc);
  if (!c.ok()) return WalletErr(kErrInvalidAmount, std::string(what) + ": " + c.error().message);
  if (!allow_empty && c->empty()) return WalletErr(kErrInvalidAmount, std::string(what) + " must not be empty");
  return c.value();
}

Result<CreateParsed> ValidateCreate(const MsgCreateWallet& m) {
  CreateParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.rec, Parse(m.policy(), "policy"));
  p.policy = m.policy();
  DEPAI_ASSIGN_OR_RETURN(p.deposit, PositiveCoins(m.deposit(), "deposit", true));
  p.label = m.label();
  return p;
}
Result<UpdatePolicyParsed> ValidateUpdate(const MsgUpdatePolicy& m) {
  UpdatePolicyParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.wallet, ParseAddress(m.wallet(), "wallet"));
  DEPAI_ASSIGN_OR_RETURN(p.rec, Parse(m.policy(), "policy"));
  p.policy = m.policy();
  return p;
}
Result<AddKeyParsed> ValidateAddKey(const MsgAddSessionKey& m) {
  AddKeyParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.wallet, ParseAddress(m.wallet(), "wallet"));
  DEPAI_ASSIGN_OR_RETURN(p.pub_key, PubKey(m.pub_key()));
  DEPAI_ASSIGN_OR_RETURN(p.rec, Parse(m.policy(), "session key policy"));
  p.policy = m.policy();
  p.label = m.label();
  return p;
}
Result<RevokeKeyParsed> ValidateRevokeKey(const MsgRevokeSessionKey& m) {
  RevokeKeyParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.wallet, ParseAddress(m.wallet(), "wallet"));
  DEPAI_ASSIGN_OR_RETURN(p.pub_key, PubKey(m.pub_key()));
  return p;
}
Result<RevokeWalletParsed> ValidateRevokeWallet(const MsgRevokeWallet& m) {
  RevokeWalletParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.wallet, ParseAddress(m.wallet(), "wallet"));
  return p;
}
Result<FundParsed> ValidateFund(const MsgFundWallet& m) {
  FundParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.sender(), "sender"));
  DEPAI_ASSIGN_OR_RETURN(p.wallet, ParseAddress(m.wallet(), "wallet"));
  DEPAI_ASSIGN_OR_RETURN(p.amount, PositiveCoins(m.amount(), "amount", false));
  return p;
}
Result<DrainParsed> ValidateDrain(const MsgDrainWallet& m) {
  DrainParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.wallet, ParseAddress(m.wallet(), "wallet"));
  DEPAI_ASSIGN_OR_RETURN(p.amount, PositiveCoins(m.amount(), "amount", true));
  return p;
}

// check against the chain's params (limits may be lower than the defaults validate used).
Status CheckLimits(const Keeper& k, const store::KVReader& s, const Policy& pol, const std::string& what) {
  DEPAI_ASSIGN_OR_RETURN(const Params params, k.params(s));
  return ParsePolicy(pol, params, what).status();
}
}  // namespace

std::vector<MsgRoute> Module::routes() {
  return {
      MakeRoute(TypedRoute<MsgCreateWallet, CreateParsed>{
          kTypeCreateWallet, &ValidateCreate,
          [this](const View& v, const CreateParsed& p) -> Status {
            DEPAI_TRY(CheckLimits(keeper_, v.state, p.policy, "policy"));
            return keeper_.check_create(v.state, p);
          },
          [this](Context& ctx, const CreateParsed& p) { return keeper_.create(ctx, p).status(); }}),
      MakeRoute(TypedRoute<MsgUpdatePolicy, UpdatePolicyParsed>{
          kTypeUpdatePolicy, &ValidateUpdate,
          [this](const View& v, const UpdatePolicyParsed& p) -> Status {
            DEPAI_TRY(CheckLimits(keeper_, v.state, p.policy, "policy"));
            return keeper_.check_update_policy(v.state, p);
          },
          [this](Context& ctx, const UpdatePolicyParsed& p) { return keeper_.update_policy(ctx, p); }}),
      MakeRoute(TypedRoute<MsgAddSessionKey, AddKeyParsed>{
          kTypeAddSessionKey, &ValidateAddKey,
          [this](const View& v, const AddKeyParsed& p) -> Status {
            DEPAI_TRY(CheckLimits(keeper_, v.state, p.policy, "session key policy"));
            return keeper_.check_add_key(v.state, p);
          },
          [this](Context& ctx, const AddKeyParsed& p) { return keeper_.add_key(ctx, p); }}),
      MakeRoute(TypedRoute<MsgRevokeSessionKey, RevokeKeyParsed>{
          kTypeRevokeSessionKey, &ValidateRevokeKey,
          [this](const View& v, const RevokeKeyParsed& p) { return keeper_.check_revoke_key(v.state, p); },
          [this](Context& ctx, const RevokeKeyParsed& p) { return keeper_.revoke_key(ctx, p); }}),
      MakeRoute(TypedRoute<MsgRevokeWallet, RevokeWalletParsed>{
          kTypeRevokeWallet, &ValidateRevokeWallet,
          [this](const View& v, const RevokeWalletParsed& p) { return keeper_.check_revoke_wallet(v.state, p); },
          [this](Context& ctx, const RevokeWalletParsed& p) { return keeper_.revoke_wallet(ctx, p); }}),
      MakeRoute(TypedRoute<MsgFundWallet, FundParsed>{
          kTypeFundWallet, &ValidateFund,
          [this](const View& v, const FundParsed& p) { return keeper_.check_fund(v.state, p); },
          [this](Context& ctx, const FundParsed& p) { return keeper_.fund(ctx, p); }, &MessageToJson,
          [](const FundParsed& p) {
            MsgSpend s;
            s.outflow = p.amount;
            s.counterparties.push_back(p.wallet);
            return s;
          }}),
      MakeRoute(TypedRoute<MsgDrainWallet, DrainParsed>{
          kTypeDrainWallet, &ValidateDrain,
          [this](const View& v, const DrainParsed& p) { return keeper_.check_drain(v.state, p); },
          [this](Context& ctx, const DrainParsed& p) { return keeper_.drain(ctx, p); }}),
  };
}

}  // namespace depai::x::wallet
