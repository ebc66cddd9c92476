// x/market scoring and eligibility: integer distance, the documented winner, named gaps.
#include <gtest/gtest.h>

#include "x/market/score.h"

namespace depai::x::market {
namespace {

using depai::market::v1::Order;
using depai::provider::v1::AuditedAttributes;
using depai::provider::v1::Provider;

TEST(MarketScore, BhaskaraCosineAndIsqrt) {
  EXPECT_EQ(CosE6(0), 1000000);
  EXPECT_EQ(CosE6(60000000), 500000);  // (32400-14400)/(32400+3600) = 1/2 exactly
  EXPECT_EQ(CosE6(-60000000), 500000);
  EXPECT_EQ(CosE6(90000000), 0);
  EXPECT_NEAR(CosE6(45000000), 707107, 2000);  // Bhaskara is within 0.2% of cos
  EXPECT_EQ(ISqrt(0), 0u);
  EXPECT_EQ(ISqrt(15), 3u);
  EXPECT_EQ(ISqrt(16), 4u);
  EXPECT_EQ(ISqrt(static_cast<unsigned __int128>(UINT64_MAX) * UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(ISqrt((static_cast<unsigned __int128>(1) << 100) - 1), (1ULL << 50) - 1);
}

TEST(MarketScore, EquirectangularDistance) {
  EXPECT_EQ(DistanceMeters(52520000, 13405000, 52520000, 13405000), 0u);
  // One degree of latitude = pi/180 * 6371000 = 111194.9 m.
  EXPECT_EQ(DistanceMeters(0, 0, 1000000, 0), 111194u);
  // Berlin - Paris, great-circle ~877.5 km; equirectangular with Bhaskara within 1%.
  uint64_t d = DistanceMeters(52520000, 13405000, 48856600, 2352200);
  EXPECT_GT(d, 869000u);
  EXPECT_LT(d, 887000u);
  // Symmetric, and the antimeridian wraps (179E to 179W is 2 degrees of longitude).
  EXPECT_EQ(d, DistanceMeters(48856600, 2352200, 52520000, 13405000));
  EXPECT_EQ(DistanceMeters(0, 179000000, 0, -179000000), 2 * 111194u + 1);
}

Order BaseOrder() {
  Order o;
  o.set_id(7);
  o.set_max_price_per_block("100");
  auto* g = o.add_groups();
  g->set_name("web");
  g->set_count(2);
  g->mutable_units()->set_cpu_millicores(1000);
  g->mutable_units()->set_memory_mib(512);
  auto* gpu = g->mutable_units()->add_gpus();
  gpu->set_model("h100");
  gpu->set_count(1);
  gpu->set_vram_mib(80000);
  auto* st = g->mutable_units()->add_storage();
  st->set_storage_class("ssd");
  st->set_size_mib(1024);
  return o;
}

Provider BigProvider() {
  Provider p;
  p.set_owner("depai1provider");
  p.set_region("eu-west");
  auto* r = p.mutable_resources();
  r->set_cpu_millicores(8000);
  r->set_memory_mib(65536);
  auto* gpu = r->add_gpus();
  gpu->set_model("h100");
  gpu->set_count(4);
  gpu->set_vram_mib(81920);
  auto* st = r->add_storage();
  st->set_storage_class("ssd");
  st->set_size_mib(100000);
  auto* a = p.add_attributes();
  a->set_key("tier");
  a->set_value("gold");
  return p;
}

TEST(MarketScore, GapsNameWhatIsMissing) {
  Order o = BaseOrder();
  Provider p = BigProvider();
  EXPECT_TRUE(Gaps(o, p, {}).empty());
  auto* want = o.mutable_placement()->add_attributes();
  want->set_key("tier");
  want->set_value("platinum");
  auto* want2 = o.mutable_placement()->add_attributes();
  want2->set_key("country");
  want2->set_value("de");
  o.mutable_placement()->set_region("us-east");
  o.mutable_groups(0)->set_count(5);  // 5 H100 needed, 4 offered; 5000 cpu fine
  p.mutable_resources()->mutable_storage(0)->set_size_mib(2048);
  auto gaps = Gaps(o, p, {});
  ASSERT_EQ(gaps.size(), 5u);
  EXPECT_EQ(gaps[0], "attribute tier=platinum required, provider has tier=gold");
  EXPECT_EQ(gaps[1], "missing attribute country=de");
  EXPECT_EQ(gaps[2], "region us-east required, provider region is 'eu-west'");
  EXPECT_EQ(gaps[3], "gpu h100 with vram_mib >= 80000: needs 5, provider offers 4");
  EXPECT_EQ(gaps[4], "storage ssd: needs 5120 MiB, provider offers 2048 MiB");
}

TEST(MarketScore, AuditorModes) {
  Order o = BaseOrder();
  auto* want = o.mutable_placement()->add_attributes();
  want->set_key("tier");
  want->set_value("gold");
  o.mutable_placement()->add_auditors("depai1auditora");
  o.mutable_placement()->add_auditors("depai1auditorb");
  Provider p = BigProvider();
  AuditedAttributes a;
  a.set_auditor("depai1auditora");
  auto* at = a.add_attributes();
  at->set_key("tier");
  at->set_value("gold");
  // ALL_OF: auditor b has not signed.
  auto gaps = Gaps(o, p, {a});
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], "attribute tier=gold not signed by auditor depai1auditorb");
  // ANY_OF: a suffices.
  o.mutable_placement()->set_auditor_mode(depai::market::v1::AUDITOR_MODE_ANY_OF);
  EXPECT_TRUE(Gaps(o, p, {a}).empty());
  gaps = Gaps(o, p, {});
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], "no listed auditor signed all required attributes (tier=gold)");
  // Signed with another value does not count.
  a.mutable_attributes(0)->set_value("silver");
  EXPECT_EQ(Gaps(o, p, {a}).size(), 1u);
}

