// x/market on the module skeleton: corrupt stored records are faults (also through the App:
// FinalizeBlock returns an error instead of recording a tx code), apply does not re-run check,
// the keeper iterators list what they should, and the seeded random-message generator drives
// real traffic through the App.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "client/market_msgs.h"
#include "depai/provider/v1/provider.pb.h"
#include "ledger_fixture.h"
#include "store/cache_store.h"
#include "store/mem_store.h"
#include "store/state_db.h"
#include "x/market/keys.h"
#include "x/market/module.h"

namespace depai::test {
namespace {

namespace mv1 = depai::market::v1;
namespace pv1 = depai::provider::v1;
namespace xm = x::market;

Bytes Addr(const std::string& seed) { return crypto::Sha256(seed).substr(0, 20); }

// A bank that accepts every send and reports a large balance; counts sends.
class LooseBank : public xm::BankKeeper {
 public:
  Status send(x::Context&, std::string_view, std::string_view, const Coins&, bool) const override {
    ++sends;
    return {};
  }
  Result<Amount> balance(const store::KVReader&, std::string_view, std::string_view) const override {
    return Amount::Of(1'000'000'000).value();
  }
  mutable int sends = 0;
};

// Every address is a registered provider with plenty of resources; counts lookups.
class AnyProvider : public xm::ProviderKeeper {
 public:
  Result<std::optional<pv1::Provider>> get(const store::KVReader&, std::string_view addr) const override {
    ++gets;
    pv1::Provider p;
    p.set_owner(crypto::AddressToBech32(addr));
    p.mutable_resources()->set_cpu_millicores(64000);
    p.mutable_resources()->set_memory_mib(1 << 20);
    return std::optional<pv1::Provider>(p);
  }
  Result<std::vector<pv1::AuditedAttributes>> audits(const store::KVReader&, std::string_view) const override {
    return std::vector<pv1::AuditedAttributes>();
  }
  Result<uint32_t> reputation_bps(const store::KVReader&, std::string_view) const override { return uint32_t{10000}; }
  Status add_active_lease(store::KVStore&, std::string_view, int64_t) const override { return {}; }
  mutable int gets = 0;
};

mv1::MsgCreateOrder OrderMsg(const Bytes& owner, int64_t window = 5) {
  mv1::MsgCreateOrder m;
  m.set_owner(crypto::AddressToBech32(owner));
  auto* g = m.add_groups();
  g->set_name("job");
  g->set_count(1);
  g->mutable_units()->set_cpu_millicores(1000);
  m.mutable_max_price_per_block()->set_denom("udpai");
  m.mutable_max_price_per_block()->set_amount("100");
  m.mutable_deposit()->set_denom("udpai");
  m.mutable_deposit()->set_amount("50000");
  m.set_bid_window_blocks(window);
  m.set_manifest_hash(crypto::Sha256("manifest"));
  return m;
}

// A market module over an in-memory store with the fakes above, and a helper to run one message
// through its route (decode + validate, then check on the View, then apply).
struct World {
  LooseBank bank;
  AnyProvider providers;
  xm::Module module{&providers, &bank};
  std::vector<x::MsgRoute> routes = module.routes();
  store::MemStore store;
  int64_t height = 2;
  x::GasMeter gas = x::GasMeter::Infinite();
  x::EventManager events;
  x::BlockHeader header{"test", 2, 0, {}, {}};

