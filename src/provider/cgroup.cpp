// Control groups for workloads: finds the memory/cpu/pids hierarchies (v1, v2 or both), creates
// and removes groups under the daemon's own group, writes and reads back limits, moves and kills
// processes. See cgroup.h.
#include "provider/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

namespace depai::provider {
namespace {

using Clock = std::chrono::steady_clock;

Error Err(uint32_t code, const std::string& msg) { return Error{"sandbox", code, "cgroup: " + msg}; }
std::string ErrnoText(int e) { return std::strerror(e); }
// An inner error's message without the "cgroup: " prefix, to nest it in another.
std::string Bare(const Error& e) {
  constexpr std::string_view kPrefix = "cgroup: ";
  return e.message.rfind(kPrefix, 0) == 0 ? e.message.substr(kPrefix.size()) : e.message;
}

constexpr const char* kControllers[] = {"memory", "cpu", "pids"};
constexpr uint64_t kCpuPeriodUs = 100000;
constexpr uint64_t kCpuMinQuotaUs = 1000;  // the kernel refuses less
// v1 reports "no limit" as PAGE_COUNTER_MAX pages (about 2^63); anything this large is unlimited.
constexpr uint64_t kUnlimitedAbove = uint64_t{1} << 62;

std::mutex g_parent_mu;
std::string g_parent_name = "depai";  // guarded by g_parent_mu
std::atomic<uint64_t> g_probe_seq{0};

bool ValidComponent(const std::string& s) {
  if (s.empty() || s.size() > 128 || s[0] == '.') return false;
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) return false;
  return true;
}

// Whole file (cgroup and proc files report size 0, so read until EOF).
std::optional<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// One write(2) of the whole value, as the cgroup files expect. 0 or the errno.
int WriteFile(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n;
  do n = ::write(fd, value.data(), value.size());
  while (n < 0 && errno == EINTR);
  int e = n < 0 ? errno : (static_cast<size_t>(n) == value.size() ? 0 : EIO);
  ::close(fd);
  return e;
}

std::string WriteError(const std::string& path, std::string_view value, int e) {
  return "cannot write '" + std::string(value) + "' to " + path + ": " + ErrnoText(e);
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
bool IsDir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return std::string(s);
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool HasWord(const std::optional<std::string>& text, const std::string& w) {
  if (!text) return false;
  for (const auto& x : Words(*text))
    if (x == w) return true;
  return false;
}

// A number in a cgroup file; nullopt for "max", "-1" or anything unparsable.
std::optional<uint64_t> ParseU64(std::string_view s) {
  std::string t = Trim(s);
  if (t.empty() || t[0] < '0' || t[0] > '9') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return static_cast<uint64_t>(v);
}

// "key value" lines (memory.events, memory.oom_control).
std::optional<uint64_t> KeyedValue(const std::optional<std::string>& text, const std::string& key) {
  if (!text) return std::nullopt;
  for (const auto& line : Split(*text, '\n')) {
    auto w = Words(line);
    if (w.size() == 2 && w[0] == key) return ParseU64(w[1]);
  }
  return std::nullopt;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMount(std::string_view s) {
  auto octal = [](char ch) { return ch >= '0' && ch <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Mount {
  std::string root, point;
};

// One controller's hierarchy as this process sees it.
struct Hierarchy {
  bool v2 = false;
  std::string own_dir;  // absolute directory of the daemon's own group
};

struct Layout {
  std::map<std::string, Hierarchy> usable;  // controller -> hierarchy
  std::map<std::string, std::string> why;   // controller -> why it is not usable
};

// The directory of `path` (a /proc/self/cgroup path) inside the mount `m`, or nullopt when the
// group is not visible through that mount.
std::optional<std::string> DirOf(const Mount& m, const std::string& path) {
  std::string rel;
  // NOLINTBEGIN(bugprone-branch-clone): the first and last cases do the same for different reasons
  if (m.root == "/") {
    rel = path;
  } else if (path == m.root || path.rfind(m.root + "/", 0) == 0) {
    rel = path.substr(m.root.size());
  } else {
    rel = path;  // a cgroup namespace: the path is already relative to the mount's root
  }
  // NOLINTEND(bugprone-branch-clone)
  if (rel.empty() || rel[0] != '/') rel = "/" + rel;
  for (const auto& part : Split(rel, '/'))
    if (part == "..") return std::nullopt;  // our group lies outside this mount (another namespace)
  if (rel == "/") rel.clear();
  std::string dir = m.point + rel;
  if (!IsDir(dir)) return std::nullopt;
  return dir;
}

Layout Detect() {
  Layout out;
  std::optional<Mount> v2;
  std::map<std::string, Mount> v1;
  if (auto info = ReadFile("/proc/self/mountinfo")) {
    // id parent maj:min root mountpoint options [optional fields] - fstype source super-options
    for (const auto& line : Split(*info, '\n')) {
      auto w = Words(line);
      size_t dash = 0;
      while (dash < w.size() && w[dash] != "-") ++dash;
      if (dash < 6 || dash + 3 > w.size()) continue;
      const std::string& fstype = w[dash + 1];
      Mount m{UnescapeMount(w[3]), UnescapeMount(w[4])};
      if (fstype == "cgroup2") {
        if (!v2) v2 = m;
      } else if (fstype == "cgroup") {
        for (const auto& opt : Split(w[dash + 3], ','))
          if (!v1.count(opt)) v1[opt] = m;
      }
    }
  } else if (auto mounts = ReadFile("/proc/self/mounts")) {  // no mountinfo: assume mount roots are "/"
    for (const auto& line : Split(*mounts, '\n')) {
      auto w = Words(line);
      if (w.size() < 4) continue;
      Mount m{"/", UnescapeMount(w[1])};
      if (w[2] == "cgroup2") {
        if (!v2) v2 = m;
      } else if (w[2] == "cgroup") {
        for (const auto& opt : Split(w[3], ','))
          if (!v1.count(opt)) v1[opt] = m;
      }
    }
  }

  // hierarchy-id:controller-list:path ("0::/path" is the v2 one).
  std::map<std::string, std::string> own_v1;
  std::optional<std::string> own_v2;
  if (auto cg = ReadFile("/proc/self/cgroup")) {
    for (const auto& line : Split(*cg, '\n')) {
      size_t a = line.find(':');
      size_t b = a == std::string::npos ? std::string::npos : line.find(':', a + 1);
      if (b == std::string::npos) continue;
      std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
      if (line.substr(0, a) == "0" && ctrls.empty()) {
        own_v2 = path;
      } else {
        for (const auto& c : Split(ctrls, ',')) own_v1[c] = path;
      }
    }
  }

  std::optional<std::string> v2_controllers;
  if (v2) v2_controllers = ReadFile(v2->point + "/cgroup.controllers");
  for (const char* cp : kControllers) {
    std::string c = cp;
    if (v1.count(c)) {  // a controller bound to a v1 hierarchy is not available in v2
      const Mount& m = v1[c];
      auto dir = DirOf(m, own_v1.count(c) ? own_v1[c] : "/");
      if (dir)
        out.usable[c] = Hierarchy{false, *dir};
      else
        out.why[c] = "the daemon's own group is not visible under " + m.point;
    } else if (v2 && HasWord(v2_controllers, c)) {
      auto dir = DirOf(*v2, own_v2.value_or("/"));
      if (dir)
        out.usable[c] = Hierarchy{true, *dir};
      else
        out.why[c] = "the daemon's own group is not visible under " + v2->point;
    } else if (v2) {
      out.why[c] = "no v1 mount and not in " + v2->point + "/cgroup.controllers";
    } else {
      out.why[c] = "no cgroup mount has it (/proc/self/mountinfo)";
    }
  }
  return out;
}

// Makes <own group>/<parent_name> ready to hold groups for controller c; returns its directory.
Result<std::string> EnsureParent(const std::string& c, const Hierarchy& h, const std::string& parent_name) {
  std::string parent = h.own_dir + "/" + parent_name;
  if (h.v2) {
    // v2: c must be enabled in our own group's subtree_control for the parent to get it.
    std::string own_sub = h.own_dir + "/cgroup.subtree_control";
    if (!HasWord(ReadFile(own_sub), c)) {
      int e = WriteFile(own_sub, "+" + c);
      if (e == EBUSY)
        return Err(4, WriteError(own_sub, "+" + c, e) +
                          " (the daemon's own group holds processes: run it in a delegated group, e.g. systemd "
                          "Delegate=yes, with the daemon in a leaf of its own)");
      if (e != 0) return Err(4, WriteError(own_sub, "+" + c, e));
    }
  }
  if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
    return Err(4, "cannot create " + parent + ": " + ErrnoText(errno));
  if (h.v2) {
    std::string sub = parent + "/cgroup.subtree_control";
    if (!HasWord(ReadFile(sub), c)) {
      int e = WriteFile(sub, "+" + c);
      if (e != 0) return Err(4, WriteError(sub, "+" + c, e));
    }
  }
  return parent;
}

// Writes the limits into the group's files; paths: controller -> directory.
Status WriteLimits(const std::map<std::string, std::string>& paths, const std::map<std::string, bool>& v2,
                   const CgroupLimits& limits) {
  auto write = [](const std::string& path, const std::string& value) -> Status {
    int e = WriteFile(path, value);
    if (e != 0) return Err(5, WriteError(path, value, e));
    return {};
  };
  if (limits.memory_bytes > 0 && paths.count("memory")) {
    const std::string& dir = paths.at("memory");
    std::string v = std::to_string(limits.memory_bytes);
    if (v2.at(dir)) {
      DEPAI_TRY(write(dir + "/memory.max", v));
      if (Exists(dir + "/memory.swap.max")) DEPAI_TRY(write(dir + "/memory.swap.max", "0"));
      if (Exists(dir + "/memory.oom.group")) DEPAI_TRY(write(dir + "/memory.oom.group", "1"));
    } else {
      std::string limit = dir + "/memory.limit_in_bytes", memsw = dir + "/memory.memsw.limit_in_bytes";
      bool has_memsw = Exists(memsw);
      // limit_in_bytes first (memsw may never be below it). On a reopened group a raise above the
      // old memsw value is refused (EINVAL): then memsw goes first.
      int e = WriteFile(limit, v);
      if (e == EINVAL && has_memsw && WriteFile(memsw, v) == 0) e = WriteFile(limit, v);
      if (e != 0) return Err(5, WriteError(limit, v, e));
      if (has_memsw) DEPAI_TRY(write(memsw, v));
    }
  }
  if (limits.cpu_millicores > 0 && paths.count("cpu")) {
    const std::string& dir = paths.at("cpu");
    uint64_t quota = std::max<uint64_t>(limits.cpu_millicores * (kCpuPeriodUs / 1000), kCpuMinQuotaUs);
    if (v2.at(dir)) {
      DEPAI_TRY(write(dir + "/cpu.max", std::to_string(quota) + " " + std::to_string(kCpuPeriodUs)));
    } else {
      DEPAI_TRY(write(dir + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)));
      DEPAI_TRY(write(dir + "/cpu.cfs_quota_us", std::to_string(quota)));
    }
  }
  if (limits.pids_max > 0 && paths.count("pids"))
    DEPAI_TRY(write(paths.at("pids") + "/pids.max", std::to_string(limits.pids_max)));
  return {};
}

// rmdir, waiting a little while the last killed processes finish exiting. 0 or the errno.
int RmdirPatiently(const std::string& dir, Clock::time_point deadline) {
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
    int e = errno;
    if (e != EBUSY || Clock::now() >= deadline) return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::vector<std::string> SubDirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && IsDir(dir + "/" + n))) out.push_back(dir + "/" + n);
  }
  ::closedir(d);
  return out;
}

// Subgroups first. Appends "<dir>: <error>" to errors.
void RemoveTree(const std::string& dir, int depth, Clock::time_point deadline, std::vector<std::string>& errors) {
  if (depth < 16)
    for (const auto& sub : SubDirs(dir)) RemoveTree(sub, depth + 1, deadline, errors);
  int e = RmdirPatiently(dir, deadline);
  if (e != 0) errors.push_back(dir + ": " + ErrnoText(e));
}

void CollectPids(const std::string& dir, int depth, std::set<pid_t>& out) {
  if (auto procs = ReadFile(dir + "/cgroup.procs"))
    for (const auto& w : Words(*procs))
      if (auto v = ParseU64(w); v && *v > 0) out.insert(static_cast<pid_t>(*v));
  if (depth < 16)
    for (const auto& sub : SubDirs(dir)) CollectPids(sub, depth + 1, out);
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// Tries controller c in the fresh group `dir` for real: a limit, a note on swap / OOM accounting,
// and a forked child moved in. "" when it all works, else why not.
std::string ProbeGroup(const std::string& c, bool v2, const std::string& dir, std::vector<std::string>& notes) {
  std::map<std::string, std::string> paths{{c, dir}};
  std::map<std::string, bool> versions{{dir, v2}};
  CgroupLimits test;
  if (c == "memory") test.memory_bytes = 256ull << 20;
  if (c == "cpu") test.cpu_millicores = 500;
  if (c == "pids") test.pids_max = 64;
  Status st = WriteLimits(paths, versions, test);
  if (!st.ok()) return Bare(st.error());
  if (c == "memory") {
    if (!v2 && !Exists(dir + "/memory.memsw.limit_in_bytes"))
      notes.push_back(
          "memory: swap is not accounted (no memory.memsw.*; swapaccount=1 is off), a workload may swap "
          "beyond its limit");
    if (v2 && !Exists(dir + "/memory.swap.max"))
      notes.push_back("memory: no memory.swap.max, a workload may swap beyond its limit");
    if (!Exists(dir + (v2 ? "/memory.events" : "/memory.oom_control")))
      notes.push_back("memory: OOM kills cannot be detected");
  }
  std::string procs = dir + "/cgroup.procs";
  int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + procs + ": " + ErrnoText(errno);
  const std::vector<int> fds{fd};  // built before fork: the child must not allocate
  pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls here
    int e = Cgroup::JoinProcsFds(fds);
    _exit(e > 0 && e < 126 ? e : (e == 0 ? 0 : 126));
  }
  int fork_errno = errno;
  ::close(fd);
  if (pid < 0) return "fork for the join test failed: " + ErrnoText(fork_errno);
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid, &status, 0);
  while (r < 0 && errno == EINTR);
  if (r != pid) return "cannot wait for the join test child: " + ErrnoText(errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "a process cannot be moved into " + procs + ": " +
           (WIFEXITED(status) ? ErrnoText(WEXITSTATUS(status)) : std::string("the test child died"));
  return "";
}

}  // namespace

