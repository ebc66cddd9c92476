#include "provider/daemon.h"

#include "util/files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/deploy_spec.h"
#include "client/market_msgs.h"
#include "client/provider_msgs.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "depai/provider/v1/provider.pb.h"
#include "provider/server.h"

namespace depai::provider {

namespace fs = std::filesystem;
using nlohmann::json;
namespace pv1 = depai::provider::v1;

namespace {

constexpr const char* kCs = "providerd";

Daemon::Reply ErrReply(int status, uint32_t code, const std::string& msg) {
  return Daemon::Reply{status, json{{"code", code}, {"codespace", kCs}, {"message", msg}}};
}

uint64_t U64(const json& j, const char* k) {
  if (!j.is_object() || !j.contains(k)) return 0;
  const auto& v = j[k];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return v.get<int64_t>() < 0 ? 0 : static_cast<uint64_t>(v.get<int64_t>());
  if (v.is_string()) {
    auto s = v.get<std::string>();
    if (!s.empty() && s.size() < 20 && s.find_first_not_of("0123456789") == std::string::npos) return std::stoull(s);
  }
  return 0;
}
int64_t I64(const json& j, const char* k) { return static_cast<int64_t>(U64(j, k)); }

std::string ReasonEnum(const std::string& short_name) {
  if (short_name.rfind("CLOSE_REASON_", 0) == 0) return short_name;
  return "CLOSE_REASON_" + short_name;
}

// The provider's attributes and audits as the chain has them, for eligibility checks.
struct OnChainSelf {
  std::map<std::string, std::string> attributes;
  std::map<std::string, std::map<std::string, std::string>> audits;  // auditor -> key -> value
  std::string region;
};

// Why the order's placement excludes us ("" when we qualify). Distance is left to the chain.
std::string PlacementGap(const json& placement, const OnChainSelf& me) {
  std::vector<std::string> gaps;
  std::vector<std::pair<std::string, std::string>> required;
  for (const auto& a : placement.value("attributes", json::array())) {
    std::string k = a.value("key", ""), v = a.value("value", "");
    required.push_back({k, v});
    auto it = me.attributes.find(k);
    if (it == me.attributes.end() || it->second != v) gaps.push_back("attribute " + k + "=" + v);
  }
  auto auditors = placement.value("auditors", json::array());
  if (!auditors.empty() && gaps.empty()) {
    bool any_of = placement.value("auditor_mode", "") == "AUDITOR_MODE_ANY_OF";
    int ok_count = 0;
    std::string first_gap;
    for (const auto& au : auditors) {
      std::string auditor = au.get<std::string>();
      auto it = me.audits.find(auditor);
      bool all = true;
      for (const auto& [k, v] : required) {
        if (it == me.audits.end() || !it->second.count(k) || it->second.at(k) != v) {
          all = false;
          if (first_gap.empty()) first_gap = "audit of " + k + "=" + v + " by " + auditor;
        }
      }
      if (all) ++ok_count;
    }
    bool pass = any_of ? ok_count > 0 : ok_count == static_cast<int>(auditors.size());
    if (!pass) gaps.push_back(first_gap.empty() ? "auditor signatures" : first_gap);
  }
  std::string region = placement.value("region", "");
  if (!region.empty() && region != me.region) gaps.push_back("region " + region + " (we are in '" + me.region + "')");
  std::string out;
  for (const auto& g : gaps) out += (out.empty() ? "" : ", ") + g;
  return out;
}

}  // namespace

// ---- construction, persistence ------------------------------------------------------------

std::string Daemon::StateDir() const {
  if (!cfg_.sandbox.state_dir.empty()) return cfg_.sandbox.state_dir;
  if (cfg_.sandbox.mode == "none" || ::geteuid() != 0) return home_ + "/provider";
  return "/var/lib/depai/provider-" + HexEncode(crypto::Sha256(fs::absolute(home_).string())).substr(0, 12);
}

Status Daemon::CheckStateDir() const {
  if (cfg_.sandbox.mode == "none" || ::geteuid() != 0) return {};
  fs::path p = fs::absolute(state_dir_).lexically_normal();
  for (fs::path a = p;; a = a.parent_path()) {
    struct stat st;
    if (::stat(a.c_str(), &st) != 0) return Error{"providerd", 22, "sandbox.state_dir: cannot stat " + a.string()};
    if (a != p && !(st.st_mode & S_IXOTH))
      return Error{"providerd", 22,
                   "sandbox.state_dir " + p.string() + ": " + a.string() +
                       " is not searchable by other users, and the sandbox (running as a lease's uid) must reach "
                       "the work directories below it; choose a state_dir under a searchable path (the default "
                       "for root is /var/lib/depai/provider-<id>)"};
    if (a == a.root_path() || a.empty()) break;
  }
  ::chmod(p.c_str(), 0711);
  return {};
}

Daemon::Daemon(ProviderConfig cfg, std::string home, crypto::KeyPair key)
    : cfg_(std::move(cfg)),
      home_(std::move(home)),
      chain_(cfg_.node, std::move(key), cfg_.chain_id, Coins::Parse(cfg_.fees).value(), cfg_.gas) {
  fs::create_directories(home_ + "/provider");
  ::chmod((home_ + "/provider").c_str(), 0700);
  // One cgroup parent per provider home, so two daemons on a host (or in a test) keep apart.
  Cgroup::SetParentName("depai-" + HexEncode(crypto::Sha256(fs::absolute(home_).string())).substr(0, 12));
  host_ = ProbeHost(cfg_.sandbox);
  state_dir_ = StateDir();
  fs::create_directories(state_dir_);
  ImageStoreOptions io;
  io.local_roots = cfg_.sandbox.image_dirs;               // a buyer may not name a path on this host otherwise
  io.max_image_bytes = cfg_.sandbox.max_image_mib << 20;  // a buyer's image cannot fill the disk
  io.unpack.max_bytes = cfg_.sandbox.max_image_mib << 20;
  images_ = std::make_unique<ImageStore>(state_dir_ + "/images", cfg_.sandbox.skopeo, io);
  runtime_ = std::make_unique<ExecRuntime>(state_dir_ + "/leases", cfg_.sandbox, images_.get());
  Load();
}

void Daemon::Save() {
  json bids = json::object(), leases = json::object();
  for (const auto& [id, b] : bids_)
    bids[std::to_string(id)] = {{"price", b.price}, {"height", b.height}, {"resources", b.resources.to_json()}};
  for (const auto& [id, l] : leases_)
    leases[std::to_string(id)] = {{"order_id", l.order_id},
                                  {"owner", l.owner},
                                  {"price", l.price},
                                  {"start_height", l.start_height},
                                  {"resources", l.resources.to_json()},
                                  {"manifest_hash", l.manifest_hash},
                                  {"manifest_received", l.manifest_received},
                                  {"manifest_deadline", l.manifest_deadline},
                                  {"closed", l.closed},
                                  {"close_reason", l.close_reason},
                                  {"pending_close", l.pending_close},
                                  {"last_withdraw_height", l.last_withdraw_height},
                                  {"workload_error", l.workload_error},
                                  {"gpus", l.gpus}};
  json j{{"provider", chain_.address()},
         {"next_height", next_height_},
         {"last_heartbeat_window", last_heartbeat_window_},
         {"bids", bids},
         {"leases", leases},
         {"skipped", skipped_}};
  if (auto st = WriteFileAtomic(home_ + "/provider/state.json", j.dump(2)); !st.ok())
    spdlog::error("saving the provider state: {}", st.error().message);
}

void Daemon::Load() {
  std::ifstream in(home_ + "/provider/state.json");
  if (!in) return;
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) {
    spdlog::warn("ignoring an unreadable {}/provider/state.json", home_);
    return;
  }
  if (j.value("provider", "") != chain_.address()) {
    spdlog::warn("state.json belongs to provider {}, not {}: starting afresh", j.value("provider", ""),
                 chain_.address());
    return;
  }
  next_height_ = j.value("next_height", int64_t{0});
  last_heartbeat_window_ = j.value("last_heartbeat_window", int64_t{-1});
  const json bids = j.value("bids", json::object()), leases = j.value("leases", json::object());
  for (const auto& [k, v] : bids.items()) {
    OpenBid b;
    b.order_id = std::stoull(k);
    b.price = v.value("price", uint64_t{0});
    b.height = v.value("height", int64_t{0});
    b.resources = Totals::FromJson(v.value("resources", json::object()));
    bids_[b.order_id] = b;
  }
  for (const auto& [k, v] : leases.items()) {
    HeldLease l;
    l.id = std::stoull(k);
    l.order_id = v.value("order_id", uint64_t{0});
    l.owner = v.value("owner", "");
    l.price = v.value("price", uint64_t{0});
    l.start_height = v.value("start_height", int64_t{0});
    l.resources = Totals::FromJson(v.value("resources", json::object()));
    l.manifest_hash = v.value("manifest_hash", "");
    l.manifest_received = v.value("manifest_received", false);
    l.manifest_deadline = v.value("manifest_deadline", int64_t{0});
    l.closed = v.value("closed", false);
    l.close_reason = v.value("close_reason", "");
    l.pending_close = v.value("pending_close", "");
    l.last_withdraw_height = v.value("last_withdraw_height", int64_t{0});
    l.workload_error = v.value("workload_error", "");
    l.gpus = v.value("gpus", std::vector<uint32_t>{});
    leases_[l.id] = l;
  }
  for (const auto& s : j.value("skipped", json::array())) skipped_.insert(s.get<uint64_t>());
  spdlog::info("resumed from state.json: next height {}, {} bids, {} leases", next_height_, bids_.size(),
               leases_.size());
}

