#include "provider/config.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "client/deploy_spec.h"
#include "util/amount.h"

extern char** environ;

namespace depai::provider {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

Error Err(const std::string& msg) { return Error{"config", 1, msg}; }

Status CheckKeys(const toml::table& t, const std::string& path, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Err("unknown key '" + (path.empty() ? key : path + "." + key) + "' (line " +
                 std::to_string(k.source().begin.line) + "); expected one of: " + list);
    }
  }
  return {};
}

Result<std::string> GetStr(const toml::table& t, const std::string& key, const std::string& path, std::string def) {
  auto n = t.get(key);
  if (!n) return def;
  if (auto s = n->value<std::string>(); n->is_string() && s) return *s;
  return Err(path + key + ": must be a string");
}

// `key`, when present, as a list of absolute paths appended to *out; `bad` is the error otherwise.
Status AbsolutePaths(const toml::table& t, const char* key, const std::string& bad, std::vector<std::string>* out) {
  auto n = t.get(key);
  if (!n) return {};
  if (!n->is_array()) return Err(bad);
  for (const auto& e : *n->as_array()) {
    if (!e.is_string() || e.value<std::string>()->empty() || e.value<std::string>()->front() != '/') return Err(bad);
    out->push_back(*e.value<std::string>());
  }
  return {};
}

Result<uint64_t> GetU64(const toml::table& t, const std::string& key, const std::string& path, uint64_t def) {
  auto n = t.get(key);
  if (!n) return def;
  if (!n->is_integer() || *n->value<int64_t>() < 0) return Err(path + key + ": must be a non-negative integer");
  return static_cast<uint64_t>(*n->value<int64_t>());
}

Result<std::map<std::string, uint64_t>> PriceTable(const toml::table& t, const std::string& key) {
  std::map<std::string, uint64_t> out;
  auto n = t.get(key);
  if (!n) return out;
  if (!n->is_table()) return Err("pricing." + key + ": must be a table of name = price");
  for (const auto& [k, v] : *n->as_table()) {
    if (!v.is_integer() || *v.value<int64_t>() < 0)
      return Err("pricing." + key + "." + std::string(k.str()) + ": must be a non-negative integer (udpai)");
    out[std::string(k.str())] = static_cast<uint64_t>(*v.value<int64_t>());
  }
  return out;
}

uint64_t CeilDiv(unsigned __int128 a, uint64_t b) { return static_cast<uint64_t>((a + b - 1) / b); }

uint64_t U64Of(const json& j, const char* k) {
  if (!j.contains(k)) return 0;
  const auto& v = j[k];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return v.get<int64_t>() < 0 ? 0 : static_cast<uint64_t>(v.get<int64_t>());
  if (v.is_string()) {
    auto s = v.get<std::string>();
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 20) return std::stoull(s);
  }
  return 0;
}

}  // namespace

void Totals::add(const Totals& o) {
  cpu_millicores += o.cpu_millicores;
  memory_mib += o.memory_mib;
  bandwidth_mbps += o.bandwidth_mbps;
  for (const auto& [k, v] : o.gpus) gpus[k] += v;
  for (const auto& [k, v] : o.storage) storage[k] += v;
}

std::string Totals::missing(const Totals& need) const {
  auto cmp = [](const std::string& what, uint64_t n, uint64_t have) {
    return n > have ? what + ": need " + std::to_string(n) + ", free " + std::to_string(have) : std::string();
  };
  std::string m = cmp("cpu_millicores", need.cpu_millicores, cpu_millicores);
  if (m.empty()) m = cmp("memory_mib", need.memory_mib, memory_mib);
  if (m.empty()) m = cmp("bandwidth_mbps", need.bandwidth_mbps, bandwidth_mbps);
  for (const auto& [k, v] : need.gpus)
    if (m.empty()) m = cmp("gpu " + k, v, gpus.count(k) ? gpus.at(k) : 0);
  for (const auto& [k, v] : need.storage)
    if (m.empty()) m = cmp("storage " + k + " MiB", v, storage.count(k) ? storage.at(k) : 0);
  return m;
}

