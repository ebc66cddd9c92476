// The sandbox's system-call filter: built once with libseccomp, exported as classic BPF, handed out
// as a sealed memfd per call. See seccomp.h for what is denied and why.
#include "provider/seccomp.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>

namespace depai::provider {
namespace {

Error Err(uint32_t code, const std::string& msg) { return Error{"sandbox", code, msg}; }
std::string ErrnoText(int e) { return std::strerror(e); }

// Denied outright with EPERM. Names the native ABI lacks are skipped (and left out of the list).
constexpr std::string_view kAlwaysDenied[] = {
    // mounts, the new mount API, the root
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    // other processes' memory and state
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    // the kernel itself
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "syslog",
    "quotactl",
    "quotactl_fd",
    "lookup_dcookie",
    "nfsservctl",
    "uselib",
    "_sysctl",
    "vhangup",
    // keyrings (not namespaced)
    "keyctl",
    "add_key",
    "request_key",
    // observation and fault handling
    "perf_event_open",
    "userfaultfd",
    // namespaces of other processes
    "setns",
    // file handles (open_by_handle_at escapes bind mounts)
    "open_by_handle_at",
    "name_to_handle_at",
    // raw I/O ports, old x86 modes
    "iopl",
    "ioperm",
    "vm86",
    "vm86old",
    // clocks
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "clock_adjtime",
    "clock_adjtime64",
    "adjtimex",
    // io_uring: a large attack surface whose operations bypass this filter
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
};

// Namespace flags refused in clone (CLONE_NEWTIME is 0x80, inside clone's exit-signal byte, so it
// is only possible through clone3 and unshare) and in unshare.
constexpr uint64_t kCloneNamespaceFlags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// clone's flags are its first argument, except on the CLONE_BACKWARDS2 architectures.
#if defined(__s390__) || defined(__s390x__)
constexpr unsigned kCloneFlagsArg = 1;
#else
constexpr unsigned kCloneFlagsArg = 0;
#endif

constexpr uint64_t kLow32 = 0xffffffffULL;

struct Program {
  std::string bpf;  // the exported program (sock_filter array)
  std::vector<std::string> denied;
  Error error;
  bool ok = false;
};

// RAII for the libseccomp context.
struct Ctx {
  scmp_filter_ctx c = nullptr;
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};

// (arg & mask) == value; the only comparison used (libseccomp allows one per argument and rule).
scmp_arg_cmp MaskedEq(unsigned arg, uint64_t mask, uint64_t value) { return {arg, SCMP_CMP_MASKED_EQ, mask, value}; }

Status AddRule(scmp_filter_ctx c, uint32_t action, int nr, const char* what, std::initializer_list<scmp_arg_cmp> cmps) {
  int rc = seccomp_rule_add_array(c, action, nr, static_cast<unsigned>(cmps.size()), cmps.begin());
  if (rc < 0) return Err(1, std::string("seccomp: cannot add the rule for ") + what + ": " + ErrnoText(-rc));
  return {};
}

Status Build(Program& p) {
  Ctx ctx;
  ctx.c = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx.c) return Err(1, "seccomp: seccomp_init failed (libseccomp unusable?)");
  // Another ABI (int 0x80 on x86_64, x32) would see other numbers: kill instead of filtering.
  if (seccomp_attr_set(ctx.c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0) {
    int rc = seccomp_attr_set(ctx.c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL);  // kernels before 4.14
    if (rc < 0) return Err(1, "seccomp: cannot set the bad-architecture action: " + ErrnoText(-rc));
  }
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);

  for (std::string_view name : kAlwaysDenied) {
    std::string n(name);
    int nr = seccomp_syscall_resolve_name(n.c_str());
    if (nr < 0) continue;  // not a system call of this architecture
    DEPAI_TRY(AddRule(ctx.c, eperm, nr, n.c_str(), {}));
    p.denied.push_back(n);
  }

