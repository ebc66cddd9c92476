// The sandbox's kernel-enforced limits, tried for real: the seccomp program is loaded into forked
// children (denied calls fail with EPERM, clone3 with ENOSYS, other ABIs are killed, ordinary calls
// work, bubblewrap accepts the fd), and cgroups are created on this host with limits that a child
// then runs into (OOM kill, fork bomb stopped at pids.max, CPU quota), joined through
// OpenProcsFds, killed and removed. Every group lives under a parent named after the test's pid and
// is removed at the end; the cgroup tests skip (with Probe's reason) when the host lets us use none.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "provider/cgroup.h"
#include "provider/seccomp.h"

namespace depai::provider {
namespace {

namespace fs = std::filesystem;

// ---- helpers for forked children: only async-signal-safe calls after fork ----------------------

// What a child reports when a check fails: which one, the return value and errno.
struct Outcome {
  int check = 0;
  long ret = 0;
  int err = 0;
};

[[noreturn]] void Fail(int wfd, int check, long ret, int err) {
  Outcome o{check, ret, err};
  (void)!::write(wfd, &o, sizeof o);
  _exit(100);
}

// Reads the program from `bpf_fd` into `buf` (allocated before fork) and installs it.
bool LoadFilter(int bpf_fd, std::vector<char>& buf) {
  size_t len = 0;
  for (;;) {
    ssize_t n = ::read(bpf_fd, buf.data() + len, buf.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (len == buf.size()) return false;
  }
  if (len == 0 || len % sizeof(sock_filter) != 0) return false;
  sock_fprog prog{static_cast<unsigned short>(len / sizeof(sock_filter)), reinterpret_cast<sock_filter*>(buf.data())};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

struct Child {
  pid_t pid = -1;
  int status = 0;
  std::optional<Outcome> failure;
};

// Waits for the child and reads a failure report from `rfd` if it wrote one.
Child Reap(pid_t pid, int rfd) {
  Child c;
  c.pid = pid;
  ::waitpid(pid, &c.status, 0);
  Outcome o;
  if (rfd >= 0 && ::read(rfd, &o, sizeof o) == static_cast<ssize_t>(sizeof o)) c.failure = o;
  if (rfd >= 0) ::close(rfd);
  return c;
}

std::string Describe(const Child& c, const std::vector<std::string>& names) {
  std::ostringstream os;
  if (WIFEXITED(c.status)) os << "exit " << WEXITSTATUS(c.status);
  if (WIFSIGNALED(c.status)) os << "signal " << WTERMSIG(c.status);
  if (c.failure) {
    int i = c.failure->check;
    os << "; check " << i << " (" << (i >= 0 && i < static_cast<int>(names.size()) ? names[i] : "?") << ") returned "
       << c.failure->ret << " errno " << c.failure->err << " (" << std::strerror(c.failure->err) << ")";
  }
  return os.str();
}

// Expect `ret == -1 && errno == want`, else report check `i`.
#define EXPECT_ERRNO_IN_CHILD(i, call, want)          \
  do {                                                \
    errno = 0;                                        \
    long _r = (long)(call);                           \
    int _e = errno;                                   \
    if (_r == 0 && ::getpid() != self) _exit(0);      \
    if (_r != -1 || _e != (want)) Fail(w, i, _r, _e); \
  } while (0)

// ---- seccomp ----------------------------------------------------------------------------------

TEST(Seccomp, ProgramFdIsSealedBpfAtOffsetZero) {
  auto a = SeccompBpfFd();
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = SeccompBpfFd();
  ASSERT_TRUE(b.ok()) << b.error().message;
  int fa = *a, fb = *b;
  EXPECT_NE(fa, fb);
  EXPECT_EQ(::lseek(fa, 0, SEEK_CUR), 0);
  EXPECT_NE(::fcntl(fa, F_GETFD) & FD_CLOEXEC, 0);
  int seals = ::fcntl(fa, F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SEAL), F_SEAL_WRITE | F_SEAL_SEAL);
  EXPECT_EQ(::write(fa, "x", 1), -1);  // sealed
  struct stat st {};
  ASSERT_EQ(::fstat(fa, &st), 0);
  EXPECT_GT(st.st_size, 0);
  EXPECT_EQ(st.st_size % static_cast<off_t>(sizeof(sock_filter)), 0);
  EXPECT_LT(st.st_size / static_cast<off_t>(sizeof(sock_filter)), BPF_MAXINSNS);
  std::string ca(static_cast<size_t>(st.st_size), '\0'), cb = ca;
  EXPECT_EQ(::read(fa, ca.data(), ca.size()), st.st_size);
  EXPECT_EQ(::read(fb, cb.data(), cb.size()), st.st_size);
  EXPECT_EQ(ca, cb);
  ::close(fa);
  ::close(fb);
}

TEST(Seccomp, DeniedListCoversTheContract) {
  const auto& denied = SeccompDeniedSyscalls();
  std::set<std::string> have(denied.begin(), denied.end());
  for (const char* name : {"mount",
                           "umount2",
                           "pivot_root",
                           "move_mount",
                           "open_tree",
                           "fsopen",
                           "fsconfig",
                           "fsmount",
                           "fspick",
                           "mount_setattr",
                           "ptrace",
                           "process_vm_readv",
                           "process_vm_writev",
                           "kcmp",
                           "kexec_load",
                           "kexec_file_load",
                           "bpf",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "reboot",
                           "swapon",
                           "swapoff",
                           "acct",
                           "perf_event_open",
                           "userfaultfd",
                           "setns",
                           "unshare",
                           "open_by_handle_at",
                           "name_to_handle_at",
                           "settimeofday",
                           "clock_settime",
                           "clock_adjtime",
                           "adjtimex",
                           "syslog",
                           "quotactl",
                           "lookup_dcookie",
                           "personality",
                           "ioctl",
                           "clone",
                           "clone3"}) {
#if !defined(__x86_64__) && !defined(__i386__)
    if (std::string(name) == "iopl" || std::string(name) == "ioperm") continue;
#endif
    EXPECT_TRUE(have.count(name)) << name;
  }
#if defined(__x86_64__)
  EXPECT_TRUE(have.count("iopl") && have.count("ioperm"));
  EXPECT_FALSE(have.count("umount")) << "not an x86_64 system call: should not be listed";
#endif
  EXPECT_EQ(have.size(), denied.size()) << "duplicates in the list";
}

// The control: without the filter, the same calls do not fail with EPERM (we are root), so the
// EPERMs of the next test come from the filter.
TEST(Seccomp, WithoutTheFilterTheCallsWork) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: as another user these calls fail with EPERM anyway";
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int w = p[1];
    long r = ::syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -3 /*session*/, 0);
    if (r < 0) Fail(w, 0, r, errno);
    r = ::syscall(SYS_personality, ADDR_NO_RANDOMIZE);
    if (r < 0) Fail(w, 1, r, errno);
    r = ::syscall(SYS_clone3, nullptr, 0);
    if (r != -1 || errno != EINVAL) Fail(w, 2, r, errno);
    char c = 'x';
    r = ::ioctl(p[1], TIOCSTI, &c);
    if (r != -1 || errno != ENOTTY) Fail(w, 3, r, errno);
    _exit(0);
  }
  ::close(p[1]);
  Child c = Reap(pid, p[0]);
  EXPECT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)
      << Describe(c, {"keyctl", "personality(ADDR_NO_RANDOMIZE)", "clone3(NULL)", "ioctl(TIOCSTI)"});
}

