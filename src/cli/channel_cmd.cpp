// x/channel on the command line (doc/modules/channel.md):
//   depai tx channel open|topup|redeem|close|settle     the on-chain messages
//   depai query channel <id> | params | list            the records
//   depai channel receive --channel ID --listen 127.0.0.1:PORT --state FILE
//                                                        the payee's stream endpoint (runs until SIGINT/SIGTERM)
//   depai channel pay --channel ID --url ws://... --key K --units N --mode ticket|voucher [--unit-price P]
//   depai channel voucher --channel ID --key K --amount A --nonce N   prints a signed voucher (JSON)
// redeem and close take the proof from --voucher-file FILE (a voucher JSON) and/or --from-state
// FILE (the receiver's state: its best voucher and longest ticket, whichever the chain lacks).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "client/channel.h"
#include "client/channel_stream.h"
#include "crypto/bech32.h"
#include "depai/channel/v1/channel.pb.h"
#include "x/types/codec.h"

namespace depai::cli {

using nlohmann::json;
namespace cv1 = depai::channel::v1;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop = true; }

struct ChannelArgs {
  TxArgs tx;
  std::string id, payee, deposit, voucher_key, amount, voucher_file, from_state, listen = "127.0.0.1:0", state, url,
                                                                                 key, mode = "voucher", chain_id;
  int64_t challenge_blocks = 0;
  uint64_t units = 0, unit_price = 1, chunk_bytes = 32, nonce = 0, vamount = 0, max_units = 0;
};

google::protobuf::Any Pack(const char* url, const google::protobuf::Message& m) {
  google::protobuf::Any a;
  a.set_type_url(url);
  a.set_value(x::DeterministicSerialize(m));
  return a;
}

depai::tx::v1::Coin CoinOrThrow(const std::string& s, const char* what) {
  std::string v = s.find_first_not_of("0123456789") == std::string::npos ? s + "udpai" : s;
  auto c = ParseCoinsOrThrow(v, what);
  if (c.list().size() != 1 || c.list()[0].amount.is_zero() ||
      (c.list()[0].denom != "udpai" && c.list()[0].denom != "ucredit"))
    throw CommandError{std::string(what) + ": expected one positive udpai or ucredit amount, got '" + s + "'"};
  depai::tx::v1::Coin out;
  out.set_denom(c.list()[0].denom);
  out.set_amount(c.list()[0].amount.str());
  return out;
}

json ReadJsonFile(const std::string& path, const char* what) {
  std::ifstream f(path);
  if (!f) throw CommandError{std::string(what) + ": cannot read " + path};
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) throw CommandError{std::string(what) + ": " + path + " is not JSON"};
  return j;
}

std::string ChainId(const GlobalOptions& g, const std::string& flag) {
  if (!flag.empty()) return flag;
  return GetJsonOrThrow(g, "/status").value("chain_id", "");
}

json ChannelOrThrow(const GlobalOptions& g, uint64_t id) {
  return GetJsonOrThrow(g, "/q/channel/channels/" + std::to_string(id));
}

uint64_t U64(const json& j, const char* k) {
  if (!j.contains(k)) return 0;
  if (j[k].is_number_unsigned()) return j[k].get<uint64_t>();
  return std::stoull(j[k].get<std::string>());
}

