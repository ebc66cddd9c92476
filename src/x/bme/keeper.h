// x/bme keeper: burn-and-mint credits. MsgBurnForCredits burns udpai from its owner and mints
// floor(amount * conservative_e9 / 10^9) ucredit to the same owner, where conservative_e9 is the
// oracle's ema - 2*conf (x::PriceInfo::conservative_e9). ucredit stays non-transferable (bank's
// denom metadata); only modules move it (x/market escrows and burns it).
//
// A burn is refused, with its reason in the log and no state change, when
//   - the oracle has no usable price (kErrPriceUnavailable, the oracle's reason);
//   - the conservative price is 0 (kErrZeroPrice: the confidence band is as wide as the EMA);
//   - |price - ema| * 10000 > ema * params.max_deviation_bps (kErrDeviationHalt: "minting halted:
//     price deviates ..."), which lasts until the price settles back toward its EMA;
//   - the burn would take the circuit breaker's window past params.window_cap udpai
//     (kErrCircuitBreaker). The window is a sliding estimate over two fixed buckets of
//     params.window_blocks blocks: burned(now) = current + ceil(previous * (W - pos) / W), pos
//     = height mod W. Splitting a burn over txs, blocks or a bucket boundary does not help;
//   - the credits would be 0 (kErrZeroCredits), or would overflow an Amount (kErrCreditOverflow).
// All arithmetic is integer (128-bit intermediates); no floats.
//
// State (prefix "bme/", keys.h): params, the window and cumulative totals. Only this keeper
// touches "bme/". Views return Result: a stored record that does not decode is a fault. The last
// committed block's (height, time) comes from the App (`last_block`, not state): queries and
// CheckTx (whose header carries no time) read the price at that time.
// Files: keeper.cpp (views, quote, burn), invariants.cpp; the module's msg_server.cpp,
// genesis.cpp, query.cpp, sim.cpp. Not thread-safe.
#pragma once

#include <functional>
#include <optional>

#include "depai/bme/v1/bme.pb.h"
#include "store/kv.h"
#include "util/amount.h"
#include "x/bme/expected_keepers.h"
#include "x/types/context.h"
#include "x/types/price.h"

namespace depai::x::bme {

inline constexpr const char* kCodespace = "bme";
enum Code : uint32_t {
  kErrPriceUnavailable = 2,  // the oracle's reason follows
  kErrZeroPrice = 3,         // conservative price (ema - 2*conf) is 0
  kErrDeviationHalt = 4,     // |price - ema| beyond max_deviation_bps of the ema
  kErrCircuitBreaker = 5,    // the window's burn would pass window_cap
  kErrZeroCredits = 6,       // the amount buys less than 1 ucredit
  kErrInvalidAmount = 7,     // not a positive decimal udpai amount
  kErrCreditOverflow = 8,    // amount * price does not fit an Amount
};
inline Error BmeErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

using depai::bme::v1::Params;

// A nano-USD figure as an exact decimal USD string: 1234567890 -> "1.234567890".
std::string UsdDecimal(uint64_t e9);

Params DefaultParams();
Status ValidateParams(const Params& p);

struct ParamsRec {
  Params pb;
  Amount window_cap;
};
Result<ParamsRec> DecodeParams(Params pb);

// The circuit breaker's stored buckets, parsed.
struct WindowRec {
  int64_t window = 0;  // height / window_blocks of the bucket `burned` belongs to
  Amount burned;
  Amount prev_burned;
};
Result<WindowRec> DecodeWindow(const depai::bme::v1::Window& pb);

// The window as a block at `height` sees it (buckets rolled forward).
struct WindowView {
  int64_t window = 0;  // height / window_blocks
  int64_t pos = 0;     // height mod window_blocks
  Amount current;      // burned in this bucket so far
  Amount previous;     // burned in the bucket before
  Amount counted;      // current + ceil(previous * (W - pos) / W): what the cap is checked against
  Amount remaining;    // window_cap - counted (0 when at or past it)
};

struct TotalsRec {
  Amount burned;  // udpai
  Amount minted;  // ucredit
  uint64_t burns = 0;
};

struct Clock {
  int64_t height = 0;
  int64_t time_ms = 0;
};

// What a burn of `amount` would do at a block: the price used and the credits.
struct Quote {
  PriceInfo price;
  uint64_t conservative_e9 = 0;
  Amount credits;
  WindowView window;  // before the burn
};

struct BurnParsed {
  Bytes signer;   // owner
  Amount amount;  // udpai, positive
};

class Keeper {
 public:
  // last_block: the last committed block's (height, time); may be empty (zeros).
  Keeper(const OracleKeeper* oracle, const BankKeeper* bank, std::function<Clock()> last_block = nullptr)
      : oracle_(oracle), bank_(bank), last_block_(std::move(last_block)) {}

  // ---- views ----
  Result<ParamsRec> params(const store::KVReader& s) const;  // defaults when none are stored
  void set_params(store::KVStore& s, const Params& p) const;
  Result<WindowRec> window(const store::KVReader& s) const;
  void set_window(store::KVStore& s, const WindowRec& w) const;
  Result<TotalsRec> totals(const store::KVReader& s) const;
  void set_totals(store::KVStore& s, const TotalsRec& t) const;
  Clock last_block() const { return last_block_ ? last_block_() : Clock{}; }
  Result<WindowView> window_at(const store::KVReader& s, int64_t height) const;
  // The oracle's answer for a block at (height, time_ms).
  Result<PriceInfo> price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const;

  // Every refusal of the module's header comment, in that order; ok: the quote.
  Result<Quote> quote(const store::KVReader& s, int64_t height, int64_t time_ms, Amount amount) const;

  // ---- MsgBurnForCredits: check reads only; the write assumes the check passed ----
  // time_ms 0 (CheckTx has no block time) reads the price at the last committed block's time.
  Status check_burn(const store::KVReader& s, const BurnParsed& m, int64_t height, int64_t time_ms) const;
  // Burns, mints, advances the window and totals, emits bme.burn_for_credits; returns the credits.
  Result<Amount> burn_for_credits(Context& ctx, const BurnParsed& m) const;

  // ---- invariants (invariants.cpp); a break is Fault(kFaultInvariant) ----
  // The stored records decode; the window's buckets never exceed the cumulative burn.
  Status check_invariants(const store::KVReader& s) const;

 private:
  int64_t effective_time(int64_t time_ms) const { return time_ms != 0 ? time_ms : last_block().time_ms; }
  const OracleKeeper* oracle_;
  const BankKeeper* bank_;
  std::function<Clock()> last_block_;
};

}  // namespace depai::x::bme
