// x/bme keeper: records, the circuit-breaker window, the quote (every refusal) and the burn.
#include "x/bme/keeper.h"

#include "crypto/bech32.h"
#include "x/bme/keys.h"
#include "x/types/codec.h"

namespace depai::x::bme {

namespace {
Coins One(const char* denom, Amount a) { return Coins::From({Coin{denom, a}}).value(); }

Result<Amount> AmountOr0(std::string_view v, std::string_view what) {
  if (v.empty()) return Amount();
  return DecodeAmountField(v, what);
}

std::string Usd(uint64_t e9) { return UsdDecimal(e9); }
}  // namespace

std::string UsdDecimal(uint64_t e9) {
  const std::string frac = std::to_string(e9 % kPriceScale);  // at most 9 digits
  return std::to_string(e9 / kPriceScale) + "." + std::string(frac.size() < 9 ? 9 - frac.size() : 0, '0') + frac;
}

Params DefaultParams() {
  Params p;
  p.set_max_deviation_bps(1000);     // 10%: see doc/modules/bme.md for every default's reasoning
  p.set_window_blocks(600);          // ~10 minutes at 1 s blocks
  p.set_window_cap("100000000000");  // 100,000 DPAI per window
  return p;
}

Status ValidateParams(const Params& p) {
  if (p.max_deviation_bps() == 0 || p.max_deviation_bps() > 100000)
    return RootErr(kErrInvalidGenesis, "bme params: max_deviation_bps must be in 1..100000");
  if (p.window_blocks() <= 0) return RootErr(kErrInvalidGenesis, "bme params: window_blocks must be positive");
  auto cap = Amount::Parse(p.window_cap());
  if (!cap.ok() || cap->is_zero())
    return RootErr(kErrInvalidGenesis, "bme params: window_cap must be a positive udpai amount");
  return {};
}

Result<ParamsRec> DecodeParams(Params pb) {
  ParamsRec r;
  DEPAI_ASSIGN_OR_RETURN(r.window_cap, DecodeAmountField(pb.window_cap(), "bme params window_cap"));
  if (pb.window_blocks() <= 0) return Fault(kFaultCorruptRecord, "stored bme params have window_blocks <= 0");
  r.pb = std::move(pb);
  return r;
}

Result<WindowRec> DecodeWindow(const depai::bme::v1::Window& pb) {
  WindowRec w;
  w.window = pb.window();
  DEPAI_ASSIGN_OR_RETURN(w.burned, AmountOr0(pb.burned(), "bme window burned"));
  DEPAI_ASSIGN_OR_RETURN(w.prev_burned, AmountOr0(pb.prev_burned(), "bme window prev_burned"));
  return w;
}

// ---- records ------------------------------------------------------------------------------

Result<ParamsRec> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DecodeParams(DefaultParams());
  DEPAI_ASSIGN_OR_RETURN(Params pb, DecodeRecord<Params>(*v, "bme params"));
  return DecodeParams(std::move(pb));
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<WindowRec> Keeper::window(const store::KVReader& s) const {
  auto v = s.get(keys::kWindow);
  if (!v) return WindowRec{};
  DEPAI_ASSIGN_OR_RETURN(auto pb, DecodeRecord<depai::bme::v1::Window>(*v, "bme window"));
  return DecodeWindow(pb);
}
void Keeper::set_window(store::KVStore& s, const WindowRec& w) const {
  depai::bme::v1::Window pb;
  pb.set_window(w.window);
  pb.set_burned(w.burned.str());
  pb.set_prev_burned(w.prev_burned.str());
  s.set(keys::kWindow, DeterministicSerialize(pb));
}

Result<TotalsRec> Keeper::totals(const store::KVReader& s) const {
  auto v = s.get(keys::kTotals);
  if (!v) return TotalsRec{};
  DEPAI_ASSIGN_OR_RETURN(auto pb, DecodeRecord<depai::bme::v1::Totals>(*v, "bme totals"));
  TotalsRec t;
  DEPAI_ASSIGN_OR_RETURN(t.burned, AmountOr0(pb.burned(), "bme totals burned"));
  DEPAI_ASSIGN_OR_RETURN(t.minted, AmountOr0(pb.minted(), "bme totals minted"));
  t.burns = pb.burns();
  return t;
}
void Keeper::set_totals(store::KVStore& s, const TotalsRec& t) const {
  depai::bme::v1::Totals pb;
  pb.set_burned(t.burned.str());
  pb.set_minted(t.minted.str());
  pb.set_burns(t.burns);
  s.set(keys::kTotals, DeterministicSerialize(pb));
}

// ---- the window -----------------------------------------------------------------------------

Result<WindowView> Keeper::window_at(const store::KVReader& s, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  DEPAI_ASSIGN_OR_RETURN(const WindowRec w, window(s));
  const int64_t wb = p.pb.window_blocks();
  const int64_t h = height < 0 ? 0 : height;
  WindowView v;
  v.window = h / wb;
  v.pos = h % wb;
  if (w.window == v.window) {
    v.current = w.burned;
    v.previous = w.prev_burned;
  } else if (w.window == v.window - 1) {
    v.previous = w.burned;
  }
  // ceil(previous * (W - pos) / W): the part of the previous bucket still inside the last W blocks,
  // rounded up so the estimate never undercounts.
  const unsigned __int128 weighted =
      (static_cast<unsigned __int128>(v.previous.raw()) * static_cast<uint64_t>(wb - v.pos) + (wb - 1)) /
      static_cast<uint64_t>(wb);
  const unsigned __int128 counted = weighted + v.current.raw();
  if (counted > Amount::kMax) return Fault(kFaultInvariant, "bme window counted burn overflows");
  v.counted = Amount::Of(static_cast<uint64_t>(counted)).value();
  v.remaining = v.counted < p.window_cap ? p.window_cap.sub(v.counted).value() : Amount();
  return v;
}

// ---- price and quote ------------------------------------------------------------------------

Result<PriceInfo> Keeper::price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const {
  if (!oracle_) {
    PriceInfo none;
    none.reason = "no oracle module";
    return none;
  }
  return oracle_->price_info(s, height, time_ms);
}

Result<Quote> Keeper::quote(const store::KVReader& s, int64_t height, int64_t time_ms, Amount amount) const {
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  Quote q;
  DEPAI_ASSIGN_OR_RETURN(q.price, price_info(s, height, time_ms));
  const PriceInfo& pi = q.price;
  if (!pi.available)
    return BmeErr(kErrPriceUnavailable,
                  "price unavailable: " + (pi.reason.empty() ? std::string("no price") : pi.reason));
  q.conservative_e9 = pi.conservative_e9();
  if (q.conservative_e9 == 0)
    return BmeErr(kErrZeroPrice, "conservative price is 0: ema " + Usd(pi.ema_e9) + " USD minus twice the confidence " +
                                     Usd(pi.conf_e9) + " USD leaves nothing");
  const uint64_t dev = pi.price_e9 > pi.ema_e9 ? pi.price_e9 - pi.ema_e9 : pi.ema_e9 - pi.price_e9;
  const unsigned __int128 lhs = static_cast<unsigned __int128>(dev) * 10000;
  const unsigned __int128 rhs = static_cast<unsigned __int128>(pi.ema_e9) * p.pb.max_deviation_bps();
  if (lhs > rhs) {
    const uint64_t bps = static_cast<uint64_t>(lhs / pi.ema_e9);
    return BmeErr(kErrDeviationHalt, "minting halted: price deviates from its EMA by " + std::to_string(bps) +
                                         " bps (price " + Usd(pi.price_e9) + " USD, ema " + Usd(pi.ema_e9) +
                                         " USD), more than max_deviation_bps " +
                                         std::to_string(p.pb.max_deviation_bps()) + "; wait for it to settle");
  }
  DEPAI_ASSIGN_OR_RETURN(q.window, window_at(s, height));
  const unsigned __int128 after = static_cast<unsigned __int128>(q.window.counted.raw()) + amount.raw();
  if (after > p.window_cap.raw())
    return BmeErr(
        kErrCircuitBreaker,
        "circuit breaker: burning " + amount.str() + "udpai would take the window's burn to " +
            (after > Amount::kMax ? std::string("more than 2^63") : std::to_string(static_cast<uint64_t>(after))) +
            "udpai, past the cap " + p.window_cap.str() + "udpai per " + std::to_string(p.pb.window_blocks()) +
            " blocks (" + q.window.remaining.str() + "udpai left)");
  auto credits = amount.mul_div(q.conservative_e9, kPriceScale);
  if (!credits.ok())
    return BmeErr(kErrCreditOverflow, "credits overflow: " + amount.str() + "udpai at " + Usd(q.conservative_e9) +
                                          " USD does not fit an amount");
  if (credits->is_zero())
    return BmeErr(kErrZeroCredits, "burning " + amount.str() + "udpai at the conservative price " +
                                       Usd(q.conservative_e9) + " USD buys 0 ucredit");
  q.credits = *credits;
  return q;
}

// ---- MsgBurnForCredits ----------------------------------------------------------------------

Status Keeper::check_burn(const store::KVReader& s, const BurnParsed& m, int64_t height, int64_t time_ms) const {
  DEPAI_TRY(quote(s, height, effective_time(time_ms), m.amount).status());
  DEPAI_ASSIGN_OR_RETURN(const Amount have, bank_->balance(s, m.signer, kNativeDenom));
  if (have < m.amount)
    return RootErr(kErrInsufficientFunds,
                   "insufficient funds: balance " + have.str() + "udpai is smaller than " + m.amount.str() + "udpai");
  return {};
}

Result<Amount> Keeper::burn_for_credits(Context& ctx, const BurnParsed& m) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  // The check has just passed on this state; the quote is recomputed for its figures.
  DEPAI_ASSIGN_OR_RETURN(const Quote q, quote(s, h, effective_time(ctx.header->time_unix_ms), m.amount));
  DEPAI_TRY(bank_->burn(ctx, m.signer, One(kNativeDenom, m.amount)));
  DEPAI_TRY(bank_->mint(ctx, m.signer, One(kCreditDenom, q.credits)));
  WindowRec w;
  w.window = q.window.window;
  w.prev_burned = q.window.previous;
  DEPAI_ASSIGN_OR_RETURN(w.burned, q.window.current.add(m.amount));
  set_window(s, w);
  DEPAI_ASSIGN_OR_RETURN(TotalsRec tot, totals(s));
  auto tb = tot.burned.add(m.amount);
  auto tm = tot.minted.add(q.credits);
  if (!tb.ok() || !tm.ok()) return RootErr(kErrOverflow, "bme totals overflow");
  tot.burned = *tb;
  tot.minted = *tm;
  tot.burns += 1;
  set_totals(s, tot);
  if (ctx.events)
    ctx.events->emit_attrs("bme.burn_for_credits", EventAttribute{"owner", crypto::AddressToBech32(m.signer)},
                           EventAttribute{"amount", m.amount.str()}, EventAttribute{"credits", q.credits.str()},
                           EventAttribute{"price_e9", std::to_string(q.price.price_e9)},
                           EventAttribute{"ema_e9", std::to_string(q.price.ema_e9)},
                           EventAttribute{"conf_e9", std::to_string(q.price.conf_e9)},
                           EventAttribute{"conservative_e9", std::to_string(q.conservative_e9)},
                           EventAttribute{"window_burned", w.burned.str()});
  return q.credits;
}

}  // namespace depai::x::bme