json Totals::to_json() const {
  return json{{"cpu_millicores", cpu_millicores},
              {"memory_mib", memory_mib},
              {"bandwidth_mbps", bandwidth_mbps},
              {"gpus", gpus},
              {"storage", storage}};
}

Totals Totals::FromJson(const json& j) {
  Totals t;
  t.cpu_millicores = j.value("cpu_millicores", uint64_t{0});
  t.memory_mib = j.value("memory_mib", uint64_t{0});
  t.bandwidth_mbps = j.value("bandwidth_mbps", uint64_t{0});
  t.gpus = j.value("gpus", std::map<std::string, uint64_t>{});
  t.storage = j.value("storage", std::map<std::string, uint64_t>{});
  return t;
}

Totals TotalsOf(const depai::provider::v1::Resources& r, uint64_t count) {
  Totals t;
  t.cpu_millicores = r.cpu_millicores() * count;
  t.memory_mib = r.memory_mib() * count;
  t.bandwidth_mbps = r.bandwidth_mbps() * count;
  for (const auto& g : r.gpus()) t.gpus[g.model()] += uint64_t{g.count()} * count;
  for (const auto& s : r.storage()) t.storage[s.storage_class()] += s.size_mib() * count;
  return t;
}

Totals OrderTotals(const json& order) {
  Totals t;
  for (const auto& g : order.value("groups", json::array())) {
    uint64_t count = U64Of(g, "count");
    const json& u = g.value("units", json::object());
    Totals one;
    one.cpu_millicores = U64Of(u, "cpu_millicores") * count;
    one.memory_mib = U64Of(u, "memory_mib") * count;
    one.bandwidth_mbps = U64Of(u, "bandwidth_mbps") * count;
    for (const auto& gp : u.value("gpus", json::array())) one.gpus[gp.value("model", "")] += U64Of(gp, "count") * count;
    for (const auto& s : u.value("storage", json::array()))
      one.storage[s.value("storage_class", "")] += U64Of(s, "size_mib") * count;
    t.add(one);
  }
  return t;
}

Totals OrderTotals(const depai::market::v1::Order& order) {
  Totals t;
  for (const auto& g : order.groups()) t.add(TotalsOf(g.units(), g.count()));
  return t;
}

Result<uint64_t> RulePrice(const PriceRule& r, const json& order) {
  unsigned __int128 total = 0;
  for (const auto& g : order.value("groups", json::array())) {
    uint64_t count = U64Of(g, "count");
    const json& u = g.value("units", json::object());
    unsigned __int128 unit = r.base;
    unit += CeilDiv(static_cast<unsigned __int128>(U64Of(u, "cpu_millicores")) * r.per_cpu_core, 1000);
    unit += CeilDiv(static_cast<unsigned __int128>(U64Of(u, "memory_mib")) * r.per_memory_gib, 1024);
    unit += static_cast<unsigned __int128>(U64Of(u, "bandwidth_mbps")) * r.per_bandwidth_mbps;
    for (const auto& gp : u.value("gpus", json::array())) {
      std::string model = gp.value("model", "");
      auto it = r.per_gpu.find(model);
      if (it == r.per_gpu.end()) return Err("no price for GPU model '" + model + "' (pricing.per_gpu)");
      unit += static_cast<unsigned __int128>(U64Of(gp, "count")) * it->second;
    }
    for (const auto& s : u.value("storage", json::array())) {
      std::string cls = s.value("storage_class", "");
      auto it = r.per_storage_gib.find(cls);
      if (it == r.per_storage_gib.end())
        return Err("no price for storage class '" + cls + "' (pricing.per_storage_gib)");
      unit += CeilDiv(static_cast<unsigned __int128>(U64Of(s, "size_mib")) * it->second, 1024);
    }
    total += unit * count;
    if (total > Amount::kMax) return Err("price overflows");
  }
  if (total == 0) total = 1;  // a bid must be positive
  return static_cast<uint64_t>(total);
}

