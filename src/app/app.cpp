#include "app/app.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "app/ante.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "x/auth/module.h"
#include "x/bank/module.h"
#include "x/bme/module.h"
#include "x/channel/module.h"
#include "x/identity/module.h"
#include "x/market/module.h"
#include "x/mint/module.h"
#include "x/oracle/module.h"
#include "x/provider/module.h"
#include "x/rewards/module.h"
#include "x/types/tx.h"
#include "x/verify/module.h"
#include "x/wallet/module.h"

namespace depai::app {

using nlohmann::json;

namespace {
constexpr const char* kMetaChainId = "chain_id";
constexpr const char* kMetaInitialHeight = "initial_height";
constexpr const char* kMetaLastBlockTime = "last_block_time_ms";  // outside the app hash; for queries

// x/bank's view of accounts, backed by x/auth (bank never includes auth).
class BankAccountAdapter : public x::bank::AccountKeeper {
 public:
  explicit BankAccountAdapter(const x::auth::Keeper* k) : k_(k) {}
  bool has_account(const store::KVReader& s, std::string_view addr) const override { return k_->has_account(s, addr); }
  Status create_account(store::KVStore& s, std::string_view addr) const override {
    return k_->new_account(s, addr).status();
  }

 private:
  const x::auth::Keeper* k_;
};

// x/provider's view of the bank: balances and module transfers (never user transfers).
class ProviderBankAdapter : public x::provider::BankKeeper {
 public:
  explicit ProviderBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const override {
    return k_->balance(s, addr, denom);
  }
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const override {
    return k_->send(ctx, from, to, coins, /*user_transfer=*/false);
  }

 private:
  const x::bank::Keeper* k_;
};

// x/market's view of x/provider (records, audits, uptime, active-lease counter). Faults (a
// provider record that does not decode) pass through as Errors and halt the node.
class MarketProviderAdapter : public x::market::ProviderKeeper {
 public:
  explicit MarketProviderAdapter(const x::provider::Keeper* k) : k_(k) {}
  void set_reputation(const x::verify::Keeper* v) { rep_ = v; }
  Result<std::optional<depai::provider::v1::Provider>> get(const store::KVReader& s,
                                                           std::string_view addr) const override {
    return k_->get(s, addr);
  }
  Result<std::vector<depai::provider::v1::AuditedAttributes>> audits(const store::KVReader& s,
                                                                     std::string_view provider) const override {
    return k_->audits(s, provider);
  }
  Result<uint32_t> reputation_bps(const store::KVReader& s, std::string_view addr) const override {
    return rep_->reputation_bps(s, addr);
  }
  Status add_active_lease(store::KVStore& s, std::string_view addr, int64_t delta) const override {
    return k_->add_active_lease(s, addr, delta);
  }

 private:
  const x::provider::Keeper* k_;
  const x::verify::Keeper* rep_ = nullptr;
};

// x/verify's view of x/provider: records, the registry walk, collateral slashes and restores.
class VerifyProviderAdapter : public x::verify::ProviderKeeper {
 public:
  explicit VerifyProviderAdapter(const x::provider::Keeper* k) : k_(k) {}
  Result<std::optional<depai::provider::v1::Provider>> get(const store::KVReader& s,
                                                           std::string_view addr) const override {
    return k_->get(s, addr);
  }
  Status for_each(
      const store::KVReader& s,
      const std::function<bool(std::string_view, const depai::provider::v1::Provider&)>& fn) const override {
    return k_->for_each_provider(s, fn);
  }
  Result<Amount> slash(x::Context& ctx, std::string_view addr, Amount amount, std::string_view to) const override {
    return k_->slash(ctx, addr, amount, to);
  }
  Status restore(x::Context& ctx, std::string_view addr, Amount amount, std::string_view from) const override {
    return k_->restore(ctx, addr, amount, from);
  }