nlohmann::json CgroupSupport::to_json() const {
  return {{"version", version}, {"memory", memory}, {"cpu", cpu}, {"pids", pids}, {"detail", detail}};
}

bool Cgroup::SetParentName(const std::string& name) {
  if (!ValidComponent(name)) return false;
  std::lock_guard<std::mutex> lock(g_parent_mu);
  g_parent_name = name;
  return true;
}

std::string Cgroup::ParentName() {
  std::lock_guard<std::mutex> lock(g_parent_mu);
  return g_parent_name;
}

CgroupSupport Cgroup::Probe() {
  CgroupSupport s;
  Layout layout = Detect();
  std::string parent_name = ParentName();
  std::vector<std::string> notes;
  bool any_v1 = false, any = false;
  for (const char* cp : kControllers) {
    std::string c = cp;
    bool ok = false;
    if (!layout.usable.count(c)) {
      notes.push_back(c + ": " + layout.why[c]);
    } else {
      const Hierarchy& h = layout.usable[c];
      auto parent = EnsureParent(c, h, parent_name);
      if (!parent.ok()) {
        notes.push_back(c + ": " + Bare(parent.error()));
      } else {
        std::string dir = *parent + "/probe-" + std::to_string(::getpid()) + "-" + std::to_string(++g_probe_seq);
        if (::mkdir(dir.c_str(), 0755) != 0) {
          notes.push_back(c + ": cannot create a group in " + *parent + ": " + ErrnoText(errno));
        } else {
          std::string why = ProbeGroup(c, h.v2, dir, notes);
          std::vector<std::string> errors;
          RemoveTree(dir, 0, Clock::now() + std::chrono::seconds(1), errors);
          if (!why.empty())
            notes.push_back(c + ": " + why);
          else if (!errors.empty())
            notes.push_back(c + ": cannot remove the probe group " + Join(errors, ", "));
          else
            ok = true;
        }
      }
    }
    if (c == "memory") s.memory = ok;
    if (c == "cpu") s.cpu = ok;
    if (c == "pids") s.pids = ok;
    if (ok) {
      any = true;
      any_v1 = any_v1 || !layout.usable[c].v2;
    }
  }
  s.version = !any ? "none" : (any_v1 ? "v1" : "v2");
  s.detail = Join(notes, "; ");
  return s;
}

