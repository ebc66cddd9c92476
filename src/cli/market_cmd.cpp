// `depai tx market ...` and `depai query market ...`: the x/market messages and queries.
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "client/market_msgs.h"
#include "crypto/bech32.h"

namespace depai::cli {

using nlohmann::json;

namespace {

// Refunding up to 20 losing bids (create-lease, close-order) needs more than the usual gas.
constexpr uint64_t kBigGas = 800000;
constexpr const char* kBigFees = "40udpai";

struct MarketArgs {
  TxArgs tx;
  OrderTermsFlags terms;
  std::string key, id, id2, amount, provider, spec, reason = "owner", owner, state;
};

// "50udpai", "50ucredit" or "50" (udpai): the amount and its denom (a credit-priced order's bids
// and deposits are in ucredit).
Coin PriceOrThrow(const std::string& s, const char* what) {
  std::string v = s.find_first_not_of("0123456789") == std::string::npos ? s + "udpai" : s;
  auto c = ParseCoinsOrThrow(v, what);
  if (c.list().size() != 1 || c.list()[0].amount.is_zero() ||
      (c.list()[0].denom != "udpai" && c.list()[0].denom != "ucredit"))
    throw CommandError{std::string(what) +
                       ": expected a positive udpai (or, on a credit-priced order, ucredit) "
                       "amount such as 50udpai, got '" +
                       s + "'"};
  return c.list()[0];
}

std::string AddrOrThrow(const std::string& s, const char* what) {
  auto a = crypto::AddressFromBech32(s);
  if (!a.ok()) throw CommandError{std::string(what) + ": " + a.error().message};
  return s;
}

void PrintOrderLine(const json& o) {
  std::cout << o.value("id", "?") << "  " << o.value("state", "?") << "  owner " << o.value("owner", "?") << "  max "
            << o.value("max_price_per_block", "?") << (o.value("denom", "").empty() ? "udpai" : o.value("denom", ""))
            << "/block  window_end " << o.value("bid_window_end", "?") << "  lease " << o.value("lease_id", "0")
            << "\n";
}

void PrintLeaseLine(const json& v) {
  const json& l = v["lease"];
  std::cout << l.value("id", "?") << "  " << l.value("state", "?") << "  order " << l.value("order_id", "?")
            << "  provider " << l.value("provider", "?") << "  " << l.value("price_per_block", "?")
            << "udpai/block  withdrawable " << v.value("withdrawable_now", "0") << "  funded_until "
            << v.value("funded_until", "-") << "\n";
}

// Adds a signing subcommand: KEY positional plus the tx flags; `run` builds the message.
CLI::App* TxCommand(CLI::App* parent, const char* name, const char* help, const std::shared_ptr<MarketArgs>& a,
                    bool big_gas) {
  auto* c = parent->add_subcommand(name, help);
  c->add_option("key", a->key, "Key name (or address) in the keyring that signs")->required();
  if (big_gas) {
    a->tx.gas = kBigGas;
    a->tx.fees = kBigFees;
  }
  return c;
}

void Broadcast(const GlobalOptions& g, MarketArgs& a,
               const std::function<google::protobuf::Any(const std::string&)>& make, const std::string& summary,
               const std::function<void(const json&)>& after = nullptr) {
  ParseCoinsOrThrow(a.tx.fees, "--fees");
  auto key = LoadKeyOrThrow(g, a.key);
  std::string from = SignerAddress(g, key);
  auto any = make(from);
  json answer = SignAndBroadcast(g, a.tx, key, from, {any}, summary + " (signer " + from + ")");
  if (after && g.output != "json") after(answer);
}

}  // namespace

void RegisterMarketCommands(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.get_subcommand("tx");
  auto* mt = tx->add_subcommand("market", "x/market transactions (orders, bids, leases, escrow)");
  mt->require_subcommand(1);

  {
    auto a = std::make_shared<MarketArgs>();
    auto* c = TxCommand(mt, "create-order", "Create an order from a JSON form of MsgCreateOrder", a, false);
    c->add_option("--spec-json", a->spec,
                  "JSON file: groups, placement, max_price_per_block (\"100udpai\"), "
                  "bid_window_blocks, deposit, manifest_hash (hex), auto_select, "
                  "reopen_on_provider_close, sla {min_uptime_bps, max_latency_ms}, min_reputation_bps")
        ->required();
    AddOrderTermsFlags(c, a->terms);
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      std::ifstream f(a->spec);
      if (!f) throw CommandError{"cannot read " + a->spec};
      json j = json::parse(f, nullptr, false);
      if (j.is_discarded()) throw CommandError{a->spec + " is not valid JSON"};
      Broadcast(
          g, *a,
          [&](const std::string& from) {
            auto m = client::MsgCreateOrderFromJson(j, from);
            if (!m.ok()) throw CommandError{m.error().message};
            ApplyOrderTerms(a->terms, &m.value());
            return client::PackMsgCreateOrder(*m);
          },
          "create order from " + a->spec,
          [](const json& ans) {
            std::cout << "order_id: " << EventAttr(ans, "market.order_created", "order_id") << "\n";
          });
    });
  }
  {
    auto a = std::make_shared<MarketArgs>();
    auto* c = TxCommand(mt, "close-order", "Close an order: KEY ORDER_ID (refunds bids and the escrow)", a, true);
    c->add_option("order_id", a->id, "Order id")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "order_id");
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgCloseOrder(from, id); }, "close order " + a->id);
    });
  }
  {
    auto a = std::make_shared<MarketArgs>();
    auto* c =
        TxCommand(mt, "bid", "Bid on an order as a provider: KEY ORDER_ID PRICE (e.g. 50udpai per block)", a, false);
    c->add_option("order_id", a->id, "Order id")->required();
    c->add_option("price", a->amount, "Price per block, e.g. 50udpai")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "order_id");
      Coin price = PriceOrThrow(a->amount, "price");
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgCreateBid(from, id, price.amount, price.denom); },
          "bid " + price.str() + "/block on order " + a->id);
    });
  }
  {
    auto a = std::make_shared<MarketArgs>();
    auto* c = TxCommand(mt, "close-bid", "Withdraw an open bid: KEY ORDER_ID (refunds the deposit)", a, false);
    c->add_option("order_id", a->id, "Order id")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "order_id");
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgCloseBid(from, id); },
          "close bid on order " + a->id);
    });
  }
  {
    auto a = std::make_shared<MarketArgs>();
    auto* c = TxCommand(mt, "create-lease", "Accept a bid: KEY ORDER_ID PROVIDER_ADDR", a, true);
    c->add_option("order_id", a->id, "Order id")->required();
    c->add_option("provider", a->provider, "depai1... address of the provider whose bid to accept")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "order_id");
      std::string prov = AddrOrThrow(a->provider, "provider");
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgCreateLease(from, id, prov); },
          "accept the bid of " + prov + " on order " + a->id,
          [](const json& ans) {
            std::cout << "lease_id: " << EventAttr(ans, "market.lease_created", "lease_id") << "\n";
          });
    });
  }
  {
    auto a = std::make_shared<MarketArgs>();
    auto* c = TxCommand(mt, "close-lease", "Close a lease: KEY LEASE_ID [--reason ...]", a, false);
    c->add_option("lease_id", a->id, "Lease id")->required();
    c->add_option("--reason", a->reason,
                  "owner | unstable | decommission | manifest-timeout | resources-unavailable | workload-failed | "
                  "workload-completed")
        ->capture_default_str();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "lease_id");
      auto reason = client::ParseCloseReason(a->reason);
      if (!reason.ok()) throw CommandError{reason.error().message};
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgCloseLease(from, id, *reason); },
          "close lease " + a->id + " (reason " + a->reason + ")");
    });
  }
  {
    auto a = std::make_shared<MarketArgs>();
    auto* c = TxCommand(mt, "deposit", "Top up an order's escrow: KEY ORDER_ID AMOUNT", a, false);
    c->add_option("order_id", a->id, "Order id")->required();
    c->add_option("amount", a->amount, "Amount, e.g. 100000udpai")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "order_id");
      Coin amt = PriceOrThrow(a->amount, "amount");
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgDepositEscrow(from, id, amt.amount, amt.denom); },
          "deposit " + amt.str() + " into the escrow of order " + a->id);
    });
  }
  {
    auto a = std::make_shared<MarketArgs>();
    auto* c = TxCommand(mt, "withdraw", "Withdraw a lease's settled earnings as its provider: KEY LEASE_ID", a, false);
    c->add_option("lease_id", a->id, "Lease id")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "lease_id");
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgWithdrawLease(from, id); },
          "withdraw from lease " + a->id,
          [](const json& ans) {
            std::cout << "withdrawn: " << EventAttr(ans, "market.lease_withdraw", "amount") << "udpai\n";
          });
    });
  }

  // ---- queries ----
  auto* q = app.get_subcommand("query");
  auto* mq = q->add_subcommand("market", "x/market queries");
  mq->require_subcommand(1);
  auto qa = std::make_shared<MarketArgs>();

  auto* orders = mq->add_subcommand("orders", "List orders [--owner ADDR|KEY] [--state open]");
  orders->add_option("--owner", qa->owner, "Only orders of this owner (address or key name)");
  orders->add_option("--state", qa->state, "open | active | closed");
  orders->callback([&g, qa] {
    std::string path = "/q/market/orders", sep = "?";
    if (!qa->owner.empty()) {
      path += sep + "owner=" + AddressOrKeyOrThrow(g, qa->owner);
      sep = "&";
    }
    if (!qa->state.empty()) path += sep + "state=" + qa->state;
    Print(g, GetJsonOrThrow(g, path), [](const json& j) {
      if (j["orders"].empty()) std::cout << "(no orders)\n";
      for (const auto& o : j["orders"]) PrintOrderLine(o);
    });
  });
  auto* order = mq->add_subcommand("order", "One order with its escrow and current lease: ORDER_ID");
  order->add_option("order_id", qa->id, "Order id")->required();
  order->callback([&g, qa] {
    Print(g, GetJsonOrThrow(g, "/q/market/orders/" + std::to_string(IdOrThrow(qa->id, "order_id"))),
          [](const json& j) { std::cout << j.dump(2) << "\n"; });
  });
  auto* bids = mq->add_subcommand("bids", "Bids on an order: ORDER_ID");
  bids->add_option("order_id", qa->id, "Order id")->required();
  bids->callback([&g, qa] {
    Print(g, GetJsonOrThrow(g, "/q/market/orders/" + std::to_string(IdOrThrow(qa->id, "order_id")) + "/bids"),
          [](const json& j) {
            if (j["bids"].empty()) std::cout << "(no bids)\n";
            for (const auto& b : j["bids"])
              std::cout << b.value("provider", "?") << "  " << b.value("price_per_block", "?") << "udpai/block  "
                        << b.value("state", "?") << "  height " << b.value("height", "?") << "\n";
          });
  });
  auto* leases = mq->add_subcommand("leases", "List leases [--provider ADDR|KEY | --owner ADDR|KEY] [--state active]");
  leases->add_option("--provider", qa->provider, "Only leases served by this provider");
  leases->add_option("--owner", qa->owner, "Only leases of this owner");
  leases->add_option("--state", qa->state, "active | grace | closed");
  leases->callback([&g, qa] {
    std::string path = "/q/market/leases", sep = "?";
    if (!qa->provider.empty()) {
      path += sep + "provider=" + AddressOrKeyOrThrow(g, qa->provider);
      sep = "&";
    } else if (!qa->owner.empty()) {
      path += sep + "owner=" + AddressOrKeyOrThrow(g, qa->owner);
      sep = "&";
    }
    if (!qa->state.empty()) path += sep + "state=" + qa->state;
    Print(g, GetJsonOrThrow(g, path), [](const json& j) {
      if (j["leases"].empty()) std::cout << "(no leases)\n";
      for (const auto& l : j["leases"]) PrintLeaseLine(l);
    });
  });
  auto* lease = mq->add_subcommand("lease", "One lease with its escrow settled at the committed height: LEASE_ID");
  lease->add_option("lease_id", qa->id, "Lease id")->required();
  lease->callback([&g, qa] {
    Print(g, GetJsonOrThrow(g, "/q/market/leases/" + std::to_string(IdOrThrow(qa->id, "lease_id"))),
          [](const json& j) { std::cout << j.dump(2) << "\n"; });
  });
  auto* params = mq->add_subcommand("params", "Market parameters");
  params->callback(
      [&g] { Print(g, GetJsonOrThrow(g, "/q/market/params"), [](const json& j) { std::cout << j.dump(2) << "\n"; }); });
}

}  // namespace depai::cli
