// x/verify messages on the skeleton (x/types/module.h): register and deregister a checker,
// commit a root, attest, dispute, appeal. validate parses addresses and amounts once into the
// Parsed structs (keeper.h); check and apply call the keeper.
#include "x/verify/module.h"

namespace depai::x::verify {

namespace v1 = depai::verify::v1;

namespace {
Result<RegisterParsed> ValidateRegister(const v1::MsgRegisterChecker& m) {
  RegisterParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.address(), "address"));
  if (m.owner().empty()) {
    p.owner = p.signer;
  } else {
    DEPAI_ASSIGN_OR_RETURN(p.owner, ParseAddress(m.owner(), "owner"));
  }
  if (m.bond().denom() != kDenom)
    return VerifyErr(kErrInvalidBond, std::string("bond denom must be ") + kDenom + ", got '" + m.bond().denom() + "'");
  auto a = Amount::Parse(m.bond().amount());
  if (!a.ok()) return VerifyErr(kErrInvalidBond, "bond: " + a.error().message);
  if (a->is_zero()) return VerifyErr(kErrInvalidBond, "bond must be positive");
  p.bond = *a;
  return p;
}

Result<DeregisterParsed> ValidateDeregister(const v1::MsgDeregisterChecker& m) {
  DeregisterParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.address(), "address"));
  return p;
}

Result<CommitRootParsed> ValidateCommitRoot(const v1::MsgCommitRoot& m) {
  CommitRootParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.provider(), "provider"));
  if (m.challenge_id() == 0) return VerifyErr(kErrChallengeNotFound, "challenge_id must be set");
  if (m.root().size() != 32)
    return VerifyErr(kErrInvalidRoot, "root must be 32 bytes, got " + std::to_string(m.root().size()));
  p.challenge_id = m.challenge_id();
  p.root = m.root();
  return p;
}

Result<AttestParsed> ValidateAttest(const v1::MsgAttest& m) {
  AttestParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.checker(), "checker"));
  if (m.challenge_id() == 0) return VerifyErr(kErrChallengeNotFound, "challenge_id must be set");
  if (m.reason().size() > kMaxReason)
    return VerifyErr(kErrInvalidAttestation, "reason is longer than " + std::to_string(kMaxReason) + " bytes");
  for (char c : m.reason())
    if (static_cast<unsigned char>(c) < 0x20)
      return VerifyErr(kErrInvalidAttestation, "reason contains a control byte");
  if (!v1::ReasonCode_IsValid(m.reason_code()) || m.reason_code() == v1::REASON_NO_QUORUM ||
      m.reason_code() == v1::REASON_DISPUTE_ROW_WRONG || m.reason_code() == v1::REASON_ROOT_LATE)
    return VerifyErr(kErrInvalidAttestation, "reason_code is not one a checker may give");
  if (m.pass() != (m.reason_code() == v1::REASON_OK))
    return VerifyErr(kErrInvalidAttestation, "a pass carries REASON_OK and a fail carries a failure reason");
  p.challenge_id = m.challenge_id();
  p.m.set_checker(m.checker());
  p.m.set_pass(m.pass());
  p.m.set_reason_code(m.reason_code());
  p.m.set_reason(m.reason());
  p.m.set_rows_checked(m.rows_checked());
  p.m.set_failing_row(m.failing_row());
  p.m.set_answered(m.answered());
  p.m.set_latency_ms(m.latency_ms());
  return p;
}

Result<DisputeParsed> ValidateDispute(const v1::MsgDispute& m) {
  DisputeParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.sender(), "sender"));
  if (m.challenge_id() == 0) return VerifyErr(kErrChallengeNotFound, "challenge_id must be set");
  if (m.row().empty() || m.row().size() % 4 != 0)
    return VerifyErr(kErrInvalidDispute, "row must be a non-empty list of little-endian u32 values");
  if (m.proof_size() > 32) return VerifyErr(kErrInvalidDispute, "proof has more than 32 siblings");
  for (const auto& s : m.proof())
    if (s.size() != 32) return VerifyErr(kErrInvalidDispute, "every proof sibling must be 32 bytes");
  p.challenge_id = m.challenge_id();
  p.row_index = m.row_index();
  p.row = m.row();
  p.proof.assign(m.proof().begin(), m.proof().end());
  return p;
}

Result<AppealParsed> ValidateAppeal(const v1::MsgAppeal& m) {
  AppealParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.provider(), "provider"));
  if (m.verdict_id() == 0) return VerifyErr(kErrVerdictNotFound, "verdict_id must be set");
  p.verdict_id = m.verdict_id();
  return p;
}
}  // namespace

std::vector<MsgRoute> Module::routes() {
  const Keeper& k = keeper_;
  return {
      MakeRoute(TypedRoute<v1::MsgRegisterChecker, RegisterParsed>{
          kTypeRegisterChecker, &ValidateRegister,
          [&k](const View& v, const RegisterParsed& p) { return k.check_register(v.state, p); },
          [&k](Context& c, const RegisterParsed& p) { return k.register_checker(c, p); }, &ProtoToJson}),
      MakeRoute(TypedRoute<v1::MsgDeregisterChecker, DeregisterParsed>{
          kTypeDeregisterChecker, &ValidateDeregister,
          [&k](const View& v, const DeregisterParsed& p) { return k.check_deregister(v.state, p); },
          [&k](Context& c, const DeregisterParsed& p) { return k.deregister_checker(c, p); }, &ProtoToJson}),
      MakeRoute(TypedRoute<v1::MsgCommitRoot, CommitRootParsed>{
          kTypeCommitRoot, &ValidateCommitRoot,
          [&k](const View& v, const CommitRootParsed& p) { return k.check_commit_root(v.state, p, v.header.height); },
          [&k](Context& c, const CommitRootParsed& p) { return k.commit_root(c, p); }, &ProtoToJson}),
      MakeRoute(TypedRoute<v1::MsgAttest, AttestParsed>{
          kTypeAttest, &ValidateAttest,
          [&k](const View& v, const AttestParsed& p) { return k.check_attest(v.state, p, v.header.height); },
          [&k](Context& c, const AttestParsed& p) { return k.attest(c, p); }, &ProtoToJson}),
      MakeRoute(TypedRoute<v1::MsgDispute, DisputeParsed>{
          kTypeDispute, &ValidateDispute,
          [&k](const View& v, const DisputeParsed& p) { return k.check_dispute(v.state, p); },
          [&k](Context& c, const DisputeParsed& p) { return k.dispute(c, p); }, &ProtoToJson}),
      MakeRoute(TypedRoute<v1::MsgAppeal, AppealParsed>{
          kTypeAppeal, &ValidateAppeal,
          [&k](const View& v, const AppealParsed& p) { return k.check_appeal(v.state, p, v.header.height); },
          [&k](Context& c, const AppealParsed& p) { return k.appeal(c, p); }, &ProtoToJson}),
  };
}

}  // namespace depai::x::verify