  const xm::Keeper& k() const { return module.keeper(); }
  x::Context Ctx() {
    header.height = height;
    return x::Context{&store, &gas, &events, &header, false};
  }
  const x::MsgRoute& Route(const std::string& url) {
    for (const auto& r : routes)
      if (r.type_url == url) return r;
    throw std::runtime_error("no route " + url);
  }
  std::unique_ptr<x::AnyParsed> Decode(const google::protobuf::Any& any) {
    auto p = Route(any.type_url()).decode(any.value());
    if (!p.ok()) throw std::runtime_error(p.error().message);
    return std::move(p).value();
  }
  Status Check(const google::protobuf::Any& any) {
    auto p = Decode(any);
    header.height = height;
    return Route(any.type_url()).check(x::View{store, header, false}, *p);
  }
  Status Apply(const google::protobuf::Any& any) {
    auto p = Decode(any);
    auto ctx = Ctx();
    return Route(any.type_url()).apply(ctx, *p);
  }
  // check then apply, like the tx pipeline.
  Status Deliver(const google::protobuf::Any& any) {
    DEPAI_TRY(Check(any));
    return Apply(any);
  }
};

void ExpectCorrupt(const Status& st) {
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(x::IsFault(st.error())) << st.error().codespace << " " << st.error().message;
  EXPECT_EQ(st.error().code, x::kFaultCorruptRecord) << st.error().message;
}
template <typename T>
void ExpectCorrupt(const Result<T>& r) {
  ExpectCorrupt(r.status());
}

// ---- corrupt records ----------------------------------------------------------------------

TEST(MarketKeeperRecords, CorruptOrderLeaseEscrowAreFaults) {
  World w;
  const Bytes alice = Addr("alice"), prov = Addr("prov");
  ASSERT_TRUE(w.Deliver(client::PackMsgCreateOrder(OrderMsg(alice))).ok());
  ASSERT_TRUE(w.Deliver(client::PackMsgCreateBid(crypto::AddressToBech32(prov), 1, Amount::Of(10).value())).ok());
  ASSERT_TRUE(
      w.Deliver(client::PackMsgCreateLease(crypto::AddressToBech32(alice), 1, crypto::AddressToBech32(prov))).ok());
  ASSERT_TRUE(w.k().order(w.store, 1).ok());
  ASSERT_TRUE(w.k().lease(w.store, 1).value().has_value());
  ASSERT_TRUE(w.k().escrow(w.store, 1).value().has_value());

  // Bytes that are not a protobuf.
  const Bytes garbage = "\xff\xff\xff\xff";
  store::MemStore s1 = w.store;
  s1.set(xm::keys::Order(1), garbage);
  ExpectCorrupt(w.k().order(s1, 1));
  ExpectCorrupt(w.k().for_each_order(s1, [](const xm::OrderRec&) { return true; }));
  ExpectCorrupt(w.k().for_each_order_of(s1, alice, [](const xm::OrderRec&) { return true; }));
  ExpectCorrupt(w.k().check_close_order(s1, xm::CloseOrderParsed{alice, 1}));

  store::MemStore s2 = w.store;
  s2.set(xm::keys::Lease(1), garbage);
  ExpectCorrupt(w.k().lease(s2, 1));
  ExpectCorrupt(w.k().for_each_lease_of(s2, prov, [](const xm::LeaseRec&) { return true; }));
  ExpectCorrupt(w.k().check_withdraw(s2, xm::WithdrawParsed{prov, 1}, 10));

  store::MemStore s3 = w.store;
  s3.set(xm::keys::Escrow(1), garbage);
  ExpectCorrupt(w.k().escrow(s3, 1));
  ExpectCorrupt(w.k().check_invariants_full(s3));
  ExpectCorrupt(w.k().check_withdraw(s3, xm::WithdrawParsed{prov, 1}, 10));

  // A protobuf that parses but whose amount or address does not: also corrupt, never 0 or empty.
  mv1::Escrow e = w.k().escrow(w.store, 1).value()->pb;
  e.set_balance("12abc");
  store::MemStore s4 = w.store;
  w.k().set_escrow(s4, e);
  ExpectCorrupt(w.k().escrow(s4, 1));
  mv1::Lease l = w.k().lease(w.store, 1).value()->pb;
  l.set_provider("not-an-address");
  store::MemStore s5 = w.store;
  w.k().set_lease(s5, l);
  ExpectCorrupt(w.k().lease(s5, 1));
  mv1::Order o = w.k().order(w.store, 1).value()->pb;
  o.set_max_price_per_block("-5");
  store::MemStore s6 = w.store;
  w.k().set_order(s6, o);
  ExpectCorrupt(w.k().order(s6, 1));

  // An index entry without its record, and a malformed index key.
  store::MemStore s7 = w.store;
  s7.set(xm::keys::Open(99), "");
  ExpectCorrupt(w.k().for_each_open_order(s7, [](const xm::OrderRec&) { return true; }));
  store::MemStore s8 = w.store;
  s8.set(std::string(xm::keys::kSchedPrefix) + U64BE(3) + "?", "");  // due at 3, no kind or lease
  x::GasMeter gas = x::GasMeter::Infinite();
  x::BlockHeader h{"test", 5, 0, {}, {}};
  x::Context ctx{&s8, &gas, nullptr, &h, false};
  ExpectCorrupt(w.k().end_block(ctx));
}

// The invariant break itself is a fault too (kFaultInvariant).
TEST(MarketKeeperRecords, InvariantBreakIsAFault) {
  World w;
  ASSERT_TRUE(w.Deliver(client::PackMsgCreateOrder(OrderMsg(Addr("alice")))).ok());
  auto st = w.k().check_invariants_full(w.store);  // LooseBank reports 1e9 held, escrows hold 50000
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().codespace, x::kFaultCodespace);
  EXPECT_EQ(st.error().code, x::kFaultInvariant);
}

// Through the App: a block touching a corrupt order halts (FinalizeBlock returns the fault) and
// records no tx code.
TEST(MarketKeeperRecords, FinalizeBlockOnCorruptOrderIsAFault) {
  const auto dir = std::filesystem::temp_directory_path() / ("depai-test-market-corrupt-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  int64_t height = 0;
  {
    TestLedger L(4, dir.string());
    mv1::MsgCreateOrder m = OrderMsg(L.accounts[0].addr);
    auto r = L.Block({L.SignAny(0, {client::PackMsgCreateOrder(m)})});
    ASSERT_EQ(r.at(0).code, 0u) << r.at(0).log;
    height = L.app->last_height();
  }
  {
    auto db = store::StateDB::Open(dir.string());
    ASSERT_TRUE(db.ok()) << db.error().message;
    store::CacheStore block(&(*db)->committed());
    block.set(xm::keys::Order(1), "\xff\xff\xff\xff");
    (*db)->prepare(block);
    ASSERT_TRUE((*db)->commit(block, height).ok());
  }
  {
    TestLedger L(4, dir.string());  // start-up invariants read escrows and bids: still fine
    L.SyncSequences();
    app::RequestFinalizeBlock req;
    req.txs = {L.SignAny(0, {client::PackMsgCloseOrder(L.accounts[0].bech32, 1)})};
    req.height = L.app->last_height() + 1;
    req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
    auto r = L.app->FinalizeBlock(req);
    ASSERT_FALSE(r.ok()) << "the block was accepted with tx code " << r->tx_results.at(0).code;
    EXPECT_TRUE(x::IsFault(r.error())) << r.error().message;
    EXPECT_EQ(r.error().code, x::kFaultCorruptRecord) << r.error().message;
    // Queries report the fault too, never an empty order.
    EXPECT_EQ(L.Query("/market/orders/1")["codespace"], x::kFaultCodespace);
  }
  std::filesystem::remove_all(dir);
}

// ---- apply does not re-run check ----------------------------------------------------------

TEST(MarketKeeperPhases, ApplyDoesNotRerunCheck) {
  World w;
  const Bytes alice = Addr("alice"), prov = Addr("prov");
  // A bid window above max_bid_window: check refuses; apply alone (what the pipeline calls after
  // a passing check) writes without checking again.
  auto wide = client::PackMsgCreateOrder(OrderMsg(alice, 5000));
  auto st = w.Check(wide);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, xm::kErrInvalidOrder);
  ASSERT_TRUE(w.Apply(wide).ok());
  ASSERT_TRUE(w.k().order(w.store, 1).value().has_value());
  EXPECT_EQ(w.k().order(w.store, 1).value()->pb.bid_window_blocks(), 5000);

  // check_create_bid looks the provider up once (eligibility); create_bid does not look again.
  auto bid = client::PackMsgCreateBid(crypto::AddressToBech32(prov), 1, Amount::Of(10).value());
  w.providers.gets = 0;
  ASSERT_TRUE(w.Check(bid).ok());
  EXPECT_EQ(w.providers.gets, 1);
  ASSERT_TRUE(w.Apply(bid).ok());
  EXPECT_EQ(w.providers.gets, 1);
  // A second bid from the same provider: check says duplicate; apply is never reached in the
  // pipeline, and the route's apply has no check of its own.
  st = w.Check(bid);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, xm::kErrDuplicateBid);