TEST(Seccomp, ForkedChildWithTheFilterIsDeniedAndStillWorks) {
  auto fd = SeccompBpfFd();
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  char dir_tmpl[] = "/tmp/depai-seccomp-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_tmpl), nullptr);
  std::vector<char> buf(1 << 16);
  const std::vector<std::string> names = {
      "filter load",
      "mount tmpfs",
      "umount2",
      "keyctl",
      "add_key",
      "bpf",
      "fork (clone without namespace flags)",
      "ptrace(PTRACE_ATTACH) of own child",
      "unshare(CLONE_NEWUSER)",
      "unshare(CLONE_NEWNS)",
      "unshare(CLONE_NEWNET)",
      "unshare(CLONE_FS) allowed",
      "clone(CLONE_NEWUSER)",
      "clone(CLONE_NEWPID)",
      "clone3 -> ENOSYS",
      "setns",
      "personality(0xffffffff) allowed",
      "personality(0) allowed",
      "personality(ADDR_NO_RANDOMIZE)",
      "personality(ADDR_NO_RANDOMIZE with upper-half junk)",
      "personality(upper-half junk, low 0) allowed",
      "ioctl(TIOCSTI)",
      "ioctl(TIOCSTI with upper-half junk)",
      "ioctl(TIOCLINUX)",
      "ioctl(FIONREAD) allowed",
      "process_vm_readv",
      "io_uring_setup",
      "open_by_handle_at",
      "perf_event_open",
      "userfaultfd",
      "getpid",
      "write",
      "kcmp",
      "clock_settime",
      "personality(other values; ret = the value let through)",
  };
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const pid_t self = ::getpid();
    int w = p[1];
    // As root, a private mount namespace first: were mount() let through, it would not touch the
    // host. (Another user cannot mount anyway.)
    if (::geteuid() == 0 &&
        (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0))
      Fail(w, 0, -1, errno);
    if (!LoadFilter(*fd, buf)) Fail(w, 0, -1, errno);
    EXPECT_ERRNO_IN_CHILD(1, ::mount("none", dir_tmpl, "tmpfs", 0, nullptr), EPERM);
    EXPECT_ERRNO_IN_CHILD(2, ::umount2("/proc", MNT_DETACH), EPERM);
    EXPECT_ERRNO_IN_CHILD(3, ::syscall(SYS_keyctl, 0, -3, 0), EPERM);
    EXPECT_ERRNO_IN_CHILD(4, ::syscall(SYS_add_key, "user", "depai", "x", 1, -3), EPERM);
    EXPECT_ERRNO_IN_CHILD(5, ::syscall(SYS_bpf, 0 /*BPF_MAP_CREATE*/, nullptr, 0), EPERM);
    pid_t gc = ::fork();
    if (gc < 0) Fail(w, 6, gc, errno);
    if (gc == 0) {
      for (;;) ::pause();
    }
    long r = ::ptrace(PTRACE_ATTACH, gc, nullptr, nullptr);
    int e = errno;
    ::kill(gc, SIGKILL);
    ::waitpid(gc, nullptr, 0);
    if (r != -1 || e != EPERM) Fail(w, 7, r, e);
    EXPECT_ERRNO_IN_CHILD(8, ::unshare(CLONE_NEWUSER), EPERM);
    EXPECT_ERRNO_IN_CHILD(9, ::unshare(CLONE_NEWNS), EPERM);
    EXPECT_ERRNO_IN_CHILD(10, ::unshare(CLONE_NEWNET), EPERM);
    if ((r = ::unshare(CLONE_FS)) != 0) Fail(w, 11, r, errno);
    EXPECT_ERRNO_IN_CHILD(12, ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM);
    EXPECT_ERRNO_IN_CHILD(13, ::syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0), EPERM);
    EXPECT_ERRNO_IN_CHILD(14, ::syscall(SYS_clone3, nullptr, 0), ENOSYS);
    EXPECT_ERRNO_IN_CHILD(15, ::syscall(SYS_setns, 0, 0), EPERM);
    if ((r = ::syscall(SYS_personality, 0xffffffffUL)) < 0) Fail(w, 16, r, errno);
    if ((r = ::syscall(SYS_personality, 0UL)) < 0) Fail(w, 17, r, errno);
    EXPECT_ERRNO_IN_CHILD(18, ::syscall(SYS_personality, static_cast<unsigned long>(ADDR_NO_RANDOMIZE)), EPERM);
    EXPECT_ERRNO_IN_CHILD(19, ::syscall(SYS_personality, (1UL << 32) | ADDR_NO_RANDOMIZE), EPERM);
    if ((r = ::syscall(SYS_personality, 1UL << 32)) < 0) Fail(w, 20, r, errno);
    char ch = 'x';
    EXPECT_ERRNO_IN_CHILD(21, ::ioctl(w, TIOCSTI, &ch), EPERM);
    EXPECT_ERRNO_IN_CHILD(22, ::syscall(SYS_ioctl, w, (1UL << 32) | TIOCSTI, &ch), EPERM);
    EXPECT_ERRNO_IN_CHILD(23, ::ioctl(w, TIOCLINUX, &ch), EPERM);
    int avail = 0;
    if ((r = ::ioctl(p[0], FIONREAD, &avail)) != 0) Fail(w, 24, r, errno);
    EXPECT_ERRNO_IN_CHILD(25, ::syscall(SYS_process_vm_readv, ::getppid(), nullptr, 0, nullptr, 0, 0), EPERM);
    EXPECT_ERRNO_IN_CHILD(26, ::syscall(SYS_io_uring_setup, 1, nullptr), EPERM);
    EXPECT_ERRNO_IN_CHILD(27, ::syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, 0), EPERM);
    EXPECT_ERRNO_IN_CHILD(28, ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0), EPERM);
    EXPECT_ERRNO_IN_CHILD(29, ::syscall(SYS_userfaultfd, 0), EPERM);
    if ((r = ::syscall(SYS_getpid)) != self) Fail(w, 30, r, errno);
    if ((r = ::write(p[1], "", 0)) != 0) Fail(w, 31, r, errno);
    EXPECT_ERRNO_IN_CHILD(32, ::syscall(SYS_kcmp, self, self, 0, 0, 0), EPERM);
    timespec ts{};
    EXPECT_ERRNO_IN_CHILD(33, ::clock_settime(CLOCK_REALTIME, &ts), EPERM);
    // Every personality but 0 and 0xffffffff, whichever bits are set.
    for (unsigned long v : {1UL, 8UL /*PER_LINUX32*/, 0x80000000UL, 0x7fffffffUL, 0xfffffffeUL, 0x00400000UL,
                            0xffff0000UL, 0x0000ffffUL, 0x55555555UL, 0xaaaaaaaaUL}) {
      errno = 0;
      r = ::syscall(SYS_personality, v);
      if (r != -1 || errno != EPERM) Fail(w, 34, static_cast<long>(v), errno);
    }
    _exit(0);
  }
  ::close(p[1]);
  ::close(*fd);
  Child c = Reap(pid, p[0]);
  ::rmdir(dir_tmpl);
  EXPECT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) << Describe(c, names);
}

