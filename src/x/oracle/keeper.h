// x/oracle keeper: the DPAI/USD price. Rounds of reports (the vote extensions of one extended
// commit under CometBFT, or the MsgPostPrice txs of one block on the devnet) are aggregated into a
// power-weighted median; an integer EMA of the medians and a confidence half-band (an EMA of the
// rounds' weighted median absolute deviation) follow. price_info answers other modules (x/bme,
// x/rewards) whether the price is usable: fresh (params.max_age_ms of block time) and from a round
// with enough reports and validator power. The protocol and every parameter: doc/modules/oracle.md.
//
// State (prefix "oracle/", keys in x/oracle/keys.h). Only this keeper touches "oracle/". Views
// return Result: a stored record that does not decode is a fault (kFaultCorruptRecord), never an
// absent price or a zero. Invariants (a break is a fault): no MsgPostPrice report survives its
// block; a stored price lies in [1, params.max_price_e9]; the validator records are keyed by their
// own address, which is SHA-256(pub_key)[:20].
// Vote extensions (votes.cpp): the injection is the first "tx" of a block, kInjectionMagic then a
// depai.oracle.v1.InjectedVotes; its signatures are checked against the validator set InitChain
// gave, over CometBFT v0.38's canonical vote-extension sign bytes.
// Files: keeper.cpp (params, records, aggregation, price_info), votes.cpp (extensions and the
// injection), end_block.cpp, invariants.cpp; msg_server.cpp, genesis.cpp, query.cpp and sim.cpp use
// the keeper only. Pure integer arithmetic; not thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "depai/oracle/v1/oracle.pb.h"
#include "store/cache_store.h"
#include "x/types/context.h"
#include "x/types/price.h"

namespace depai::x::oracle {

inline constexpr const char* kCodespace = "oracle";
// Stable codes: never renumber or reuse.
enum Code : uint32_t {
  kErrNotFeeder = 2,      // MsgPostPrice from an account not in params.feeders
  kErrInvalidPrice = 3,   // 0, above max_price_e9, or not a decimal USD price
  kErrAlreadyPosted = 4,  // a second MsgPostPrice from the same feeder in one block
  kErrInvalidParams = 5,
  kErrInvalidInjection = 6,  // ProcessProposal: a missing, duplicated, forged or malformed injection
  kErrInvalidExtension = 7,  // VerifyVoteExtension: a payload that does not decode or is out of range
};
inline Error OracleErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

using depai::oracle::v1::InjectedVotes;
using depai::oracle::v1::Params;
using depai::oracle::v1::PriceState;
using depai::oracle::v1::Validator;

// CometBFT's BlockIDFlag values.
inline constexpr int32_t kFlagAbsent = 1;
inline constexpr int32_t kFlagCommit = 2;
inline constexpr int32_t kFlagNil = 3;
// A vote extension longer than this is refused (an OracleVoteExtension is at most 11 bytes).
inline constexpr size_t kMaxExtensionBytes = 64;
// The injection's prefix: 0xFF can never start a TxRaw (field 31, wire type 7 does not exist).
inline constexpr std::string_view kInjectionMagic =
    "\xff"
    "DEPAI-ORACLE-VE1";

Params DefaultParams();
Status ValidateParams(const Params& p);

// "1.25" (USD per DPAI, at most 9 decimals; with truncate, more decimals are cut off) -> 1250000000.
// Refuses signs, exponents, empty parts and values above 2^64-1 nano-USD.
Result<uint64_t> ParseUsdE9(std::string_view decimal, bool truncate = false);
// 1250000000 -> "1.250000000" (always 9 decimals).
std::string FormatUsdE9(uint64_t e9);

// ---- aggregation (pure; keeper.cpp) ----
struct Report {
  uint64_t price_e9 = 0;
  uint64_t weight = 0;  // validator power, or 1 for a feeder
};
// The lower power-weighted median: the smallest reported price p such that the reports at or
// below p carry at least half the weight (2 * cumulative >= total). 0 for no reports.
uint64_t WeightedMedian(std::vector<Report> reports);
// The weighted median of |price - median| over the reports.
uint64_t WeightedMad(const std::vector<Report>& reports, uint64_t median);
// Integer EMA: (alpha * x + (10000 - alpha) * prev) / 10000, rounded down.
uint64_t Ema(uint64_t prev, uint64_t x, uint32_t alpha_bps);

// Parsed MsgPostPrice.
struct PostPriceParsed {
  Bytes signer;  // feeder
  uint64_t price_e9 = 0;
};

class Keeper {
 public:
  // ---- records and views (keeper.cpp) ----
  Result<Params> params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;
  Result<std::optional<PriceState>> price(const store::KVReader& s) const;
  void set_price(store::KVStore& s, const PriceState& p) const;