  // The write phase reports a record its check saw but that vanished as an internal fault.
  auto ctx = w.Ctx();
  auto gone = w.k().close_order(ctx, xm::CloseOrderParsed{alice, 77});
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(x::IsFault(gone.error()));
  EXPECT_EQ(gone.error().code, x::kFaultInternal);
}

TEST(MarketKeeperPhases, ValidateParsesOnce) {
  World w;
  // Stateless errors come from decode (validate), before check: bad address, zero id, bad denom,
  // the reason no sender may give.
  auto bad = [&](const google::protobuf::Any& a) { return w.Route(a.type_url()).decode(a.value()); };
  EXPECT_EQ(bad(client::PackMsgCloseOrder("nope", 1)).error().code, x::kErrInvalidAddress);
  EXPECT_EQ(bad(client::PackMsgCloseOrder(crypto::AddressToBech32(Addr("a")), 0)).error().code, x::kErrInvalidRequest);
  mv1::MsgDepositEscrow d;
  d.set_depositor(crypto::AddressToBech32(Addr("a")));
  d.set_order_id(1);
  d.mutable_amount()->set_denom("ufoo");
  d.mutable_amount()->set_amount("5");
  EXPECT_EQ(bad(client::PackAny(d)).error().code, x::kErrInvalidCoins);
  auto r = bad(client::PackMsgCloseLease(crypto::AddressToBech32(Addr("a")), 1, mv1::CLOSE_REASON_INSUFFICIENT_FUNDS));
  EXPECT_EQ(r.error().code, xm::kErrInvalidReason);
  // The signer is the parsed owner/provider/sender/depositor.
  auto ok = bad(client::PackMsgCreateBid(crypto::AddressToBech32(Addr("p")), 3, Amount::Of(7).value()));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->signer(), Addr("p"));
}

