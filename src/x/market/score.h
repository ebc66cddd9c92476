// Bid eligibility and scoring of x/market (integer only; see doc/modules/market.md).
//
// Eligibility: a provider meets an order when it has every required attribute (exact key=value),
// the auditor rule holds, the region matches, it lies within max_distance_m of the center, and its
// total resources cover the sum over groups of units * count. Gaps() names every shortfall.
// Score: price, locality and reputation components in basis points, weighted by params.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "depai/market/v1/market.pb.h"
#include "depai/provider/v1/provider.pb.h"

namespace depai::x::market {

// cos(lat) * 1e6 for a latitude in micro-degrees, by Bhaskara I's approximation
// cos(x) ~ (32400 - 4x^2) / (32400 + x^2) with x in degrees, |x| <= 90 (clamped).
int64_t CosE6(int64_t lat_e6);
// floor(sqrt(v)).
uint64_t ISqrt(unsigned __int128 v);
// Equirectangular distance in metres between two points in micro-degrees (earth radius 6371000 m).
uint64_t DistanceMeters(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6);

// Human-readable list of what `p` lacks to serve `order`; empty when eligible. `audits` are the
// provider's audited attributes (bech32 auditor in each record).
std::vector<std::string> Gaps(const depai::market::v1::Order& order, const depai::provider::v1::Provider& p,
                              const std::vector<depai::provider::v1::AuditedAttributes>& audits);

struct ScoreWeights {
  uint32_t price_bps = 6000, locality_bps = 2000, reputation_bps = 2000;
};

struct BidScore {
  uint64_t price = 0;       // component, bps
  uint64_t locality = 0;    // component, bps
  uint64_t reputation = 0;  // component, bps
  uint64_t total = 0;       // weighted, bps
};

// min_price: lowest open bid price of the order; price: this bid's; uptime_bps from x/provider.
BidScore Score(const depai::market::v1::Order& order, const depai::provider::v1::Provider& p, uint64_t min_price,
               uint64_t price, uint32_t uptime_bps, const ScoreWeights& w);

// Candidate for automatic selection. Better(a, b): higher total, then lower price, then earlier
// bid height, then smaller provider address bytes.
struct Candidate {
  BidScore score;
  uint64_t price = 0;
  int64_t height = 0;
  std::string provider_addr;  // 20 raw bytes
};
bool Better(const Candidate& a, const Candidate& b);

}  // namespace depai::x::market