Result<std::optional<uint64_t>> RunPriceScript(const std::string& script, const json& input, int64_t timeout_ms) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Err("pipe failed");
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]), ::close(in_pipe[1]);
    return Err("pipe failed");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::string s = script;
  char* argv[] = {s.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, s.c_str(), &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(in_pipe[1]), ::close(out_pipe[0]);
    return Err("cannot run price script '" + script + "': " + std::strerror(rc));
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::string body = input.dump() + "\n";
  (void)!::write(in_pipe[1], body.data(), body.size());
  ::close(in_pipe[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = r == 0;
      break;
    }
    char buf[4096];
    ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 4096) break;
  }
  ::close(out_pipe[0]);
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out) return Err("price script '" + script + "' timed out after " + std::to_string(timeout_ms) + "ms");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Err("price script '" + script + "' failed (status " + std::to_string(status) + ")");
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.front()))) out.erase(out.begin());
  if (out == "skip" || out.empty()) return std::optional<uint64_t>();
  auto a = Amount::Parse(out);
  if (!a.ok() || a->is_zero())
    return Err("price script '" + script + "' printed '" + out.substr(0, 64) +
               "'; expected a positive integer (udpai per block) or 'skip'");
  return std::optional<uint64_t>(a->raw());
}

Result<ProviderConfig> ParseConfig(const std::string& text, const std::string& base_dir) {
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return Err("invalid TOML: " + std::string(e.description()) + " (line " + std::to_string(e.source().begin.line) +
               ")");
  }
  ProviderConfig c;
  DEPAI_TRY(CheckKeys(t, "",
                      {"node", "key", "keyring_backend", "keyring_home", "chain_id", "listen", "fees", "gas",
                       "provider", "inventory", "pricing", "daemon", "sandbox", "verify"}));
  DEPAI_ASSIGN_OR_RETURN(c.node, GetStr(t, "node", "", c.node));
  DEPAI_ASSIGN_OR_RETURN(c.key, GetStr(t, "key", "", ""));
  if (c.key.empty()) return Err("key: missing (the name of the provider's key in the keyring)");
  DEPAI_ASSIGN_OR_RETURN(c.keyring_backend, GetStr(t, "keyring_backend", "", c.keyring_backend));
  if (c.keyring_backend != "test" && c.keyring_backend != "file") return Err("keyring_backend: must be test or file");
  DEPAI_ASSIGN_OR_RETURN(c.keyring_home, GetStr(t, "keyring_home", "", ""));
  DEPAI_ASSIGN_OR_RETURN(c.chain_id, GetStr(t, "chain_id", "", ""));
  DEPAI_ASSIGN_OR_RETURN(c.listen, GetStr(t, "listen", "", c.listen));
  DEPAI_ASSIGN_OR_RETURN(c.fees, GetStr(t, "fees", "", c.fees));
  if (!Coins::Parse(c.fees).ok()) return Err("fees: '" + c.fees + "' is not an amount like 10udpai");
  DEPAI_ASSIGN_OR_RETURN(c.gas, GetU64(t, "gas", "", c.gas));
  {
    auto colon = c.listen.rfind(':');
    if (colon == std::string::npos || colon == 0) return Err("listen: must be host:port, got '" + c.listen + "'");
  }

  const toml::table empty;
  const toml::table& p = t["provider"].as_table() ? *t["provider"].as_table() : empty;
  DEPAI_TRY(CheckKeys(p, "provider", {"endpoint", "region", "lat", "lon", "cell", "attributes", "collateral"}));
  DEPAI_ASSIGN_OR_RETURN(c.endpoint, GetStr(p, "endpoint", "provider.", "http://" + c.listen));
  DEPAI_ASSIGN_OR_RETURN(c.region, GetStr(p, "region", "provider.", ""));
  DEPAI_ASSIGN_OR_RETURN(c.collateral, GetStr(p, "collateral", "provider.", c.collateral));
  for (const char* k : {"lat", "lon"}) {
    auto n = p.get(k);
    if (!n) continue;
    std::string s;
    if (n->is_string()) {
      s = *n->value<std::string>();
    } else if (n->is_integer()) {
      s = std::to_string(*n->value<int64_t>());
    } else {
      return Err(std::string("provider.") + k + ": write it as a string, e.g. " + k +
                 " = \"52.52\" (decimal degrees, parsed without floating point)");
    }
    auto v = client::ParseMicroDegrees(s, std::string(k) == "lat" ? 90 : 180);
    if (!v.ok()) return Err(std::string("provider.") + k + ": " + v.error().message);
    if (std::string(k) == "lat")
      c.location.set_lat_e6(v.value());
    else
      c.location.set_lon_e6(v.value());
  }
  DEPAI_ASSIGN_OR_RETURN(*c.location.mutable_cell(), GetStr(p, "cell", "provider.", ""));
  if (auto a = p.get("attributes")) {
    if (!a->is_table()) return Err("provider.attributes: must be a table of key = \"value\"");
    for (const auto& [k, v] : *a->as_table()) {
      if (!v.is_string()) return Err("provider.attributes." + std::string(k.str()) + ": must be a string");
      c.attributes[std::string(k.str())] = *v.value<std::string>();
    }
  }

  const toml::table& inv = t["inventory"].as_table() ? *t["inventory"].as_table() : empty;
  DEPAI_TRY(CheckKeys(inv, "inventory", {"cpu_millicores", "memory_mib", "bandwidth_mbps", "gpus", "storage"}));
  {
    auto& r = c.inventory;
    DEPAI_ASSIGN_OR_RETURN(uint64_t cpu, GetU64(inv, "cpu_millicores", "inventory.", 0));
    DEPAI_ASSIGN_OR_RETURN(uint64_t mem, GetU64(inv, "memory_mib", "inventory.", 0));
    DEPAI_ASSIGN_OR_RETURN(uint64_t bw, GetU64(inv, "bandwidth_mbps", "inventory.", 0));
    r.set_cpu_millicores(cpu);
    r.set_memory_mib(mem);
    r.set_bandwidth_mbps(bw);
    if (auto g = inv.get("gpus")) {
      if (!g->is_array()) return Err("inventory.gpus: must be an array of {vendor, model, count, vram_mib}");
      for (const auto& e : *g->as_array()) {
        if (!e.is_table()) return Err("inventory.gpus: entries must be tables");
        const auto& et = *e.as_table();
        DEPAI_TRY(CheckKeys(et, "inventory.gpus[]", {"vendor", "model", "count", "vram_mib", "interface", "devices"}));
        auto* gp = r.add_gpus();
        DEPAI_ASSIGN_OR_RETURN(*gp->mutable_vendor(), GetStr(et, "vendor", "inventory.gpus[].", ""));
        DEPAI_ASSIGN_OR_RETURN(*gp->mutable_model(), GetStr(et, "model", "inventory.gpus[].", ""));
        DEPAI_ASSIGN_OR_RETURN(*gp->mutable_interface(), GetStr(et, "interface", "inventory.gpus[].", ""));
        DEPAI_ASSIGN_OR_RETURN(uint64_t n, GetU64(et, "count", "inventory.gpus[].", 1));
        DEPAI_ASSIGN_OR_RETURN(uint64_t v, GetU64(et, "vram_mib", "inventory.gpus[].", 0));
        if (gp->model().empty()) return Err("inventory.gpus[].model: missing");
        gp->set_count(static_cast<uint32_t>(n));
        gp->set_vram_mib(v);
        // Device indices (/dev/nvidia<i>) of this model; default: the next `count` indices.
        std::vector<uint32_t> devs;
        if (auto dv = et.get("devices")) {
          if (!dv->is_array()) return Err("inventory.gpus[].devices: must be a list of device indices, e.g. [0, 1]");
          for (const auto& x : *dv->as_array()) {
            if (!x.is_integer() || *x.value<int64_t>() < 0 || *x.value<int64_t>() > 255)
              return Err("inventory.gpus[].devices: indices must be integers in 0..255");
            devs.push_back(static_cast<uint32_t>(*x.value<int64_t>()));
          }
          if (devs.size() != n) return Err("inventory.gpus[].devices: must list exactly `count` indices");
        } else {
          uint32_t next = 0;
          for (const auto& [m, ids] : c.gpu_devices)
            for (uint32_t i : ids) next = std::max(next, i + 1);
          for (uint64_t i = 0; i < n; ++i) devs.push_back(next + static_cast<uint32_t>(i));
        }
        for (uint32_t i : devs)
          for (const auto& [m, ids] : c.gpu_devices)
            if (std::find(ids.begin(), ids.end(), i) != ids.end())
              return Err("inventory.gpus[].devices: index " + std::to_string(i) + " is listed twice");
        auto& mine = c.gpu_devices[gp->model()];
        mine.insert(mine.end(), devs.begin(), devs.end());
      }
    }
    if (auto s = inv.get("storage")) {
      if (!s->is_array()) return Err("inventory.storage: must be an array of {class, size_mib}");
      for (const auto& e : *s->as_array()) {
        if (!e.is_table()) return Err("inventory.storage: entries must be tables");
        const auto& et = *e.as_table();
        DEPAI_TRY(CheckKeys(et, "inventory.storage[]", {"class", "size_mib"}));
        auto* st = r.add_storage();
        DEPAI_ASSIGN_OR_RETURN(*st->mutable_storage_class(), GetStr(et, "class", "inventory.storage[].", ""));
        DEPAI_ASSIGN_OR_RETURN(uint64_t sz, GetU64(et, "size_mib", "inventory.storage[].", 0));
        if (st->storage_class().empty() || sz == 0) return Err("inventory.storage[]: needs class and size_mib > 0");
        st->set_size_mib(sz);
      }
    }
    if (cpu == 0 && mem == 0 && r.gpus_size() == 0)
      return Err("inventory: offers nothing; set at least cpu_millicores and memory_mib");
  }

  const toml::table& pr = t["pricing"].as_table() ? *t["pricing"].as_table() : empty;
  DEPAI_TRY(CheckKeys(pr, "pricing",
                      {"base", "per_cpu_core", "per_memory_gib", "per_bandwidth_mbps", "per_gpu", "per_storage_gib",
                       "script", "script_timeout_ms", "credit_price_e9"}));
  DEPAI_ASSIGN_OR_RETURN(c.rule.base, GetU64(pr, "base", "pricing.", 0));
  DEPAI_ASSIGN_OR_RETURN(c.rule.per_cpu_core, GetU64(pr, "per_cpu_core", "pricing.", 0));
  DEPAI_ASSIGN_OR_RETURN(c.rule.per_memory_gib, GetU64(pr, "per_memory_gib", "pricing.", 0));
  DEPAI_ASSIGN_OR_RETURN(c.rule.per_bandwidth_mbps, GetU64(pr, "per_bandwidth_mbps", "pricing.", 0));
  DEPAI_ASSIGN_OR_RETURN(c.rule.per_gpu, PriceTable(pr, "per_gpu"));
  DEPAI_ASSIGN_OR_RETURN(c.rule.per_storage_gib, PriceTable(pr, "per_storage_gib"));
  DEPAI_ASSIGN_OR_RETURN(c.price_script, GetStr(pr, "script", "pricing.", ""));
  DEPAI_ASSIGN_OR_RETURN(uint64_t sto, GetU64(pr, "script_timeout_ms", "pricing.", 2000));
  c.price_script_timeout_ms = static_cast<int64_t>(sto);
  DEPAI_ASSIGN_OR_RETURN(c.credit_price_e9, GetU64(pr, "credit_price_e9", "pricing.", 0));
  if (!c.price_script.empty()) {
    if (fs::path(c.price_script).is_relative()) c.price_script = (fs::path(base_dir) / c.price_script).string();
    if (::access(c.price_script.c_str(), X_OK) != 0)
      return Err("pricing.script: '" + c.price_script + "' is not an executable file");
  } else {
    for (const auto& g : c.inventory.gpus())
      if (!c.rule.per_gpu.count(g.model()))
        return Err("pricing.per_gpu: no price for the inventory's GPU model '" + g.model() + "'");
    for (const auto& s : c.inventory.storage())
      if (!c.rule.per_storage_gib.count(s.storage_class()))
        return Err("pricing.per_storage_gib: no price for the inventory's storage class '" + s.storage_class() + "'");
  }

  const toml::table& d = t["daemon"].as_table() ? *t["daemon"].as_table() : empty;
  DEPAI_TRY(CheckKeys(d, "daemon",
                      {"poll_interval_ms", "withdraw_every_blocks", "manifest_timeout_blocks", "close_completed",
                       "max_restarts", "open_files", "default_file_size_mib"}));
  DEPAI_ASSIGN_OR_RETURN(uint64_t poll, GetU64(d, "poll_interval_ms", "daemon.", 300));
  DEPAI_ASSIGN_OR_RETURN(uint64_t wd, GetU64(d, "withdraw_every_blocks", "daemon.", 20));
  DEPAI_ASSIGN_OR_RETURN(uint64_t mt, GetU64(d, "manifest_timeout_blocks", "daemon.", 50));
  DEPAI_ASSIGN_OR_RETURN(uint64_t mr, GetU64(d, "max_restarts", "daemon.", 5));
  DEPAI_ASSIGN_OR_RETURN(c.open_files, GetU64(d, "open_files", "daemon.", 256));
  DEPAI_ASSIGN_OR_RETURN(c.default_file_size_mib, GetU64(d, "default_file_size_mib", "daemon.", 1024));
  if (poll < 20 || poll > 60000) return Err("daemon.poll_interval_ms: must be in [20, 60000]");
  if (wd == 0) return Err("daemon.withdraw_every_blocks: must be positive");
  if (mt == 0) return Err("daemon.manifest_timeout_blocks: must be positive");
  c.poll_interval_ms = static_cast<int64_t>(poll);
  c.withdraw_every_blocks = static_cast<int64_t>(wd);
  c.manifest_timeout_blocks = static_cast<int64_t>(mt);
  c.max_restarts = static_cast<uint32_t>(mr);
  if (auto cc = d.get("close_completed")) {
    if (!cc->is_boolean()) return Err("daemon.close_completed: must be true or false");
    c.close_completed = *cc->value<bool>();
  }

  const toml::table& sb = t["sandbox"].as_table() ? *t["sandbox"].as_table() : empty;
  DEPAI_TRY(CheckKeys(sb, "sandbox",
                      {"mode", "bwrap", "uid_base", "cgroups", "pids_max", "tmp_size_mib", "allow_egress", "dev_dir",
                       "gpu_libs", "skopeo", "image_dirs", "state_dir", "max_image_mib"}));
  auto& x = c.sandbox;
  DEPAI_ASSIGN_OR_RETURN(x.mode, GetStr(sb, "mode", "sandbox.", x.mode));
  if (x.mode != "bwrap" && x.mode != "none")
    return Err("sandbox.mode: must be \"bwrap\" (workloads isolated) or \"none\" (unconfined), got '" + x.mode + "'");
  DEPAI_ASSIGN_OR_RETURN(x.bwrap, GetStr(sb, "bwrap", "sandbox.", x.bwrap));
  DEPAI_ASSIGN_OR_RETURN(uint64_t ub, GetU64(sb, "uid_base", "sandbox.", x.uid_base));
  if (ub < 1000 || ub > 4000000000ull) return Err("sandbox.uid_base: must be in [1000, 4000000000]");
  x.uid_base = static_cast<uint32_t>(ub);
  DEPAI_ASSIGN_OR_RETURN(x.pids_max, GetU64(sb, "pids_max", "sandbox.", x.pids_max));
  if (x.pids_max < 16) return Err("sandbox.pids_max: must be at least 16");
  DEPAI_ASSIGN_OR_RETURN(x.tmp_size_mib, GetU64(sb, "tmp_size_mib", "sandbox.", x.tmp_size_mib));
  if (x.tmp_size_mib == 0) return Err("sandbox.tmp_size_mib: must be positive");
  DEPAI_ASSIGN_OR_RETURN(x.dev_dir, GetStr(sb, "dev_dir", "sandbox.", x.dev_dir));
  DEPAI_ASSIGN_OR_RETURN(x.skopeo, GetStr(sb, "skopeo", "sandbox.", x.skopeo));
  DEPAI_ASSIGN_OR_RETURN(x.state_dir, GetStr(sb, "state_dir", "sandbox.", ""));
  DEPAI_ASSIGN_OR_RETURN(x.max_image_mib, GetU64(sb, "max_image_mib", "sandbox.", x.max_image_mib));
  if (x.max_image_mib == 0) return Err("sandbox.max_image_mib: must be positive");
  if (!x.state_dir.empty() && x.state_dir.front() != '/') {
    x.state_dir = (fs::path(base_dir) / x.state_dir).lexically_normal().string();
  }
  for (const char* k : {"cgroups", "allow_egress"}) {
    if (auto b = sb.get(k)) {
      if (!b->is_boolean()) return Err(std::string("sandbox.") + k + ": must be true or false");
      (std::string(k) == "cgroups" ? x.cgroups : x.allow_egress) = *b->value<bool>();
    }
  }
  DEPAI_TRY(
      AbsolutePaths(sb, "image_dirs", "sandbox.image_dirs: must be a list of absolute directories", &x.image_dirs));
  if (sb.get("gpu_libs")) {
    DEPAI_TRY(AbsolutePaths(sb, "gpu_libs", "sandbox.gpu_libs: must be a list of absolute paths", &x.gpu_libs));
  } else if (!c.gpu_devices.empty()) {
    x.gpu_libs = FindGpuLibs();
  }

  const toml::table& vt = t["verify"].as_table() ? *t["verify"].as_table() : empty;
  DEPAI_TRY(CheckKeys(vt, "verify",
                      {"enabled", "prover", "threads", "prover_timeout_ms", "appeal", "dispute", "keep_products"}));
  auto& v = c.verify;
  DEPAI_ASSIGN_OR_RETURN(v.prover, GetStr(vt, "prover", "verify.", v.prover));
  if (v.prover != "builtin" && v.prover != "cuda") {
    if (fs::path(v.prover).is_relative()) v.prover = (fs::path(base_dir) / v.prover).lexically_normal().string();
    if (::access(v.prover.c_str(), X_OK) != 0)
      return Err("verify.prover: must be \"builtin\", \"cuda\" or an executable file; '" + v.prover +
                 "' is not executable");
  }
  DEPAI_ASSIGN_OR_RETURN(uint64_t vth, GetU64(vt, "threads", "verify.", 0));
  if (vth > 1024) return Err("verify.threads: must be at most 1024");
  v.threads = static_cast<uint32_t>(vth);
  DEPAI_ASSIGN_OR_RETURN(uint64_t vto, GetU64(vt, "prover_timeout_ms", "verify.", 600000));
  if (vto < 100) return Err("verify.prover_timeout_ms: must be at least 100");
  v.prover_timeout_ms = static_cast<int64_t>(vto);
  DEPAI_ASSIGN_OR_RETURN(uint64_t keep, GetU64(vt, "keep_products", "verify.", 8));
  if (keep == 0 || keep > 1000) return Err("verify.keep_products: must be in [1, 1000]");
  v.keep_products = static_cast<uint32_t>(keep);
  for (const char* k : {"enabled", "appeal", "dispute"}) {
    if (auto b = vt.get(k)) {
      if (!b->is_boolean()) return Err(std::string("verify.") + k + ": must be true or false");
      const std::string key(k);
      (key == "enabled" ? v.enabled : key == "appeal" ? v.appeal : v.dispute) = *b->value<bool>();
    }
  }
  return c;
}

Result<ProviderConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err("cannot read config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = ParseConfig(ss.str(), fs::path(path).parent_path().string());
  if (!r.ok()) return Err(path + ": " + r.error().message);
  return r;
}

}  // namespace depai::provider
