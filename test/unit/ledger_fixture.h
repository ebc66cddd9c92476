// TestLedger: an in-process test ledger (in-memory RocksDB) with funded accounts and helpers to
// sign transactions and run blocks through the real ABCI-shaped App. Deterministic: keys come
// from fixed seeds, block times from the height.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/app.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"

namespace depai::test {

struct TestAccount {
  crypto::KeyPair key;
  Bytes addr;
  std::string bech32;
  uint64_t number = 0;
  uint64_t sequence = 0;
};

class TestLedger {
 public:
  static constexpr uint64_t kInitialBalance = 1'000'000'000;
  static constexpr const char* kChainId = "depai-test-1";

  explicit TestLedger(size_t n_accounts = 4, std::string db_path = "", bool init = true) {
    crypto::InitCrypto();
    for (size_t i = 0; i < n_accounts; ++i) {
      Bytes seed = crypto::Sha256("test-account-" + std::to_string(i));
      TestAccount a;
      a.key = *crypto::KeyFromSeed(seed);
      a.addr = crypto::AddressOf(a.key.pubkey);
      a.bech32 = crypto::AddressToBech32(a.addr);
      a.number = i;
      accounts.push_back(a);
    }
    app::AppOptions o;
    o.db_path = std::move(db_path);
    auto r = app::App::Open(o);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    app = std::move(r).value();
    if (init && app->last_height() == 0) {
      auto ic = app->InitChain(InitRequest());
      if (!ic.ok()) throw std::runtime_error(ic.error().message);
      Block({});  // commit genesis with block 1 so tests start from a committed state
    }
  }

  nlohmann::json Genesis() const {
    nlohmann::json accs = nlohmann::json::array(), bals = nlohmann::json::array();
    for (const auto& a : accounts) {
      accs.push_back({{"address", a.bech32}, {"account_number", std::to_string(a.number)}});
      bals.push_back({{"address", a.bech32},
                      {"coins",
                       {{{"denom", "udpai"}, {"amount", std::to_string(kInitialBalance)}},
                        {{"denom", "ucredit"}, {"amount", "500"}}}}});
    }
    return {{"auth", {{"accounts", accs}}},
            {"bank",
             {{"denom_metadata",
               {{{"denom", "udpai"},
                 {"display", "DPAI"},
                 {"exponent", 6},
                 {"transferable", true},
                 {"max_supply", "1000000000000000000"}},
                {{"denom", "ucredit"}, {"display", "CREDIT"}, {"exponent", 6}, {"transferable", false}}}},
              {"balances", bals}}},
            {"provider",
             {{"params", {{"min_collateral", "1000000"}, {"unbonding_blocks", "100"}, {"heartbeat_window", "10"}}}}},
            // x/market defaults, spelled out (tests replace this section to change params).
            {"market",
             {{"params",
               {{"bid_deposit", "100000"},
                {"max_bids_per_order", 20},
                {"take_fee_bps", 200},
                {"low_balance_blocks", "50"},
                {"grace_period_blocks", "20"},
                {"min_bid_window", "1"},
                {"max_bid_window", "1000"},
                {"score_price_bps", 6000},
                {"score_locality_bps", 2000},
                {"score_reputation_bps", 2000},
                {"min_deposit", "1000"},
                {"checker_pool_bps", 2500}}}}},
            // No emissions by default, so a block without txs changes nothing (tests of mint and
            // rewards set their own schedule).
            {"mint", {{"params", {{"initial_reward", "0"}}}}},
            // x/verify with short epochs and small challenges, so seeded runs reach decisions
            // (no round starts before three checkers are registered).
            {"verify",
             {{"params",
               {{"epoch_blocks", "5"},
                {"compute_every_epochs", 2},
                {"attest_window", "4"},
                {"probe_window", "2"},
                {"sample_rows", 4},
                {"target_prove_ms", "1"},
                {"min_n", 16},
                {"max_n", 64},
                {"base_blocks", "2"},
                {"appeal_window", "4"},
                {"checker_unbonding_blocks", "5"}}}}}};
  }

  app::RequestInitChain InitRequest() const {
    app::RequestInitChain req;
    req.chain_id = kChainId;
    req.initial_height = 1;
    req.app_state_bytes = Genesis().dump();
    return req;
  }

  Bytes Send(size_t from, const std::string& to, const std::string& amount, const std::string& fee = "10udpai",
             std::string chain_id = kChainId, std::optional<uint64_t> seq = std::nullopt, uint64_t gas = 200000) {
    auto& a = accounts.at(from);
    client::SignerData sd{std::move(chain_id), a.number, seq.value_or(a.sequence)};
    client::TxOptions opts;
    opts.fee = Coins::Parse(fee).value();
    opts.gas_limit = gas;
    auto any = client::PackMsgSend(a.bech32, to, amount.empty() ? Coins() : Coins::Parse(amount).value());
    return client::BuildSignedTx(a.key, sd, {any}, opts);
  }

  Bytes SignAny(size_t from, const std::vector<google::protobuf::Any>& msgs, const std::string& fee = "10udpai") {
    auto& a = accounts.at(from);
    client::SignerData sd{kChainId, a.number, a.sequence};
    client::TxOptions opts;
    opts.fee = Coins::Parse(fee).value();
    return client::BuildSignedTx(a.key, sd, msgs, opts);
  }

  // Runs one block with `txs` and commits it. Returns the per-tx results.
  std::vector<app::ExecTxResult> Block(const std::vector<Bytes>& txs) {
    app::RequestFinalizeBlock req;
    req.txs = txs;
    req.height = app->last_height() + 1;
    req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
    auto r = app->FinalizeBlock(req);
    if (!r.ok()) throw std::runtime_error("FinalizeBlock: " + r.error().message);
    last_app_hash = r->app_hash;
    auto c = app->Commit();
    if (!c.ok()) throw std::runtime_error("Commit: " + c.error().message);
    SyncSequences();
    return r->tx_results;
  }

  void SyncSequences() {
    for (auto& a : accounts) {
      auto q = Query("/auth/account/" + a.bech32);
      if (q.contains("sequence")) a.sequence = std::stoull(q["sequence"].get<std::string>());
    }
  }

  nlohmann::json Query(const std::string& path) {
    app::RequestQuery q;
    q.path = path;
    auto r = app->Query(q);
    if (r.code != 0) return nlohmann::json{{"code", r.code}, {"codespace", r.codespace}, {"log", r.log}};
    return nlohmann::json::parse(r.value);
  }

  uint64_t Balance(const std::string& bech32, const std::string& denom = "udpai") {
    auto j = Query("/bank/balances/" + bech32);
    for (const auto& c : j["balances"])
      if (c["denom"] == denom) return std::stoull(c["amount"].get<std::string>());
    return 0;
  }

  Bytes AppHash() { return app->Info({}).last_block_app_hash; }

  std::vector<TestAccount> accounts;
  std::unique_ptr<app::App> app;
  Bytes last_app_hash;
};

}  // namespace depai::test
