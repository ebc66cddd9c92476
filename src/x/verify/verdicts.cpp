// x/verify verdicts: reputation, SLA windows, slashes and buyer refunds, finality (refunds paid,
// the rest to the treasury, checkers paid or struck), appeals and on-chain disputes.
#include <algorithm>

#include "crypto/bech32.h"
#include "proof/compute.h"
#include "proof/merkle.h"
#include "x/types/codec.h"
#include "x/verify/keeper.h"
#include "x/verify/keys.h"

namespace depai::x::verify {

using depai::verify::v1::CHALLENGE_KIND_COMPUTE;
using depai::verify::v1::CHALLENGE_KIND_LIVENESS;
using depai::verify::v1::CHALLENGE_STATE_AWAITING_ATTESTATIONS;
using depai::verify::v1::CHALLENGE_STATE_DECIDED;
using depai::verify::v1::FAULT_DECEPTION;
using depai::verify::v1::FAULT_DOWNTIME;
using depai::verify::v1::FAULT_NONE;
using depai::verify::v1::ReasonCode;
using depai::verify::v1::VERDICT_STATE_APPEALED;
using depai::verify::v1::VERDICT_STATE_FINAL;
using depai::verify::v1::VERDICT_STATE_OVERTURNED;
using depai::verify::v1::VERDICT_STATE_PENDING;

namespace {
Coins Udpai(Amount a) {
  auto c = Coins::From({Coin{kDenom, a}});
  return c.ok() ? c.value() : Coins();
}
Result<Bytes> Addr(const std::string& bech32) {
  auto a = crypto::AddressFromBech32(bech32);
  if (!a.ok()) return Fault(kFaultCorruptRecord, "stored address '" + bech32 + "' does not parse");
  return *a;
}
uint32_t Ema(uint32_t before, bool pass, uint32_t alpha) {
  const uint64_t score = pass ? 10000 : 0;
  return static_cast<uint32_t>((static_cast<uint64_t>(before) * (10000 - alpha) + score * alpha) / 10000);
}
Amount AmountOr0(const std::string& s) {
  auto a = Amount::Parse(s);
  return a.ok() ? *a : Amount();
}
std::string KindName(depai::verify::v1::ChallengeKind k) {
  return k == CHALLENGE_KIND_COMPUTE ? "compute" : "liveness";
}

struct Affected {
  LeaseInfo lease;
  int64_t from = 0, to = 0;
};
}  // namespace

// ---- issuing a verdict -----------------------------------------------------------------------

Result<uint64_t> Keeper::issue_verdict(Context& ctx, const Params& p, Challenge& c, bool quorum_pass, bool pass,
                                       ReasonCode code, const std::string& reason, std::vector<Measurement> ms,
                                       uint32_t median_latency, bool no_effect) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(Bytes prov, Addr(c.provider()));
  const bool is_appeal = c.appeal_of() != 0;

  // An appeal's outcome first: a pass overturns the original (restoring its slash and
  // reputation); anything else makes the original final now.
  if (is_appeal) {
    DEPAI_ASSIGN_OR_RETURN(auto orig, verdict(s, c.appeal_of()));
    if (orig && orig->state() == VERDICT_STATE_APPEALED) {
      if (pass && !no_effect) {
        DEPAI_TRY(overturn(ctx, p, *orig, "the appeal challenge passed"));
      } else {
        orig->set_state(VERDICT_STATE_PENDING);
        DEPAI_TRY(finalize(ctx, p, *orig));
      }
    }
  }

  DEPAI_ASSIGN_OR_RETURN(uint64_t id, next_id(s, "verdict"));
  Verdict v;
  v.set_id(id);
  v.set_challenge_id(c.id());
  v.set_provider(c.provider());
  v.set_kind(c.kind());
  v.set_pass(pass);
  v.set_reason_code(code);
  v.set_reason(reason);
  for (auto& m : ms) *v.add_measurements() = std::move(m);
  v.set_median_latency_ms(median_latency);
  v.set_height(h);
  v.set_state(VERDICT_STATE_PENDING);
  v.set_final_height(h + p.appeal_window());
  v.set_quorum_pass(quorum_pass);
  v.set_appeal(is_appeal);
  v.set_fault(FAULT_NONE);
  v.set_slashed("0");
  v.set_to_treasury("0");