Daemon::~Daemon() { Stop(); }

uint16_t Daemon::port() const { return server_ ? server_->port() : 0; }

std::optional<std::string> Daemon::fault() const {
  std::lock_guard<std::mutex> lock(fault_mu_);
  return fault_;
}

// ---- start: register, reconcile -----------------------------------------------------------

Status Daemon::Register() {
  pv1::Resources inv = cfg_.inventory;
  auto fill = [&](auto& m) {
    m.set_owner(chain_.address());
    m.set_endpoint(cfg_.endpoint);
    *m.mutable_location() = cfg_.location;
    m.set_region(cfg_.region);
    for (const auto& [k, v] : cfg_.attributes) {  // std::map: sorted by key
      auto* a = m.add_attributes();
      a->set_key(k);
      a->set_value(v);
    }
    *m.mutable_resources() = inv;
  };
  auto cur = chain_.Get("/q/provider/providers/" + chain_.address());
  if (!cur.ok()) {
    if (cur.error().message.find("not registered") == std::string::npos) return cur.status();
    pv1::MsgRegisterProvider m;
    fill(m);
    auto coins = Coins::Parse(cfg_.collateral);
    if (!coins.ok() || coins->list().size() != 1)
      return Error{"config", 1, "provider.collateral: '" + cfg_.collateral + "' must be one amount, e.g. 1000000udpai"};
    m.mutable_collateral()->set_denom(coins->list()[0].denom);
    m.mutable_collateral()->set_amount(coins->list()[0].amount.str());
    auto r = chain_.Broadcast({client::PackAny(m)});
    if (!r.ok()) return Error{r.error().codespace, r.error().code, "registering the provider: " + r.error().message};
    spdlog::info("registered provider {} (endpoint {}, region '{}') at height {}", chain_.address(), cfg_.endpoint,
                 cfg_.region, r->value("height", "?"));
    return {};
  }
  // Registered: update when what the config says differs from the chain.
  pv1::MsgUpdateProvider m;
  fill(m);
  pv1::Provider want;
  want.set_endpoint(m.endpoint());
  *want.mutable_location() = m.location();
  want.set_region(m.region());
  *want.mutable_attributes() = m.attributes();
  *want.mutable_resources() = m.resources();
  const json& p = (*cur)["provider"];
  pv1::Provider have;
  have.set_endpoint(p.value("endpoint", ""));
  have.mutable_location()->set_lat_e6(I64(p.value("location", json::object()), "lat_e6"));
  have.mutable_location()->set_lon_e6(I64(p.value("location", json::object()), "lon_e6"));
  if (p.contains("location")) have.mutable_location()->set_cell(p["location"].value("cell", ""));
  bool same =
      have.endpoint() == want.endpoint() && have.location().SerializeAsString() == want.location().SerializeAsString();
  same = same && p.value("region", "") == want.region();
  std::map<std::string, std::string> attrs;
  for (const auto& a : p.value("attributes", json::array())) attrs[a.value("key", "")] = a.value("value", "");
  same = same && attrs == cfg_.attributes;
  same = same && TotalsOf(inv).to_json() == [&] {
    Totals t;
    const json& r = p.value("resources", json::object());
    t.cpu_millicores = U64(r, "cpu_millicores");
    t.memory_mib = U64(r, "memory_mib");
    t.bandwidth_mbps = U64(r, "bandwidth_mbps");
    for (const auto& g : r.value("gpus", json::array())) t.gpus[g.value("model", "")] += U64(g, "count");
    for (const auto& s : r.value("storage", json::array()))
      t.storage[s.value("storage_class", "")] += U64(s, "size_mib");
    return t.to_json();
  }();
  if (same) {
    spdlog::info("provider {} is registered and up to date", chain_.address());
    return {};
  }
  auto r = chain_.Broadcast({client::PackAny(m)});
  if (!r.ok()) return Error{r.error().codespace, r.error().code, "updating the provider: " + r.error().message};
  spdlog::info("updated provider {} from the config at height {}", chain_.address(), r->value("height", "?"));
  return {};
}

