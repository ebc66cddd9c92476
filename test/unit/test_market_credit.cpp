// x/market credit-priced orders on the keeper with the real bank keeper: the escrow holds ucredit,
// bids and the lease rate are in ucredit (bid deposits stay udpai), settlement burns the whole
// payment (provider share and take) from the escrow module account, a withdraw pays the provider
// nothing, closing refunds only the unspent credits, the RevenueHook sees every payment with the
// right figures (udpai leases too, burned = false), denoms cannot be mixed, and the escrow
// invariant covers both denoms.
#include <gtest/gtest.h>

#include "crypto/bech32.h"
#include "store/mem_store.h"
#include "x/bank/keeper.h"
#include "x/market/keeper.h"
#include "x/market/module.h"
#include "x/types/errors.h"

namespace depai::test {
namespace {

namespace xm = depai::x::market;
namespace mv1 = depai::market::v1;

Amount A(uint64_t v) { return Amount::Of(v).value(); }

class FakeProviders : public xm::ProviderKeeper {
 public:
  Result<std::optional<depai::provider::v1::Provider>> get(const store::KVReader&,
                                                           std::string_view addr) const override {
    depai::provider::v1::Provider p;
    p.set_owner(crypto::AddressToBech32(addr));
    return std::optional<depai::provider::v1::Provider>(p);
  }
  Result<std::vector<depai::provider::v1::AuditedAttributes>> audits(const store::KVReader&,
                                                                     std::string_view) const override {
    return std::vector<depai::provider::v1::AuditedAttributes>{};
  }
  Result<uint32_t> reputation_bps(const store::KVReader&, std::string_view) const override { return 10000u; }
  Status add_active_lease(store::KVStore&, std::string_view, int64_t) const override { return {}; }
};

class BankAdapter : public xm::BankKeeper {
 public:
  explicit BankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& c, bool user) const override {
    return k_->send(ctx, from, to, c, user);
  }
  Result<Amount> balance(const store::KVReader& s, std::string_view a, std::string_view d) const override {
    return k_->balance(s, a, d);
  }
  Status burn(x::Context& ctx, std::string_view from, const Coins& c) const override { return k_->burn(ctx, from, c); }

 private:
  const x::bank::Keeper* k_;
};

struct Paid {
  std::string buyer, provider;
  uint64_t lease = 0;
  Coin to_provider, take;
  bool burned = false;
};
class RecordingHook : public xm::RevenueHook {
 public:
  Status on_paid(x::Context&, std::string_view buyer20, std::string_view provider20, uint64_t lease_id,
                 const Coin& to_provider, const Coin& take, bool burned) const override {
    calls.push_back(Paid{std::string(buyer20), std::string(provider20), lease_id, to_provider, take, burned});
    return {};
  }
  mutable std::vector<Paid> calls;
  uint64_t Sum(bool provider_share) const {
    uint64_t t = 0;
    for (const auto& c : calls) t += (provider_share ? c.to_provider : c.take).amount.raw();
    return t;
  }
};

struct Credit : ::testing::Test {
  store::MemStore s;
  x::bank::Keeper bank;
  BankAdapter bank_adapter{&bank};
  FakeProviders providers;
  xm::Module mod{&providers, &bank_adapter};
  const xm::Keeper& k = mod.keeper();
  RecordingHook hook;
  x::GasMeter gas = x::GasMeter::Infinite();
  x::EventManager events;
  x::BlockHeader header;
  Bytes buyer = Bytes(20, 'b'), prov = Bytes(20, 'p');
  std::vector<std::unique_ptr<mv1::MsgCreateOrder>> msgs;