 private:
  const x::provider::Keeper* k_;
};

// x/verify's view of x/market: a provider's running leases with their SLA and resources, and
// the UNSTABLE close.
// Refunds are paid in udpai from slashed collateral: a credit lease's rate (ucredit, micro-USD per
// block) is valued in udpai at the oracle's last price, floor(rate * 1e9 / price_e9); with no
// price yet it is 0 (no refund for that lease).
class VerifyMarketAdapter : public x::verify::MarketKeeper {
 public:
  explicit VerifyMarketAdapter(const x::market::Keeper* k) : k_(k) {}
  void set_oracle(const x::oracle::Keeper* o) { oracle_ = o; }
  Result<std::vector<x::verify::LeaseInfo>> active_leases(const store::KVReader& s,
                                                          std::string_view provider) const override {
    std::vector<x::market::LeaseRec> recs;
    DEPAI_TRY(k_->for_each_lease_of(s, provider, [&](const x::market::LeaseRec& l) {
      if (l.pb.state() != depai::market::v1::LEASE_STATE_CLOSED) recs.push_back(l);
      return true;
    }));
    std::sort(recs.begin(), recs.end(),
              [](const x::market::LeaseRec& a, const x::market::LeaseRec& b) { return a.pb.id() < b.pb.id(); });
    std::vector<x::verify::LeaseInfo> out;
    for (const auto& l : recs) {
      DEPAI_ASSIGN_OR_RETURN(auto o, k_->order(s, l.pb.order_id()));
      if (!o) return x::Fault(x::kFaultCorruptRecord, "lease " + std::to_string(l.pb.id()) + " has no order");
      x::verify::LeaseInfo li;
      li.id = l.pb.id();
      li.owner = l.owner;
      li.rate = l.rate;
      if (l.denom == x::kCreditDenom) {
        x::PriceInfo price;
        if (oracle_) {
          DEPAI_ASSIGN_OR_RETURN(price, oracle_->price_info(s, 0, 0));
        }
        auto udpai = price.price_e9 == 0 ? Result<Amount>(Amount()) : l.rate.mul_div(x::kPriceScale, price.price_e9);
        li.rate = udpai.ok() ? *udpai : Amount::Of(Amount::kMax).value();
      }
      li.start_height = l.pb.start_height();
      li.min_uptime_bps = o->pb.sla().min_uptime_bps();
      li.max_latency_ms = o->pb.sla().max_latency_ms();
      for (const auto& g : o->pb.groups()) {
        li.cpu_millicores += g.units().cpu_millicores() * g.count();
        for (const auto& gpu : g.units().gpus()) li.gpus.emplace_back(gpu.model(), uint64_t{gpu.count()} * g.count());
      }
      out.push_back(std::move(li));
    }
    return out;
  }
  Status close_unstable(x::Context& ctx, uint64_t lease_id) const override {
    return k_->close_lease_unstable(ctx, lease_id);
  }

 private:
  const x::market::Keeper* k_;
  const x::oracle::Keeper* oracle_ = nullptr;
};

// x/verify's view of the bank: module transfers and balances.
class VerifyBankAdapter : public x::verify::BankKeeper {
 public:
  explicit VerifyBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const override {
    return k_->send(ctx, from, to, coins, /*user_transfer=*/false);
  }
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const override {
    return k_->balance(s, addr, denom);
  }

 private:
  const x::bank::Keeper* k_;
};

// x/identity's view of the bank: attester bonds in and out of module:identity.
class IdentityBankAdapter : public x::identity::BankKeeper {
 public:
  explicit IdentityBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const override {
    return k_->send(ctx, from, to, coins, /*user_transfer=*/false);
  }
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const override {
    return k_->balance(s, addr, denom);
  }

 private:
  const x::bank::Keeper* k_;
};

// x/market's view of x/identity: whether a provider's linked DID is attested.
class MarketIdentityAdapter : public x::market::IdentityKeeper {
 public:
  explicit MarketIdentityAdapter(const x::identity::Keeper* k) : k_(k) {}
  Result<bool> attested(const store::KVReader& s, std::string_view addr20) const override {
    return k_->attested(s, addr20);
  }

 private:
  const x::identity::Keeper* k_;
};

// x/market's view of the bank.
class MarketBankAdapter : public x::market::BankKeeper {
 public:
  explicit MarketBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& coins,
              bool user_transfer) const override {
    return k_->send(ctx, from, to, coins, user_transfer);
  }
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const override {
    return k_->balance(s, addr, denom);
  }
  Status burn(x::Context& ctx, std::string_view from, const Coins& coins) const override {
    return k_->burn(ctx, from, coins);
  }

 private:
  const x::bank::Keeper* k_;
};

// x/mint's view of the bank: mint into its module account, and the udpai supply and cap.
class MintBankAdapter : public x::mint::BankKeeper {
 public:
  explicit MintBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Status mint(x::Context& ctx, std::string_view to, const Coins& coins) const override {
    return k_->mint(ctx, to, coins);
  }
  Result<Amount> supply(const store::KVReader& s, std::string_view denom) const override {
    return k_->supply(s, denom);
  }
  Result<Amount> max_supply(const store::KVReader& s, std::string_view denom) const override {
    DEPAI_ASSIGN_OR_RETURN(auto meta, k_->denom(s, denom));
    if (!meta) return Amount::Of(0);  // an unknown denom cannot be minted at all
    auto m = Amount::Parse(meta->max_supply());
    if (!m.ok()) return x::Fault(x::kFaultCorruptRecord, "max_supply of " + std::string(denom) + " does not parse");
    return m;
  }

 private:
  const x::bank::Keeper* k_;
};

// x/rewards' views of the bank, mint, verify, provider and market modules.
class RewardsBankAdapter : public x::rewards::BankKeeper {
 public:
  explicit RewardsBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const override {
    return k_->balance(s, addr, denom);
  }
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const override {
    return k_->send(ctx, from, to, coins, /*user_transfer=*/false);
  }
  Result<Amount> supply(const store::KVReader& s, std::string_view denom) const override {
    return k_->supply(s, denom);
  }
  Result<Amount> minted_total(const store::KVReader& s, std::string_view denom) const override {
    return k_->minted_total(s, denom);
  }
  Result<Amount> burned_total(const store::KVReader& s, std::string_view denom) const override {
    return k_->burned_total(s, denom);
  }

