// Control groups for workloads: a memory, CPU and process-count ceiling per service, enforced by
// the kernel for the workload and everything it forks (setrlimit only limits one process).
//
// Works on cgroup v2 (a cgroup2 mount whose controllers are enabled down to the parent) and on v1
// (one mount per controller, /sys/fs/cgroup/<controller>); on a hybrid host each controller is
// taken from whichever hierarchy has it. Mounts come from /proc/self/mountinfo (the mount's root
// matters inside containers), the daemon's own group from /proc/self/cgroup. Every group lives
// under <daemon's own group>/<parent name> ("depai" unless SetParentName says otherwise), so the
// workloads stay inside whatever limits the host gave the daemon:
//   v1: /sys/fs/cgroup/memory/<own>/depai/lease-7-web, .../cpu/<own>/depai/lease-7-web, ...
//   v2: /sys/fs/cgroup/<own>/depai/lease-7-web (memory, cpu, pids enabled in depai's subtree_control)
// Limits: memory (v1 memory.limit_in_bytes and, when the host accounts swap, the same value in
// memory.memsw.limit_in_bytes so swap cannot stretch it; v2 memory.max, memory.swap.max=0 and
// memory.oom.group=1), CPU (a CFS quota of millicores*100 us per 100 ms period) and pids.max.
// A process enters a group by writing "0" to the group's cgroup.procs files (OpenProcsFds), which
// a forked child does before exec, so nothing of the workload ever runs outside.
//
// Thread-safety: every function may be called from any thread; a Cgroup holds only paths (no fds,
// no threads), and the kernel serializes the file operations. Errors: codespace "sandbox".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace depai::provider {

struct CgroupLimits {
  uint64_t memory_bytes = 0;    // 0 = not limited
  uint64_t cpu_millicores = 0;  // 1000 = one CPU; 0 = not limited; below 10 is raised to 10 (1 ms/period)
  uint64_t pids_max = 0;        // processes + threads; 0 = not limited
};

struct CgroupSupport {
  std::string version;  // "v2", "v1" or "none" ("v1" also when a hybrid host mixes both)
  bool memory = false, cpu = false, pids = false;
  std::string detail;              // why something is missing, e.g. "pids: /sys/fs/cgroup/pids not writable"
  nlohmann::json to_json() const;  // {"version","memory","cpu","pids","detail"}
};

class Cgroup {
 public:
  // What this host lets us enforce, tried for real: for each controller it creates a probe group
  // under the parent, writes a limit, moves a forked child into it, and removes it again.
  static CgroupSupport Probe();
  // Creates (or reopens, for adoption after a daemon restart) the group `name` (letters, digits,
  // '.', '_', '-'; e.g. "lease-7-web") in every usable controller and writes the limits. A limit
  // of 0 is not written (unlimited on a new group, unchanged on a reopened one). A controller
  // whose directory cannot be created is left out (Enforced() shows what holds); it is an error
  // when no controller is usable or a limit cannot be written (a new group is then removed).
  static Result<Cgroup> Create(const std::string& name, const CgroupLimits& limits);
  // An existing group: every controller where the directory exists; no limits written.
  static Result<Cgroup> Open(const std::string& name);

  // O_WRONLY|O_CLOEXEC fds of the cgroup.procs of every directory of the group (one per
  // hierarchy), owned by the caller. Empty when any of them cannot be opened (a Cgroup always has
  // a directory, so empty means failure). In the forked child call JoinProcsFds(fds) before exec;
  // close the fds in the parent after fork.
  std::vector<int> OpenProcsFds() const;
  // For a forked child (async-signal-safe: only write(2)): moves the calling process into the
  // group by writing "0" to each fd. Returns 0, or the errno of the first write that failed.
  static int JoinProcsFds(const std::vector<int>& fds);

  std::vector<pid_t> Pids() const;  // every process in the group and its subgroups (union, sorted)
  // SIGKILL to every process, repeated until the group is empty (bounded, ~2 s). New forks are
  // stopped meanwhile (cgroup.kill on v2; pids.max=0 on v1, put back afterwards); each process is
  // signalled through a pidfd checked to be still in the group, so a recycled pid is never hit.
  void KillAll();
  Status Remove();                   // rmdir in every controller, subgroups first (after KillAll); gone already is fine
  bool OomKilled() const;            // memory.oom_control oom_kill > 0 / memory.events oom_kill > 0
  uint64_t MemoryPeakBytes() const;  // memory.max_usage_in_bytes / memory.peak, 0 if unknown
  // What the kernel holds now (read back from the files; 0 = not limited or no controller):
  // {"memory_bytes":..,"swap_limited":bool,"cpu_millicores":..,"pids_max":..,"version":..}
  nlohmann::json Enforced() const;

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }  // "v1" or "v2" (as CgroupSupport)
  // controller ("memory", "cpu", "pids") -> absolute directory of this group.
  const std::map<std::string, std::string>& paths() const { return paths_; }

  // The directory under the daemon's own group that holds every workload group ("depai" by
  // default; one component of letters, digits, '.', '_', '-'). Lets two daemons in one cgroup,
  // or tests, keep apart. Returns false (and changes nothing) for an invalid name.
  static bool SetParentName(const std::string& name);
  static std::string ParentName();
  // rmdir of the parent directory in every controller; fine when it is already gone. Fails while
  // a group is still in it.
  static Status RemoveParent();

 private:
  std::string name_, version_;
  std::map<std::string, std::string> paths_;  // per controller
  std::vector<std::string> dirs_;             // distinct directories (co-mounted controllers share one)
  std::map<std::string, bool> v2_;            // per directory
};

}  // namespace depai::provider