  // Which leases are hurt, and the fault.
  std::vector<Affected> affected;
  if (!no_effect && !is_appeal) {
    DEPAI_ASSIGN_OR_RETURN(auto leases, market_->active_leases(s, prov));
    if (c.kind() == CHALLENGE_KIND_COMPUTE && !pass && code != depai::verify::v1::REASON_OFFLINE) {
      v.set_fault(FAULT_DECEPTION);
      for (const auto& l : leases) affected.push_back(Affected{l, std::max(l.start_height + 1, c.created_height()), h});
    } else if (c.kind() == CHALLENGE_KIND_LIVENESS) {
      std::string breaches;
      for (const auto& l : leases) {
        if (l.min_uptime_bps == 0) continue;
        DEPAI_ASSIGN_OR_RETURN(auto st, sla(s, l.id));
        SlaState sl;
        if (st) {
          sl = *st;
        } else {
          sl.set_lease_id(l.id);
          sl.set_provider(c.provider());
          sl.set_min_uptime_bps(l.min_uptime_bps);
          sl.set_max_latency_ms(l.max_latency_ms);
          sl.set_window_start(l.start_height);
          sl.set_last_pass_height(l.start_height);
        }
        if (h >= sl.window_start() + p.sla_window_blocks()) {
          sl.set_window_start(h);
          sl.set_probes(0);
          sl.set_passes(0);
        }
        const bool latency_ok = l.max_latency_ms == 0 || median_latency <= l.max_latency_ms;
        const bool ok = pass && latency_ok;
        sl.set_probes(sl.probes() + 1);
        if (ok) {
          sl.set_passes(sl.passes() + 1);
          sl.set_last_pass_height(h);
        }
        // The window's error budget: the probes it expects times the allowed failure share.
        const uint64_t expected = std::max<int64_t>(1, p.sla_window_blocks() / p.epoch_blocks());
        const uint64_t allowed = expected * (10000 - l.min_uptime_bps) / 10000;
        const uint64_t failed = sl.probes() - sl.passes();
        if (failed > allowed) {
          affected.push_back(Affected{l, std::max(l.start_height + 1, sl.last_pass_height() + 1), h});
          s.del(keys::Sla(l.id));
          if (pass)
            breaches += "; lease " + std::to_string(l.id) + ": median latency " + std::to_string(median_latency) +
                        " ms > " + std::to_string(l.max_latency_ms) + " ms";
        } else {
          s.set(keys::Sla(l.id), DeterministicSerialize(sl));
        }
      }
      if (!affected.empty()) {
        v.set_fault(FAULT_DOWNTIME);
        if (pass) {  // answered, but slower than a lease's SLA allows
          v.set_pass(false);
          v.set_reason_code(depai::verify::v1::REASON_LATENCY);
          v.set_reason(reason + breaches);
        }
      }
    }
  }

  // Reputation: an integer EMA of verdicts (appeal failures and no-quorum rounds do not count).
  DEPAI_ASSIGN_OR_RETURN(const uint32_t before, reputation_bps(s, prov));
  v.set_reputation_before(before);
  if (!no_effect && !(is_appeal && !v.pass())) {
    DEPAI_ASSIGN_OR_RETURN(auto rec, reputation(s, prov));
    Reputation r = rec ? *rec : Reputation();
    r.set_provider(c.provider());
    r.set_bps(Ema(before, v.pass(), p.reputation_alpha_bps()));
    r.set_verdicts(r.verdicts() + 1);
    if (v.pass()) r.set_passes(r.passes() + 1);
    r.set_last_height(h);
    DEPAI_TRY(set_reputation(s, prov, r));
  }

  // The slash, held until the verdict is final; refunds for the breached blocks from it.
  if (v.fault() != FAULT_NONE) {
    DEPAI_ASSIGN_OR_RETURN(auto pr, providers_->get(s, prov));
    const Amount collateral = pr ? AmountOr0(pr->collateral()) : Amount();
    const uint32_t bps = v.fault() == FAULT_DECEPTION ? p.slash_deception_bps() : p.slash_downtime_bps();
    DEPAI_ASSIGN_OR_RETURN(Amount want, collateral.mul_div(bps, 10000));
    DEPAI_ASSIGN_OR_RETURN(Amount taken, providers_->slash(ctx, prov, want, SlashAddress()));
    Amount left = taken;
    for (const auto& a : affected) {
      const int64_t blocks = a.to >= a.from ? a.to - a.from + 1 : 0;
      DEPAI_ASSIGN_OR_RETURN(Amount owed, a.lease.rate.mul_div(static_cast<uint64_t>(blocks), 1));
      const Amount give = std::min(owed, left);
      left = left.sub(give).value();
      auto* rf = v.add_refunds();
      rf->set_lease_id(a.lease.id);
      rf->set_owner(crypto::AddressToBech32(a.lease.owner));
      rf->set_amount(give.str());
      rf->set_from_height(a.from);
      rf->set_to_height(a.to);
    }
    v.set_slashed(taken.str());
    v.set_to_treasury(left.str());
    for (const auto& a : affected) {
      DEPAI_TRY(market_->close_unstable(ctx, a.lease.id));
      v.add_closed_leases(a.lease.id);
    }
    if (ctx.events)
      ctx.events->emit("verify.slashed", {{"verdict_id", std::to_string(id)},
                                          {"provider", c.provider()},
                                          {"fault", depai::verify::v1::Fault_Name(v.fault())},
                                          {"amount", taken.str()}});
  }