  void SetUp() override {
    for (const char* d : {"udpai", "ucredit"}) {
      x::bank::DenomMetadata m;
      m.set_denom(d);
      m.set_transferable(std::string(d) == "udpai");
      bank.set_denom(s, m);
    }
    auto ctx = Ctx(1);
    ASSERT_TRUE(bank.mint(ctx, buyer, Coins::Parse("10000000udpai,5000000ucredit").value()).ok());
    ASSERT_TRUE(bank.mint(ctx, prov, Coins::Parse("10000000udpai").value()).ok());
    k.set_params(s, xm::DefaultParams());
    mod.set_revenue_hook(&hook);
  }
  x::Context Ctx(int64_t h) {
    header.height = h;
    header.time_unix_ms = 1'700'000'000'000 + h * 1000;
    return x::Context{&s, &gas, &events, &header, false};
  }
  uint64_t Bal(const Bytes& who, const char* d) { return bank.balance(s, who, d).value().raw(); }
  uint64_t Escrow(const char* d) { return Bal(xm::EscrowModuleAddress(), d); }
  uint64_t Supply(const char* d) { return bank.supply(s, d).value().raw(); }
  void Invariants() {
    EXPECT_TRUE(k.check_invariants_full(s).ok()) << k.check_invariants_full(s).error().message;
    EXPECT_TRUE(bank.check_supply_full(s).ok());
  }

