// x/verify challenges: the epoch schedule, the bond-weighted quorum draw, compute roots and their
// samples, attestations and the quorum's decision.
#include <algorithm>
#include <map>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "proof/compute.h"
#include "x/types/codec.h"
#include "x/verify/keeper.h"
#include "x/verify/keys.h"

namespace depai::x::verify {

using depai::verify::v1::CHALLENGE_KIND_COMPUTE;
using depai::verify::v1::CHALLENGE_KIND_LIVENESS;
using depai::verify::v1::CHALLENGE_STATE_AWAITING_ATTESTATIONS;
using depai::verify::v1::CHALLENGE_STATE_AWAITING_ROOT;
using depai::verify::v1::CHALLENGE_STATE_DECIDED;
using depai::verify::v1::ChallengeKind;
using depai::verify::v1::ReasonCode;

namespace {
std::string KindName(ChallengeKind k) { return k == CHALLENGE_KIND_COMPUTE ? "compute" : "liveness"; }

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

Error NotFound(uint64_t id) {
  return VerifyErr(kErrChallengeNotFound, "challenge " + std::to_string(id) + " not found");
}

unsigned __int128 U128Of(std::string_view h) {
  unsigned __int128 x = 0;
  for (int i = 0; i < 16; ++i) x = (x << 8) | static_cast<uint8_t>(h[i]);
  return x;
}
}  // namespace

// ---- the quorum draw -----------------------------------------------------------------------

Result<std::optional<std::vector<Bytes>>> Keeper::draw_quorum(const store::KVReader& s, const Params& p,
                                                              std::string_view provider, std::string_view seed,
                                                              int64_t height, const std::vector<Bytes>& exclude) const {
  const Amount min = Amount::Parse(p.min_checker_bond()).value();
  const std::string provider_bech32 = crypto::AddressToBech32(provider);
  struct Cand {
    Bytes addr;
    uint64_t weight;
  };
  std::vector<Cand> cands;  // address order (the checker iterator's)
  DEPAI_TRY(for_each_checker(s, [&](std::string_view addr, const Checker& c) {
    if (!c.active() || c.banned_until() >= height) return true;
    if (addr == provider || c.owner() == provider_bech32) return true;
    if (std::find(exclude.begin(), exclude.end(), Bytes(addr)) != exclude.end()) return true;
    auto bond = Amount::Parse(c.bond());
    if (!bond.ok() || *bond < min) return true;
    cands.push_back(Cand{Bytes(addr), bond->raw()});
    return true;
  }));
  if (cands.size() < p.quorum()) return std::optional<std::vector<Bytes>>();
  std::vector<Bytes> out;
  for (uint32_t i = 0; i < p.quorum(); ++i) {
    unsigned __int128 total = 0;
    for (const auto& c : cands) total += c.weight;
    Bytes in = "depai/assign";
    in += seed;
    PutU64BE(in, i);
    unsigned __int128 x = U128Of(crypto::Sha256(in)) % total;
    size_t pick = 0;
    for (; pick < cands.size(); ++pick) {
      if (x < cands[pick].weight) break;
      x -= cands[pick].weight;
    }
    out.push_back(cands[pick].addr);
    cands.erase(cands.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return std::optional<std::vector<Bytes>>(std::move(out));
}

// ---- creation ------------------------------------------------------------------------------

Result<uint64_t> Keeper::create_challenge(Context& ctx, const Params& p, ChallengeKind kind, std::string_view provider,
                                          const depai::provider::v1::Provider& pr, const std::vector<Bytes>& quorum,
                                          const Sizing* sizing, uint64_t appeal_of) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(uint64_t id, next_id(s, "challenge"));
  DEPAI_ASSIGN_OR_RETURN(Bytes b, randomness(ctx));
  Challenge c;
  c.set_id(id);
  c.set_kind(kind);
  c.set_provider(crypto::AddressToBech32(provider));
  std::vector<std::string> q;
  for (const auto& a : quorum) {
    q.push_back(crypto::AddressToBech32(a));
    c.add_quorum(q.back());
  }
  c.set_created_height(h);
  Bytes in = "depai/challenge";
  in += b;
  PutU64BE(in, id);
  c.set_seed(crypto::Sha256(in));
  c.set_appeal_of(appeal_of);
  if (kind == CHALLENGE_KIND_COMPUTE) {
    c.set_state(CHALLENGE_STATE_AWAITING_ROOT);
    c.set_n(sizing->n);
    c.set_deadline_height(h + sizing->deadline_blocks);
    c.set_hardware(sizing->hardware);
    c.set_claimed_ops_per_ms(sizing->ops_per_ms);
    set_due(s, c.deadline_height(), keys::kDueRoot, id, true);
  } else {
    c.set_state(CHALLENGE_STATE_AWAITING_ATTESTATIONS);
    c.set_probe_from(h + 1);
    c.set_probe_to(h + p.probe_window());
    c.set_attest_deadline(c.probe_to() + p.attest_window());
    set_due(s, c.attest_deadline(), keys::kDueAttest, id, true);
  }
  set_challenge(s, c);
  if (appeal_of == 0) {  // an appeal runs beside the schedule and never holds its slot
    Bytes idb;
    PutU64BE(idb, id);
    s.set(keys::Open(provider, static_cast<uint8_t>(kind)), idb);
  }
  if (ctx.events)
    ctx.events->emit("verify.challenge_created", {{"challenge_id", std::to_string(id)},
                                                  {"kind", KindName(kind)},
                                                  {"provider", c.provider()},
                                                  {"quorum", Join(q)},
                                                  {"seed", HexEncode(c.seed())},
                                                  {"n", std::to_string(c.n())},
                                                  {"deadline_height", std::to_string(c.deadline_height())},
                                                  {"hardware", c.hardware()},
                                                  {"attest_deadline", std::to_string(c.attest_deadline())},
                                                  {"probe_from", std::to_string(c.probe_from())},
                                                  {"probe_to", std::to_string(c.probe_to())},
                                                  {"appeal_of", std::to_string(appeal_of)},
                                                  {"endpoint", pr.endpoint()}});
  return id;
}

Status Keeper::schedule_epoch(Context& ctx, const Params& p) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  const bool compute_round = (h / p.epoch_blocks()) % p.compute_every_epochs() == 0;
  struct Target {
    Bytes addr;
    depai::provider::v1::Provider pr;
  };
  std::vector<Target> targets;
  DEPAI_TRY(providers_->for_each(s, [&](std::string_view addr, const depai::provider::v1::Provider& pr) {
    targets.push_back(Target{Bytes(addr), pr});
    return true;
  }));
  // No round (and no randomness drawn, so no state written) without a quorum's worth of active checkers.
  uint32_t active = 0;
  DEPAI_TRY(for_each_checker(s, [&](std::string_view, const Checker& c) {
    if (c.active() && c.banned_until() < h) ++active;
    return active < p.quorum();
  }));
  if (targets.empty() || active < p.quorum()) return {};
  DEPAI_ASSIGN_OR_RETURN(Bytes b, randomness(ctx));
  for (const auto& t : targets) {
    for (ChallengeKind kind : {CHALLENGE_KIND_LIVENESS, CHALLENGE_KIND_COMPUTE}) {
      if (kind == CHALLENGE_KIND_COMPUTE && !compute_round) continue;
      if (s.get(keys::Open(t.addr, static_cast<uint8_t>(kind)))) continue;  // one open challenge per kind
      std::optional<Sizing> sizing;
      if (kind == CHALLENGE_KIND_COMPUTE) {
        DEPAI_ASSIGN_OR_RETURN(auto leases, market_->active_leases(s, t.addr));
        sizing = SizeChallenge(p, t.pr.resources(), leases);
        if (!sizing) continue;  // no free capacity to challenge: leased capacity is proven by liveness and SLAs
      }
      Bytes in = "depai/quorum";
      in += b;
      in += t.addr;
      in.push_back(static_cast<char>(kind));
      DEPAI_ASSIGN_OR_RETURN(auto quorum, draw_quorum(s, p, t.addr, crypto::Sha256(in), h, {}));
      if (!quorum) {
        if (ctx.events)
          ctx.events->emit("verify.no_quorum",
                           {{"provider", crypto::AddressToBech32(t.addr)}, {"kind", KindName(kind)}});
        continue;
      }
      DEPAI_TRY(create_challenge(ctx, p, kind, t.addr, t.pr, *quorum, sizing ? &*sizing : nullptr, 0).status());
    }
  }
  return {};
}

// ---- compute roots -------------------------------------------------------------------------

Status Keeper::check_commit_root(const store::KVReader& s, const CommitRootParsed& m, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, m.challenge_id));
  if (!c) return NotFound(m.challenge_id);
  if (c->kind() != CHALLENGE_KIND_COMPUTE)
    return VerifyErr(kErrWrongState, "challenge " + std::to_string(c->id()) + " is not a compute challenge");
  if (c->provider() != crypto::AddressToBech32(m.signer))
    return VerifyErr(kErrNotYourChallenge,
                     "challenge " + std::to_string(c->id()) + " is for provider " + c->provider());
  if (c->state() != CHALLENGE_STATE_AWAITING_ROOT)
    return VerifyErr(kErrWrongState, "challenge " + std::to_string(c->id()) + " is not awaiting a root");
  if (height > c->deadline_height())
    return VerifyErr(kErrDeadlinePassed, "the root deadline of challenge " + std::to_string(c->id()) + " was height " +
                                             std::to_string(c->deadline_height()));
  return {};
}

