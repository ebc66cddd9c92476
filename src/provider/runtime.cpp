#include "provider/runtime.h"

#include <spdlog/spdlog.h>

#include "util/files.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/hash.h"
#include "provider/seccomp.h"
#include "util/bytes.h"
#include "util/process.h"
#include "util/safe_path.h"

namespace depai::provider {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
// The shim: runs the program, writes its exit status to $1, exits with it. Only sh builtins.
// The exit status goes to fd 3 (kFdExitStatus), which the command itself does not inherit.
constexpr const char* kShim = "\"$@\" 3>&-; rc=$?; printf '%s\\n' \"$rc\" >&3; exit \"$rc\"";

Error Err(uint32_t code, const std::string& msg) { return Error{"runtime", code, msg}; }

// /proc/<pid>/stat: state (field 3) and starttime (field 22), counted after the ")" of comm.
bool ProcStat(pid_t pid, char* state, uint64_t* start_ticks) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return false;
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = all.rfind(')');
  if (rp == std::string::npos) return false;
  std::istringstream ss(all.substr(rp + 2));
  std::string f;
  std::vector<std::string> fields;
  while (ss >> f) fields.push_back(f);
  if (fields.size() < 20) return false;
  *state = fields[0].empty() ? '?' : fields[0][0];
  *start_ticks = std::stoull(fields[19]);
  return true;
}

// Alive and the same process (not a recycled pid); zombies count as ended.
bool Alive(pid_t pid, uint64_t start_ticks) {
  char st = 0;
  uint64_t ticks = 0;
  if (pid <= 0 || !ProcStat(pid, &st, &ticks)) return false;
  if (st == 'Z' || st == 'X') return false;
  return start_ticks == 0 || ticks == start_ticks;
}

std::optional<std::string> Sha256File(const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[1 << 16];
  *size = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    EVP_DigestUpdate(ctx, buf, static_cast<size_t>(n));
    *size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

json SpecJson(const client::ServiceSpec& s) {  // files are not needed after the first start
  return json{{"runtime", s.runtime},
              {"command", s.command},
              {"args", s.args},
              {"env", s.env},
              {"artifacts", s.artifacts},
              {"timeout_s", s.timeout_s},
              {"restart", client::RestartPolicyName(s.restart)},
              {"image", s.image},
              {"expose", s.expose},
              {"egress", s.egress}};
}

client::ServiceSpec SpecFromJson(const std::string& name, const json& j) {
  client::ServiceSpec s;
  s.name = name;
  s.runtime = j.value("runtime", "exec");
  s.command = j.value("command", std::vector<std::string>{});
  s.args = j.value("args", std::vector<std::string>{});
  s.env = j.value("env", std::map<std::string, std::string>{});
  s.artifacts = j.value("artifacts", std::vector<std::string>{});
  s.timeout_s = j.value("timeout_s", uint64_t{0});
  s.image = j.value("image", "");
  s.expose = j.value("expose", std::vector<uint16_t>{});
  s.egress = j.value("egress", false);
  std::string r = j.value("restart", "never");
  s.restart = r == "always"       ? client::RestartPolicy::kAlways
              : r == "on-failure" ? client::RestartPolicy::kOnFailure
                                  : client::RestartPolicy::kNever;
  return s;
}

}  // namespace

namespace {

// The registry host of a docker:// location ("//h:5000/x", "[::1]/x"), lower case, without port
// or brackets.
std::string RegistryHost(const std::string& location) {
  std::string loc = location.rfind("//", 0) == 0 ? location.substr(2) : location;
  std::string host = loc.substr(0, loc.find('/'));
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    host = host.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  } else if (host.find(':') != std::string::npos) {
    host = host.substr(0, host.find(':'));
  }
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

// A host name or address literal on the provider's own networks.
bool HostIsLocal(const std::string& host) {
  if (host == "localhost" || (host.size() > 10 && host.substr(host.size() - 10) == ".localhost")) return true;
  in_addr a4{};
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    uint32_t ip = ntohl(a4.s_addr);
    return (ip >> 24) == 127 || (ip >> 24) == 10 || (ip >> 24) == 0 || (ip >> 16) == 0xA9FE || (ip >> 20) == 0xAC1 ||
           (ip >> 16) == 0xC0A8 || (ip >> 22) == ((100u << 2) | 1u);
  }
  in6_addr a6{};
  if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) || (a6.s6_addr[0] & 0xfe) == 0xfc ||
           IN6_IS_ADDR_V4MAPPED(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6);
  return false;
}

}  // namespace

// "127.0.0.1:5000/app", "localhost/app", "[::1]/app", "10.1.2.3/app": the provider's own network.
bool RegistryIsLocal(const std::string& location) { return HostIsLocal(RegistryHost(location)); }

bool RegistryResolvesLocal(const std::string& location) {
  std::string host = RegistryHost(location);
  if (HostIsLocal(host)) return true;
  if (host.empty()) return false;
  struct addrinfo hints {};
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return false;  // skopeo will fail to reach it
  bool local = false;
  char buf[INET6_ADDRSTRLEN];
  for (auto* ai = res; ai; ai = ai->ai_next) {
    const void* addr = ai->ai_family == AF_INET
                           ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                           : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    if (::inet_ntop(ai->ai_family, addr, buf, sizeof buf)) local = local || HostIsLocal(buf);
  }
  ::freeaddrinfo(res);
  return local;
}