Result<Cgroup> Cgroup::Create(const std::string& name, const CgroupLimits& limits) {
  if (!ValidComponent(name))
    return Err(1, "invalid group name '" + name + "' (letters, digits, '.', '_', '-'; not starting with '.')");
  Layout layout = Detect();
  std::string parent_name = ParentName();
  Cgroup g;
  g.name_ = name;
  std::vector<std::string> created, skipped;
  for (const char* cp : kControllers) {
    std::string c = cp;
    if (!layout.usable.count(c)) {
      skipped.push_back(c + ": " + layout.why[c]);
      continue;
    }
    const Hierarchy& h = layout.usable[c];
    auto parent = EnsureParent(c, h, parent_name);
    if (!parent.ok()) {
      skipped.push_back(c + ": " + Bare(parent.error()));
      continue;
    }
    std::string dir = *parent + "/" + name;
    if (!g.v2_.count(dir)) {
      if (::mkdir(dir.c_str(), 0755) == 0) {
        created.push_back(dir);
      } else if (int e = errno; e != EEXIST || !IsDir(dir)) {
        skipped.push_back(c + ": cannot create " + dir + ": " + ErrnoText(e == EEXIST ? ENOTDIR : e));
        continue;
      }
      g.dirs_.push_back(dir);
      g.v2_[dir] = h.v2;
    }
    g.paths_[c] = dir;
    if (!h.v2) g.version_ = "v1";
  }
  if (g.paths_.empty()) return Err(2, "no usable controller for group '" + name + "': " + Join(skipped, "; "));
  if (g.version_.empty()) g.version_ = "v2";
  Status st = WriteLimits(g.paths_, g.v2_, limits);
  if (!st.ok()) {
    // NOLINTNEXTLINE(modernize-loop-convert): reverse order
    for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
    return Err(5, "group '" + name + "': " + Bare(st.error()));
  }
  return g;
}

