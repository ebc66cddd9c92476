// x/provider keeper on a bare store and through the App: a stored record that does not decode is
// a fault (never an absent provider), a broken bond invariant is a fault, and the seeded message
// generator produces messages every route decodes, which run on a ledger deterministically.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "client/market_msgs.h"
#include "client/provider_msgs.h"
#include "ledger_fixture.h"
#include "store/mem_store.h"
#include "store/state_db.h"
#include "x/provider/module.h"
#include "x/types/codec.h"
#include "x/types/errors.h"

namespace depai::test {
namespace {

namespace pv = depai::provider::v1;
namespace xp = depai::x::provider;

const Bytes kOwner(20, 'o');

std::string ProviderKey(const Bytes& owner) { return "provider/p/" + owner; }

pv::Provider StoredProvider(const std::string& collateral) {
  pv::Provider p;
  p.set_owner(crypto::AddressToBech32(kOwner));
  p.set_endpoint("https://p.example.com");
  p.set_collateral(collateral);
  p.set_registered_height(1);
  p.set_heartbeat_windows(1);
  p.set_last_heartbeat_height(1);
  return p;
}

void ExpectCorrupt(const Status& st) {
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().codespace, x::kFaultCodespace) << st.error().message;
  EXPECT_EQ(st.error().code, x::kFaultCorruptRecord) << st.error().message;
}

TEST(ProviderKeeper, CorruptStoredProviderIsAFaultNotAbsent) {
  store::MemStore s;
  xp::Keeper k;
  s.set(ProviderKey(kOwner), std::string("\xff\xff\xff", 3));  // not a protobuf message
  ExpectCorrupt(k.get(s, kOwner).status());
  ExpectCorrupt(k.for_each_provider(s, [](std::string_view, const xp::Provider&) { return true; }));
  ExpectCorrupt(k.add_active_lease(s, kOwner, 1));
  ExpectCorrupt(k.check_bond_full(s));
  ExpectCorrupt(k.check_heartbeat(s, xp::HeartbeatParsed{kOwner, "x"}, 5));

  // A record that decodes but holds a malformed collateral amount is corrupt too.
  s.set(ProviderKey(kOwner), x::DeterministicSerialize(StoredProvider("12abc")));
  ExpectCorrupt(k.get(s, kOwner).status());

  // Params out of range (a zero heartbeat window would divide by zero) are corrupt.
  pv::Params bad = xp::DefaultParams();
  bad.set_heartbeat_window(0);
  k.set_params(s, bad);
  ExpectCorrupt(k.params(s).status());
}

TEST(ProviderKeeper, CorruptAttestationAndUnbondingAreFaults) {
  store::MemStore s;
  xp::Keeper k;
  const Bytes auditor(20, 'a');
  s.set("provider/audit/" + kOwner + auditor, "\x0a\xff");
  ExpectCorrupt(k.audit(s, kOwner, auditor).status());
  ExpectCorrupt(k.audits(s, kOwner).status());
  ExpectCorrupt(k.for_each_audit(s, [](const xp::AuditedAttributes&) { return true; }));
  s.del("provider/audit/" + kOwner + auditor);

  ASSERT_TRUE(k.add_unbonding(s, kOwner, Amount::Of(5).value(), 10).ok());
  std::string key = "provider/unbond/";
  PutU64BE(key, 10);
  key += kOwner;
  pv::UnbondingEntry e;
  e.set_amount("-1");
  s.set(key, x::DeterministicSerialize(e));
  ExpectCorrupt(k.for_each_unbonding(s, [](std::string_view, const xp::UnbondingEntry&) { return true; }));
  ExpectCorrupt(k.add_unbonding(s, kOwner, Amount::Of(5).value(), 10));
}

TEST(ProviderKeeper, BondInvariantBreakIsAFault) {
  store::MemStore s;
  xp::Keeper k;  // no bank: the bond balance reads as 0
  k.set(s, kOwner, StoredProvider("5"));
  auto st = k.check_bond_full(s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().codespace, x::kFaultCodespace);
  EXPECT_EQ(st.error().code, x::kFaultInvariant);
  EXPECT_NE(st.error().message.find("bond invariant"), std::string::npos) << st.error().message;
}

// A provider record that the storage returns but that does not decode, read by a heartbeat in a
// block: FinalizeBlock returns the fault (the node halts); it is never the tx's result code.
TEST(ProviderKeeper, CorruptRecordInABlockHaltsTheNode) {
  TestLedger L;
  const auto& owner = L.accounts[0];
  client::ProviderDetails d;
  d.set_endpoint("https://p.example.com");
  auto reg = L.Block({L.SignAny(0, {client::PackMsgRegisterProvider(owner.bech32, d, Amount::Of(2'000'000).value())})});
  ASSERT_EQ(reg[0].code, 0u) << reg[0].log;
  // Plant the bad bytes in the committed state's read cache (what a corrupt disk would return).
  auto* reader = dynamic_cast<store::RocksReader*>(const_cast<store::KVReader*>(&L.app->committed_state()));
  ASSERT_NE(reader, nullptr);
  reader->update_cache(ProviderKey(owner.addr), std::string("\xff\xff\xff", 3));

  app::RequestFinalizeBlock req;
  req.txs = {L.SignAny(0, {client::PackMsgProviderHeartbeat(owner.bech32)})};
  req.height = L.app->last_height() + 1;
  req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
  auto r = L.app->FinalizeBlock(req);
  ASSERT_FALSE(r.ok()) << "a corrupt record must halt the block, got tx code " << r->tx_results[0].code;
  EXPECT_EQ(r.error().codespace, x::kFaultCodespace) << r.error().message;
  EXPECT_EQ(r.error().code, x::kFaultCorruptRecord) << r.error().message;
  EXPECT_NE(r.error().message.find("provider"), std::string::npos) << r.error().message;
}

// The same through x/market's view of providers (the App's adapter): a bid against a provider
// whose record does not decode halts the block instead of reading as "not registered".
TEST(ProviderKeeper, CorruptRecordReadByMarketHaltsTheNode) {
  TestLedger L;
  client::ProviderDetails d;
  d.set_endpoint("https://p.example.com");
  d.mutable_resources()->set_cpu_millicores(16000);
  d.mutable_resources()->set_memory_mib(65536);
  ASSERT_EQ(L.Block({L.SignAny(
                1, {client::PackMsgRegisterProvider(L.accounts[1].bech32, d, Amount::Of(2'000'000).value())})})[0]
                .code,
            0u);
  depai::market::v1::MsgCreateOrder o;
  o.set_owner(L.accounts[0].bech32);
  auto* g = o.add_groups();
  g->set_name("job");
  g->set_count(1);
  g->mutable_units()->set_cpu_millicores(2000);
  g->mutable_units()->set_memory_mib(4096);
  o.mutable_max_price_per_block()->set_denom("udpai");
  o.mutable_max_price_per_block()->set_amount("100");
  o.mutable_deposit()->set_denom("udpai");
  o.mutable_deposit()->set_amount("1000000");
  o.set_bid_window_blocks(10);
  o.set_manifest_hash(crypto::Sha256("manifest"));
  auto created = L.Block({L.SignAny(0, {client::PackMsgCreateOrder(o)})});
  ASSERT_EQ(created[0].code, 0u) << created[0].log;
  auto orders = L.Query("/market/orders")["orders"];
  ASSERT_FALSE(orders.empty());
  const uint64_t oid = std::stoull(orders.back()["id"].get<std::string>());

  auto* reader = dynamic_cast<store::RocksReader*>(const_cast<store::KVReader*>(&L.app->committed_state()));
  ASSERT_NE(reader, nullptr);
  reader->update_cache(ProviderKey(L.accounts[1].addr), std::string("\xff\xff\xff", 3));
  app::RequestFinalizeBlock req;
  req.txs = {L.SignAny(1, {client::PackMsgCreateBid(L.accounts[1].bech32, oid, Amount::Of(80).value())})};
  req.height = L.app->last_height() + 1;
  req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
  auto r = L.app->FinalizeBlock(req);
  ASSERT_FALSE(r.ok()) << "a corrupt record must halt the block, got tx code " << r->tx_results[0].code << ": "
                       << r->tx_results[0].log;
  EXPECT_EQ(r.error().codespace, x::kFaultCodespace) << r.error().message;
  EXPECT_EQ(r.error().code, x::kFaultCorruptRecord) << r.error().message;
}

std::vector<x::SimAccount> SimAccounts(const TestLedger& L) {
  std::vector<x::SimAccount> out;
  for (const auto& a : L.accounts) out.push_back(x::SimAccount{a.addr, a.bech32});
  return out;
}

struct SimRun {
  std::vector<Bytes> hashes;
  std::map<std::string, std::set<uint32_t>> codes;  // per message type: the tx codes seen
  std::map<std::string, size_t> valid;              // per message type: messages that validate
};

// Blocks of generated provider messages on a fresh ledger.
SimRun RunSim(uint64_t seed, int blocks) {
  TestLedger L(6);
  xp::Module gen;  // the generator reads state through its own keeper; the App executes
  std::map<std::string, x::MsgRoute> routes;
  for (auto& r : gen.routes()) routes.emplace(r.type_url, std::move(r));
  const auto accounts = SimAccounts(L);
  x::SimRng rng(seed);
  SimRun run;
  for (int b = 0; b < blocks; ++b) {
    x::SimState sim{L.app->committed_state(), accounts, rng, L.app->last_height() + 1};
    std::vector<Bytes> txs;
    std::vector<std::string> types;
    for (int i = 0; i < 8; ++i) {
      auto m = gen.random_msg(sim);
      EXPECT_TRUE(m.has_value());
      if (!m) continue;
      auto it = routes.find(m->msg.type_url());
      EXPECT_NE(it, routes.end()) << m->msg.type_url();
      if (it == routes.end()) continue;
      auto parsed = it->second.decode(m->msg.value());
      if (parsed.ok()) {
        EXPECT_EQ(parsed.value()->signer(), accounts[m->signer].addr) << m->msg.type_url();
        run.valid[m->msg.type_url()]++;
      } else {
        // Invalid on purpose (bad attributes, regions, ...), but never undecodable.
        const auto& e = parsed.error();
        EXPECT_FALSE(e.codespace == x::kRootCodespace && e.code == x::kErrTxDecode) << e.message;
      }
      txs.push_back(L.SignAny(m->signer, {m->msg}));
      L.accounts[m->signer].sequence++;
      types.push_back(m->msg.type_url());
    }
    auto res = L.Block(txs);
    for (size_t i = 0; i < res.size(); ++i) run.codes[types[i]].insert(res[i].code);
    run.hashes.push_back(L.AppHash());
    EXPECT_TRUE(L.app->CheckInvariants().ok());
  }
  return run;
}

TEST(ProviderSim, GeneratedMessagesDecodeForEveryRouteAndRunDeterministically) {
  const SimRun a = RunSim(11, 30);
  for (const char* t :
       {xp::kTypeRegister, xp::kTypeUpdate, xp::kTypeDeregister, xp::kTypeSign, xp::kTypeDelete, xp::kTypeHeartbeat}) {
    EXPECT_GT(a.valid.count(t) ? a.valid.at(t) : 0u, 0u) << t << " never generated a valid message";
    ASSERT_TRUE(a.codes.count(t)) << t;
    EXPECT_TRUE(a.codes.at(t).count(0)) << t << " never succeeded";
    EXPECT_GE(a.codes.at(t).size(), 2u) << t << " never failed";
  }
  const SimRun b = RunSim(11, 30);
  EXPECT_EQ(a.hashes, b.hashes);
}

}  // namespace
}  // namespace depai::test
