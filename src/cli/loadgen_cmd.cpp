// `depai loadgen`: pre-signs transfers (or plain key=value txs for CometBFT's kvstore app) and
// sends them at a fixed rate to CometBFT RPC endpoints, then reports accepted tx/s and the
// latency from submit to commit (the moment the including height was first seen committed).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "client/http_client.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "depai/bank/v1/bank.pb.h"
#include "x/types/tx.h"

namespace depai::cli {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {
struct LoadArgs {
  std::string nodes = "http://127.0.0.1:26657";
  std::string mode = "transfer";
  std::string from = "alice,bob,carol,dave";
  int rate = 100;
  double duration_s = 10;
  std::string amount = "1udpai";
  std::string fees = "10udpai";
  int senders = 0;  // > 0: that many fresh accounts, funded from the first --from key
  int conns = 8;    // keep-alive connections (sender threads) per node
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

json RpcGet(const std::string& node, const std::string& path) {
  auto r = client::HttpRequest(node, "GET", path, "", 10000);
  if (!r.ok()) throw CommandError{r.error().message};
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("result"))
    throw CommandError{node + path + ": " + (j.is_discarded() ? r->body.substr(0, 200) : j.dump().substr(0, 300))};
  return j["result"];
}

struct Pending {
  Bytes tx;
  std::string hash;
  size_t node = 0;
  Clock::time_point sent;
  bool accepted = false;
};

void Run(const GlobalOptions& g, const LoadArgs& a) {
  auto nodes = Split(a.nodes);
  if (nodes.empty()) throw CommandError{"--nodes is empty"};
  if (a.rate <= 0 || a.duration_s <= 0) throw CommandError{"--rate and --duration must be positive"};
  const size_t total = static_cast<size_t>(a.rate * a.duration_s);
  std::vector<Pending> txs(total);
  size_t sender_count = 0;
  // ---- pre-sign ------------------------------------------------------------------------
  if (a.mode == "transfer") {
    auto senders = Split(a.from);
    std::string chain_id = RpcGet(nodes[0], "/status")["node_info"]["network"];
    struct Sender {
      crypto::KeyPair key;
      std::string addr;
      uint64_t number, seq;
    };
    std::vector<Sender> ss;
    auto account_of = [&](const std::string& addr) {
      auto q = RpcGet(nodes[0], "/abci_query?path=%22/auth/account/" + addr + "%22")["response"];
      return json::parse(crypto::Base64Decode(q.value("value", "")).value_or("{}"), nullptr, false);
    };
    for (const auto& name : senders) {
      auto key = LoadKeyOrThrow(g, name);
      std::string addr = crypto::AddressToBech32(crypto::AddressOf(key.pubkey));
      auto acc = account_of(addr);
      if (!acc.is_object() || !acc.contains("sequence")) throw CommandError{"account " + name + " not found on chain"};
      ss.push_back({key, addr, std::stoull(acc["account_number"].get<std::string>()),
                    std::stoull(acc["sequence"].get<std::string>())});
    }
    if (a.senders > 0) {
      // Fresh accounts (keys derived from a per-run tag), funded by multi-sends from the first
      // key, so that many sequences can be in flight at once.
      auto amt = Coins::Parse(a.amount), fe = Coins::Parse(a.fees);
      if (!amt.ok() || !fe.ok()) throw CommandError{"bad --amount or --fees"};
      uint64_t per_tx = amt->amount_of("udpai").raw() + fe->amount_of("udpai").raw();
      uint64_t need = per_tx * (total / a.senders + 2) + 1000;
      auto tag = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
      std::vector<Sender> fresh;
      for (int i = 0; i < a.senders; ++i) {
        auto key = crypto::KeyFromSeed(crypto::Sha256("depai-loadgen/" + tag + "/" + std::to_string(i))).value();
        fresh.push_back({key, crypto::AddressToBech32(crypto::AddressOf(key.pubkey)), 0, 0});
      }
      auto& funder = ss[0];
      for (size_t off = 0; off < fresh.size(); off += 100) {
        depai::bank::v1::MsgMultiSend ms;
        ms.set_from_address(funder.addr);
        for (size_t k = off; k < std::min(fresh.size(), off + 100); ++k) {
          auto* o = ms.add_outputs();
          o->set_address(fresh[k].addr);
          auto* c = o->add_coins();
          c->set_denom("udpai");
          c->set_amount(std::to_string(need));
        }
        google::protobuf::Any any;
        any.set_type_url("/depai.bank.v1.MsgMultiSend");
        any.set_value(ms.SerializeAsString());
        client::SignerData sd{chain_id, funder.number, funder.seq++};
        auto fee = Coins::Parse("1000udpai").value();
        auto tx = client::BuildSignedTx(funder.key, sd, {any}, client::TxOptions{fee, 4000000, "", 0});
        auto r = RpcGet(nodes[0], "/broadcast_tx_commit?tx=0x" + HexEncode(tx));
        if (r["check_tx"].value("code", 0u) != 0 || r["tx_result"].value("code", 0u) != 0)
          throw CommandError{"funding the load senders failed: " + r.dump().substr(0, 400)};
      }
      for (auto& f : fresh) {
        auto acc = account_of(f.addr);
        if (!acc.is_object() || !acc.contains("account_number")) throw CommandError{"funded account not found"};
        f.number = std::stoull(acc["account_number"].get<std::string>());
      }
      ss = std::move(fresh);
    }
    auto amount = Coins::Parse(a.amount);
    auto fee = Coins::Parse(a.fees);
    if (!amount.ok() || !fee.ok()) throw CommandError{"bad --amount or --fees"};
    sender_count = ss.size();
    for (size_t i = 0; i < total; ++i) {
      auto& s = ss[i % ss.size()];
      const auto& to = ss[(i + 1) % ss.size()].addr;
      client::SignerData sd{chain_id, s.number, s.seq++};
      client::TxOptions o{fee.value(), 200000, "", 0};
      txs[i].tx = client::BuildSignedTx(s.key, sd, {client::PackMsgSend(s.addr, to, amount.value())}, o);
    }
  } else if (a.mode == "kv") {
    auto tag = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    for (size_t i = 0; i < total; ++i) {
      txs[i].tx = "lg" + tag + "-" + std::to_string(i) + "=v" + std::to_string(i);
    }
  } else {
    throw CommandError{"--mode must be transfer or kv"};
  }
  for (auto& t : txs) t.hash = x::TxHash(t.tx);

  // ---- watch commits: first time each height is seen --------------------------------------
  std::mutex mu;
  std::map<int64_t, Clock::time_point> seen;
  std::atomic<bool> stop{false};
  int64_t start_height = std::stoll(RpcGet(nodes[0], "/status")["sync_info"]["latest_block_height"].get<std::string>());
  std::thread watcher([&] {
    while (!stop) {
      auto r = client::HttpRequest(nodes[0], "GET", "/status", "", 2000);
      if (r.ok()) {
        auto j = json::parse(r->body, nullptr, false);
        if (!j.is_discarded() && j.contains("result")) {
          int64_t h = std::stoll(j["result"]["sync_info"]["latest_block_height"].get<std::string>());
          std::lock_guard<std::mutex> lock(mu);
          for (int64_t k = start_height + 1; k <= h; ++k) seen.emplace(k, Clock::now());
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  // ---- send at the rate: `conns` keep-alive connections per node ----------------------------
  // A sender's txs always go through the same connection, so they reach CheckTx in sequence order.
  const size_t conns = static_cast<size_t>(std::max(1, a.conns));
  const size_t n_senders = std::max<size_t>(1, sender_count);
  std::vector<std::vector<size_t>> lanes(nodes.size() * conns);
  for (size_t i = 0; i < total; ++i) {
    size_t lane = a.mode == "transfer" ? (i % n_senders) % lanes.size() : i % lanes.size();
    txs[i].node = lane % nodes.size();
    lanes[lane].push_back(i);
  }
  auto t0 = Clock::now();
  std::vector<std::thread> senders;
  for (size_t l = 0; l < lanes.size(); ++l) {
    if (lanes[l].empty()) continue;
    senders.emplace_back([&, l] {
      client::HttpConnection conn(nodes[l % nodes.size()], 10000);
      for (size_t i : lanes[l]) {
        auto due = t0 + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / a.rate));
        std::this_thread::sleep_until(due);
        txs[i].sent = Clock::now();
        auto r = conn.Request("GET", "/broadcast_tx_sync?tx=0x" + HexEncode(txs[i].tx));
        if (!r.ok()) continue;
        auto j = json::parse(r->body, nullptr, false);
        txs[i].accepted = !j.is_discarded() && j.contains("result") && j["result"].value("code", 1u) == 0;
      }
    });
  }
  for (auto& t : senders) t.join();
  double send_s = std::chrono::duration<double>(Clock::now() - t0).count();
  size_t accepted = std::count_if(txs.begin(), txs.end(), [](const Pending& p) { return p.accepted; });

  // ---- wait for inclusion, map tx -> height via the blocks -------------------------------
  std::map<std::string, int64_t> height_of;
  auto deadline = Clock::now() + std::chrono::seconds(30);
  int64_t next_h = start_height + 1;
  while (height_of.size() < accepted && Clock::now() < deadline) {
    int64_t latest = std::stoll(RpcGet(nodes[0], "/status")["sync_info"]["latest_block_height"].get<std::string>());
    for (; next_h <= latest; ++next_h) {
      auto b = RpcGet(nodes[0], "/block?height=" + std::to_string(next_h));
      for (const auto& t : b["block"]["data"]["txs"])
        height_of[x::TxHash(crypto::Base64Decode(t.get<std::string>()).value_or(""))] = next_h;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  stop = true;
  watcher.join();
  std::vector<double> lat;
  for (const auto& t : txs) {
    if (!t.accepted) continue;
    auto it = height_of.find(t.hash);
    if (it == height_of.end()) continue;
    auto s = seen.find(it->second);
    if (s == seen.end()) continue;
    lat.push_back(std::chrono::duration<double, std::milli>(s->second - t.sent).count());
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
  };
  double committed_span = 0;
  if (!lat.empty()) committed_span = send_s;
  json out{{"mode", a.mode},
           {"target_rate", a.rate},
           {"sent", total},
           {"accepted", accepted},
           {"committed", lat.size()},
           {"send_seconds", send_s},
           {"accepted_tx_per_s", accepted / send_s},
           {"committed_tx_per_s", committed_span > 0 ? lat.size() / committed_span : 0.0},
           {"latency_ms_p50", pct(0.5)},
           {"latency_ms_p95", pct(0.95)}};
  if (g.output == "json") {
    std::cout << out.dump() << "\n";
  } else {
    std::cout << out.dump(2) << "\n";
  }
}
}  // namespace

void RegisterLoadgenCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<LoadArgs>();
  auto* lg =
      app.add_subcommand("loadgen", "Send pre-signed transfers (or kv txs) at a fixed rate to CometBFT RPC nodes");
  lg->add_option("--nodes", a->nodes, "Comma-separated CometBFT RPC URLs")->capture_default_str();
  lg->add_option("--mode", a->mode, "transfer (depai) or kv (CometBFT kvstore: key=value)")
      ->check(CLI::IsMember({"transfer", "kv"}))
      ->capture_default_str();
  lg->add_option("--from", a->from, "Comma-separated sender keys (transfer mode)")->capture_default_str();
  lg->add_option("--rate", a->rate, "Transactions per second")->capture_default_str();
  lg->add_option("--duration", a->duration_s, "Seconds of sending")->capture_default_str();
  lg->add_option("--amount", a->amount, "Amount per transfer")->capture_default_str();
  lg->add_option("--fees", a->fees, "Fee per transfer")->capture_default_str();
  lg->add_option("--senders", a->senders, "Fresh sender accounts funded from the first --from key (0: use --from)")
      ->capture_default_str();
  lg->add_option("--conns", a->conns, "Keep-alive connections (sender threads) per node")->capture_default_str();
  lg->callback([&g, a] { Run(g, *a); });
}

}  // namespace depai::cli