Result<Cgroup> Cgroup::Open(const std::string& name) {
  if (!ValidComponent(name)) return Err(1, "invalid group name '" + name + "'");
  Layout layout = Detect();
  std::string parent_name = ParentName();
  Cgroup g;
  g.name_ = name;
  std::vector<std::string> looked;
  for (const auto& [c, h] : layout.usable) {
    std::string dir = h.own_dir + "/" + parent_name + "/" + name;
    if (!IsDir(dir)) {
      looked.push_back(dir);
      continue;
    }
    if (!g.v2_.count(dir)) {
      g.dirs_.push_back(dir);
      g.v2_[dir] = h.v2;
    }
    g.paths_[c] = dir;
    if (!h.v2) g.version_ = "v1";
  }
  if (g.paths_.empty())
    return Err(3, "no group '" + name + "'" + (looked.empty() ? " (no usable controller)" : ": " + Join(looked, ", ")));
  if (g.version_.empty()) g.version_ = "v2";
  return g;
}

std::vector<int> Cgroup::OpenProcsFds() const {
  std::vector<int> fds;
  for (const auto& dir : dirs_) {
    int fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      for (int f : fds) ::close(f);
      return {};
    }
    fds.push_back(fd);
  }
  return fds;
}

int Cgroup::JoinProcsFds(const std::vector<int>& fds) {
  for (int fd : fds) {
    ssize_t n;
    do n = ::write(fd, "0", 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) return n < 0 ? errno : EIO;
  }
  return 0;
}