Status Keeper::commit_root(Context& ctx, const CommitRootParsed& m) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, m.challenge_id));
  if (!c) return Fault(kFaultInternal, "challenge vanished between check and apply");
  c->set_root(m.root);
  c->set_root_height(h);
  set_due(s, c->deadline_height(), keys::kDueRoot, c->id(), false);
  set_due(s, h + 1, keys::kDueSample, c->id(), true);
  set_challenge(s, *c);
  if (ctx.events)
    ctx.events->emit("verify.root_posted", {{"challenge_id", std::to_string(c->id())},
                                            {"provider", c->provider()},
                                            {"root", HexEncode(m.root)},
                                            {"height", std::to_string(h)}});
  return {};
}

Status Keeper::on_sample(Context& ctx, const Params& p, uint64_t id) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, id));
  if (!c || c->state() != CHALLENGE_STATE_AWAITING_ROOT || c->root().empty()) return {};
  DEPAI_ASSIGN_OR_RETURN(Bytes b, randomness(ctx));
  Bytes in = "depai/sample";
  in += b;
  PutU64BE(in, id);
  c->set_sample_seed(crypto::Sha256(in));
  const uint32_t rows = std::min(p.sample_rows(), c->n());
  std::vector<std::string> list;
  for (uint32_t r : proof::SampleRows(c->sample_seed(), c->n(), rows)) {
    c->add_sample_rows(r);
    list.push_back(std::to_string(r));
  }
  c->set_state(CHALLENGE_STATE_AWAITING_ATTESTATIONS);
  c->set_attest_deadline(h + p.attest_window());
  set_due(s, c->attest_deadline(), keys::kDueAttest, id, true);
  set_challenge(s, *c);
  if (ctx.events)
    ctx.events->emit("verify.root_committed", {{"challenge_id", std::to_string(id)},
                                               {"provider", c->provider()},
                                               {"root", HexEncode(c->root())},
                                               {"height", std::to_string(c->root_height())},
                                               {"sample_rows", Join(list)},
                                               {"attest_deadline", std::to_string(c->attest_deadline())}});
  return {};
}

