#include "checker/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "util/amount.h"

namespace depai::checker {

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

Result<uint64_t> GetU64(const toml::table& t, const std::string& key, const std::string& path, uint64_t def,
                        uint64_t lo, uint64_t hi) {
  auto n = t.get(key);
  if (!n) return def;
  if (!n->is_integer() || *n->value<int64_t>() < 0) return Err(path + key + ": must be a non-negative integer");
  uint64_t v = static_cast<uint64_t>(*n->value<int64_t>());
  if (v < lo || v > hi)
    return Err(path + key + ": must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

}  // namespace

Result<CheckerConfig> ParseCheckerConfig(const std::string& text) {
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return Err("invalid TOML: " + std::string(e.description()) + " (line " + std::to_string(e.source().begin.line) +
               ")");
  }
  CheckerConfig c;
  DEPAI_TRY(CheckKeys(t, "", {"node", "key", "keyring_backend", "keyring_home", "chain_id", "fees", "gas", "checker"}));
  DEPAI_ASSIGN_OR_RETURN(c.node, GetStr(t, "node", "", c.node));
  DEPAI_ASSIGN_OR_RETURN(c.key, GetStr(t, "key", "", ""));
  if (c.key.empty()) return Err("key: missing (the name of the checker's key in the keyring)");
  DEPAI_ASSIGN_OR_RETURN(c.keyring_backend, GetStr(t, "keyring_backend", "", c.keyring_backend));
  if (c.keyring_backend != "test" && c.keyring_backend != "file") return Err("keyring_backend: must be test or file");
  DEPAI_ASSIGN_OR_RETURN(c.keyring_home, GetStr(t, "keyring_home", "", ""));
  DEPAI_ASSIGN_OR_RETURN(c.chain_id, GetStr(t, "chain_id", "", ""));
  DEPAI_ASSIGN_OR_RETURN(c.fees, GetStr(t, "fees", "", c.fees));
  if (!Coins::Parse(c.fees).ok()) return Err("fees: '" + c.fees + "' is not an amount like 10udpai");
  DEPAI_ASSIGN_OR_RETURN(c.gas, GetU64(t, "gas", "", c.gas, 1, 100000000));

  const toml::table empty;
  const toml::table& k = t["checker"].as_table() ? *t["checker"].as_table() : empty;
  DEPAI_TRY(CheckKeys(k, "checker",
                      {"poll_interval_ms", "start_height", "http_timeout_ms", "probe_timeout_ms", "fetch_attempts",
                       "freivalds_rounds", "max_latency_ms"}));
  DEPAI_ASSIGN_OR_RETURN(uint64_t poll, GetU64(k, "poll_interval_ms", "checker.", 300, 20, 60000));
  DEPAI_ASSIGN_OR_RETURN(uint64_t start, GetU64(k, "start_height", "checker.", 0, 0, uint64_t{1} << 62));
  DEPAI_ASSIGN_OR_RETURN(uint64_t ht, GetU64(k, "http_timeout_ms", "checker.", 5000, 50, 600000));
  DEPAI_ASSIGN_OR_RETURN(uint64_t pt, GetU64(k, "probe_timeout_ms", "checker.", 5000, 50, 600000));
  DEPAI_ASSIGN_OR_RETURN(uint64_t fa, GetU64(k, "fetch_attempts", "checker.", 3, 1, 20));
  DEPAI_ASSIGN_OR_RETURN(uint64_t fr, GetU64(k, "freivalds_rounds", "checker.", 0, 0, 16));
  DEPAI_ASSIGN_OR_RETURN(uint64_t ml, GetU64(k, "max_latency_ms", "checker.", 0, 0, 600000));
  c.poll_interval_ms = static_cast<int64_t>(poll);
  c.start_height = static_cast<int64_t>(start);
  c.http_timeout_ms = static_cast<int64_t>(ht);
  c.probe_timeout_ms = static_cast<int64_t>(pt);
  c.fetch_attempts = static_cast<uint32_t>(fa);
  c.freivalds_rounds = static_cast<uint32_t>(fr);
  c.max_latency_ms = static_cast<uint32_t>(ml);
  return c;
}

Result<CheckerConfig> LoadCheckerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err("cannot read config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = ParseCheckerConfig(ss.str());
  if (!r.ok()) return Err(path + ": " + r.error().message);
  return r;
}

}  // namespace depai::checker