// A system call through another ABI would bypass a filter written for x86_64 numbers: killed.
TEST(Seccomp, OtherAbisAreKilled) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the i386 and x32 entry points exist on x86_64 only";
#else
  auto fd = SeccompBpfFd();
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  std::vector<char> buf(1 << 16);
  for (int abi = 0; abi < 2; ++abi) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (!LoadFilter(*fd, buf)) _exit(90);
      if (abi == 0) {
        long ret = 20;  // i386 getpid through int 0x80
        asm volatile("int $0x80" : "+a"(ret) : : "memory");
      } else {
        ::syscall(0x40000000 /*__X32_SYSCALL_BIT*/ | SYS_getpid);
      }
      _exit(0);
    }
    ASSERT_EQ(::lseek(*fd, 0, SEEK_SET), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
        << (abi == 0 ? "int 0x80" : "x32") << ": status " << status;
  }
  ::close(*fd);
#endif
}

// bubblewrap reads the same fd: a normal command runs, a namespace is refused inside.
TEST(Seccomp, BubblewrapAcceptsTheProgram) {
  const char* bwrap = "/usr/bin/bwrap";
  if (::access(bwrap, X_OK) != 0) GTEST_SKIP() << "no " << bwrap;
  if (::access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/unshare";
  auto run = [&](const std::string& script) {
    auto fd = SeccompBpfFd();
    EXPECT_TRUE(fd.ok());
    if (!fd.ok()) return -1;
    std::vector<std::string> args = {bwrap,       "--dev-bind", "/",       "/",  "--die-with-parent",
                                     "--seccomp", "10",         "/bin/sh", "-c", script};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::dup2(*fd, 10) != 10) _exit(91);  // dup2 clears O_CLOEXEC on the new fd
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execv(bwrap, argv.data());
      _exit(92);
    }
    ::close(*fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  };
  EXPECT_EQ(run("exit 7"), 7);
  EXPECT_EQ(run("/usr/bin/unshare --user true && exit 0 || exit 3"), 3);
}

