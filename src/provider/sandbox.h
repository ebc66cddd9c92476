// The workload sandbox: how the provider daemon confines a buyer's service. See the "Sandbox"
// section of doc/provider-operations.md for the threat model.
//
// Every service runs under bubblewrap (`bwrap`, Debian's package) in new user, pid, mount, network,
// ipc, uts and cgroup namespaces, as uid/gid 1000 inside. When the daemon runs as root, the host
// side of that uid is a per-lease unprivileged uid (uid_base + lease % uid_range), so even a file
// that leaked into view is checked against a uid that owns nothing. Its filesystem:
//   exec: the host's /usr (and the /bin, /lib*, /sbin links) read-only, a few read-only files of
//         /etc (ld.so.cache, alternatives, ssl certificates, localtime) and synthetic passwd, group,
//         hosts (and resolv.conf with egress); oci: the image's unpacked root, read-only;
//   both: the lease's work directory at /work (the only writable place, bound by fd), a private
//         size-limited /tmp, its own /proc, a minimal /dev (null, zero, random, urandom, tty,
//         pts, shm) plus exactly the GPU device nodes the lease was given.
// Nothing of the daemon's home, keyring, state, other leases or the host's /proc is mounted. A
// seccomp filter (seccomp.h) denies the dangerous system calls; no capabilities are kept; further
// user namespaces are disabled. The network namespace has only its own loopback: the provider's
// loopback services (the chain API, RPC, this endpoint) are unreachable, and an exposed port is
// reached by the daemon entering the namespace (ConnectInNetns).
//
// Pure functions, except ProbeHost (runs a probe sandbox) and ConnectInNetns (forks); thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "provider/cgroup.h"
#include "util/result.h"
#include "util/safe_path.h"