Status Keeper::on_root_deadline(Context& ctx, const Params& p, uint64_t id) const {
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(*ctx.store, id));
  if (!c || c->state() != CHALLENGE_STATE_AWAITING_ROOT || !c->root().empty()) return {};
  auto& s = *ctx.store;
  auto prov = crypto::AddressFromBech32(c->provider());
  if (!prov.ok()) return Fault(kFaultCorruptRecord, "challenge provider does not parse");
  // An outage also leaves no root. While the provider's liveness challenge is still open, wait
  // for its verdict (the late root stays refused: check_commit_root holds the deadline).
  if (auto open = s.get(keys::Open(*prov, static_cast<uint8_t>(CHALLENGE_KIND_LIVENESS))); open && open->size() == 8) {
    DEPAI_ASSIGN_OR_RETURN(auto lc, challenge(s, GetU64BE(*open)));
    // Only this round's (or an older) liveness challenge: a later round's must not postpone it again.
    if (lc && lc->state() != CHALLENGE_STATE_DECIDED && lc->created_height() <= c->created_height() &&
        lc->attest_deadline() >= ctx.header->height) {
      set_due(s, lc->attest_deadline() + 1, keys::kDueRoot, id, true);
      return {};
    }
  }
  const int64_t d = c->deadline_height() - c->created_height();
  std::string reason = "root not posted by +" + std::to_string(d) + " blocks (deadline +" + std::to_string(d) +
                       " for " + c->hardware() + ", n=" + std::to_string(c->n()) + ")";
  // A provider found offline since this challenge began is down, not lying about its hardware:
  // the outage is the liveness verdict's (and its SLAs') to punish, so this failure carries no
  // deception slash.
  auto code = depai::verify::v1::REASON_ROOT_LATE;
  DEPAI_TRY(for_each_verdict_of(s, *prov, [&](const Verdict& v) {
    if (v.kind() != CHALLENGE_KIND_LIVENESS) return true;
    if (v.height() >= c->created_height() && !v.pass() && v.reason_code() == depai::verify::v1::REASON_OFFLINE) {
      code = depai::verify::v1::REASON_OFFLINE;
      reason += "; the provider was offline (verdict " + std::to_string(v.id()) + ")";
    }
    return false;  // only the newest liveness verdict counts
  }));
  return issue_verdict(ctx, p, *c, false, false, code, reason, {}, 0, false).status();
}