 private:
  const x::bank::Keeper* k_;
};

// x/bme's view of the bank: balances, mint and burn (module operations, not user transfers).
class BmeBankAdapter : public x::bme::BankKeeper {
 public:
  explicit BmeBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const override {
    return k_->balance(s, addr, denom);
  }
  Status mint(x::Context& ctx, std::string_view to, const Coins& coins) const override {
    return k_->mint(ctx, to, coins);
  }
  Status burn(x::Context& ctx, std::string_view from, const Coins& coins) const override {
    return k_->burn(ctx, from, coins);
  }

 private:
  const x::bank::Keeper* k_;
};

// x/wallet's view of x/identity: the DID an account linked (policies may list DIDs).
class WalletIdentityAdapter : public x::wallet::IdentityKeeper {
 public:
  explicit WalletIdentityAdapter(const x::identity::Keeper* k) : k_(k) {}
  Result<std::optional<std::string>> linked_did(const store::KVReader& s, std::string_view addr20) const override {
    return k_->linked_did(s, addr20);
  }

 private:
  const x::identity::Keeper* k_;
};

// x/wallet's view of the bank: balances, user transfers (fund, drain), the wallet's account.
class WalletBankAdapter : public x::wallet::BankKeeper {
 public:
  explicit WalletBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Result<Coins> balances(const store::KVReader& s, std::string_view addr) const override {
    return k_->balances(s, addr);
  }
  Status check_send(const store::KVReader& s, std::string_view from, std::string_view to,
                    const Coins& coins) const override {
    return k_->check_send(s, x::bank::SendParsed{Bytes(from), Bytes(to), coins});
  }
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const override {
    return k_->send(ctx, from, to, coins, true);
  }
  bool transferable(const store::KVReader& s, std::string_view denom) const override {
    auto m = k_->denom(s, denom);
    return m.ok() && m.value() && m.value()->transferable();
  }
  Status ensure_account(store::KVStore& s, std::string_view addr) const override { return k_->ensure_account(s, addr); }

 private:
  const x::bank::Keeper* k_;
};

// x/channel's view of the bank: deposits, payouts and refunds (module transfers) and the burn
// of ucredit paid through a credit channel.
class ChannelBankAdapter : public x::channel::BankKeeper {
 public:
  explicit ChannelBankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Status send(x::Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const override {
    return k_->send(ctx, from, to, coins, /*user_transfer=*/false);
  }
  Result<Amount> balance(const store::KVReader& s, std::string_view addr, std::string_view denom) const override {
    return k_->balance(s, addr, denom);
  }
  Status burn(x::Context& ctx, std::string_view from, const Coins& coins) const override {
    return k_->burn(ctx, from, coins);
  }

 private:
  const x::bank::Keeper* k_;
};

class RewardsMintAdapter : public x::rewards::MintKeeper {
 public:
  explicit RewardsMintAdapter(const x::mint::Keeper* k) : k_(k) {}
  Result<Amount> minted_total(const store::KVReader& s) const override { return k_->minted_total(s); }

 private:
  const x::mint::Keeper* k_;
};

class RewardsVerifyAdapter : public x::rewards::VerifyKeeper {
 public:
  explicit RewardsVerifyAdapter(const x::verify::Keeper* k) : k_(k) {}
  Result<x::rewards::Standing> standing(const store::KVReader& s, std::string_view provider, int64_t from,
                                        int64_t to) const override {
    DEPAI_ASSIGN_OR_RETURN(auto v, k_->standing(s, provider, from, to));
    return x::rewards::Standing{v.failed, v.verified_ops_per_ms, v.liveness_probes, v.liveness_passes};
  }

 private:
  const x::verify::Keeper* k_;
};

class RewardsProviderAdapter : public x::rewards::ProviderKeeper {
 public:
  explicit RewardsProviderAdapter(const x::provider::Keeper* k) : k_(k) {}
  Status for_each(
      const store::KVReader& s,
      const std::function<bool(std::string_view, const depai::provider::v1::Provider&)>& fn) const override {
    return k_->for_each_provider(s, fn);
  }

 private:
  const x::provider::Keeper* k_;
};

class RewardsMarketAdapter : public x::rewards::MarketKeeper {
 public:
  explicit RewardsMarketAdapter(const x::market::Keeper* k) : k_(k) {}
  Result<x::rewards::Leased> leased(const store::KVReader& s, std::string_view provider) const override {
    x::rewards::Leased out;
    Status inner;
    DEPAI_TRY(k_->for_each_lease_of(s, provider, [&](const x::market::LeaseRec& l) {
      if (l.pb.state() == depai::market::v1::LEASE_STATE_CLOSED) return true;
      auto o = k_->order(s, l.pb.order_id());
      if (!o.ok() || !*o) {
        inner = o.ok() ? x::Fault(x::kFaultCorruptRecord, "lease " + std::to_string(l.pb.id()) + " has no order")
                       : o.error();
        return false;
      }
      for (const auto& g : (*o)->pb.groups()) {
        out.cpu_millicores += g.units().cpu_millicores() * g.count();
        out.memory_mib += g.units().memory_mib() * g.count();
        for (const auto& gpu : g.units().gpus()) out.gpus += uint64_t{gpu.count()} * g.count();
      }
      return true;
    }));
    DEPAI_TRY(inner);
    return out;
  }