  c.set_state(CHALLENGE_STATE_DECIDED);
  c.set_verdict_id(id);
  set_challenge(s, c);
  if (!is_appeal) {
    // Free the provider's slot for this kind, unless a newer challenge holds it.
    const std::string ok = keys::Open(prov, static_cast<uint8_t>(c.kind()));
    auto cur = s.get(ok);
    if (cur && cur->size() == 8 && GetU64BE(*cur) == c.id()) s.del(ok);
  }
  set_verdict(s, v);
  s.set(keys::History(prov, id), "");
  set_due(s, v.final_height(), keys::kDueFinal, id, true);
  if (ctx.events)
    ctx.events->emit("verify.verdict", {{"verdict_id", std::to_string(id)},
                                        {"challenge_id", std::to_string(c.id())},
                                        {"provider", c.provider()},
                                        {"kind", KindName(c.kind())},
                                        {"pass", v.pass() ? "true" : "false"},
                                        {"reason_code", depai::verify::v1::ReasonCode_Name(v.reason_code())},
                                        {"reason", v.reason()},
                                        {"fault", depai::verify::v1::Fault_Name(v.fault())},
                                        {"slashed", v.slashed()}});
  return id;
}

// ---- finality -------------------------------------------------------------------------------

Status Keeper::finalize(Context& ctx, const Params& p, Verdict& v) const {
  if (v.state() != VERDICT_STATE_PENDING) return {};
  auto& s = *ctx.store;
  for (const auto& r : v.refunds()) {
    DEPAI_ASSIGN_OR_RETURN(Amount a, DecodeAmountField(r.amount(), "refund amount"));
    if (a.is_zero()) continue;
    DEPAI_ASSIGN_OR_RETURN(Bytes owner, Addr(r.owner()));
    DEPAI_TRY(bank_->send(ctx, SlashAddress(), owner, Udpai(a)));
    if (ctx.events)
      ctx.events->emit("verify.refund", {{"verdict_id", std::to_string(v.id())},
                                         {"lease_id", std::to_string(r.lease_id())},
                                         {"owner", r.owner()},
                                         {"amount", a.str()},
                                         {"blocks", std::to_string(r.to_height() - r.from_height() + 1)}});
  }
  DEPAI_ASSIGN_OR_RETURN(Amount rest, DecodeAmountField(v.to_treasury(), "verdict to_treasury"));
  if (!rest.is_zero()) DEPAI_TRY(bank_->send(ctx, SlashAddress(), TreasuryAddress(), Udpai(rest)));
  // Checkers: paid when they agree with the quorum, struck when they do not.
  if (v.reason_code() != depai::verify::v1::REASON_NO_QUORUM) {
    const Amount reward = AmountOr0(p.reward_per_attestation());
    for (const auto& m : v.measurements()) {
      DEPAI_ASSIGN_OR_RETURN(Bytes ca, Addr(m.checker()));
      if (m.pass() != v.quorum_pass()) {
        DEPAI_TRY(strike(ctx, p, m.checker()));
        continue;
      }
      DEPAI_ASSIGN_OR_RETURN(auto ck, checker(s, ca));
      if (!ck) continue;
      ck->set_agreed(ck->agreed() + 1);
      if (!reward.is_zero()) {
        DEPAI_ASSIGN_OR_RETURN(Amount pool, bank_->balance(s, PoolAddress(), kDenom));
        if (pool >= reward) {
          DEPAI_TRY(bank_->send(ctx, PoolAddress(), ca, Udpai(reward)));
          DEPAI_ASSIGN_OR_RETURN(Amount total, AmountOr0(ck->rewards()).add(reward));
          ck->set_rewards(total.str());
          if (ctx.events)
            ctx.events->emit(
                "verify.checker_paid",
                {{"checker", m.checker()}, {"verdict_id", std::to_string(v.id())}, {"amount", reward.str()}});
        } else if (ctx.events) {
          ctx.events->emit("verify.pool_empty", {{"checker", m.checker()}, {"verdict_id", std::to_string(v.id())}});
        }
      }
      set_checker(s, ca, *ck);
    }
  }
  v.set_state(VERDICT_STATE_FINAL);
  set_verdict(s, v);
  if (ctx.events)
    ctx.events->emit("verify.verdict_final", {{"verdict_id", std::to_string(v.id())},
                                              {"provider", v.provider()},
                                              {"pass", v.pass() ? "true" : "false"},
                                              {"to_treasury", rest.str()}});
  return {};
}

