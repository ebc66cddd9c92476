// x/verify keeper: checkers and their bonds, the randomness beacon, challenges (compute capacity
// and liveness) with their quorums, attestations, verdicts with reasons, reputation, per-lease
// SLAs, slashing, buyer refunds, checker rewards and strikes, on-chain disputes and appeals.
// The protocol, its probabilities and parameters: doc/modules/verify.md.
//
// State (prefix "verify/", keys in x/verify/keys.h). Only this keeper touches "verify/". Views
// return Result: a stored record that does not decode (or an amount field that does not parse)
// is a fault (kFaultCorruptRecord), never an absent record or a zero.
// Coins: checker bonds in module:verify_bond, slashes held until a verdict is final in
// module:verify_slash, rewards from module:checker_pool; all moved through BankKeeper.
// Invariants (a break is a fault): balance(verify_bond) == sum(checker bonds);
// balance(verify_slash) == sum(slashed of PENDING and APPEALED verdicts).
// Per-block work is driven by the due index (verify/due/<height>...), plus one pass over the
// providers every params.epoch_blocks to create challenges.
// Files: keeper.cpp (params, records, views, beacon), checkers.cpp, challenges.cpp (scheduling,
// assignment, roots, attestations, decisions), verdicts.cpp (verdicts, reputation, SLA, slashes,
// refunds, finality, appeals, disputes), end_block.cpp, invariants.cpp; msg_server.cpp,
// genesis.cpp, query.cpp and sim.cpp use the keeper only. Not thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "depai/verify/v1/verify.pb.h"
#include "store/cache_store.h"
#include "util/amount.h"
#include "x/types/context.h"
#include "x/verify/expected_keepers.h"

namespace depai::x::verify {

inline constexpr const char* kCodespace = "verify";
// Stable codes: never renumber or reuse.
enum Code : uint32_t {
  kErrInvalidBond = 2,
  kErrBondTooLow = 3,
  kErrAlreadyRegistered = 4,
  kErrCheckerNotFound = 5,
  kErrChallengeNotFound = 6,
  kErrNotYourChallenge = 7,  // not the challenged provider / not in the quorum
  kErrWrongState = 8,        // e.g. a root for a challenge that is not awaiting one
  kErrDeadlinePassed = 9,
  kErrAlreadyAttested = 10,
  kErrInvalidRoot = 11,
  kErrInvalidAttestation = 12,
  kErrVerdictNotFound = 13,
  kErrNotAppealable = 14,
  kErrNoFreshQuorum = 15,   // too few eligible checkers outside the original quorum
  kErrInvalidDispute = 16,  // malformed row, proof does not verify, row already disputed
  kErrInvalidParams = 17,
  kErrProviderNotFound = 18,
  kErrTooEarly = 19,  // a liveness attestation before the probe window
};
inline Error VerifyErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

inline constexpr const char* kDenom = "udpai";
inline constexpr size_t kMaxReason = 256;

using depai::verify::v1::Challenge;
using depai::verify::v1::Checker;
using depai::verify::v1::Measurement;
using depai::verify::v1::Params;
using depai::verify::v1::Reputation;
using depai::verify::v1::SlaState;
using depai::verify::v1::Verdict;

// Module accounts: SHA-256("module:<name>")[:20].
const Bytes& BondAddress();      // verify_bond
const Bytes& SlashAddress();     // verify_slash
const Bytes& PoolAddress();      // checker_pool
const Bytes& TreasuryAddress();  // treasury (shared with x/market)

Params DefaultParams();
Status ValidateParams(const Params& p);

// The compute challenge sized to claimed hardware (doc/modules/verify.md, "Sizing"):
//   T = sum over free GPUs of ops_per_ms(model) + free cpu_millicores * cpu_ops_per_ms_per_core / 1000
//   n = the largest multiple of 8 with n^3 <= target_prove_ms * T, clamped to [min_n, max_n]
//   deadline_blocks = base_blocks + ceil(n^3 * slack_bps / (10000 * T * block_ms))
// T == 0 (or n below min_n because capacity is leased): no compute challenge.
struct Sizing {
  uint64_t ops_per_ms = 0;
  uint32_t n = 0;
  int64_t deadline_blocks = 0;
  std::string hardware;  // "nvidia h100 x8", "cpu 2000m", joined with " + "
};
std::optional<Sizing> SizeChallenge(const Params& p, const depai::provider::v1::Resources& claimed,
                                    const std::vector<LeaseInfo>& leases);

// A provider's verification record over heights [from, to] (keeper.cpp `standing`; x/rewards
// pays only work and capacity that verification did not fail). Verdicts without effect (no
// quorum) and overturned verdicts do not count.
struct Standing {
  bool failed = false;               // a failing verdict in the range for deception (any reason but OFFLINE/LATENCY)
  uint64_t verified_ops_per_ms = 0;  // claimed_ops_per_ms of the newest compute verdict (at or before `to`)
                                     // when it passed; 0 when it failed or there is none
  uint32_t liveness_probes = 0;      // liveness verdicts in the range, and how many passed
  uint32_t liveness_passes = 0;
};

// Parsed messages (msg_server.cpp validates into these once).
struct RegisterParsed {
  Bytes signer;  // checker address
  Bytes owner;   // 20 bytes (= signer when the message leaves it empty)
  Amount bond;
};
struct DeregisterParsed {
  Bytes signer;
};
struct CommitRootParsed {
  Bytes signer;  // provider
  uint64_t challenge_id = 0;
  Bytes root;  // 32 bytes
};
struct AttestParsed {
  Bytes signer;  // checker
  uint64_t challenge_id = 0;
  Measurement m;  // checker (bech32), pass, reason, measurements; height set at apply
};
struct DisputeParsed {
  Bytes signer;
  uint64_t challenge_id = 0;
  uint32_t row_index = 0;
  Bytes row;
  std::vector<Bytes> proof;
};
struct AppealParsed {
  Bytes signer;  // provider
  uint64_t verdict_id = 0;
};

class Keeper {
 public:
  Keeper(const ProviderKeeper* providers, const MarketKeeper* market, const BankKeeper* bank)
      : providers_(providers), market_(market), bank_(bank) {}