 private:
  const x::market::Keeper* k_;
};

// x/rewards' price: x/oracle's keeper.
class RewardsOracleAdapter : public x::rewards::OracleKeeper {
 public:
  explicit RewardsOracleAdapter(const x::oracle::Keeper* k) : k_(k) {}
  Result<x::PriceInfo> price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const override {
    return k_->price_info(s, height, time_ms);
  }

 private:
  const x::oracle::Keeper* k_;
};

// x/market's revenue hook: every lease payment becomes billed work and revenue in x/rewards.
class MarketRevenueAdapter : public x::market::RevenueHook {
 public:
  explicit MarketRevenueAdapter(const x::rewards::Keeper* k) : k_(k) {}
  Status on_paid(x::Context& ctx, std::string_view buyer20, std::string_view provider20, uint64_t lease_id,
                 const Coin& to_provider, const Coin& take, bool burned) const override {
    return k_->on_paid(ctx, buyer20, provider20, lease_id, to_provider, take, burned);
  }

 private:
  const x::rewards::Keeper* k_;
};

// x/bme's view of the DPAI/USD price: x/oracle's keeper.
class BmeOracleAdapter : public x::bme::OracleKeeper {
 public:
  explicit BmeOracleAdapter(const x::oracle::Keeper* k) : k_(k) {}
  Result<x::PriceInfo> price_info(const store::KVReader& s, int64_t height, int64_t time_ms) const override {
    return k_->price_info(s, height, time_ms);
  }

 private:
  const x::oracle::Keeper* k_;
};

Error Fault(const std::string& m) { return x::Fault(x::kFaultInternal, m); }

// Runs one App entry point; a storage failure (store::StorageFault) becomes a fault.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const store::StorageFault& e) {
    return x::Fault(x::kFaultStorage, std::string("storage failure: ") + e.what());
  }
}
}  // namespace

class App::Impl {
 public:
  std::unique_ptr<store::StateDB> db;
  x::auth::Module auth;
  BankAccountAdapter bank_accounts{&auth.keeper()};
  x::bank::Module bank{&bank_accounts};
  IdentityBankAdapter identity_bank{&bank.keeper()};
  x::identity::Module identity{&identity_bank};
  MarketIdentityAdapter market_identity{&identity.keeper()};
  ProviderBankAdapter provider_bank{&bank.keeper()};
  x::provider::Module provider{&provider_bank, [this] { return db ? db->height() : 0; }};
  MarketProviderAdapter market_providers{&provider.keeper()};
  MarketBankAdapter market_bank{&bank.keeper()};
  x::market::Module market{&market_providers, &market_bank, [this] { return db ? db->height() : 0; }};
  VerifyProviderAdapter verify_providers{&provider.keeper()};
  VerifyMarketAdapter verify_market{&market.keeper()};
  VerifyBankAdapter verify_bank{&bank.keeper()};
  x::verify::Module verify{&verify_providers, &verify_market, &verify_bank};
  x::oracle::Module oracle{[this] { return std::pair<int64_t, int64_t>{db ? db->height() : 0, last_block_time()}; }};
  BmeOracleAdapter bme_oracle{&oracle.keeper()};
  BmeBankAdapter bme_bank{&bank.keeper()};
  x::bme::Module bme{&bme_oracle, &bme_bank, [this] {
                       return x::bme::Clock{db ? db->height() : 0, last_block_time()};
                     }};
  MintBankAdapter mint_bank{&bank.keeper()};
  x::mint::Module mint{&mint_bank};
  RewardsBankAdapter rewards_bank{&bank.keeper()};
  RewardsMintAdapter rewards_mint{&mint.keeper()};
  RewardsOracleAdapter rewards_oracle{&oracle.keeper()};
  RewardsVerifyAdapter rewards_verify{&verify.keeper()};
  RewardsProviderAdapter rewards_providers{&provider.keeper()};
  RewardsMarketAdapter rewards_market{&market.keeper()};
  x::rewards::Module rewards{x::rewards::Keepers{&rewards_bank, &rewards_mint, &rewards_oracle, &rewards_verify,
                                                 &rewards_providers, &rewards_market}};
  MarketRevenueAdapter market_revenue{&rewards.keeper()};
  WalletBankAdapter wallet_bank{&bank.keeper()};
  WalletIdentityAdapter wallet_identity{&identity.keeper()};
  x::wallet::Module wallet{&wallet_bank, &wallet_identity, [this] { return db ? db->height() + 1 : 1; }};
  ChannelBankAdapter channel_bank{&bank.keeper()};
  x::channel::Module channel{&channel_bank};
  // Genesis, hook and invariant order (rewards after the economy's modules: its epoch end sees
  // their block).
  std::vector<x::Module*> modules{&auth,   &bank, &identity, &provider, &market, &verify,
                                  &oracle, &bme,  &mint,     &rewards,  &wallet, &channel};
  std::map<std::string, x::MsgRoute, std::less<>> routes;
  std::string chain_id;
  int64_t initial_height = 1;
  AppOptions opts;

  std::unique_ptr<store::CacheStore> check_state;
  std::unique_ptr<store::CacheStore> genesis_state;  // InitChain output, committed with the first block
  std::unique_ptr<store::CacheStore> block_state;    // FinalizeBlock output, persisted by Commit
  int64_t block_height = 0;
  std::optional<Error> fault;  // a fault seen outside FinalizeBlock (CheckTx); reported by the next block