Status Daemon::Reconcile() {
  auto st = chain_.Get("/status");
  if (!st.ok()) return st.status();
  int64_t h = std::stoll(st->value("latest_block_height", "0"));
  if (auto params = chain_.Get("/q/provider/params"); params.ok())
    heartbeat_window_ = std::max<int64_t>(1, I64(*params, "heartbeat_window"));
  // The leases the chain says we hold.
  auto leases = chain_.Get("/q/market/leases?provider=" + chain_.address());
  if (!leases.ok()) return leases.status();
  for (const auto& lv : (*leases)["leases"]) {
    const json& l = lv["lease"];
    uint64_t id = U64(l, "id");
    bool closed = l.value("state", "") == "LEASE_STATE_CLOSED";
    bool known;
    {
      std::lock_guard<std::mutex> lock(mu_);
      known = leases_.count(id) > 0;
      if (known && closed && !leases_[id].closed) {
        leases_[id].closed = true;
        leases_[id].close_reason = l.value("close_reason", "");
        runtime_->Stop(id);
      }
    }
    if (!known && !closed) HoldLease(id, h);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_height_ <= 0) next_height_ = h + 1;  // first start: the open orders below cover the past
    Save();
  }
  // Open orders (also those created while we were down).
  auto orders = chain_.Get("/q/market/orders?state=open");
  if (!orders.ok()) return orders.status();
  for (const auto& o : (*orders)["orders"]) ConsiderOrder(U64(o, "id"), h);
  return {};
}