namespace {

RunState StateFromName(const std::string& n) {
  if (n == "succeeded") return RunState::kSucceeded;
  if (n == "failed") return RunState::kFailed;
  if (n == "stopped") return RunState::kStopped;
  return RunState::kRunning;
}

void SetRlimit(int resource, uint64_t soft, uint64_t hard) {
  struct rlimit rl;
  rl.rlim_cur = soft;
  rl.rlim_max = hard;
  ::setrlimit(resource, &rl);
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RunStateName(RunState s) {
  switch (s) {
    case RunState::kRunning:
      return "running";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kStopped:
      return "stopped";
  }
  return "running";
}

std::string ExecRuntime::ResolveProgram(const std::string& program, const std::string& path) {
  // A path is the workload's, resolved inside its sandbox: not checked on the host.
  if (program.find('/') != std::string::npos) return program;
  return FindExecutable(program, path);
}

ExecRuntime::ExecRuntime(std::string root, SandboxConfig sandbox, ImageStore* images)
    : root_(std::move(root)), sandbox_(std::move(sandbox)), images_(images) {
  fs::create_directories(root_);
  // A root daemon's sandboxes start as per-lease uids, and bwrap (running as that uid) resolves the
  // work directory by path: the tree must be searchable (not listable) by others. Everything in it
  // but the work directories is root's, mode 0600/0700.
  ::chmod(root_.c_str(), Searchable() ? 0711 : 0700);
  Load();
}

ExecRuntime::~ExecRuntime() { StopMonitor(); }

bool ExecRuntime::Searchable() const { return sandbox_.mode != "none" && ::geteuid() == 0; }

std::string ExecRuntime::Dir(uint64_t lease_id, const std::string& service) const {
  return root_ + "/" + std::to_string(lease_id) + "/" + service;
}

void ExecRuntime::Save(const Svc& s) const {
  json arts = json::array();
  for (const auto& a : s.st.artifacts)
    arts.push_back(
        {{"name", a.name}, {"present", a.present}, {"size", a.size}, {"sha256", a.sha256}, {"error", a.error}});
  json j{{"lease_id", s.lease_id},
         {"service", s.spec.name},
         {"spec", SpecJson(s.spec)},
         {"limits",
          {{"cpu_seconds", s.limits.cpu_seconds},
           {"memory_bytes", s.limits.memory_bytes},
           {"open_files", s.limits.open_files},
           {"file_size_bytes", s.limits.file_size_bytes},
           {"max_restarts", s.limits.max_restarts},
           {"restart_backoff_ms", s.limits.restart_backoff_ms},
           {"cpu_millicores", s.limits.cpu_millicores},
           {"gpus", s.limits.gpus}}},
         {"state", RunStateName(s.st.state)},
         {"pid", s.st.pid},
         {"proc_start_ticks", s.proc_start_ticks},
         {"started_ms", s.st.started_ms},
         {"finished_ms", s.st.finished_ms},
         {"timed_out", s.st.timed_out},
         {"restarts", s.st.restarts},
         {"consecutive_failures", s.st.consecutive_failures},
         {"error", s.st.error},
         {"artifacts", arts},
         {"launch",
          {{"image", s.launch.image},
           {"argv", s.launch.argv},
           {"env", s.launch.env},
           {"cwd", s.launch.cwd},
           {"gpus", s.launch.gpus},
           {"gpu_libs", s.launch.gpu_libs},
           {"tmp_bytes", s.launch.tmp_bytes}}},
         {"uid", s.uid},
         {"rootfs", s.rootfs},
         {"cgroup", s.cgroup},
         {"sandbox", s.st.sandbox},
         {"oom_killed", s.st.oom_killed}};
  j["exit_code"] = s.st.exit_code ? json(*s.st.exit_code) : json(nullptr);
  j["term_signal"] = s.st.term_signal ? json(*s.st.term_signal) : json(nullptr);
  if (auto st = WriteFileAtomic(Dir(s.lease_id, s.spec.name) + "/status.json", j.dump(2)); !st.ok())
    spdlog::warn("lease {} service {}: {}", s.lease_id, s.spec.name, st.error().message);
}

void ExecRuntime::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  for (const auto& ld : fs::directory_iterator(root_, ec)) {
    if (!ld.is_directory()) continue;
    for (const auto& sd : fs::directory_iterator(ld.path(), ec)) {
      std::ifstream in(sd.path() / "status.json");
      if (!in) continue;
      json j = json::parse(in, nullptr, false);
      if (!j.is_object()) continue;
      Svc s;
      s.lease_id = j.value("lease_id", uint64_t{0});
      std::string name = j.value("service", "");
      if (s.lease_id == 0 || name.empty()) continue;
      s.spec = SpecFromJson(name, j.value("spec", json::object()));
      const json& l = j.value("limits", json::object());
      s.limits.cpu_seconds = l.value("cpu_seconds", uint64_t{0});
      s.limits.memory_bytes = l.value("memory_bytes", uint64_t{0});
      s.limits.open_files = l.value("open_files", uint64_t{256});
      s.limits.file_size_bytes = l.value("file_size_bytes", uint64_t{0});
      s.limits.max_restarts = l.value("max_restarts", 5u);
      s.limits.restart_backoff_ms = l.value("restart_backoff_ms", int64_t{1000});
      s.limits.cpu_millicores = l.value("cpu_millicores", uint64_t{0});
      s.limits.gpus = l.value("gpus", std::vector<uint32_t>{});
      const json& lj = j.value("launch", json::object());
      s.launch.lease_id = s.lease_id;
      s.launch.service = name;
      s.launch.image = lj.value("image", false);
      s.launch.argv = lj.value("argv", std::vector<std::string>{});
      s.launch.env = lj.value("env", std::vector<std::string>{});
      s.launch.cwd = lj.value("cwd", "/work");
      s.launch.gpus = lj.value("gpus", std::vector<uint32_t>{});
      s.launch.gpu_libs = lj.value("gpu_libs", std::vector<std::string>{});
      s.launch.tmp_bytes = lj.value("tmp_bytes", uint64_t{256} << 20);
      s.uid = j.value("uid", 0u);
      s.rootfs = j.value("rootfs", "");
      s.cgroup = j.value("cgroup", "");
      s.st.sandbox = j.value("sandbox", json::object());
      s.st.oom_killed = j.value("oom_killed", false);
      s.st.expose = s.spec.expose;
      s.st.service = name;
      s.st.state = StateFromName(j.value("state", "running"));
      s.st.pid = j.value("pid", 0);
      s.proc_start_ticks = j.value("proc_start_ticks", uint64_t{0});
      s.st.started_ms = j.value("started_ms", int64_t{0});
      s.st.finished_ms = j.value("finished_ms", int64_t{0});
      s.st.timed_out = j.value("timed_out", false);
      s.st.restarts = j.value("restarts", 0u);
      s.st.consecutive_failures = j.value("consecutive_failures", 0u);
      s.st.error = j.value("error", "");
      if (j.contains("exit_code") && j["exit_code"].is_number()) s.st.exit_code = j["exit_code"].get<int>();
      if (j.contains("term_signal") && j["term_signal"].is_number()) s.st.term_signal = j["term_signal"].get<int>();
      for (const auto& a : j.value("artifacts", json::array()))
        s.st.artifacts.push_back(Artifact{a.value("name", ""), a.value("present", false), a.value("size", uint64_t{0}),
                                          a.value("sha256", ""), a.value("error", "")});
      s.child = false;  // processes of an earlier daemon are adopted, not our children
      auto key = std::make_pair(s.lease_id, name);
      auto& ref = svcs_[key] = std::move(s);
      if (ref.st.state == RunState::kRunning) {
        if (ref.st.pid != 0 && !Alive(ref.st.pid, ref.proc_start_ticks)) {
          Finished(ref, 0, false);  // ended while nobody watched: read its exit_status file
        } else if (ref.st.pid == 0) {
          ref.restart_at_ms = NowMs();  // was waiting for a restart
        }
      }
    }
  }
}

Result<Launch> ExecRuntime::Resolve(uint64_t lease_id, const client::ServiceSpec& spec, const Limits& limits,
                                    std::string* rootfs) {
  Launch l;
  l.lease_id = lease_id;
  l.service = spec.name;
  l.gpus = limits.gpus;
  l.egress = spec.egress;
  l.tmp_bytes = sandbox_.tmp_size_mib << 20;
  std::map<std::string, std::string> env;
  std::vector<std::string> argv;
  if (spec.egress && (!sandbox_.allow_egress || sandbox_.mode == "none"))  // before any image is fetched
    return Err(9, "service " + spec.name +
                      ": asks for egress, and this provider does not allow outbound network (sandbox.allow_egress)");
  if (spec.runtime == "oci") {
    if (sandbox_.mode == "none")
      return Err(3,
                 "service " + spec.name + ": runtime 'oci' needs the sandbox (this provider runs sandbox mode none)");
    if (!images_) return Err(3, "service " + spec.name + ": runtime 'oci' is not supported by this provider");
    auto ref = ParseImageRef(spec.image);
    if (!ref.ok()) return Err(8, "service " + spec.name + ": image " + spec.image + ": " + ref.error().message);
    if (ref->transport == "docker" && RegistryResolvesLocal(ref->location))
      return Err(8, "service " + spec.name + ": image " + spec.image +
                        ": registries on loopback, link-local or private addresses are refused (they are the "
                        "provider's own network)");
    auto img = images_->Pull(spec.image);
    if (!img.ok()) return Err(8, "service " + spec.name + ": image " + spec.image + ": " + img.error().message);
    std::vector<std::string> libs = l.gpus.empty() ? std::vector<std::string>{} : sandbox_.gpu_libs;
    if (auto st = PrepareImageRoot(img->rootfs, libs, spec.egress); !st.ok())
      return Err(8, "service " + spec.name + ": preparing the image root: " + st.error().message);
    *rootfs = img->rootfs;
    l.image = true;
    l.gpu_libs = libs;
    for (const auto& kv : img->config.env) {
      auto eq = kv.find('=');
      if (eq != std::string::npos && eq > 0) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    // As Kubernetes and Akash: command replaces the Entrypoint, args replace the Cmd.
    argv = spec.command.empty() ? img->config.entrypoint : spec.command;
    const auto& rest = !spec.args.empty() ? spec.args : (spec.command.empty() ? img->config.cmd : spec.args);
    argv.insert(argv.end(), rest.begin(), rest.end());
    if (argv.empty()) return Err(4, "service " + spec.name + ": the image has no Entrypoint or Cmd and no command");
    l.cwd = img->config.working_dir.empty() ? "/work" : img->config.working_dir;
    if (!env.count("PATH")) env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  } else {
    env["PATH"] = kDefaultPath;
    argv = spec.command;
    argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  }
  for (const auto& [k, v] : spec.env) env[k] = v;
  if (spec.runtime != "oci") {
    const std::string& prog = argv.at(0);
    if (prog.find('/') == std::string::npos) {
      // Looked up on the host, so only where the sandbox sees the host's own files (/usr and the
      // /bin, /sbin links): a buyer's PATH must not probe the rest of the host.
      std::string path = env["PATH"];
      if (sandbox_.mode != "none") {
        std::string visible, dir;
        std::stringstream ss(path);
        while (std::getline(ss, dir, ':'))
          if (dir.rfind("/usr/", 0) == 0 || dir == "/usr" || dir == "/bin" || dir == "/sbin")
            visible += (visible.empty() ? "" : ":") + dir;
        path = visible;
      }
      std::string found = ResolveProgram(prog, path);
      if (found.empty())
        return Err(4, "service " + spec.name + ": program '" + prog + "' not found in PATH=" + env["PATH"]);
      argv[0] = found;
    }
  }
  if (!env.count("HOME")) env["HOME"] = sandbox_.mode == "none" ? Dir(lease_id, spec.name) + "/work" : "/work";
  env["DEPAI_LEASE_ID"] = std::to_string(lease_id);
  env["DEPAI_SERVICE"] = spec.name;
  if (!l.gpus.empty()) {
    if (sandbox_.mode == "none") {  // unconfined: every GPU is visible, so name the assigned ones
      std::string ids;
      for (uint32_t g : l.gpus) ids += (ids.empty() ? "" : ",") + std::to_string(g);
      env["CUDA_VISIBLE_DEVICES"] = ids;
    } else {
      env["CUDA_VISIBLE_DEVICES"] = CudaVisibleDevices(l.gpus.size());
    }
    env["NVIDIA_VISIBLE_DEVICES"] = env["CUDA_VISIBLE_DEVICES"];
    if (l.image)
      env["LD_LIBRARY_PATH"] =
          "/usr/local/nvidia/lib64" + (env.count("LD_LIBRARY_PATH") ? ":" + env["LD_LIBRARY_PATH"] : std::string());
  }
  for (const auto& [k, v] : env) l.env.push_back(k + "=" + v);
  l.argv = std::move(argv);
  if (!l.gpus.empty() && sandbox_.mode != "none") {
    auto nodes = GpuDeviceNodes(sandbox_.dev_dir, l.gpus);
    if (!nodes.ok()) return Err(10, "service " + spec.name + ": " + nodes.error().message);
  }
  return l;
}

Status ExecRuntime::Start(uint64_t lease_id, const client::Manifest& m, const Limits& limits) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, spec] : m.services)
      if (svcs_.count({lease_id, name})) return Err(2, "lease " + std::to_string(lease_id) + " already runs");
  }
  // Resolve every service first (images are pulled here, outside the lock) so that a bad manifest
  // starts nothing.
  std::map<std::string, std::pair<Launch, std::string>> resolved;
  for (const auto& [name, spec] : m.services) {
    if (spec.runtime != "exec" && spec.runtime != "oci")
      return Err(3, "service " + name + ": runtime '" + spec.runtime + "' is not supported by this provider");
    std::string rootfs;
    auto l = Resolve(lease_id, spec, limits, &rootfs);
    if (!l.ok()) return l.error();
    resolved[name] = {std::move(l).value(), rootfs};
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, spec] : m.services)
    if (svcs_.count({lease_id, name})) return Err(2, "lease " + std::to_string(lease_id) + " already runs");
  uint32_t uid = sandbox_.mode == "none" ? 0 : LeaseUid(sandbox_, lease_id);
  for (const auto& [name, spec] : m.services) {
    std::string dir = Dir(lease_id, name);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Err(5, "cannot create " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), Searchable() ? 0711 : 0700);
    ::chmod(Dir(lease_id, "").c_str(), Searchable() ? 0711 : 0700);
    for (const char* sub : {"/work", "/artifacts"}) {
      fs::create_directories(dir + sub, ec);
      if (ec) return Err(5, "cannot create " + dir + sub + ": " + ec.message());
      ::chmod((dir + sub).c_str(), 0700);
    }
    auto work = OpenDirectory(dir + "/work");
    if (!work.ok()) return Err(5, work.error().message);
    for (const auto& [fname, content] : spec.files) {
      if (auto st = WriteFileBeneath(work->get(), fname, content, 0644); !st.ok())
        return Err(5, "service " + name + ": file " + fname + ": " + st.error().message);
    }
    if (uid != 0) {  // the work tree belongs to the lease's uid; nothing else of the lease does
      ::fchown(work->get(), uid, uid);
      for (auto it = fs::recursive_directory_iterator(dir + "/work", ec); !ec && it != fs::end(it); it.increment(ec))
        ::lchown(it->path().c_str(), uid, uid);
    }
  }
  // The lease's resources are shared by its services: each gets an even part, so that a manifest
  // with more services cannot use more than the order bought.
  Limits per = limits;
  const uint64_t n = m.services.size();
  if (n > 1) {
    per.memory_bytes = limits.memory_bytes / n;
    per.cpu_millicores = limits.cpu_millicores ? std::max<uint64_t>(10, limits.cpu_millicores / n) : 0;
    per.cpu_seconds = limits.cpu_seconds ? std::max<uint64_t>(1, limits.cpu_seconds / n) : 0;
  }
  for (const auto& [name, spec] : m.services) {
    Svc s;
    s.lease_id = lease_id;
    s.spec = spec;
    s.spec.files.clear();
    s.limits = per;
    s.st.service = name;
    s.st.expose = spec.expose;
    s.child = true;
    s.launch = resolved[name].first;
    s.rootfs = resolved[name].second;
    s.uid = uid;
    auto& ref = svcs_[{lease_id, name}] = std::move(s);
    auto st = Spawn(ref);
    if (!st.ok()) {
      ref.st.state = RunState::kFailed;
      ref.st.error = st.error().message;
    }
    Save(ref);
  }
  return {};
}

