// x/verify's seeded random messages for the determinism test, built from the state read through
// the keeper: checker registrations (some below the minimum bond or beyond the balance),
// deregistrations, roots from the challenged provider (sometimes from someone else, or late),
// attestations from quorum members (pass and fail, liveness and compute) and from outsiders,
// appeals of failed verdicts, and disputes with rows that do not verify.
#include "crypto/bech32.h"
#include "x/verify/module.h"

namespace depai::x::verify {

namespace v1 = depai::verify::v1;

namespace {
std::optional<size_t> IndexOf(const std::vector<SimAccount>& accounts, const std::string& bech32) {
  for (size_t i = 0; i < accounts.size(); ++i)
    if (accounts[i].bech32 == bech32) return i;
  return std::nullopt;
}
}  // namespace

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  auto& rng = sim.rng;
  if (sim.accounts.empty()) return std::nullopt;
  const size_t who = rng.below(sim.accounts.size());
  const uint64_t pick = rng.below(100);
  std::vector<Challenge> open;
  (void)keeper_.for_each_challenge(sim.state, [&](const Challenge& c) {
    if (c.state() != v1::CHALLENGE_STATE_DECIDED) open.push_back(c);
    return true;
  });
  if (pick < 20) {
    v1::MsgRegisterChecker m;
    m.set_address(sim.accounts[who].bech32);
    if (rng.chance(30)) m.set_owner(sim.accounts[rng.below(sim.accounts.size())].bech32);
    m.mutable_bond()->set_denom(rng.chance(3) ? "uatom" : kDenom);
    m.mutable_bond()->set_amount(std::to_string(rng.chance(10) ? 5 : 1'000'000 + rng.below(5'000'000)));
    return SimMsg{who, PackAny(kTypeRegisterChecker, m)};
  }
  if (pick < 24) {
    v1::MsgDeregisterChecker m;
    m.set_address(sim.accounts[who].bech32);
    return SimMsg{who, PackAny(kTypeDeregisterChecker, m)};
  }
  if (pick < 45 && !open.empty()) {
    const Challenge& c = open[rng.below(open.size())];
    v1::MsgCommitRoot m;
    auto idx = IndexOf(sim.accounts, c.provider());
    const size_t signer = idx && rng.chance(85) ? *idx : who;
    m.set_provider(sim.accounts[signer].bech32);
    m.set_challenge_id(c.id());
    Bytes root(32, '\0');
    for (auto& b : root) b = static_cast<char>(rng.below(256));
    m.set_root(rng.chance(5) ? root.substr(0, 31) : root);
    return SimMsg{signer, PackAny(kTypeCommitRoot, m)};
  }
  if (pick < 80 && !open.empty()) {
    const Challenge& c = open[rng.below(open.size())];
    size_t signer = who;
    if (c.quorum_size() > 0 && rng.chance(85)) {
      auto idx = IndexOf(sim.accounts, c.quorum(static_cast<int>(rng.below(c.quorum_size()))));
      if (idx) signer = *idx;
    }
    v1::MsgAttest m;
    m.set_checker(sim.accounts[signer].bech32);
    m.set_challenge_id(c.id());
    const bool pass = rng.chance(70);
    m.set_pass(pass);
    if (c.kind() == v1::CHALLENGE_KIND_LIVENESS) {
      m.set_answered(pass || rng.chance(30));
      m.set_latency_ms(static_cast<uint32_t>(rng.below(3000)));
      m.set_reason_code(pass ? v1::REASON_OK : v1::REASON_OFFLINE);
      m.set_reason(pass ? "" : "/health did not answer");
    } else {
      m.set_rows_checked(c.sample_rows_size());
      const uint32_t row = c.n() > 0 ? static_cast<uint32_t>(rng.below(c.n())) : 0;
      m.set_failing_row(pass ? 0 : row);
      m.set_reason_code(pass ? v1::REASON_OK : v1::REASON_FREIVALDS);
      m.set_reason(pass ? "" : "row " + std::to_string(row) + " fails Freivalds");
    }
    return SimMsg{signer, PackAny(kTypeAttest, m)};
  }
  if (pick < 90) {
    std::vector<Verdict> failed;
    (void)keeper_.for_each_verdict(sim.state, [&](const Verdict& v) {
      if (!v.pass()) failed.push_back(v);
      return true;
    });
    v1::MsgAppeal m;
    size_t signer = who;
    if (!failed.empty()) {
      const Verdict& v = failed[rng.below(failed.size())];
      m.set_verdict_id(v.id());
      if (auto idx = IndexOf(sim.accounts, v.provider())) signer = *idx;
    } else {
      m.set_verdict_id(1 + rng.below(5));
    }
    m.set_provider(sim.accounts[signer].bech32);
    return SimMsg{signer, PackAny(kTypeAppeal, m)};
  }
  v1::MsgDispute m;
  m.set_sender(sim.accounts[who].bech32);
  m.set_challenge_id(open.empty() ? 1 + rng.below(5) : open[rng.below(open.size())].id());
  m.set_row_index(static_cast<uint32_t>(rng.below(64)));
  m.set_row(Bytes(4 * (1 + rng.below(64)), '\x01'));
  m.add_proof(Bytes(32, '\x02'));
  return SimMsg{who, PackAny(kTypeDispute, m)};
}

}  // namespace depai::x::verify