// ---- cgroups ----------------------------------------------------------------------------------

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Puts every group of the test under depai-test-<pid> and removes that parent at the end.
struct TestParent {
  CgroupSupport support;
  std::string skip;
  TestParent() {
    EXPECT_TRUE(Cgroup::SetParentName("depai-test-" + std::to_string(::getpid())));
    support = Cgroup::Probe();
    if (support.version == "none") skip = "this host lets us use no cgroup controller: " + support.detail;
  }
  ~TestParent() {
    Status st = Cgroup::RemoveParent();
    EXPECT_TRUE(st.ok()) << st.error().message;
    Cgroup::SetParentName("depai");
  }
};

// Kills and removes the group whatever the test did.
struct GroupGuard {
  std::optional<Cgroup> g;
  ~GroupGuard() {
    if (!g) return;
    g->KillAll();
    Status st = g->Remove();
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
};

std::string GroupName(const char* what) { return std::string("t-") + std::to_string(::getpid()) + "-" + what; }

// A child that joins the group and reports over a pipe; `body` runs after the join (in the child).
template <typename Body>
pid_t ForkIntoGroup(const Cgroup& g, int report_fd, Body body) {
  std::vector<int> fds = g.OpenProcsFds();
  if (fds.empty()) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (Cgroup::JoinProcsFds(fds) != 0) _exit(95);
    body(report_fd);
    _exit(0);
  }
  for (int fd : fds) ::close(fd);
  return pid;
}

