// `depai tx oracle post-price`, `depai oracle feed` (a devnet feeder loop) and
// `depai query oracle price` (doc/modules/oracle.md).
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "crypto/bech32.h"
#include "oracle/source.h"
#include "x/oracle/module.h"
#include "x/types/sim.h"

namespace depai::cli {

using nlohmann::json;

namespace {
struct OracleArgs {
  TxArgs tx;
  std::string price;
  std::vector<std::string> sources;
  std::string interval = "1s";
  uint64_t count = 0;  // feed: 0 = until interrupted
};

google::protobuf::Any PostPriceAny(const std::string& feeder, uint64_t price_e9) {
  depai::oracle::v1::MsgPostPrice m;
  m.set_feeder(feeder);
  m.set_price_e9(price_e9);
  return x::PackAny(x::oracle::kTypePostPrice, m);
}

// "1s", "500ms", "2m" -> milliseconds.
int64_t IntervalMsOrThrow(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  const std::string num = s.substr(0, i), unit = s.substr(i);
  int64_t mult = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 0;
  if (num.empty() || num.size() > 9 || mult == 0 || std::stoll(num) == 0)
    throw CommandError{"--interval: expected a duration such as 500ms, 1s or 2m, got '" + s + "'"};
  return std::stoll(num) * mult;
}

void Feed(const GlobalOptions& g0, OracleArgs& a) {
  GlobalOptions g = g0;
  g.yes = true;
  const int64_t interval = IntervalMsOrThrow(a.interval);
  if (a.sources.empty()) throw CommandError{"--source is required (file:<path>, http://host/path#/ptr, fixed:<usd>)"};
  auto sources = OrThrow(oracle::ParseSources(a.sources));
  ParseCoinsOrThrow(a.tx.fees, "--fees");
  auto key = LoadKeyOrThrow(g, a.tx.from);
  const std::string from = crypto::AddressToBech32(crypto::AddressOf(key.pubkey));
  for (uint64_t n = 0; a.count == 0 || n < a.count; ++n) {
    if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval));
    std::vector<uint64_t> got;
    for (const auto& s : sources) {
      auto v = s->fetch();
      if (v.ok())
        got.push_back(*v);
      else
        std::cerr << "oracle feed: " << v.error().message << "\n";
    }
    if (got.empty()) {
      std::cerr << "oracle feed: no source answered; nothing posted\n";
      continue;
    }
    const uint64_t price = oracle::MedianOf(got);
    try {
      TxArgs t = a.tx;
      auto out = SignAndBroadcast(g, t, key, from, {PostPriceAny(from, price)},
                                  "post price " + x::oracle::FormatUsdE9(price) + " USD (feeder " + from + ")");
      (void)out;
    } catch (const CommandError& e) {
      std::cerr << "oracle feed: " << e.message << "\n";
    }
  }
}
}  // namespace

void RegisterOracleCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<OracleArgs>();
  auto* tx = app.get_subcommand("tx");
  auto* ot = tx->add_subcommand("oracle", "x/oracle transactions (devnet feeders)");
  ot->require_subcommand(1);
  auto* post = ot->add_subcommand("post-price", "Post a DPAI/USD price as a feeder: USD-DECIMAL --from KEY");
  post->add_option("price", a->price, "USD per DPAI, at most 9 decimals (e.g. 0.42)")->required();
  post->add_option("--from", a->tx.from, "Feeder key name or address (must be in oracle params.feeders)")->required();
  AddTxFlags(post, a->tx);
  post->callback([&g, a] {
    const uint64_t price = OrThrow(x::oracle::ParseUsdE9(a->price));
    if (price == 0) throw CommandError{"price must be positive"};
    ParseCoinsOrThrow(a->tx.fees, "--fees");
    auto key = LoadKeyOrThrow(g, a->tx.from);
    const std::string from = crypto::AddressToBech32(crypto::AddressOf(key.pubkey));
    SignAndBroadcast(g, a->tx, key, from, {PostPriceAny(from, price)},
                     "post price " + x::oracle::FormatUsdE9(price) + " USD (feeder " + from + ")");
  });

  auto* oc = app.add_subcommand("oracle", "Oracle tools: a feeder loop for the devnet");
  oc->require_subcommand(1);
  auto* feed = oc->add_subcommand(
      "feed", "Post the median of --source prices every --interval: --from KEY --source SRC [--source SRC ...]");
  feed->add_option("--from", a->tx.from, "Feeder key name or address")->required();
  feed->add_option("--source", a->sources, "file:<path>, http://host/path#/json/pointer or fixed:<usd> (repeatable)")
      ->required();
  feed->add_option("--interval", a->interval, "Time between posts (500ms, 1s, 2m)")->capture_default_str();
  feed->add_option("--count", a->count, "Stop after this many rounds (default: run until interrupted)");
  AddTxFlags(feed, a->tx);
  feed->callback([&g, a] { Feed(g, *a); });

  auto* q = app.get_subcommand("query");
  auto* oq = q->add_subcommand("oracle", "x/oracle queries");
  oq->require_subcommand(1);
  oq->add_subcommand("price", "The DPAI/USD price at the last block, and whether it is available")->callback([&g] {
    Print(g, GetJsonOrThrow(g, "/q/oracle/price"), [](const json& j) {
      std::cout << "available: " << (j.value("available", false) ? "yes" : "no") << "\n";
      if (!j.value("reason", "").empty()) std::cout << "reason: " << j.value("reason", "") << "\n";
      std::cout << "price: " << j.value("price", "?") << " USD (ema " << j.value("ema", "?") << ", conf "
                << j.value("conf", "?") << ", conservative " << j.value("conservative", "?") << ")\n"
                << "round: height " << j.value("height", "?") << ", " << j.value("reports", 0u) << " report(s) from "
                << j.value("source", "?") << "\n";
    });
  });
  oq->add_subcommand("params", "x/oracle parameters")->callback([&g] {
    Print(g, GetJsonOrThrow(g, "/q/oracle/params"), [](const json& j) { std::cout << j.dump(2) << "\n"; });
  });
}

}  // namespace depai::cli