// ---- iterators ----------------------------------------------------------------------------

TEST(MarketKeeperIterators, ListWhatTheyShould) {
  World w;
  const Bytes a = Addr("owner-a"), b = Addr("owner-b"), p1 = Addr("prov-1"), p2 = Addr("prov-2");
  ASSERT_TRUE(w.Deliver(client::PackMsgCreateOrder(OrderMsg(a))).ok());  // 1
  ASSERT_TRUE(w.Deliver(client::PackMsgCreateOrder(OrderMsg(a))).ok());  // 2
  ASSERT_TRUE(w.Deliver(client::PackMsgCreateOrder(OrderMsg(b))).ok());  // 3
  auto bid = [&](const Bytes& p, uint64_t order, uint64_t price) {
    return w.Deliver(client::PackMsgCreateBid(crypto::AddressToBech32(p), order, Amount::Of(price).value()));
  };
  ASSERT_TRUE(bid(p1, 1, 20).ok());
  ASSERT_TRUE(bid(p2, 1, 30).ok());
  ASSERT_TRUE(bid(p1, 2, 40).ok());
  ASSERT_TRUE(w.Deliver(client::PackMsgCreateLease(crypto::AddressToBech32(a), 1, crypto::AddressToBech32(p2)))
                  .ok());  // lease 1

  auto ids = [](auto walk) {
    std::vector<uint64_t> out;
    EXPECT_TRUE(walk([&](const auto& r) {
                  out.push_back(r.pb.id());
                  return true;
                }).ok());
    return out;
  };
  const auto& k = w.k();
  const auto& s = w.store;
  using V = std::vector<uint64_t>;
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_order(s, fn); }), (V{1, 2, 3}));
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_open_order(s, fn); }), (V{2, 3}));
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_order_of(s, a, fn); }), (V{1, 2}));
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_order_of(s, b, fn); }), (V{3}));
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_order_of(s, p1, fn); }), V{});
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_lease(s, fn); }), (V{1}));
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_lease_of(s, p2, fn); }), (V{1}));
  EXPECT_EQ(ids([&](auto fn) { return k.for_each_lease_of(s, p1, fn); }), V{});

  // Bids of order 1: both, in provider-address order, the winner WON and the other LOST.
  std::map<Bytes, mv1::BidState> of1;
  ASSERT_TRUE(k.for_each_bid_of(s, 1, [&](const xm::BidRec& r) {
                 EXPECT_EQ(r.pb.order_id(), 1u);
                 of1[r.provider] = r.pb.state();
                 return true;
               }).ok());
  EXPECT_EQ(of1.size(), 2u);
  EXPECT_EQ(of1[p2], mv1::BID_STATE_WON);
  EXPECT_EQ(of1[p1], mv1::BID_STATE_LOST);
  size_t all_bids = 0, escrows = 0;
  ASSERT_TRUE(k.for_each_bid(s, [&](const xm::BidRec&) { return ++all_bids, true; }).ok());
  ASSERT_TRUE(k.for_each_escrow(s, [&](const xm::EscrowRec& e) {
                 ++escrows;
                 EXPECT_EQ(e.acc.balance.raw(), 50000u);
                 return true;
               }).ok());
  EXPECT_EQ(all_bids, 3u);
  EXPECT_EQ(escrows, 3u);
  // Returning false stops the walk.
  size_t seen = 0;
  ASSERT_TRUE(k.for_each_order(s, [&](const xm::OrderRec&) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2u);
  // The parsed fields match the proto.
  auto l = k.lease(s, 1).value();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->owner, a);
  EXPECT_EQ(l->provider, p2);
  EXPECT_EQ(l->rate.raw(), 30u);
}