  // The DPAI/USD price for a block at (height, time_ms): available iff a price was aggregated,
  // it is at most params.max_age_ms old (block time), and that aggregation had at least
  // params.min_reports reports (and, for vote extensions, at least params.min_power_bps of the
  // validator power). Never a fault for "no price"; a corrupt record is a fault.
  Result<x::PriceInfo> price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const;

  // Aggregates one round (its reports in any order) at the context's block: stores the median
  // and, when the round qualifies, updates the EMA and conf. No reports: nothing changes.
  Status aggregate(Context& ctx, const std::vector<Report>& reports, depai::oracle::v1::Source source,
                   uint32_t power_bps) const;

  // ---- feeders (keeper.cpp) ----
  Status check_post_price(const store::KVReader& s, const PostPriceParsed& m) const;
  Status post_price(Context& ctx, const PostPriceParsed& m) const;
  using PostFn = std::function<bool(std::string_view feeder20, uint64_t price_e9)>;
  Status for_each_post(const store::KVReader& s, const PostFn& fn) const;  // feeder address order

  // ---- validators and vote extensions (votes.cpp) ----
  // Replaces the validator set (InitChain); addresses are derived from the keys.
  Status set_validators(store::KVStore& s, const std::vector<std::pair<Bytes, int64_t>>& pubkey_power) const;
  using ValidatorFn = std::function<bool(const Validator&)>;
  Status for_each_validator(const store::KVReader& s, const ValidatorFn& fn) const;  // address order
  Result<std::optional<Validator>> validator(const store::KVReader& s, std::string_view addr) const;
  // CometBFT's vote_extensions_enable_height (0 = vote extensions off).
  Result<int64_t> ve_enable_height(const store::KVReader& s) const;
  void set_ve_enable_height(store::KVStore& s, int64_t h) const;
  // Whether a block at `height` must begin with the injection: extensions are on and the
  // previous height's precommits carried them (height > enable height).
  Result<bool> injection_required(const store::KVReader& s, int64_t height) const;

  // A vote extension's payload: nullopt for empty bytes ("no price"), the price otherwise;
  // kErrInvalidExtension when it does not decode strictly, is too long, or is out of range.
  Result<std::optional<uint64_t>> decode_extension(const store::KVReader& s, std::string_view ext) const;
  // The payload ExtendVote sends for a price (empty for none).
  static Bytes EncodeExtension(std::optional<uint64_t> price_e9);

  // The injection as a block "tx", and back (strict: trailing garbage or unknown fields refused).
  static bool IsInjection(std::string_view tx);
  static Bytes EncodeInjection(const InjectedVotes& v);
  static Result<InjectedVotes> DecodeInjection(std::string_view tx);
  // varint(len) || CanonicalVoteExtension{extension, height, round, chain_id}: what CometBFT signs.
  static Bytes ExtensionSignBytes(std::string_view extension, int64_t height, int64_t round, std::string_view chain_id);

  // ProcessProposal's check of an injection for the block at `height`: the votes are of
  // height - 1; every vote names a known validator once, with its power; commit votes carry a
  // valid signature over their extension and a valid payload; others carry nothing; the commit
  // votes hold more than 2/3 of the power. Errors are kErrInvalidInjection with the reason.
  Status check_injection(const store::KVReader& s, const InjectedVotes& v, std::string_view chain_id,
                         int64_t height) const;
  // The round of a checked injection: one report per commit vote with a price, weighted by power.
  Status aggregate_injection(Context& ctx, const InjectedVotes& v) const;

  // ---- block hook (end_block.cpp) ----
  Status end_block(Context& ctx) const;  // the block's MsgPostPrice round

  // ---- invariants (invariants.cpp) ----
  Status check_invariants_full(const store::KVReader& s) const;
  Status check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const;
};

}  // namespace depai::x::oracle