Status Daemon::Start() {
  if (cfg_.sandbox.mode == "none") {
    spdlog::warn(
        "sandbox mode is \"none\": buyers' workloads run UNCONFINED as this daemon's user and can read its "
        "keyring, home and environment. Use it only for workloads you trust.");
  } else if (!host_.can_sandbox()) {
    return Error{"providerd", 20,
                 "this host cannot sandbox workloads (" +
                     (host_.bwrap_error.empty() ? host_.seccomp_error : host_.bwrap_error) +
                     "); run `depai provider doctor`, fix the host, or set [sandbox] mode = \"none\" to run them "
                     "unconfined"};
  } else {
    DEPAI_TRY(CheckStateDir());
    spdlog::info("sandbox: bubblewrap {} with seccomp; cgroups {} (memory {}, cpu {}, pids {}); {}",
                 host_.bwrap_version, host_.cgroups.version, host_.cgroups.memory, host_.cgroups.cpu,
                 host_.cgroups.pids, host_.root ? "per-lease uids" : "workloads share the daemon's uid");
  }
  DEPAI_TRY(Register());
  DEPAI_TRY(Reconcile());
  runtime_->StartMonitor(100);
  server_ = std::make_unique<Endpoint>(*this, cfg_.listen);
  DEPAI_TRY(server_->Start());
  spdlog::info("provider endpoint listening on http://{} (advertised as {})", cfg_.listen, cfg_.endpoint);
  loop_ = std::thread([this] { Loop(); });
  return {};
}

// ---- the loop ------------------------------------------------------------------------------

void Daemon::Loop() {
  int failures = 0;
  while (!stop_) {
    auto st = Tick();
    if (!st.ok()) {
      ++failures;
      if (failures == 1 || failures % 20 == 0) spdlog::warn("provider loop: {}", st.error().message);
    } else {
      failures = 0;
    }
    for (int64_t slept = 0; slept < cfg_.poll_interval_ms && !stop_; slept += 20)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status Daemon::Tick() {
  auto st = chain_.Get("/status");
  if (!st.ok()) return st.status();
  int64_t h = std::stoll(st->value("latest_block_height", "0"));
  {
    std::lock_guard<std::mutex> lock(mu_);
    latest_height_ = h;
  }
  DEPAI_TRY(FollowEvents(h));
  Housekeeping(h);
  return {};
}

Status Daemon::FollowEvents(int64_t latest) {
  while (!stop_) {
    int64_t from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = next_height_;
    }
    if (from > latest) return {};
    auto r = chain_.Get("/events?from_height=" + std::to_string(from) + "&to_height=" + std::to_string(latest));
    if (!r.ok()) return r.status();
    const std::string me = chain_.address();
    for (const auto& e : (*r)["events"]) {
      std::string type = e.value("type", "");
      if (type.rfind("market.", 0) != 0) continue;
      const json& a = e.value("attributes", json::object());
      int64_t h = I64(e, "height");
      uint64_t order_id = U64(a, "order_id"), lease_id = U64(a, "lease_id");
      bool mine = a.value("provider", "") == me;
      if (type == "market.order_created" || type == "market.order_reopened") {
        if (type == "market.order_reopened") {
          std::lock_guard<std::mutex> lock(mu_);
          bids_.erase(order_id);
          skipped_.erase(order_id);
        }
        ConsiderOrder(order_id, latest);
      } else if (type == "market.lease_created" && mine) {
        HoldLease(lease_id, h);
      } else if ((type == "market.bid_lost" || type == "market.bid_closed") && mine) {
        std::lock_guard<std::mutex> lock(mu_);
        if (bids_.erase(order_id)) spdlog::info("bid on order {} {}", order_id, type.substr(11));
      } else if (type == "market.order_closed" || type == "market.order_no_bids") {
        std::lock_guard<std::mutex> lock(mu_);
        bids_.erase(order_id);
      } else if (type == "market.lease_closed" && mine) {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = leases_.find(lease_id);
        if (it != leases_.end() && !it->second.closed) {
          it->second.closed = true;
          it->second.close_reason = a.value("reason", "");
          spdlog::info("lease {} closed on chain at height {} ({}); stopping its workload", lease_id, h,
                       it->second.close_reason);
          runtime_->Stop(lease_id, 1000);
        }
      } else if ((type == "market.escrow_low_balance" || type == "market.escrow_exhausted") && mine) {
        spdlog::warn("lease {}: {} (balance {}, funded until {})", lease_id, type, a.value("balance", "?"),
                     a.value("funded_until", "?"));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    next_height_ = std::stoll((*r).value("next_height", std::to_string(latest + 1)));
    Save();
  }
  return {};
}

Totals Daemon::FreeResources() const {
  Totals used;
  for (const auto& [id, b] : bids_) used.add(b.resources);
  for (const auto& [id, l] : leases_)
    if (!l.closed) used.add(l.resources);
  Totals free = TotalsOf(cfg_.inventory);
  auto sub = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  free.cpu_millicores = sub(free.cpu_millicores, used.cpu_millicores);
  free.memory_mib = sub(free.memory_mib, used.memory_mib);
  free.bandwidth_mbps = sub(free.bandwidth_mbps, used.bandwidth_mbps);
  for (auto& [k, v] : free.gpus) v = sub(v, used.gpus[k]);
  for (auto& [k, v] : free.storage) v = sub(v, used.storage[k]);
  return free;
}

void Daemon::ConsiderOrder(uint64_t order_id, int64_t height) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (bids_.count(order_id) || skipped_.count(order_id)) return;
  }
  auto skip = [&](const std::string& why) {
    spdlog::info("order {}: not bidding: {}", order_id, why);
    std::lock_guard<std::mutex> lock(mu_);
    skipped_.insert(order_id);
    Save();
  };
  auto oj = chain_.Get("/q/market/orders/" + std::to_string(order_id));
  if (!oj.ok()) return spdlog::warn("order {}: {}", order_id, oj.error().message);
  const json& o = (*oj)["order"];
  if (o.value("state", "") != "ORDER_STATE_OPEN") return;
  if (I64(o, "bid_window_end") <= height)
    return skip("its bid window ended at height " + o.value("bid_window_end", "?"));
  auto bids = chain_.Get("/q/market/orders/" + std::to_string(order_id) + "/bids");
  if (bids.ok())
    for (const auto& b : (*bids)["bids"])
      if (b.value("provider", "") == chain_.address() &&
          (b.value("state", "") == "BID_STATE_OPEN" || b.value("state", "") == "BID_STATE_WON")) {
        std::lock_guard<std::mutex> lock(mu_);
        bids_[order_id] = OpenBid{order_id, U64(b, "price_per_block"), I64(b, "height"), OrderTotals(o)};
        Save();
        return;  // already bid (before a restart)
      }
  // Eligibility: attributes, audits, region, as the chain has us.
  auto self = chain_.Get("/q/provider/providers/" + chain_.address());
  if (!self.ok()) return spdlog::warn("order {}: cannot read our provider record: {}", order_id, self.error().message);
  OnChainSelf me;
  me.region = (*self)["provider"].value("region", "");
  for (const auto& a : (*self)["provider"].value("attributes", json::array()))
    me.attributes[a.value("key", "")] = a.value("value", "");
  for (const auto& au : (*self).value("audits", json::array()))
    for (const auto& a : au.value("attributes", json::array()))
      me.audits[au.value("auditor", "")][a.value("key", "")] = a.value("value", "");
  std::string gap = PlacementGap(o.value("placement", json::object()), me);
  if (!gap.empty()) return skip("we lack " + gap);
  Totals need = OrderTotals(o);
  std::string missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    missing = FreeResources().missing(need);
  }
  if (!missing.empty()) return skip("not enough free inventory: " + missing);
  // Price.
  uint64_t max_price = U64(o, "max_price_per_block");
  uint64_t price = 0;
  if (!cfg_.price_script.empty()) {
    json in{{"order_id", std::to_string(order_id)},
            {"owner", o.value("owner", "")},
            {"groups", o.value("groups", json::array())},
            {"placement", o.value("placement", json::object())},
            {"max_price_per_block", std::to_string(max_price)},
            {"resources", need.to_json()},
            {"provider", chain_.address()}};
    auto p = RunPriceScript(cfg_.price_script, in, cfg_.price_script_timeout_ms);
    if (!p.ok()) return skip(p.error().message);
    if (!p.value()) return skip("the price script said skip");
    price = *p.value();
  } else {
    auto p = RulePrice(cfg_.rule, o);
    if (!p.ok()) return skip(p.error().message);
    price = p.value();
  }
  if (price > max_price)
    return skip("our price " + std::to_string(price) + "udpai is above the order's max " + std::to_string(max_price) +
                "udpai");
  auto r = chain_.Broadcast({client::PackMsgCreateBid(chain_.address(), order_id, Amount::Of(price).value())});
  if (!r.ok()) return skip("the chain rejected our bid: " + r.error().message);
  spdlog::info("order {}: bid {}udpai per block at height {}", order_id, price, r->value("height", "?"));
  std::lock_guard<std::mutex> lock(mu_);
  bids_[order_id] = OpenBid{order_id, price, std::stoll(r->value("height", "0")), need};
  Save();
}

