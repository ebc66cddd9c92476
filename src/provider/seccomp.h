// The system-call filter of the workload sandbox (passed to bubblewrap as `--seccomp FD`).
//
// A denylist over a default-allow filter, in the spirit of container engines' default profiles:
//   - the listed system calls fail with EPERM (mounts and the new mount API, ptrace and the
//     cross-process memory calls, keyrings, bpf, kernel modules, kexec, reboot, swap, clocks,
//     io_uring, handles, perf, userfaultfd, setns, ...);
//   - clone and unshare fail with EPERM only when they ask for a new namespace (CLONE_NEW*), so
//     fork, threads and unshare(CLONE_FS) keep working; clone3 fails with ENOSYS, since its flags
//     live in memory a filter cannot read: libc then falls back to clone, which is filtered;
//   - ioctl TIOCSTI / TIOCLINUX (terminal input injection) and personality() other than 0 (reset)
//     and 0xffffffff (query) fail with EPERM; both compare only the low 32 bits, as the kernel does,
//     so junk in the upper half of the register cannot slip past the filter;
//   - a system call from a non-native ABI (i386 via int 0x80, x32) kills the process.
// The program is built once with libseccomp and exported as classic BPF (seccomp_export_bpf).
//
// Thread-safety: both functions may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace depai::provider {

// A new readable fd (a sealed memfd, O_CLOEXEC, offset 0) holding the BPF program as
// `bwrap --seccomp FD` reads it. The caller owns the fd; dup2 it (without O_CLOEXEC) into the
// child that execs bwrap. Errors: codespace "sandbox".
Result<int> SeccompBpfFd();

// Every system call the filter denies on this architecture, including the conditional ones
// (clone, unshare, ioctl, personality) and clone3 (ENOSYS); names the native architecture does not
// have (e.g. "umount", "vm86" on x86_64) are left out. For docs, `doctor` and tests.
const std::vector<std::string>& SeccompDeniedSyscalls();

}  // namespace depai::provider
