// x/provider through the real App: registration, collateral bonding and unbonding, auditor
// attestations, heartbeats, genesis round trip and the bond invariant.
#include <gtest/gtest.h>

#include "client/provider_msgs.h"
#include "crypto/hash.h"
#include "ledger_fixture.h"
#include "x/provider/module.h"
#include "x/types/codec.h"

namespace depai::test {
namespace {

namespace pv = depai::provider::v1;
using nlohmann::json;

constexpr uint64_t kFee = 10;
constexpr uint64_t kCollateral = 5'000'000;

Amount A(uint64_t v) { return Amount::Of(v).value(); }

std::string BondBech32() { return crypto::AddressToBech32(x::provider::BondAddress()); }

client::ProviderDetails Details() {
  client::ProviderDetails d;
  d.set_endpoint("https://gpu1.example.com:8443");
  d.mutable_location()->set_lat_e6(52'520'000);
  d.mutable_location()->set_lon_e6(13'405'000);
  d.mutable_location()->set_cell("881f1d4a7ffffff");
  d.set_region("eu-west");
  auto* a = d.add_attributes();  // deliberately unsorted: the chain stores them sorted
  a->set_key("tier");
  a->set_value("gold");
  a = d.add_attributes();
  a->set_key("country");
  a->set_value("de");
  auto* r = d.mutable_resources();
  r->set_cpu_millicores(8000);
  r->set_memory_mib(32768);
  r->set_bandwidth_mbps(1000);
  auto* g = r->add_gpus();
  g->set_vendor("nvidia");
  g->set_model("h100");
  g->set_count(2);
  g->set_vram_mib(81920);
  g->set_interface("sxm");
  auto* s = r->add_storage();
  s->set_storage_class("ssd");
  s->set_size_mib(1048576);
  return d;
}

// A block with its end-block events (the fixture's Block keeps only the tx results).
app::ResponseFinalizeBlock FullBlock(TestLedger& L, const std::vector<Bytes>& txs) {
  app::RequestFinalizeBlock req;
  req.txs = txs;
  req.height = L.app->last_height() + 1;
  req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
  auto r = L.app->FinalizeBlock(req);
  if (!r.ok()) throw std::runtime_error("FinalizeBlock: " + r.error().message);
  if (!L.app->Commit().ok()) throw std::runtime_error("Commit failed");
  L.SyncSequences();
  return std::move(r).value();
}

// Blocks until the next block to be produced has height `h`.
void AdvanceTo(TestLedger& L, int64_t h) {
  while (L.app->last_height() + 1 < h) L.Block({});
}

std::unique_ptr<TestLedger> LedgerWith(const json& provider_section, const json& extra_balances = json::array()) {
  auto L = std::make_unique<TestLedger>(4, "", false);
  auto g = L->Genesis();
  g["provider"] = provider_section;
  for (const auto& b : extra_balances) g["bank"]["balances"].push_back(b);
  auto req = L->InitRequest();
  req.app_state_bytes = g.dump();
  auto ic = L->app->InitChain(req);
  if (!ic.ok()) throw std::runtime_error(ic.error().message);
  L->Block({});
  return L;
}

const x::Event* FindEvent(const std::vector<x::Event>& evs, const std::string& type) {
  for (const auto& e : evs)
    if (e.type == type) return &e;
  return nullptr;
}
std::string Attr(const x::Event& e, const std::string& key) {
  for (const auto& a : e.attributes)
    if (a.key == key) return a.value;
  return "";
}

app::ResponseCheckTx CheckTx(TestLedger& L, const Bytes& tx) {
  app::RequestCheckTx r;
  r.tx = tx;
  return L.app->CheckTx(r);
}

Bytes Register(TestLedger& L, size_t who, const client::ProviderDetails& d = Details(),
               uint64_t collateral = kCollateral) {
  return L.SignAny(who, {client::PackMsgRegisterProvider(L.accounts[who].bech32, d, A(collateral))});
}

json Show(TestLedger& L, size_t who) { return L.Query("/provider/providers/" + L.accounts[who].bech32); }

TEST(Provider, RegisterBondsCollateralAndStoresSortedDetails) {
  TestLedger L;
  const auto& owner = L.accounts[0].bech32;
  auto res = L.Block({Register(L, 0)});
  ASSERT_EQ(res[0].code, 0u) << res[0].log;
  const int64_t h = L.app->last_height();
  EXPECT_EQ(L.Balance(owner), TestLedger::kInitialBalance - kFee - kCollateral);
  EXPECT_EQ(L.Balance(BondBech32()), kCollateral);

  const auto* ev = FindEvent(res[0].events, "provider.registered");
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(Attr(*ev, "owner"), owner);
  EXPECT_EQ(Attr(*ev, "amount"), "5000000udpai");

  auto q = Show(L, 0);
  const auto& p = q["provider"];
  EXPECT_EQ(p["owner"], owner);
  EXPECT_EQ(p["endpoint"], "https://gpu1.example.com:8443");
  EXPECT_EQ(p["location"]["lat_e6"], "52520000");
  EXPECT_EQ(p["location"]["lon_e6"], "13405000");
  EXPECT_EQ(p["region"], "eu-west");
  ASSERT_EQ(p["attributes"].size(), 2u);
  EXPECT_EQ(p["attributes"][0]["key"], "country");
  EXPECT_EQ(p["attributes"][1]["key"], "tier");
  EXPECT_EQ(p["resources"]["gpus"][0]["model"], "h100");
  EXPECT_EQ(p["resources"]["storage"][0]["size_mib"], "1048576");
  EXPECT_EQ(p["collateral"], "5000000");
  EXPECT_EQ(p["registered_height"], std::to_string(h));
  EXPECT_EQ(p["heartbeat_windows"], "1");  // registering counts as the first heartbeat
  EXPECT_EQ(q["uptime_bps"], 10000);
  EXPECT_EQ(q["height"], std::to_string(h));

  auto list = L.Query("/provider/providers");
  ASSERT_EQ(list["providers"].size(), 1u);
  EXPECT_EQ(list["providers"][0]["owner"], owner);
  EXPECT_TRUE(L.app->CheckInvariants().ok());

  auto again = L.Block({Register(L, 0)});
  EXPECT_EQ(again[0].codespace, "provider");
  EXPECT_EQ(again[0].code, x::provider::kErrAlreadyRegistered);
  EXPECT_EQ(L.Balance(BondBech32()), kCollateral);
}

TEST(Provider, CollateralBelowMinimumIsRejectedWithoutStateChange) {
  TestLedger L;
  const auto& owner = L.accounts[0].bech32;
  auto chk = CheckTx(L, Register(L, 0, Details(), 999'999));
  EXPECT_EQ(chk.codespace, "provider");
  EXPECT_EQ(chk.code, x::provider::kErrCollateralTooLow);
  EXPECT_NE(chk.log.find("below the minimum 1000000udpai"), std::string::npos) << chk.log;

  auto res = L.Block({Register(L, 0, Details(), 999'999)});
  EXPECT_EQ(res[0].code, x::provider::kErrCollateralTooLow);
  EXPECT_EQ(L.Balance(owner), TestLedger::kInitialBalance - kFee);  // only the fee
  EXPECT_EQ(L.Balance(BondBech32()), 0u);
  EXPECT_EQ(Show(L, 0)["code"], x::provider::kErrNotFound);

  // Exactly the minimum is accepted.
  res = L.Block({Register(L, 0, Details(), 1'000'000)});
  EXPECT_EQ(res[0].code, 0u) << res[0].log;
}

TEST(Provider, InsufficientFundsForCollateral) {
  TestLedger L;
  auto res = L.Block({Register(L, 0, Details(), TestLedger::kInitialBalance)});  // fee + collateral > balance
  EXPECT_EQ(res[0].codespace, "sdk");
  EXPECT_EQ(res[0].code, x::kErrInsufficientFunds);
  EXPECT_EQ(L.Balance(BondBech32()), 0u);
}

TEST(Provider, BadInputsAreRejectedWithStableCodes) {
  TestLedger L;
  using Mut = std::function<void(client::ProviderDetails&)>;
  struct Case {
    const char* name;
    Mut mut;
    uint32_t code;
    const char* field;  // the message must name it
  };
  const std::vector<Case> cases = {
      {"ftp endpoint", [](auto& d) { d.set_endpoint("ftp://x.example"); }, 2, "endpoint"},
      {"no host", [](auto& d) { d.set_endpoint("http://"); }, 2, "endpoint"},
      {"endpoint too long", [](auto& d) { d.set_endpoint("https://" + std::string(250, 'a')); }, 2, "endpoint"},
      {"endpoint with space", [](auto& d) { d.set_endpoint("https://a b"); }, 2, "endpoint"},
      {"lat", [](auto& d) { d.mutable_location()->set_lat_e6(90'000'001); }, 3, "lat_e6"},
      {"lon", [](auto& d) { d.mutable_location()->set_lon_e6(-180'000'001); }, 3, "lon_e6"},
      {"region", [](auto& d) { d.set_region("EU_WEST"); }, 4, "region"},
      {"attr key", [](auto& d) { d.mutable_attributes(0)->set_key("Tier"); }, 5, "key"},
      {"attr dup", [](auto& d) { d.mutable_attributes(1)->set_key("tier"); }, 5, "more than once"},
      {"attr value", [](auto& d) { d.mutable_attributes(0)->set_value(std::string("a\x01", 2)); }, 5, "value"},
      {"attr count",
       [](auto& d) {
         for (int i = 0; i < 31; ++i) {
           auto* a = d.add_attributes();
           a->set_key("k" + std::to_string(i));
         }
       },
       5, "at most 32"},
      {"gpu count", [](auto& d) { d.mutable_resources()->mutable_gpus(0)->set_count(0); }, 6, "gpus.count"},
      {"too many gpus",
       [](auto& d) {
         for (int i = 0; i < 8; ++i) *d.mutable_resources()->add_gpus() = d.resources().gpus(0);
       },
       6, "resources.gpus"},
      {"storage size", [](auto& d) { d.mutable_resources()->mutable_storage(0)->set_size_mib(0); }, 6, "size_mib"},
      {"storage class", [](auto& d) { d.mutable_resources()->mutable_storage(0)->set_storage_class(""); }, 6,
       "storage_class"},
  };
  const Bytes committed_before = L.AppHash();
  for (const auto& c : cases) {
    auto d = Details();
    c.mut(d);
    auto r = CheckTx(L, Register(L, 0, d));
    EXPECT_EQ(r.codespace, "provider") << c.name;
    EXPECT_EQ(r.code, c.code) << c.name << ": " << r.log;
    EXPECT_NE(r.log.find(c.field), std::string::npos) << c.name << ": " << r.log;
  }
  // Collateral: wrong denom and zero.
  pv::MsgRegisterProvider m;
  m.set_owner(L.accounts[0].bech32);
  auto d = Details();
  m.set_endpoint(d.endpoint());
  m.mutable_collateral()->set_denom("ucredit");
  m.mutable_collateral()->set_amount("5000000");
  google::protobuf::Any any;
  any.set_type_url("/depai.provider.v1.MsgRegisterProvider");
  any.set_value(x::DeterministicSerialize(m));
  auto r = CheckTx(L, L.SignAny(0, {any}));
  EXPECT_EQ(r.code, x::provider::kErrInvalidCollateral) << r.log;
  EXPECT_NE(r.log.find("collateral denom must be udpai"), std::string::npos) << r.log;
  m.mutable_collateral()->set_denom("udpai");
  m.mutable_collateral()->set_amount("0");
  any.set_value(x::DeterministicSerialize(m));
  r = CheckTx(L, L.SignAny(0, {any}));
  EXPECT_EQ(r.code, x::provider::kErrInvalidCollateral) << r.log;
  // A bad owner address is the root invalid-address error.
  m.set_owner("depai1notanaddress");
  m.mutable_collateral()->set_amount("5000000");
  any.set_value(x::DeterministicSerialize(m));
  r = CheckTx(L, L.SignAny(0, {any}));
  EXPECT_EQ(r.codespace, "sdk");
  EXPECT_EQ(r.code, x::kErrInvalidAddress);
  // Registering someone else's address: the signer does not match.
  r = CheckTx(L, L.SignAny(1, {client::PackMsgRegisterProvider(L.accounts[0].bech32, Details(), A(kCollateral))}));
  EXPECT_EQ(r.code, x::kErrWrongSigner);

  // In a block a tx failing the stateless checks changes nothing at all (not even the fee).
  auto bad = Details();
  bad.set_region("Bad Region");
  auto res = L.Block({Register(L, 0, bad)});
  EXPECT_EQ(res[0].code, x::provider::kErrInvalidRegion);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), TestLedger::kInitialBalance);
  EXPECT_EQ(L.Query("/provider/providers")["providers"].size(), 0u);
  EXPECT_EQ(committed_before, L.AppHash());
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Provider, UpdateReplacesDetailsAndBondsMore) {
  TestLedger L;
  auto upd0 = L.Block(
      {L.SignAny(0, {client::PackMsgUpdateProvider(L.accounts[0].bech32, Details(), A(0))})});  // not registered
  EXPECT_EQ(upd0[0].code, x::provider::kErrNotFound);
  ASSERT_EQ(L.Block({Register(L, 0)})[0].code, 0u);
  const auto reg_height = Show(L, 0)["provider"]["registered_height"];

  auto d = Details();
  d.set_endpoint("http://10.0.0.7:8080");
  d.set_region("us-east");
  d.clear_attributes();
  d.mutable_resources()->clear_gpus();
  auto res = L.Block({L.SignAny(0, {client::PackMsgUpdateProvider(L.accounts[0].bech32, d, A(2'000'000))})});
  ASSERT_EQ(res[0].code, 0u) << res[0].log;
  ASSERT_NE(FindEvent(res[0].events, "provider.updated"), nullptr);
  auto p = Show(L, 0)["provider"];
  EXPECT_EQ(p["endpoint"], "http://10.0.0.7:8080");
  EXPECT_EQ(p["region"], "us-east");
  EXPECT_TRUE(p["attributes"].empty());
  EXPECT_TRUE(p["resources"]["gpus"].empty());
  EXPECT_EQ(p["collateral"], "7000000");
  EXPECT_EQ(p["registered_height"], reg_height);
  EXPECT_EQ(L.Balance(BondBech32()), 7'000'000u);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), TestLedger::kInitialBalance - 3 * kFee - 7'000'000);

  // An update without collateral moves no money; a bad collateral_add denom is rejected.
  res = L.Block({L.SignAny(0, {client::PackMsgUpdateProvider(L.accounts[0].bech32, d, A(0))})});
  ASSERT_EQ(res[0].code, 0u) << res[0].log;
  EXPECT_EQ(L.Balance(BondBech32()), 7'000'000u);
  pv::MsgUpdateProvider m;
  m.set_owner(L.accounts[0].bech32);
  m.set_endpoint(d.endpoint());
  m.mutable_collateral_add()->set_denom("ucredit");
  m.mutable_collateral_add()->set_amount("1");
  google::protobuf::Any any;
  any.set_type_url("/depai.provider.v1.MsgUpdateProvider");
  any.set_value(x::DeterministicSerialize(m));
  auto r = CheckTx(L, L.SignAny(0, {any}));
  EXPECT_EQ(r.code, x::provider::kErrInvalidCollateral) << r.log;
  EXPECT_NE(r.log.find("collateral_add"), std::string::npos);
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Provider, DeregisterUnbondsAndPaysOutAtCompletionHeight) {
  auto Lp =
      LedgerWith({{"params", {{"min_collateral", "1000000"}, {"unbonding_blocks", "5"}, {"heartbeat_window", "10"}}}});
  auto& L = *Lp;
  const auto& owner = L.accounts[0].bech32;
  ASSERT_EQ(L.Block({Register(L, 0)})[0].code, 0u);
  auto dereg = L.Block({L.SignAny(0, {client::PackMsgDeregisterProvider(owner)})});
  ASSERT_EQ(dereg[0].code, 0u) << dereg[0].log;
  const int64_t h = L.app->last_height();
  const auto* ev = FindEvent(dereg[0].events, "provider.deregistered");
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(Attr(*ev, "completion_height"), std::to_string(h + 5));
  EXPECT_EQ(Attr(*ev, "amount"), "5000000udpai");
  EXPECT_EQ(Show(L, 0)["code"], x::provider::kErrNotFound);
  const uint64_t after_dereg = TestLedger::kInitialBalance - 2 * kFee - kCollateral;
  EXPECT_EQ(L.Balance(owner), after_dereg);
  EXPECT_EQ(L.Balance(BondBech32()), kCollateral);  // still bonded while unbonding
  auto exported = json::parse(L.app->ExportGenesis().value());
  ASSERT_EQ(exported["app_state"]["provider"]["unbonding"].size(), 1u);
  EXPECT_EQ(exported["app_state"]["provider"]["unbonding"][0]["completion_height"], std::to_string(h + 5));

  // A second deregistration fails: nothing is registered.
  auto again = L.Block({L.SignAny(0, {client::PackMsgDeregisterProvider(owner)})});
  EXPECT_EQ(again[0].code, x::provider::kErrNotFound);

  AdvanceTo(L, h + 5);  // next block is the completion height
  EXPECT_EQ(L.Balance(owner), after_dereg - kFee);
  auto blk = FullBlock(L, {});
  EXPECT_EQ(L.app->last_height(), h + 5);
  const auto* ub = FindEvent(blk.events, "provider.unbonded");
  ASSERT_NE(ub, nullptr);
  EXPECT_EQ(Attr(*ub, "owner"), owner);
  EXPECT_EQ(Attr(*ub, "amount"), "5000000udpai");
  EXPECT_EQ(L.Balance(owner), after_dereg - kFee + kCollateral);
  EXPECT_EQ(L.Balance(BondBech32()), 0u);
  exported = json::parse(L.app->ExportGenesis().value());
  EXPECT_TRUE(exported["app_state"]["provider"]["unbonding"].empty());
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Provider, ReRegisterAndDeregisterInOneBlockMergeUnbonding) {
  auto Lp =
      LedgerWith({{"params", {{"min_collateral", "1000000"}, {"unbonding_blocks", "3"}, {"heartbeat_window", "10"}}}});
  auto& L = *Lp;
  const auto& owner = L.accounts[0].bech32;
  // Four txs from one account in one block: register, deregister, register, deregister.
  std::vector<Bytes> txs;
  for (int i = 0; i < 4; ++i) {
    txs.push_back(i % 2 == 0 ? Register(L, 0, Details(), 1'000'000 + i)
                             : L.SignAny(0, {client::PackMsgDeregisterProvider(owner)}));
    L.accounts[0].sequence++;
  }
  auto res = L.Block(txs);
  for (const auto& r : res) ASSERT_EQ(r.code, 0u) << r.log;
  auto exported = json::parse(L.app->ExportGenesis().value());
  ASSERT_EQ(exported["app_state"]["provider"]["unbonding"].size(), 1u);
  EXPECT_EQ(exported["app_state"]["provider"]["unbonding"][0]["amount"], "2000002");
  EXPECT_TRUE(L.app->CheckInvariants().ok());
  const uint64_t before = L.Balance(owner);
  L.Block({});
  L.Block({});
  L.Block({});
  EXPECT_EQ(L.Balance(owner), before + 2'000'002);
  EXPECT_EQ(L.Balance(BondBech32()), 0u);
}

TEST(Provider, ZeroUnbondingPaysOutInTheSameBlock) {
  auto Lp =
      LedgerWith({{"params", {{"min_collateral", "1000000"}, {"unbonding_blocks", "0"}, {"heartbeat_window", "10"}}}});
  auto& L = *Lp;
  ASSERT_EQ(L.Block({Register(L, 0)})[0].code, 0u);
  auto blk = FullBlock(L, {L.SignAny(0, {client::PackMsgDeregisterProvider(L.accounts[0].bech32)})});
  ASSERT_EQ(blk.tx_results[0].code, 0u);
  EXPECT_NE(FindEvent(blk.events, "provider.unbonded"), nullptr);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), TestLedger::kInitialBalance - 2 * kFee);
  EXPECT_EQ(L.Balance(BondBech32()), 0u);
}

// Genesis with a provider that holds an active lease (x/market maintains the count): it cannot
// deregister. Also checks that the bond balance must back the imported collateral.
TEST(Provider, DeregisterFailsWhileLeasesAreActive) {
  TestLedger tmp(4, "", false);
  pv::Provider p = Details();
  p.mutable_attributes()->SwapElements(0, 1);  // stored form: sorted by key
  p.set_owner(tmp.accounts[0].bech32);
  p.set_collateral("3000000");
  p.set_registered_height(1);
  p.set_heartbeat_windows(1);
  p.set_last_heartbeat_height(1);
  p.set_active_leases(1);
  json section{{"providers", json::array({x::MessageToJson(p)})}};
  json bond_balance =
      json::array({{{"address", BondBech32()}, {"coins", {{{"denom", "udpai"}, {"amount", "3000000"}}}}}});
  auto Lp = LedgerWith(section, bond_balance);
  auto& L = *Lp;
  auto res = L.Block({L.SignAny(0, {client::PackMsgDeregisterProvider(L.accounts[0].bech32)})});
  EXPECT_EQ(res[0].codespace, "provider");
  EXPECT_EQ(res[0].code, x::provider::kErrActiveLeases);
  EXPECT_NE(res[0].log.find("1 active lease"), std::string::npos) << res[0].log;
  EXPECT_EQ(Show(L, 0)["provider"]["collateral"], "3000000");
  EXPECT_EQ(L.Balance(BondBech32()), 3'000'000u);

  // Without the backing balance the same genesis breaks the invariant and is refused.
  EXPECT_THROW(LedgerWith(section), std::runtime_error);
}

TEST(Provider, AuditorSignsMergesAndDeletesAttributes) {
  TestLedger L;
  const auto& prov = L.accounts[0].bech32;
  const auto& auditor = L.accounts[1].bech32;
  using KV = std::vector<std::pair<std::string, std::string>>;
  auto sign = [&](size_t who, const std::string& provider, const KV& attrs) {
    return L.SignAny(who, {client::PackMsgSignProviderAttributes(L.accounts[who].bech32, provider, attrs)});
  };
  // The provider must be registered.
  auto r0 = L.Block({sign(1, prov, {{"tier", "gold"}})});
  EXPECT_EQ(r0[0].code, x::provider::kErrNotFound);
  ASSERT_EQ(L.Block({Register(L, 0)})[0].code, 0u);

  auto r1 = L.Block({sign(1, prov, {{"tier", "gold"}, {"country", "de"}})});
  ASSERT_EQ(r1[0].code, 0u) << r1[0].log;
  const auto* ev = FindEvent(r1[0].events, "provider.attributes_signed");
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(Attr(*ev, "owner"), prov);
  EXPECT_EQ(Attr(*ev, "auditor"), auditor);
  EXPECT_EQ(Attr(*ev, "keys"), "country,tier");
  // A second signature merges: new keys are added, existing ones take the new value.
  ASSERT_EQ(L.Block({sign(1, prov, {{"tier", "platinum"}, {"iso", "27001"}})})[0].code, 0u);
  // Another auditor (the provider itself may also sign: any account can be an auditor).
  ASSERT_EQ(L.Block({sign(2, prov, {{"tier", "silver"}})})[0].code, 0u);
  auto q = Show(L, 0);
  ASSERT_EQ(q["audits"].size(), 2u);
  const json* a1 = nullptr;
  for (const auto& a : q["audits"])
    if (a["auditor"] == auditor) a1 = &a;
  ASSERT_NE(a1, nullptr);
  ASSERT_EQ((*a1)["attributes"].size(), 3u);
  EXPECT_EQ((*a1)["attributes"][0], json({{"key", "country"}, {"value", "de"}}));
  EXPECT_EQ((*a1)["attributes"][1], json({{"key", "iso"}, {"value", "27001"}}));
  EXPECT_EQ((*a1)["attributes"][2], json({{"key", "tier"}, {"value", "platinum"}}));

  // Bad inputs.
  EXPECT_EQ(CheckTx(L, sign(1, prov, {})).code, x::provider::kErrInvalidAttributes);
  EXPECT_EQ(CheckTx(L, sign(1, prov, {{"Bad Key", "x"}})).code, x::provider::kErrInvalidAttributes);
  EXPECT_EQ(CheckTx(L, sign(1, prov, {{"a", "1"}, {"a", "2"}})).code, x::provider::kErrInvalidAttributes);
  KV many;
  for (int i = 0; i < 30; ++i) many.emplace_back("k" + std::to_string(i), "v");
  auto over = CheckTx(L, sign(1, prov, many));  // 3 existing + 30 new > 32
  EXPECT_EQ(over.code, x::provider::kErrInvalidAttributes);
  EXPECT_NE(over.log.find("33 attributes"), std::string::npos) << over.log;

  auto del = [&](size_t who, const std::vector<std::string>& keys) {
    return L.SignAny(who, {client::PackMsgDeleteProviderAttributes(L.accounts[who].bech32, prov, keys)});
  };
  auto unknown = CheckTx(L, del(1, {"nope"}));
  EXPECT_EQ(unknown.code, x::provider::kErrAuditNotFound);
  EXPECT_NE(unknown.log.find("'nope'"), std::string::npos);
  EXPECT_EQ(CheckTx(L, del(3, {})).code, x::provider::kErrAuditNotFound);  // account 3 never signed

  auto rd = L.Block({del(1, {"iso"})});
  ASSERT_EQ(rd[0].code, 0u) << rd[0].log;
  EXPECT_EQ(Attr(*FindEvent(rd[0].events, "provider.attributes_deleted"), "keys"), "iso");
  q = Show(L, 0);
  for (const auto& a : q["audits"]) {
    if (a["auditor"] == auditor) {
      EXPECT_EQ(a["attributes"].size(), 2u);
    }
  }
  ASSERT_EQ(L.Block({del(1, {})})[0].code, 0u);  // empty = all
  q = Show(L, 0);
  ASSERT_EQ(q["audits"].size(), 1u);
  EXPECT_EQ(q["audits"][0]["auditor"], L.accounts[2].bech32);
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Provider, UptimeArithmetic) {
  using K = x::provider::Keeper;
  pv::Provider p;
  p.set_registered_height(25);  // window 2 with w = 10
  p.set_heartbeat_windows(1);
  EXPECT_EQ(K::UptimeBps(p, 25, 10), 10000u);  // 1 of 1 window
  EXPECT_EQ(K::UptimeBps(p, 30, 10), 5000u);   // 1 of 2 (windows 2, 3)
  EXPECT_EQ(K::UptimeBps(p, 59, 10), 2500u);   // 1 of 4
  p.set_heartbeat_windows(2);
  EXPECT_EQ(K::UptimeBps(p, 50, 10), 5000u);  // 2 of 4
  EXPECT_EQ(K::UptimeBps(p, 40, 10), 6666u);  // 2 of 3, floored
  p.set_heartbeat_windows(9);                 // more than possible: clamped
  EXPECT_EQ(K::UptimeBps(p, 40, 10), 10000u);
  EXPECT_EQ(K::UptimeBps(p, 24, 10), 0u);  // before registration
  EXPECT_EQ(K::UptimeBps(p, 40, 0), 0u);   // invalid window
}

TEST(Provider, HeartbeatCountsOncePerWindow) {
  TestLedger L;  // heartbeat_window 10
  const auto& owner = L.accounts[0].bech32;
  auto hb = [&] { return L.SignAny(0, {client::PackMsgProviderHeartbeat(owner)}); };
  EXPECT_EQ(CheckTx(L, hb()).code, x::provider::kErrNotFound);
  AdvanceTo(L, 11);
  ASSERT_EQ(L.Block({Register(L, 0)})[0].code, 0u);  // height 11, window 1
  ASSERT_EQ(L.app->last_height(), 11);

  auto dup = L.Block({hb()});  // height 12: same window as the registration
  EXPECT_EQ(dup[0].code, x::provider::kErrHeartbeatWindow);
  EXPECT_NE(dup[0].log.find("next window starts at height 20"), std::string::npos) << dup[0].log;

  AdvanceTo(L, 20);
  auto ok = L.Block({hb()});  // height 20, window 2
  ASSERT_EQ(ok[0].code, 0u) << ok[0].log;
  const auto* ev = FindEvent(ok[0].events, "provider.heartbeat");
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(Attr(*ev, "uptime_bps"), "10000");
  EXPECT_FALSE(ev->attributes[0].index);  // heartbeats are not indexed
  auto p = Show(L, 0)["provider"];
  EXPECT_EQ(p["heartbeat_windows"], "2");
  EXPECT_EQ(p["last_heartbeat_height"], "20");

  AdvanceTo(L, 40);                           // windows 1..3 elapsed, 2 with heartbeats; the next block is in window 4
  L.Block({});                                // height 40
  EXPECT_EQ(Show(L, 0)["uptime_bps"], 5000);  // 2 of windows 1..4
  ASSERT_EQ(L.Block({hb()})[0].code, 0u);     // height 41, window 4
  EXPECT_EQ(Show(L, 0)["uptime_bps"], 7500);  // 3 of 4
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Provider, GenesisExportImportGivesTheSameAppHash) {
  auto Lp =
      LedgerWith({{"params", {{"min_collateral", "2000000"}, {"unbonding_blocks", "50"}, {"heartbeat_window", "7"}}}});
  auto& L = *Lp;
  ASSERT_EQ(L.Block({Register(L, 0), Register(L, 1, Details(), 3'000'000)})[0].code, 0u);
  ASSERT_EQ(L.Block({L.SignAny(2, {client::PackMsgSignProviderAttributes(L.accounts[2].bech32, L.accounts[0].bech32,
                                                                         {{"tier", "gold"}})}),
                     L.SignAny(1, {client::PackMsgDeregisterProvider(L.accounts[1].bech32)})})[1]
                .code,
            0u);
  auto exported = json::parse(L.app->ExportGenesis().value());
  const auto& ps = exported["app_state"]["provider"];
  EXPECT_EQ(ps["params"]["min_collateral"], "2000000");
  EXPECT_EQ(ps["params"]["heartbeat_window"], "7");
  EXPECT_EQ(ps["providers"].size(), 1u);
  EXPECT_EQ(ps["audits"].size(), 1u);
  EXPECT_EQ(ps["unbonding"].size(), 1u);

  TestLedger M(0, "", false);
  app::RequestInitChain req;
  req.chain_id = TestLedger::kChainId;
  req.app_state_bytes = exported["app_state"].dump();
  auto ic = M.app->InitChain(req);
  ASSERT_TRUE(ic.ok()) << ic.error().message;
  EXPECT_EQ(ic->app_hash, L.AppHash()) << "re-imported genesis must reproduce the exact state";

  // Corrupted imports are refused with a message naming the problem.
  auto bad = exported["app_state"];
  bad["provider"]["params"]["heartbeat_window"] = "0";
  TestLedger N(0, "", false);
  req.app_state_bytes = bad.dump();
  auto r = N.app->InitChain(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("heartbeat_window"), std::string::npos) << r.error().message;

  bad = exported["app_state"];
  bad["provider"]["providers"][0]["endpoint"] = "gopher://x";
  TestLedger O(0, "", false);
  req.app_state_bytes = bad.dump();
  r = O.app->InitChain(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("endpoint"), std::string::npos) << r.error().message;

  bad = exported["app_state"];
  bad["provider"]["unbonding"][0]["amount"] = "1";  // no longer backed exactly by the bond balance
  TestLedger P(0, "", false);
  req.app_state_bytes = bad.dump();
  r = P.app->InitChain(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bond invariant"), std::string::npos) << r.error().message;
}

TEST(Provider, QueriesAndParams) {
  TestLedger L;
  auto params = L.Query("/provider/params");
  EXPECT_EQ(params, json({{"min_collateral", "1000000"}, {"unbonding_blocks", "100"}, {"heartbeat_window", "10"}}));
  EXPECT_EQ(L.Query("/provider/providers?limit=10")["providers"].size(), 0u);
  auto bad = L.Query("/provider/providers/notanaddress");
  EXPECT_EQ(bad["codespace"], "sdk");
  EXPECT_EQ(bad["code"], x::kErrInvalidAddress);
  auto unknown = L.Query("/provider/nope");
  EXPECT_EQ(unknown["code"], x::kErrUnknownRequest);
}

TEST(Provider, ClientParsersUseNoFloatingPoint) {
  EXPECT_EQ(*client::ParseMicroDegrees("52.52", 90'000'000, "lat"), 52'520'000);
  EXPECT_EQ(*client::ParseMicroDegrees("-13.405", 180'000'000, "lon"), -13'405'000);
  EXPECT_EQ(*client::ParseMicroDegrees("180", 180'000'000, "lon"), 180'000'000);
  EXPECT_EQ(*client::ParseMicroDegrees("-0.000001", 90'000'000, "lat"), -1);
  EXPECT_EQ(*client::ParseMicroDegrees("+.5", 90'000'000, "lat"), 500'000);
  for (const char* bad : {"", "-", ".", "1.", "90.000001", "1e5", "52,52", "12.1234567", "abc", "1000"})
    EXPECT_FALSE(client::ParseMicroDegrees(bad, 90'000'000, "--lat").ok()) << bad;
  EXPECT_NE(client::ParseMicroDegrees("91", 90'000'000, "--lat").error().message.find("--lat"), std::string::npos);

  auto g = client::ParseGpu("nvidia:h100:2:81920:sxm");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->vendor(), "nvidia");
  EXPECT_EQ(g->count(), 2u);
  EXPECT_EQ(g->vram_mib(), 81920u);
  EXPECT_EQ(g->interface(), "sxm");
  EXPECT_TRUE(client::ParseGpu("amd:mi300:1").ok());
  EXPECT_FALSE(client::ParseGpu("nvidia:h100").ok());
  EXPECT_FALSE(client::ParseGpu("nvidia:h100:0").ok());
  EXPECT_FALSE(client::ParseGpu("nvidia:h100:x").ok());
  auto s = client::ParseStorage("ssd:1048576");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size_mib(), 1048576u);
  EXPECT_FALSE(client::ParseStorage("ssd").ok());
  EXPECT_FALSE(client::ParseStorage("ssd:-1").ok());
  auto a = client::ParseAttribute("k=v=w");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->second, "v=w");
  EXPECT_FALSE(client::ParseAttribute("novalue").ok());
}

}  // namespace
}  // namespace depai::test
