// The provider daemon's bidder against the fake chain: eligibility through x/market's Gaps,
// free inventory, pricing, reservations and restarts, chain errors by (codespace, code).
#include <gtest/gtest.h>

#include "client/market_msgs.h"
#include "fake_chain.h"
#include "provider/bidder.h"
#include "provider/event_follower.h"
#include "provider/lease_manager.h"
#include "provider_fixture.h"
#include "x/market/keeper.h"
#include "x/types/errors.h"

namespace depai::test {
namespace {

using provider::Bidder;
using provider::SharedState;
using provider::StateStore;

std::string BidType() { return client::PackMsgCreateBid("x", 1, Amount::Of(1).value()).type_url(); }

class BidderTest : public ::testing::Test {
 protected:
  BidderTest()
      : me(NewAddress()),
        cfg(TestConfig()),
        chain(me),
        shared(std::make_unique<SharedState>(StateStore(home.path + "/state.json", me))),
        bidder(std::make_unique<Bidder>(cfg, chain, *shared)) {
    chain.SetHeight(10);
    chain.PutProvider(SelfRecord(me, cfg));
  }
  std::vector<mv1::MsgCreateBid> Bids() const { return chain.Sent<mv1::MsgCreateBid>(); }
  bool Reserved(uint64_t order) {
    std::lock_guard<std::mutex> lock(shared->mu);
    return shared->st.bids.count(order) > 0;
  }
  bool Skipped(uint64_t order) {
    std::lock_guard<std::mutex> lock(shared->mu);
    return shared->st.skipped.count(order) > 0;
  }
  void Restart() {
    bidder.reset();
    shared = std::make_unique<SharedState>(StateStore(home.path + "/state.json", me));
    bidder = std::make_unique<Bidder>(cfg, chain, *shared);
  }

