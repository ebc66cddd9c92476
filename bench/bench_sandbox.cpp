// The sandbox's start-up cost per workload, against a plain fork/exec measured in the same run.
//
// One iteration runs one workload of `/bin/true` to its end:
//   BM_ForkExec (the anchor)  fork, execve /bin/true, waitpid;
//   BM_Bwrap                  the same through bwrap with the sandbox's namespaces, mounts and
//                             seccomp filter (no runtime around it);
//   BM_RuntimeNone            ExecRuntime with sandbox mode "none": shim, directories, status file,
//                             artifacts, supervision (the runtime's own cost);
//   BM_RuntimeSandbox         ExecRuntime with the sandbox: all of the above plus cgroups, the
//                             per-lease uid, the filter, bwrap.
// Each reports `x_fork_exec` = its time / the anchor's time, the anchor re-measured in-process.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "provider/runtime.h"
#include "provider/sandbox.h"
#include "provider/seccomp.h"
#include "util/safe_path.h"

namespace {

using namespace depai;
using namespace depai::provider;
namespace fs = std::filesystem;

double NowUs() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void ForkExecTrue() {
  pid_t p = ::fork();
  if (p == 0) {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* envp[] = {nullptr};
    ::execve("/bin/true", argv, envp);
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(p, &st, 0);
}

double AnchorUs() {
  static double us = [] {
    for (int i = 0; i < 20; ++i) ForkExecTrue();
    double t0 = NowUs();
    for (int i = 0; i < 200; ++i) ForkExecTrue();
    return (NowUs() - t0) / 200;
  }();
  return us;
}

void Report(benchmark::State& state, double total_us) {
  double per = total_us / static_cast<double>(state.iterations());
  state.counters["us_per_workload"] = per;
  state.counters["fork_exec_us"] = AnchorUs();
  state.counters["x_fork_exec"] = per / AnchorUs();
}

void BM_ForkExec(benchmark::State& state) {
  double total = 0;
  for (auto _ : state) {
    double t0 = NowUs();
    ForkExecTrue();
    total += NowUs() - t0;
  }
  Report(state, total);
}
BENCHMARK(BM_ForkExec)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Bwrap(benchmark::State& state) {
  std::string dir = (fs::temp_directory_path() / ("depai-bench-bwrap-" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  SandboxConfig cfg;
  Launch l;
  l.argv = {"/bin/true"};
  l.env = {"PATH=/usr/bin:/bin"};
  auto args = BwrapArgv(cfg, l);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  double total = 0;
  for (auto _ : state) {
    double t0 = NowUs();
    auto bpf = SeccompBpfFd();
    auto m1 = MemFile("p", "workload:x:1000:1000::/work:/bin/sh\n");
    auto m2 = MemFile("g", "workload:x:1000:\n");
    auto m3 = MemFile("h", "127.0.0.1 localhost\n");
    int work = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!bpf.ok() || !m1.ok() || work < 0) {
      state.SkipWithError("cannot prepare the sandbox");
      break;
    }
    int src[5] = {bpf.value(), work, m1->get(), m2->get(), m3->get()};
    int dst[5] = {kFdSeccomp, kFdWork, kFdPasswd, kFdGroup, kFdHosts};
    pid_t p = ::fork();
    if (p == 0) {
      int tmp[5];
      for (int i = 0; i < 5; ++i) tmp[i] = ::fcntl(src[i], F_DUPFD, 20);
      for (int i = 0; i < 5; ++i) ::dup2(tmp[i], dst[i]);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 1), ::dup2(null, 2);
      char* envp[] = {nullptr};
      ::execve(argv[0], argv.data(), envp);
      ::_exit(127);
    }
    int st = 0;
    ::waitpid(p, &st, 0);
    ::close(bpf.value());
    ::close(work);
    total += NowUs() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      state.SkipWithError("bwrap failed");
      break;
    }
  }
  Report(state, total);
  fs::remove_all(dir);
}
BENCHMARK(BM_Bwrap)->UseRealTime()->Unit(benchmark::kMicrosecond);

void RunRuntime(benchmark::State& state, const std::string& mode) {
  std::string root = (fs::temp_directory_path() / ("depai-bench-rt-" + mode + std::to_string(::getpid()))).string();
  SandboxConfig cfg;
  cfg.mode = mode;
  ExecRuntime rt(root, cfg);
  client::Manifest m;
  client::ServiceSpec s;
  s.name = "main";
  s.command = {"/bin/true"};
  m.services["main"] = s;
  Limits lim;
  lim.memory_bytes = 512ull << 20;
  lim.cpu_millicores = 1000;
  uint64_t lease = 1;
  double total = 0;
  for (auto _ : state) {
    double t0 = NowUs();
    if (!rt.Start(lease, m, lim).ok()) {
      state.SkipWithError("start failed");
      break;
    }
    for (;;) {
      rt.Poll();
      auto st = rt.GetStatus(lease);
      if (st && st->state != RunState::kRunning) {
        if (st->state != RunState::kSucceeded) state.SkipWithError("the workload failed");
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    total += NowUs() - t0;
    ++lease;
  }
  Report(state, total);
  RemoveTree(root);
}

void BM_RuntimeNone(benchmark::State& state) { RunRuntime(state, "none"); }
BENCHMARK(BM_RuntimeNone)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_RuntimeSandbox(benchmark::State& state) { RunRuntime(state, "bwrap"); }
BENCHMARK(BM_RuntimeSandbox)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