Status Keeper::overturn(Context& ctx, const Params& p, Verdict& v, const char* why) const {
  if (v.state() != VERDICT_STATE_PENDING && v.state() != VERDICT_STATE_APPEALED) return {};
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(Bytes prov, Addr(v.provider()));
  DEPAI_ASSIGN_OR_RETURN(Amount held, DecodeAmountField(v.slashed(), "verdict slashed"));
  if (!held.is_zero()) DEPAI_TRY(providers_->restore(ctx, prov, held, SlashAddress()));
  // Undo this verdict's step of the EMA on today's reputation.
  DEPAI_ASSIGN_OR_RETURN(auto rec, reputation(s, prov));
  if (rec) {
    const int64_t after = Ema(v.reputation_before(), v.pass(), p.reputation_alpha_bps());
    const int64_t delta = static_cast<int64_t>(v.reputation_before()) - after;
    const int64_t now = std::clamp<int64_t>(static_cast<int64_t>(rec->bps()) + delta, 0, 10000);
    rec->set_bps(static_cast<uint32_t>(now));
    if (v.pass() && rec->passes() > 0) rec->set_passes(rec->passes() - 1);
    DEPAI_TRY(set_reputation(s, prov, *rec));
  }
  // The checkers who carried the overturned verdict were wrong.
  for (const auto& m : v.measurements())
    if (m.pass() == v.quorum_pass()) DEPAI_TRY(strike(ctx, p, m.checker()));
  v.set_state(VERDICT_STATE_OVERTURNED);
  set_verdict(s, v);
  if (ctx.events)
    ctx.events->emit(
        "verify.overturned",
        {{"verdict_id", std::to_string(v.id())}, {"provider", v.provider()}, {"restored", held.str()}, {"why", why}});
  return {};
}

// ---- appeals ---------------------------------------------------------------------------------

Status Keeper::check_appeal(const store::KVReader& s, const AppealParsed& m, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(auto v, verdict(s, m.verdict_id));
  if (!v) return VerifyErr(kErrVerdictNotFound, "verdict " + std::to_string(m.verdict_id) + " not found");
  const std::string id = std::to_string(m.verdict_id);
  if (v->provider() != crypto::AddressToBech32(m.signer))
    return VerifyErr(kErrNotYourChallenge, "verdict " + id + " is about provider " + v->provider());
  if (v->pass()) return VerifyErr(kErrNotAppealable, "verdict " + id + " passed: nothing to appeal");
  if (v->kind() != CHALLENGE_KIND_COMPUTE)
    return VerifyErr(kErrNotAppealable, "verdict " + id + " is a liveness verdict: a re-probe cannot see the past");
  if (v->appeal()) return VerifyErr(kErrNotAppealable, "verdict " + id + " decided an appeal: it cannot be appealed");
  if (v->state() != VERDICT_STATE_PENDING || height > v->final_height())
    return VerifyErr(kErrNotAppealable, "verdict " + id + " is no longer inside its appeal window");
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto pr, providers_->get(s, m.signer));
  if (!pr) return VerifyErr(kErrProviderNotFound, "provider " + v->provider() + " is not registered");
  DEPAI_ASSIGN_OR_RETURN(auto leases, market_->active_leases(s, m.signer));
  if (!SizeChallenge(p, pr->resources(), leases))
    return VerifyErr(kErrNotAppealable, "no free capacity to re-run the challenge on");
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, v->challenge_id()));
  if (!c) return Fault(kFaultCorruptRecord, "verdict " + id + " names a missing challenge");
  std::vector<Bytes> exclude;
  for (const auto& q : c->quorum()) {
    DEPAI_ASSIGN_OR_RETURN(Bytes a, Addr(q));
    exclude.push_back(std::move(a));
  }
  // Whether a fresh quorum exists does not depend on the seed; apply draws it from this block's randomness.
  DEPAI_ASSIGN_OR_RETURN(Bytes b, beacon(s));
  DEPAI_ASSIGN_OR_RETURN(auto q, draw_quorum(s, p, m.signer, b, height, exclude));
  if (!q) return VerifyErr(kErrNoFreshQuorum, "too few eligible checkers outside the original quorum");
  return {};
}