Status ExecRuntime::Spawn(Svc& s) {
  std::string dir = Dir(s.lease_id, s.spec.name);
  const bool boxed = sandbox_.mode != "none";
  std::string work = dir + "/work", exit_file = dir + "/exit_status";
  ::unlink(exit_file.c_str());
  if (s.launch.argv.empty()) return Err(4, "service " + s.spec.name + " has nothing to run");

  // cgroup: memory, CPU quota, pids (where the host allows; reported in the status).
  std::vector<int> procs_fds;
  s.st.sandbox = json{{"mode", boxed ? "bwrap" : "none"}};
  if (sandbox_.cgroups) {
    CgroupLimits cl;
    cl.memory_bytes = s.limits.memory_bytes;
    cl.cpu_millicores = s.limits.cpu_millicores;
    cl.pids_max = sandbox_.pids_max;
    // Unique per runtime root: two providers (or tests) on one host never share a group.
    std::string name = "r" + HexEncode(crypto::Sha256(root_)).substr(0, 10) + "-lease-" + std::to_string(s.lease_id) +
                       "-" + s.spec.name;
    auto cg = Cgroup::Create(name, cl);
    if (cg.ok()) {
      procs_fds = cg->OpenProcsFds();
      if (procs_fds.empty()) {
        cg->Remove();
        s.cgroup.clear();
        s.st.sandbox["cgroup"] = json{{"error", "cannot open the group's cgroup.procs"}};
      } else {
        s.cgroup = name;
        s.st.sandbox["cgroup"] = cg->Enforced();
      }
    } else {
      s.cgroup.clear();
      s.st.sandbox["cgroup"] = json{{"error", cg.error().message}};
    }
  }
  UniqueFd block_w;                        // egress: written once the network is up
  std::vector<UniqueFd> keep;              // closed in the parent after fork
  std::vector<std::pair<int, int>> fdmap;  // (source fd, number in the child)
  std::vector<std::string> args = {"/bin/sh", "-c", kShim, "depai-shim"};
  std::vector<std::string> envs;
  if (boxed) {
    auto bpf = SeccompBpfFd();
    if (!bpf.ok()) return Err(11, "the seccomp filter cannot be built: " + bpf.error().message);
    keep.emplace_back(bpf.value());
    fdmap.push_back({keep.back().get(), kFdSeccomp});
    int wfd = ::open(work.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (wfd < 0) return Err(5, "cannot open " + work + ": " + strerror(errno));
    keep.emplace_back(wfd);
    fdmap.push_back({wfd, kFdWork});
    if (s.launch.image) {
      int rfd = ::open(s.rootfs.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (rfd < 0) return Err(8, "the image root " + s.rootfs + " is gone: " + strerror(errno));
      keep.emplace_back(rfd);
      fdmap.push_back({rfd, kFdRootfs});
    } else {
      const std::string files[3] = {
          "root:x:0:0:root:/root:/bin/sh\nworkload:x:1000:1000:workload:/work:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
          "root:x:0:\nworkload:x:1000:\nnogroup:x:65534:\n",
          "127.0.0.1 localhost lease-" + std::to_string(s.lease_id) + "\n::1 localhost\n"};
      const int nums[3] = {kFdPasswd, kFdGroup, kFdHosts};
      for (int i = 0; i < 3; ++i) {
        auto mf = MemFile("depai-etc", files[i]);
        if (!mf.ok()) return mf.error();
        keep.push_back(std::move(mf).value());
        fdmap.push_back({keep.back().get(), nums[i]});
      }
    }
    if (s.launch.egress) {
      int bp[2];
      if (::pipe2(bp, O_CLOEXEC) != 0) return Err(6, "pipe failed");
      keep.emplace_back(bp[0]);
      fdmap.push_back({bp[0], kFdBlock});
      block_w = UniqueFd(bp[1]);
      auto rf = MemFile("depai-resolv", "nameserver 10.0.2.3\n");
      if (!rf.ok()) return rf.error();
      keep.push_back(std::move(rf).value());
      fdmap.push_back({keep.back().get(), kFdResolv});
    }
    if (auto nodes = GpuDeviceNodes(sandbox_.dev_dir, s.launch.gpus); !nodes.ok())
      return Err(10, "service " + s.spec.name + ": " + nodes.error().message);  // a GPU that vanished
    auto bw = BwrapArgv(sandbox_, s.launch);
    args.insert(args.end(), bw.begin(), bw.end());
    envs = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};  // the shim's and bwrap's own; the workload's is --setenv
    s.st.sandbox["uid"] = s.uid ? json(s.uid) : json("the daemon's own");
    s.st.sandbox["namespaces"] = json::array({"user", "pid", "mount", "network", "ipc", "uts", "cgroup"});
    s.st.sandbox["seccomp"] = true;
    s.st.sandbox["network"] =
        s.launch.egress ? "egress through slirp4netns (the host's loopback unreachable)" : "none (own loopback only)";
    s.st.sandbox["root"] = s.launch.image ? "image (read-only)" : "host /usr (read-only)";
    s.st.sandbox["gpus"] = s.launch.gpus;
  } else {
    args.insert(args.end(), s.launch.argv.begin(), s.launch.argv.end());
    envs = s.launch.env;
  }
  s.st.sandbox["rlimits"] = json{{"cpu_seconds", s.limits.cpu_seconds},
                                 {"address_space_bytes", s.limits.memory_bytes},
                                 {"open_files", s.limits.open_files},
                                 {"file_size_bytes", s.limits.file_size_bytes},
                                 {"processes", s.uid ? sandbox_.pids_max : 0}};

  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  int out_fd = ::open((dir + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  int err_fd = ::open((dir + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  int exit_fd = ::open(exit_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0 || exit_fd < 0) {
    for (int fd : {out_fd, err_fd, null_fd, exit_fd})
      if (fd >= 0) ::close(fd);
    for (int fd : procs_fds) ::close(fd);
    return Err(5, "cannot open the log files in " + dir);
  }
  fdmap.push_back({exit_fd, kFdExitStatus});
  const Limits lim = s.limits;
  const uint32_t uid = s.uid;
  const uint64_t nproc = sandbox_.pids_max;
  const char* cwd_c = boxed ? "/" : work.c_str();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd), ::close(err_fd), ::close(null_fd), ::close(exit_fd);
    for (int fd : procs_fds) ::close(fd);
    return Err(6, std::string("fork failed: ") + strerror(errno));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::setsid();
    if (!procs_fds.empty() && Cgroup::JoinProcsFds(procs_fds) != 0) ::_exit(124);  // into the cgroup first
    if (::chdir(cwd_c) != 0) ::_exit(126);
    ::umask(077);
    // The fds the shim and bwrap expect, at fixed numbers: first everything is copied above the
    // targets, then put in place (so no source is overwritten), then the rest is closed. Before the
    // RLIMIT_NOFILE below, which may be lower than the copies' numbers.
    int tmp[20];
    size_t n = fdmap.size() < 16 ? fdmap.size() : 16;
    for (size_t i = 0; i < n; ++i) tmp[i] = ::fcntl(fdmap[i].first, F_DUPFD, kFdLast + 1);
    int t_null = ::fcntl(null_fd, F_DUPFD, kFdLast + 1), t_out = ::fcntl(out_fd, F_DUPFD, kFdLast + 1),
        t_err = ::fcntl(err_fd, F_DUPFD, kFdLast + 1);
    if (t_null < 0 || t_out < 0 || t_err < 0) ::_exit(123);
    for (size_t i = 0; i < n; ++i)
      if (tmp[i] < 0 || ::dup2(tmp[i], fdmap[i].second) < 0) ::_exit(123);
    if (::dup2(t_null, 0) < 0 || ::dup2(t_out, 1) < 0 || ::dup2(t_err, 2) < 0) ::_exit(123);
    ::close_range(kFdLast + 1, ~0U, 0);
    for (int fd = 3; fd <= kFdLast; ++fd) {  // nothing of the daemon's (sockets, files) may follow
      bool mapped = false;
      for (size_t i = 0; i < n; ++i) mapped = mapped || fdmap[i].second == fd;
      if (!mapped) ::close(fd);
    }
    if (lim.cpu_seconds) SetRlimit(RLIMIT_CPU, lim.cpu_seconds, lim.cpu_seconds + 1);
    if (lim.memory_bytes) SetRlimit(RLIMIT_AS, lim.memory_bytes, lim.memory_bytes);
    if (lim.open_files) SetRlimit(RLIMIT_NOFILE, lim.open_files, lim.open_files);
    if (lim.file_size_bytes) SetRlimit(RLIMIT_FSIZE, lim.file_size_bytes, lim.file_size_bytes);
    SetRlimit(RLIMIT_CORE, 0, 0);
    if (uid != 0) {
      if (nproc) SetRlimit(RLIMIT_NPROC, nproc, nproc);
      if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(125);
    }
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    ::execve("/bin/sh", argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd), ::close(err_fd), ::close(null_fd), ::close(exit_fd);
  keep.clear();
  if (block_w) {  // the workload waits (bwrap --block-fd) until its network is configured
    auto eg = StartEgress(sandbox_, pid, procs_fds, dir + "/slirp4netns.log", 5000);
    if (!eg.ok() || ::write(block_w.get(), "1", 1) != 1) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      for (int fd : procs_fds) ::close(fd);
      if (!s.cgroup.empty())
        if (auto cg = Cgroup::Open(s.cgroup); cg.ok()) cg->KillAll();
      return eg.ok() ? Err(6, "egress: the sandbox ended before its network was up") : eg.error();
    }
  }
  for (int fd : procs_fds) ::close(fd);
  // Wait for the child's setsid() so that a group kill right after Start() cannot miss it.
  for (int i = 0; i < 5000 && ::getpgid(pid) != pid; ++i) ::usleep(100);
  char state = 0;
  uint64_t ticks = 0;
  s.proc_start_ticks = ProcStat(pid, &state, &ticks) ? ticks : 0;
  s.child = true;
  s.st.pid = pid;
  s.st.state = RunState::kRunning;
  s.st.started_ms = NowMs();
  s.st.finished_ms = 0;
  s.st.timed_out = false;
  s.st.oom_killed = false;
  s.restart_at_ms = 0;
  return {};
}

void ExecRuntime::CollectArtifacts(Svc& s) {
  // Nothing of the service may run while its files are copied: kill what is left of it.
  if (!s.cgroup.empty()) {
    if (auto cg = Cgroup::Open(s.cgroup); cg.ok()) {
      cg->KillAll();
      s.st.oom_killed = cg->OomKilled();
    }
  }
  s.st.artifacts.clear();
  std::string dir = Dir(s.lease_id, s.spec.name);
  auto work = OpenDirectory(dir + "/work");
  std::error_code ec;
  fs::create_directories(dir + "/artifacts", ec);
  auto out = OpenDirectory(dir + "/artifacts");
  for (const auto& name : s.spec.artifacts) {
    Artifact a;
    a.name = name;
    if (out.ok()) {
      if (auto p = OpenParentBeneath(out->get(), name, false); p.ok()) ::unlinkat(p->first.get(), p->second.c_str(), 0);
    }
    if (work.ok() && out.ok()) {
      auto n = CopyFileOut(work->get(), name, out->get(), name, s.limits.file_size_bytes);
      if (n.ok()) {
        auto h = Sha256File(dir + "/artifacts/" + name, &a.size);
        if (h) {
          a.present = true;
          a.sha256 = *h;
        }
      } else if (n.error().code == 1) {
        spdlog::warn("lease {} service {}: artifact {} refused: {}", s.lease_id, s.spec.name, name, n.error().message);
        a.error = n.error().message;
      }
    }
    s.st.artifacts.push_back(std::move(a));
  }
}

void ExecRuntime::Finished(Svc& s, int raw, bool have_status) {
  std::string exit_file = Dir(s.lease_id, s.spec.name) + "/exit_status";
  std::optional<int> rc;
  {
    std::ifstream in(exit_file);
    int v = 0;
    if (in >> v) rc = v;
  }
  s.st.exit_code.reset();
  s.st.term_signal.reset();
  if (have_status && WIFSIGNALED(raw)) {
    s.st.term_signal = WTERMSIG(raw);  // the shim itself was killed (timeout, Stop)
  } else if (rc || (have_status && WIFEXITED(raw))) {
    int v = rc ? *rc : WEXITSTATUS(raw);
    if (v > 128 && v <= 128 + 64)
      s.st.term_signal = v - 128;  // the program died of a signal (e.g. SIGXCPU, SIGXFSZ, SIGKILL)
    else
      s.st.exit_code = v;
  } else {
    s.st.error = "the process ended while the provider was not running; its exit status is unknown";
  }
  int64_t now = NowMs();
  int64_t ran_ms = now - s.st.started_ms;
  s.st.pid = 0;
  s.st.finished_ms = now;
  CollectArtifacts(s);
  bool success = s.st.exit_code && *s.st.exit_code == 0 && !s.st.timed_out;
  if (s.stopping) {
    s.st.state = RunState::kStopped;
  } else if (s.spec.restart == client::RestartPolicy::kNever) {
    s.st.state = success ? RunState::kSucceeded : RunState::kFailed;
  } else if (s.spec.restart == client::RestartPolicy::kOnFailure && success) {
    s.st.state = RunState::kSucceeded;
  } else {
    if (s.spec.restart == client::RestartPolicy::kAlways && ran_ms > 10000) s.st.consecutive_failures = 0;
    if (!success || s.spec.restart == client::RestartPolicy::kAlways) ++s.st.consecutive_failures;
    if (s.st.consecutive_failures > s.limits.max_restarts) {
      s.st.state = RunState::kFailed;
      s.st.error = "gave up after " + std::to_string(s.st.consecutive_failures) + " runs that ended within 10s";
      if (s.spec.restart == client::RestartPolicy::kOnFailure)
        s.st.error = "gave up after " + std::to_string(s.st.consecutive_failures) + " failed runs";
    } else {
      s.st.state = RunState::kRunning;
      s.restart_at_ms = now + s.limits.restart_backoff_ms * static_cast<int64_t>(s.st.consecutive_failures);
    }
  }
  if (s.st.state != RunState::kRunning && !s.cgroup.empty()) {  // no further run: the group goes
    if (auto cg = Cgroup::Open(s.cgroup); cg.ok()) {
      cg->KillAll();
      cg->Remove();
    }
  }
  Save(s);
}

void ExecRuntime::Poll() {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = NowMs();
  for (auto& [key, s] : svcs_) {
    if (s.st.pid != 0) {
      bool ended = false;
      int raw = 0;
      if (s.child) {
        pid_t r = ::waitpid(s.st.pid, &raw, WNOHANG);
        ended = r == s.st.pid || (r < 0 && errno == ECHILD);
        if (ended && r < 0) {
          Finished(s, 0, false);
          continue;
        }
      } else {
        ended = !Alive(s.st.pid, s.proc_start_ticks);
      }
      if (ended) {
        Finished(s, raw, s.child);
      } else if (s.spec.timeout_s > 0 && now - s.st.started_ms > static_cast<int64_t>(s.spec.timeout_s) * 1000 &&
                 !s.st.timed_out) {
        s.st.timed_out = true;
        ::kill(-s.st.pid, SIGKILL);
        Save(s);
      }
    } else if (s.st.state == RunState::kRunning && !s.stopping && s.restart_at_ms > 0 && now >= s.restart_at_ms) {
      auto st = Spawn(s);
      if (st.ok()) {
        ++s.st.restarts;
      } else {
        s.st.state = RunState::kFailed;
        s.st.error = "restart failed: " + st.error().message;
      }
      Save(s);
    }
  }
}

Status ExecRuntime::Stop(uint64_t lease_id, int64_t grace_ms) {
  std::vector<std::pair<pid_t, uint64_t>> pids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool any = false;
    for (auto& [key, s] : svcs_) {
      if (key.first != lease_id) continue;
      any = true;
      s.stopping = true;
      if (s.st.pid != 0) {
        ::kill(-s.st.pid, SIGTERM);
        pids.push_back({s.st.pid, s.proc_start_ticks});
      } else if (s.st.state == RunState::kRunning) {
        s.st.state = RunState::kStopped;
        Save(s);
      }
    }
    if (!any) return Err(7, "lease " + std::to_string(lease_id) + " has no workload");
  }
  int64_t deadline = NowMs() + grace_ms;
  for (;;) {
    bool alive = false;
    for (auto [pid, ticks] : pids) alive = alive || Alive(pid, ticks);
    if (!alive || NowMs() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto [pid, ticks] : pids)
    if (Alive(pid, ticks)) ::kill(-pid, SIGKILL);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, s] : svcs_) {
    if (key.first != lease_id || s.st.pid == 0) continue;
    int raw = 0;
    if (s.child) {
      pid_t r = ::waitpid(s.st.pid, &raw, 0);
      Finished(s, raw, r == s.st.pid);
    } else {
      Finished(s, 0, false);
    }
  }
  return {};
}

std::optional<LeaseStatus> ExecRuntime::GetStatus(uint64_t lease_id) {
  std::lock_guard<std::mutex> lock(mu_);
  LeaseStatus ls;
  ls.lease_id = lease_id;
  bool running = false, failed = false, all_ok = true;
  for (const auto& [key, s] : svcs_) {
    if (key.first != lease_id) continue;
    ls.services.push_back(s.st);
    running = running || s.st.state == RunState::kRunning;
    failed = failed || s.st.state == RunState::kFailed;
    all_ok = all_ok && s.st.state == RunState::kSucceeded;
  }
  if (ls.services.empty()) return std::nullopt;
  ls.state = running  ? RunState::kRunning
             : failed ? RunState::kFailed
             : all_ok ? RunState::kSucceeded
                      : RunState::kStopped;
  return ls;
}

std::string ExecRuntime::LogPath(uint64_t lease_id, const std::string& service, const std::string& stream) {
  if (stream != "stdout" && stream != "stderr") return "";
  std::lock_guard<std::mutex> lock(mu_);
  if (!svcs_.count({lease_id, service})) return "";
  return Dir(lease_id, service) + "/" + stream + ".log";
}

std::vector<Artifact> ExecRuntime::Artifacts(uint64_t lease_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Artifact> out;
  for (const auto& [key, s] : svcs_)
    if (key.first == lease_id)
      for (const auto& a : s.st.artifacts) out.push_back(a);
  return out;
}

std::string ExecRuntime::ArtifactPath(uint64_t lease_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, s] : svcs_) {
    if (key.first != lease_id) continue;
    for (const auto& a : s.spec.artifacts)
      if (a == name) return Dir(lease_id, s.spec.name) + "/artifacts/" + name;  // the copy, never the work tree
  }
  return "";
}