// ---- attestations --------------------------------------------------------------------------

Status Keeper::check_attest(const store::KVReader& s, const AttestParsed& m, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, m.challenge_id));
  if (!c) return NotFound(m.challenge_id);
  const std::string me = crypto::AddressToBech32(m.signer);
  if (std::find(c->quorum().begin(), c->quorum().end(), me) == c->quorum().end())
    return VerifyErr(kErrNotYourChallenge, me + " is not in the quorum of challenge " + std::to_string(c->id()));
  if (c->state() != CHALLENGE_STATE_AWAITING_ATTESTATIONS)
    return VerifyErr(kErrWrongState, "challenge " + std::to_string(c->id()) + " is not taking attestations");
  if (height > c->attest_deadline())
    return VerifyErr(kErrDeadlinePassed, "the attestation deadline of challenge " + std::to_string(c->id()) +
                                             " was height " + std::to_string(c->attest_deadline()));
  if (c->kind() == CHALLENGE_KIND_LIVENESS && height < c->probe_from())
    return VerifyErr(kErrTooEarly, "challenge " + std::to_string(c->id()) + " is probed from height " +
                                       std::to_string(c->probe_from()));
  if (c->kind() == CHALLENGE_KIND_COMPUTE && (m.m.failing_row() >= c->n() || m.m.rows_checked() > c->n()))
    return VerifyErr(kErrInvalidAttestation, "failing_row and rows_checked must be below n=" + std::to_string(c->n()));
  if (s.get(keys::Attest(c->id(), m.signer)))
    return VerifyErr(kErrAlreadyAttested, me + " already attested challenge " + std::to_string(c->id()));
  return {};
}

