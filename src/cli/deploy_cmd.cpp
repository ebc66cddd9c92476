// `depai deploy create|send-manifest|status|logs|results|close`: a buyer's side of a deployment.
// See doc/deploy-spec.md. ID arguments are order ids; with --lease they are lease ids.
#include <utility>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "client/chain_client.h"
#include "client/deploy_spec.h"
#include "client/http_client.h"
#include "client/market_msgs.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"

namespace depai::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct DeployArgs {
  TxArgs tx;
  OrderTermsFlags terms;
  std::string spec, id, out, service, wait_timeout = "120", path = "/", method = "GET", data;
  uint32_t port = 0;
  bool wait = false, lease = false, stderr_stream = false, follow = false, dry_run = false, force = false;
};

uint64_t U64(const json& j, const char* k) {
  if (!j.contains(k)) return 0;
  if (j[k].is_number_unsigned()) return j[k].get<uint64_t>();
  if (j[k].is_string()) {
    auto s = j[k].get<std::string>();
    if (!s.empty() && s.size() < 20 && s.find_first_not_of("0123456789") == std::string::npos) return std::stoull(s);
  }
  return 0;
}

struct Signer {
  crypto::KeyPair key;
  std::string address;
};

Signer SignerOrThrow(const GlobalOptions& g, const std::string& from) {
  if (from.empty()) throw CommandError{"--from KEY is required (the order owner's key)"};
  Signer s;
  s.key = LoadKeyOrThrow(g, from);
  s.address = SignerAddress(g, s.key);
  return s;
}

// Signs and broadcasts (commit mode) after a confirmation unless --yes; throws on rejection.
json Broadcast(const GlobalOptions& g, const TxArgs& a, const Signer& s, const google::protobuf::Any& msg,
               const std::string& summary) {
  auto fee = ParseCoinsOrThrow(a.fees, "--fees");
  if (!g.yes) {
    std::cerr << summary << "\nfee " << fee.str() << ", gas " << a.gas << "\nSign and broadcast? [y/N] " << std::flush;
    std::string line;
    std::getline(std::cin, line);
    if (line != "y" && line != "Y" && line != "yes") throw CommandError{"aborted: nothing was sent"};
  }
  client::HttpChainClient chain(g.node, s.key, a.chain_id, fee, a.gas);
  if (!g.wallet.empty()) {  // a session key signing for an agent wallet
    auto w = crypto::AddressFromBech32(g.wallet);
    if (!w.ok()) throw CommandError{"--wallet: " + w.error().message};
    chain.set_wallet(w.value());
  }
  auto r = chain.Broadcast({msg}, a.memo);
  if (!r.ok())
    throw CommandError{"transaction rejected: " + r.error().message + " (codespace " + r.error().codespace + ", code " +
                       std::to_string(r.error().code) + ")"};
  return r->raw;
}

// ---- talking to the provider's endpoint ----------------------------------------------------