  // An order in `denom` (max price 100, deposit `deposit`), a bid at `rate` by prov, and the lease,
  // all at height 10. Returns the lease id.
  uint64_t Lease(const std::string& denom, uint64_t deposit, uint64_t rate) {
    auto m = std::make_unique<mv1::MsgCreateOrder>();
    m->set_owner(crypto::AddressToBech32(buyer));
    auto* g = m->add_groups();
    g->set_name("job");
    g->set_count(1);
    m->set_bid_window_blocks(5);
    m->set_manifest_hash(std::string(32, 'm'));
    if (denom == "ucredit") m->set_denom("ucredit");
    xm::CreateOrderParsed co{buyer, m.get(), A(100), A(deposit), denom};
    auto ctx = Ctx(10);
    EXPECT_TRUE(k.check_create_order(s, co).ok());
    auto id = k.create_order(ctx, co);
    EXPECT_TRUE(id.ok()) << id.error().message;
    msgs.push_back(std::move(m));
    xm::CreateBidParsed b{prov, *id, A(rate), denom};
    auto cb = k.check_create_bid(s, b, 10);
    EXPECT_TRUE(cb.ok()) << cb.error().message;
    EXPECT_TRUE(k.create_bid(ctx, b).ok());
    xm::CreateLeaseParsed cl{buyer, *id, prov};
    EXPECT_TRUE(k.check_create_lease(s, cl).ok());
    auto l = k.create_lease(ctx, cl);
    EXPECT_TRUE(l.ok()) << l.error().message;
    return l.ok() ? *l : 0;
  }
};

TEST_F(Credit, EscrowHoldsCreditsAndSettlementBurnsTheWholePayment) {
  const uint64_t supply0 = Supply("ucredit");
  const uint64_t lease = Lease("ucredit", 100'000, 50);
  // The escrow holds the credits; the provider's bid deposit is udpai.
  EXPECT_EQ(Escrow("ucredit"), 100'000u);
  EXPECT_EQ(Escrow("udpai"), 100'000u);  // the bid deposit (params.bid_deposit)
  EXPECT_EQ(Bal(buyer, "ucredit"), 5'000'000u - 100'000u);
  Invariants();
  // 20 blocks later the provider withdraws: 20 x 50 = 1000 ucredit are burned (take 2% = 1 per
  // block, provider share 49), and the provider receives nothing at all.
  const uint64_t pu = Bal(prov, "udpai");
  auto ctx = Ctx(30);
  xm::WithdrawParsed w{prov, lease};
  ASSERT_TRUE(k.check_withdraw(s, w, 30).ok());
  ASSERT_TRUE(k.withdraw(ctx, w).ok());
  EXPECT_EQ(Bal(prov, "ucredit"), 0u);
  EXPECT_EQ(Bal(prov, "udpai"), pu);
  EXPECT_EQ(Escrow("ucredit"), 100'000u - 1000u);
  EXPECT_EQ(Supply("ucredit"), supply0 - 1000u);
  EXPECT_EQ(Bal(xm::TreasuryAddress(), "ucredit"), 0u);
  EXPECT_EQ(Bal(xm::CheckerPoolAddress(), "ucredit"), 0u);
  auto e = k.escrow(s, 1).value();
  EXPECT_EQ(e->acc.withdrawable.raw(), 0u);
  EXPECT_EQ(e->acc.paid_to_provider.raw(), 20u * 49u);
  EXPECT_EQ(e->acc.paid_take_fee.raw(), 20u * 1u);
  // The hook saw it with the right figures.
  ASSERT_EQ(hook.calls.size(), 1u);
  const Paid& p = hook.calls[0];
  EXPECT_EQ(p.buyer, buyer);
  EXPECT_EQ(p.provider, prov);
  EXPECT_EQ(p.lease, lease);
  EXPECT_EQ(p.to_provider, (Coin{"ucredit", A(980)}));
  EXPECT_EQ(p.take, (Coin{"ucredit", A(20)}));
  EXPECT_TRUE(p.burned);
  Invariants();
  // The order's owner closes: settled (and burned) to now, the unspent credits come back, the
  // provider's udpai bid deposit is returned, and still no credit reaches the provider.
  ctx = Ctx(40);
  xm::CloseLeaseParsed c{buyer, lease, mv1::CLOSE_REASON_OWNER};
  ASSERT_TRUE(k.check_close_lease(s, c).ok());
  ASSERT_TRUE(k.close_lease(ctx, c).ok());
  EXPECT_EQ(Bal(prov, "ucredit"), 0u);
  EXPECT_EQ(Bal(prov, "udpai"), pu + 100'000u);
  EXPECT_EQ(Escrow("ucredit"), 0u);
  EXPECT_EQ(Bal(buyer, "ucredit"), 5'000'000u - 1500u);  // 30 blocks were paid
  EXPECT_EQ(Supply("ucredit"), supply0 - 1500u);
  EXPECT_EQ(hook.Sum(true) + hook.Sum(false), 1500u);
  Invariants();
}

TEST_F(Credit, AProviderCannotWithdrawCredits) {
  const uint64_t lease = Lease("ucredit", 100'000, 50);
  // Withdrawing every block, or after the escrow ran dry, pays nothing.
  for (int64_t h = 11; h < 15; ++h) {
    auto ctx = Ctx(h);
    xm::WithdrawParsed w{prov, lease};
    ASSERT_TRUE(k.check_withdraw(s, w, h).ok());
    ASSERT_TRUE(k.withdraw(ctx, w).ok());
  }
  EXPECT_EQ(Bal(prov, "ucredit"), 0u);
  // The settled view a query shows never offers credits to withdraw.
  auto e = k.escrow(s, 1).value();
  auto l = k.lease(s, lease).value();
  EXPECT_EQ(k.settled_view(k.params(s).value(), *l, *e, 1000).withdrawable.raw(), 0u);
  // Someone else cannot withdraw either.
  xm::WithdrawParsed other{buyer, lease};
  EXPECT_EQ(k.check_withdraw(s, other, 15).error().code, xm::kErrUnauthorized);
  Invariants();
}

TEST_F(Credit, UdpaiLeasesPayAsBeforeAndTheHookSaysNotBurned) {
  const uint64_t su = Supply("udpai");
  const uint64_t lease = Lease("udpai", 100'000, 50);
  const uint64_t pu = Bal(prov, "udpai");
  auto ctx = Ctx(30);
  xm::WithdrawParsed w{prov, lease};
  ASSERT_TRUE(k.withdraw(ctx, w).ok());
  EXPECT_EQ(Bal(prov, "udpai"), pu + 20u * 49u);                                                 // the provider's share
  EXPECT_EQ(Bal(xm::TreasuryAddress(), "udpai") + Bal(xm::CheckerPoolAddress(), "udpai"), 20u);  // the take
  EXPECT_EQ(Supply("udpai"), su);                                                                // nothing burned
  ASSERT_EQ(hook.calls.size(), 1u);
  EXPECT_EQ(hook.calls[0].to_provider, (Coin{"udpai", A(980)}));
  EXPECT_EQ(hook.calls[0].take, (Coin{"udpai", A(20)}));
  EXPECT_FALSE(hook.calls[0].burned);
  // No payment, no call: a second withdraw in the same block settles nothing.
  EXPECT_EQ(k.check_withdraw(s, w, 30).error().code, xm::kErrNothingToWithdraw);
  EXPECT_EQ(hook.calls.size(), 1u);
  Invariants();
}

TEST_F(Credit, DebtPaidByATopUpIsBurnedAndReported) {
  const uint64_t lease = Lease("ucredit", 1000, 100);  // funds 10 blocks
  // Run dry at 20, then 3 unpaid blocks of grace; a top-up pays the debt first (burned).
  const uint64_t sc = Supply("ucredit");
  auto ctx = Ctx(23);
  ASSERT_TRUE(k.end_block(ctx).ok());  // the exhaustion event at 20 settles 10 blocks, 3 become debt
  EXPECT_EQ(k.escrow(s, 1).value()->acc.debt.raw(), 300u);
  xm::DepositParsed d{buyer, 1, A(5000), "ucredit"};
  ASSERT_TRUE(k.check_deposit(s, d).ok());
  ASSERT_TRUE(k.deposit(ctx, d).ok());
  auto e = k.escrow(s, 1).value();
  EXPECT_EQ(e->acc.debt.raw(), 0u);
  EXPECT_EQ(e->acc.withdrawable.raw(), 0u);
  uint64_t burned = sc - Supply("ucredit");
  EXPECT_EQ(burned, 1300u);  // 10 blocks settled + 3 blocks of debt, 100 each
  EXPECT_EQ(hook.Sum(true) + hook.Sum(false), 1300u);
  ASSERT_EQ(hook.calls.size(), 2u);  // the settlement, then the debt payment
  EXPECT_EQ(hook.calls[1].to_provider.amount.raw() + hook.calls[1].take.amount.raw(), 300u);
  for (const auto& c : hook.calls) EXPECT_TRUE(c.burned);
  EXPECT_EQ(Escrow("ucredit"), 5000u - 300u);
  (void)lease;
  Invariants();
}

TEST_F(Credit, DenomsCannotBeMixed) {
  Lease("ucredit", 100'000, 50);
  // A udpai bid on a credit order, a udpai top-up of a credit escrow: refused.
  auto m = std::make_unique<mv1::MsgCreateOrder>();
  xm::CreateBidParsed b{Bytes(20, 'q'), 1, A(10), "udpai"};
  auto st = k.check_create_bid(s, b, 10);
  // (the order is ACTIVE now, so it is not open; use a fresh open order)
  auto m2 = std::make_unique<mv1::MsgCreateOrder>();
  m2->set_owner(crypto::AddressToBech32(buyer));
  m2->add_groups()->set_count(1);
  m2->set_bid_window_blocks(5);
  m2->set_manifest_hash(std::string(32, 'm'));
  m2->set_denom("ucredit");
  xm::CreateOrderParsed co{buyer, m2.get(), A(100), A(10'000), "ucredit"};
  auto ctx = Ctx(11);
  auto id = k.create_order(ctx, co);
  ASSERT_TRUE(id.ok());
  b.order_id = *id;
  st = k.check_create_bid(s, b, 11);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, xm::kErrWrongDenom);
  EXPECT_NE(st.error().message.find("priced in ucredit"), std::string::npos);
  xm::DepositParsed d{buyer, *id, A(10), "udpai"};
  st = k.check_deposit(s, d);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, xm::kErrWrongDenom);
  // Not enough credits for the deposit.
  xm::CreateOrderParsed big{buyer, m2.get(), A(100), A(50'000'000), "ucredit"};
  EXPECT_EQ(k.check_create_order(s, big).error().code, x::kErrInsufficientFunds);
  Invariants();
}

TEST_F(Credit, MessagesValidateTheDenom) {
  auto routes = mod.routes();
  auto decode = [&](const google::protobuf::Any& a) {
    for (auto& r : routes)
      if (r.type_url == a.type_url()) return r.decode(a.value());
    return Result<std::unique_ptr<x::AnyParsed>>(x::RootErr(x::kErrUnknownRequest, "no route"));
  };
  mv1::MsgCreateOrder m;
  m.set_owner(crypto::AddressToBech32(buyer));
  m.add_groups()->set_count(1);
  m.set_bid_window_blocks(5);
  m.set_manifest_hash(std::string(32, 'm'));
  m.mutable_max_price_per_block()->set_denom("ucredit");
  m.mutable_max_price_per_block()->set_amount("10");
  m.mutable_deposit()->set_denom("ucredit");
  m.mutable_deposit()->set_amount("1000");
  // ucredit coins without denom = ucredit on the order: the order is udpai, so they are refused.
  auto r = decode(x::PackAny(xm::kTypeCreateOrder, m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, x::kErrInvalidCoins);
  EXPECT_NE(r.error().message.find("denom must be udpai"), std::string::npos) << r.error().message;
  m.set_denom("ucredit");
  EXPECT_TRUE(decode(x::PackAny(xm::kTypeCreateOrder, m)).ok());
  m.set_denom("ufoo");
  EXPECT_EQ(decode(x::PackAny(xm::kTypeCreateOrder, m)).error().code, xm::kErrInvalidOrder);
  m.set_denom("ucredit");
  m.mutable_deposit()->set_denom("udpai");  // mixed
  EXPECT_EQ(decode(x::PackAny(xm::kTypeCreateOrder, m)).error().code, x::kErrInvalidCoins);
  mv1::MsgCreateBid b;
  b.set_provider(crypto::AddressToBech32(prov));
  b.set_order_id(1);
  b.mutable_price_per_block()->set_denom("ucredit");
  b.mutable_price_per_block()->set_amount("5");
  EXPECT_TRUE(decode(x::PackAny(xm::kTypeCreateBid, b)).ok());
  b.mutable_price_per_block()->set_denom("ufoo");
  EXPECT_EQ(decode(x::PackAny(xm::kTypeCreateBid, b)).error().code, x::kErrInvalidCoins);
}

TEST_F(Credit, InvariantCoversBothDenoms) {
  Lease("ucredit", 100'000, 50);
  Invariants();
  // Credits in the escrow account that no credit escrow accounts for: a fault.
  auto ctx = Ctx(12);
  ASSERT_TRUE(bank.mint(ctx, xm::EscrowModuleAddress(), Coins::Parse("1ucredit").value()).ok());
  auto st = k.check_invariants_full(s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().codespace, x::kFaultCodespace);
  EXPECT_NE(st.error().message.find("ucredit"), std::string::npos);
  ASSERT_TRUE(bank.burn(ctx, xm::EscrowModuleAddress(), Coins::Parse("1ucredit").value()).ok());
  Invariants();
  // A stored escrow in an unknown denom is a corrupt record.
  auto e = k.escrow(s, 1).value();
  mv1::Escrow pb = e->pb;
  pb.set_denom("ufoo");
  k.set_escrow(s, pb);
  EXPECT_TRUE(x::IsFault(k.check_invariants_full(s)));
}

TEST_F(Credit, GenesisRoundTripKeepsTheDenoms) {
  Lease("ucredit", 100'000, 50);
  auto exported = mod.export_genesis(s).value();
  EXPECT_EQ(exported["orders"][0]["denom"], "ucredit");
  EXPECT_EQ(exported["escrows"][0]["denom"], "ucredit");
  EXPECT_EQ(exported["leases"][0]["denom"], "ucredit");
  store::MemStore again;
  x::Context ctx{&again, &gas, &events, &header, false};
  ASSERT_TRUE(mod.init_genesis(ctx, exported).ok());
  EXPECT_EQ(mod.export_genesis(again).value(), exported);
  // An escrow whose denom disagrees with its order's is refused.
  exported["escrows"][0]["denom"] = "";
  store::MemStore bad;
  x::Context c2{&bad, &gas, &events, &header, false};
  EXPECT_FALSE(mod.init_genesis(c2, exported).ok());
}

}  // namespace
}  // namespace depai::test
