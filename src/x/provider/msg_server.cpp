// x/provider messages on the skeleton (x/types/module.h): register, update, deregister, sign and
// delete attributes, heartbeat. validate parses addresses, amounts and attributes once into the
// Parsed structs (keeper.h); check and apply call the keeper. Nothing else lives here.
#include <algorithm>

#include "x/provider/module.h"

namespace depai::x::provider {

using depai::provider::v1::MsgDeleteProviderAttributes;
using depai::provider::v1::MsgDeregisterProvider;
using depai::provider::v1::MsgProviderHeartbeat;
using depai::provider::v1::MsgRegisterProvider;
using depai::provider::v1::MsgSignProviderAttributes;
using depai::provider::v1::MsgUpdateProvider;

namespace {
// Collateral coin of a message: udpai, positive. `optional`: an unset coin or a zero amount means none.
Result<Amount> CollateralOf(const depai::tx::v1::Coin& c, const char* field, bool optional) {
  if (optional && c.denom().empty() && (c.amount().empty() || c.amount() == "0")) return Amount();
  if (c.denom() != kBondDenom)
    return ProviderErr(kErrInvalidCollateral,
                       std::string(field) + " denom must be " + kBondDenom + ", got '" + c.denom() + "'");
  auto a = Amount::Parse(c.amount());
  if (!a.ok()) return ProviderErr(kErrInvalidCollateral, std::string(field) + ": " + a.error().message);
  if (a->is_zero() && !optional) return ProviderErr(kErrInvalidCollateral, std::string(field) + " must be positive");
  return a;
}

// The detail fields of a registration message as a Provider (attributes sorted by key).
template <typename M>
Provider DetailsOf(const M& m) {
  Provider p;
  p.set_endpoint(m.endpoint());
  *p.mutable_location() = m.location();
  p.set_region(m.region());
  for (auto& a : SortedAttributes(m.attributes())) *p.add_attributes() = std::move(a);
  *p.mutable_resources() = m.resources();
  return p;
}

Result<RegisterParsed> ValidateRegister(const MsgRegisterProvider& m) {
  RegisterParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_TRY(ValidateDetails(m));
  DEPAI_ASSIGN_OR_RETURN(p.collateral, CollateralOf(m.collateral(), "collateral", false));
  p.owner = m.owner();
  p.details = DetailsOf(m);
  return p;
}

Result<UpdateParsed> ValidateUpdate(const MsgUpdateProvider& m) {
  UpdateParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_TRY(ValidateDetails(m));
  DEPAI_ASSIGN_OR_RETURN(p.collateral_add, CollateralOf(m.collateral_add(), "collateral_add", true));
  p.owner = m.owner();
  p.details = DetailsOf(m);
  return p;
}

Result<DeregisterParsed> ValidateDeregister(const MsgDeregisterProvider& m) {
  DeregisterParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  p.owner = m.owner();
  return p;
}

Result<HeartbeatParsed> ValidateHeartbeat(const MsgProviderHeartbeat& m) {
  HeartbeatParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  p.owner = m.owner();
  return p;
}

Result<SignParsed> ValidateSign(const MsgSignProviderAttributes& m) {
  SignParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.auditor(), "auditor"));
  DEPAI_ASSIGN_OR_RETURN(p.provider, ParseAddress(m.provider(), "provider"));
  DEPAI_TRY(ValidateAttributes(m.attributes(), "attributes", true));
  p.auditor_bech32 = m.auditor();
  p.provider_bech32 = m.provider();
  p.attributes = SortedAttributes(m.attributes());
  return p;
}

Result<DeleteParsed> ValidateDelete(const MsgDeleteProviderAttributes& m) {
  DeleteParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.auditor(), "auditor"));
  DEPAI_ASSIGN_OR_RETURN(p.provider, ParseAddress(m.provider(), "provider"));
  if (static_cast<size_t>(m.keys().size()) > kMaxAttributes)
    return ProviderErr(kErrInvalidAttributes, "keys has more than " + std::to_string(kMaxAttributes) + " entries");
  p.keys.assign(m.keys().begin(), m.keys().end());
  for (const auto& k : p.keys) DEPAI_TRY(ValidateAttributeKey(k, "keys"));
  std::vector<std::string> sorted = p.keys;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i - 1] == sorted[i])
      return ProviderErr(kErrInvalidAttributes, "keys: '" + sorted[i] + "' appears more than once");
  p.auditor_bech32 = m.auditor();
  p.provider_bech32 = m.provider();
  return p;
}
}  // namespace

std::vector<MsgRoute> Module::routes() {
  return {
      MakeRoute(TypedRoute<MsgRegisterProvider, RegisterParsed>{
          kTypeRegister, &ValidateRegister,
          [this](const View& v, const RegisterParsed& p) { return keeper_.check_register(v.state, p); },
          [this](Context& ctx, const RegisterParsed& p) { return keeper_.register_provider(ctx, p); }}),
      MakeRoute(TypedRoute<MsgUpdateProvider, UpdateParsed>{
          kTypeUpdate, &ValidateUpdate,
          [this](const View& v, const UpdateParsed& p) { return keeper_.check_update(v.state, p); },
          [this](Context& ctx, const UpdateParsed& p) { return keeper_.update_provider(ctx, p); }}),
      MakeRoute(TypedRoute<MsgDeregisterProvider, DeregisterParsed>{
          kTypeDeregister, &ValidateDeregister,
          [this](const View& v, const DeregisterParsed& p) { return keeper_.check_deregister(v.state, p); },
          [this](Context& ctx, const DeregisterParsed& p) { return keeper_.deregister_provider(ctx, p); }}),
      MakeRoute(TypedRoute<MsgSignProviderAttributes, SignParsed>{
          kTypeSign, &ValidateSign,
          [this](const View& v, const SignParsed& p) { return keeper_.check_sign_attributes(v.state, p); },
          [this](Context& ctx, const SignParsed& p) { return keeper_.sign_attributes(ctx, p); }}),
      MakeRoute(TypedRoute<MsgDeleteProviderAttributes, DeleteParsed>{
          kTypeDelete, &ValidateDelete,
          [this](const View& v, const DeleteParsed& p) { return keeper_.check_delete_attributes(v.state, p); },
          [this](Context& ctx, const DeleteParsed& p) { return keeper_.delete_attributes(ctx, p); }}),
      MakeRoute(TypedRoute<MsgProviderHeartbeat, HeartbeatParsed>{
          kTypeHeartbeat, &ValidateHeartbeat,
          [this](const View& v, const HeartbeatParsed& p) {
            return keeper_.check_heartbeat(v.state, p, v.header.height);
          },
          [this](Context& ctx, const HeartbeatParsed& p) { return keeper_.heartbeat(ctx, p); }}),
  };
}

}  // namespace depai::x::provider
