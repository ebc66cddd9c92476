// x/oracle keeper: params, records, the fixed-point helpers, aggregation (weighted median, MAD,
// EMA), price_info and the feeders' posts.
#include "x/oracle/keeper.h"

#include <algorithm>

#include "crypto/bech32.h"
#include "x/oracle/keys.h"
#include "x/types/codec.h"

namespace depai::x::oracle {

namespace v1 = depai::oracle::v1;

Params DefaultParams() {
  Params p;
  p.set_min_reports(1);
  p.set_min_power_bps(6667);
  p.set_max_age_ms(600'000);
  p.set_ema_alpha_bps(1000);
  p.set_max_price_e9(1'000'000ull * kPriceScale);  // 1,000,000 USD per DPAI
  return p;
}

Status ValidateParams(const Params& p) {
  if (p.min_reports() < 1) return OracleErr(kErrInvalidParams, "min_reports must be at least 1");
  if (p.min_power_bps() > 10000) return OracleErr(kErrInvalidParams, "min_power_bps must be at most 10000");
  if (p.max_age_ms() <= 0) return OracleErr(kErrInvalidParams, "max_age_ms must be positive");
  if (p.ema_alpha_bps() < 1 || p.ema_alpha_bps() > 10000)
    return OracleErr(kErrInvalidParams, "ema_alpha_bps must be in 1..10000");
  if (p.max_price_e9() < 1 || p.max_price_e9() > 1'000'000'000ull * kPriceScale)
    return OracleErr(kErrInvalidParams, "max_price_e9 must be in 1..10^18");
  std::vector<std::string> seen;
  for (const auto& f : p.feeders()) {
    if (!crypto::AddressFromBech32(f).ok()) return OracleErr(kErrInvalidParams, "feeder '" + f + "' is not an address");
    if (std::find(seen.begin(), seen.end(), f) != seen.end())
      return OracleErr(kErrInvalidParams, "feeder '" + f + "' is listed twice");
    seen.push_back(f);
  }
  return {};
}

Result<uint64_t> ParseUsdE9(std::string_view d, bool truncate) {
  auto bad = [&](const std::string& why) {
    return OracleErr(kErrInvalidPrice, "'" + std::string(d) + "' is not a USD price: " + why);
  };
  const size_t dot = d.find('.');
  std::string_view whole = d.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : d.substr(dot + 1);
  if (whole.empty()) return bad("no digits before the decimal point");
  if (dot != std::string_view::npos && frac.empty()) return bad("no digits after the decimal point");
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(whole) || !digits(frac)) return bad("only digits and one '.' are allowed");
  if (frac.size() > 9) {
    if (!truncate) return bad("at most 9 decimals");
    frac = frac.substr(0, 9);
  }
  unsigned __int128 v = 0;
  for (char c : whole) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > UINT64_MAX) return bad("too large");
  }
  v *= kPriceScale;
  uint64_t f = 0;
  for (size_t i = 0; i < 9; ++i) f = f * 10 + (i < frac.size() ? static_cast<uint64_t>(frac[i] - '0') : 0);
  v += f;
  if (v > UINT64_MAX) return bad("too large");
  return static_cast<uint64_t>(v);
}

std::string FormatUsdE9(uint64_t e9) {
  std::string frac = std::to_string(e9 % kPriceScale);
  return std::to_string(e9 / kPriceScale) + "." + std::string(9 - frac.size(), '0') + frac;
}

uint64_t WeightedMedian(std::vector<Report> r) {
  if (r.empty()) return 0;
  std::sort(r.begin(), r.end(), [](const Report& a, const Report& b) { return a.price_e9 < b.price_e9; });
  unsigned __int128 total = 0;
  for (const auto& x : r) total += x.weight;
  unsigned __int128 cum = 0;
  for (const auto& x : r) {
    cum += x.weight;
    if (2 * cum >= total) return x.price_e9;
  }
  return r.back().price_e9;
}

uint64_t WeightedMad(const std::vector<Report>& reports, uint64_t median) {
  std::vector<Report> dev;
  dev.reserve(reports.size());
  for (const auto& x : reports)
    dev.push_back(Report{x.price_e9 > median ? x.price_e9 - median : median - x.price_e9, x.weight});
  return WeightedMedian(std::move(dev));
}

uint64_t Ema(uint64_t prev, uint64_t x, uint32_t alpha_bps) {
  const unsigned __int128 a = alpha_bps;
  return static_cast<uint64_t>((a * x + (10000 - a) * prev) / 10000);
}

// ---- records ----

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  return DecodeRecord<Params>(*v, "oracle params");
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<std::optional<PriceState>> Keeper::price(const store::KVReader& s) const {
  auto v = s.get(keys::kPrice);
  if (!v) return std::optional<PriceState>();
  DEPAI_ASSIGN_OR_RETURN(auto p, DecodeRecord<PriceState>(*v, "oracle price"));
  return std::optional<PriceState>(std::move(p));
}
void Keeper::set_price(store::KVStore& s, const PriceState& p) const { s.set(keys::kPrice, DeterministicSerialize(p)); }