TEST(MarketScore, DistanceLimitGap) {
  Order o = BaseOrder();
  o.mutable_placement()->mutable_center()->set_lat_e6(52520000);
  o.mutable_placement()->mutable_center()->set_lon_e6(13405000);
  o.mutable_placement()->set_max_distance_m(500000);
  Provider p = BigProvider();
  auto gaps = Gaps(o, p, {});
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], "provider location unknown, order limits distance to 500000 m");
  p.mutable_location()->set_lat_e6(48856600);  // Paris
  p.mutable_location()->set_lon_e6(2352200);
  gaps = Gaps(o, p, {});
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_NE(gaps[0].find("m from the center, limit 500000 m"), std::string::npos) << gaps[0];
}

// The worked example of doc/modules/market.md ("Scoring"): three bids on an order centred on
// Berlin with a 1000 km limit, default weights 6000/2000/2000.
TEST(MarketScore, DocumentedWinner) {
  Order o = BaseOrder();
  o.mutable_placement()->mutable_center()->set_lat_e6(52520000);
  o.mutable_placement()->mutable_center()->set_lon_e6(13405000);
  o.mutable_placement()->set_max_distance_m(1000000);
  const ScoreWeights w{6000, 2000, 2000};
  Provider berlin = BigProvider(), paris = BigProvider(), warsaw = BigProvider();
  berlin.mutable_location()->set_lat_e6(52520000);
  berlin.mutable_location()->set_lon_e6(13405000);
  paris.mutable_location()->set_lat_e6(48856600);
  paris.mutable_location()->set_lon_e6(2352200);
  warsaw.mutable_location()->set_lat_e6(52229700);
  warsaw.mutable_location()->set_lon_e6(21012200);
  // A: Berlin, 80 udpai, uptime 9000. B: Paris, 50 udpai (cheapest), uptime 10000.
  // C: Warsaw, 60 udpai, uptime 5000.
  const uint64_t min_price = 50;
  BidScore a = Score(o, berlin, min_price, 80, 9000, w);
  BidScore b = Score(o, paris, min_price, 50, 10000, w);
  BidScore c = Score(o, warsaw, min_price, 60, 5000, w);
  EXPECT_EQ(a.price, 6250u);
  EXPECT_EQ(a.locality, 10000u);
  EXPECT_EQ(a.total, (6000 * 6250 + 2000 * 10000 + 2000 * 9000) / 10000u);  // 7550
  EXPECT_EQ(b.price, 10000u);
  const uint64_t dp = DistanceMeters(52520000, 13405000, 48856600, 2352200);
  EXPECT_EQ(b.locality, (1000000 - dp) * 10000 / 1000000);
  EXPECT_EQ(c.price, 8333u);
  EXPECT_EQ(a.total, 7550u);
  EXPECT_EQ(b.total, (6000 * 10000 + 2000 * b.locality + 2000 * 10000) / 10000);
  // B wins: cheapest and fully reliable outweighs Berlin's locality.
  Candidate ca{a, 80, 10, "A"}, cb{b, 50, 11, "B"}, cc{c, 60, 9, "C"};
  EXPECT_TRUE(Better(cb, ca));
  EXPECT_TRUE(Better(cb, cc));
  // Deterministic: the same inputs give the same numbers.
  EXPECT_EQ(Score(o, paris, min_price, 50, 10000, w).total, b.total);
  // Ties: lower price, then earlier height, then smaller address.
  Candidate t1{BidScore{0, 0, 0, 5000}, 60, 10, "B"}, t2{BidScore{0, 0, 0, 5000}, 50, 12, "C"};
  EXPECT_TRUE(Better(t2, t1));
  t2.price = 60;
  EXPECT_TRUE(Better(t1, t2));
  t2.height = 10;
  EXPECT_FALSE(Better(t2, t1));
  EXPECT_TRUE(Better(t1, t2));  // "B" < "C"
}

TEST(MarketScore, LocalityWithoutDistance) {
  Order o = BaseOrder();
  Provider p = BigProvider();
  EXPECT_EQ(Score(o, p, 10, 10, 0, {}).locality, 10000u);  // no preference
  o.mutable_placement()->set_region("eu-west");
  EXPECT_EQ(Score(o, p, 10, 10, 0, {}).locality, 10000u);
  o.mutable_placement()->set_region("us-east");
  EXPECT_EQ(Score(o, p, 10, 10, 0, {}).locality, 0u);
  EXPECT_EQ(Score(o, p, 10, 10, 20000, {}).reputation, 10000u);  // clamped
}

}  // namespace
}  // namespace depai::x::market