// ---- random messages through the App ------------------------------------------------------

struct SimRun {
  std::vector<Bytes> hashes;
  std::map<std::string, std::pair<int, int>> by_type;  // type -> (ok, failed)
};

SimRun RunSim(uint64_t seed, int blocks) {
  TestLedger L(6);
  // Accounts 4 and 5 register as providers, so some bids succeed.
  std::vector<Bytes> regs;
  for (size_t who : {4, 5}) {
    pv1::MsgRegisterProvider m;
    m.set_owner(L.accounts[who].bech32);
    m.set_endpoint("https://p" + std::to_string(who) + ".example:8443");
    m.set_region("eu-west");
    m.mutable_resources()->set_cpu_millicores(64000);
    m.mutable_resources()->set_memory_mib(1 << 20);
    m.mutable_collateral()->set_denom("udpai");
    m.mutable_collateral()->set_amount("1000000");
    regs.push_back(L.SignAny(who, {client::PackAny(m)}));
  }
  for (const auto& r : L.Block(regs)) EXPECT_EQ(r.code, 0u) << r.log;
  std::vector<x::SimAccount> accounts;
  for (const auto& a : L.accounts) accounts.push_back(x::SimAccount{a.addr, a.bech32});
  xm::Module gen(nullptr, nullptr);  // random_msg reads state through the keeper only
  x::SimRng rng(seed);
  SimRun run;
  for (int b = 0; b < blocks; ++b) {
    x::SimState sim{L.app->committed_state(), accounts, rng, L.app->last_height() + 1};
    std::vector<Bytes> txs;
    std::vector<std::string> types;
    std::set<size_t> signed_by;  // one tx per signer per block keeps sequences simple
    for (int i = 0; i < 8; ++i) {
      auto m = gen.random_msg(sim);
      if (!m || !signed_by.insert(m->signer).second) continue;
      txs.push_back(L.SignAny(m->signer, {m->msg}));
      types.push_back(m->msg.type_url());
    }
    auto res = L.Block(txs);
    for (size_t i = 0; i < res.size(); ++i) {
      auto& c = run.by_type[types[i]];
      (res[i].code == 0 ? c.first : c.second)++;
    }
    run.hashes.push_back(L.last_app_hash);
    auto inv = L.app->CheckInvariants();
    EXPECT_TRUE(inv.ok()) << "block " << b << ": " << inv.error().message;
  }
  return run;
}

TEST(MarketSim, RandomMessagesDriveTheMarket) {
  SimRun a = RunSim(7, 40), b = RunSim(7, 40);
  EXPECT_EQ(a.hashes, b.hashes);  // seeded: identical runs
  EXPECT_EQ(a.by_type, b.by_type);
  // Real traffic: orders, bids and leases succeed; some messages fail on purpose.
  EXPECT_GT(a.by_type[xm::kTypeCreateOrder].first, 0);
  EXPECT_GT(a.by_type[xm::kTypeCreateOrder].second, 0);
  EXPECT_GT(a.by_type[xm::kTypeCreateBid].first, 0);
  EXPECT_GT(a.by_type[xm::kTypeCreateBid].second, 0);
  EXPECT_GT(a.by_type[xm::kTypeCreateLease].first, 0);
  int ok = 0, failed = 0;
  for (const auto& [t, c] : a.by_type) ok += c.first, failed += c.second;
  EXPECT_GT(ok, 20);
  EXPECT_GT(failed, 10);
  SimRun c = RunSim(8, 10);
  EXPECT_NE(a.hashes.at(9), c.hashes.at(9));
}

}  // namespace
}  // namespace depai::test