Result<json> Daemon::LeaseFromChain(uint64_t lease_id) const {
  return chain_.Get("/q/market/leases/" + std::to_string(lease_id));
}

void Daemon::HoldLease(uint64_t lease_id, int64_t height) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leases_.count(lease_id)) return;
  }
  auto lj = LeaseFromChain(lease_id);
  if (!lj.ok()) return spdlog::warn("lease {}: {}", lease_id, lj.error().message);
  const json& l = (*lj)["lease"];
  if (l.value("provider", "") != chain_.address()) return;
  uint64_t order_id = U64(l, "order_id");
  auto oj = chain_.Get("/q/market/orders/" + std::to_string(order_id));
  if (!oj.ok()) return spdlog::warn("lease {}: order {}: {}", lease_id, order_id, oj.error().message);
  HeldLease hl;
  hl.id = lease_id;
  hl.order_id = order_id;
  hl.owner = l.value("owner", "");
  hl.price = U64(l, "price_per_block");
  hl.start_height = I64(l, "start_height");
  hl.resources = OrderTotals((*oj)["order"]);
  hl.manifest_hash = (*oj)["order"].value("manifest_hash", "");
  hl.manifest_deadline = std::max(hl.start_height, height) + cfg_.manifest_timeout_blocks;
  hl.last_withdraw_height = hl.start_height;
  hl.closed = l.value("state", "") == "LEASE_STATE_CLOSED";
  std::lock_guard<std::mutex> lock(mu_);
  bids_.erase(order_id);
  leases_[lease_id] = hl;
  Save();
  spdlog::info("won lease {} (order {}, owner {}, {}udpai per block); waiting for the manifest until height {}",
               lease_id, order_id, hl.owner, hl.price, hl.manifest_deadline);
}