// The proof of a redeem or close: --voucher-file, and/or what --from-state holds beyond the chain.
template <typename M>
void FillProof(const GlobalOptions& g, const ChannelArgs& a, uint64_t id, M* m) {
  if (!a.voucher_file.empty()) {
    auto v = OrThrow(client::VoucherFromJson(ReadJsonFile(a.voucher_file, "--voucher-file")));
    *m->mutable_voucher() = v;
  }
  if (!a.from_state.empty()) {
    auto st = OrThrow(client::ReceiverState::Load(a.from_state));
    if (st.channel_id() != id)
      throw CommandError{"--from-state: the state is for channel " + std::to_string(st.channel_id()) + ", not " +
                         std::to_string(id)};
    const json ch = ChannelOrThrow(g, id);
    const uint64_t chain_nonce = U64(ch, "nonce"), chain_units = U64(ch, "ticket_units");
    const auto& best = st.best_voucher();
    if (!best) throw CommandError{"--from-state: the receiver holds no voucher yet"};
    bool newer = best->nonce() > chain_nonce;
    if (newer && !m->has_voucher()) *m->mutable_voucher() = *best;
    if (st.ticket_units() > 0 && (newer || (best->nonce() == chain_nonce && st.ticket_units() > chain_units))) {
      m->mutable_ticket()->set_units(st.ticket_units());
      m->mutable_ticket()->set_preimage(st.ticket_head());
    }
    if (!m->has_voucher() && !m->has_ticket())
      throw CommandError{"--from-state: the chain already has the receiver's best proof (nonce " +
                         std::to_string(chain_nonce) + ", " + std::to_string(chain_units) + " ticket units)"};
  }
}

void Broadcast(const GlobalOptions& g, ChannelArgs& a, const std::string& signer_key,
               const std::function<google::protobuf::Any(const std::string& from)>& make, const std::string& what) {
  ParseCoinsOrThrow(a.tx.fees, "--fees");
  auto key = LoadKeyOrThrow(g, signer_key);
  const std::string from = SignerAddress(g, key);
  auto any = make(from);
  json ans = SignAndBroadcast(g, a.tx, key, from, {any}, what + " (signer " + from + ")");
  if (g.output != "json") {
    for (const char* t : {"channel.open", "channel.redeem", "channel.close", "channel.close_proof", "channel.settle"}) {
      for (const auto& e : ans.value("events", json::array())) {
        if (e.value("type", "") != t) continue;
        std::cout << t << ":";
        for (const auto& at : e["attributes"]) std::cout << " " << at.value("key", "") << "=" << at.value("value", "");
        std::cout << "\n";
      }
    }
  }
}

void PrintChannel(const json& c) {
  std::cout << "channel " << c.value("id", "") << ": " << c.value("state", "") << "\n  payer   " << c.value("payer", "")
            << "\n  payee   " << c.value("payee", "") << "\n  deposit " << c.value("deposit", "")
            << c.value("denom", "") << "  redeemed " << c.value("redeemed", "") << "  proven " << c.value("proven", "")
            << "\n  voucher nonce " << c.value("nonce", "0") << " amount " << c.value("voucher_amount", "0")
            << ", ticket units " << c.value("ticket_units", "0") << " of " << c.value("max_units", "0") << " at "
            << c.value("unit_price", "0") << "\n  challenge_blocks " << c.value("challenge_blocks", "")
            << (c.value("state", "") == "CHANNEL_STATE_CLOSING" ? ", settles at height " + c.value("settle_height", "")
                                                                : std::string())
            << "\n";
}

Bytes VoucherKeyOrThrow(const GlobalOptions& g, const std::string& v, const crypto::KeyPair& payer) {
  if (v.empty()) return payer.pubkey;
  if (v.size() == 64) {
    auto b = HexDecode(v);
    if (b && b->size() == 32) return *b;
  }
  return LoadKeyOrThrow(g, v).pubkey;
}