std::vector<pid_t> Cgroup::Pids() const {
  std::set<pid_t> all;
  for (const auto& dir : dirs_) CollectPids(dir, 0, all);
  return {all.begin(), all.end()};
}

void Cgroup::KillAll() {
  const pid_t self = ::getpid();
  // Stop new processes first, so a fork loop cannot outrun the signals.
  for (const auto& dir : dirs_)
    if (v2_.at(dir) && Exists(dir + "/cgroup.kill")) WriteFile(dir + "/cgroup.kill", "1");
  std::optional<std::string> saved_pids_max;
  std::string pids_max = paths_.count("pids") ? paths_.at("pids") + "/pids.max" : "";
  if (!pids_max.empty()) {
    saved_pids_max = ReadFile(pids_max);
    // "0" is never a limit of ours (0 means "not limited" and is not written): another KillAll of
    // the same group is under way, and that one puts the real value back.
    if (saved_pids_max && Trim(*saved_pids_max) == "0") saved_pids_max.reset();
    if (saved_pids_max && WriteFile(pids_max, "0") != 0) saved_pids_max.reset();
  }
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  for (int round = 0;; ++round) {
    std::vector<pid_t> pids = Pids();
    std::erase(pids, self);
    if (pids.empty() || Clock::now() >= deadline) break;
    // A pidfd pins the process; checking the group again after opening it means the pid was not
    // recycled by a process outside the group in between.
    std::vector<std::pair<pid_t, int>> pidfds;
    for (pid_t p : pids) {
      int fd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
      if (fd >= 0)
        pidfds.emplace_back(p, fd);
      else if (errno == ENOSYS)
        ::kill(p, SIGKILL);  // kernels before 5.3: no pidfd, accept the small race
    }
    std::vector<pid_t> now = Pids();
    std::set<pid_t> still(now.begin(), now.end());
    for (auto [p, fd] : pidfds) {
      if (still.count(p)) ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
      ::close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(round < 10 ? 2 : 10));
  }
  if (saved_pids_max) WriteFile(pids_max, Trim(*saved_pids_max));
}

