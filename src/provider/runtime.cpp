#include "provider/runtime.h"

#include <spdlog/spdlog.h>

#include "util/files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/bytes.h"

namespace depai::provider {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
// The shim: runs the program, writes its exit status to $1, exits with it. Only sh builtins.
constexpr const char* kShim = "f=$1; shift; \"$@\"; rc=$?; printf '%s\\n' \"$rc\" > \"$f\"; exit \"$rc\"";

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
              {"restart", client::RestartPolicyName(s.restart)}};
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
  std::string r = j.value("restart", "never");
  s.restart = r == "always"       ? client::RestartPolicy::kAlways
              : r == "on-failure" ? client::RestartPolicy::kOnFailure
                                  : client::RestartPolicy::kNever;
  return s;
}

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
  if (program.find('/') != std::string::npos) return program;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string cand = dir + "/" + program;
    if (::access(cand.c_str(), X_OK) == 0 && fs::is_regular_file(cand)) return cand;
  }
  return "";
}

ExecRuntime::ExecRuntime(std::string root) : root_(std::move(root)) {
  fs::create_directories(root_);
  Load();
}

ExecRuntime::~ExecRuntime() { StopMonitor(); }

std::string ExecRuntime::Dir(uint64_t lease_id, const std::string& service) const {
  return root_ + "/" + std::to_string(lease_id) + "/" + service;
}

void ExecRuntime::Save(const Svc& s) const {
  json arts = json::array();
  for (const auto& a : s.st.artifacts)
    arts.push_back({{"name", a.name}, {"present", a.present}, {"size", a.size}, {"sha256", a.sha256}});
  json j{{"lease_id", s.lease_id},
         {"service", s.spec.name},
         {"spec", SpecJson(s.spec)},
         {"limits",
          {{"cpu_seconds", s.limits.cpu_seconds},
           {"memory_bytes", s.limits.memory_bytes},
           {"open_files", s.limits.open_files},
           {"file_size_bytes", s.limits.file_size_bytes},
           {"max_restarts", s.limits.max_restarts},
           {"restart_backoff_ms", s.limits.restart_backoff_ms}}},
         {"state", RunStateName(s.st.state)},
         {"pid", s.st.pid},
         {"proc_start_ticks", s.proc_start_ticks},
         {"started_ms", s.st.started_ms},
         {"finished_ms", s.st.finished_ms},
         {"timed_out", s.st.timed_out},
         {"restarts", s.st.restarts},
         {"consecutive_failures", s.st.consecutive_failures},
         {"error", s.st.error},
         {"artifacts", arts}};
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
                                          a.value("sha256", "")});
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

Status ExecRuntime::Start(uint64_t lease_id, const client::Manifest& m, const Limits& limits) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, spec] : m.services)
    if (svcs_.count({lease_id, name})) return Err(2, "lease " + std::to_string(lease_id) + " already runs");
  // Check every program first so that a bad manifest starts nothing.
  for (const auto& [name, spec] : m.services) {
    if (spec.runtime != "exec")
      return Err(3, "service " + name + ": runtime '" + spec.runtime + "' is not supported by this provider");
    auto path_it = spec.env.find("PATH");
    std::string path = path_it != spec.env.end() ? path_it->second : kDefaultPath;
    const std::string& prog = spec.command.at(0);
    if (prog.find('/') == std::string::npos && ResolveProgram(prog, path).empty())
      return Err(4, "service " + name + ": program '" + prog + "' not found in PATH=" + path);
  }
  for (const auto& [name, spec] : m.services) {
    std::string dir = Dir(lease_id, name);
    std::error_code ec;
    fs::create_directories(dir + "/work", ec);
    if (ec) return Err(5, "cannot create " + dir + "/work: " + ec.message());
    for (const auto& [fname, content] : spec.files) {
      fs::path p = fs::path(dir) / "work" / fname;
      fs::create_directories(p.parent_path(), ec);
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << content;
      if (!out) return Err(5, "cannot write " + p.string());
    }
  }
  for (const auto& [name, spec] : m.services) {
    Svc s;
    s.lease_id = lease_id;
    s.spec = spec;
    s.spec.files.clear();
    s.limits = limits;
    s.st.service = name;
    s.child = true;
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
  std::string work = dir + "/work", exit_file = dir + "/exit_status";
  ::unlink(exit_file.c_str());
  std::map<std::string, std::string> env = {{"PATH", kDefaultPath}};
  for (const auto& [k, v] : s.spec.env) env[k] = v;
  std::string prog = s.spec.command[0];
  if (prog.find('/') == std::string::npos) prog = ResolveProgram(prog, env["PATH"]);
  if (prog.empty()) return Err(4, "program '" + s.spec.command[0] + "' not found in PATH=" + env["PATH"]);

  // Everything the child needs is prepared before fork(): after it only async-signal-safe calls.
  std::vector<std::string> args = {"/bin/sh", "-c", kShim, "depai-shim", exit_file, prog};
  for (size_t i = 1; i < s.spec.command.size(); ++i) args.push_back(s.spec.command[i]);
  for (const auto& a : s.spec.args) args.push_back(a);
  std::vector<std::string> envs;
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  int out_fd = ::open((dir + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int err_fd = ::open((dir + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
    for (int fd : {out_fd, err_fd, null_fd})
      if (fd >= 0) ::close(fd);
    return Err(5, "cannot open the log files in " + dir);
  }
  const Limits lim = s.limits;
  const char* work_c = work.c_str();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd), ::close(err_fd), ::close(null_fd);
    return Err(6, std::string("fork failed: ") + strerror(errno));
  }
  if (pid == 0) {
    ::setsid();
    if (::chdir(work_c) != 0) ::_exit(126);
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    ::umask(077);
    if (lim.cpu_seconds) SetRlimit(RLIMIT_CPU, lim.cpu_seconds, lim.cpu_seconds + 1);
    if (lim.memory_bytes) SetRlimit(RLIMIT_AS, lim.memory_bytes, lim.memory_bytes);
    if (lim.open_files) SetRlimit(RLIMIT_NOFILE, lim.open_files, lim.open_files);
    if (lim.file_size_bytes) SetRlimit(RLIMIT_FSIZE, lim.file_size_bytes, lim.file_size_bytes);
    SetRlimit(RLIMIT_CORE, 0, 0);
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::close_range(3, ~0U, 0);
    ::execve("/bin/sh", argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd), ::close(err_fd), ::close(null_fd);
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
  s.restart_at_ms = 0;
  return {};
}

void ExecRuntime::HashArtifacts(Svc& s) {
  s.st.artifacts.clear();
  std::string work = Dir(s.lease_id, s.spec.name) + "/work/";
  for (const auto& name : s.spec.artifacts) {
    Artifact a;
    a.name = name;
    std::error_code ec;
    if (fs::is_regular_file(work + name, ec) && !fs::is_symlink(work + name, ec)) {
      auto h = Sha256File(work + name, &a.size);
      if (h) {
        a.present = true;
        a.sha256 = *h;
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
  HashArtifacts(s);
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
      if (a == name) return Dir(lease_id, s.spec.name) + "/work/" + name;
  }
  return "";
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