bool InGroupFile(pid_t pid, const std::string& name) {
  std::string s = Slurp("/proc/" + std::to_string(pid) + "/cgroup");
  return s.find("/" + name + "\n") != std::string::npos || s.ends_with("/" + name);
}

TEST(Cgroup, ProbeIsHonestAndCleansUp) {
  TestParent parent;
  if (!parent.skip.empty()) GTEST_SKIP() << parent.skip;
  const auto& s = parent.support;
  auto j = s.to_json();
  EXPECT_EQ(j["version"], s.version);
  EXPECT_EQ(j["memory"], s.memory);
  EXPECT_EQ(j["cpu"], s.cpu);
  EXPECT_EQ(j["pids"], s.pids);
  EXPECT_TRUE(j.contains("detail"));
  EXPECT_TRUE(s.version == "v1" || s.version == "v2");
  EXPECT_TRUE(s.memory || s.cpu || s.pids);
  if (!(s.memory && s.cpu && s.pids)) {
    EXPECT_FALSE(s.detail.empty()) << "a missing controller needs a reason";
  }
  // What Probe says works does work: a group takes every limit.
  GroupGuard guard;
  auto g = Cgroup::Create(GroupName("probe"), {64ull << 20, 500, 16});
  ASSERT_TRUE(g.ok()) << g.error().message;
  guard.g = *g;
  auto e = g->Enforced();
  EXPECT_EQ(e["memory_bytes"], s.memory ? 64ull << 20 : 0);
  EXPECT_EQ(e["cpu_millicores"], s.cpu ? 500 : 0);
  EXPECT_EQ(e["pids_max"], s.pids ? 16 : 0);
  // No probe group was left behind beside it.
  for (const auto& [ctrl, dir] : g->paths())
    for (const auto& entry : fs::directory_iterator(fs::path(dir).parent_path()))
      EXPECT_NE(entry.path().filename().string().rfind("probe-", 0), 0u) << entry.path();
}