  TempHome home;
  std::string me;
  provider::ProviderConfig cfg;
  FakeChain chain;
  std::unique_ptr<SharedState> shared;
  std::unique_ptr<Bidder> bidder;
};

TEST_F(BidderTest, BidsOnAnEligibleOrderAtTheRulePrice) {
  auto o = MakeOrder(1, 1000, 512, 2);  // 2 x (100 + 10 per core) = 220
  auto* a = o.mutable_placement()->add_attributes();
  a->set_key("tier");
  a->set_value("gold");
  o.mutable_placement()->set_region("eu-west");
  chain.PutOrder(o);
  bidder->ConsiderOrder(1, 10);
  auto bids = Bids();
  ASSERT_EQ(bids.size(), 1u);
  EXPECT_EQ(bids[0].order_id(), 1u);
  EXPECT_EQ(bids[0].provider(), me);
  EXPECT_EQ(bids[0].price_per_block().amount(), "220");
  EXPECT_TRUE(Reserved(1));
  std::lock_guard<std::mutex> lock(shared->mu);
  EXPECT_EQ(shared->st.bids[1].price, 220u);
  EXPECT_EQ(shared->st.bids[1].resources.cpu_millicores, 2000u);
}

TEST_F(BidderTest, SkipsAnOrderWithAMissingAttribute) {
  auto o = MakeOrder(1, 1000, 512);
  auto* a = o.mutable_placement()->add_attributes();
  a->set_key("tier");
  a->set_value("platinum");
  chain.PutOrder(o);
  auto o2 = MakeOrder(2, 1000, 512);
  auto* b = o2.mutable_placement()->add_attributes();
  b->set_key("datacenter");
  b->set_value("tier4");
  chain.PutOrder(o2);
  bidder->ConsiderOrder(1, 10);
  bidder->ConsiderOrder(2, 10);
  EXPECT_TRUE(Bids().empty());
  EXPECT_TRUE(Skipped(1));
  EXPECT_TRUE(Skipped(2));
}

TEST_F(BidderTest, SkipsAnOrderWhoseAuditIsMissingAndBidsWhenAudited) {
  const std::string auditor = NewAddress();
  auto o = MakeOrder(1, 1000, 512);
  auto* a = o.mutable_placement()->add_attributes();
  a->set_key("tier");
  a->set_value("gold");
  o.mutable_placement()->add_auditors(auditor);
  chain.PutOrder(o);
  bidder->ConsiderOrder(1, 10);
  EXPECT_TRUE(Bids().empty());
  EXPECT_TRUE(Skipped(1));

  // The same placement once the auditor signed tier=gold for us (a new order: 1 stays skipped).
  auto rec = SelfRecord(me, cfg);
  pv1::AuditedAttributes au;
  au.set_provider(me);
  au.set_auditor(auditor);
  auto* sa = au.add_attributes();
  sa->set_key("tier");
  sa->set_value("gold");
  rec.audits.push_back(au);
  chain.PutProvider(rec);
  o.set_id(2);
  chain.PutOrder(o);
  bidder->ConsiderOrder(1, 10);
  bidder->ConsiderOrder(2, 10);
  auto bids = Bids();
  ASSERT_EQ(bids.size(), 1u);
  EXPECT_EQ(bids[0].order_id(), 2u);
}

TEST_F(BidderTest, SkipsAnOrderForAnotherRegion) {
  auto o = MakeOrder(1, 1000, 512);
  o.mutable_placement()->set_region("us-east");
  chain.PutOrder(o);
  bidder->ConsiderOrder(1, 10);
  EXPECT_TRUE(Bids().empty());
  EXPECT_TRUE(Skipped(1));
}

TEST_F(BidderTest, FreeInventoryCountsOpenBidsAndHeldLeases) {
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    provider::HeldLease l;
    l.id = 5;
    l.order_id = 50;
    l.resources.cpu_millicores = 2000;
    shared->st.leases[5] = l;
    provider::HeldLease closed = l;  // a closed lease frees its resources
    closed.id = 6;
    closed.closed = true;
    shared->st.leases[6] = closed;
    provider::OpenBid b;
    b.order_id = 51;
    b.resources.cpu_millicores = 1500;
    shared->st.bids[51] = b;
  }
  chain.PutOrder(MakeOrder(1, 1000, 512));  // 2000 + 1500 + 1000 > 4000
  chain.PutOrder(MakeOrder(2, 500, 512));   // fits exactly
  chain.PutOrder(MakeOrder(3, 1, 1));       // nothing left after 2
  bidder->ConsiderOrder(1, 10);
  EXPECT_TRUE(Skipped(1));
  EXPECT_TRUE(Bids().empty());
  bidder->ConsiderOrder(2, 10);
  ASSERT_EQ(Bids().size(), 1u);
  EXPECT_EQ(Bids()[0].order_id(), 2u);
  bidder->ConsiderOrder(3, 10);  // the new bid's reservation counts too
  EXPECT_TRUE(Skipped(3));
  EXPECT_EQ(Bids().size(), 1u);
}

TEST_F(BidderTest, SkipsWhenThePriceIsAboveTheMaxOrTheWindowEnded) {
  chain.PutOrder(MakeOrder(1, 1000, 512, 1, 50));  // our price is 110
  auto late = MakeOrder(2, 1000, 512);
  late.set_bid_window_end(10);
  chain.PutOrder(late);
  bidder->ConsiderOrder(1, 10);
  bidder->ConsiderOrder(2, 10);
  EXPECT_TRUE(Bids().empty());
  EXPECT_TRUE(Skipped(1));
  EXPECT_TRUE(Skipped(2));
}

TEST_F(BidderTest, ReleasesReservationsOnBidLostAndOrderClosed) {
  chain.PutOrder(MakeOrder(1, 1000, 512));
  chain.PutOrder(MakeOrder(2, 1000, 512));
  chain.PutOrder(MakeOrder(3, 1000, 512));
  bidder->ConsiderOrder(1, 10);
  bidder->ConsiderOrder(2, 10);
  bidder->ConsiderOrder(3, 10);
  ASSERT_TRUE(Reserved(1) && Reserved(2) && Reserved(3));
  FakeRuntime rt;
  provider::LeaseManager leases(cfg, chain, *shared, rt, home.path + "/manifests");
  provider::EventFollower f(chain, *shared, *bidder, leases);
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->st.next_height = 11;
  }
  chain.AddEvent(11, "market.bid_lost", {{"order_id", "1"}, {"provider", me}});
  chain.AddEvent(11, "market.bid_lost", {{"order_id", "3"}, {"provider", NewAddress()}});  // someone else's
  chain.AddEvent(12, "market.order_closed", {{"order_id", "2"}});
  chain.SetHeight(12);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(f.Follow(12, stop).ok());
  EXPECT_FALSE(Reserved(1));
  EXPECT_FALSE(Reserved(2));
  EXPECT_TRUE(Reserved(3));
  std::lock_guard<std::mutex> lock(shared->mu);
  EXPECT_EQ(shared->st.next_height, 13);
}