  // ---- records and views (keeper.cpp) ----
  Result<Params> params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;
  // The beacon as last mixed (32 zero bytes before the first use), and the height it was mixed at.
  Result<Bytes> beacon(const store::KVReader& s) const;
  void set_beacon(store::KVStore& s, std::string_view b, int64_t height) const;
  // This block's randomness: the first call in a block mixes the block into the beacon,
  //   beacon_h = SHA-256("depai/beacon" || beacon_prev || block hash || BE64(h)),
  // and stores it; later calls in the same block return the same value. Blocks that draw no
  // randomness leave the state untouched (doc/modules/verify.md, "Randomness").
  Result<Bytes> randomness(Context& ctx) const;
  Result<uint64_t> last_id(const store::KVReader& s, std::string_view seq) const;  // "challenge" / "verdict"
  void set_last_id(store::KVStore& s, std::string_view seq, uint64_t id) const;
  Result<std::optional<Checker>> checker(const store::KVReader& s, std::string_view addr) const;
  void set_checker(store::KVStore& s, std::string_view addr, const Checker& c) const;
  Result<std::optional<Challenge>> challenge(const store::KVReader& s, uint64_t id) const;
  void set_challenge(store::KVStore& s, const Challenge& c) const;
  Result<std::vector<Measurement>> attestations(const store::KVReader& s, uint64_t challenge) const;
  Result<std::optional<Verdict>> verdict(const store::KVReader& s, uint64_t id) const;
  void set_verdict(store::KVStore& s, const Verdict& v) const;
  // The provider's reputation record; nullopt when it has no verdict yet.
  Result<std::optional<Reputation>> reputation(const store::KVReader& s, std::string_view provider) const;
  // bps: the record's, or params.reputation_prior_bps without history.
  Result<uint32_t> reputation_bps(const store::KVReader& s, std::string_view provider) const;
  Result<std::optional<SlaState>> sla(const store::KVReader& s, uint64_t lease) const;
  Result<Standing> standing(const store::KVReader& s, std::string_view provider20, int64_t from, int64_t to) const;