Status Keeper::appeal(Context& ctx, const AppealParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto v, verdict(s, m.verdict_id));
  DEPAI_ASSIGN_OR_RETURN(auto pr, providers_->get(s, m.signer));
  if (!v || !pr) return Fault(kFaultInternal, "appeal: verdict or provider vanished between check and apply");
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, v->challenge_id()));
  if (!c) return Fault(kFaultInternal, "appeal: challenge vanished");
  std::vector<Bytes> exclude;
  for (const auto& q : c->quorum()) {
    DEPAI_ASSIGN_OR_RETURN(Bytes a, Addr(q));
    exclude.push_back(std::move(a));
  }
  DEPAI_ASSIGN_OR_RETURN(Bytes b, randomness(ctx));
  DEPAI_ASSIGN_OR_RETURN(auto q, draw_quorum(s, p, m.signer, b, ctx.header->height, exclude));
  DEPAI_ASSIGN_OR_RETURN(auto leases, market_->active_leases(s, m.signer));
  auto sizing = SizeChallenge(p, pr->resources(), leases);
  if (!q || !sizing) return Fault(kFaultInternal, "appeal: quorum or sizing changed between check and apply");
  DEPAI_ASSIGN_OR_RETURN(uint64_t cid,
                         create_challenge(ctx, p, CHALLENGE_KIND_COMPUTE, m.signer, *pr, *q, &*sizing, v->id()));
  v->set_state(VERDICT_STATE_APPEALED);
  v->set_appeal_challenge(cid);
  set_verdict(s, *v);
  if (ctx.events)
    ctx.events->emit(
        "verify.appeal",
        {{"verdict_id", std::to_string(v->id())}, {"provider", v->provider()}, {"challenge_id", std::to_string(cid)}});
  return {};
}

// ---- disputes --------------------------------------------------------------------------------

Status Keeper::check_dispute(const store::KVReader& s, const DisputeParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, m.challenge_id));
  if (!c) return VerifyErr(kErrChallengeNotFound, "challenge " + std::to_string(m.challenge_id) + " not found");
  const std::string id = std::to_string(m.challenge_id);
  if (c->kind() != CHALLENGE_KIND_COMPUTE || c->root().empty())
    return VerifyErr(kErrInvalidDispute, "challenge " + id + " has no committed root to dispute");
  if (c->state() == CHALLENGE_STATE_DECIDED) {
    DEPAI_ASSIGN_OR_RETURN(auto v, verdict(s, c->verdict_id()));
    if (!v || v->state() == VERDICT_STATE_FINAL || v->state() == VERDICT_STATE_OVERTURNED)
      return VerifyErr(kErrInvalidDispute, "the verdict of challenge " + id + " is already settled");
  }
  if (m.row_index >= c->n())
    return VerifyErr(kErrInvalidDispute,
                     "row " + std::to_string(m.row_index) + " is outside n=" + std::to_string(c->n()));
  // Disputes are bounded so they cannot load the chain with row recomputations: only the
  // challenged provider and the quorum may dispute, only a sampled row or a row that a failing
  // checker cited, and each row once.
  const std::string sender = crypto::AddressToBech32(m.signer);
  if (sender != c->provider() && std::find(c->quorum().begin(), c->quorum().end(), sender) == c->quorum().end())
    return VerifyErr(kErrNotYourChallenge, "only the provider and the quorum of challenge " + id + " may dispute it");
  bool disputable = std::find(c->sample_rows().begin(), c->sample_rows().end(), m.row_index) != c->sample_rows().end();
  if (!disputable) {
    DEPAI_ASSIGN_OR_RETURN(auto ms, attestations(s, c->id()));
    for (const auto& a : ms)
      if (!a.pass() && a.failing_row() == m.row_index) disputable = true;
  }
  if (!disputable)
    return VerifyErr(kErrInvalidDispute,
                     "row " + std::to_string(m.row_index) + " was neither sampled nor cited by a failing checker");
  std::vector<uint32_t> row;
  if (!proof::ParseRow(m.row, c->n(), &row))
    return VerifyErr(kErrInvalidDispute, "row must be " + std::to_string(c->n()) + " little-endian u32 values below p");
  const Bytes leaf = proof::LeafHash(m.row_index, c->n(), m.row);
  if (!proof::VerifyProof(c->root(), c->n(), m.row_index, leaf, m.proof))
    return VerifyErr(kErrInvalidDispute, "the Merkle path of row " + std::to_string(m.row_index) +
                                             " does not verify against the root of challenge " + id);
  if (s.get(keys::Dispute(c->id(), m.row_index)))
    return VerifyErr(kErrInvalidDispute,
                     "row " + std::to_string(m.row_index) + " of challenge " + id + " was already disputed");
  return {};
}