TEST(Cgroup, CreateWritesLimitsAndReopens) {
  TestParent parent;
  if (!parent.skip.empty()) GTEST_SKIP() << parent.skip;
  const auto& s = parent.support;
  const std::string name = GroupName("limits");
  GroupGuard guard;
  auto g = Cgroup::Create(name, {64ull << 20, 250, 32});
  ASSERT_TRUE(g.ok()) << g.error().message;
  guard.g = *g;
  EXPECT_EQ(g->name(), name);
  EXPECT_EQ(g->version(), s.version);
  const auto& paths = g->paths();
  EXPECT_EQ(paths.count("memory"), s.memory ? 1u : 0u);
  EXPECT_EQ(paths.count("cpu"), s.cpu ? 1u : 0u);
  EXPECT_EQ(paths.count("pids"), s.pids ? 1u : 0u);
  for (const auto& [ctrl, dir] : paths) {
    EXPECT_TRUE(fs::is_directory(dir)) << dir;
    EXPECT_EQ(fs::path(dir).filename(), name);
    EXPECT_EQ(fs::path(dir).parent_path().filename(), Cgroup::ParentName());
  }
  bool v2 = s.version == "v2";
  if (s.memory) {
    const std::string& d = paths.at("memory");
    if (v2) {
      EXPECT_EQ(Slurp(d + "/memory.max"), std::to_string(64ull << 20));
      if (fs::exists(d + "/memory.swap.max")) {
        EXPECT_EQ(Slurp(d + "/memory.swap.max"), "0");
      }
    } else {
      EXPECT_EQ(Slurp(d + "/memory.limit_in_bytes"), std::to_string(64ull << 20));
      if (fs::exists(d + "/memory.memsw.limit_in_bytes")) {
        EXPECT_EQ(Slurp(d + "/memory.memsw.limit_in_bytes"), std::to_string(64ull << 20));
      }
    }
  }
  if (s.cpu) {
    const std::string& d = paths.at("cpu");
    if (v2) {
      EXPECT_EQ(Slurp(d + "/cpu.max"), "25000 100000");
    } else {
      EXPECT_EQ(Slurp(d + "/cpu.cfs_quota_us"), "25000");
      EXPECT_EQ(Slurp(d + "/cpu.cfs_period_us"), "100000");
    }
  }
  if (s.pids) {
    EXPECT_EQ(Slurp(paths.at("pids") + "/pids.max"), "32");
  }
  auto e = g->Enforced();
  EXPECT_EQ(e["version"], s.version);
  EXPECT_EQ(e["memory_bytes"], s.memory ? 64ull << 20 : 0);
  EXPECT_EQ(e["cpu_millicores"], s.cpu ? 250 : 0);
  EXPECT_EQ(e["pids_max"], s.pids ? 32 : 0);

  // Reopened with a higher memory limit (above the old memsw value) and a zero (unchanged) cpu.
  auto again = Cgroup::Create(name, {256ull << 20, 0, 8});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->paths(), paths);
  e = again->Enforced();
  EXPECT_EQ(e["memory_bytes"], s.memory ? 256ull << 20 : 0);
  EXPECT_EQ(e["cpu_millicores"], s.cpu ? 250 : 0);
  EXPECT_EQ(e["pids_max"], s.pids ? 8 : 0);

  // Adoption: Open finds the same directories and writes nothing.
  auto opened = Cgroup::Open(name);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->paths(), paths);
  EXPECT_EQ(opened->Enforced(), e);

  auto missing = Cgroup::Open(GroupName("never-created"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().codespace, "sandbox");
  for (const char* bad : {"", "..", ".hidden", "a/b", "../../etc", "x y"}) {
    auto r = Cgroup::Create(bad, {});
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_FALSE(Cgroup::SetParentName("a/b"));
  EXPECT_FALSE(Cgroup::SetParentName(".."));
  EXPECT_EQ(Cgroup::ParentName(), "depai-test-" + std::to_string(::getpid()));
}

TEST(Cgroup, ChildJoinsThroughProcsFdsAndKillAllEmptiesTheGroup) {
  TestParent parent;
  if (!parent.skip.empty()) GTEST_SKIP() << parent.skip;
  const std::string name = GroupName("join");
  GroupGuard guard;
  auto g = Cgroup::Create(name, {});
  ASSERT_TRUE(g.ok()) << g.error().message;
  guard.g = *g;
  EXPECT_TRUE(g->Pids().empty());
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ForkIntoGroup(*g, p[1], [](int w) {
    // A grandchild in the group too, and a subgroup member when the test makes one.
    if (::fork() == 0)
      for (;;) ::pause();
    (void)!::write(w, "j", 1);
    for (;;) ::pause();
  });
  ASSERT_GT(pid, 0);
  ::close(p[1]);
  char ch = 0;
  ASSERT_EQ(::read(p[0], &ch, 1), 1);
  ::close(p[0]);
  auto pids = g->Pids();
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_TRUE(std::find(pids.begin(), pids.end(), pid) != pids.end());
  EXPECT_TRUE(InGroupFile(pid, name)) << Slurp("/proc/" + std::to_string(pid) + "/cgroup");
  EXPECT_TRUE(std::find(pids.begin(), pids.end(), ::getpid()) == pids.end());

  // A process moved into a subgroup (as a workload with its own cgroup could be) is seen and killed.
  const std::string first_dir = g->paths().begin()->second;
  const std::string sub = first_dir + "/inner";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  pid_t gc = 0;
  for (pid_t x : pids)
    if (x != pid) gc = x;
  {
    std::ofstream procs(sub + "/cgroup.procs");
    procs << gc;
  }
  EXPECT_EQ(Slurp(sub + "/cgroup.procs"), std::to_string(gc));
  EXPECT_EQ(g->Pids().size(), 2u);

  g->KillAll();
  EXPECT_TRUE(g->Pids().empty());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  Status st = g->Remove();
  ASSERT_TRUE(st.ok()) << st.error().message;
  for (const auto& [ctrl, dir] : g->paths()) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_TRUE(g->Remove().ok()) << "removing twice is fine";
  EXPECT_FALSE(Cgroup::Open(name).ok());
  guard.g.reset();
}

TEST(Cgroup, ChildAllocatingPastTheMemoryLimitIsOomKilled) {
  TestParent parent;
  if (!parent.skip.empty()) GTEST_SKIP() << parent.skip;
  if (!parent.support.memory) GTEST_SKIP() << "no memory controller: " << parent.support.detail;
  const uint64_t limit = 32ull << 20;
  GroupGuard guard;
  auto g = Cgroup::Create(GroupName("oom"), {limit, 0, 0});
  ASSERT_TRUE(g.ok()) << g.error().message;
  guard.g = *g;
  EXPECT_FALSE(g->OomKilled());
  pid_t pid = ForkIntoGroup(*g, -1, [](int) {
    const size_t size = 256ull << 20;  // 8x the limit
    void* m = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) _exit(96);
    volatile char* c = static_cast<volatile char*>(m);
    for (size_t i = 0; i < size; i += 4096) c[i] = 1;
    _exit(0);  // survived: the limit did not hold
  });
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  EXPECT_TRUE(g->OomKilled());
  uint64_t peak = g->MemoryPeakBytes();
  EXPECT_GT(peak, limit / 2);
  EXPECT_LE(peak, limit + (1ull << 20));
}