struct HttpOut {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

// One request to a provider's endpoint (the one HTTP client); the body goes to `sink` as it
// arrives when given (streams), else into the result.
HttpOut Request(const std::string& endpoint, const std::string& method, const std::string& target,
                const std::string& body, const std::map<std::string, std::string>& headers,
                const std::function<void(const char*, size_t)>& sink = nullptr, int timeout_s = 60) {
  client::HttpOptions o;
  o.what = "the provider";
  o.timeout_ms = timeout_s * 1000;
  for (const auto& [k, v] : headers) o.headers.emplace_back(k, v);
  if (sink) o.sink = [&sink](std::string_view d) { sink(d.data(), d.size()); };
  auto r = client::HttpRequest(endpoint, method, target, body, o);
  if (!r.ok()) throw CommandError{r.error().message};
  return HttpOut{r->status, std::move(r->body), std::move(r->headers)};
}

std::string ProviderError(const HttpOut& r) {
  json b = json::parse(r.body, nullptr, false);
  if (b.is_object() && b.contains("message"))
    return "provider answered " + std::to_string(r.status) + ": " + b["message"].get<std::string>() + " (codespace " +
           b.value("codespace", "") + ", code " + std::to_string(b.value("code", 0u)) + ")";
  return "provider answered HTTP " + std::to_string(r.status);
}

std::map<std::string, std::string> ReadHeaders(const Signer& s, uint64_t lease_id) {
  int64_t t = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
  return {{"X-Depai-Owner", s.address},
          {"X-Depai-Pubkey", crypto::Base64Encode(s.key.pubkey)},
          {"X-Depai-Time", std::to_string(t)},
          {"X-Depai-Signature", crypto::Base64Encode(crypto::Sign(s.key, client::ReadSignBytes(lease_id, t)))}};
}

struct Target {
  uint64_t order_id = 0, lease_id = 0;
  std::string provider, endpoint, owner, manifest_hash, lease_state;
};

// An order id (its current lease) or, with --lease, a lease id -> the lease, its provider and endpoint.
Target Resolve(const GlobalOptions& g, const std::string& id_s, bool is_lease) {
  Target t;
  uint64_t id = IdOrThrow(id_s, is_lease ? "lease id" : "order id");
  if (is_lease) {
    t.lease_id = id;
    t.order_id = U64(GetJsonOrThrow(g, "/q/market/leases/" + id_s)["lease"], "order_id");
  } else {
    t.order_id = id;
  }
  json o = GetJsonOrThrow(g, "/q/market/orders/" + std::to_string(t.order_id));
  t.owner = o["order"].value("owner", "");
  t.manifest_hash = o["order"].value("manifest_hash", "");
  if (!is_lease) {
    t.lease_id = U64(o["order"], "lease_id");
    if (t.lease_id == 0)
      throw CommandError{"order " + id_s + " has no lease yet (state " + o["order"].value("state", "?") +
                         "); wait for the bid window to close or accept a bid"};
  }
  json l = GetJsonOrThrow(g, "/q/market/leases/" + std::to_string(t.lease_id))["lease"];
  t.provider = l.value("provider", "");
  t.lease_state = l.value("state", "");
  json p = GetJsonOrThrow(g, "/q/provider/providers/" + t.provider);
  t.endpoint = p["provider"].value("endpoint", "");
  return t;
}

json SendManifest(const GlobalOptions& g, const Target& t, const Signer& s, const client::DeploySpec& spec,
                  bool dry_run, bool force) {
  std::string have = HexEncode(spec.manifest_hash);
  if (have != t.manifest_hash && !force)
    throw CommandError{"the spec's manifest hash " + have + " differs from order " + std::to_string(t.order_id) +
                       "'s manifest_hash " + t.manifest_hash +
                       ": the spec changed since the order was created (--force sends it anyway)"};
  std::string chain_id = GetJsonOrThrow(g, "/status").value("chain_id", "");
  json req{{"manifest", spec.manifest_json},
           {"owner", s.address},
           {"pubkey", crypto::Base64Encode(s.key.pubkey)},
           {"signature", crypto::Base64Encode(crypto::Sign(
                             s.key, client::ManifestSignBytes(chain_id, t.lease_id, spec.manifest_hash)))}};
  if (dry_run)
    return json{
        {"endpoint", t.endpoint}, {"path", "/v1/leases/" + std::to_string(t.lease_id) + "/manifest"}, {"request", req}};
  auto r = Request(t.endpoint, "POST", "/v1/leases/" + std::to_string(t.lease_id) + "/manifest", req.dump(), {});
  if (r.status != 200) throw CommandError{"manifest rejected: " + ProviderError(r)};
  json b = json::parse(r.body, nullptr, false);
  return json{{"lease_id", std::to_string(t.lease_id)},
              {"order_id", std::to_string(t.order_id)},
              {"provider", t.provider},
              {"endpoint", t.endpoint},
              {"manifest_hash", have},
              {"status", b.is_object() ? b.value("status", "") : ""}};
}

client::DeploySpec SpecOrThrow(const std::string& path) {
  auto spec = client::LoadDeploySpec(path);
  if (!spec.ok()) throw CommandError{spec.error().message};
  return std::move(spec).value();
}

void Create(const GlobalOptions& g, const DeployArgs& a) {
  auto spec = SpecOrThrow(a.spec);
  ParseCoinsOrThrow(a.tx.fees, "--fees");
  int64_t wait_s = static_cast<int64_t>(IdOrThrow(a.wait_timeout, "--timeout"));
  Signer s = SignerOrThrow(g, a.tx.from);
  auto msg = spec.order;
  msg.set_owner(s.address);
  ApplyOrderTerms(a.terms, &msg);
  auto ans = Broadcast(g, a.tx, s, client::PackMsgCreateOrder(msg),
                       "create an order from " + a.spec + " (max " + msg.max_price_per_block().amount() +
                           msg.max_price_per_block().denom() + "/block, deposit " + msg.deposit().amount() +
                           msg.deposit().denom() + ") as " + s.address);
  std::string order_id = EventAttr(ans, "market.order_created", "order_id");
  json out{{"order_id", order_id},
           {"height", ans.value("height", "")},
           {"txhash", ans.value("hash", "")},
           {"manifest_hash", HexEncode(spec.manifest_hash)}};
  if (g.output != "json")
    std::cout << "order " << order_id << " created at height " << ans.value("height", "") << " (tx "
              << ans.value("hash", "") << ")\nmanifest sha256 " << HexEncode(spec.manifest_hash) << "\n"
              << std::flush;
  if (a.wait) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    json o;
    for (;;) {
      o = GetJsonOrThrow(g, "/q/market/orders/" + order_id)["order"];
      if (U64(o, "lease_id") != 0) break;
      if (o.value("state", "") == "ORDER_STATE_CLOSED")
        throw CommandError{"order " + order_id +
                           " closed without a lease (no eligible bids?); its escrow was refunded"};
      if (std::chrono::steady_clock::now() > deadline)
        throw CommandError{"no lease for order " + order_id + " after " + a.wait_timeout +
                           "s; check its bids with `depai query market bids " + order_id + "`"};
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    Target t = Resolve(g, order_id, false);
    json sent;
    for (int attempt = 0;; ++attempt) {  // the provider may not have seen its lease event yet
      try {
        sent = SendManifest(g, t, s, spec, false, false);
        break;
      } catch (const CommandError& e) {
        if (attempt >= 20 || e.message.find("retry") == std::string::npos) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    }
    out["lease_id"] = sent["lease_id"];
    out["provider"] = sent["provider"];
    out["endpoint"] = sent["endpoint"];
    out["manifest"] = sent["status"];
    if (g.output != "json")
      std::cout << "lease " << t.lease_id << " with provider " << t.provider << " (" << t.endpoint << "); manifest "
                << sent["status"].get<std::string>() << "\n";
  }
  if (g.output == "json") std::cout << out.dump() << "\n";
}

// The lease's status as its provider reports it (signed read); throws on any error.
json LeaseStatus(const Signer& s, const Target& t) {
  auto r = Request(t.endpoint, "GET", "/v1/leases/" + std::to_string(t.lease_id), "", ReadHeaders(s, t.lease_id));
  if (r.status != 200) throw CommandError{ProviderError(r)};
  json st = json::parse(r.body, nullptr, false);
  if (!st.is_object()) throw CommandError{"the provider answered invalid JSON"};
  return st;
}

}  // namespace

void RegisterDeployCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<DeployArgs>();
  auto* dep = app.add_subcommand("deploy", "Deploy workloads from a YAML spec (doc/deploy-spec.md)");
  dep->require_subcommand(1);

