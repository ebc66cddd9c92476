// x/verify records, views, params, the beacon and challenge sizing.
#include "x/verify/keeper.h"

#include <algorithm>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/types/codec.h"
#include "x/verify/keys.h"

namespace depai::x::verify {

namespace {
const Bytes& ModuleAddr(const char* name, Bytes& slot) {
  if (slot.empty()) slot = crypto::Sha256(std::string("module:") + name).substr(0, 20);
  return slot;
}

Result<Checker> DecodeChecker(std::string_view v) {
  DEPAI_ASSIGN_OR_RETURN(auto c, DecodeRecord<Checker>(v, "checker"));
  DEPAI_TRY(DecodeAmountField(c.bond(), "checker bond"));
  if (!c.rewards().empty()) DEPAI_TRY(DecodeAmountField(c.rewards(), "checker rewards"));
  if (!c.slashed().empty()) DEPAI_TRY(DecodeAmountField(c.slashed(), "checker slashed"));
  return c;
}

Result<Verdict> DecodeVerdict(std::string_view v) {
  DEPAI_ASSIGN_OR_RETURN(auto d, DecodeRecord<Verdict>(v, "verdict"));
  if (!d.slashed().empty()) DEPAI_TRY(DecodeAmountField(d.slashed(), "verdict slashed"));
  if (!d.to_treasury().empty()) DEPAI_TRY(DecodeAmountField(d.to_treasury(), "verdict to_treasury"));
  for (const auto& r : d.refunds()) DEPAI_TRY(DecodeAmountField(r.amount(), "verdict refund"));
  return d;
}

uint64_t ToLowerModelRate(const Params& p, std::string model) {
  std::transform(model.begin(), model.end(), model.begin(), [](char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; });
  for (const auto& t : p.gpu_throughput())
    if (t.model() == model) return t.ops_per_ms();
  return 0;
}
}  // namespace

const Bytes& BondAddress() {
  static Bytes a;
  return ModuleAddr("verify_bond", a);
}
const Bytes& SlashAddress() {
  static Bytes a;
  return ModuleAddr("verify_slash", a);
}
const Bytes& PoolAddress() {
  static Bytes a;
  return ModuleAddr("checker_pool", a);
}
const Bytes& TreasuryAddress() {
  static Bytes a;
  return ModuleAddr("treasury", a);
}

Params DefaultParams() {
  Params p;
  p.set_quorum(3);
  p.set_epoch_blocks(20);
  p.set_compute_every_epochs(5);
  p.set_min_checker_bond("1000000");
  p.set_attest_window(10);
  p.set_probe_window(5);
  p.set_sample_rows(32);
  p.set_freivalds_rounds(2);
  p.set_target_prove_ms(2000);
  p.set_min_n(64);
  p.set_max_n(4096);
  p.set_slack_bps(30000);
  p.set_base_blocks(3);
  p.set_block_ms(1000);
  // Multiply-adds (u32 x u32 -> u64, mod p) per millisecond per GPU: conservative figures for
  // the integer kernel, not vendor peaks (doc/modules/verify.md, "Sizing").
  const std::pair<const char*, uint64_t> gpus[] = {{"h200", 4'500'000'000},    {"h100", 4'000'000'000},
                                                   {"a100", 2'000'000'000},    {"l40s", 2'500'000'000},
                                                   {"rtx4090", 3'000'000'000}, {"mi300", 4'000'000'000}};
  for (const auto& [m, r] : gpus) {
    auto* t = p.add_gpu_throughput();
    t->set_model(m);
    t->set_ops_per_ms(r);
  }
  p.set_cpu_ops_per_ms_per_core(1'000'000);
  p.set_max_latency_ms(2000);
  p.set_reputation_alpha_bps(2000);
  p.set_reputation_prior_bps(5000);
  p.set_slash_downtime_bps(1000);
  p.set_slash_deception_bps(5000);
  p.set_appeal_window(20);
  p.set_strike_window(1000);
  p.set_strikes_to_ban(2);
  p.set_ban_blocks(5000);
  p.set_reward_per_attestation("1000");
  p.set_checker_slash_bps(1000);
  p.set_sla_window_blocks(200);
  p.set_dispute_gas(500000);
  p.set_checker_unbonding_blocks(100);
  return p;
}

Status ValidateParams(const Params& p) {
  auto bad = [](const std::string& m) { return VerifyErr(kErrInvalidParams, m); };
  if (p.quorum() < 1 || p.quorum() > 15) return bad("quorum must be in 1..15");
  if (p.epoch_blocks() < 1) return bad("epoch_blocks must be >= 1");
  if (p.compute_every_epochs() < 1) return bad("compute_every_epochs must be >= 1");
  auto b = Amount::Parse(p.min_checker_bond());
  if (!b.ok() || b->is_zero()) return bad("min_checker_bond must be a positive amount");
  if (p.attest_window() < 1 || p.probe_window() < 1) return bad("attest_window and probe_window must be >= 1");
  if (p.sample_rows() < 1 || p.freivalds_rounds() < 1 || p.freivalds_rounds() > 8)
    return bad("sample_rows must be >= 1 and freivalds_rounds in 1..8");
  if (p.min_n() < 8 || p.min_n() % 8 != 0 || p.max_n() < p.min_n() || p.max_n() > 8192 || p.max_n() % 8 != 0)
    return bad("min_n and max_n must be multiples of 8 with 8 <= min_n <= max_n <= 8192");
  if (p.target_prove_ms() < 1 || p.block_ms() < 1 || p.slack_bps() < 10000)
    return bad("target_prove_ms and block_ms must be >= 1, slack_bps >= 10000");
  if (p.base_blocks() < 1) return bad("base_blocks must be >= 1");
  for (const auto& t : p.gpu_throughput())
    if (t.model().empty() || t.ops_per_ms() == 0) return bad("gpu_throughput entries need a model and ops_per_ms");
  if (p.reputation_alpha_bps() < 1 || p.reputation_alpha_bps() > 10000 || p.reputation_prior_bps() > 10000)
    return bad("reputation_alpha_bps must be in 1..10000 and reputation_prior_bps <= 10000");
  if (p.slash_downtime_bps() > 10000 || p.slash_deception_bps() > 10000 || p.checker_slash_bps() > 10000)
    return bad("slash fractions must be <= 10000 bps");
  if (p.appeal_window() < 1 || p.strike_window() < 1 || p.strikes_to_ban() < 1 || p.ban_blocks() < 0)
    return bad("appeal_window, strike_window and strikes_to_ban must be >= 1, ban_blocks >= 0");
  auto r = Amount::Parse(p.reward_per_attestation());
  if (!r.ok()) return bad("reward_per_attestation must be an amount");
  if (p.sla_window_blocks() < 1) return bad("sla_window_blocks must be >= 1");
  if (p.checker_unbonding_blocks() < 0) return bad("checker_unbonding_blocks must be >= 0");
  return {};
}

std::optional<Sizing> SizeChallenge(const Params& p, const depai::provider::v1::Resources& claimed,
                                    const std::vector<LeaseInfo>& leases) {
  Sizing s;
  // Free capacity: the claim minus what active leases hold.
  uint64_t cpu_used = 0;
  std::vector<std::pair<std::string, uint64_t>> gpu_used;
  for (const auto& l : leases) {
    cpu_used += l.cpu_millicores;
    for (const auto& [m, c] : l.gpus) gpu_used.emplace_back(m, c);
  }
  unsigned __int128 t = 0;
  std::string hw;
  auto join = [&](const std::string& part) { hw += (hw.empty() ? "" : " + ") + part; };
  for (const auto& g : claimed.gpus()) {
    uint64_t count = g.count();
    for (auto& [m, c] : gpu_used)
      if (m == g.model() && c > 0) {
        const uint64_t take = std::min<uint64_t>(c, count);
        c -= take;
        count -= take;
      }
    const uint64_t rate = ToLowerModelRate(p, g.model());
    if (count == 0 || rate == 0) continue;
    t += static_cast<unsigned __int128>(rate) * count;
    join(g.vendor() + " " + g.model() + " x" + std::to_string(count));
  }
  const uint64_t cpu_free = claimed.cpu_millicores() > cpu_used ? claimed.cpu_millicores() - cpu_used : 0;
  if (cpu_free > 0 && p.cpu_ops_per_ms_per_core() > 0) {
    t += static_cast<unsigned __int128>(cpu_free) * p.cpu_ops_per_ms_per_core() / 1000;
    join("cpu " + std::to_string(cpu_free) + "m");
  }
  if (t == 0) return std::nullopt;
  if (t > UINT64_MAX) t = UINT64_MAX;
  s.ops_per_ms = static_cast<uint64_t>(t);
  const unsigned __int128 budget = t * p.target_prove_ms();
  uint64_t n = p.max_n();
  while (n >= p.min_n() && static_cast<unsigned __int128>(n) * n * n > budget) n -= 8;
  if (n < p.min_n()) return std::nullopt;  // the free capacity cannot do the smallest challenge in time
  s.n = static_cast<uint32_t>(n);
  const unsigned __int128 work = static_cast<unsigned __int128>(n) * n * n * p.slack_bps();
  const unsigned __int128 per_block = t * 10000 * p.block_ms();
  s.deadline_blocks = p.base_blocks() + static_cast<int64_t>((work + per_block - 1) / per_block);
  s.hardware = hw;
  return s;
}

// ---- records -------------------------------------------------------------------------------

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  DEPAI_ASSIGN_OR_RETURN(auto p, DecodeRecord<Params>(*v, "verify params"));
  if (auto st = ValidateParams(p); !st.ok())
    return Fault(kFaultCorruptRecord, "stored verify params are out of range: " + st.error().message);
  return p;
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<Bytes> Keeper::beacon(const store::KVReader& s) const {
  auto v = s.get(keys::kBeacon);
  if (!v) return Bytes(32, '\0');
  if (v->size() != 40) return Fault(kFaultCorruptRecord, "stored beacon is not 40 bytes");
  return v->substr(0, 32);
}
void Keeper::set_beacon(store::KVStore& s, std::string_view b, int64_t height) const {
  Bytes v(b);
  PutU64BE(v, static_cast<uint64_t>(height));
  s.set(keys::kBeacon, v);
}

Result<uint64_t> Keeper::last_id(const store::KVReader& s, std::string_view seq) const {
  auto v = s.get(keys::Seq(seq));
  if (!v) return uint64_t{0};
  return DecodeU64Record(*v, "verify sequence");
}
void Keeper::set_last_id(store::KVStore& s, std::string_view seq, uint64_t id) const {
  Bytes b;
  PutU64BE(b, id);
  s.set(keys::Seq(seq), b);
}
Result<uint64_t> Keeper::next_id(store::KVStore& s, std::string_view seq) const {
  DEPAI_ASSIGN_OR_RETURN(uint64_t id, last_id(s, seq));
  set_last_id(s, seq, id + 1);
  return id + 1;
}

Result<std::optional<Checker>> Keeper::checker(const store::KVReader& s, std::string_view addr) const {
  auto v = s.get(keys::Checker(addr));
  if (!v) return std::optional<Checker>();
  DEPAI_ASSIGN_OR_RETURN(auto c, DecodeChecker(*v));
  return std::optional<Checker>(std::move(c));
}
void Keeper::set_checker(store::KVStore& s, std::string_view addr, const Checker& c) const {
  s.set(keys::Checker(addr), DeterministicSerialize(c));
}

Result<std::optional<Challenge>> Keeper::challenge(const store::KVReader& s, uint64_t id) const {
  auto v = s.get(keys::Challenge(id));
  if (!v) return std::optional<Challenge>();
  DEPAI_ASSIGN_OR_RETURN(auto c, DecodeRecord<Challenge>(*v, "challenge"));
  return std::optional<Challenge>(std::move(c));
}
void Keeper::set_challenge(store::KVStore& s, const Challenge& c) const {
  s.set(keys::Challenge(c.id()), DeterministicSerialize(c));
}

Result<std::vector<Measurement>> Keeper::attestations(const store::KVReader& s, uint64_t challenge) const {
  std::vector<Measurement> out;
  DEPAI_TRY(ForEachRecord(
      s, keys::AttestsOf(challenge), [](std::string_view v) { return DecodeRecord<Measurement>(v, "attestation"); },
      [&](std::string_view, const Measurement& m) {
        out.push_back(m);
        return true;
      }));
  return out;
}

Result<std::optional<Verdict>> Keeper::verdict(const store::KVReader& s, uint64_t id) const {
  auto v = s.get(keys::Verdict(id));
  if (!v) return std::optional<Verdict>();
  DEPAI_ASSIGN_OR_RETURN(auto d, DecodeVerdict(*v));
  return std::optional<Verdict>(std::move(d));
}
void Keeper::set_verdict(store::KVStore& s, const Verdict& v) const {
  s.set(keys::Verdict(v.id()), DeterministicSerialize(v));
}

Result<std::optional<Reputation>> Keeper::reputation(const store::KVReader& s, std::string_view provider) const {
  auto v = s.get(keys::Reputation(provider));
  if (!v) return std::optional<Reputation>();
  DEPAI_ASSIGN_OR_RETURN(auto r, DecodeRecord<Reputation>(*v, "reputation"));
  if (r.bps() > 10000) return Fault(kFaultCorruptRecord, "stored reputation above 10000 bps");
  return std::optional<Reputation>(std::move(r));
}
Result<uint32_t> Keeper::reputation_bps(const store::KVReader& s, std::string_view provider) const {
  DEPAI_ASSIGN_OR_RETURN(auto r, reputation(s, provider));
  if (r) return r->bps();
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  return p.reputation_prior_bps();
}
Status Keeper::set_reputation(store::KVStore& s, std::string_view provider, const Reputation& r) const {
  s.set(keys::Reputation(provider), DeterministicSerialize(r));
  return {};
}

Result<std::optional<SlaState>> Keeper::sla(const store::KVReader& s, uint64_t lease) const {
  auto v = s.get(keys::Sla(lease));
  if (!v) return std::optional<SlaState>();
  DEPAI_ASSIGN_OR_RETURN(auto r, DecodeRecord<SlaState>(*v, "sla state"));
  return std::optional<SlaState>(std::move(r));
}

void Keeper::set_due(store::KVStore& s, int64_t height, uint8_t what, uint64_t id, bool on) const {
  const std::string k = keys::DueId(height, static_cast<keys::Due>(what), id);
  if (on)
    s.set(k, "");
  else
    s.del(k);
}

// ---- iterators -------------------------------------------------------------------------------

Status Keeper::for_each_checker(const store::KVReader& s, const CheckerFn& fn) const {
  return ForEachRecord(s, keys::kCheckerPrefix, DecodeChecker, [&](std::string_view k, const Checker& c) {
    return fn(k.substr(keys::kCheckerPrefix.size()), c);
  });
}
Status Keeper::for_each_challenge(const store::KVReader& s, const ChallengeFn& fn) const {
  return ForEachRecord(
      s, keys::kChallengePrefix, [](std::string_view v) { return DecodeRecord<Challenge>(v, "challenge"); },
      [&](std::string_view, const Challenge& c) { return fn(c); });
}
Status Keeper::for_each_verdict(const store::KVReader& s, const VerdictFn& fn) const {
  return ForEachRecord(s, keys::kVerdictPrefix, DecodeVerdict,
                       [&](std::string_view, const Verdict& v) { return fn(v); });
}
Status Keeper::for_each_verdict_of(const store::KVReader& s, std::string_view provider, const VerdictFn& fn) const {
  // The index is in id order; collect the ids and walk them newest first.
  std::vector<uint64_t> ids;
  Status st;
  const std::string pre = keys::HistoryOf(provider);
  s.iterate(pre, store::PrefixEnd(pre), [&](std::string_view k, std::string_view) {
    if (k.size() != pre.size() + 8) {
      st = Fault(kFaultCorruptRecord, "verdict history key of the wrong length");
      return false;
    }
    ids.push_back(GetU64BE(k.substr(pre.size())));
    return true;
  });
  DEPAI_TRY(st);
  std::reverse(ids.begin(), ids.end());  // newest first
  for (uint64_t id : ids) {
    DEPAI_ASSIGN_OR_RETURN(auto v, verdict(s, id));
    if (!v) return Fault(kFaultCorruptRecord, "verdict history names a missing verdict " + std::to_string(id));
    if (!fn(*v)) break;
  }
  return {};
}
Status Keeper::for_each_reputation(const store::KVReader& s, const ReputationFn& fn) const {
  return ForEachRecord(
      s, keys::kReputationPrefix, [](std::string_view v) { return DecodeRecord<Reputation>(v, "reputation"); },
      [&](std::string_view, const Reputation& r) { return fn(r); });
}
Status Keeper::for_each_sla(const store::KVReader& s, const SlaFn& fn) const {
  return ForEachRecord(
      s, keys::kSlaPrefix, [](std::string_view v) { return DecodeRecord<SlaState>(v, "sla state"); },
      [&](std::string_view, const SlaState& r) { return fn(r); });
}
Status Keeper::for_each_attestation(const store::KVReader& s, const MeasurementFn& fn) const {
  return ForEachRecord(
      s, keys::kAttestPrefix, [](std::string_view v) { return DecodeRecord<Measurement>(v, "attestation"); },
      [&](std::string_view k, const Measurement& m) {
        return fn(GetU64BE(k.substr(keys::kAttestPrefix.size(), 8)), m);
      });
}

// ---- beacon --------------------------------------------------------------------------------

Result<Bytes> Keeper::randomness(Context& ctx) const {
  auto& s = *ctx.store;
  auto v = s.get(keys::kBeacon);
  const int64_t h = ctx.header->height;
  if (v && v->size() == 40 && static_cast<int64_t>(GetU64BE(std::string_view(*v).substr(32))) == h)
    return v->substr(0, 32);  // already mixed with this block
  DEPAI_ASSIGN_OR_RETURN(Bytes prev, beacon(s));
  Bytes in = "depai/beacon";
  in += prev;
  in += ctx.header->hash;
  PutU64BE(in, static_cast<uint64_t>(h));
  Bytes next = crypto::Sha256(in);
  set_beacon(s, next, h);
  return next;
}

Result<Standing> Keeper::standing(const store::KVReader& s, std::string_view provider20, int64_t from,
                                  int64_t to) const {
  Standing out;
  bool compute_seen = false;
  uint64_t compute_challenge = 0;
  bool compute_pass = false;
  DEPAI_TRY(for_each_verdict_of(s, provider20, [&](const Verdict& v) {
    if (v.height() < from && compute_seen) return false;  // newest first: nothing older matters
    if (v.height() > to) return true;
    if (v.reason_code() == depai::verify::v1::REASON_NO_QUORUM) return true;  // no effect
    if (v.state() == depai::verify::v1::VERDICT_STATE_OVERTURNED) return true;
    if (v.kind() == depai::verify::v1::CHALLENGE_KIND_COMPUTE && !compute_seen) {
      compute_seen = true;
      compute_pass = v.pass();
      compute_challenge = v.challenge_id();
    }
    if (v.height() < from) return true;
    if (v.kind() == depai::verify::v1::CHALLENGE_KIND_LIVENESS) {
      ++out.liveness_probes;
      if (v.pass()) ++out.liveness_passes;
    }
    if (!v.pass() && v.reason_code() != depai::verify::v1::REASON_OFFLINE &&
        v.reason_code() != depai::verify::v1::REASON_LATENCY)
      out.failed = true;
    return true;
  }));
  if (compute_seen && compute_pass) {
    DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, compute_challenge));
    if (!c) return Fault(kFaultCorruptRecord, "verdict names a missing challenge " + std::to_string(compute_challenge));
    out.verified_ops_per_ms = c->claimed_ops_per_ms();
  }
  return out;
}

}  // namespace depai::x::verify
