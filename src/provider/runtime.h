// Workload runtimes of the provider daemon. See doc/provider-operations.md.
//
// A Runtime runs the services of a lease's manifest and answers for them: start, stop, status,
// logs, artifacts and connections to exposed ports. ExecRuntime runs both `exec` services (a
// program on the host's read-only /usr) and `oci` services (an image's entrypoint on the image's
// root, fetched and unpacked by ImageStore). Each service runs as a child process
//   - in the sandbox (sandbox.h: bubblewrap namespaces, seccomp, a per-lease uid, cgroup limits)
//     unless the provider's config says sandbox mode "none";
//   - in its own session/process group (setsid) and cgroup, so everything it started can be killed;
//   - with <root>/<lease>/<service>/work as /work, its only writable place, where the manifest's
//     files are written (beneath it, never through a link) before the start;
//   - under setrlimit: RLIMIT_CPU, RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_FSIZE, RLIMIT_NPROC (per-lease
//     uid), RLIMIT_CORE=0, and no-new-privileges;
//   - with an environment made only of the image's env, the manifest's env, PATH and HOME=/work;
//   - with stdout and stderr appended to <root>/<lease>/<service>/stdout.log and stderr.log.
// The sandbox runs under `/bin/sh -c` as a tiny shim outside it that records its exit status
// through an inherited fd (`exit_status`), so a workload that outlives a provider restart still
// reports how it ended. A wall-clock timeout kills the process group and the cgroup. When a run
// ends, every process of the service is killed, then the declared artifacts are copied out of the
// work directory (beneath it, regular files with one link only) into <service>/artifacts, hashed
// there (SHA-256) and served only from there. Restart policies: never; on-failure (a non-zero exit
// or a kill restarts it, up to max_restarts times); always (a long-running service: restarted
// whenever it ends, with backoff).
// Each service's record is persisted as JSON (<root>/<lease>/<service>/status.json, atomic
// writes); a new ExecRuntime over the same root adopts processes still running and restarts
// long-running services that died meanwhile.
//
// Thread-safety: every ExecRuntime method may be called from any thread. Poll() does the
// supervision (reaping, timeouts, restarts, hashing); call it periodically (the daemon calls it
// every 100-500 ms) — or use StartMonitor() to run it on a background thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/deploy_spec.h"
#include "provider/oci.h"
#include "provider/sandbox.h"
#include "util/result.h"