  TxPipeline pipeline(const SigCache* cache) const {
    return TxPipeline{&auth.keeper(), &bank.keeper(), &routes, cache, &wallet.keeper()};
  }
  x::BlockHeader check_header() const { return x::BlockHeader{chain_id, db->height() + 1, 0, {}, {}}; }
  // The last committed block's time (ms), 0 before the first block.
  int64_t last_block_time() const {
    if (!db) return 0;
    auto t = db->get_meta(kMetaLastBlockTime);
    return t && t->size() == 8 ? static_cast<int64_t>(GetU64BE(*t)) : 0;
  }
  // The state the next block builds on: genesis (not yet committed) or the committed state.
  const store::KVReader& latest() const {
    if (genesis_state) return *genesis_state;
    return db->committed();
  }
};

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
App::~App() = default;

Result<std::unique_ptr<App>> App::Open(const AppOptions& opts) {
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  auto db = store::StateDB::Open(opts.db_path);
  if (!db.ok()) return db.error();
  impl->db = std::move(db).value();
  impl->db->set_hash_threads(opts.hash_threads);
  // Module accounts whose balances other modules' invariants pin: no user transfers into them.
  impl->bank.block_address(x::provider::BondAddress());
  impl->bank.block_address(x::market::EscrowModuleAddress());
  impl->bank.block_address(x::verify::BondAddress());
  impl->bank.block_address(x::verify::SlashAddress());
  impl->bank.block_address(x::rewards::PendingAddress());
  impl->bank.block_address(x::channel::ModuleAddress());
  impl->bank.block_address(x::identity::ModuleAddress());
  impl->market.set_identity(&impl->market_identity);
  impl->market_providers.set_reputation(&impl->verify.keeper());
  impl->market.set_revenue_hook(&impl->market_revenue);
  impl->verify_market.set_oracle(&impl->oracle.keeper());
  for (auto* m : impl->modules)
    for (auto& r : m->routes()) impl->routes.emplace(r.type_url, std::move(r));
  impl->chain_id = impl->db->get_meta(kMetaChainId).value_or("");
  if (auto ih = impl->db->get_meta(kMetaInitialHeight)) impl->initial_height = static_cast<int64_t>(GetU64BE(*ih));
  impl->check_state = std::make_unique<store::CacheStore>(&impl->db->committed());
  std::unique_ptr<App> app(new App(std::move(impl)));
  if (app->impl_->db->height() > 0) DEPAI_TRY(app->CheckInvariants());
  return app;
}

const std::string& App::chain_id() const { return impl_->chain_id; }
int64_t App::last_height() const { return impl_->db->height(); }
const store::KVReader& App::committed_state() const { return impl_->db->committed(); }

ResponseInfo App::Info(const RequestInfo&) {
  ResponseInfo r;
  r.version = "0.1.0";
  r.last_block_height = impl_->db->height();
  r.last_block_app_hash = impl_->db->height() > 0 ? impl_->db->app_hash() : Bytes();
  return r;
}

Result<ResponseInitChain> App::InitChain(const RequestInitChain& req) {
  auto& I = *impl_;
  if (I.db->height() != 0) return Fault("InitChain called on a chain at height " + std::to_string(I.db->height()));
  if (req.chain_id.empty()) return x::RootErr(x::kErrInvalidGenesis, "chain_id must not be empty");
  json app_state = json::parse(req.app_state_bytes, nullptr, false);
  if (app_state.is_discarded() || !app_state.is_object())
    return x::RootErr(x::kErrInvalidGenesis, "app_state is not a JSON object");
  auto gen = std::make_unique<store::CacheStore>(&I.db->committed());
  x::GasMeter gas = x::GasMeter::Infinite();
  x::EventManager events;
  x::BlockHeader header{req.chain_id, req.initial_height, req.time_unix_ms, {}, {}};
  x::Context ctx{gen.get(), &gas, &events, &header, false};
  for (auto* m : I.modules) {
    // auth and bank sections are required; later modules default to an empty section.
    const bool required = m == &I.auth || m == &I.bank;
    if (!app_state.contains(m->name())) {
      if (required) return x::RootErr(x::kErrInvalidGenesis, "app_state has no '" + m->name() + "' section");
      DEPAI_TRY(m->init_genesis(ctx, json::object()));
      continue;
    }
    DEPAI_TRY(m->init_genesis(ctx, app_state[m->name()]));
  }
  // x/oracle checks vote-extension signatures against the validator set CometBFT starts with.
  if (!req.validators.empty()) {
    std::vector<std::pair<Bytes, int64_t>> vals;
    for (const auto& v : req.validators) vals.emplace_back(v.pub_key_ed25519, v.power);
    if (auto st = I.oracle.keeper().set_validators(*gen, vals); !st.ok())
      return x::RootErr(x::kErrInvalidGenesis, "InitChain validators: " + st.error().message);
  }
  if (req.vote_extensions_enable_height > 0)
    I.oracle.keeper().set_ve_enable_height(*gen, req.vote_extensions_enable_height);
  for (auto* m : I.modules) {
    auto st = m->check_invariants(*gen);
    if (!st.ok()) return x::RootErr(x::kErrInvalidGenesis, "genesis breaks an invariant: " + st.error().message);
  }
  I.chain_id = req.chain_id;
  I.initial_height = req.initial_height > 0 ? req.initial_height : 1;
  I.db->stage_meta(kMetaChainId, I.chain_id);
  I.db->stage_meta(kMetaInitialHeight, U64BE(static_cast<uint64_t>(I.initial_height)));
  ResponseInitChain r;
  r.app_hash = I.db->prepare(*gen);
  r.validators = req.validators;
  I.genesis_state = std::move(gen);
  I.check_state = std::make_unique<store::CacheStore>(I.genesis_state.get());
  return r;
}