  auto* create = dep->add_subcommand("create", "Create an order from SPEC (its manifest hash goes on chain)");
  create->add_option("spec", a->spec, "Deployment spec (YAML)")->required();
  create->add_option("--from", a->tx.from, "Owner key name (or address) in the keyring")->required();
  create->add_flag("--wait", a->wait, "Wait for the lease, then send the manifest to the provider");
  create->add_option("--timeout", a->wait_timeout, "Seconds to wait for a lease with --wait")->capture_default_str();
  AddOrderTermsFlags(create, a->terms);
  AddTxFlags(create, a->tx);
  create->callback([&g, a] { Create(g, *a); });

  auto* send = dep->add_subcommand("send-manifest", "Send SPEC's manifest to the provider of ORDER (or --lease LEASE)");
  send->add_option("id", a->id, "Order id (or lease id with --lease)")->required();
  send->add_option("spec", a->spec, "Deployment spec (YAML) the order was created from")->required();
  send->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  send->add_flag("--lease", a->lease, "ID is a lease id");
  send->add_flag("--dry-run", a->dry_run, "Print the signed upload request instead of sending it");
  send->add_flag("--force", a->force, "Send even if the spec's hash differs from the order's");
  send->callback([&g, a] {
    auto spec = SpecOrThrow(a->spec);
    Signer s = SignerOrThrow(g, a->tx.from);
    Target t = Resolve(g, a->id, a->lease);
    json out = SendManifest(g, t, s, spec, a->dry_run, a->force);
    Print(g, out, [&] {
      if (a->dry_run)
        std::cout << out.dump(2) << "\n";
      else
        std::cout << "manifest " << out["manifest_hash"].get<std::string>() << " sent to " << t.provider << " ("
                  << t.endpoint << ") for lease " << t.lease_id << ": " << out["status"].get<std::string>() << "\n";
    });
  });