void RegisterTx(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.get_subcommand("tx");
  auto* ct = tx->add_subcommand("channel", "x/channel: payment channels (vouchers and PayWord tickets)");
  ct->require_subcommand(1);

  auto a = std::make_shared<ChannelArgs>();
  auto* open = ct->add_subcommand(
      "open", "Open a channel to PAYEE with a deposit: depai tx channel open PAYEE 1000000udpai --from KEY");
  open->add_option("payee", a->payee, "Payee address (bech32)")->required();
  open->add_option("deposit", a->deposit, "Deposit, e.g. 1000000udpai or 500ucredit")->required();
  open->add_option("--from", a->tx.from, "Payer key name in the keyring")->required();
  open->add_option("--voucher-key", a->voucher_key,
                   "Key that signs vouchers: a keyring name or 64 hex characters (default: the payer's key)");
  open->add_option("--challenge-blocks", a->challenge_blocks,
                   "Challenge period in blocks (default: params.min_challenge_blocks)");
  AddTxFlags(open, a->tx);
  open->callback([&g, a] {
    auto dep = CoinOrThrow(a->deposit, "deposit");
    if (!crypto::AddressFromBech32(a->payee).ok()) throw CommandError{"payee: '" + a->payee + "' is not an address"};
    auto payer = LoadKeyOrThrow(g, a->tx.from);
    const Bytes vk = VoucherKeyOrThrow(g, a->voucher_key, payer);
    int64_t cb = a->challenge_blocks;
    if (cb == 0) cb = static_cast<int64_t>(U64(GetJsonOrThrow(g, "/q/channel/params"), "min_challenge_blocks"));
    Broadcast(
        g, *a, a->tx.from,
        [&](const std::string& from) {
          cv1::MsgOpenChannel m;
          m.set_payer(from);
          m.set_payee(a->payee);
          *m.mutable_deposit() = dep;
          m.set_voucher_key(vk);
          m.set_challenge_blocks(cb);
          return Pack("/depai.channel.v1.MsgOpenChannel", m);
        },
        "open a channel to " + a->payee + " with " + dep.amount() + dep.denom() + ", challenge " + std::to_string(cb) +
            " blocks");
  });

  auto* top =
      ct->add_subcommand("topup", "Add to a channel's deposit: depai tx channel topup ID 500000udpai --from KEY");
  top->add_option("id", a->id, "Channel id")->required();
  top->add_option("amount", a->amount, "Amount in the channel's denom")->required();
  top->add_option("--from", a->tx.from, "Payer key name")->required();
  AddTxFlags(top, a->tx);
  top->callback([&g, a] {
    const uint64_t id = IdOrThrow(a->id, "id");
    auto amt = CoinOrThrow(a->amount, "amount");
    const json ch = ChannelOrThrow(g, id);
    Broadcast(
        g, *a, a->tx.from,
        [&](const std::string& from) {
          cv1::MsgTopUpChannel m;
          m.set_payer(from);
          m.set_id(id);
          m.set_payee(ch.value("payee", ""));
          *m.mutable_amount() = amt;
          return Pack("/depai.channel.v1.MsgTopUpChannel", m);
        },
        "top up channel " + a->id + " by " + amt.amount() + amt.denom());
  });

  auto proof_cmd = [&g, a, ct](const char* name, const char* help, bool redeem) {
    auto* c = ct->add_subcommand(name, help);
    c->add_option("id", a->id, "Channel id")->required();
    c->add_option("--from", a->tx.from, redeem ? "Payee key name" : "Payer or payee key name")->required();
    c->add_option("--voucher-file", a->voucher_file, "A voucher (JSON, as `depai channel voucher` prints)");
    c->add_option("--from-state", a->from_state, "The receiver's state file: its best voucher and longest ticket");
    AddTxFlags(c, a->tx);
    c->callback([&g, a, redeem, name] {
      const uint64_t id = IdOrThrow(a->id, "id");
      auto build = [&](auto& m) {
        m.set_id(id);
        FillProof(g, *a, id, &m);
        // The chain charges params.gas_per_hash per ticket hash: raise the gas to fit.
        // The fee follows (auth's min_gas_price_micro) unless --fees was given.
        if (m.has_ticket() && a->tx.gas == 200000) {
          const uint64_t per = U64(GetJsonOrThrow(g, "/q/channel/params"), "gas_per_hash");
          a->tx.gas = 200000 + m.ticket().units() * per;
          if (a->tx.fees == "10udpai") {
            const uint64_t price = U64(GetJsonOrThrow(g, "/params/auth"), "min_gas_price_micro");
            const uint64_t fee = std::max<uint64_t>(10, (a->tx.gas * price + 999'999) / 1'000'000);
            a->tx.fees = std::to_string(fee) + "udpai";
          }
        }
      };
      if (redeem) {
        cv1::MsgRedeemChannel m;
        build(m);
        if (!m.has_voucher() && !m.has_ticket()) throw CommandError{"redeem: give --voucher-file or --from-state"};
        Broadcast(
            g, *a, a->tx.from,
            [&](const std::string& from) {
              m.set_payee(from);
              return Pack("/depai.channel.v1.MsgRedeemChannel", m);
            },
            "redeem on channel " + a->id);
      } else {
        cv1::MsgCloseChannel m;
        build(m);
        Broadcast(
            g, *a, a->tx.from,
            [&](const std::string& from) {
              m.set_sender(from);
              return Pack("/depai.channel.v1.MsgCloseChannel", m);
            },
            std::string(name) + " channel " + a->id);
      }
    });
  };
  proof_cmd("redeem", "Redeem the best proof now (the payee): --from-state FILE or --voucher-file FILE", true);
  proof_cmd("close", "Close (payer or payee), optionally with a proof; the challenge period starts", false);

  auto* settle = ct->add_subcommand("settle", "Settle a closed channel after its challenge period (anyone)");
  settle->add_option("id", a->id, "Channel id")->required();
  settle->add_option("--from", a->tx.from, "Key name that signs")->required();
  AddTxFlags(settle, a->tx);
  settle->callback([&g, a] {
    const uint64_t id = IdOrThrow(a->id, "id");
    Broadcast(
        g, *a, a->tx.from,
        [&](const std::string& from) {
          cv1::MsgSettleChannel m;
          m.set_sender(from);
          m.set_id(id);
          return Pack("/depai.channel.v1.MsgSettleChannel", m);
        },
        "settle channel " + a->id);
  });
}

void RegisterQuery(CLI::App& app, GlobalOptions& g) {
  auto* q = app.get_subcommand("query");
  auto* cq = q->add_subcommand("channel", "x/channel: a channel (query channel ID), params, list");
  auto id = std::make_shared<std::string>();
  cq->add_option("id", *id, "Channel id, or 'params' or 'list'")->required();
  cq->callback([&g, id] {
    if (*id == "params") {
      Print(g, GetJsonOrThrow(g, "/q/channel/params"), [](const json& j) { std::cout << j.dump(2) << "\n"; });
      return;
    }
    if (*id == "list") {
      Print(g, GetJsonOrThrow(g, "/q/channel/channels"), [](const json& j) {
        for (const auto& c : j["channels"]) PrintChannel(c);
      });
      return;
    }
    const uint64_t n = IdOrThrow(*id, "id");
    Print(g, ChannelOrThrow(g, n), [](const json& c) { PrintChannel(c); });
  });
}

void RegisterOffChain(CLI::App& app, GlobalOptions& g) {
  auto* ch = app.add_subcommand("channel", "x/channel off chain: the payee's stream receiver, the payer, vouchers");
  ch->require_subcommand(1);
  auto a = std::make_shared<ChannelArgs>();

  auto* recv = ch->add_subcommand("receive", "Serve the payee's payment stream (WebSocket) until SIGINT/SIGTERM");
  recv->add_option("--channel", a->id, "Channel id")->required();
  recv->add_option("--listen", a->listen, "HOST:PORT to listen on (127.0.0.1 only in tests)")->capture_default_str();
  recv->add_option("--state", a->state, "State file (the best proof; resumed if it exists)")->required();
  recv->add_option("--unit-price", a->unit_price, "Price of one unit (one chunk)")->capture_default_str();
  recv->add_option("--chunk-bytes", a->chunk_bytes, "Metered bytes per unit")->capture_default_str();
  recv->add_option("--chain-id", a->chain_id, "Chain id (default: asked from --node)");
  recv->callback([&g, a] {
    const uint64_t id = IdOrThrow(a->id, "--channel");
    if (a->unit_price == 0) throw CommandError{"--unit-price must be positive"};
    client::ReceiverState st;
    std::ifstream exists(a->state);
    if (exists.good()) {
      st = OrThrow(client::ReceiverState::Load(a->state));
      if (st.channel_id() != id)
        throw CommandError{"--state " + a->state + " is for channel " + std::to_string(st.channel_id())};
    } else {
      const json c = ChannelOrThrow(g, id);
      auto key = HexDecode(c.value("voucher_key", ""));
      if (!key || key->size() != 32) throw CommandError{"channel " + a->id + " has no 32-byte voucher key"};
      st = client::ReceiverState(id, ChainId(g, a->chain_id), *key, std::stoull(c.value("deposit", "0")));
    }
    client::ChannelReceiver r(std::move(st),
                              client::ReceiverOptions{a->listen, a->state, a->unit_price, a->chunk_bytes});
    if (auto s = r.Start(); !s.ok()) throw CommandError{s.error().message};
    std::signal(SIGINT, OnStopSignal);
    std::signal(SIGTERM, OnStopSignal);
    std::cout << json{{"listening", "127.0.0.1:" + std::to_string(r.port())},
                      {"stream", "/channel/" + a->id + "/stream"},
                      {"best", "/channel/" + a->id + "/best"},
                      {"port", r.port()}}
                     .dump()
              << std::endl;
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r.Stop();
  });

  auto* pay = ch->add_subcommand("pay", "Pay N units over a receiver's stream, by voucher or by ticket");
  pay->add_option("--channel", a->id, "Channel id")->required();
  pay->add_option("--url", a->url, "ws://HOST:PORT/channel/ID/stream")->required();
  pay->add_option("--key", a->key, "The channel's voucher key (keyring name)")->required();
  pay->add_option("--units", a->units, "Units to pay")->required();
  pay->add_option("--mode", a->mode, "voucher | ticket")
      ->check(CLI::IsMember({"voucher", "ticket"}))
      ->capture_default_str();
  pay->add_option("--unit-price", a->unit_price, "Price of one unit")->capture_default_str();
  pay->add_option("--chain-id", a->chain_id, "Chain id (default: asked from --node)");
  pay->callback([&g, a] {
    const uint64_t id = IdOrThrow(a->id, "--channel");
    auto key = LoadKeyOrThrow(g, a->key);
    client::PayOptions o{a->url, id, ChainId(g, a->chain_id), a->units, a->mode == "ticket", a->unit_price};
    auto sum = OrThrow(client::PayOverStream(key, o));
    Print(g, sum.to_json(o.tickets), [](const json& j) {
      std::cout << "paid " << j["units"] << " units by " << j["mode"].get<std::string>() << ": "
                << j["paid"].get<std::string>() << " (total " << j["total"].get<std::string>() << "), "
                << j["elapsed_s"] << " s, " << j["units_per_s"] << " units/s\n";
    });
  });

  auto* vch = ch->add_subcommand("voucher", "Sign a voucher off chain and print it (JSON)");
  vch->add_option("--channel", a->id, "Channel id")->required();
  vch->add_option("--key", a->key, "The channel's voucher key (keyring name)")->required();
  vch->add_option("--amount", a->vamount, "Cumulative amount")->required();
  vch->add_option("--nonce", a->nonce, "Nonce (above every earlier voucher's)")->required();
  vch->add_option("--chain-id", a->chain_id, "Chain id (default: asked from --node)");
  vch->callback([&g, a] {
    const uint64_t id = IdOrThrow(a->id, "--channel");
    auto key = LoadKeyOrThrow(g, a->key);
    auto v = OrThrow(
        client::SignVoucher(key, ChainId(g, a->chain_id), client::VoucherFields{id, a->vamount, a->nonce, {}, 0, 0}));
    std::cout << client::VoucherToJson(v).dump() << "\n";
  });
}

}  // namespace

void RegisterChannelCommands(CLI::App& app, GlobalOptions& g) {
  RegisterTx(app, g);
  RegisterQuery(app, g);
  RegisterOffChain(app, g);
}

}  // namespace depai::cli