Result<UniqueFd> ExecRuntime::Connect(uint64_t lease_id, const std::string& service, uint16_t port) {
  pid_t pid = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = svcs_.find({lease_id, service});
    if (it == svcs_.end()) return Err(12, "lease " + std::to_string(lease_id) + " has no service '" + service + "'");
    const auto& ex = it->second.spec.expose;
    if (std::find(ex.begin(), ex.end(), port) == ex.end())
      return Err(13, "service '" + service + "' does not expose port " + std::to_string(port));
    if (it->second.st.state != RunState::kRunning || it->second.st.pid == 0)
      return Err(14, "service '" + service + "' is not running");
    pid = it->second.st.pid;
  }
  if (sandbox_.mode == "none") {  // unconfined: the service listens on the host's loopback
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return Err(15, "socket failed");
    UniqueFd fd(s);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return Err(15, "nothing accepts connections on port " + std::to_string(port));
    return fd;
  }
  pid_t inner = SandboxedDescendant(pid);
  if (inner == 0) return Err(15, "service '" + service + "' has no sandbox running (starting or ended)");
  auto c = ConnectInNetns(inner, port, 3000);
  if (!c.ok()) return Err(15, c.error().message);
  return c;
}

std::vector<uint64_t> ExecRuntime::Leases() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out;
  for (const auto& [key, s] : svcs_)
    if (out.empty() || out.back() != key.first) out.push_back(key.first);
  return out;
}

void ExecRuntime::StartMonitor(int64_t interval_ms) {
  if (monitor_.joinable()) return;
  monitor_stop_ = false;
  monitor_ = std::thread([this, interval_ms] {
    while (!monitor_stop_) {
      Poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
  });
}

void ExecRuntime::StopMonitor() {
  monitor_stop_ = true;
  if (monitor_.joinable()) monitor_.join();
}

}  // namespace depai::provider