TEST_F(BidderTest, DoesNotBidTwiceAfterARestart) {
  chain.PutOrder(MakeOrder(1, 1000, 512));
  bidder->ConsiderOrder(1, 10);
  ASSERT_EQ(Bids().size(), 1u);
  Restart();  // the state store brings the reservation back
  EXPECT_TRUE(Reserved(1));
  bidder->ConsiderOrder(1, 10);
  EXPECT_EQ(Bids().size(), 1u);
  // Even with state.json lost, the chain's bid of ours is adopted, not repeated.
  std::filesystem::remove(home.path + "/state.json");
  Restart();
  EXPECT_FALSE(Reserved(1));
  ASSERT_TRUE(bidder->ConsiderOpenOrders(10).ok());
  EXPECT_TRUE(Reserved(1));
  EXPECT_EQ(Bids().size(), 1u);
}

TEST_F(BidderTest, RecognisesRejectionsByCodespaceAndCode) {
  chain.PutOrder(MakeOrder(1, 1000, 512));
  chain.PutOrder(MakeOrder(2, 1000, 512));
  chain.PutOrder(MakeOrder(3, 1000, 512));
  // Our earlier bid landed although we did not hear back: the duplicate is ours, keep it.
  chain.FailNext(BidType(), Error{x::market::kCodespace, x::market::kErrDuplicateBid, "bid exists"});
  bidder->ConsiderOrder(1, 10);
  EXPECT_TRUE(Reserved(1));
  EXPECT_FALSE(Skipped(1));
  // A message that reads like a duplicate but carries another code is not one.
  chain.FailNext(BidType(), Error{x::market::kCodespace, x::market::kErrBidWindowClosed, "provider already bid"});
  bidder->ConsiderOrder(2, 10);
  EXPECT_FALSE(Reserved(2));
  EXPECT_TRUE(Skipped(2));
  chain.FailNext(BidType(), Error{x::kRootCodespace, x::kErrInsufficientFunds, "insufficient funds"});
  bidder->ConsiderOrder(3, 10);
  EXPECT_FALSE(Reserved(3));
  EXPECT_TRUE(Skipped(3));
  EXPECT_EQ(Bids().size(), 3u);  // each was sent once
}

TEST_F(BidderTest, ReopenedOrderIsConsideredAfresh) {
  chain.PutOrder(MakeOrder(1, 1000, 512, 1, 50));  // too cheap: skipped
  bidder->ConsiderOrder(1, 10);
  ASSERT_TRUE(Skipped(1));
  chain.PutOrder(MakeOrder(1, 1000, 512, 1, 500));
  bidder->OrderReopened(1);
  bidder->ConsiderOrder(1, 10);
  EXPECT_TRUE(Reserved(1));
}

}  // namespace
}  // namespace depai::test
