#include "client/deploy_spec.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "util/amount.h"

namespace depai::client {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Assigns to an existing lvalue; usable as the body of an unbraced if.
#define SET_OR_RETURN(lhs, expr)     \
  do {                               \
    auto _r = (expr);                \
    if (!_r.ok()) return _r.error(); \
    lhs = std::move(_r).value();     \
  } while (0)

Error Err(const std::string& msg) { return Error{"deploy", 1, msg}; }

std::string Line(const YAML::Node& n) {
  if (n.Mark().line < 0) return "";
  return " (line " + std::to_string(n.Mark().line + 1) + ")";
}

std::string Join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

// Rejects keys not in `allowed` so a typo ("comand") is an error, not silently ignored.
Status CheckKeys(const YAML::Node& map, const std::string& path, const std::set<std::string>& allowed) {
  if (!map.IsMap()) return Err((path.empty() ? "spec" : path) + ": must be a mapping" + Line(map));
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) return Err(path + ": keys must be plain strings" + Line(kv.first));
    std::string k = kv.first.Scalar();
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Err("unknown field '" + Join(path, k) + "'" + Line(kv.first) + "; expected one of: " + list);
    }
  }
  return {};
}

Result<std::string> Str(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) return Err(path + ": must be a string" + Line(n));
  return n.Scalar();
}

Result<uint64_t> U64Str(const std::string& s, const std::string& path, uint64_t max) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
    return Err(path + ": must be a non-negative integer, got '" + s + "'");
  uint64_t v = std::stoull(s);
  if (v > max) return Err(path + ": must be at most " + std::to_string(max) + ", got " + s);
  return v;
}

Result<uint64_t> U64(const YAML::Node& n, const std::string& path, uint64_t max) {
  if (!n.IsScalar()) return Err(path + ": must be a non-negative integer" + Line(n));
  auto r = U64Str(n.Scalar(), path, max);
  if (!r.ok()) return Err(r.error().message + Line(n));
  return r;
}

Result<bool> Bool(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return Err(path + ": must be true or false" + Line(n));
}

Result<std::vector<std::string>> StrList(const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence()) return Err(path + ": must be a list of strings" + Line(n));
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    auto s = Str(n[i], path + "[" + std::to_string(i) + "]");
    if (!s.ok()) return s.error();
    out.push_back(s.value());
  }
  return out;
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(s[0])) || std::isdigit(static_cast<unsigned char>(s[0])))) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_'))
      return false;
  return true;
}