Status Cgroup::Remove() {
  std::vector<std::string> errors;
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  for (const auto& dir : dirs_) RemoveTree(dir, 0, deadline, errors);
  if (!errors.empty()) return Err(6, "cannot remove group '" + name_ + "' (processes left?): " + Join(errors, "; "));
  return {};
}

Status Cgroup::RemoveParent() {
  Layout layout = Detect();
  std::string parent_name = ParentName();
  std::set<std::string> done;
  std::vector<std::string> errors;
  for (const auto& [c, h] : layout.usable) {
    std::string dir = h.own_dir + "/" + parent_name;
    if (!done.insert(dir).second) continue;
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) errors.push_back(dir + ": " + ErrnoText(errno));
  }
  if (!errors.empty()) return Err(6, "cannot remove the parent group: " + Join(errors, "; "));
  return {};
}

bool Cgroup::OomKilled() const {
  if (!paths_.count("memory")) return false;
  const std::string& dir = paths_.at("memory");
  auto n = v2_.at(dir) ? KeyedValue(ReadFile(dir + "/memory.events"), "oom_kill")
                       : KeyedValue(ReadFile(dir + "/memory.oom_control"), "oom_kill");
  return n.value_or(0) > 0;
}

uint64_t Cgroup::MemoryPeakBytes() const {
  if (!paths_.count("memory")) return 0;
  const std::string& dir = paths_.at("memory");
  auto text = ReadFile(dir + (v2_.at(dir) ? "/memory.peak" : "/memory.max_usage_in_bytes"));
  return text ? ParseU64(*text).value_or(0) : 0;
}

nlohmann::json Cgroup::Enforced() const {
  auto number = [](const std::string& path) -> uint64_t {
    auto text = ReadFile(path);
    auto v = text ? ParseU64(*text) : std::nullopt;
    return v && *v < kUnlimitedAbove ? *v : 0;
  };
  uint64_t memory = 0, cpu = 0, pids = 0;
  bool swap_limited = false;
  if (paths_.count("memory")) {
    const std::string& dir = paths_.at("memory");
    if (v2_.at(dir)) {
      memory = number(dir + "/memory.max");
      auto swap = ReadFile(dir + "/memory.swap.max");
      swap_limited = swap && ParseU64(*swap).has_value();
    } else {
      memory = number(dir + "/memory.limit_in_bytes");
      swap_limited = number(dir + "/memory.memsw.limit_in_bytes") > 0;
    }
  }
  if (paths_.count("cpu")) {
    const std::string& dir = paths_.at("cpu");
    std::optional<uint64_t> quota, period;
    if (v2_.at(dir)) {
      auto w = Words(ReadFile(dir + "/cpu.max").value_or(""));
      if (w.size() == 2) quota = ParseU64(w[0]), period = ParseU64(w[1]);
    } else {
      quota = ParseU64(ReadFile(dir + "/cpu.cfs_quota_us").value_or(""));  // -1: none
      period = ParseU64(ReadFile(dir + "/cpu.cfs_period_us").value_or(""));
    }
    if (quota && period && *period > 0) cpu = *quota * 1000 / *period;
  }
  if (paths_.count("pids")) pids = number(paths_.at("pids") + "/pids.max");
  return {{"memory_bytes", memory},
          {"swap_limited", swap_limited},
          {"cpu_millicores", cpu},
          {"pids_max", pids},
          {"version", version_}};
}

}  // namespace depai::provider
