#include "provider/sandbox.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "provider/seccomp.h"
#include "util/process.h"

namespace depai::provider {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Error Err(uint32_t code, const std::string& msg) { return Error{"sandbox", code, msg}; }

std::string Which(const std::string& prog) { return FindExecutable(prog, kSystemPath); }

// Runs argv with a timeout; returns (exit code, stdout and stderr). The child drops to `uid` first
// when it is non-zero; `keep_fd` stays open in it.
std::pair<int, std::string> RunCapture(const std::vector<std::string>& argv, int timeout_ms, uint32_t uid,
                                       int keep_fd = -1) {
  RunOptions o;
  o.timeout_ms = timeout_ms;
  o.max_out = 64 << 10;
  o.uid = uid;
  o.keep_fd = keep_fd;
  auto r = RunProgram(argv, o);
  if (!r.ok()) return {-1, r.error().message};
  if (r->timed_out) return {-1, r->out + r->err + " (timed out)"};
  return {r->exit_code, r->out + r->err};
}

bool HostIsLink(const char* p, std::string* target) {
  std::error_code ec;
  if (!fs::is_symlink(p, ec)) return false;
  *target = fs::read_symlink(p, ec).string();
  return !ec;
}

}  // namespace

json SandboxConfig::to_json() const {
  return json{
      {"mode", mode},       {"bwrap", bwrap},       {"uid_base", uid_base},         {"uid_range", uid_range},
      {"cgroups", cgroups}, {"pids_max", pids_max}, {"tmp_size_mib", tmp_size_mib}, {"allow_egress", allow_egress},
      {"dev_dir", dev_dir}};
}

uint32_t LeaseUid(const SandboxConfig& cfg, uint64_t lease_id) {
  if (::geteuid() != 0 || cfg.uid_range == 0) return 0;
  return cfg.uid_base + static_cast<uint32_t>(lease_id % cfg.uid_range);
}

std::string CudaVisibleDevices(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i);
  return s;
}

