// x/market through the real App (TestLedger): lease lifecycle and exact payments, automatic
// selection, escrow exhaustion and grace, reopen, rejections without state change, queries,
// invariants and genesis round trip.
#include <gtest/gtest.h>

#include <functional>

#include <random>

#include "client/market_msgs.h"
#include "depai/provider/v1/provider.pb.h"
#include "ledger_fixture.h"
#include "store/mem_store.h"
#include "x/market/keeper.h"
#include "x/market/module.h"

namespace depai::test {
namespace {

namespace mv1 = depai::market::v1;
namespace pv1 = depai::provider::v1;
using nlohmann::json;

constexpr uint64_t kFee = 10;
constexpr uint64_t kBidDeposit = 100000;

struct Loc {
  int64_t lat = 0, lon = 0;
};

class Market {
 public:
  explicit Market(size_t n = 6, json params = json()) : L(n, "", false) {
    json g = L.Genesis();
    if (!params.is_null()) g["market"] = json{{"params", params}};
    auto req = L.InitRequest();
    req.app_state_bytes = g.dump();
    auto r = L.app->InitChain(req);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    Run({});
  }

  app::ResponseFinalizeBlock Run(const std::vector<Bytes>& txs) {
    app::RequestFinalizeBlock req;
    req.txs = txs;
    req.height = L.app->last_height() + 1;
    req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
    auto r = L.app->FinalizeBlock(req);
    if (!r.ok()) throw std::runtime_error("FinalizeBlock: " + r.error().message);
    auto c = L.app->Commit();
    if (!c.ok()) throw std::runtime_error("Commit: " + c.error().message);
    L.SyncSequences();
    return *r;
  }
  void Idle(int n) {
    for (int i = 0; i < n; ++i) Run({});
  }
  int64_t Height() { return L.app->last_height(); }

  Bytes Sign(size_t who, const google::protobuf::Any& msg) { return L.SignAny(who, {msg}); }
  app::ExecTxResult Tx(size_t who, const google::protobuf::Any& msg) { return Run({Sign(who, msg)}).tx_results.at(0); }

  const std::string& Addr(size_t i) { return L.accounts.at(i).bech32; }
  uint64_t Bal(size_t i) { return L.Balance(Addr(i)); }
  uint64_t BalOf(const Bytes& raw) { return L.Balance(crypto::AddressToBech32(raw)); }

  void Register(size_t who, Loc loc = {}, const std::string& region = "eu-west", const std::string& tier = "gold") {
    pv1::MsgRegisterProvider m;
    m.set_owner(Addr(who));
    m.set_endpoint("https://p" + std::to_string(who) + ".example:8443");
    m.mutable_location()->set_lat_e6(loc.lat);
    m.mutable_location()->set_lon_e6(loc.lon);
    m.set_region(region);
    auto* a = m.add_attributes();
    a->set_key("tier");
    a->set_value(tier);
    auto* r = m.mutable_resources();
    r->set_cpu_millicores(16000);
    r->set_memory_mib(65536);
    auto* gpu = r->add_gpus();
    gpu->set_vendor("nvidia");
    gpu->set_model("h100");
    gpu->set_count(2);
    gpu->set_vram_mib(81920);
    auto* st = r->add_storage();
    st->set_storage_class("ssd");
    st->set_size_mib(500000);
    m.mutable_collateral()->set_denom("udpai");
    m.mutable_collateral()->set_amount("1000000");
    registrations.push_back(Sign(who, client::PackAny(m)));
  }
  void FlushRegistrations() {
    auto r = Run(registrations);
    for (const auto& t : r.tx_results) ASSERT_EQ(t.code, 0u) << t.log;
    registrations.clear();
  }

  mv1::MsgCreateOrder OrderMsg(size_t owner, uint64_t max_price, uint64_t deposit, int64_t window, bool auto_select,
                               bool reopen = false) {
    mv1::MsgCreateOrder m;
    m.set_owner(Addr(owner));
    auto* g = m.add_groups();
    g->set_name("job");
    g->set_count(1);
    g->mutable_units()->set_cpu_millicores(2000);
    g->mutable_units()->set_memory_mib(4096);
    m.mutable_max_price_per_block()->set_denom("udpai");
    m.mutable_max_price_per_block()->set_amount(std::to_string(max_price));
    m.mutable_deposit()->set_denom("udpai");
    m.mutable_deposit()->set_amount(std::to_string(deposit));
    m.set_bid_window_blocks(window);
    m.set_manifest_hash(crypto::Sha256("manifest"));
    m.set_auto_select(auto_select);
    m.set_reopen_on_provider_close(reopen);
    return m;
  }
  uint64_t CreateOrder(size_t owner, const mv1::MsgCreateOrder& m) {
    auto r = Tx(owner, client::PackMsgCreateOrder(m));
    EXPECT_EQ(r.code, 0u) << r.log;
    return LastOrderId();
  }
  uint64_t LastOrderId() {
    auto j = L.Query("/market/orders");
    return j["orders"].empty() ? 0 : std::stoull(j["orders"].back()["id"].get<std::string>());
  }
  json Q(const std::string& p) { return L.Query(p); }
  json MarketState() { return json::parse(L.app->ExportGenesis().value())["app_state"]["market"]; }