  auto* status = dep->add_subcommand("status", "Lease and workload status from the provider");
  status->add_option("id", a->id, "Order id (or lease id with --lease)")->required();
  status->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  status->add_flag("--lease", a->lease, "ID is a lease id");
  status->callback([&g, a] {
    Signer s = SignerOrThrow(g, a->tx.from);
    Target t = Resolve(g, a->id, a->lease);
    json st = LeaseStatus(s, t);
    st["chain_lease_state"] = t.lease_state;
    Print(g, st, [&] {
      std::cout << "lease " << t.lease_id << " (order " << t.order_id << ") on " << t.provider
                << "\n  chain: " << t.lease_state << "\n  workload: " << st.value("workload_state", "?") << "\n";
      for (const auto& sv : st.value("services", json::array())) {
        std::cout << "  service " << sv.value("service", "") << ": " << sv.value("state", "");
        if (sv["exit_code"].is_number()) std::cout << ", exit code " << sv["exit_code"].get<int>();
        if (sv["term_signal"].is_number()) std::cout << ", signal " << sv["term_signal"].get<int>();
        if (sv.value("timed_out", false)) std::cout << " (timed out)";
        std::cout << ", restarts " << sv.value("restarts", 0) << "\n";
      }
    });
  });

  auto* logs = dep->add_subcommand("logs", "Print a service's stdout (or --stderr) from the provider");
  logs->add_option("id", a->id, "Order id (or lease id with --lease)")->required();
  logs->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  logs->add_flag("--lease", a->lease, "ID is a lease id");
  logs->add_option("--service", a->service, "Service name (default: the first)");
  logs->add_flag("--stderr", a->stderr_stream, "Print stderr instead of stdout");
  logs->add_flag("--follow,-f", a->follow, "Keep printing until the workload ends");
  logs->callback([&g, a] {
    Signer s = SignerOrThrow(g, a->tx.from);
    Target t = Resolve(g, a->id, a->lease);
    std::string target = "/v1/leases/" + std::to_string(t.lease_id) +
                         "/logs?stream=" + (a->stderr_stream ? "stderr" : "stdout") +
                         (a->service.empty() ? "" : "&service=" + a->service) + (a->follow ? "&follow=1" : "");
    auto r = Request(
        t.endpoint, "GET", target, "", ReadHeaders(s, t.lease_id),
        [](const char* p, size_t n) { std::cout.write(p, static_cast<std::streamsize>(n)) << std::flush; },
        a->follow ? 3600 : 60);
    if (r.status != 200) throw CommandError{ProviderError(r)};
  });