ResponseCheckTx App::CheckTx(const RequestCheckTx& req) {
  auto& I = *impl_;
  ResponseCheckTx r;
  if (I.chain_id.empty()) {
    r.code = x::kErrInternal;
    r.codespace = x::kRootCodespace;
    r.log = "chain not initialised (no InitChain yet)";
    return r;
  }
  auto header = I.check_header();
  auto mode = req.type == CheckTxType::kRecheck ? ExecMode::kRecheck : ExecMode::kCheck;
  auto ran = Guard([&]() -> Result<ExecTxResult> {
    return I.pipeline(sig_cache_).RunTx(mode, req.tx, *I.check_state, header, &r.sender, &r.sequence);
  });
  if (!ran.ok()) {
    // A fault is never a tx result: the tx is refused as internal, and the next FinalizeBlock
    // reports the fault so the driver halts.
    if (!I.fault) I.fault = ran.error();
    r.code = x::kErrInternal;
    r.codespace = x::kRootCodespace;
    r.log = "node fault; the node is halting";
    return r;
  }
  auto& res = ran.value();
  r.code = res.code;
  r.codespace = res.codespace;
  r.log = res.log;
  r.gas_wanted = res.gas_wanted;
  r.gas_used = res.gas_used;
  r.events = std::move(res.events);
  return r;
}

ResponsePrepareProposal App::PrepareProposal(const RequestPrepareProposal& req) {
  auto& I = *impl_;
  ResponsePrepareProposal r;
  int64_t bytes = 0;
  // With vote extensions on, the block starts with the previous height's extended commit.
  auto required = Guard([&] { return I.oracle.keeper().injection_required(I.latest(), req.height); });
  if (required.ok() && *required) {
    x::oracle::InjectedVotes v;
    v.set_height(req.height - 1);
    v.set_round(req.local_last_commit.round);
    for (const auto& e : req.local_last_commit.votes) {
      auto* pv = v.add_votes();
      pv->set_validator_address(e.validator_address);
      pv->set_power(e.power);
      pv->set_vote_extension(e.vote_extension);
      pv->set_extension_signature(e.extension_signature);
      pv->set_block_id_flag(e.block_id_flag);
    }
    r.txs.push_back(x::oracle::Keeper::EncodeInjection(v));
    bytes += static_cast<int64_t>(r.txs.back().size());
  }
  for (const auto& tx : req.txs) {
    if (r.txs.size() >= I.opts.max_block_txs) break;
    if (req.max_tx_bytes > 0 && bytes + static_cast<int64_t>(tx.size()) > req.max_tx_bytes) break;
    if (!x::DecodeTx(tx).ok()) continue;  // never propose undecodable bytes (nor an injection)
    bytes += static_cast<int64_t>(tx.size());
    r.txs.push_back(tx);
  }
  return r;
}

ResponseProcessProposal App::ProcessProposal(const RequestProcessProposal& req) {
  auto& I = *impl_;
  ResponseProcessProposal r;
  auto reject = [&](std::string why) {
    r.status = ProposalStatus::kReject;
    r.reason = std::move(why);
    return r;
  };
  if (req.txs.size() > I.opts.max_block_txs + 1) return reject("too many txs");
  auto checked = Guard([&]() -> Status {
    DEPAI_ASSIGN_OR_RETURN(bool required, I.oracle.keeper().injection_required(I.latest(), req.height));
    const bool first = !req.txs.empty() && x::oracle::Keeper::IsInjection(req.txs[0]);
    if (required && !first)
      return x::oracle::OracleErr(x::oracle::kErrInvalidInjection,
                                  "invalid oracle injection: missing (vote extensions are on at this height)");
    if (!required && first)
      return x::oracle::OracleErr(x::oracle::kErrInvalidInjection,
                                  "invalid oracle injection: vote extensions are off at this height");
    if (first) {
      DEPAI_ASSIGN_OR_RETURN(auto v, x::oracle::Keeper::DecodeInjection(req.txs[0]));
      DEPAI_TRY(I.oracle.keeper().check_injection(I.latest(), v, I.chain_id, req.height));
    }
    const size_t limit = first ? I.opts.max_block_txs + 1 : I.opts.max_block_txs;
    if (req.txs.size() > limit) return x::RootErr(x::kErrInvalidRequest, "too many txs");
    for (size_t i = first ? 1 : 0; i < req.txs.size(); ++i) {
      if (x::oracle::Keeper::IsInjection(req.txs[i]))
        return x::oracle::OracleErr(x::oracle::kErrInvalidInjection,
                                    "invalid oracle injection: a second one at tx " + std::to_string(i));
      if (!x::DecodeTx(req.txs[i]).ok())
        return x::RootErr(x::kErrTxDecode, "tx " + std::to_string(i) + " does not decode");
    }
    return {};
  });
  if (!checked.ok()) return reject(checked.error().message);
  return r;
}

