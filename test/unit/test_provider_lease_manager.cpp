// The provider daemon's lease manager (and the HTTP manifest handler) against the fake chain and
// a scripted runtime: holding leases, manifest deadlines, closing, withdrawals, heartbeats,
// stopping workloads; leases of other providers and manifests of other orders are refused.
#include <gtest/gtest.h>

#include "client/market_msgs.h"
#include "client/provider_msgs.h"
#include "fake_chain.h"
#include "provider/bidder.h"
#include "provider/event_follower.h"
#include "provider/handlers.h"
#include "provider/lease_manager.h"
#include "provider_fixture.h"
#include "x/market/keeper.h"
#include "x/provider/keeper.h"

namespace depai::test {
namespace {

using provider::LeaseManager;
using provider::RunState;
using provider::SharedState;
using provider::StateStore;

std::string CloseType() { return client::PackMsgCloseLease("x", 1, mv1::CLOSE_REASON_OWNER).type_url(); }
std::string BeatType() { return client::PackMsgProviderHeartbeat("x").type_url(); }

class LeaseManagerTest : public ::testing::Test {
 protected:
  LeaseManagerTest()
      : me(NewAddress()),
        owner_key(crypto::GenerateKey()),
        owner(crypto::AddressToBech32(crypto::AddressOf(owner_key.pubkey))),
        cfg(TestConfig()),
        chain(me),
        shared(StateStore(home.path + "/state.json", me)),
        bidder(cfg, chain, shared),
        leases(cfg, chain, shared, rt, home.path + "/manifests"),
        follower(chain, shared, bidder, leases) {
    chain.SetHeight(10);
    chain.PutProvider(SelfRecord(me, cfg));
    manifest = ShManifest("echo hi");
    manifest_json = client::ManifestToJson(manifest);
    auto o = MakeOrder(1, 1000, 512);
    o.set_manifest_hash(client::ManifestHash(manifest_json));
    o.set_state(mv1::ORDER_STATE_ACTIVE);
    o.set_lease_id(7);
    chain.PutOrder(o);
    chain.PutLease(MakeLease(7, 1, owner, me, 10));
    shared.st.next_height = 10;
  }
  // Delivers the events up to `h` (the chain's height becomes h).
  void FollowTo(int64_t h) {
    chain.SetHeight(h);
    std::atomic<bool> stop{false};
    ASSERT_TRUE(follower.Follow(h, stop).ok());
  }
  std::optional<provider::HeldLease> Held(uint64_t id) {
    std::lock_guard<std::mutex> lock(shared.mu);
    auto it = shared.st.leases.find(id);
    if (it == shared.st.leases.end()) return std::nullopt;
    return it->second;
  }
  std::vector<mv1::MsgCloseLease> Closes() const { return chain.Sent<mv1::MsgCloseLease>(); }
  // Holds lease 7 and accepts its manifest.
  void HoldAndStart() {
    chain.AddEvent(10, "market.lease_created", {{"lease_id", "7"}, {"order_id", "1"}, {"provider", me}});
    FollowTo(10);
    auto r = leases.AcceptManifest(7, 10, manifest_json, manifest);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r.value());
  }

  TempHome home;
  std::string me;
  crypto::KeyPair owner_key;
  std::string owner;
  provider::ProviderConfig cfg;
  FakeChain chain;
  FakeRuntime rt;
  SharedState shared;
  provider::Bidder bidder;
  LeaseManager leases;
  provider::EventFollower follower;
  client::Manifest manifest;
  nlohmann::json manifest_json;
};

TEST_F(LeaseManagerTest, HoldsOurLeaseOnLeaseCreated) {
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.st.bids[1] = provider::OpenBid{1, 120, 5, {}};
  }
  chain.AddEvent(10, "market.lease_created", {{"lease_id", "7"}, {"order_id", "1"}, {"provider", me}});
  FollowTo(10);
  auto l = Held(7);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->order_id, 1u);
  EXPECT_EQ(l->owner, owner);
  EXPECT_EQ(l->price, 120u);
  EXPECT_EQ(l->manifest_deadline, 15);  // max(start 10, seen at 10) + 5
  EXPECT_EQ(l->manifest_hash, HexEncode(client::ManifestHash(manifest_json)));
  EXPECT_EQ(l->resources.cpu_millicores, 1000u);
  std::lock_guard<std::mutex> lock(shared.mu);
  EXPECT_EQ(shared.st.bids.count(1), 0u);  // the bid's reservation became the lease's
}

TEST_F(LeaseManagerTest, DoesNotHoldAnotherProvidersLease) {
  const std::string other = NewAddress();
  chain.PutLease(MakeLease(8, 1, owner, other, 10));
  // An event for another provider is ignored; one that claims us for a lease the chain gives to
  // someone else is checked against the chain and ignored too.
  chain.AddEvent(10, "market.lease_created", {{"lease_id", "8"}, {"order_id", "1"}, {"provider", other}});
  chain.AddEvent(10, "market.lease_created", {{"lease_id", "8"}, {"order_id", "1"}, {"provider", me}});
  FollowTo(10);
  EXPECT_FALSE(Held(8));
  leases.Hold(8, 10);
  EXPECT_FALSE(Held(8));
  EXPECT_TRUE(chain.Broadcasts().empty());
}