  auto* results = dep->add_subcommand("results", "Download the workload's artifacts and verify their SHA-256");
  results->add_option("id", a->id, "Order id (or lease id with --lease)")->required();
  results->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  results->add_flag("--lease", a->lease, "ID is a lease id");
  results->add_option("--out", a->out, "Directory for the files (default ./results-<lease>)");
  results->callback([&g, a] {
    Signer s = SignerOrThrow(g, a->tx.from);
    Target t = Resolve(g, a->id, a->lease);
    std::string base = "/v1/leases/" + std::to_string(t.lease_id) + "/results";
    auto r = Request(t.endpoint, "GET", base, "", ReadHeaders(s, t.lease_id));
    if (r.status != 200) throw CommandError{ProviderError(r)};
    json list = json::parse(r.body, nullptr, false);
    if (!list.is_object()) throw CommandError{"the provider answered invalid JSON"};
    std::string dir = a->out.empty() ? "results-" + std::to_string(t.lease_id) : a->out;
    json files = json::array();
    bool any_missing = false;
    for (const auto& art : list.value("artifacts", json::array())) {
      std::string name = art.value("name", "");
      if (!client::SafeRelativePath(name))
        throw CommandError{"the provider listed an unsafe artifact name '" + name + "'"};
      if (!art.value("present", false)) {
        any_missing = true;
        files.push_back({{"name", name}, {"present", false}, {"refused", art.value("error", "")}});
        continue;
      }
      auto f = Request(t.endpoint, "GET", base + "/" + name, "", ReadHeaders(s, t.lease_id));
      if (f.status != 200) throw CommandError{name + ": " + ProviderError(f)};
      std::string got = HexEncode(crypto::Sha256(f.body));
      std::string listed = art.value("sha256", "");
      if (got != listed)
        throw CommandError{name + ": downloaded bytes hash to " + got + " but the provider listed " + listed +
                           "; not saved"};
      fs::path p = fs::path(dir) / name;
      fs::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << f.body;
      files.push_back({{"name", name},
                       {"present", true},
                       {"size", f.body.size()},
                       {"sha256", got},
                       {"verified", true},
                       {"path", p.string()}});
    }
    json out{{"lease_id", std::to_string(t.lease_id)},
             {"workload_state", list.value("workload_state", "")},
             {"dir", dir},
             {"artifacts", files}};
    Print(g, out, [&] {
      std::cout << "lease " << t.lease_id << " (" << list.value("workload_state", "") << "), saved in " << dir << "/\n";
      for (const auto& f : files) {
        if (!f["present"].get<bool>() && !f.value("refused", "").empty())
          std::cout << "  " << f["name"].get<std::string>()
                    << ": refused by the provider: " << f["refused"].get<std::string>() << "\n";
        else if (!f["present"].get<bool>())
          std::cout << "  " << f["name"].get<std::string>() << ": not produced\n";
        else
          std::cout << "  " << f["name"].get<std::string>() << "  " << f["size"].get<size_t>() << " bytes  sha256 "
                    << f["sha256"].get<std::string>() << "  verified\n";
      }
    });
    if (files.empty()) throw CommandError{"the workload declares no artifacts"};
    if (any_missing && list.value("workload_state", "") != "running")
      std::cerr << "warning: some artifacts were not produced\n";
  });

  auto* url = dep->add_subcommand("url", "Print how to reach the exposed services of a lease through its provider");
  url->add_option("id", a->id, "Order id (or lease id with --lease)")->required();
  url->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  url->add_flag("--lease", a->lease, "ID is a lease id");
  url->callback([&g, a] {
    Signer s = SignerOrThrow(g, a->tx.from);
    Target t = Resolve(g, a->id, a->lease);
    json st = LeaseStatus(s, t);
    json urls = json::array();
    for (const auto& sv : st.value("services", json::array()))
      for (const auto& p : sv.value("expose", json::array()))
        urls.push_back({{"service", sv.value("service", "")},
                        {"port", p},
                        {"url", t.endpoint + "/v1/leases/" + std::to_string(t.lease_id) + "/services/" +
                                    sv.value("service", "") + "/" + std::to_string(p.get<int>()) + "/"}});
    if (urls.empty()) throw CommandError{"lease " + std::to_string(t.lease_id) + " exposes no ports"};
    Print(g, json{{"lease_id", std::to_string(t.lease_id)}, {"services", urls}}, [&] {
      for (const auto& u : urls)
        std::cout << u["service"].get<std::string>() << " port " << u["port"] << ": " << u["url"].get<std::string>()
                  << "\n";
      std::cout << "Requests need the owner's X-Depai-* signature headers; `depai deploy call " << t.lease_id
                << " --lease --from " << a->tx.from << " --port PORT --path /...` sends one.\n";
    });
  });