namespace depai::provider {

struct SandboxConfig {
  std::string mode = "bwrap";  // "bwrap" (refuse to start if it cannot) or "none" (unconfined; warns)
  std::string bwrap = "bwrap";
  uint32_t uid_base = 200000;  // root daemons: the host uid of lease L is uid_base + L % uid_range
  uint32_t uid_range = 65536;
  bool cgroups = true;          // memory, cpu quota and pids limits when the host allows them
  uint64_t pids_max = 512;      // per service: cgroup pids.max and, for root daemons, RLIMIT_NPROC
  uint64_t tmp_size_mib = 256;  // the private /tmp (tmpfs; counts against the memory limit)
  bool allow_egress = false;    // outbound network for specs that ask for it (slirp4netns)
  std::string slirp4netns = "slirp4netns";
  std::string dev_dir = "/dev";       // where nvidia<i>, nvidiactl, nvidia-uvm are
  std::vector<std::string> gpu_libs;  // driver files bound into images (default: found)
  std::string skopeo = "skopeo";      // registry pulls of OCI images
  // Host directories from which `oci:`, `oci-archive:` and `docker-archive:` images may be read.
  // Empty (the default): buyers may name registry images only, never a path on this host.
  std::vector<std::string> image_dirs;
  uint64_t max_image_mib = 10240;  // an image's unpacked size (and its download) may not exceed this
  // Where a root daemon keeps the leases' directories and the image cache. bwrap runs as the
  // lease's uid and reaches the work directory by path, so every directory above this one must be
  // searchable by others (a home like /root is not). Default for root daemons:
  // /var/lib/depai/provider-<12 hex of the home's path>; otherwise <home>/provider.
  std::string state_dir;
  nlohmann::json to_json() const;
};

// What this host can enforce, probed for real (a `bwrap ... /bin/true` run, a seccomp filter load,
// a cgroup created and removed). Reported by /health, `depai provider doctor` and lease status.
struct HostSupport {
  std::string mode;  // the configured mode
  bool root = false;
  std::string bwrap_path, bwrap_version;
  bool bwrap = false;  // a probe sandbox ran with every namespace
  std::string bwrap_error;
  bool seccomp = false;
  std::string seccomp_error;
  bool openat2 = false;
  CgroupSupport cgroups;
  bool skopeo = false;
  bool slirp4netns = false;
  std::vector<std::string> gpu_devices;  // /dev/nvidia<i> found under dev_dir
  bool can_sandbox() const { return bwrap && seccomp; }
  nlohmann::json to_json() const;
  std::string Text() const;  // the doctor's report, one line per item
};
HostSupport ProbeHost(const SandboxConfig& cfg);

// The file descriptors the forked child arranges (dup2) before it execs the shim and bwrap.
inline constexpr int kFdExitStatus = 3;  // the shim writes the exit status here (outside the sandbox)
inline constexpr int kFdSeccomp = 4;     // the BPF program
inline constexpr int kFdWork = 5;        // the lease's work directory (O_PATH)
inline constexpr int kFdRootfs = 6;      // the image root (oci only)
inline constexpr int kFdPasswd = 7;      // synthetic /etc/passwd, group, hosts (exec only; memfds)
inline constexpr int kFdGroup = 8;
inline constexpr int kFdHosts = 9;
inline constexpr int kFdBlock = 10;   // egress: bwrap waits on it until the network is configured
inline constexpr int kFdResolv = 11;  // egress, exec: /etc/resolv.conf (slirp4netns' DNS at 10.0.2.3)
inline constexpr int kFdLast = 11;

// One service's run, as the runtime resolved it.
struct Launch {
  uint64_t lease_id = 0;
  std::string service;
  bool image = false;                 // oci: the root is kFdRootfs
  std::vector<std::string> argv;      // resolved inside the sandbox (absolute argv[0])
  std::vector<std::string> env;       // "K=V", the whole environment
  std::string cwd = "/work";          // inside
  std::vector<uint32_t> gpus;         // host indices of /dev/nvidia<i>
  std::vector<std::string> gpu_libs;  // host files bound at /usr/local/nvidia/lib64/<name> (oci)
  bool egress = false;
  uint64_t tmp_bytes = 256ull << 20;
};

// The argv of the bwrap command line for `l` (without the shim), ending in "--" + l.argv.
std::vector<std::string> BwrapArgv(const SandboxConfig& cfg, const Launch& l);
// Host uid for a lease when the daemon is root (0 when not root: keep the daemon's uid).
uint32_t LeaseUid(const SandboxConfig& cfg, uint64_t lease_id);
// Host paths of the device nodes a GPU lease gets: nvidia<i> for each index, then nvidiactl,
// nvidia-uvm, nvidia-uvm-tools and nvidia-modeset when present under dev_dir. Error (code 20) when
// an assigned /dev/nvidia<i> is missing.
Result<std::vector<std::string>> GpuDeviceNodes(const std::string& dev_dir, const std::vector<uint32_t>& gpus);
// "0,1,..." for n devices: inside the sandbox the assigned GPUs are the only ones CUDA can open,
// so they are numbered from 0.
std::string CudaVisibleDevices(size_t n);
// Driver libraries (libcuda, libnvidia-*, libnvidia-ml) found in the host's library directories.
std::vector<std::string> FindGpuLibs();
// Directories and files an image root needs as mount points (proc, dev, tmp, work, and the GPU
// library files); made in the cached root by the daemon (root-owned, empty).
Status PrepareImageRoot(const std::string& rootfs, const std::vector<std::string>& gpu_libs, bool resolv_conf = false);

// Outbound network for a sandbox (egress): slirp4netns, user-mode TCP/IP, attached to the network
// namespace of `pid` as tap0 (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3), with the host's
// loopback NOT reachable through the gateway (--disable-host-loopback). It joins the user namespace
// that owns the network namespace (NS_GET_USERNS) and `procs_fds`' cgroup, so it lives and dies
// with the service. Waits until the network is configured. Returns its process group. Error code 32.
Result<pid_t> StartEgress(const SandboxConfig& cfg, pid_t pid, const std::vector<int>& procs_fds,
                          const std::string& log_path, int timeout_ms);

// A TCP connection to 127.0.0.1:port inside the network namespace of process `pid` (a process of
// the sandbox). A forked child enters the namespace (setns; the user namespace first when needed),
// connects with a timeout and passes the socket back. Error codes: 30 no namespace, 31 refused.
Result<UniqueFd> ConnectInNetns(pid_t pid, uint16_t port, int timeout_ms);
// The first process at or below `pid` (by /proc/<pid>/task/*/children) whose network namespace is
// not the daemon's: the sandbox's. 0 when none.
pid_t SandboxedDescendant(pid_t pid);

// A memfd holding `content`, positioned at 0, without O_CLOEXEC cleared (the child dup2s it).
Result<UniqueFd> MemFile(const std::string& name, const std::string& content);

}  // namespace depai::provider