TEST_F(LeaseManagerTest, ClosesWithManifestTimeoutAfterTheDeadline) {
  chain.AddEvent(10, "market.lease_created", {{"lease_id", "7"}, {"order_id", "1"}, {"provider", me}});
  FollowTo(10);
  shared.heartbeat_window = 1000;  // no heartbeat in the way
  leases.Housekeeping(15);         // the deadline itself is still in time
  EXPECT_TRUE(Closes().empty());
  leases.Housekeeping(16);
  auto c = Closes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].lease_id(), 7u);
  EXPECT_EQ(c[0].sender(), me);
  EXPECT_EQ(c[0].reason(), mv1::CLOSE_REASON_MANIFEST_TIMEOUT);
  EXPECT_TRUE(Held(7)->closed);
  EXPECT_EQ(Held(7)->close_reason, "MANIFEST_TIMEOUT");
  leases.Housekeeping(17);
  EXPECT_EQ(Closes().size(), 1u);  // once
}

TEST_F(LeaseManagerTest, ClosesWithWorkloadFailedAndCompleted) {
  HoldAndStart();
  EXPECT_TRUE(rt.started.count(7));
  EXPECT_EQ(rt.started[7].cpu_millicores, 1000u);
  EXPECT_TRUE(Held(7)->manifest_received);
  leases.Housekeeping(11);
  EXPECT_TRUE(Closes().empty());  // running
  rt.SetState(7, RunState::kFailed, 3);
  leases.Housekeeping(12);
  ASSERT_EQ(Closes().size(), 1u);
  EXPECT_EQ(Closes()[0].reason(), mv1::CLOSE_REASON_WORKLOAD_FAILED);
  EXPECT_NE(Held(7)->workload_error.find("exit code 3"), std::string::npos) << Held(7)->workload_error;

  // A second lease whose batch job succeeds.
  auto o = MakeOrder(2, 1000, 512);
  o.set_manifest_hash(client::ManifestHash(manifest_json));
  chain.PutOrder(o);
  chain.PutLease(MakeLease(9, 2, owner, me, 12));
  chain.AddEvent(12, "market.lease_created", {{"lease_id", "9"}, {"order_id", "2"}, {"provider", me}});
  FollowTo(12);
  ASSERT_TRUE(leases.AcceptManifest(9, 12, manifest_json, manifest).ok());
  rt.SetState(9, RunState::kSucceeded, 0);
  leases.Housekeeping(13);
  ASSERT_EQ(Closes().size(), 2u);
  EXPECT_EQ(Closes()[1].lease_id(), 9u);
  EXPECT_EQ(Closes()[1].reason(), mv1::CLOSE_REASON_WORKLOAD_COMPLETED);
}

TEST_F(LeaseManagerTest, AWorkloadThatCannotStartIsClosedFailed) {
  chain.AddEvent(10, "market.lease_created", {{"lease_id", "7"}, {"order_id", "1"}, {"provider", me}});
  FollowTo(10);
  rt.fail_start = true;
  auto r = leases.AcceptManifest(7, 10, manifest_json, manifest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, provider::kErrCannotStart);
  leases.Housekeeping(11);
  ASSERT_EQ(Closes().size(), 1u);
  EXPECT_EQ(Closes()[0].reason(), mv1::CLOSE_REASON_WORKLOAD_FAILED);
}

TEST_F(LeaseManagerTest, WithdrawsEveryNBlocks) {
  HoldAndStart();                  // start height 10, withdraw_every_blocks 10
  shared.heartbeat_window = 1000;  // no heartbeat in the way
  for (int64_t h = 11; h <= 31; ++h) leases.Housekeeping(h);
  auto w = chain.Sent<mv1::MsgWithdrawLease>();
  ASSERT_EQ(w.size(), 2u);  // at 20 and 30
  EXPECT_EQ(w[0].lease_id(), 7u);
  EXPECT_EQ(w[0].provider(), me);
  EXPECT_EQ(Held(7)->last_withdraw_height, 30);
}

TEST_F(LeaseManagerTest, SendsOneHeartbeatPerWindow) {
  shared.heartbeat_window = 10;
  for (int64_t h : {20, 21, 25, 29}) leases.Housekeeping(h);
  EXPECT_EQ(chain.Sent<pv1::MsgProviderHeartbeat>().size(), 1u);
  // The chain saying a heartbeat was already counted is not a failure; the window is done.
  chain.FailNext(BeatType(), Error{x::provider::kCodespace, x::provider::kErrHeartbeatWindow, "already counted"});
  leases.Housekeeping(30);
  leases.Housekeeping(35);
  EXPECT_EQ(chain.Sent<pv1::MsgProviderHeartbeat>().size(), 2u);
  leases.Housekeeping(40);
  EXPECT_EQ(chain.Sent<pv1::MsgProviderHeartbeat>().size(), 3u);
  std::lock_guard<std::mutex> lock(shared.mu);
  EXPECT_EQ(shared.st.last_heartbeat_window, 4);
}

