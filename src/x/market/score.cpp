#include "x/market/score.h"

#include <map>
#include <tuple>

namespace depai::x::market {

using depai::market::v1::AUDITOR_MODE_ANY_OF;
using depai::market::v1::Order;
using depai::provider::v1::AuditedAttributes;
using depai::provider::v1::Provider;

namespace {
constexpr int64_t kEarthRadiusM = 6371000;
// pi * 1e9, for degrees -> radians.
constexpr unsigned __int128 kPiE9 = 3141592654;

std::string Kv(const std::string& k, const std::string& v) { return k + "=" + v; }

// Saturating u128 -> u64.
uint64_t Sat(unsigned __int128 v) { return v > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(v); }
}  // namespace

int64_t CosE6(int64_t lat_e6) {
  if (lat_e6 < 0) lat_e6 = -lat_e6;
  if (lat_e6 > 90000000) lat_e6 = 90000000;
  // x in micro-degrees: cos = (32400e12 - 4x^2) / (32400e12 + x^2).
  const __int128 x2 = static_cast<__int128>(lat_e6) * lat_e6;
  const __int128 k = static_cast<__int128>(32400) * 1000000000000LL;
  return static_cast<int64_t>((k - 4 * x2) * 1000000 / (k + x2));
}

uint64_t ISqrt(unsigned __int128 v) {
  if (v == 0) return 0;
  // Newton iteration from an over-estimate; converges monotonically down to floor(sqrt(v)).
  unsigned __int128 x = v;
  unsigned __int128 y = (x + 1) / 2;
  if (v > (static_cast<unsigned __int128>(1) << 64)) {
    // Start nearer: 2^(ceil(bits/2)).
    int bits = 0;
    for (unsigned __int128 t = v; t; t >>= 1) ++bits;
    x = static_cast<unsigned __int128>(1) << ((bits + 1) / 2);
    y = (x + v / x) / 2;
  }
  while (y < x) {
    x = y;
    y = (x + v / x) / 2;
  }
  return static_cast<uint64_t>(x);
}

uint64_t DistanceMeters(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6) {
  int64_t dlon = lon2_e6 - lon1_e6;
  if (dlon > 180000000) dlon -= 360000000;
  if (dlon < -180000000) dlon += 360000000;
  const int64_t dlat = lat2_e6 - lat1_e6;
  const int64_t mean_lat = (lat1_e6 + lat2_e6) / 2;
  const __int128 x = static_cast<__int128>(dlon) * CosE6(mean_lat) / 1000000;  // micro-degrees
  const __int128 y = dlat;
  const uint64_t deg_e6 = ISqrt(static_cast<unsigned __int128>(x * x + y * y));
  // metres = deg_e6 / 1e6 * pi / 180 * R
  const unsigned __int128 m = static_cast<unsigned __int128>(deg_e6) * kEarthRadiusM * kPiE9 /
                              (static_cast<unsigned __int128>(180) * 1000000000 * 1000000);
  return static_cast<uint64_t>(m);
}

std::vector<std::string> Gaps(const Order& order, const Provider& p, const std::vector<AuditedAttributes>& audits) {
  std::vector<std::string> gaps;
  const auto& pl = order.placement();
  std::map<std::string, std::string> have;
  for (const auto& a : p.attributes()) have[a.key()] = a.value();
  for (const auto& a : pl.attributes()) {
    auto it = have.find(a.key());
    if (it == have.end())
      gaps.push_back("missing attribute " + Kv(a.key(), a.value()));
    else if (it->second != a.value())
      gaps.push_back("attribute " + Kv(a.key(), a.value()) + " required, provider has " + Kv(a.key(), it->second));
  }
  if (!pl.auditors().empty() && !pl.attributes().empty()) {
    // auditor -> signed key=value pairs
    std::map<std::string, std::map<std::string, std::string>> signed_by;
    for (const auto& au : audits)
      for (const auto& a : au.attributes()) signed_by[au.auditor()][a.key()] = a.value();
    auto signed_all = [&](const std::string& auditor, std::vector<std::string>* missing) {
      bool ok = true;
      auto it = signed_by.find(auditor);
      for (const auto& a : pl.attributes()) {
        bool s = it != signed_by.end() && it->second.count(a.key()) && it->second.at(a.key()) == a.value();
        if (!s) {
          ok = false;
          if (missing) missing->push_back(Kv(a.key(), a.value()));
        }
      }
      return ok;
    };
    if (pl.auditor_mode() == AUDITOR_MODE_ANY_OF) {
      bool any = false;
      for (const auto& au : pl.auditors()) any = any || signed_all(au, nullptr);
      if (!any) {
        std::string list;
        for (const auto& a : pl.attributes()) list += (list.empty() ? "" : ",") + Kv(a.key(), a.value());
        gaps.push_back("no listed auditor signed all required attributes (" + list + ")");
      }
    } else {
      for (const auto& au : pl.auditors()) {
        std::vector<std::string> missing;
        if (!signed_all(au, &missing))
          for (const auto& m : missing) gaps.push_back("attribute " + m + " not signed by auditor " + au);
      }
    }
  }
  if (!pl.region().empty() && pl.region() != p.region())
    gaps.push_back("region " + pl.region() + " required, provider region is '" + p.region() + "'");
  if (pl.max_distance_m() > 0) {
    const auto& loc = p.location();
    if (loc.lat_e6() == 0 && loc.lon_e6() == 0) {
      gaps.push_back("provider location unknown, order limits distance to " + std::to_string(pl.max_distance_m()) +
                     " m");
    } else {
      uint64_t d = DistanceMeters(pl.center().lat_e6(), pl.center().lon_e6(), loc.lat_e6(), loc.lon_e6());
      if (d > pl.max_distance_m())
        gaps.push_back("provider is " + std::to_string(d) + " m from the center, limit " +
                       std::to_string(pl.max_distance_m()) + " m");
    }
  }
  // Resources: totals over groups.
  unsigned __int128 cpu = 0, mem = 0, bw = 0;
  std::map<std::tuple<std::string, std::string, uint64_t>, unsigned __int128> gpus;  // (vendor, model, vram)
  std::map<std::string, unsigned __int128> storage;
  for (const auto& g : order.groups()) {
    const auto& u = g.units();
    cpu += static_cast<unsigned __int128>(u.cpu_millicores()) * g.count();
    mem += static_cast<unsigned __int128>(u.memory_mib()) * g.count();
    bw += static_cast<unsigned __int128>(u.bandwidth_mbps()) * g.count();
    for (const auto& gp : u.gpus())
      gpus[{gp.vendor(), gp.model(), gp.vram_mib()}] += static_cast<unsigned __int128>(gp.count()) * g.count();
    for (const auto& s : u.storage())
      storage[s.storage_class()] += static_cast<unsigned __int128>(s.size_mib()) * g.count();
  }
  const auto& r = p.resources();
  auto need = [&](const char* what, unsigned __int128 want, uint64_t offer) {
    if (want > offer)
      gaps.push_back(std::string(what) + ": needs " + std::to_string(Sat(want)) + ", provider offers " +
                     std::to_string(offer));
  };
  need("cpu_millicores", cpu, r.cpu_millicores());
  need("memory_mib", mem, r.memory_mib());
  need("bandwidth_mbps", bw, r.bandwidth_mbps());
  for (const auto& [key, want] : gpus) {
    const auto& [vendor, model, vram] = key;
    unsigned __int128 offer = 0;
    for (const auto& pg : r.gpus())
      if ((vendor.empty() || pg.vendor() == vendor) && (model.empty() || pg.model() == model) && pg.vram_mib() >= vram)
        offer += pg.count();
    if (want > offer)
      gaps.push_back("gpu " + (vendor.empty() ? std::string() : vendor + "/") + (model.empty() ? "any" : model) +
                     " with vram_mib >= " + std::to_string(vram) + ": needs " + std::to_string(Sat(want)) +
                     ", provider offers " + std::to_string(Sat(offer)));
  }
  for (const auto& [cls, want] : storage) {
    unsigned __int128 offer = 0;
    for (const auto& ps : r.storage())
      if (ps.storage_class() == cls) offer += ps.size_mib();
    if (want > offer)
      gaps.push_back("storage " + cls + ": needs " + std::to_string(Sat(want)) + " MiB, provider offers " +
                     std::to_string(Sat(offer)) + " MiB");
  }
  return gaps;
}

BidScore Score(const Order& order, const Provider& p, uint64_t min_price, uint64_t price, uint32_t uptime_bps,
               const ScoreWeights& w) {
  BidScore s;
  s.price = price == 0 ? 0 : Sat(static_cast<unsigned __int128>(min_price) * 10000 / price);
  if (s.price > 10000) s.price = 10000;
  const auto& pl = order.placement();
  if (pl.max_distance_m() > 0) {
    uint64_t d =
        DistanceMeters(pl.center().lat_e6(), pl.center().lon_e6(), p.location().lat_e6(), p.location().lon_e6());
    s.locality = d >= pl.max_distance_m()
                     ? 0
                     : Sat(static_cast<unsigned __int128>(pl.max_distance_m() - d) * 10000 / pl.max_distance_m());
  } else if (!pl.region().empty()) {
    s.locality = pl.region() == p.region() ? 10000 : 0;
  } else {
    s.locality = 10000;
  }
  s.reputation = uptime_bps > 10000 ? 10000 : uptime_bps;
  s.total = (static_cast<uint64_t>(w.price_bps) * s.price + static_cast<uint64_t>(w.locality_bps) * s.locality +
             static_cast<uint64_t>(w.reputation_bps) * s.reputation) /
            10000;
  return s;
}

bool Better(const Candidate& a, const Candidate& b) {
  if (a.score.total != b.score.total) return a.score.total > b.score.total;
  if (a.price != b.price) return a.price < b.price;
  if (a.height != b.height) return a.height < b.height;
  return a.provider_addr < b.provider_addr;
}

}  // namespace depai::x::market