Result<std::vector<std::string>> GpuDeviceNodes(const std::string& dev_dir, const std::vector<uint32_t>& gpus) {
  std::vector<std::string> out;
  if (gpus.empty()) return out;
  std::error_code ec;
  for (uint32_t i : gpus) {
    std::string p = dev_dir + "/nvidia" + std::to_string(i);
    if (!fs::exists(p, ec)) return Err(20, "GPU " + std::to_string(i) + " was assigned but " + p + " does not exist");
    out.push_back(p);
  }
  for (const char* n : {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"}) {
    std::string p = dev_dir + "/" + n;
    if (fs::exists(p, ec)) out.push_back(p);
  }
  return out;
}

std::vector<std::string> FindGpuLibs() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu"}) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      bool want = n.rfind("libcuda.so", 0) == 0 || n.rfind("libnvidia-ml.so", 0) == 0 ||
                  n.rfind("libnvidia-ptxjitcompiler.so", 0) == 0 || n.rfind("libcudadebugger.so", 0) == 0 ||
                  n.rfind("libnvidia-nvvm.so", 0) == 0;
      if (want) out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status PrepareImageRoot(const std::string& rootfs, const std::vector<std::string>& gpu_libs, bool resolv_conf) {
  auto root = OpenDirectory(rootfs);
  if (!root.ok()) return root.error();
  // bwrap, as the lease's uid, resolves the root by path: the root must be readable and the cache
  // directories above it (up to the state directory) searchable.
  ::fchmod(root->get(), 0755);
  {
    fs::path p = fs::path(rootfs).parent_path();
    for (int i = 0; i < 2 && !p.empty() && p != p.root_path(); ++i, p = p.parent_path()) {
      struct stat st;
      if (::stat(p.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH)) ::chmod(p.c_str(), (st.st_mode & 07777) | 0111);
    }
  }
  for (const char* d : {"proc", "dev", "tmp", "work", "etc"}) {
    // An image may ship one of these as a link (e.g. /tmp -> /var/tmp); a mount point must be a
    // directory of its own, so the link is replaced.
    struct stat st;
    if (::fstatat(root->get(), d, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
      if (::unlinkat(root->get(), d, 0) != 0) return Err(21, std::string("cannot replace /") + d + " in the image");
    }
    auto m = MkdirsBeneath(root->get(), d);
    if (!m.ok()) return m.error();
  }
  if (resolv_conf) {  // a mount point for the sandbox's /etc/resolv.conf (a link in the image is replaced)
    auto etc = OpenBeneath(root->get(), "etc", O_RDONLY | O_DIRECTORY);
    if (!etc.ok()) return etc.error();
    struct stat st;
    if (::fstatat(etc->get(), "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
      ::unlinkat(etc->get(), "resolv.conf", 0);
    int fd = ::openat(etc->get(), "resolv.conf", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return Err(21, std::string("cannot make /etc/resolv.conf in the image: ") + std::strerror(errno));
    ::close(fd);
  }
  if (!gpu_libs.empty()) {
    auto dir = MkdirsBeneath(root->get(), "usr/local/nvidia/lib64");
    if (!dir.ok()) return dir.error();
    for (const auto& lib : gpu_libs) {
      std::string name = fs::path(lib).filename().string();
      int fd = ::openat(dir->get(), name.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0) return Err(21, "cannot make the mount point for " + name + ": " + std::strerror(errno));
      ::close(fd);
    }
  }
  return {};
}

std::vector<std::string> BwrapArgv(const SandboxConfig& cfg, const Launch& l) {
  std::string bwrap = Which(cfg.bwrap);
  std::vector<std::string> a = {bwrap.empty() ? cfg.bwrap : bwrap};
  auto add = [&a](std::initializer_list<std::string> xs) { a.insert(a.end(), xs); };
  add({"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--cap-drop", "ALL"});
  add({"--uid", "1000", "--gid", "1000", "--hostname", "lease-" + std::to_string(l.lease_id)});
  if (l.image) {
    add({"--ro-bind-fd", std::to_string(kFdRootfs), "/"});
  } else {
    add({"--ro-bind", "/usr", "/usr"});
    for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
      std::string target;
      std::error_code ec;
      if (HostIsLink(top, &target))
        add({"--symlink", target, top});
      else if (fs::is_directory(top, ec))
        add({"--ro-bind", top, top});
    }
    for (const char* f :
         {"/etc/ld.so.cache", "/etc/alternatives", "/etc/ssl/certs", "/etc/localtime", "/etc/nsswitch.conf"})
      add({"--ro-bind-try", f, f});
    add({"--perms", "0444", "--ro-bind-data", std::to_string(kFdPasswd), "/etc/passwd"});
    add({"--perms", "0444", "--ro-bind-data", std::to_string(kFdGroup), "/etc/group"});
    add({"--perms", "0444", "--ro-bind-data", std::to_string(kFdHosts), "/etc/hosts"});
  }
  // Egress: slirp4netns' DNS, over the image's own file (PrepareImageRoot made sure it exists).
  if (l.egress) add({"--perms", "0444", "--ro-bind-data", std::to_string(kFdResolv), "/etc/resolv.conf"});
  add({"--bind-fd", std::to_string(kFdWork), "/work"});
  add({"--proc", "/proc", "--dev", "/dev"});
  add({"--perms", "1777", "--size", std::to_string(l.tmp_bytes), "--tmpfs", "/tmp"});
  auto nodes = GpuDeviceNodes(cfg.dev_dir, l.gpus);
  if (nodes.ok())
    for (const auto& n : nodes.value()) add({"--dev-bind", n, "/dev/" + fs::path(n).filename().string()});
  if (l.image)
    for (const auto& lib : l.gpu_libs)
      add({"--ro-bind", lib, "/usr/local/nvidia/lib64/" + fs::path(lib).filename().string()});
  if (!l.image) add({"--remount-ro", "/"});
  if (l.egress) add({"--block-fd", std::to_string(kFdBlock)});
  add({"--seccomp", std::to_string(kFdSeccomp), "--chdir", l.cwd.empty() ? "/work" : l.cwd, "--clearenv"});
  for (const auto& kv : l.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    add({"--setenv", kv.substr(0, eq), kv.substr(eq + 1)});
  }
  a.push_back("--");
  a.insert(a.end(), l.argv.begin(), l.argv.end());
  return a;
}

Result<UniqueFd> MemFile(const std::string& name, const std::string& content) {
  int fd = static_cast<int>(::syscall(SYS_memfd_create, name.c_str(), MFD_CLOEXEC));
  if (fd < 0) return Err(22, std::string("memfd_create: ") + std::strerror(errno));
  UniqueFd f(fd);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) return Err(22, "writing a memfd failed");
    off += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return f;
}

HostSupport ProbeHost(const SandboxConfig& cfg) {
  HostSupport h;
  h.mode = cfg.mode;
  h.root = ::geteuid() == 0;
  h.bwrap_path = Which(cfg.bwrap);
  h.skopeo = !Which(cfg.skopeo).empty();
  h.slirp4netns = !Which(cfg.slirp4netns).empty();
  {
    struct open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH;
    long fd = ::syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
    h.openat2 = fd >= 0;
    if (fd >= 0) ::close(static_cast<int>(fd));
  }
  h.cgroups = cfg.cgroups ? Cgroup::Probe() : CgroupSupport{"none", false, false, false, "disabled in the config"};
  if (cfg.cgroups) Cgroup::RemoveParent();  // the probe's parent, unless groups of leases live in it
  std::error_code ec;
  for (int i = 0; i < 64; ++i)
    if (fs::exists(cfg.dev_dir + "/nvidia" + std::to_string(i), ec))
      h.gpu_devices.push_back(cfg.dev_dir + "/nvidia" + std::to_string(i));

  auto bpf = SeccompBpfFd();
  if (!bpf.ok()) {
    h.seccomp_error = bpf.error().message;
  } else {
    h.seccomp = true;
  }
  if (h.bwrap_path.empty()) {
    h.bwrap_error = "bwrap not found (install Debian's bubblewrap package)";
    if (bpf.ok()) ::close(bpf.value());
    return h;
  }
  auto [vrc, vout] = RunCapture({h.bwrap_path, "--version"}, 5000, 0);
  h.bwrap_version = vout.substr(0, vout.find('\n'));
  if (!bpf.ok()) {
    h.bwrap_error = "no seccomp filter: " + h.seccomp_error;
    return h;
  }
  // A real probe: the same namespaces, filter and uid a workload gets; /bin/sh must then fail to
  // mount and must see only its own processes.
  UniqueFd bpf_fd(bpf.value());
  int target = ::fcntl(bpf_fd.get(), F_DUPFD_CLOEXEC, 100);
  UniqueFd probe_fd(target);
  std::vector<std::string> argv = {h.bwrap_path,
                                   "--unshare-all",
                                   "--unshare-user",
                                   "--disable-userns",
                                   "--die-with-parent",
                                   "--cap-drop",
                                   "ALL",
                                   "--uid",
                                   "1000",
                                   "--gid",
                                   "1000",
                                   "--ro-bind",
                                   "/usr",
                                   "/usr"};
  for (const char* top : {"/bin", "/lib", "/lib64"}) {
    std::string t;
    if (HostIsLink(top, &t)) {
      argv.insert(argv.end(), {"--symlink", t, top});
    } else if (fs::is_directory(top, ec)) {
      argv.insert(argv.end(), {"--ro-bind", top, top});
    }
  }
  argv.insert(argv.end(), {"--proc", "/proc", "--dev", "/dev", "--seccomp", std::to_string(target), "--", "/bin/sh",
                           "-c", "test \"$(id -u)\" = 1000 && test ! -e /proc/1/root/root && echo depai-probe-ok"});
  auto [rc, out] = RunCapture(argv, 10000, LeaseUid(cfg, 0), target);
  if (rc == 0 && out.find("depai-probe-ok") != std::string::npos) {
    h.bwrap = true;
  } else {
    h.bwrap_error = "a probe sandbox failed (exit " + std::to_string(rc) + "): " + out.substr(0, 400);
  }
  return h;
}

json HostSupport::to_json() const {
  return json{
      {"mode", mode},
      {"can_sandbox", can_sandbox()},
      {"enforced", mode == "none" ? "nothing: sandbox mode is none" : (can_sandbox() ? "sandbox" : "unavailable")},
      {"root", root},
      {"bwrap", {{"ok", bwrap}, {"path", bwrap_path}, {"version", bwrap_version}, {"error", bwrap_error}}},
      {"namespaces", bwrap ? json::array({"user", "pid", "mount", "network", "ipc", "uts", "cgroup"}) : json::array()},
      {"seccomp", {{"ok", seccomp}, {"error", seccomp_error}}},
      {"openat2", openat2},
      {"cgroups", cgroups.to_json()},
      {"images", {{"skopeo", skopeo}}},
      {"egress", {{"slirp4netns", slirp4netns}}},
      {"gpu_devices", gpu_devices}};
}

std::string HostSupport::Text() const {
  std::ostringstream o;
  auto yes = [](bool b) { return b ? "yes" : "NO"; };
  o << "sandbox mode        " << mode << (mode == "none" ? "  (workloads run UNCONFINED)" : "") << "\n";
  o << "running as root     " << yes(root)
    << (root ? "  (workloads get per-lease uids)" : "  (workloads share this uid)") << "\n";
  o << "bubblewrap          " << yes(bwrap) << "  " << (bwrap_path.empty() ? "-" : bwrap_path) << " " << bwrap_version
    << (bwrap_error.empty() ? "" : "  " + bwrap_error) << "\n";
  o << "namespaces          " << (bwrap ? "user pid mount network ipc uts cgroup" : "-") << "\n";
  o << "seccomp filter      " << yes(seccomp) << (seccomp_error.empty() ? "" : "  " + seccomp_error) << "\n";
  o << "openat2             " << yes(openat2) << (openat2 ? "" : "  (O_NOFOLLOW walk used instead)") << "\n";
  o << "cgroups             " << cgroups.version << "  memory " << yes(cgroups.memory) << ", cpu " << yes(cgroups.cpu)
    << ", pids " << yes(cgroups.pids) << (cgroups.detail.empty() ? "" : "  (" + cgroups.detail + ")") << "\n";
  o << "OCI registry pulls  " << yes(skopeo) << (skopeo ? "  (skopeo)" : "  (install skopeo; local archives work)")
    << "\n";
  o << "egress (slirp4netns) " << yes(slirp4netns) << "\n";
  o << "GPU devices         " << (gpu_devices.empty() ? "none" : "");
  for (const auto& g : gpu_devices) o << g << " ";
  o << "\n";
  o << "verdict             "
    << (mode == "none" ? "workloads are NOT isolated (sandbox mode = none)"
                       : (can_sandbox() ? "workloads can be sandboxed" : "this host CANNOT sandbox workloads"))
    << "\n";
  return o.str();
}

Result<pid_t> StartEgress(const SandboxConfig& cfg, pid_t pid, const std::vector<int>& procs_fds,
                          const std::string& log_path, int timeout_ms) {
  std::string slirp = Which(cfg.slirp4netns);
  if (slirp.empty()) return Err(32, "egress needs slirp4netns (Debian's package), not found");
  pid_t inner = 0;
  for (int i = 0; i < timeout_ms / 10 && inner == 0; ++i) {
    inner = SandboxedDescendant(pid);
    if (inner == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (inner == 0) return Err(32, "egress: the sandbox's network namespace did not appear");
  UniqueFd net(::open(("/proc/" + std::to_string(inner) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  if (!net) return Err(32, "egress: cannot open the sandbox's network namespace");
  constexpr unsigned long kNsGetUserns = 0xb701;  // NS_GET_USERNS (linux/nsfs.h)
  UniqueFd owner(::ioctl(net.get(), kNsGetUserns));
  if (!owner) return Err(32, std::string("egress: NS_GET_USERNS: ") + std::strerror(errno));
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return Err(32, "egress: pipe failed");
  UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  UniqueFd log_fd(log);
  std::string pid_s = std::to_string(inner);
  std::vector<std::string> args = {
      slirp,          "--configure", "--mtu=65520", "--disable-host-loopback", "--userns-path=/proc/self/fd/3",
      "--ready-fd=4", pid_s,         "tap0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
  pid_t c = ::fork();
  if (c < 0) return Err(32, "egress: fork failed");
  if (c == 0) {
    // Detached: a second fork leaves slirp4netns to init to reap; its process group (this
    // child's pid) lets the parent kill it, and the service's cgroup ends it with the service.
    ::setsid();
    if (!procs_fds.empty() && Cgroup::JoinProcsFds(procs_fds) != 0) ::_exit(124);
    pid_t g = ::fork();
    if (g < 0) ::_exit(122);
    if (g > 0) ::_exit(0);
    int u = ::fcntl(owner.get(), F_DUPFD, 20), r = ::fcntl(ready_w.get(), F_DUPFD, 20);
    int l2 = log >= 0 ? ::fcntl(log, F_DUPFD, 20) : -1;
    if (u < 0 || r < 0 || ::dup2(u, 3) < 0 || ::dup2(r, 4) < 0) ::_exit(123);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    if (l2 >= 0) ::dup2(l2, 1), ::dup2(l2, 2);
    ::close_range(5, ~0U, 0);
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  ready_w = UniqueFd();
  ::waitpid(c, nullptr, 0);  // the intermediate child exits at once
  struct pollfd pf {
    ready_r.get(), POLLIN, 0
  };
  char b = 0;
  if (::poll(&pf, 1, timeout_ms) != 1 || ::read(ready_r.get(), &b, 1) != 1) {
    ::kill(-c, SIGKILL);
    return Err(32, "egress: slirp4netns did not configure the network (see slirp4netns.log)");
  }
  return c;
}

pid_t SandboxedDescendant(pid_t pid) {
  std::error_code ec;
  std::string own = fs::read_symlink("/proc/self/ns/net", ec).string();
  std::vector<pid_t> frontier = {pid};
  for (int depth = 0; depth < 6 && !frontier.empty(); ++depth) {
    std::vector<pid_t> next;
    for (pid_t p : frontier) {
      std::string ns = fs::read_symlink("/proc/" + std::to_string(p) + "/ns/net", ec).string();
      if (!ec && !ns.empty() && ns != own) return p;
      for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(p) + "/task", ec)) {
        std::ifstream in(t.path() / "children");
        pid_t c;
        while (in >> c) next.push_back(c);
      }
    }
    frontier = std::move(next);
  }
  return 0;
}

Result<UniqueFd> ConnectInNetns(pid_t pid, uint16_t port, int timeout_ms) {
  std::string p = "/proc/" + std::to_string(pid) + "/ns/";
  int netfd = ::open((p + "net").c_str(), O_RDONLY | O_CLOEXEC);
  if (netfd < 0) return Err(30, "the service's network namespace is gone (" + std::string(std::strerror(errno)) + ")");
  UniqueFd net(netfd);
  UniqueFd user(::open((p + "user").c_str(), O_RDONLY | O_CLOEXEC));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return Err(30, "socketpair failed");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  pid_t c = ::fork();
  if (c < 0) return Err(30, "fork failed");
  if (c == 0) {
    // Only system calls from here on (async-signal-safe).
    if (::setns(net.get(), CLONE_NEWNET) != 0) {
      if (!user || ::setns(user.get(), CLONE_NEWUSER) != 0 || ::setns(net.get(), CLONE_NEWNET) != 0) ::_exit(2);
    }
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) ::_exit(3);
    struct sockaddr_in a;
    std::memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (errno != EINPROGRESS) ::_exit(4);
      struct pollfd pf {
        s, POLLOUT, 0
      };
      if (::poll(&pf, 1, timeout_ms) != 1) ::_exit(5);
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) ::_exit(4);
    }
    char byte = 'k';
    struct iovec iov {
      &byte, 1
    };
    alignas(struct cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))];
    std::memset(ctrl, 0, sizeof ctrl);
    struct msghdr msg;
    std::memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &s, sizeof(int));
    ::_exit(::sendmsg(child_end.get(), &msg, 0) == 1 ? 0 : 6);
  }
  child_end = UniqueFd();
  int status = 0;
  ::waitpid(c, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 4 || code == 5)
      return Err(31, "nothing accepts connections on port " + std::to_string(port) + " inside the sandbox");
    return Err(30, "cannot enter the service's network namespace (step " + std::to_string(code) + ")");
  }
  char byte = 0;
  struct iovec iov {
    &byte, 1
  };
  alignas(struct cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))];
  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  if (::recvmsg(parent_end.get(), &msg, MSG_CMSG_CLOEXEC) != 1) return Err(30, "no socket came back");
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return Err(30, "no socket came back");
  int s;
  std::memcpy(&s, CMSG_DATA(cm), sizeof(int));
  int fl = ::fcntl(s, F_GETFL);
  ::fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
  return UniqueFd(s);
}

}  // namespace depai::provider