TEST_F(LeaseManagerTest, StopsTheWorkloadOnLeaseClosed) {
  HoldAndStart();
  chain.AddEvent(11, "market.lease_closed",
                 {{"lease_id", "7"}, {"order_id", "1"}, {"provider", me}, {"reason", "OWNER"}});
  FollowTo(11);
  ASSERT_EQ(rt.stopped.size(), 1u);
  EXPECT_EQ(rt.stopped[0], 7u);
  EXPECT_TRUE(Held(7)->closed);
  EXPECT_EQ(Held(7)->close_reason, "OWNER");
  leases.Housekeeping(12);
  EXPECT_TRUE(Closes().empty());  // nothing to close: the chain did
}

TEST_F(LeaseManagerTest, CloseRejectionsAreRecognisedByCode) {
  chain.AddEvent(10, "market.lease_created", {{"lease_id", "7"}, {"order_id", "1"}, {"provider", me}});
  FollowTo(10);
  shared.heartbeat_window = 1000;  // no heartbeat in the way
  // A transient failure whose text mentions "closed" does not mark the lease closed...
  chain.FailNext(CloseType(), Error{x::kRootCodespace, x::kErrInsufficientFunds, "fee: account closed?"});
  leases.Housekeeping(16);
  EXPECT_FALSE(Held(7)->closed);
  // ...the chain's (market, kErrLeaseClosed) does.
  chain.FailNext(CloseType(), Error{x::market::kCodespace, x::market::kErrLeaseClosed, "lease 7 is already closed"});
  leases.Housekeeping(17);
  EXPECT_TRUE(Held(7)->closed);
  EXPECT_EQ(Closes().size(), 2u);
}

TEST_F(LeaseManagerTest, RefusesAManifestThatIsNotTheOrders) {
  chain.AddEvent(10, "market.lease_created", {{"lease_id", "7"}, {"order_id", "1"}, {"provider", me}});
  FollowTo(10);
  auto other = ShManifest("cat /etc/shadow");
  auto other_json = client::ManifestToJson(other);
  auto r = leases.AcceptManifest(7, 10, other_json, other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, provider::kErrManifestHash);
  EXPECT_TRUE(rt.started.empty());
  EXPECT_FALSE(Held(7)->manifest_received);

  // Through the HTTP handler, signed by the real owner: still refused, with HTTP 400.
  provider::HostSupport host;
  provider::Handlers h(cfg, chain, shared, leases, rt, host, home.path);
  auto sign = [&](const nlohmann::json& m) {
    Bytes hash = client::ManifestHash(m);
    Bytes sig = crypto::Sign(owner_key, client::ManifestSignBytes("fake-chain", 7, hash));
    return nlohmann::json{{"manifest", m},
                          {"owner", owner},
                          {"pubkey", crypto::Base64Encode(owner_key.pubkey)},
                          {"signature", crypto::Base64Encode(sig)}}
        .dump();
  };
  auto reply = h.AcceptManifest(7, sign(other_json));
  EXPECT_EQ(reply.status, 400) << reply.body.dump();
  EXPECT_EQ(reply.body.value("code", 0u), provider::kErrManifestHash);
  EXPECT_TRUE(rt.started.empty());
  // Someone else signing the order's own manifest is refused too.
  auto stranger = crypto::GenerateKey();
  Bytes sig = crypto::Sign(stranger, client::ManifestSignBytes("fake-chain", 7, client::ManifestHash(manifest_json)));
  auto forged = nlohmann::json{{"manifest", manifest_json},
                               {"owner", crypto::AddressToBech32(crypto::AddressOf(stranger.pubkey))},
                               {"pubkey", crypto::Base64Encode(stranger.pubkey)},
                               {"signature", crypto::Base64Encode(sig)}};
  EXPECT_EQ(h.AcceptManifest(7, forged.dump()).status, 403);
  EXPECT_TRUE(rt.started.empty());
  // The owner's signed manifest of the order starts the workload.
  auto ok = h.AcceptManifest(7, sign(manifest_json));
  EXPECT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body.value("status", ""), "started");
  EXPECT_TRUE(rt.started.count(7));
}

TEST_F(LeaseManagerTest, ReconcileHoldsOpenLeasesAndMarksClosedOnes) {
  auto closed = MakeLease(9, 1, owner, me, 3);
  closed.set_state(mv1::LEASE_STATE_CLOSED);
  closed.set_close_reason(mv1::CLOSE_REASON_OWNER);
  chain.PutLease(closed);
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    provider::HeldLease l;
    l.id = 9;
    l.order_id = 1;
    shared.st.leases[9] = l;  // we held it before a restart
  }
  ASSERT_TRUE(leases.Reconcile(10).ok());
  ASSERT_TRUE(Held(7));
  EXPECT_FALSE(Held(7)->closed);
  EXPECT_TRUE(Held(9)->closed);
  EXPECT_EQ(Held(9)->close_reason, "CLOSE_REASON_OWNER");
  ASSERT_EQ(rt.stopped.size(), 1u);
  EXPECT_EQ(rt.stopped[0], 9u);
}

}  // namespace
}  // namespace depai::test