TEST(Cgroup, ForkBombStopsAtPidsMax) {
  TestParent parent;
  if (!parent.skip.empty()) GTEST_SKIP() << parent.skip;
  if (!parent.support.pids) GTEST_SKIP() << "no pids controller: " << parent.support.detail;
  const uint64_t max = 8;
  GroupGuard guard;
  auto g = Cgroup::Create(GroupName("forkbomb"), {0, 0, max});
  ASSERT_TRUE(g.ok()) << g.error().message;
  guard.g = *g;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ForkIntoGroup(*g, p[1], [](int w) {
    int forks = 0, err = 0;
    for (int i = 0; i < 64; ++i) {
      pid_t c = ::fork();
      if (c == 0)
        for (;;) ::pause();
      if (c < 0) {
        err = errno;
        break;
      }
      ++forks;
    }
    int report[2] = {forks, err};
    (void)!::write(w, report, sizeof report);
    for (;;) ::pause();
  });
  ASSERT_GT(pid, 0);
  ::close(p[1]);
  int report[2] = {0, 0};
  ASSERT_EQ(::read(p[0], report, sizeof report), static_cast<ssize_t>(sizeof report));
  ::close(p[0]);
  EXPECT_EQ(report[0], static_cast<int>(max) - 1) << "the child itself counts";
  EXPECT_EQ(report[1], EAGAIN);
  EXPECT_EQ(g->Pids().size(), max);

  g->KillAll();
  EXPECT_TRUE(g->Pids().empty());
  EXPECT_EQ(g->Enforced()["pids_max"], max) << "KillAll puts pids.max back";
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  Status st = g->Remove();
  ASSERT_TRUE(st.ok()) << st.error().message;
  for (const auto& [ctrl, dir] : g->paths()) EXPECT_FALSE(fs::exists(dir)) << dir;
  guard.g.reset();
}