void Daemon::CloseLease(HeldLease& l, const std::string& reason) {
  auto r = chain_.Broadcast(
      {client::PackMsgCloseLease(chain_.address(), l.id, client::ParseCloseReason(ReasonEnum(reason)).value())});
  std::lock_guard<std::mutex> lock(mu_);
  if (!r.ok()) {
    spdlog::warn("closing lease {} ({}) failed: {}", l.id, reason, r.error().message);
    if (r.error().message.find("closed") != std::string::npos) {
      l.closed = true;
      l.pending_close.clear();
      Save();
    }
    return;
  }
  spdlog::info("closed lease {} at height {}: {}", l.id, r->value("height", "?"), reason);
  l.closed = true;
  l.close_reason = ReasonEnum(reason).substr(13);
  l.pending_close.clear();
  Save();
}

void Daemon::Housekeeping(int64_t h) {
  std::vector<std::pair<uint64_t, std::string>> to_close;
  std::vector<uint64_t> to_withdraw;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, l] : leases_) {
      if (l.closed) continue;
      if (!l.pending_close.empty()) {
        to_close.push_back({id, l.pending_close});
        continue;
      }
      if (!l.manifest_received) {
        if (h > l.manifest_deadline) to_close.push_back({id, "MANIFEST_TIMEOUT"});
        continue;
      }
      auto st = runtime_->GetStatus(id);
      if (st && st->state == RunState::kFailed) {
        for (const auto& s : st->services)
          if (!s.error.empty() || s.exit_code || s.term_signal)
            l.workload_error = s.service + ": " + (s.error.empty() ? "" : s.error + "; ") +
                               (s.exit_code ? "exit code " + std::to_string(*s.exit_code) : "") +
                               (s.term_signal ? "killed by signal " + std::to_string(*s.term_signal) : "") +
                               (s.timed_out ? " (timeout)" : "");
        to_close.push_back({id, "WORKLOAD_FAILED"});
      } else if (st && st->state == RunState::kSucceeded && cfg_.close_completed) {
        to_close.push_back({id, "WORKLOAD_COMPLETED"});
      } else if (h - l.last_withdraw_height >= cfg_.withdraw_every_blocks) {
        to_withdraw.push_back(id);
      }
    }
  }
  for (const auto& [id, reason] : to_close) {
    HeldLease* l;
    {
      std::lock_guard<std::mutex> lock(mu_);
      l = &leases_[id];
    }
    CloseLease(*l, reason);
  }
  for (uint64_t id : to_withdraw) {
    auto r = chain_.Broadcast({client::PackMsgWithdrawLease(chain_.address(), id)});
    std::lock_guard<std::mutex> lock(mu_);
    leases_[id].last_withdraw_height = h;
    if (r.ok()) {
      spdlog::info("withdrew earnings of lease {} at height {}", id, r->value("height", "?"));
    } else {
      spdlog::warn("withdraw of lease {} failed: {}", id, r.error().message);
      if (r.error().message.find("closed") != std::string::npos) leases_[id].closed = true;
    }
    Save();
  }
  // Heartbeat: once per window.
  int64_t window = h / heartbeat_window_;
  bool beat;
  {
    std::lock_guard<std::mutex> lock(mu_);
    beat = window != last_heartbeat_window_;
  }
  if (beat) {
    auto r = chain_.Broadcast({client::PackMsgProviderHeartbeat(chain_.address())});
    if (!r.ok() && r.error().message.find("already") == std::string::npos)
      spdlog::warn("heartbeat failed: {}", r.error().message);
    std::lock_guard<std::mutex> lock(mu_);
    last_heartbeat_window_ = window;
    Save();
  }
}

void Daemon::Stop() {
  stop_ = true;
  if (loop_.joinable()) loop_.join();
  if (runtime_) runtime_->StopMonitor();
  if (server_) server_->Stop();
  if (cfg_.sandbox.cgroups) Cgroup::RemoveParent();  // only when empty: running workloads keep theirs
  std::lock_guard<std::mutex> lock(mu_);
  Save();
}

// ---- HTTP-facing operations ----------------------------------------------------------------

Result<std::vector<uint32_t>> Daemon::AssignGpus(HeldLease& l) {
  if (!l.gpus.empty()) return l.gpus;  // assigned before (a restart keeps them)
  std::set<uint32_t> taken;
  for (const auto& [id, o] : leases_)
    if (id != l.id && !o.closed) taken.insert(o.gpus.begin(), o.gpus.end());
  std::vector<uint32_t> out;
  for (const auto& [model, n] : l.resources.gpus) {
    auto it = cfg_.gpu_devices.find(model);
    uint64_t got = 0;
    if (it != cfg_.gpu_devices.end())
      for (uint32_t i : it->second)
        if (got < n && !taken.count(i)) {
          out.push_back(i);
          taken.insert(i);
          ++got;
        }
    if (got < n)
      return Error{"providerd", 21,
                   "needs " + std::to_string(n) + " GPU(s) of model " + model + ", only " + std::to_string(got) +
                       " free device(s)"};
  }
  l.gpus = out;
  return out;
}