Result<x::PriceInfo> Keeper::price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto rec, price(s));
  x::PriceInfo info;
  if (!rec) {
    info.reason = "no price yet: no round has been aggregated";
    return info;
  }
  info.price_e9 = rec->price_e9();
  info.ema_e9 = rec->ema_e9();
  info.conf_e9 = rec->conf_e9();
  info.height = rec->height();
  info.time_ms = rec->time_ms();
  info.reports = rec->reports();
  const int64_t age = time_ms > rec->time_ms() ? time_ms - rec->time_ms() : 0;
  const std::string at = "the last round at height " + std::to_string(rec->height());
  if (age > p.max_age_ms()) {
    info.reason = "price is stale: last update at height " + std::to_string(rec->height()) + " (block time " +
                  std::to_string(rec->time_ms()) + " ms) is " + std::to_string(age) + " ms old at height " +
                  std::to_string(height) + ", max_age_ms " + std::to_string(p.max_age_ms());
    return info;
  }
  if (rec->reports() < p.min_reports()) {
    info.reason = "too few reports: " + at + " had " + std::to_string(rec->reports()) + ", min_reports " +
                  std::to_string(p.min_reports());
    return info;
  }
  if (rec->source() == v1::SOURCE_VOTE_EXTENSIONS && rec->power_bps() < p.min_power_bps()) {
    info.reason = "too little validator power: " + at + " had reports from " + std::to_string(rec->power_bps()) +
                  " bps of the power, min_power_bps " + std::to_string(p.min_power_bps());
    return info;
  }
  if (rec->rounds() == 0) {
    info.reason = "no qualifying round yet: the EMA is not seeded";
    return info;
  }
  info.available = true;
  return info;
}

Status Keeper::aggregate(Context& ctx, const std::vector<Report>& reports, v1::Source source,
                         uint32_t power_bps) const {
  if (reports.empty()) return {};
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto prev, price(s));
  PriceState st = prev.value_or(PriceState());
  const uint64_t median = WeightedMedian(reports);
  const uint64_t mad = WeightedMad(reports, median);
  st.set_price_e9(median);
  st.set_dispersion_e9(mad);
  st.set_height(ctx.header->height);
  st.set_time_ms(ctx.header->time_unix_ms);
  st.set_reports(static_cast<uint32_t>(reports.size()));
  st.set_power_bps(power_bps);
  st.set_source(source);
  const bool qualified =
      reports.size() >= p.min_reports() && (source != v1::SOURCE_VOTE_EXTENSIONS || power_bps >= p.min_power_bps());
  st.set_qualified(qualified);
  if (qualified) {
    if (st.rounds() == 0) {
      st.set_ema_e9(median);
      st.set_conf_e9(mad);
    } else {
      st.set_ema_e9(Ema(st.ema_e9(), median, p.ema_alpha_bps()));
      st.set_conf_e9(Ema(st.conf_e9(), mad, p.ema_alpha_bps()));
    }
    st.set_rounds(st.rounds() + 1);
  }
  set_price(s, st);
  ctx.events->emit_attrs(
      "oracle_price", EventAttribute{"height", std::to_string(st.height())},
      EventAttribute{"price_e9", std::to_string(median)}, EventAttribute{"ema_e9", std::to_string(st.ema_e9())},
      EventAttribute{"conf_e9", std::to_string(st.conf_e9())}, EventAttribute{"reports", std::to_string(st.reports())},
      EventAttribute{"power_bps", std::to_string(power_bps)},
      EventAttribute{"source", source == v1::SOURCE_FEEDERS ? "feeders" : "vote_extensions"},
      EventAttribute{"qualified", qualified ? "true" : "false"});
  return {};
}

// ---- feeders ----

Status Keeper::check_post_price(const store::KVReader& s, const PostPriceParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  const std::string who = crypto::AddressToBech32(m.signer);
  if (std::find(p.feeders().begin(), p.feeders().end(), who) == p.feeders().end())
    return OracleErr(kErrNotFeeder, "not a feeder: " + who + " is not in oracle params.feeders");
  if (m.price_e9 > p.max_price_e9())
    return OracleErr(kErrInvalidPrice, "price_e9 " + std::to_string(m.price_e9) + " exceeds max_price_e9 " +
                                           std::to_string(p.max_price_e9()));
  if (s.get(keys::Post(m.signer)))
    return OracleErr(kErrAlreadyPosted, "feeder " + who + " already posted a price in this block");
  return {};
}

Status Keeper::post_price(Context& ctx, const PostPriceParsed& m) const {
  ctx.store->set(keys::Post(m.signer), U64BE(m.price_e9));
  ctx.events->emit_attrs("oracle_post", EventAttribute{"feeder", crypto::AddressToBech32(m.signer)},
                         EventAttribute{"price_e9", std::to_string(m.price_e9)});
  return {};
}

Status Keeper::for_each_post(const store::KVReader& s, const PostFn& fn) const {
  Status st;
  s.iterate(keys::kPostPrefix, store::PrefixEnd(keys::kPostPrefix), [&](std::string_view k, std::string_view v) {
    auto price = DecodeU64Record(v, "oracle post");
    if (!price.ok()) {
      st = price.error();
      return false;
    }
    return fn(k.substr(keys::kPostPrefix.size()), *price);
  });
  return st;
}

}  // namespace depai::x::oracle