  TestLedger L;
  std::vector<Bytes> registrations;
};

bool HasEvent(const std::vector<x::Event>& evs, const std::string& type, const std::string& key = "",
              const std::string& value = "") {
  for (const auto& e : evs) {
    if (e.type != type) continue;
    if (key.empty()) return true;
    for (const auto& a : e.attributes)
      if (a.key == key && a.value == value) return true;
  }
  return false;
}

// Owner 0, providers 1 and 2: bids, a manual lease, withdrawals and a close, with every udpai
// accounted for.
TEST(MarketApp, LeaseLifecyclePaysExactly) {
  Market M;
  M.Register(1);
  M.Register(2);
  M.FlushRegistrations();
  const Bytes escrow = x::market::EscrowModuleAddress(), treasury = x::market::TreasuryAddress();
  const uint64_t owner0 = M.Bal(0);
  const uint64_t oid = M.CreateOrder(0, M.OrderMsg(0, 100, 100000, 5, false));
  ASSERT_EQ(oid, 1u);
  EXPECT_EQ(M.Bal(0), owner0 - 100000 - kFee);
  EXPECT_EQ(M.BalOf(escrow), 100000u);
  auto open = M.Q("/market/orders?state=open");
  ASSERT_EQ(open["orders"].size(), 1u);
  EXPECT_EQ(M.Q("/market/orders?owner=" + M.Addr(0))["orders"].size(), 1u);
  EXPECT_EQ(M.Q("/market/orders?owner=" + M.Addr(1))["orders"].size(), 0u);

  const uint64_t p1 = M.Bal(1), p2 = M.Bal(2);
  auto r = M.Run({M.Sign(1, client::PackMsgCreateBid(M.Addr(1), oid, Amount::Of(80).value())),
                  M.Sign(2, client::PackMsgCreateBid(M.Addr(2), oid, Amount::Of(90).value()))});
  ASSERT_EQ(r.tx_results[0].code, 0u) << r.tx_results[0].log;
  ASSERT_EQ(r.tx_results[1].code, 0u) << r.tx_results[1].log;
  EXPECT_TRUE(HasEvent(r.tx_results[0].events, "market.bid_created", "amount", "80"));
  EXPECT_EQ(M.Bal(1), p1 - kBidDeposit - kFee);
  EXPECT_EQ(M.Bal(2), p2 - kBidDeposit - kFee);
  EXPECT_EQ(M.BalOf(escrow), 100000u + 2 * kBidDeposit);
  EXPECT_EQ(M.Q("/market/orders/1/bids")["bids"].size(), 2u);

  // The owner picks provider 2 (not the cheapest): provider 1 loses and gets its deposit back.
  auto lr = M.Tx(0, client::PackMsgCreateLease(M.Addr(0), oid, M.Addr(2)));
  ASSERT_EQ(lr.code, 0u) << lr.log;
  EXPECT_TRUE(HasEvent(lr.events, "market.lease_created", "provider", M.Addr(2)));
  EXPECT_TRUE(HasEvent(lr.events, "market.bid_lost", "provider", M.Addr(1)));
  const int64_t hL = M.Height();
  EXPECT_EQ(M.Bal(1), p1 - kFee);
  auto order = M.Q("/market/orders/1");
  EXPECT_EQ(order["order"]["state"], "ORDER_STATE_ACTIVE");
  EXPECT_EQ(order["order"]["lease_id"], "1");
  EXPECT_EQ(order["funded_until"], std::to_string(hL + 100000 / 90));
  EXPECT_EQ(M.Q("/provider/providers/" + M.Addr(2))["provider"]["active_leases"], "1");

  // take = floor(90 * 200 / 10000) = 1 per block.
  M.Idle(10);
  auto lv = M.Q("/market/leases/1");
  EXPECT_EQ(lv["withdrawable_now"], std::to_string((M.Height() - hL) * 89));
  EXPECT_EQ(lv["lease"]["state"], "LEASE_STATE_ACTIVE");
  EXPECT_EQ(M.Q("/market/leases?provider=" + M.Addr(2))["leases"].size(), 1u);
  EXPECT_EQ(M.Q("/market/leases?owner=" + M.Addr(0))["leases"].size(), 1u);
  EXPECT_EQ(M.Q("/market/leases?provider=" + M.Addr(1))["leases"].size(), 0u);

  const Bytes pool = x::market::CheckerPoolAddress();
  const uint64_t p2_before = M.Bal(2), esc_before = M.BalOf(escrow), tre_before = M.BalOf(treasury),
                 pool_before = M.BalOf(pool);
  auto wr = M.Tx(2, client::PackMsgWithdrawLease(M.Addr(2), 1));
  ASSERT_EQ(wr.code, 0u) << wr.log;
  const uint64_t n = static_cast<uint64_t>(M.Height() - hL);
  EXPECT_EQ(M.Bal(2), p2_before + n * 90 - n * 1 - kFee);  // rate*blocks - take, less the tx fee
  EXPECT_EQ(M.BalOf(escrow), esc_before - n * 90);
  // The take is split: checker_pool_bps of it to the checker pool, the rest to the treasury.
  EXPECT_EQ(M.BalOf(treasury) - tre_before + M.BalOf(pool) - pool_before, n * 1);
  EXPECT_TRUE(HasEvent(wr.events, "market.lease_withdraw", "amount", std::to_string(n * 89)));
  EXPECT_TRUE(M.L.app->CheckInvariants().ok());

  // Owner closes: the provider gets the blocks since the withdrawal and its bid deposit; the owner
  // gets the rest of the escrow.
  M.Idle(3);
  const uint64_t o_before = M.Bal(0);
  const uint64_t p2_mid = M.Bal(2);
  const int64_t hW = M.Height() - 3;
  auto cr = M.Tx(0, client::PackMsgCloseLease(M.Addr(0), 1, mv1::CLOSE_REASON_OWNER));
  ASSERT_EQ(cr.code, 0u) << cr.log;
  const uint64_t total_blocks = static_cast<uint64_t>(M.Height() - hL);
  const uint64_t since = static_cast<uint64_t>(M.Height() - hW);
  EXPECT_EQ(M.Bal(2), p2_mid + since * 89 + kBidDeposit);
  EXPECT_EQ(M.Bal(0), o_before + 100000 - total_blocks * 90 - kFee);
  EXPECT_EQ(M.BalOf(escrow), 0u);
  EXPECT_TRUE(HasEvent(cr.events, "market.lease_closed", "reason", "OWNER"));
  EXPECT_TRUE(HasEvent(cr.events, "market.order_closed"));
  EXPECT_EQ(M.Q("/market/orders/1")["order"]["state"], "ORDER_STATE_CLOSED");
  EXPECT_EQ(M.Q("/market/leases/1")["lease"]["close_reason"], "CLOSE_REASON_OWNER");
  EXPECT_EQ(M.Q("/provider/providers/" + M.Addr(2))["provider"]["active_leases"], "0");
  EXPECT_EQ(M.Q("/market/orders?state=open")["orders"].size(), 0u);
  // Closing twice is rejected.
  auto again = M.Tx(0, client::PackMsgCloseLease(M.Addr(0), 1, mv1::CLOSE_REASON_OWNER));
  EXPECT_EQ(again.codespace, "market");
  EXPECT_EQ(again.code, x::market::kErrLeaseClosed);
  EXPECT_TRUE(M.L.app->CheckInvariants().ok());
}

// The worked example of doc/modules/market.md: Berlin-centred order, 1000 km limit; bids from
// Berlin (80), Paris (50) and Warsaw (60); no heartbeats, so every uptime is 0.
TEST(MarketApp, AutoSelectPicksDocumentedWinner) {
  Market M;
  M.Register(1, {52520000, 13405000});
  M.Register(2, {48856600, 2352200});
  M.Register(3, {52229700, 21012200});
  M.FlushRegistrations();
  auto m = M.OrderMsg(0, 100, 100000, 3, true);
  m.mutable_placement()->mutable_center()->set_lat_e6(52520000);
  m.mutable_placement()->mutable_center()->set_lon_e6(13405000);
  m.mutable_placement()->set_max_distance_m(1000000);
  const uint64_t oid = M.CreateOrder(0, m);
  const int64_t end = std::stoll(M.Q("/market/orders/1")["order"]["bid_window_end"].get<std::string>());
  auto r = M.Run({M.Sign(1, client::PackMsgCreateBid(M.Addr(1), oid, Amount::Of(80).value())),
                  M.Sign(2, client::PackMsgCreateBid(M.Addr(2), oid, Amount::Of(50).value())),
                  M.Sign(3, client::PackMsgCreateBid(M.Addr(3), oid, Amount::Of(60).value()))});
  for (const auto& t : r.tx_results) ASSERT_EQ(t.code, 0u) << t.log;
  std::vector<x::Event> end_events;
  while (M.Height() < end) {
    auto b = M.Run({});
    end_events = b.events;
  }
  // Scores: Berlin 5750, Paris 6244, Warsaw 5966 -> Paris wins.
  EXPECT_TRUE(HasEvent(end_events, "market.lease_created", "provider", M.Addr(2)));
  EXPECT_TRUE(HasEvent(end_events, "market.bid_lost", "provider", M.Addr(1)));
  EXPECT_TRUE(HasEvent(end_events, "market.bid_lost", "provider", M.Addr(3)));
  auto lv = M.Q("/market/leases/1");
  EXPECT_EQ(lv["lease"]["provider"], M.Addr(2));
  EXPECT_EQ(lv["lease"]["price_per_block"], "50");
  EXPECT_EQ(lv["lease"]["start_height"], std::to_string(end));
  // Losers were refunded their deposits: only the escrow and the winner's deposit remain.
  EXPECT_EQ(M.BalOf(x::market::EscrowModuleAddress()), 100000u + kBidDeposit);
  EXPECT_TRUE(M.L.app->CheckInvariants().ok());
}

TEST(MarketApp, AutoSelectWithoutBidsClosesAndRefunds) {
  Market M;
  const uint64_t before = M.Bal(0);
  M.CreateOrder(0, M.OrderMsg(0, 100, 5000, 2, true));
  auto a = M.Run({});
  auto b = M.Run({});
  EXPECT_TRUE(HasEvent(b.events, "market.order_no_bids", "order_id", "1"));
  EXPECT_EQ(M.Q("/market/orders/1")["order"]["state"], "ORDER_STATE_CLOSED");
  EXPECT_EQ(M.Bal(0), before - kFee);
  EXPECT_FALSE(HasEvent(a.events, "market.order_no_bids"));
}

json GraceParams() {
  auto p = x::market::DefaultParams();
  p.set_low_balance_blocks(3);
  p.set_grace_period_blocks(4);
  return x::market::ProtoToJson(p);
}

// 1000 udpai at 100/block funds 10 blocks: low balance 3 blocks before, GRACE at funded_until,
// closed for insufficient funds when the grace ends; the provider is paid exactly 10 blocks.
TEST(MarketApp, EscrowExhaustionGraceThenClose) {
  Market M(6, GraceParams());
  M.Register(1);
  M.FlushRegistrations();
  M.CreateOrder(0, M.OrderMsg(0, 100, 1000, 5, false));
  ASSERT_EQ(M.Tx(1, client::PackMsgCreateBid(M.Addr(1), 1, Amount::Of(100).value())).code, 0u);
  const uint64_t p1 = M.Bal(1), tre = M.BalOf(x::market::TreasuryAddress()),
                 pool = M.BalOf(x::market::CheckerPoolAddress());
  ASSERT_EQ(M.Tx(0, client::PackMsgCreateLease(M.Addr(0), 1, M.Addr(1))).code, 0u);
  const int64_t hL = M.Height(), fu = hL + 10;
  std::map<int64_t, std::vector<x::Event>> ev;
  while (M.Height() < fu + 4) {
    auto r = M.Run({});
    ev[M.Height()] = r.events;
  }
  for (int64_t h = hL + 1; h <= fu + 4; ++h) {
    EXPECT_EQ(HasEvent(ev[h], "market.escrow_low_balance"), h == fu - 3) << h;
    EXPECT_EQ(HasEvent(ev[h], "market.escrow_exhausted"), h == fu) << h;
    EXPECT_EQ(HasEvent(ev[h], "market.lease_closed"), h == fu + 4) << h;
  }
  EXPECT_TRUE(HasEvent(ev[fu], "market.escrow_exhausted", "grace_until", std::to_string(fu + 4)));
  EXPECT_TRUE(HasEvent(ev[fu + 4], "market.lease_closed", "reason", "INSUFFICIENT_FUNDS"));
  auto lv = M.Q("/market/leases/1");
  EXPECT_EQ(lv["lease"]["state"], "LEASE_STATE_CLOSED");
  EXPECT_EQ(lv["lease"]["close_reason"], "CLOSE_REASON_INSUFFICIENT_FUNDS");
  EXPECT_EQ(M.Q("/market/orders/1")["order"]["state"], "ORDER_STATE_CLOSED");
  // 10 blocks at 100 with take 2: provider +980 and its deposit back; the take of 20 goes 25% to
  // the checker pool (floored per settlement) and the rest to the treasury.
  EXPECT_EQ(M.Bal(1), p1 + 980 + kBidDeposit);
  EXPECT_EQ(M.BalOf(x::market::TreasuryAddress()) - tre + M.BalOf(x::market::CheckerPoolAddress()) - pool, 20u);
  EXPECT_EQ(M.BalOf(x::market::EscrowModuleAddress()), 0u);
  EXPECT_TRUE(M.L.app->CheckInvariants().ok());
}

// A top-up during GRACE pays the debt first and moves the lease back to ACTIVE.
TEST(MarketApp, TopUpInGraceReactivates) {
  Market M(6, GraceParams());
  M.Register(1);
  M.FlushRegistrations();
  M.CreateOrder(0, M.OrderMsg(0, 100, 1000, 5, false));
  ASSERT_EQ(M.Tx(1, client::PackMsgCreateBid(M.Addr(1), 1, Amount::Of(100).value())).code, 0u);
  ASSERT_EQ(M.Tx(0, client::PackMsgCreateLease(M.Addr(0), 1, M.Addr(1))).code, 0u);
  const int64_t hL = M.Height(), fu = hL + 10;
  while (M.Height() < fu + 1) M.Run({});
  EXPECT_EQ(M.Q("/market/leases/1")["lease"]["state"], "LEASE_STATE_GRACE");
  // Anyone may top up (account 3 here). At height fu+2 the debt is 2 blocks = 200.
  auto r = M.Tx(3, client::PackMsgDepositEscrow(M.Addr(3), 1, Amount::Of(1000).value()));
  ASSERT_EQ(r.code, 0u) << r.log;
  ASSERT_EQ(M.Height(), fu + 2);
  auto lv = M.Q("/market/leases/1");
  EXPECT_EQ(lv["lease"]["state"], "LEASE_STATE_ACTIVE");
  EXPECT_EQ(lv["escrow"]["debt"], "0");
  EXPECT_EQ(lv["escrow"]["balance"], "800");
  EXPECT_EQ(lv["funded_until"], std::to_string(fu + 2 + 8));
  EXPECT_EQ(lv["escrow"]["paid_to_provider"], std::to_string(12 * 98));
  EXPECT_TRUE(HasEvent(r.events, "market.escrow_deposit", "funded_until", std::to_string(fu + 10)));
  // The old grace end no longer closes it.
  while (M.Height() < fu + 6) M.Run({});
  EXPECT_EQ(M.Q("/market/leases/1")["lease"]["state"], "LEASE_STATE_ACTIVE");
  EXPECT_TRUE(M.L.app->CheckInvariants().ok());
}

TEST(MarketApp, ProviderCloseReopensOrder) {
  Market M;
  M.Register(1);
  M.FlushRegistrations();
  M.CreateOrder(0, M.OrderMsg(0, 100, 100000, 5, false, /*reopen=*/true));
  ASSERT_EQ(M.Tx(1, client::PackMsgCreateBid(M.Addr(1), 1, Amount::Of(100).value())).code, 0u);
  ASSERT_EQ(M.Tx(0, client::PackMsgCreateLease(M.Addr(0), 1, M.Addr(1))).code, 0u);
  const int64_t hL = M.Height();
  M.Idle(2);
  // Wrong reason for each side.
  auto bad1 = M.Tx(1, client::PackMsgCloseLease(M.Addr(1), 1, mv1::CLOSE_REASON_OWNER));
  EXPECT_EQ(bad1.code, x::market::kErrInvalidReason);
  auto bad2 = M.Tx(0, client::PackMsgCloseLease(M.Addr(0), 1, mv1::CLOSE_REASON_WORKLOAD_FAILED));
  EXPECT_EQ(bad2.code, x::market::kErrInvalidReason);
  auto bad3 = M.Tx(3, client::PackMsgCloseLease(M.Addr(3), 1, mv1::CLOSE_REASON_OWNER));
  EXPECT_EQ(bad3.code, x::market::kErrUnauthorized);
  auto r = M.Tx(1, client::PackMsgCloseLease(M.Addr(1), 1, mv1::CLOSE_REASON_WORKLOAD_FAILED));
  ASSERT_EQ(r.code, 0u) << r.log;
  const int64_t h = M.Height();
  EXPECT_TRUE(HasEvent(r.events, "market.order_reopened", "bid_window_end", std::to_string(h + 5)));
  auto o = M.Q("/market/orders/1");
  EXPECT_EQ(o["order"]["state"], "ORDER_STATE_OPEN");
  EXPECT_EQ(o["escrow"]["balance"], std::to_string(100000 - (h - hL) * 100));
  EXPECT_EQ(M.Q("/market/orders/1/bids")["bids"].size(), 0u);
  // A new round: the same provider may bid again, and a second lease gets id 2.
  ASSERT_EQ(M.Tx(1, client::PackMsgCreateBid(M.Addr(1), 1, Amount::Of(70).value())).code, 0u);
  ASSERT_EQ(M.Tx(0, client::PackMsgCreateLease(M.Addr(0), 1, M.Addr(1))).code, 0u);
  EXPECT_EQ(M.Q("/market/orders/1")["order"]["lease_id"], "2");
  // The owner's close-order closes the lease and refunds.
  ASSERT_EQ(M.Tx(0, client::PackMsgCloseOrder(M.Addr(0), 1)).code, 0u);
  EXPECT_EQ(M.Q("/market/orders/1")["order"]["state"], "ORDER_STATE_CLOSED");
  EXPECT_EQ(M.BalOf(x::market::EscrowModuleAddress()), 0u);
  EXPECT_TRUE(M.L.app->CheckInvariants().ok());
}

// Every rejection is a result with a stable code and leaves market state and balances
// untouched, except the fee.
class MarketRejects : public ::testing::Test {
 protected:
  void ExpectRejected(size_t who, const google::protobuf::Any& msg, uint32_t code, const std::string& codespace,
                      const std::string& log_part = "", uint64_t fee = kFee) {
    SCOPED_TRACE(msg.type_url());
    json before = M->MarketState();
    const uint64_t esc = M->BalOf(x::market::EscrowModuleAddress());
    const uint64_t bal = M->Bal(who);
    auto r = M->Tx(who, msg);
    EXPECT_EQ(r.code, code) << r.log;
    EXPECT_EQ(r.codespace, codespace) << r.log;
    if (!log_part.empty()) {
      EXPECT_NE(r.log.find(log_part), std::string::npos) << r.log;
    }
    EXPECT_EQ(M->MarketState(), before);
    EXPECT_EQ(M->BalOf(x::market::EscrowModuleAddress()), esc);
    EXPECT_EQ(M->Bal(who), bal - fee);
    for (const auto& e : r.events) EXPECT_NE(e.type.rfind("market.", 0), 0u) << e.type;
  }
  std::unique_ptr<Market> M;
};

TEST_F(MarketRejects, EveryRejectionLeavesNoTrace) {
  M = std::make_unique<Market>(24);
  for (size_t i = 1; i <= 21; ++i) M->Register(i);
  M->Register(22, {}, "eu-west", "silver");
  M->FlushRegistrations();
  auto om = M->OrderMsg(0, 100, 100000, 10, false);
  auto* attr = om.mutable_placement()->add_attributes();
  attr->set_key("tier");
  attr->set_value("gold");
  M->CreateOrder(0, om);
  using namespace x::market;
  // Bid above the max price.
  ExpectRejected(1, client::PackMsgCreateBid(M->Addr(1), 1, Amount::Of(101).value()), kErrPriceTooHigh, "market",
                 "above the order's max price 100udpai");
  // Ineligible provider: the error names the gap.
  ExpectRejected(22, client::PackMsgCreateBid(M->Addr(22), 1, Amount::Of(50).value()), kErrProviderIneligible, "market",
                 "attribute tier=gold required, provider has tier=silver");
  // Not a provider at all.
  ExpectRejected(23, client::PackMsgCreateBid(M->Addr(23), 1, Amount::Of(50).value()), kErrProviderNotFound, "market",
                 "is not registered");
  // Wrong signer: account 1 signs the owner's close-order (rejected before the fee is taken).
  ExpectRejected(1, client::PackMsgCloseOrder(M->Addr(0), 1), x::kErrWrongSigner, "sdk", "", 0);
  // Someone else's order.
  ExpectRejected(1, client::PackMsgCloseOrder(M->Addr(1), 1), kErrUnauthorized, "market");
  // Lease without a bid; withdraw without a lease; deposit in a bad denom is stateless.
  ExpectRejected(0, client::PackMsgCreateLease(M->Addr(0), 1, M->Addr(1)), kErrBidNotFound, "market");
  ExpectRejected(1, client::PackMsgWithdrawLease(M->Addr(1), 9), kErrLeaseNotFound, "market");
  // Twenty bids fill the order; the 21st is rejected.
  std::vector<Bytes> txs;
  for (size_t i = 1; i <= 20; ++i)
    txs.push_back(M->Sign(i, client::PackMsgCreateBid(M->Addr(i), 1, Amount::Of(50 + i).value())));
  auto r = M->Run(txs);
  for (const auto& t : r.tx_results) ASSERT_EQ(t.code, 0u) << t.log;
  ExpectRejected(21, client::PackMsgCreateBid(M->Addr(21), 1, Amount::Of(50).value()), kErrTooManyBids, "market",
                 "already has 20 bids");
  // A second bid from the same provider.
  ExpectRejected(3, client::PackMsgCreateBid(M->Addr(3), 1, Amount::Of(60).value()), kErrDuplicateBid, "market");
  // Closed order: no bids, no deposits, no second close.
  // Refunding 20 bids needs more than the default 200000 gas (the CLI raises it for close-order).
  auto& a0 = M->L.accounts[0];
  client::TxOptions big{Coins::Parse("40udpai").value(), 800000, "", 0};
  auto close = M->Run({client::BuildSignedTx(a0.key, {TestLedger::kChainId, a0.number, a0.sequence},
                                             {client::PackMsgCloseOrder(M->Addr(0), 1)}, big)});
  ASSERT_EQ(close.tx_results[0].code, 0u) << close.tx_results[0].log;
  EXPECT_LT(close.tx_results[0].gas_used, 800000);
  EXPECT_EQ(M->BalOf(x::market::EscrowModuleAddress()), 0u);  // all 20 deposits refunded
  ExpectRejected(21, client::PackMsgCreateBid(M->Addr(21), 1, Amount::Of(50).value()), kErrOrderNotOpen, "market");
  ExpectRejected(0, client::PackMsgDepositEscrow(M->Addr(0), 1, Amount::Of(50).value()), kErrOrderClosed, "market");
  ExpectRejected(0, client::PackMsgCloseOrder(M->Addr(0), 1), kErrOrderClosed, "market");
  // Order validation.
  auto bad = M->OrderMsg(0, 100, 10, 10, false);  // deposit below min_deposit 1000
  ExpectRejected(0, client::PackMsgCreateOrder(bad), kErrDepositTooSmall, "market");
  bad = M->OrderMsg(0, 100, 1000, 5000, false);  // window above 1000
  ExpectRejected(0, client::PackMsgCreateOrder(bad), kErrInvalidOrder, "market");
  bad = M->OrderMsg(0, 100, 1000, 5, false);
  bad.set_manifest_hash("short");
  ExpectRejected(0, client::PackMsgCreateOrder(bad), kErrInvalidOrder, "market", "manifest_hash",
                 0);  // stateless: rejected before the fee
  EXPECT_TRUE(M->L.app->CheckInvariants().ok());
}

TEST(MarketApp, BidAfterWindowRejected) {
  Market M;
  M.Register(1);
  M.FlushRegistrations();
  M.CreateOrder(0, M.OrderMsg(0, 100, 5000, 1, false));
  M.Idle(1);
  auto r = M.Tx(1, client::PackMsgCreateBid(M.Addr(1), 1, Amount::Of(10).value()));
  EXPECT_EQ(r.code, x::market::kErrBidWindowClosed) << r.log;
  // A manual order stays open after the window; the owner may still close it.
  EXPECT_EQ(M.Q("/market/orders/1")["order"]["state"], "ORDER_STATE_OPEN");
}

TEST(MarketApp, GenesisExportImportRoundTrip) {
  Market M;
  M.Register(1);
  M.Register(2);
  M.FlushRegistrations();
  M.CreateOrder(0, M.OrderMsg(0, 100, 100000, 5, false));
  M.CreateOrder(3, M.OrderMsg(3, 100, 5000, 50, true));
  ASSERT_EQ(M.Tx(1, client::PackMsgCreateBid(M.Addr(1), 1, Amount::Of(100).value())).code, 0u);
  ASSERT_EQ(M.Tx(2, client::PackMsgCreateBid(M.Addr(2), 2, Amount::Of(40).value())).code, 0u);
  ASSERT_EQ(M.Tx(0, client::PackMsgCreateLease(M.Addr(0), 1, M.Addr(1))).code, 0u);
  M.Idle(3);
  json exported = json::parse(M.L.app->ExportGenesis().value());
  // Import into a fresh chain starting at the next height.
  TestLedger L2(6, "", false);
  app::RequestInitChain req;
  req.chain_id = TestLedger::kChainId;
  req.initial_height = exported["initial_height"].get<int64_t>();
  req.app_state_bytes = exported["app_state"].dump();
  auto ic = L2.app->InitChain(req);
  ASSERT_TRUE(ic.ok()) << ic.error().message;
  app::RequestFinalizeBlock fb;
  fb.height = req.initial_height;
  auto f2 = L2.app->FinalizeBlock(fb);
  ASSERT_TRUE(f2.ok()) << f2.error().message;
  ASSERT_TRUE(L2.app->Commit().ok());
  EXPECT_TRUE(L2.app->CheckInvariants().ok());
  json reexported = json::parse(L2.app->ExportGenesis().value())["app_state"]["market"];
  EXPECT_EQ(reexported, exported["app_state"]["market"]);
  // The imported chain keeps paying: the lease settles identically at the same height.
  app::RequestQuery q;
  q.path = "/market/leases/1";
  auto a = json::parse(L2.app->Query(q).value);
  EXPECT_EQ(a["lease"]["state"], "LEASE_STATE_ACTIVE");
  EXPECT_EQ(a["withdrawable_now"],
            std::to_string((req.initial_height - std::stoll(a["lease"]["start_height"].get<std::string>())) * 98));
}

// Keeper-level: the full invariant catches coins that are not backed by records, with a fake bank.
class FakeBank : public x::market::BankKeeper {
 public:
  Status send(x::Context&, std::string_view, std::string_view, const Coins&, bool) const override { return {}; }
  Result<Amount> balance(const store::KVReader&, std::string_view, std::string_view) const override { return held; }
  Amount held;
};

TEST(MarketKeeper, InvariantDetectsUnbackedEscrow) {
  FakeBank bank;
  x::market::Keeper k(nullptr, &bank);
  store::MemStore s;
  mv1::Escrow e;
  e.set_order_id(1);
  e.set_balance("500");
  e.set_withdrawable("25");
  k.set_escrow(s, e);
  mv1::Bid b;
  b.set_order_id(1);
  b.set_provider(TestLedger(1, "", false).accounts[0].bech32);
  b.set_deposit("100");
  b.set_state(mv1::BID_STATE_OPEN);
  k.set_bid(s, b);
  bank.held = Amount::Of(625).value();
  EXPECT_TRUE(k.check_invariants_full(s).ok());
  bank.held = Amount::Of(624).value();
  auto st = k.check_invariants_full(s);
  ASSERT_FALSE(st.ok());
  // An invariant break is a fault (it halts the node), never a tx result.
  EXPECT_EQ(st.error().codespace, x::kFaultCodespace);
  EXPECT_EQ(st.error().code, x::kFaultInvariant);
  // A LOST bid's deposit is no longer held.
  b.set_state(mv1::BID_STATE_LOST);
  k.set_bid(s, b);
  bank.held = Amount::Of(525).value();
  EXPECT_TRUE(k.check_invariants_full(s).ok());
}

}  // namespace
}  // namespace depai::test