TEST(Cgroup, CpuQuotaThrottlesASpinningChild) {
  TestParent parent;
  if (!parent.skip.empty()) GTEST_SKIP() << parent.skip;
  if (!parent.support.cpu) GTEST_SKIP() << "no cpu controller: " << parent.support.detail;
  GroupGuard guard;
  auto g = Cgroup::Create(GroupName("cpu"), {0, 200, 0});  // a fifth of a CPU
  ASSERT_TRUE(g.ok()) << g.error().message;
  guard.g = *g;
  auto now_ms = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
  };
  const double start = now_ms();
  pid_t pid = ForkIntoGroup(*g, -1, [&](int) {
    timespec ts{};
    for (;;) {  // spin for 600 ms of wall time
      ::clock_gettime(CLOCK_MONOTONIC, &ts);
      if (ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6 - start > 600) break;
    }
  });
  ASSERT_GT(pid, 0);
  int status = 0;
  rusage ru{};
  ASSERT_EQ(::wait4(pid, &status, 0, &ru), pid);
  const double wall = now_ms() - start;
  const double cpu = ru.ru_utime.tv_sec * 1000.0 + ru.ru_utime.tv_usec / 1000.0 + ru.ru_stime.tv_sec * 1000.0 +
                     ru.ru_stime.tv_usec / 1000.0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_GT(cpu, 0.0);
  EXPECT_LT(cpu, 0.4 * wall) << "cpu " << cpu << " ms in " << wall << " ms at 200 millicores";
}

}  // namespace
}  // namespace depai::provider