  using CheckerFn = std::function<bool(std::string_view addr, const Checker&)>;
  Status for_each_checker(const store::KVReader& s, const CheckerFn& fn) const;  // address order
  using ChallengeFn = std::function<bool(const Challenge&)>;
  Status for_each_challenge(const store::KVReader& s, const ChallengeFn& fn) const;  // id order
  using VerdictFn = std::function<bool(const Verdict&)>;
  Status for_each_verdict(const store::KVReader& s, const VerdictFn& fn) const;  // id order
  // The provider's verdicts, newest first.
  Status for_each_verdict_of(const store::KVReader& s, std::string_view provider, const VerdictFn& fn) const;
  using ReputationFn = std::function<bool(const Reputation&)>;
  Status for_each_reputation(const store::KVReader& s, const ReputationFn& fn) const;
  using SlaFn = std::function<bool(const SlaState&)>;
  Status for_each_sla(const store::KVReader& s, const SlaFn& fn) const;
  using MeasurementFn = std::function<bool(uint64_t challenge, const Measurement&)>;
  Status for_each_attestation(const store::KVReader& s, const MeasurementFn& fn) const;

  // ---- message phases (checkers.cpp, challenges.cpp, verdicts.cpp) ----
  Status check_register(const store::KVReader& s, const RegisterParsed& m) const;
  Status register_checker(Context& ctx, const RegisterParsed& m) const;
  Status check_deregister(const store::KVReader& s, const DeregisterParsed& m) const;
  Status deregister_checker(Context& ctx, const DeregisterParsed& m) const;
  Status check_commit_root(const store::KVReader& s, const CommitRootParsed& m, int64_t height) const;
  Status commit_root(Context& ctx, const CommitRootParsed& m) const;
  Status check_attest(const store::KVReader& s, const AttestParsed& m, int64_t height) const;
  Status attest(Context& ctx, const AttestParsed& m) const;
  Status check_dispute(const store::KVReader& s, const DisputeParsed& m) const;
  Status dispute(Context& ctx, const DisputeParsed& m) const;
  Status check_appeal(const store::KVReader& s, const AppealParsed& m, int64_t height) const;
  Status appeal(Context& ctx, const AppealParsed& m) const;

  // ---- block hook (end_block.cpp); errors halt the node ----
  Status end_block(Context& ctx) const;

  // Bond-weighted draw of k checkers for `provider` from `seed` (challenges.cpp): never the
  // provider itself, never a checker whose owner is the provider, never a banned or inactive
  // checker or one below min bond, never one in `exclude`. nullopt when fewer than k qualify.
  Result<std::optional<std::vector<Bytes>>> draw_quorum(const store::KVReader& s, const Params& p,
                                                        std::string_view provider, std::string_view seed,
                                                        int64_t height, const std::vector<Bytes>& exclude) const;

  // Rebuilds the open, due and history indexes from the records (genesis import).
  Status rebuild_indexes(store::KVStore& s) const;

  // ---- invariants (invariants.cpp) ----
  Status check_invariants_full(const store::KVReader& s) const;
  Status check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const;

  const BankKeeper* bank() const { return bank_; }

 private:
  friend class Module;
  Result<uint64_t> next_id(store::KVStore& s, std::string_view seq) const;
  // challenges.cpp
  Status schedule_epoch(Context& ctx, const Params& p) const;
  Result<uint64_t> create_challenge(Context& ctx, const Params& p, depai::verify::v1::ChallengeKind kind,
                                    std::string_view provider, const depai::provider::v1::Provider& pr,
                                    const std::vector<Bytes>& quorum, const Sizing* sizing, uint64_t appeal_of) const;
  Status on_root_deadline(Context& ctx, const Params& p, uint64_t id) const;
  Status on_sample(Context& ctx, const Params& p, uint64_t id) const;
  Status decide(Context& ctx, const Params& p, Challenge& c) const;
  // verdicts.cpp
  Result<uint64_t> issue_verdict(Context& ctx, const Params& p, Challenge& c, bool quorum_pass, bool pass,
                                 depai::verify::v1::ReasonCode code, const std::string& reason,
                                 std::vector<Measurement> ms, uint32_t median_latency, bool no_effect) const;
  Status finalize(Context& ctx, const Params& p, Verdict& v) const;
  Status overturn(Context& ctx, const Params& p, Verdict& v, const char* why) const;
  Status strike(Context& ctx, const Params& p, std::string_view checker_bech32) const;
  Status set_reputation(store::KVStore& s, std::string_view provider, const Reputation& r) const;
  Status on_unbond(Context& ctx, std::string_view addr) const;
  void set_due(store::KVStore& s, int64_t height, uint8_t what, uint64_t id, bool on) const;

  const ProviderKeeper* providers_;
  const MarketKeeper* market_;
  const BankKeeper* bank_;
};

}  // namespace depai::x::verify