namespace depai::test {
namespace {

// Seeded random traffic (orders with small escrows, bids, leases, top-ups, withdrawals, closes)
// through the App: the full escrow invariant and the bank supply hold after every block, and the
// treasury receives exactly the take recorded in the escrows.
// Seeded random market traffic: owners create, fund, accept, close; providers bid, withdraw,
// close. Returns the app hash after each block; `after_block(block)` runs after each block.
std::vector<Bytes> MarketTraffic(Market& M, uint32_t seed, int blocks, const std::function<void(int)>& after_block) {
  std::vector<Bytes> hashes;
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return rng() % n; };
  for (int block = 0; block < blocks; ++block) {
    std::vector<Bytes> txs;
    const uint64_t orders = M.LastOrderId();
    for (size_t who = 0; who < 8; ++who) {
      if (pick(3) != 0) continue;
      const uint64_t oid = orders ? 1 + pick(orders) : 0;
      const std::string& me = M.Addr(who);
      if (who < 4) {  // owners
        switch (pick(6)) {
          case 0:
            txs.push_back(M.Sign(who, client::PackMsgCreateOrder(M.OrderMsg(who, 50 + pick(50), 1000 + pick(4000),
                                                                            1 + pick(4), pick(3) == 0, pick(2)))));
            break;
          case 1:
            if (oid)
              txs.push_back(M.Sign(who, client::PackMsgDepositEscrow(me, oid, Amount::Of(1 + pick(900)).value())));
            break;
          case 2:
          case 5: {  // accept one of the open bids on one of its open orders
            auto mine = M.Q("/market/orders?owner=" + me + "&state=open")["orders"];
            if (mine.empty()) break;
            const std::string id = mine[pick(mine.size())]["id"].get<std::string>();
            auto bids = M.Q("/market/orders/" + id + "/bids")["bids"];
            if (bids.empty()) break;
            txs.push_back(
                M.Sign(who, client::PackMsgCreateLease(me, std::stoull(id), bids[pick(bids.size())]["provider"])));
            break;
          }
          case 3:
            if (oid && pick(4) == 0) txs.push_back(M.Sign(who, client::PackMsgCloseOrder(me, oid)));
            break;
          default:
            if (oid) txs.push_back(M.Sign(who, client::PackMsgCloseLease(me, oid, mv1::CLOSE_REASON_OWNER)));
        }
      } else {  // providers
        switch (pick(4)) {
          case 0:
          case 1: {  // bid on an open order (sometimes above its max price)
            auto open = M.Q("/market/orders?state=open")["orders"];
            if (open.empty()) break;
            const uint64_t id = std::stoull(open[pick(open.size())]["id"].get<std::string>());
            txs.push_back(M.Sign(who, client::PackMsgCreateBid(me, id, Amount::Of(10 + pick(95)).value())));
            break;
          }
          default: {  // act on one of its own running leases
            auto mine = M.Q("/market/leases?provider=" + me + "&state=active")["leases"];
            if (mine.empty()) break;
            const uint64_t lid = std::stoull(mine[pick(mine.size())]["lease"]["id"].get<std::string>());
            if (pick(3) == 0)
              txs.push_back(M.Sign(who, client::PackMsgCloseLease(me, lid, mv1::CLOSE_REASON_PROVIDER_UNSTABLE)));
            else
              txs.push_back(M.Sign(who, client::PackMsgWithdrawLease(me, lid)));
          }
        }
      }
    }
    M.Run(txs);  // throws if the per-block invariant fails
    hashes.push_back(M.L.last_app_hash);
    after_block(block);
  }
  return hashes;
}

TEST(MarketApp, RandomTrafficKeepsInvariants) {
  std::map<std::string, int> reasons;
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    Market M(8, GraceParams());
    for (size_t p = 4; p <= 7; ++p) M.Register(p);
    M.FlushRegistrations();
    MarketTraffic(M, seed, 100, [&](int block) {
      auto st = M.L.app->CheckInvariants();
      ASSERT_TRUE(st.ok()) << "seed " << seed << " block " << block << ": " << st.error().message;
    });
    const json state = M.MarketState();
    uint64_t take = 0;
    for (const auto& e : state["escrows"]) take += std::stoull(e["paid_take_fee"].get<std::string>());
    const size_t leases = state["leases"].size();
    for (const auto& l : state["leases"])
      reasons[l["state"].get<std::string>() + "/" + l["close_reason"].get<std::string>()]++;
    EXPECT_EQ(M.BalOf(x::market::TreasuryAddress()) + M.BalOf(x::market::CheckerPoolAddress()), take)
        << "seed " << seed;
    EXPECT_GT(leases, 0u) << "seed " << seed;
  }
  // The traffic reached every way a lease ends.
  EXPECT_GT(reasons["LEASE_STATE_CLOSED/CLOSE_REASON_INSUFFICIENT_FUNDS"], 0);
  EXPECT_GT(reasons["LEASE_STATE_CLOSED/CLOSE_REASON_OWNER"], 0);
  EXPECT_GT(reasons["LEASE_STATE_CLOSED/CLOSE_REASON_PROVIDER_UNSTABLE"], 0);
}