ResponseExtendVote App::ExtendVote(const RequestExtendVote&) {
  ResponseExtendVote r;
  if (price_feed_) r.vote_extension = x::oracle::Keeper::EncodeExtension(price_feed_->price_e9());
  return r;
}

ResponseVerifyVoteExtension App::VerifyVoteExtension(const RequestVerifyVoteExtension& req) {
  ResponseVerifyVoteExtension r;
  auto d = Guard([&] { return impl_->oracle.keeper().decode_extension(impl_->latest(), req.vote_extension); });
  if (!d.ok()) {
    r.status = VerifyStatus::kReject;
    r.reason = d.error().message;
  }
  return r;
}

Result<ResponseFinalizeBlock> App::FinalizeBlock(const RequestFinalizeBlock& req) {
  return Guard([&] { return FinalizeBlockImpl(req); });
}

Result<ResponseFinalizeBlock> App::FinalizeBlockImpl(const RequestFinalizeBlock& req) {
  auto& I = *impl_;
  if (I.fault) return *I.fault;
  if (I.chain_id.empty()) return Fault("FinalizeBlock before InitChain");
  const int64_t expect = I.db->height() == 0 ? I.initial_height : I.db->height() + 1;
  if (req.height != expect)
    return Fault("FinalizeBlock at height " + std::to_string(req.height) + ", expected " + std::to_string(expect));
  if (I.genesis_state) {
    // Genesis writes are committed together with the first block.
    I.block_state = std::make_unique<store::CacheStore>(I.genesis_state.get());
  } else {
    I.block_state = std::make_unique<store::CacheStore>(&I.db->committed());
  }
  x::BlockHeader header{I.chain_id, req.height, req.time_unix_ms, req.proposer_address, req.hash};
  ResponseFinalizeBlock r;
  auto pipeline = I.pipeline(sig_cache_);
  r.tx_results.reserve(req.txs.size());
  x::GasMeter hook_gas = x::GasMeter::Infinite();
  x::EventManager hook_events;
  x::Context hook_ctx{I.block_state.get(), &hook_gas, &hook_events, &header, false};
  auto halt = [&](const char* where, const Error& e) {
    return Error{e.codespace, e.code,
                 std::string(where) + " at height " + std::to_string(req.height) + ": " + e.message};
  };
  for (auto* m : I.modules)
    if (auto st = m->begin_block(hook_ctx); !st.ok()) return halt((m->name() + " begin_block").c_str(), st.error());
  // The oracle's injection (the first "tx" under vote extensions) is no tx: x/oracle aggregates it.
  size_t first_tx = 0;
  if (!req.txs.empty() && x::oracle::Keeper::IsInjection(req.txs[0])) {
    first_tx = 1;
    ExecTxResult res;
    auto v = x::oracle::Keeper::DecodeInjection(req.txs[0]);
    Status st = v.ok() ? I.oracle.keeper().check_injection(*I.block_state, *v, I.chain_id, req.height) : v.error();
    if (st.ok()) {
      if (auto agg = I.oracle.keeper().aggregate_injection(hook_ctx, *v); !agg.ok())
        return halt("oracle injection", agg.error());
      res.log = "oracle vote extensions of height " + std::to_string(req.height - 1);
    } else {
      if (x::IsFault(st.error())) return halt("oracle injection", st.error());
      res.code = st.error().code;
      res.codespace = st.error().codespace;
      res.log = st.error().message;
    }
    r.tx_results.push_back(std::move(res));
  }
  r.events = hook_events.take();
  for (size_t i = first_tx; i < req.txs.size(); ++i) {
    const auto& tx = req.txs[i];
    auto res = pipeline.RunTx(ExecMode::kDeliver, tx, *I.block_state, header);
    if (!res.ok()) return halt("fault in a tx", res.error());
    r.tx_results.push_back(std::move(res).value());
  }
  for (auto* m : I.modules)
    if (auto st = m->end_block(hook_ctx); !st.ok()) return halt((m->name() + " end_block").c_str(), st.error());
  for (auto& e : hook_events.take()) r.events.push_back(std::move(e));
  if (I.genesis_state) {
    // Flatten: the block store must hold genesis + block writes relative to committed state.
    I.block_state->write_to(*I.genesis_state);
    I.block_state = std::move(I.genesis_state);
  }
  for (auto* m : I.modules) {
    auto st = m->check_block_invariants(*I.block_state, I.db->committed());
    if (!st.ok())
      return x::Fault(
          st.error().codespace == x::kFaultCodespace ? static_cast<x::FaultCode>(st.error().code) : x::kFaultInvariant,
          "invariant broken at height " + std::to_string(req.height) + ": " + st.error().message);
  }
  I.db->stage_meta(kMetaLastBlockTime, U64BE(static_cast<uint64_t>(req.time_unix_ms)));
  r.app_hash = I.db->prepare(*I.block_state);
  I.block_height = req.height;
  return r;
}