bool ValidEnvKey(std::string_view s) {
  if (s.empty() || s.size() > 128 || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

// Text the manifest carries must be NUL-free UTF-8 (JSON strings).
bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos || !ValidUtf8(s); }

// The checks shared by the YAML and the JSON paths.
Status ValidateService(const ServiceSpec& s, const std::string& path) {
  if (s.runtime != "exec" && s.runtime != "oci")
    return Err(path + ".runtime: unsupported runtime '" + (ValidUtf8(s.runtime) ? s.runtime : "?") +
               "' (this version supports: exec, oci)");
  if (s.runtime == "oci") {
    if (s.image.empty())
      return Err(path +
                 ".image: missing (runtime oci runs an image pinned by digest, e.g. "
                 "\"docker://registry.example/app@sha256:<64 hex>\")");
    auto at = s.image.rfind("@sha256:");
    if (HasNul(s.image) || s.image.size() > 4096 || at == std::string::npos || s.image.size() - at - 8 != 64 ||
        s.image.find_first_not_of("0123456789abcdef", at + 8) != std::string::npos)
      return Err(path + ".image: '" + (ValidUtf8(s.image) ? s.image : "?") +
                 "' must be pinned by digest: <transport>:<location>@sha256:<64 lower-case hex>");
  } else if (!s.image.empty()) {
    return Err(path + ".image: only runtime oci runs an image");
  }
  if (s.runtime == "exec" && s.command.empty())
    return Err(path + ".command: must name the program to run, e.g. [\"python3\", \"main.py\"]");
  if (s.command.size() + s.args.size() > 256) return Err(path + ": more than 256 command arguments");
  for (const auto& a : s.command)
    if (HasNul(a) || a.size() > 4096)
      return Err(path + ".command: arguments must be <= 4096 bytes of UTF-8 without NUL");
  if (!s.command.empty() && s.command[0].empty()) return Err(path + ".command[0]: the program name is empty");
  if (s.expose.size() > 8) return Err(path + ".expose: at most 8 ports");
  {
    std::set<uint16_t> ports;
    for (uint16_t p : s.expose) {
      if (p == 0) return Err(path + ".expose: ports must be in 1..65535");
      if (!ports.insert(p).second) return Err(path + ".expose: port " + std::to_string(p) + " is listed twice");
    }
  }
  for (const auto& a : s.args)
    if (HasNul(a) || a.size() > 4096) return Err(path + ".args: arguments must be <= 4096 bytes of UTF-8 without NUL");
  if (s.env.size() > 64) return Err(path + ".env: at most 64 variables");
  for (const auto& [k, v] : s.env) {
    if (!ValidEnvKey(k)) return Err(path + ".env: invalid variable name '" + k + "' (use [A-Za-z_][A-Za-z0-9_]*)");
    if (HasNul(v) || v.size() > 4096)
      return Err(path + ".env." + k + ": value must be <= 4096 bytes of UTF-8 without NUL");
  }
  if (s.files.size() > 64) return Err(path + ".files: at most 64 files");
  for (const auto& [k, v] : s.files)
    if (!SafeRelativePath(k))
      return Err(path + ".files: '" + k + "' is not a safe relative path ([A-Za-z0-9._-] segments, no '..')");
  if (s.artifacts.size() > 32) return Err(path + ".artifacts: at most 32 artifacts");
  std::set<std::string> seen;
  for (const auto& a : s.artifacts) {
    if (!SafeRelativePath(a))
      return Err(path + ".artifacts: '" + a + "' is not a safe relative path ([A-Za-z0-9._-] segments, no '..')");
    if (!seen.insert(a).second) return Err(path + ".artifacts: '" + a + "' is listed twice");
  }
  if (s.timeout_s > kMaxTimeoutS)
    return Err(path + ".timeout_s: must be at most " + std::to_string(kMaxTimeoutS) + " (30 days)");
  if (s.timeout_s == 0 && s.restart != RestartPolicy::kAlways)
    return Err(path + ".timeout_s: 0 (no timeout) is only allowed with restart: always");
  return {};
}

Result<RestartPolicy> ParseRestart(const std::string& s, const std::string& path) {
  if (s == "never") return RestartPolicy::kNever;
  if (s == "on-failure") return RestartPolicy::kOnFailure;
  if (s == "always") return RestartPolicy::kAlways;
  return Err(path + ": must be never, on-failure or always, got '" + s + "'");
}

Result<std::string> ReadFile(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return Err("cannot read '" + p.string() + "': not a regular file");
  std::ifstream in(p, std::ios::binary);
  if (!in) return Err("cannot read '" + p.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<ServiceSpec> ParseService(const std::string& name, const YAML::Node& n, const std::string& base_dir) {
  std::string path = "services." + name;
  DEPAI_TRY(CheckKeys(n, path,
                      {"runtime", "image", "command", "args", "env", "files", "artifacts", "timeout_s", "restart",
                       "expose", "egress"}));
  ServiceSpec s;
  s.name = name;
  if (n["runtime"]) SET_OR_RETURN(s.runtime, Str(n["runtime"], path + ".runtime"));
  if (n["image"]) SET_OR_RETURN(s.image, Str(n["image"], path + ".image"));
  if (!n["command"] && s.runtime != "oci")
    return Err(path + ".command: missing (the program to run, e.g. [\"python3\", \"main.py\"])");
  if (n["command"] && n["command"].IsScalar()) {
    s.command = {n["command"].Scalar()};
  } else if (n["command"]) {
    DEPAI_ASSIGN_OR_RETURN(s.command, StrList(n["command"], path + ".command"));
  }
  if (n["expose"]) {
    if (!n["expose"].IsSequence())
      return Err(path + ".expose: must be a list of ports or {port: N}" + Line(n["expose"]));
    for (const auto& e : n["expose"]) {
      YAML::Node pn = e.IsMap() ? e["port"] : e;
      if (e.IsMap()) DEPAI_TRY(CheckKeys(e, path + ".expose[]", {"port"}));
      if (!pn) return Err(path + ".expose[].port: missing" + Line(e));
      DEPAI_ASSIGN_OR_RETURN(uint64_t port, U64(pn, path + ".expose[].port", 65535));
      s.expose.push_back(static_cast<uint16_t>(port));
    }
  }
  if (n["egress"]) {
    if (!n["egress"].IsScalar() || (n["egress"].Scalar() != "true" && n["egress"].Scalar() != "false"))
      return Err(path + ".egress: must be true or false" + Line(n["egress"]));
    s.egress = n["egress"].Scalar() == "true";
  }
  if (n["args"]) SET_OR_RETURN(s.args, StrList(n["args"], path + ".args"));
  if (n["env"]) {
    if (!n["env"].IsMap()) return Err(path + ".env: must be a mapping of NAME: value" + Line(n["env"]));
    for (const auto& kv : n["env"]) {
      std::string k = kv.first.Scalar();
      DEPAI_ASSIGN_OR_RETURN(std::string v, Str(kv.second, path + ".env." + k));
      s.env[k] = v;
    }
  }
  if (n["files"]) {
    if (!n["files"].IsMap()) return Err(path + ".files: must be a mapping of name: path or name: {content: ...}");
    size_t total = 0;
    for (const auto& kv : n["files"]) {
      std::string k = kv.first.Scalar(), fpath = path + ".files." + k;
      std::string content;
      if (kv.second.IsMap()) {
        DEPAI_TRY(CheckKeys(kv.second, fpath, {"content"}));
        if (!kv.second["content"]) return Err(fpath + ".content: missing");
        SET_OR_RETURN(content, Str(kv.second["content"], fpath + ".content"));
      } else {
        DEPAI_ASSIGN_OR_RETURN(std::string rel, Str(kv.second, fpath));
        fs::path p = fs::path(rel).is_absolute() ? fs::path(rel) : fs::path(base_dir.empty() ? "." : base_dir) / rel;
        auto c = ReadFile(p);
        if (!c.ok()) return Err(fpath + ": " + c.error().message);
        content = c.value();
      }
      total += content.size();
      if (total > kMaxManifestBytes / 2) return Err(path + ".files: more than 1 MiB in total");
      s.files[k] = std::move(content);
    }
  }
  if (n["artifacts"]) SET_OR_RETURN(s.artifacts, StrList(n["artifacts"], path + ".artifacts"));
  if (n["restart"]) {
    DEPAI_ASSIGN_OR_RETURN(std::string r, Str(n["restart"], path + ".restart"));
    auto rp = ParseRestart(r, path + ".restart");
    if (!rp.ok()) return Err(rp.error().message + Line(n["restart"]));
    s.restart = rp.value();
  }
  if (n["timeout_s"]) {
    DEPAI_ASSIGN_OR_RETURN(s.timeout_s, U64(n["timeout_s"], path + ".timeout_s", UINT32_MAX));
  } else if (s.restart == RestartPolicy::kAlways) {
    s.timeout_s = 0;
  }
  DEPAI_TRY(ValidateService(s, path));
  return s;
}

Result<depai::provider::v1::Resources> ParseResources(const YAML::Node& n, const std::string& path) {
  DEPAI_TRY(CheckKeys(n, path, {"cpu_millicores", "memory_mib", "storage", "gpus", "bandwidth_mbps"}));
  depai::provider::v1::Resources r;
  constexpr uint64_t kBig = uint64_t{1} << 40;
  if (n["cpu_millicores"]) {
    DEPAI_ASSIGN_OR_RETURN(uint64_t v, U64(n["cpu_millicores"], path + ".cpu_millicores", kBig));
    r.set_cpu_millicores(v);
  }
  if (n["memory_mib"]) {
    DEPAI_ASSIGN_OR_RETURN(uint64_t v, U64(n["memory_mib"], path + ".memory_mib", kBig));
    r.set_memory_mib(v);
  }
  if (n["bandwidth_mbps"]) {
    DEPAI_ASSIGN_OR_RETURN(uint64_t v, U64(n["bandwidth_mbps"], path + ".bandwidth_mbps", kBig));
    r.set_bandwidth_mbps(v);
  }
  if (n["storage"]) {
    if (!n["storage"].IsSequence()) return Err(path + ".storage: must be a list of {class, size_mib}");
    if (n["storage"].size() > 8) return Err(path + ".storage: at most 8 entries");
    for (size_t i = 0; i < n["storage"].size(); ++i) {
      const auto& e = n["storage"][i];
      std::string p = path + ".storage[" + std::to_string(i) + "]";
      DEPAI_TRY(CheckKeys(e, p, {"class", "size_mib"}));
      if (!e["class"] || !e["size_mib"]) return Err(p + ": needs class and size_mib" + Line(e));
      auto* s = r.add_storage();
      DEPAI_ASSIGN_OR_RETURN(std::string cls, Str(e["class"], p + ".class"));
      if (!ValidName(cls)) return Err(p + ".class: '" + cls + "' must be [a-z0-9_-]{1,63}");
      DEPAI_ASSIGN_OR_RETURN(uint64_t sz, U64(e["size_mib"], p + ".size_mib", kBig));
      if (sz == 0) return Err(p + ".size_mib: must be positive");
      s->set_storage_class(cls);
      s->set_size_mib(sz);
    }
  }
  if (n["gpus"]) {
    if (!n["gpus"].IsSequence()) return Err(path + ".gpus: must be a list of {model, count, vram_mib}");
    if (n["gpus"].size() > 8) return Err(path + ".gpus: at most 8 entries");
    for (size_t i = 0; i < n["gpus"].size(); ++i) {
      const auto& e = n["gpus"][i];
      std::string p = path + ".gpus[" + std::to_string(i) + "]";
      DEPAI_TRY(CheckKeys(e, p, {"vendor", "model", "count", "vram_mib", "interface"}));
      if (!e["model"]) return Err(p + ".model: missing" + Line(e));
      auto* g = r.add_gpus();
      if (e["vendor"]) SET_OR_RETURN(*g->mutable_vendor(), Str(e["vendor"], p + ".vendor"));
      SET_OR_RETURN(*g->mutable_model(), Str(e["model"], p + ".model"));
      if (e["interface"]) SET_OR_RETURN(*g->mutable_interface(), Str(e["interface"], p + ".interface"));
      uint64_t count = 1, vram = 0;
      if (e["count"]) SET_OR_RETURN(count, U64(e["count"], p + ".count", 1024));
      if (count == 0) return Err(p + ".count: must be positive");
      if (e["vram_mib"]) SET_OR_RETURN(vram, U64(e["vram_mib"], p + ".vram_mib", kBig));
      g->set_count(static_cast<uint32_t>(count));
      g->set_vram_mib(vram);
    }
  }
  return r;
}

Result<depai::market::v1::Placement> ParsePlacement(const YAML::Node& n) {
  const std::string path = "placement";
  DEPAI_TRY(CheckKeys(
      n, path, {"region", "attributes", "auditors", "auditor_mode", "center", "max_distance_km", "max_distance_m"}));
  depai::market::v1::Placement p;
  if (n["region"]) SET_OR_RETURN(*p.mutable_region(), Str(n["region"], path + ".region"));
  if (n["attributes"]) {
    if (!n["attributes"].IsMap()) return Err(path + ".attributes: must be a mapping of key: value");
    std::map<std::string, std::string> sorted;
    for (const auto& kv : n["attributes"]) {
      std::string k = kv.first.Scalar();
      DEPAI_ASSIGN_OR_RETURN(std::string v, Str(kv.second, path + ".attributes." + k));
      sorted[k] = v;
    }
    for (const auto& [k, v] : sorted) {
      auto* a = p.add_attributes();
      a->set_key(k);
      a->set_value(v);
    }
  }
  if (n["auditors"]) {
    DEPAI_ASSIGN_OR_RETURN(auto auds, StrList(n["auditors"], path + ".auditors"));
    for (const auto& a : auds) {
      auto ok = crypto::AddressFromBech32(a);
      if (!ok.ok()) return Err(path + ".auditors: '" + a + "' is not a depai1... address: " + ok.error().message);
      p.add_auditors(a);
    }
  }
  if (n["auditor_mode"]) {
    DEPAI_ASSIGN_OR_RETURN(std::string m, Str(n["auditor_mode"], path + ".auditor_mode"));
    if (m == "all_of") {
      p.set_auditor_mode(depai::market::v1::AUDITOR_MODE_ALL_OF);
    } else if (m == "any_of") {
      p.set_auditor_mode(depai::market::v1::AUDITOR_MODE_ANY_OF);
    } else {
      return Err(path + ".auditor_mode: must be all_of or any_of, got '" + m + "'" + Line(n["auditor_mode"]));
    }
  }
  if (n["center"]) {
    const auto& c = n["center"];
    DEPAI_TRY(CheckKeys(c, path + ".center", {"lat", "lon", "cell"}));
    if (!c["lat"] || !c["lon"]) return Err(path + ".center: needs lat and lon" + Line(c));
    DEPAI_ASSIGN_OR_RETURN(std::string lat, Str(c["lat"], path + ".center.lat"));
    DEPAI_ASSIGN_OR_RETURN(std::string lon, Str(c["lon"], path + ".center.lon"));
    auto la = ParseMicroDegrees(lat, 90);
    if (!la.ok()) return Err(path + ".center.lat: " + la.error().message + Line(c["lat"]));
    auto lo = ParseMicroDegrees(lon, 180);
    if (!lo.ok()) return Err(path + ".center.lon: " + lo.error().message + Line(c["lon"]));
    p.mutable_center()->set_lat_e6(la.value());
    p.mutable_center()->set_lon_e6(lo.value());
    if (c["cell"]) SET_OR_RETURN(*p.mutable_center()->mutable_cell(), Str(c["cell"], path + ".center.cell"));
  }
  if (n["max_distance_km"] && n["max_distance_m"])
    return Err(path + ": give max_distance_km or max_distance_m, not both");
  if (n["max_distance_km"]) {
    DEPAI_ASSIGN_OR_RETURN(std::string s, Str(n["max_distance_km"], path + ".max_distance_km"));
    auto m = ParseKmToMeters(s);
    if (!m.ok()) return Err(path + ".max_distance_km: " + m.error().message + Line(n["max_distance_km"]));
    p.set_max_distance_m(m.value());
  }
  if (n["max_distance_m"]) {
    DEPAI_ASSIGN_OR_RETURN(uint64_t m, U64(n["max_distance_m"], path + ".max_distance_m", 40000000));
    p.set_max_distance_m(m);
  }
  if (p.max_distance_m() > 0 && !n["center"]) return Err(path + ": a max distance needs a center {lat, lon}");
  return p;
}

// A positive amount in the order's denom: udpai, or ucredit when pricing.denom is ucredit.
Result<depai::tx::v1::Coin> ParsePrice(const YAML::Node& n, const std::string& path, const std::string& denom) {
  DEPAI_ASSIGN_OR_RETURN(std::string s, Str(n, path));
  auto c = Coins::Parse(s);
  if (!c.ok()) return Err(path + ": " + c.error().message + Line(n));
  if (c->list().size() != 1 || c->list()[0].denom != denom)
    return Err(path + ": must be a positive amount of " + denom + ", e.g. 100" + denom + ", got '" + s + "'" +
               (denom == "udpai" && s.find("ucredit") != std::string::npos
                    ? " (set pricing.denom: ucredit for a credit-priced order)"
                    : "") +
               Line(n));
  depai::tx::v1::Coin out;
  out.set_denom(denom);
  out.set_amount(c->list()[0].amount.str());
  return out;
}

// Parses a decimal with at most `max_frac` fraction digits into an integer scaled by 10^max_frac.
Result<int64_t> ParseFixed(std::string_view s, int max_frac, bool allow_sign) {
  if (s.empty()) return Err("empty number");
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    if (!allow_sign) return Err("'" + std::string(s) + "' must not have a sign");
    neg = s[0] == '-';
    i = 1;
  }
  int64_t ip = 0, fp = 0;
  int int_digits = 0, frac_digits = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return Err("'" + std::string(s) + "' is not a decimal number");
    if (++int_digits > 9) return Err("'" + std::string(s) + "' is too large");
    ip = ip * 10 + (s[i] - '0');
  }
  if (i < s.size()) {  // '.'
    ++i;
    if (i == s.size()) return Err("'" + std::string(s) + "' has no digits after the point");
    for (; i < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i])))
        return Err("'" + std::string(s) + "' is not a decimal number");
      if (++frac_digits > max_frac)
        return Err("'" + std::string(s) + "' has more than " + std::to_string(max_frac) + " decimal places");
      fp = fp * 10 + (s[i] - '0');
    }
  }
  if (int_digits == 0) return Err("'" + std::string(s) + "' has no digits before the point");
  for (int k = frac_digits; k < max_frac; ++k) fp *= 10;
  int64_t scale = 1;
  for (int k = 0; k < max_frac; ++k) scale *= 10;
  int64_t v = ip * scale + fp;
  return neg ? -v : v;
}

}  // namespace