  auto* call =
      dep->add_subcommand("call", "Send an HTTP request to an exposed service of a lease, signed as its owner");
  call->add_option("id", a->id, "Order id (or lease id with --lease)")->required();
  call->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  call->add_flag("--lease", a->lease, "ID is a lease id");
  call->add_option("--service", a->service, "Service name (default: the first with an exposed port)");
  call->add_option("--port", a->port, "Exposed port (default: the service's first)");
  call->add_option("--path", a->path, "Path and query on the service (default /)");
  call->add_option("--method,-X", a->method, "HTTP method")
      ->check(CLI::IsMember({"GET", "POST", "PUT", "DELETE", "HEAD"}));
  call->add_option("--data,-d", a->data, "Request body");
  call->callback([&g, a] {
    Signer s = SignerOrThrow(g, a->tx.from);
    Target t = Resolve(g, a->id, a->lease);
    std::string service = a->service;
    uint32_t port = a->port;
    if (service.empty() || port == 0) {
      json st = LeaseStatus(s, t);
      for (const auto& sv : st.value("services", json::array())) {
        if (!service.empty() && sv.value("service", "") != service) continue;
        auto ex = sv.value("expose", json::array());
        if (ex.empty()) continue;
        service = sv.value("service", "");
        if (port == 0) port = ex[0].get<uint32_t>();
        break;
      }
      if (service.empty() || port == 0) throw CommandError{"lease " + std::to_string(t.lease_id) + " exposes no ports"};
    }
    std::string path = a->path.empty() || a->path[0] != '/' ? "/" + a->path : a->path;
    auto r =
        Request(t.endpoint, a->method,
                "/v1/leases/" + std::to_string(t.lease_id) + "/services/" + service + "/" + std::to_string(port) + path,
                a->data, ReadHeaders(s, t.lease_id));
    if (r.status >= 400 && r.body.find("\"codespace\":\"providerd\"") != std::string::npos)
      throw CommandError{ProviderError(r)};
    std::cout << r.body << std::flush;
    if (r.status >= 400) throw CommandError{"the service answered HTTP " + std::to_string(r.status)};
  });

  auto* close = dep->add_subcommand("close", "Close ORDER (its lease closes; the escrow's remainder is refunded)");
  close->add_option("id", a->id, "Order id (or lease id with --lease: closes only the lease)")->required();
  close->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  close->add_flag("--lease", a->lease, "ID is a lease id");
  AddTxFlags(close, a->tx);
  close->callback([&g, a] {
    uint64_t id = IdOrThrow(a->id, a->lease ? "lease id" : "order id");
    Signer s = SignerOrThrow(g, a->tx.from);
    if (a->tx.gas == 200000) {  // closing refunds bids: more gas than a transfer
      a->tx.gas = 800000;
      if (a->tx.fees == "10udpai") a->tx.fees = "40udpai";
    }
    auto msg = a->lease ? client::PackMsgCloseLease(s.address, id, depai::market::v1::CLOSE_REASON_OWNER)
                        : client::PackMsgCloseOrder(s.address, id);
    auto ans = Broadcast(g, a->tx, s, msg, std::string("close ") + (a->lease ? "lease " : "order ") + a->id);
    json out{{"height", ans.value("height", "")}, {"txhash", ans.value("hash", "")}};
    out[a->lease ? "lease_id" : "order_id"] = a->id;
    Print(g, out, [&] {
      std::cout << (a->lease ? "lease " : "order ") << a->id << " closed at height " << ans.value("height", "")
                << " (tx " << ans.value("hash", "") << ")\n";
    });
  });
}

}  // namespace depai::cli