// Determinism with the marketplace: the same seeded traffic on two fresh ledgers gives the same app
// hash after every block, and the same exported state.
TEST(MarketApp, SeededTrafficTwiceGivesIdenticalAppHashes) {
  std::vector<Bytes> runs[2];
  json exports[2];
  for (int r = 0; r < 2; ++r) {
    Market M(8, GraceParams());
    for (size_t p = 4; p <= 7; ++p) M.Register(p);
    M.FlushRegistrations();
    runs[r] = MarketTraffic(M, 42, 60, [](int) {});
    exports[r] = json::parse(M.L.app->ExportGenesis().value());
  }
  ASSERT_EQ(runs[0].size(), 60u);
  for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_EQ(runs[0][i], runs[1][i]) << "block " << i;
  EXPECT_EQ(exports[0], exports[1]);
  EXPECT_FALSE(exports[0]["app_state"]["market"]["leases"].empty());
}

}  // namespace
}  // namespace depai::test

namespace depai::test {
namespace {

TEST(MarketApp, FixtureGenesisUsesDefaultParams) {
  TestLedger L;
  EXPECT_EQ(L.Query("/market/params"), x::market::ProtoToJson(x::market::DefaultParams()));
  EXPECT_TRUE(x::market::ValidateParams(x::market::DefaultParams()).ok());
  EXPECT_EQ(L.Query("/market/nope")["codespace"], "sdk");
  EXPECT_EQ(L.Query("/market/orders/abc")["codespace"], "sdk");
  EXPECT_EQ(L.Query("/market/orders/9")["code"], x::market::kErrOrderNotFound);
}

}  // namespace
}  // namespace depai::test