  // clone with a namespace flag: one rule per flag (rules of one syscall are OR-ed).
  for (uint64_t f : kCloneNamespaceFlags)
    DEPAI_TRY(AddRule(ctx.c, eperm, SCMP_SYS(clone), "clone", {MaskedEq(kCloneFlagsArg, f, f)}));
  p.denied.emplace_back("clone");
  // clone3's flags are behind a pointer: refuse the call itself so libc falls back to clone.
  int clone3 = seccomp_syscall_resolve_name("clone3");
  if (clone3 >= 0) {
    DEPAI_TRY(AddRule(ctx.c, SCMP_ACT_ERRNO(ENOSYS), clone3, "clone3", {}));
    p.denied.emplace_back("clone3");
  }
  // unshare with a namespace flag (unshare(CLONE_FS|CLONE_FILES|CLONE_SYSVSEM) stays allowed).
  for (uint64_t f : kCloneNamespaceFlags)
    DEPAI_TRY(AddRule(ctx.c, eperm, SCMP_SYS(unshare), "unshare", {MaskedEq(0, f, f)}));
  DEPAI_TRY(AddRule(ctx.c, eperm, SCMP_SYS(unshare), "unshare", {MaskedEq(0, CLONE_NEWTIME, CLONE_NEWTIME)}));
  p.denied.emplace_back("unshare");

  // ioctl's request is an unsigned int in the kernel: compare the low 32 bits only.
  for (uint64_t req : {uint64_t{TIOCSTI}, uint64_t{TIOCLINUX}})
    DEPAI_TRY(AddRule(ctx.c, eperm, SCMP_SYS(ioctl), "ioctl", {MaskedEq(1, kLow32, req)}));
  p.denied.emplace_back("ioctl");

  // personality(x) with the low 32 bits x other than 0 and 0xffffffff. libseccomp takes one
  // comparison per argument, so "not all bits equal" is written as the union over i of
  // "bit i set and bit i+1 (mod 32) clear": any 32-bit value that is neither all zeros nor all
  // ones has such a pair somewhere around the cycle, and 0 / 0xffffffff have none.
  for (unsigned i = 0; i < 32; ++i) {
    uint64_t set = uint64_t{1} << i, clear = uint64_t{1} << ((i + 1) % 32);
    DEPAI_TRY(AddRule(ctx.c, eperm, SCMP_SYS(personality), "personality", {MaskedEq(0, set | clear, set)}));
  }
  p.denied.emplace_back("personality");

  // Export through a temporary memfd (libseccomp 2.5 only writes to an fd).
  int fd = ::memfd_create("depai-seccomp-build", MFD_CLOEXEC);
  if (fd < 0) return Err(2, "seccomp: memfd_create failed: " + ErrnoText(errno));
  int rc = seccomp_export_bpf(ctx.c, fd);
  if (rc < 0) {
    ::close(fd);
    return Err(2, "seccomp: seccomp_export_bpf failed: " + ErrnoText(-rc));
  }
  off_t size = ::lseek(fd, 0, SEEK_END);
  std::string bpf(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  ssize_t got = size > 0 ? ::pread(fd, bpf.data(), bpf.size(), 0) : -1;
  int e = errno;
  ::close(fd);
  if (got != size || size % 8 != 0)
    return Err(2, "seccomp: cannot read back the exported program (" + std::to_string(size) +
                      " bytes): " + ErrnoText(got < 0 ? e : EIO));
  p.bpf = std::move(bpf);
  return {};
}

const Program& TheProgram() {
  static const Program program = [] {
    Program p;
    Status st = Build(p);
    p.ok = st.ok();
    if (!st.ok()) p.error = st.error();
    return p;
  }();
  return program;
}

}  // namespace

Result<int> SeccompBpfFd() {
  const Program& p = TheProgram();
  if (!p.ok) return p.error;
  int fd = ::memfd_create("depai-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Err(2, "seccomp: memfd_create failed: " + ErrnoText(errno));
  size_t off = 0;
  while (off < p.bpf.size()) {
    ssize_t n = ::write(fd, p.bpf.data() + off, p.bpf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return Err(2, "seccomp: cannot write the program to the memfd: " + ErrnoText(e));
    }
    off += static_cast<size_t>(n);
  }
  // Nobody (the workload included, should the fd leak) can change the program afterwards.
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0 ||
      ::lseek(fd, 0, SEEK_SET) != 0) {
    int e = errno;
    ::close(fd);
    return Err(2, "seccomp: cannot seal or rewind the program memfd: " + ErrnoText(e));
  }
  return fd;
}

const std::vector<std::string>& SeccompDeniedSyscalls() { return TheProgram().denied; }

}  // namespace depai::provider