Status Keeper::attest(Context& ctx, const AttestParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, m.challenge_id));
  if (!c) return Fault(kFaultInternal, "challenge vanished between check and apply");
  Measurement meas = m.m;
  meas.set_height(ctx.header->height);
  s.set(keys::Attest(c->id(), m.signer), DeterministicSerialize(meas));
  // A quorum member that has deregistered and unbonded since may still attest; it has no
  // counters left to update.
  DEPAI_ASSIGN_OR_RETURN(auto ck, checker(s, m.signer));
  if (ck) {
    ck->set_attestations(ck->attestations() + 1);
    set_checker(s, m.signer, *ck);
  }
  if (ctx.events)
    ctx.events->emit("verify.attested", {{"challenge_id", std::to_string(c->id())},
                                         {"checker", meas.checker()},
                                         {"pass", meas.pass() ? "true" : "false"}});
  // The whole quorum has spoken: decide in this block's end_block (infinite gas there), so the
  // last attester does not pay for the verdict's slashes, refunds and closes.
  DEPAI_ASSIGN_OR_RETURN(auto all, attestations(s, c->id()));
  if (all.size() == static_cast<size_t>(c->quorum_size()))
    set_due(s, ctx.header->height, keys::kDueAttest, c->id(), true);
  return {};
}

// ---- the decision --------------------------------------------------------------------------

Status Keeper::decide(Context& ctx, const Params& p, Challenge& c) const {
  if (c.state() == CHALLENGE_STATE_DECIDED) return {};
  DEPAI_ASSIGN_OR_RETURN(auto ms, attestations(*ctx.store, c.id()));
  // In quorum order.
  std::vector<Measurement> ordered;
  for (const auto& q : c.quorum())
    for (const auto& m : ms)
      if (m.checker() == q) ordered.push_back(m);
  const size_t k = static_cast<size_t>(c.quorum_size()), got = ordered.size();
  std::vector<uint32_t> lat;
  size_t fails = 0;
  std::map<int, size_t> codes;
  for (const auto& m : ordered) {
    if (m.answered()) lat.push_back(m.latency_ms());
    if (!m.pass()) {
      ++fails;
      ++codes[m.reason_code()];
    }
  }
  std::sort(lat.begin(), lat.end());
  const uint32_t median = lat.empty() ? 0 : lat[lat.size() / 2];
  const std::string of = std::to_string(got) + " of " + std::to_string(k) + " checkers";
  if (c.row_proven_wrong()) {
    return issue_verdict(ctx, p, c, false, false, depai::verify::v1::REASON_DISPUTE_ROW_WRONG,
                         "row " + std::to_string(c.disputed_row()) + " recomputed on chain differs from the opening",
                         std::move(ordered), median, false)
        .status();
  }
  if (got * 2 <= k) {
    return issue_verdict(ctx, p, c, true, true, depai::verify::v1::REASON_NO_QUORUM,
                         "only " + of + " attested: no verdict", std::move(ordered), median, true)
        .status();
  }
  const bool quorum_pass = !(fails * 2 > got);
  if (quorum_pass) {
    std::string reason;
    if (c.kind() == CHALLENGE_KIND_COMPUTE)
      reason = std::to_string(got - fails) + " of " + std::to_string(k) + " checkers verified " +
               std::to_string(c.sample_rows_size()) + " sampled rows (n=" + std::to_string(c.n()) + ", root at +" +
               std::to_string(c.root_height() - c.created_height()) + " blocks, deadline +" +
               std::to_string(c.deadline_height() - c.created_height()) + " for " + c.hardware() + ")";
    else
      reason = std::to_string(got - fails) + " of " + std::to_string(k) + " checkers: answered, median latency " +
               std::to_string(median) + " ms";
    return issue_verdict(ctx, p, c, true, true, depai::verify::v1::REASON_OK, reason, std::move(ordered), median, false)
        .status();
  }
  // The most frequent failure reason (ties: the lowest code), worded by the first checker citing it.
  int code = 0;
  size_t best = 0;
  for (const auto& [cd, n] : codes)
    if (n > best) {
      best = n;
      code = cd;
    }
  std::string why;
  for (const auto& m : ordered)
    if (!m.pass() && m.reason_code() == code) {
      why = m.reason();
      break;
    }
  const std::string reason = std::to_string(fails) + " of " + std::to_string(k) + " checkers: " + why;
  return issue_verdict(ctx, p, c, false, false, static_cast<ReasonCode>(code), reason, std::move(ordered), median,
                       false)
      .status();
}

}  // namespace depai::x::verify