namespace depai::provider {

struct Limits {
  uint64_t cpu_seconds = 0;      // RLIMIT_CPU; 0 = unlimited
  uint64_t memory_bytes = 0;     // RLIMIT_AS; 0 = unlimited
  uint64_t open_files = 256;     // RLIMIT_NOFILE
  uint64_t file_size_bytes = 0;  // RLIMIT_FSIZE; 0 = unlimited
  uint32_t max_restarts = 5;     // on-failure / always: consecutive failed runs before giving up
  int64_t restart_backoff_ms = 1000;
  uint64_t cpu_millicores = 0;  // cgroup CPU quota; 0 = none
  std::vector<uint32_t> gpus;   // host GPU indices the lease holds (/dev/nvidia<i>)
};

struct Artifact {
  std::string name;
  bool present = false;
  uint64_t size = 0;
  std::string sha256;  // lower hex
  std::string error;   // why a file the workload left was refused (a link, several hard links, ...)
};

enum class RunState {
  kRunning,    // a run is in progress (or waiting for a restart)
  kSucceeded,  // a batch run ended with exit code 0 (restart never/on-failure)
  kFailed,     // ended badly and no restart is left (or the start itself failed)
  kStopped,    // stopped by Stop()
};
std::string RunStateName(RunState s);

struct ServiceStatus {
  std::string service;
  RunState state = RunState::kRunning;
  pid_t pid = 0;  // 0 when no process runs
  int64_t started_ms = 0, finished_ms = 0;
  std::optional<int> exit_code;    // last run's exit code
  std::optional<int> term_signal;  // last run's signal, if killed
  bool timed_out = false;          // last run hit the wall-clock timeout
  uint32_t restarts = 0;           // runs after the first
  uint32_t consecutive_failures = 0;
  std::string error;  // why the start failed / why it gave up
  std::vector<Artifact> artifacts;
  std::vector<uint16_t> expose;  // ports reachable through the provider endpoint
  nlohmann::json sandbox;        // what is enforced on this service (mode, uid, cgroup, seccomp, ...)
  bool oom_killed = false;       // the memory limit killed a process of the last run
};

struct LeaseStatus {
  uint64_t lease_id = 0;
  std::vector<ServiceStatus> services;
  // Aggregate: running if any runs; failed if any failed; succeeded if all succeeded; else stopped.
  RunState state = RunState::kRunning;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual std::string name() const = 0;
  // Starts every service of `m` for `lease_id`. Fails (and starts nothing) when the lease already
  // runs, a program cannot be found, or the working directory cannot be made.
  virtual Status Start(uint64_t lease_id, const client::Manifest& m, const Limits& limits) = 0;
  // Kills every process of the lease (SIGTERM, then SIGKILL after `grace_ms`). Files are kept.
  virtual Status Stop(uint64_t lease_id, int64_t grace_ms = 2000) = 0;
  virtual std::optional<LeaseStatus> GetStatus(uint64_t lease_id) = 0;
  // Path of a service's log ("stdout" or "stderr"); empty when unknown.
  virtual std::string LogPath(uint64_t lease_id, const std::string& service, const std::string& stream) = 0;
  // Declared artifacts (hashed after the last run ended) and the path of one to serve.
  virtual std::vector<Artifact> Artifacts(uint64_t lease_id) = 0;
  virtual std::string ArtifactPath(uint64_t lease_id, const std::string& name) = 0;
  virtual std::vector<uint64_t> Leases() = 0;
  // A connection to an exposed port of a running service (inside its network namespace).
  virtual Result<UniqueFd> Connect(uint64_t lease_id, const std::string& service, uint16_t port) = 0;
};

class ExecRuntime : public Runtime {
 public:
  // Creates root; loads and adopts what it holds. `images` (may be null: no oci services) is used
  // for `runtime: oci`.
  explicit ExecRuntime(std::string root, SandboxConfig sandbox = {}, ImageStore* images = nullptr);
  ~ExecRuntime() override;
  std::string name() const override { return "exec"; }
  Status Start(uint64_t lease_id, const client::Manifest& m, const Limits& limits) override;
  Status Stop(uint64_t lease_id, int64_t grace_ms = 2000) override;
  std::optional<LeaseStatus> GetStatus(uint64_t lease_id) override;
  std::string LogPath(uint64_t lease_id, const std::string& service, const std::string& stream) override;
  std::vector<Artifact> Artifacts(uint64_t lease_id) override;
  std::string ArtifactPath(uint64_t lease_id, const std::string& name) override;
  std::vector<uint64_t> Leases() override;
  Result<UniqueFd> Connect(uint64_t lease_id, const std::string& service, uint16_t port) override;
  const SandboxConfig& sandbox() const { return sandbox_; }

  void Poll();  // supervise: reap, time out, restart, hash artifacts
  void StartMonitor(int64_t interval_ms = 100);
  void StopMonitor();

  // Looks `program` up in `path` (like execvp); "" when not found.
  static std::string ResolveProgram(const std::string& program, const std::string& path);

 private:
  struct Svc {
    uint64_t lease_id = 0;
    client::ServiceSpec spec;
    Limits limits;
    ServiceStatus st;
    uint64_t proc_start_ticks = 0;  // /proc/<pid>/stat starttime: identifies an adopted process
    bool child = false;             // our child (waitpid) or adopted (poll /proc)
    int64_t restart_at_ms = 0;      // when waiting for a restart
    bool stopping = false;
    Launch launch;       // argv, env, cwd, gpus as resolved at Start
    uint32_t uid = 0;    // host uid (0: the daemon's own)
    std::string rootfs;  // the image root (oci)
    std::string cgroup;  // group name ("" when no cgroup is used)
  };
  std::string Dir(uint64_t lease_id, const std::string& service) const;
  bool Searchable() const;  // the tree must be searchable by lease uids (root daemon, sandbox on)
  Status Spawn(Svc& s);     // mu_ held
  void Finished(Svc& s, int raw_status, bool have_status);  // mu_ held
  void Save(const Svc& s) const;                            // mu_ held
  void Load();
  void CollectArtifacts(Svc& s);  // kill leftovers, copy out, hash the copies
  Result<Launch> Resolve(uint64_t lease_id, const client::ServiceSpec& spec, const Limits& limits, std::string* rootfs);

  std::string root_;
  SandboxConfig sandbox_;
  ImageStore* images_ = nullptr;
  std::mutex mu_;
  std::map<std::pair<uint64_t, std::string>, Svc> svcs_;
  std::thread monitor_;
  std::atomic<bool> monitor_stop_{false};
};

int64_t NowMs();
// True when a docker:// location names a registry on this host's own networks (loopback,
// RFC 1918, link-local, CGNAT, ULA, "localhost"): refused, so a buyer cannot make the provider
// fetch from its own services.
bool RegistryIsLocal(const std::string& location);
// RegistryIsLocal, or a registry name that resolves (DNS, /etc/hosts) to such an address.
bool RegistryResolvesLocal(const std::string& location);

}  // namespace depai::provider