Status Keeper::dispute(Context& ctx, const DisputeParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_TRY(ctx.gas->consume(p.dispute_gas(), "on-chain row recomputation"));
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, m.challenge_id));
  if (!c) return Fault(kFaultInternal, "dispute: challenge vanished between check and apply");
  std::vector<uint32_t> row;
  proof::ParseRow(m.row, c->n(), &row);
  const bool wrong = proof::ComputeRow(c->seed(), c->n(), m.row_index) != row;
  s.set(keys::Dispute(c->id(), m.row_index), "");
  DEPAI_ASSIGN_OR_RETURN(auto ms, attestations(s, c->id()));
  // Who was proven wrong: pass attestations when the row is wrong; fails citing this row when it is right.
  std::vector<std::string> slashed;
  for (const auto& a : ms) {
    const bool cited = !a.pass() && a.failing_row() == m.row_index &&
                       (a.reason_code() == depai::verify::v1::REASON_FREIVALDS ||
                        a.reason_code() == depai::verify::v1::REASON_BAD_PROOF);
    if (!(wrong ? a.pass() : cited)) continue;
    DEPAI_ASSIGN_OR_RETURN(Bytes ca, Addr(a.checker()));
    DEPAI_ASSIGN_OR_RETURN(auto ck, checker(s, ca));
    if (!ck) continue;
    DEPAI_ASSIGN_OR_RETURN(Amount bond, DecodeAmountField(ck->bond(), "checker bond"));
    DEPAI_ASSIGN_OR_RETURN(Amount cut, bond.mul_div(p.checker_slash_bps(), 10000));
    if (!cut.is_zero()) DEPAI_TRY(bank_->send(ctx, BondAddress(), TreasuryAddress(), Udpai(cut)));
    ck->set_bond(bond.sub(cut).value().str());
    DEPAI_ASSIGN_OR_RETURN(Amount total, AmountOr0(ck->slashed()).add(cut));
    ck->set_slashed(total.str());
    set_checker(s, ca, *ck);
    slashed.push_back(a.checker());
    if (ctx.events)
      ctx.events->emit("verify.checker_slashed",
                       {{"checker", a.checker()}, {"challenge_id", std::to_string(c->id())}, {"amount", cut.str()}});
  }
  std::string who;
  for (const auto& w : slashed) who += (who.empty() ? "" : ",") + w;
  if (ctx.events)
    ctx.events->emit("verify.dispute", {{"challenge_id", std::to_string(c->id())},
                                        {"row", std::to_string(m.row_index)},
                                        {"result", wrong ? "row wrong" : "row correct"},
                                        {"slashed", who}});
  if (!wrong) return {};
  c->set_row_proven_wrong(true);
  c->set_disputed_row(m.row_index);
  if (c->state() != CHALLENGE_STATE_DECIDED) {
    set_challenge(s, *c);
    return decide(ctx, p, *c);
  }
  // Decided: a passing verdict is replaced by a failing one.
  DEPAI_ASSIGN_OR_RETURN(auto v, verdict(s, c->verdict_id()));
  if (!v || !v->pass()) {
    set_challenge(s, *c);
    return {};
  }
  DEPAI_TRY(overturn(ctx, p, *v, "an on-chain dispute found a wrong row"));
  c->set_state(CHALLENGE_STATE_AWAITING_ATTESTATIONS);
  return decide(ctx, p, *c);
}

}  // namespace depai::x::verify