Limits Daemon::LimitsFor(const HeldLease& l, const client::Manifest& m) const {
  Limits lim;
  lim.cpu_millicores = l.resources.cpu_millicores;
  lim.gpus = l.gpus;
  lim.open_files = cfg_.open_files;
  lim.max_restarts = cfg_.max_restarts;
  if (l.resources.memory_mib) lim.memory_bytes = l.resources.memory_mib << 20;
  uint64_t storage = 0;
  for (const auto& [k, v] : l.resources.storage) storage += v;
  lim.file_size_bytes = (storage ? storage : cfg_.default_file_size_mib) << 20;
  uint64_t max_timeout = 0;
  bool unbounded = false;
  for (const auto& [n, s] : m.services) {
    if (s.timeout_s == 0) unbounded = true;
    max_timeout = std::max(max_timeout, s.timeout_s);
  }
  // CPU seconds: the cores bought for the whole wall-clock budget (at least 1s).
  if (!unbounded && l.resources.cpu_millicores)
    lim.cpu_seconds = std::max<uint64_t>(1, (l.resources.cpu_millicores * max_timeout + 999) / 1000);
  return lim;
}

Daemon::Reply Daemon::AcceptManifest(uint64_t lease_id, const std::string& body) {
  json req = json::parse(body, nullptr, false);
  if (!req.is_object()) return ErrReply(400, 2, "the body must be a JSON object {manifest, owner, pubkey, signature}");
  for (const char* k : {"owner", "pubkey", "signature"})
    if (!req.contains(k) || !req[k].is_string() || req[k].get<std::string>().empty())
      return ErrReply(401, 3, std::string("missing '") + k + "': manifests must be signed by the lease owner");
  if (!req.contains("manifest") || !req["manifest"].is_object())
    return ErrReply(400, 2, "missing 'manifest' (a JSON object)");
  auto lj = LeaseFromChain(lease_id);
  if (!lj.ok()) return ErrReply(404, 4, "lease " + std::to_string(lease_id) + ": " + lj.error().message);
  const json& l = (*lj)["lease"];
  if (l.value("provider", "") != chain_.address())
    return ErrReply(404, 4, "lease " + std::to_string(lease_id) + " is not held by this provider");
  if (l.value("state", "") == "LEASE_STATE_CLOSED")
    return ErrReply(409, 5, "lease " + std::to_string(lease_id) + " is closed (" + l.value("close_reason", "") + ")");
  std::string owner = req["owner"], pubkey_b64 = req["pubkey"], sig_b64 = req["signature"];
  auto pk = crypto::Base64Decode(pubkey_b64);
  auto sig = crypto::Base64Decode(sig_b64);
  if (!pk || pk->size() != crypto::kPubKeySize) return ErrReply(401, 3, "pubkey must be 32 bytes of base64");
  if (!sig || sig->size() != crypto::kSignatureSize) return ErrReply(401, 3, "signature must be 64 bytes of base64");
  if (crypto::AddressToBech32(crypto::AddressOf(*pk)) != owner)
    return ErrReply(401, 3, "pubkey does not belong to owner " + owner);
  if (owner != l.value("owner", ""))
    return ErrReply(403, 6, "only the lease owner " + l.value("owner", "") + " may send its manifest, not " + owner);
  auto cid = chain_.chain_id();
  if (!cid.ok()) return ErrReply(503, 7, cid.error().message);
  Bytes hash = client::ManifestHash(req["manifest"]);
  if (!crypto::Verify(*pk, client::ManifestSignBytes(cid.value(), lease_id, hash), *sig))
    return ErrReply(401, 3,
                    "the signature does not verify (signed bytes: \"depai-manifest/v1\\n<chain_id>\\n" +
                        std::to_string(lease_id) + "\\n<manifest sha256 hex>\")");
  auto oj = chain_.Get("/q/market/orders/" + l.value("order_id", "0"));
  if (!oj.ok()) return ErrReply(503, 7, "order of lease: " + oj.error().message);
  std::string want = (*oj)["order"].value("manifest_hash", "");
  if (HexEncode(hash) != want)
    return ErrReply(400, 8, "manifest hash " + HexEncode(hash) + " does not match the order's manifest_hash " + want);
  auto m = client::ManifestFromJson(req["manifest"]);
  if (!m.ok()) return ErrReply(400, 9, m.error().message);
  bool known;
  {
    std::lock_guard<std::mutex> lock(mu_);
    known = leases_.count(lease_id) > 0;
  }
  if (!known) HoldLease(lease_id, std::stoll(l.value("start_height", "0")));
  HeldLease copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leases_.find(lease_id);
    if (it == leases_.end()) return ErrReply(503, 7, "lease " + std::to_string(lease_id) + " is not known yet; retry");
    if (it->second.manifest_received)
      return Reply{200, json{{"lease_id", std::to_string(lease_id)}, {"status", "already received"}}};
    copy = it->second;
  }
  std::string dir = home_ + "/provider/manifests";
  fs::create_directories(dir);
  if (auto st = WriteFileAtomic(dir + "/" + std::to_string(lease_id) + ".json", req["manifest"].dump()); !st.ok())
    return ErrReply(503, 7, "cannot store the manifest: " + st.error().message);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto gp = AssignGpus(leases_[lease_id]);
    if (!gp.ok()) {
      auto& hl = leases_[lease_id];
      hl.manifest_received = true;
      hl.workload_error = gp.error().message;
      hl.pending_close = "WORKLOAD_FAILED";
      Save();
      return ErrReply(422, 10, "the workload cannot start: " + gp.error().message + "; the lease will be closed");
    }
    copy = leases_[lease_id];
    Save();
  }
  auto st = runtime_->Start(lease_id, m.value(), LimitsFor(copy, m.value()));
  std::lock_guard<std::mutex> lock(mu_);
  auto& hl = leases_[lease_id];
  hl.manifest_received = true;
  if (!st.ok()) {
    hl.workload_error = st.error().message;
    hl.pending_close = "WORKLOAD_FAILED";
    Save();
    return ErrReply(422, 10, "the workload cannot start: " + st.error().message + "; the lease will be closed");
  }
  Save();
  spdlog::info("lease {}: manifest {} accepted, workload started", lease_id, HexEncode(hash));
  json services = json::array();
  for (const auto& [n, s] : m->services) services.push_back(n);
  return Reply{200, json{{"lease_id", std::to_string(lease_id)}, {"status", "started"}, {"services", services}}};
}