Result<ResponseCommit> App::Commit() {
  auto& I = *impl_;
  if (I.fault) return *I.fault;
  if (!I.block_state) return Fault("Commit without FinalizeBlock");
  DEPAI_TRY(I.db->commit(*I.block_state, I.block_height));
  I.block_state.reset();
  I.check_state = std::make_unique<store::CacheStore>(&I.db->committed());
  return ResponseCommit{};
}

ResponseQuery App::Query(const RequestQuery& req) {
  ResponseQuery r;
  r.height = impl_->db->height();
  for (auto* m : impl_->modules) {
    auto res = Guard([&]() -> std::optional<Result<json>> { return m->query(impl_->db->committed(), req.path); });
    if (!res) continue;
    if (!res->ok()) {
      r.code = res->error().code;
      r.codespace = res->error().codespace;
      r.log = res->error().message;
    } else {
      r.value = res->value().dump();
    }
    return r;
  }
  r.code = x::kErrUnknownRequest;
  r.codespace = x::kRootCodespace;
  r.log = "unknown query path: " + req.path;
  return r;
}

Result<std::string> App::ExportGenesis() const {
  return Guard([&] { return ExportGenesisImpl(); });
}

Result<std::string> App::ExportGenesisImpl() const {
  json app_state = json::object();
  for (auto* m : impl_->modules) {
    auto section = m->export_genesis(impl_->db->committed());
    if (!section.ok()) return section.error();
    app_state[m->name()] = std::move(section).value();
  }
  json g{{"chain_id", impl_->chain_id},
         {"initial_height", impl_->db->height() + 1},
         {"app_hash", HexEncode(impl_->db->app_hash(), true)},
         {"app_state", app_state}};
  return g.dump(2);
}

std::vector<const x::Module*> App::Modules() const {
  return std::vector<const x::Module*>(impl_->modules.begin(), impl_->modules.end());
}

Status App::CheckInvariants() const {
  return Guard([&]() -> Status {
    for (auto* m : impl_->modules) {
      auto st = m->check_invariants(impl_->db->committed());
      if (!st.ok()) return x::Fault(x::kFaultInvariant, "invariant broken: " + st.error().message);
    }
    return {};
  });
}

std::vector<App::SigCheck> App::SigChecksFor(std::string_view txb, AccountNumbers* known) const {
  // Only the parsing the triple needs, not DecodeTx's full checks (body, canonical re-encoding,
  // fee): a tx those refuse is refused when the App runs it, and its triple is never asked for.
  // Whatever these bytes hold, a triple is only ever answered "valid" after libsodium verified
  // exactly that (pubkey, sign bytes, signature), so a looser parse here cannot admit anything.
  depai::tx::v1::TxRaw raw;
  if (!raw.ParseFromArray(txb.data(), static_cast<int>(txb.size())) || raw.signatures_size() != 1) return {};
  depai::tx::v1::AuthInfo auth_info;
  if (!auth_info.ParseFromString(raw.auth_info_bytes()) || auth_info.signer_infos_size() != 1) return {};
  const auto& si = auth_info.signer_infos(0);
  if (si.public_key().size() != crypto::kPubKeySize || (!si.wallet().empty() && si.wallet().size() != 20)) return {};
  // The account whose number is signed: the agent wallet's for a session-key tx.
  const Bytes signer = si.wallet().empty() ? crypto::AddressOf(si.public_key()) : si.wallet();
  std::optional<uint64_t> number = known ? known->find(signer) : std::nullopt;
  if (!number) {
    auto got = Guard([&] { return impl_->auth.keeper().get_account(impl_->db->committed(), signer); });
    if (!got.ok() || !*got) return {};
    number = (*got)->account_number();
    if (known) known->put(signer, *number);
  }
  return {SigCheck{si.public_key(), x::SignBytes(raw.body_bytes(), raw.auth_info_bytes(), impl_->chain_id, *number),
                   raw.signatures(0)}};
}

std::string App::TxToJson(std::string_view txb) const {
  auto tx = x::DecodeTx(txb);
  if (!tx.ok()) return json{{"error", tx.error().message}}.dump();
  json msgs = json::array();
  for (const auto& any : tx->body.messages()) {
    auto it = impl_->routes.find(any.type_url());
    if (it == impl_->routes.end()) {
      msgs.push_back(json{{"@type", any.type_url()}});
      continue;
    }
    msgs.push_back(it->second.to_json(any.value()));
  }
  const auto& si = tx->auth_info.signer_infos(0);
  return json{
      {"body",
       {{"messages", msgs}, {"memo", tx->body.memo()}, {"timeout_height", std::to_string(tx->body.timeout_height())}}},
      {"auth_info",
       {{"signer", crypto::AddressToBech32(si.wallet().empty() ? crypto::AddressOf(si.public_key()) : si.wallet())},
        {"session_key_of_wallet", !si.wallet().empty()},
        {"public_key", crypto::Base64Encode(si.public_key())},
        {"sequence", std::to_string(si.sequence())},
        {"fee",
         {{"amount", x::bank::CoinsToJson(tx->fee)}, {"gas_limit", std::to_string(tx->auth_info.fee().gas_limit())}}}}},
      {"signatures", json::array({crypto::Base64Encode(tx->raw.signatures(0))})}}
      .dump();
}

}  // namespace depai::app