std::string RestartPolicyName(RestartPolicy r) {
  switch (r) {
    case RestartPolicy::kNever:
      return "never";
    case RestartPolicy::kOnFailure:
      return "on-failure";
    case RestartPolicy::kAlways:
      return "always";
  }
  return "never";
}

bool SafeRelativePath(std::string_view p) {
  if (p.empty() || p.size() > 255 || p.front() == '/' || p.back() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view seg = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

Result<int64_t> ParseMicroDegrees(std::string_view s, int64_t limit_deg) {
  auto v = ParseFixed(s, 6, true);
  if (!v.ok()) return v.error();
  int64_t lim = limit_deg * 1000000;
  if (v.value() < -lim || v.value() > lim)
    return Err("'" + std::string(s) + "' is out of range [-" + std::to_string(limit_deg) + ", " +
               std::to_string(limit_deg) + "]");
  return v;
}

Result<uint64_t> ParseKmToMeters(std::string_view s) {
  auto v = ParseFixed(s, 3, false);
  if (!v.ok()) return v.error();
  if (v.value() <= 0) return Err("must be positive");
  if (v.value() > 40000000) return Err("'" + std::string(s) + "' km is more than the Earth's circumference");
  return static_cast<uint64_t>(v.value());
}

json ManifestToJson(const Manifest& m) {
  json services = json::object();
  for (const auto& [name, s] : m.services) {
    json files = json::object();
    for (const auto& [k, v] : s.files) files[k] = crypto::Base64Encode(v);
    services[name] = json{{"runtime", s.runtime},     {"command", s.command},
                          {"args", s.args},           {"env", s.env},
                          {"files", files},           {"artifacts", s.artifacts},
                          {"timeout_s", s.timeout_s}, {"restart", RestartPolicyName(s.restart)}};
    // Emitted only when set, so the manifests (and hashes) of specs without them are unchanged.
    if (!s.image.empty()) services[name]["image"] = s.image;
    if (!s.expose.empty()) services[name]["expose"] = s.expose;
    if (s.egress) services[name]["egress"] = true;
  }
  return json{{"version", m.version}, {"services", services}};
}

Result<Manifest> ManifestFromJson(const json& j) {
  auto E = [](const std::string& m) { return Err("manifest: " + m); };
  if (!j.is_object()) return E("must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "version" && it.key() != "services") return E("unknown field '" + it.key() + "'");
  if (!j.contains("version") || !j["version"].is_string() || j["version"] != "1") return E("version: must be \"1\"");
  if (!j.contains("services") || !j["services"].is_object() || j["services"].empty())
    return E("services: must be a non-empty object");
  if (j["services"].size() > 8) return E("services: at most 8 services");
  Manifest m;
  auto strlist = [](const json& v, std::vector<std::string>* out) {
    if (!v.is_array()) return false;
    for (const auto& e : v) {
      if (!e.is_string()) return false;
      out->push_back(e.get<std::string>());
    }
    return true;
  };
  for (auto it = j["services"].begin(); it != j["services"].end(); ++it) {
    std::string path = "services." + it.key();
    if (!ValidName(it.key())) return E(path + ": service names must be [a-z0-9][a-z0-9_-]{0,62}");
    const json& s = it.value();
    if (!s.is_object()) return E(path + ": must be an object");
    static const std::set<std::string> kFields{"runtime", "command",   "args",      "env",
                                               "files",   "artifacts", "timeout_s", "restart"};
    static const std::set<std::string> kOptional{"image", "expose", "egress"};
    for (auto f = s.begin(); f != s.end(); ++f)
      if (!kFields.count(f.key()) && !kOptional.count(f.key()))
        return E("unknown field '" + path + "." + f.key() + "'");
    for (const auto& f : kFields)
      if (!s.contains(f)) return E(path + "." + f + ": missing");
    ServiceSpec sv;
    sv.name = it.key();
    if (!s["runtime"].is_string()) return E(path + ".runtime: must be a string");
    sv.runtime = s["runtime"];
    if (!strlist(s["command"], &sv.command)) return E(path + ".command: must be a list of strings");
    if (!strlist(s["args"], &sv.args)) return E(path + ".args: must be a list of strings");
    if (!strlist(s["artifacts"], &sv.artifacts)) return E(path + ".artifacts: must be a list of strings");
    if (!s["env"].is_object()) return E(path + ".env: must be an object of strings");
    for (auto e = s["env"].begin(); e != s["env"].end(); ++e) {
      if (!e.value().is_string()) return E(path + ".env." + e.key() + ": must be a string");
      sv.env[e.key()] = e.value().get<std::string>();
    }
    if (!s["files"].is_object()) return E(path + ".files: must be an object of base64 strings");
    for (auto f = s["files"].begin(); f != s["files"].end(); ++f) {
      auto content = f.value().is_string() ? crypto::Base64Decode(f.value().get<std::string>()) : std::nullopt;
      if (!content) return E(path + ".files." + f.key() + ": must be base64");
      sv.files[f.key()] = *content;
    }
    if (!s["timeout_s"].is_number_unsigned()) return E(path + ".timeout_s: must be a non-negative integer");
    sv.timeout_s = s["timeout_s"].get<uint64_t>();
    if (!s["restart"].is_string()) return E(path + ".restart: must be a string");
    auto rp = ParseRestart(s["restart"].get<std::string>(), path + ".restart");
    if (!rp.ok()) return E(rp.error().message);
    sv.restart = rp.value();
    if (s.contains("image")) {
      if (!s["image"].is_string()) return E(path + ".image: must be a string");
      sv.image = s["image"].get<std::string>();
    }
    if (s.contains("expose")) {
      if (!s["expose"].is_array()) return E(path + ".expose: must be a list of ports");
      for (const auto& p : s["expose"]) {
        if (!p.is_number_unsigned() || p.get<uint64_t>() > 65535) return E(path + ".expose: ports must be in 1..65535");
        sv.expose.push_back(static_cast<uint16_t>(p.get<uint64_t>()));
      }
    }
    if (s.contains("egress")) {
      if (!s["egress"].is_boolean()) return E(path + ".egress: must be true or false");
      sv.egress = s["egress"].get<bool>();
    }
    auto st = ValidateService(sv, path);
    if (!st.ok()) return E(st.error().message);
    m.services[sv.name] = std::move(sv);
  }
  return m;
}

std::string CanonicalManifestBytes(const json& manifest) { return manifest.dump(); }

Bytes ManifestHash(const json& manifest) { return crypto::Sha256(CanonicalManifestBytes(manifest)); }

Result<DeploySpec> ParseDeploySpec(std::string_view yaml, const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Err("spec is not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (!root || root.IsNull()) return Err("spec is empty");
  DEPAI_TRY(CheckKeys(
      root, "", {"version", "services", "resources", "count", "placement", "pricing", "sla", "min_reputation_bps"}));
  DeploySpec out;
  if (!root["version"]) return Err("version: missing (use version: \"1\")");
  DEPAI_ASSIGN_OR_RETURN(std::string version, Str(root["version"], "version"));
  if (version != "1") return Err("version: unsupported version '" + version + "' (this depai reads \"1\")");
  if (!root["services"] || !root["services"].IsMap() || root["services"].size() == 0)
    return Err("services: missing or empty (a mapping of service name -> {command, ...})");
  if (root["services"].size() > 8) return Err("services: at most 8 services");
  for (const auto& kv : root["services"]) {
    std::string name = kv.first.Scalar();
    if (!ValidName(name))
      return Err("services." + name + ": service names must be [a-z0-9][a-z0-9_-]{0,62}" + Line(kv.first));
    DEPAI_ASSIGN_OR_RETURN(auto svc, ParseService(name, kv.second, base_dir));
    out.manifest.services[name] = std::move(svc);
  }
  out.manifest_json = ManifestToJson(out.manifest);
  if (CanonicalManifestBytes(out.manifest_json).size() > kMaxManifestBytes)
    return Err("services: the manifest is over 2 MiB; ship large inputs separately");
  out.manifest_hash = ManifestHash(out.manifest_json);

  auto& o = out.order;
  if (!root["resources"]) return Err("resources: missing (e.g. {cpu_millicores: 1000, memory_mib: 512})");
  auto* g = o.add_groups();
  g->set_name("main");
  DEPAI_ASSIGN_OR_RETURN(*g->mutable_units(), ParseResources(root["resources"], "resources"));
  if (g->units().cpu_millicores() == 0 && g->units().memory_mib() == 0 && g->units().gpus_size() == 0 &&
      g->units().storage_size() == 0 && g->units().bandwidth_mbps() == 0)
    return Err("resources: asks for nothing; give at least cpu_millicores or memory_mib");
  uint64_t count = 1;
  if (root["count"]) SET_OR_RETURN(count, U64(root["count"], "count", 1000));
  if (count == 0) return Err("count: must be at least 1");
  g->set_count(static_cast<uint32_t>(count));
  if (root["placement"]) SET_OR_RETURN(*o.mutable_placement(), ParsePlacement(root["placement"]));
  if (!root["pricing"]) return Err("pricing: missing (needs max_price_per_block and deposit)");
  const auto& pr = root["pricing"];
  DEPAI_TRY(
      CheckKeys(pr, "pricing",
                {"max_price_per_block", "deposit", "bid_window", "auto_select", "reopen_on_provider_close", "denom"}));
  std::string denom = "udpai";
  if (pr["denom"]) {
    SET_OR_RETURN(denom, Str(pr["denom"], "pricing.denom"));
    if (denom != "udpai" && denom != "ucredit")
      return Err("pricing.denom: must be udpai or ucredit, got '" + denom + "'" + Line(pr["denom"]));
    if (denom == "ucredit") o.set_denom("ucredit");
  }
  if (!pr["max_price_per_block"]) return Err("pricing.max_price_per_block: missing (e.g. 100" + denom + ")");
  SET_OR_RETURN(*o.mutable_max_price_per_block(),
                ParsePrice(pr["max_price_per_block"], "pricing.max_price_per_block", denom));
  if (!pr["deposit"]) return Err("pricing.deposit: missing (e.g. 100000" + denom + ")");
  SET_OR_RETURN(*o.mutable_deposit(), ParsePrice(pr["deposit"], "pricing.deposit", denom));
  uint64_t window = 5;
  if (pr["bid_window"]) SET_OR_RETURN(window, U64(pr["bid_window"], "pricing.bid_window", 1000000));
  if (window == 0) return Err("pricing.bid_window: must be at least 1 block");
  o.set_bid_window_blocks(static_cast<int64_t>(window));
  bool auto_select = true, reopen = false;
  if (pr["auto_select"]) SET_OR_RETURN(auto_select, Bool(pr["auto_select"], "pricing.auto_select"));
  if (pr["reopen_on_provider_close"])
    SET_OR_RETURN(reopen, Bool(pr["reopen_on_provider_close"], "pricing.reopen_on_provider_close"));
  o.set_auto_select(auto_select);
  o.set_reopen_on_provider_close(reopen);
  o.set_manifest_hash(out.manifest_hash);
  if (const auto& sla = root["sla"]) {  // x/verify's liveness terms (doc/deploy-spec.md)
    if (!sla.IsMap()) return Err("sla: must be a mapping {min_uptime_bps, max_latency_ms}");
    DEPAI_TRY(CheckKeys(sla, "sla", {"min_uptime_bps", "max_latency_ms"}));
    uint64_t up = 0, lat = 0;
    if (sla["min_uptime_bps"]) SET_OR_RETURN(up, U64(sla["min_uptime_bps"], "sla.min_uptime_bps", 10000));
    if (sla["max_latency_ms"]) SET_OR_RETURN(lat, U64(sla["max_latency_ms"], "sla.max_latency_ms", 600000));
    o.mutable_sla()->set_min_uptime_bps(static_cast<uint32_t>(up));
    o.mutable_sla()->set_max_latency_ms(static_cast<uint32_t>(lat));
  }
  if (root["min_reputation_bps"]) {
    uint64_t rep = 0;
    SET_OR_RETURN(rep, U64(root["min_reputation_bps"], "min_reputation_bps", 10000));
    o.set_min_reputation_bps(static_cast<uint32_t>(rep));
  }
  return out;
}

Result<DeploySpec> LoadDeploySpec(const std::string& path) {
  auto content = ReadFile(path);
  if (!content.ok()) return content.error();
  auto r = ParseDeploySpec(content.value(), fs::path(path).parent_path().string());
  if (!r.ok()) return Err(path + ": " + r.error().message);
  return r;
}

std::string ManifestSignBytes(const std::string& chain_id, uint64_t lease_id, const Bytes& manifest_hash) {
  return "depai-manifest/v1\n" + chain_id + "\n" + std::to_string(lease_id) + "\n" + HexEncode(manifest_hash);
}

std::string ReadSignBytes(uint64_t lease_id, int64_t time_ms) {
  return "depai-read/v1\n" + std::to_string(lease_id) + "\n" + std::to_string(time_ms);
}

}  // namespace depai::client