std::optional<Daemon::Reply> Daemon::CheckRead(uint64_t lease_id, const std::string& owner,
                                               const std::string& pubkey_b64, const std::string& time_ms,
                                               const std::string& sig_b64) {
  if (owner.empty() || pubkey_b64.empty() || time_ms.empty() || sig_b64.empty())
    return ErrReply(401, 3, "reads need the X-Depai-Owner, X-Depai-Pubkey, X-Depai-Time and X-Depai-Signature headers");
  std::string lease_owner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leases_.find(lease_id);
    if (it != leases_.end()) lease_owner = it->second.owner;
  }
  if (lease_owner.empty()) return ErrReply(404, 4, "lease " + std::to_string(lease_id) + " is not held here");
  if (time_ms.size() > 15 || time_ms.find_first_not_of("0123456789") != std::string::npos)
    return ErrReply(401, 3, "X-Depai-Time must be unix milliseconds");
  int64_t t = std::stoll(time_ms);
  if (std::llabs(NowMs() - t) > client::kReadAuthWindowMs)
    return ErrReply(401, 3, "X-Depai-Time is more than 5 minutes away from the provider's clock");
  auto pk = crypto::Base64Decode(pubkey_b64);
  auto sig = crypto::Base64Decode(sig_b64);
  if (!pk || pk->size() != crypto::kPubKeySize || crypto::AddressToBech32(crypto::AddressOf(*pk)) != owner)
    return ErrReply(401, 3, "X-Depai-Pubkey does not belong to " + owner);
  if (owner != lease_owner) return ErrReply(403, 6, "only the lease owner may read lease " + std::to_string(lease_id));
  if (!sig || !crypto::Verify(*pk, client::ReadSignBytes(lease_id, t), *sig))
    return ErrReply(401, 3, "X-Depai-Signature does not verify");
  return std::nullopt;
}

Daemon::Reply Daemon::LeaseStatusJson(uint64_t lease_id) {
  json j;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leases_.find(lease_id);
    if (it == leases_.end()) return ErrReply(404, 4, "lease " + std::to_string(lease_id) + " is not held here");
    const auto& l = it->second;
    j = json{{"lease_id", std::to_string(l.id)},
             {"order_id", std::to_string(l.order_id)},
             {"owner", l.owner},
             {"provider", chain_.address()},
             {"price_per_block", std::to_string(l.price)},
             {"start_height", std::to_string(l.start_height)},
             {"manifest_hash", l.manifest_hash},
             {"manifest_received", l.manifest_received},
             {"lease_state", l.closed ? "closed" : "active"},
             {"close_reason", l.close_reason},
             {"workload_error", l.workload_error}};
  }
  json services = json::array();
  std::string state = "waiting_for_manifest";
  if (auto st = runtime_->GetStatus(lease_id)) {
    state = RunStateName(st->state);
    for (const auto& s : st->services) {
      json sj{{"service", s.service},
              {"state", RunStateName(s.state)},
              {"pid", s.pid},
              {"started_ms", s.started_ms},
              {"finished_ms", s.finished_ms},
              {"timed_out", s.timed_out},
              {"restarts", s.restarts},
              {"error", s.error},
              {"expose", s.expose},
              {"oom_killed", s.oom_killed},
              {"sandbox", s.sandbox}};
      sj["exit_code"] = s.exit_code ? json(*s.exit_code) : json(nullptr);
      sj["term_signal"] = s.term_signal ? json(*s.term_signal) : json(nullptr);
      services.push_back(sj);
    }
  }
  j["workload_state"] = state;
  j["services"] = services;
  return Reply{200, j};
}

Daemon::Reply Daemon::ResultsJson(uint64_t lease_id) {
  json arr = json::array();
  for (const auto& a : runtime_->Artifacts(lease_id))
    arr.push_back(
        {{"name", a.name}, {"present", a.present}, {"size", a.size}, {"sha256", a.sha256}, {"error", a.error}});
  auto st = runtime_->GetStatus(lease_id);
  return Reply{200, json{{"lease_id", std::to_string(lease_id)},
                         {"workload_state", st ? RunStateName(st->state) : "waiting_for_manifest"},
                         {"artifacts", arr}}};
}

Daemon::Reply Daemon::Health() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t active = 0;
  for (const auto& [id, l] : leases_) active += l.closed ? 0 : 1;
  return Reply{200, json{{"status", "ok"},
                         {"provider", chain_.address()},
                         {"latest_height", std::to_string(latest_height_)},
                         {"next_height", std::to_string(next_height_)},
                         {"open_bids", bids_.size()},
                         {"active_leases", active},
                         {"free", FreeResources().to_json()},
                         {"sandbox", host_.to_json()},
                         {"state_dir", state_dir_}}};
}

}  // namespace depai::provider
