// The exec runtime with real child processes: exit codes, logs, timeouts, rlimits, artifacts,
// environment isolation, restart policies, stop, and adoption by a new runtime (provider restart).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/hash.h"
#include "provider/runtime.h"
#include "util/safe_path.h"

namespace depai::provider {
namespace {

namespace fs = std::filesystem;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / ("depai-rt-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(root_);
  }
  void TearDown() override {
    if (!getenv("KEEP")) RemoveTree(root_);
  }

  static client::Manifest Sh(const std::string& script, client::RestartPolicy restart = client::RestartPolicy::kNever,
                             uint64_t timeout_s = 60) {
    client::ServiceSpec s;
    s.name = "main";
    s.command = {"sh", "-c", script};
    s.timeout_s = timeout_s;
    s.restart = restart;
    client::Manifest m;
    m.services["main"] = s;
    return m;
  }

  // Polls until the lease is no longer running; returns its status.
  static LeaseStatus WaitDone(ExecRuntime& rt, uint64_t lease, int timeout_ms = 20000) {
    auto deadline = NowMs() + timeout_ms;
    while (NowMs() < deadline) {
      rt.Poll();
      auto st = rt.GetStatus(lease);
      if (st && st->state != RunState::kRunning) return *st;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "lease " << lease << " still running after " << timeout_ms << "ms";
    return rt.GetStatus(lease).value_or(LeaseStatus{});
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string root_;
};

TEST_F(RuntimeTest, ExitCodesAndLogs) {
  ExecRuntime rt(root_);
  ASSERT_TRUE(rt.Start(1, Sh("echo out; echo err >&2; exit 0"), Limits{}).ok());
  ASSERT_TRUE(rt.Start(2, Sh("echo failing; exit 3"), Limits{}).ok());
  auto a = WaitDone(rt, 1);
  EXPECT_EQ(a.state, RunState::kSucceeded);
  ASSERT_EQ(a.services.size(), 1u);
  EXPECT_EQ(a.services[0].exit_code, 0);
  EXPECT_FALSE(a.services[0].term_signal.has_value());
  EXPECT_EQ(Slurp(rt.LogPath(1, "main", "stdout")), "out\n");
  EXPECT_EQ(Slurp(rt.LogPath(1, "main", "stderr")), "err\n");
  auto b = WaitDone(rt, 2);
  EXPECT_EQ(b.state, RunState::kFailed);
  EXPECT_EQ(b.services[0].exit_code, 3);
  EXPECT_EQ(b.services[0].restarts, 0u);  // restart: never
  EXPECT_EQ(rt.LogPath(1, "main", "passwd"), "");
  EXPECT_EQ(rt.LogPath(1, "other", "stdout"), "");
  EXPECT_FALSE(rt.Start(1, Sh("true"), Limits{}).ok());  // already runs
}

TEST_F(RuntimeTest, ManifestFilesAndWorkingDirectory) {
  ExecRuntime rt(root_);
  auto m = Sh("pwd; cat data/input.txt");
  m.services["main"].files["data/input.txt"] = "payload\n";
  ASSERT_TRUE(rt.Start(5, m, Limits{}).ok());
  auto st = WaitDone(rt, 5);
  EXPECT_EQ(st.state, RunState::kSucceeded);
  std::string out = Slurp(rt.LogPath(5, "main", "stdout"));
  EXPECT_NE(out.find("/work\n"), std::string::npos) << out;  // the lease directory, seen from inside
  EXPECT_EQ(out.find(root_), std::string::npos) << out;      // the host path stays hidden
  EXPECT_NE(out.find("payload\n"), std::string::npos);
}

TEST_F(RuntimeTest, UnknownProgramStartsNothing) {
  ExecRuntime rt(root_);
  client::Manifest m;
  m.services["a"].name = "a";
  m.services["a"].command = {"true"};
  m.services["b"].name = "b";
  m.services["b"].command = {"no-such-program-depai"};
  auto st = rt.Start(3, m, Limits{});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("'no-such-program-depai' not found"), std::string::npos) << st.error().message;
  EXPECT_FALSE(rt.GetStatus(3).has_value());
}

TEST_F(RuntimeTest, WallClockTimeoutKillsTheProcessGroup) {
  ExecRuntime rt(root_);
  // A grandchild in the background would outlive a plain kill of the child: the group kill gets it.
  ASSERT_TRUE(
      rt.Start(1, Sh("sleep 61.25 & echo $! > bg.pid; sleep 60", client::RestartPolicy::kNever, 1), Limits{}).ok());
  int64_t t0 = NowMs();
  auto st = WaitDone(rt, 1, 10000);
  int64_t took = NowMs() - t0;
  EXPECT_EQ(st.state, RunState::kFailed);
  EXPECT_TRUE(st.services[0].timed_out);
  EXPECT_EQ(st.services[0].term_signal, SIGKILL);
  EXPECT_GE(took, 900);
  EXPECT_LT(took, 5000);
  // The background sleep's pid (bg.pid) is a pid of the sandbox's own namespace: look for the
  // process by its unusual argument instead. Gone, or a zombie waiting to be reaped.
  ASSERT_FALSE(Slurp(root_ + "/1/main/work/bg.pid").empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string cmd = Slurp(e.path().string() + "/cmdline");
    if (cmd.find("61.25") == std::string::npos || cmd.find("sleep") == std::string::npos) continue;
    std::string st = Slurp(e.path().string() + "/stat");
    EXPECT_NE(st.find(") Z"), std::string::npos) << "still running: " << e.path() << " " << st;
  }
}

TEST_F(RuntimeTest, FileSizeLimitKillsWithSigxfsz) {
  ExecRuntime rt(root_);
  Limits lim;
  lim.file_size_bytes = 64 * 1024;
  ASSERT_TRUE(rt.Start(1, Sh("head -c 1000000 /dev/zero > big.bin"), lim).ok());
  auto st = WaitDone(rt, 1);
  EXPECT_EQ(st.state, RunState::kFailed);
  EXPECT_EQ(st.services[0].term_signal, SIGXFSZ);
  EXPECT_LE(fs::file_size(root_ + "/1/main/work/big.bin"), 64u * 1024);
}

TEST_F(RuntimeTest, CpuLimitKillsWithSigxcpu) {
  ExecRuntime rt(root_);
  Limits lim;
  lim.cpu_seconds = 1;
  ASSERT_TRUE(rt.Start(1, Sh("while :; do :; done", client::RestartPolicy::kNever, 30), lim).ok());
  auto st = WaitDone(rt, 1, 25000);
  EXPECT_EQ(st.state, RunState::kFailed);
  EXPECT_FALSE(st.services[0].timed_out);
  EXPECT_EQ(st.services[0].term_signal, SIGXCPU);
}

TEST_F(RuntimeTest, AddressSpaceLimit) {
  if (ExecRuntime::ResolveProgram("python3", "/usr/local/bin:/usr/bin:/bin").empty()) GTEST_SKIP() << "no python3";
  ExecRuntime rt(root_);
  Limits lim;
  lim.memory_bytes = 256ull << 20;
  client::Manifest m = Sh("");
  m.services["main"].command = {"python3", "-c", "x = bytearray(1024 * 1024 * 1024)"};
  ASSERT_TRUE(rt.Start(1, m, lim).ok());
  auto st = WaitDone(rt, 1);
  EXPECT_EQ(st.state, RunState::kFailed);
  EXPECT_EQ(st.services[0].exit_code, 1);
  EXPECT_NE(Slurp(rt.LogPath(1, "main", "stderr")).find("MemoryError"), std::string::npos);
}

TEST_F(RuntimeTest, OpenFilesLimit) {
  ExecRuntime rt(root_);
  Limits lim;
  lim.open_files = 16;
  ASSERT_TRUE(rt.Start(1, Sh("ulimit -n"), lim).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  EXPECT_EQ(Slurp(rt.LogPath(1, "main", "stdout")), "16\n");
}

TEST_F(RuntimeTest, ArtifactsAreHashedAfterExit) {
  ExecRuntime rt(root_);
  auto m = Sh("printf hello > out.txt; mkdir -p sub; printf '' > sub/empty");
  m.services["main"].artifacts = {"out.txt", "sub/empty", "missing.json"};
  ASSERT_TRUE(rt.Start(1, m, Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  auto arts = rt.Artifacts(1);
  ASSERT_EQ(arts.size(), 3u);
  EXPECT_EQ(arts[0].name, "out.txt");
  EXPECT_TRUE(arts[0].present);
  EXPECT_EQ(arts[0].size, 5u);
  EXPECT_EQ(arts[0].sha256, HexEncode(crypto::Sha256("hello")));
  EXPECT_EQ(arts[0].sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_TRUE(arts[1].present);
  EXPECT_EQ(arts[1].sha256, HexEncode(crypto::Sha256("")));
  EXPECT_FALSE(arts[2].present);
  // Served from a copy made when the run ended, out of the workload's reach: changing the work
  // tree afterwards changes nothing that is served.
  EXPECT_EQ(rt.ArtifactPath(1, "out.txt"), root_ + "/1/main/artifacts/out.txt");
  std::ofstream(root_ + "/1/main/work/out.txt") << "swapped after hashing";
  EXPECT_EQ(Slurp(rt.ArtifactPath(1, "out.txt")), "hello");
  EXPECT_EQ(rt.ArtifactPath(1, "../status.json"), "");  // only declared names are served
}

TEST_F(RuntimeTest, EnvironmentComesFromTheManifestOnly) {
  ::setenv("DEPAI_TEST_SECRET", "do-not-leak", 1);
  ExecRuntime rt(root_);
  auto m = Sh("env");
  m.services["main"].env = {{"SEED", "42"}, {"GREETING", "hello world"}};
  ASSERT_TRUE(rt.Start(1, m, Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  std::string env = Slurp(rt.LogPath(1, "main", "stdout"));
  ::unsetenv("DEPAI_TEST_SECRET");
  EXPECT_NE(env.find("SEED=42\n"), std::string::npos) << env;
  EXPECT_NE(env.find("GREETING=hello world\n"), std::string::npos);
  EXPECT_NE(env.find("PATH=/usr/local/bin:/usr/bin:/bin\n"), std::string::npos);
  EXPECT_EQ(env.find("DEPAI_TEST_SECRET"), std::string::npos);
  EXPECT_NE(env.find("HOME=/work\n"), std::string::npos) << env;
  EXPECT_NE(env.find("DEPAI_LEASE_ID=1\n"), std::string::npos) << env;
}

TEST_F(RuntimeTest, RestartOnFailureUntilSuccess) {
  ExecRuntime rt(root_);
  Limits lim;
  lim.restart_backoff_ms = 20;
  // Fails on runs 1 and 2, succeeds on run 3.
  ASSERT_TRUE(rt.Start(1,
                       Sh("n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]",
                          client::RestartPolicy::kOnFailure),
                       lim)
                  .ok());
  auto st = WaitDone(rt, 1);
  EXPECT_EQ(st.state, RunState::kSucceeded);
  EXPECT_EQ(st.services[0].restarts, 2u);
  EXPECT_EQ(st.services[0].exit_code, 0);
}

TEST_F(RuntimeTest, RestartOnFailureGivesUp) {
  ExecRuntime rt(root_);
  Limits lim;
  lim.restart_backoff_ms = 10;
  lim.max_restarts = 2;
  ASSERT_TRUE(rt.Start(1, Sh("echo run >> runs; exit 1", client::RestartPolicy::kOnFailure), lim).ok());
  auto st = WaitDone(rt, 1);
  EXPECT_EQ(st.state, RunState::kFailed);
  EXPECT_EQ(st.services[0].restarts, 2u);
  EXPECT_NE(st.services[0].error.find("gave up after 3 failed runs"), std::string::npos) << st.services[0].error;
  EXPECT_EQ(Slurp(root_ + "/1/main/work/runs"), "run\nrun\nrun\n");
}

TEST_F(RuntimeTest, AlwaysRestartsAServiceThatEnds) {
  ExecRuntime rt(root_);
  Limits lim;
  lim.restart_backoff_ms = 10;
  lim.max_restarts = 3;
  ASSERT_TRUE(rt.Start(1, Sh("echo run >> runs; exit 0", client::RestartPolicy::kAlways, 0), lim).ok());
  auto st = WaitDone(rt, 1);  // a crash loop: every run ends at once
  EXPECT_EQ(st.state, RunState::kFailed);
  EXPECT_EQ(st.services[0].restarts, 3u);
  EXPECT_EQ(Slurp(root_ + "/1/main/work/runs"), "run\nrun\nrun\nrun\n");
}

TEST_F(RuntimeTest, StopKillsAndKeepsFiles) {
  ExecRuntime rt(root_);
  ASSERT_TRUE(rt.Start(1, Sh("echo up; exec sleep 60", client::RestartPolicy::kAlways, 0), Limits{}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  rt.Poll();
  ASSERT_EQ(rt.GetStatus(1)->state, RunState::kRunning);
  int64_t t0 = NowMs();
  ASSERT_TRUE(rt.Stop(1, 2000).ok());
  EXPECT_LT(NowMs() - t0, 1500);  // SIGTERM was enough
  auto st = rt.GetStatus(1);
  EXPECT_EQ(st->state, RunState::kStopped);
  EXPECT_EQ(st->services[0].pid, 0);
  rt.Poll();
  EXPECT_EQ(rt.GetStatus(1)->state, RunState::kStopped);  // not restarted
  EXPECT_EQ(Slurp(rt.LogPath(1, "main", "stdout")), "up\n");
  EXPECT_FALSE(rt.Stop(99).ok());
}

TEST_F(RuntimeTest, NewRuntimeAdoptsARunningProcessAndReadsItsExitStatus) {
  pid_t pid = 0;
  {
    ExecRuntime first(root_);
    ASSERT_TRUE(first.Start(1, Sh("sleep 1; printf done > out.txt; exit 7"), Limits{}).ok());
    first.Poll();
    pid = first.GetStatus(1)->services[0].pid;
    ASSERT_GT(pid, 0);
  }  // the provider goes away; its workload keeps running
  ExecRuntime second(root_);
  auto st0 = second.GetStatus(1);
  ASSERT_TRUE(st0.has_value());
  EXPECT_EQ(st0->state, RunState::kRunning);
  EXPECT_EQ(st0->services[0].pid, pid);
  auto st = WaitDone(second, 1);
  EXPECT_EQ(st.state, RunState::kFailed);
  EXPECT_EQ(st.services[0].exit_code, 7);
  int raw = 0;
  ::waitpid(pid, &raw, 0);  // this test process is still the real parent
}

TEST_F(RuntimeTest, NewRuntimeRestartsALongRunningServiceThatDied) {
  pid_t pid = 0;
  {
    ExecRuntime first(root_);
    ASSERT_TRUE(
        first.Start(1, Sh("echo start >> starts; exec sleep 60", client::RestartPolicy::kAlways, 0), Limits{}).ok());
    pid = first.GetStatus(1)->services[0].pid;
  }
  for (int i = 0; i < 200 && Slurp(root_ + "/1/main/work/starts").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(-pid, SIGKILL);  // dies while no provider watches
  int raw = 0;
  ::waitpid(pid, &raw, 0);
  ExecRuntime second(root_);
  for (int i = 0; i < 200; ++i) {
    second.Poll();
    auto st = second.GetStatus(1);
    if (st->services[0].pid != 0 && st->services[0].pid != pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto st = second.GetStatus(1);
  EXPECT_EQ(st->state, RunState::kRunning);
  EXPECT_NE(st->services[0].pid, 0);
  EXPECT_NE(st->services[0].pid, pid);
  EXPECT_EQ(st->services[0].restarts, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Slurp(root_ + "/1/main/work/starts"), "start\nstart\n");
  ASSERT_TRUE(second.Stop(1).ok());
}

}  // namespace
}  // namespace depai::provider

namespace depai::provider {
namespace {

// ---- the sandbox, attacked from inside and checked from outside --------------------------------

TEST_F(RuntimeTest, SandboxHidesTheHostAndOtherLeases) {
  ExecRuntime rt(root_);
  std::ofstream(root_ + "/host-secret.txt") << "provider-secret";
  ASSERT_TRUE(rt.Start(1, Sh("echo victim-secret > mine.txt; sleep 30", client::RestartPolicy::kNever), Limits{}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string script = "cat " + root_ + "/host-secret.txt; cat " + root_ + "/1/main/work/mine.txt; cat " + root_ +
                       "/1/main/status.json; ls /; echo procs $(ls /proc | grep -c '^[0-9]'); id -u; "
                       "echo x > /usr/pwned; echo x > /pwned; touch /work/ok";
  ASSERT_TRUE(rt.Start(2, Sh(script), Limits{}).ok());
  auto st = WaitDone(rt, 2);
  std::string out = Slurp(rt.LogPath(2, "main", "stdout")), err = Slurp(rt.LogPath(2, "main", "stderr"));
  EXPECT_EQ(out.find("provider-secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("victim-secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("lease_id"), std::string::npos) << out;
  EXPECT_NE(out.find("procs "), std::string::npos);
  int procs = std::stoi(out.substr(out.find("procs ") + 6));
  EXPECT_LE(procs, 6) << out;  // only its own
  EXPECT_NE(out.find("\n1000\n"), std::string::npos) << out;
  EXPECT_NE(err.find("Read-only file system"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists("/usr/pwned"));
  EXPECT_FALSE(fs::exists("/pwned"));
  EXPECT_TRUE(fs::exists(root_ + "/2/main/work/ok"));
  (void)st;
  ASSERT_TRUE(rt.Stop(1, 200).ok());
  auto s1 = rt.GetStatus(1);
  ASSERT_TRUE(s1.has_value());
  EXPECT_EQ(s1->services[0].sandbox.value("mode", ""), "bwrap") << s1->services[0].sandbox.dump();
}

TEST_F(RuntimeTest, NoDaemonFileDescriptorReachesTheWorkload) {
  // Inheritable fds of the daemon (a socket, a key file) at low and high numbers.
  std::ofstream(root_ + "-key") << "private key";
  int fd = ::open((root_ + "-key").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int low = ::dup2(fd, 6), high = ::dup2(fd, 40);
  ExecRuntime rt(root_);
  ASSERT_TRUE(rt.Start(1, Sh("for f in /proc/self/fd/*; do echo \"$f -> $(readlink $f)\"; done"), Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  std::string out = Slurp(rt.LogPath(1, "main", "stdout"));
  ::close(fd), ::close(low), ::close(high);
  fs::remove(root_ + "-key");
  EXPECT_EQ(out.find("-key"), std::string::npos) << out;
  // fd 3 is the shell's own handle on /proc/self/fd while it globs (its target is gone by then).
  EXPECT_TRUE(out.find("/fd/3 ") == std::string::npos || out.find("/fd/3 -> \n") != std::string::npos) << out;
  for (const char* n : {"/fd/4 ", "/fd/5 ", "/fd/6 ", "/fd/7 ", "/fd/8 ", "/fd/9 ", "/fd/40 "})
    EXPECT_EQ(out.find(n), std::string::npos) << n << " open inside:\n" << out;
}

TEST_F(RuntimeTest, ArtifactsThatAreLinksAreRefused) {
  ExecRuntime rt(root_);
  std::ofstream(root_ + "/host-secret.txt") << "provider-secret";
  auto m = Sh("ln -s " + root_ +
              "/host-secret.txt sym.txt; ln -s / root; printf ok > data; ln data hard.txt; "
              "printf fine > fine.txt");
  m.services["main"].artifacts = {"sym.txt", "root/etc/hostname", "hard.txt", "fine.txt"};
  ASSERT_TRUE(rt.Start(1, m, Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  auto arts = rt.Artifacts(1);
  ASSERT_EQ(arts.size(), 4u);
  EXPECT_FALSE(arts[0].present);
  EXPECT_NE(arts[0].error.find("symbolic link"), std::string::npos) << arts[0].error;
  EXPECT_FALSE(arts[1].present);
  EXPECT_FALSE(arts[2].present);
  EXPECT_NE(arts[2].error.find("hard links"), std::string::npos) << arts[2].error;
  EXPECT_TRUE(arts[3].present);
  EXPECT_EQ(arts[3].sha256, HexEncode(crypto::Sha256("fine")));
  EXPECT_FALSE(fs::exists(root_ + "/1/main/artifacts/sym.txt"));
}

TEST_F(RuntimeTest, ManifestFilesCannotLeaveTheWorkDirectory) {
  ExecRuntime rt(root_);
  auto m = Sh("true");
  m.services["main"].files["../escaped.txt"] = "x";  // as if the manifest's own check had been bypassed
  auto st = rt.Start(1, m, Limits{});
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(root_ + "/1/main/escaped.txt"));
  EXPECT_FALSE(fs::exists(root_ + "/1/escaped.txt"));
}

TEST_F(RuntimeTest, GpuLeaseGetsExactlyItsDevices) {
  std::string dev = root_ + "-dev";
  fs::create_directories(dev);
  ::chmod(dev.c_str(), 0755);
  for (const char* n : {"nvidia0", "nvidia1", "nvidia2", "nvidiactl", "nvidia-uvm"}) {
    std::ofstream(dev + "/" + n) << "fake " << n << "\n";
    ::chmod((dev + "/" + n).c_str(), 0666);
  }
  SandboxConfig sb;
  sb.dev_dir = dev;
  ExecRuntime rt(root_, sb);
  Limits lim;
  lim.gpus = {1, 2};
  ASSERT_TRUE(rt.Start(1, Sh("ls /dev; echo CVD=$CUDA_VISIBLE_DEVICES; cat /dev/nvidia1"), lim).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  std::string out = Slurp(rt.LogPath(1, "main", "stdout"));
  fs::remove_all(dev);
  EXPECT_EQ(out.find("nvidia0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("nvidia1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("nvidia2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("nvidiactl\n"), std::string::npos) << out;
  EXPECT_NE(out.find("nvidia-uvm\n"), std::string::npos) << out;
  EXPECT_NE(out.find("CVD=0,1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("fake nvidia1"), std::string::npos) << out;
  // A missing device refuses the start.
  Limits bad;
  bad.gpus = {7};
  EXPECT_FALSE(rt.Start(2, Sh("true"), bad).ok());
}

TEST_F(RuntimeTest, ExposedPortIsReachedInsideTheNamespaceOnly) {
  if (ExecRuntime::ResolveProgram("python3", "/usr/local/bin:/usr/bin:/bin").empty()) GTEST_SKIP() << "no python3";
  ExecRuntime rt(root_);
  client::Manifest m = Sh("");
  m.services["main"].command = {"python3", "-m", "http.server", "18765", "--bind", "127.0.0.1"};
  m.services["main"].files["hello.txt"] = "hello-inside";
  m.services["main"].expose = {18765};
  m.services["main"].restart = client::RestartPolicy::kAlways;
  m.services["main"].timeout_s = 0;
  ASSERT_TRUE(rt.Start(1, m, Limits{}).ok());
  std::string body;
  for (int i = 0; i < 100 && body.find("hello-inside") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto fd = rt.Connect(1, "main", 18765);
    if (!fd.ok()) continue;
    std::string req = "GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n";
    if (::write(fd->get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) continue;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd->get(), buf, sizeof buf)) > 0) body.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(body.find("hello-inside"), std::string::npos) << body;
  EXPECT_FALSE(rt.Connect(1, "main", 22).ok());  // not exposed
  // Not on the host's loopback.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(18765);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_NE(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(s);
  ASSERT_TRUE(rt.Stop(1, 500).ok());
}

TEST_F(RuntimeTest, SandboxNoneRunsUnconfined) {
  SandboxConfig sb;
  sb.mode = "none";
  ExecRuntime rt(root_, sb);
  ASSERT_TRUE(rt.Start(1, Sh("pwd"), Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  EXPECT_EQ(Slurp(rt.LogPath(1, "main", "stdout")), root_ + "/1/main/work\n");
}

TEST(Sandbox, BwrapArgvAndGpuBinding) {
  SandboxConfig sb;
  Launch l;
  l.lease_id = 9;
  l.argv = {"/usr/bin/python3", "main.py"};
  l.env = {"PATH=/usr/bin", "A=b=c"};
  auto a = BwrapArgv(sb, l);
  std::string joined;
  for (const auto& x : a) joined += x + " ";
  for (const char* want : {"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--cap-drop ALL",
                           "--seccomp 4", "--bind-fd 5 /work", "--proc /proc", "--dev /dev", "--remount-ro /",
                           "--clearenv", "--setenv A b=c", "-- /usr/bin/python3 main.py"})
    EXPECT_NE(joined.find(want), std::string::npos) << want << " in " << joined;
  EXPECT_EQ(joined.find("nvidia"), std::string::npos);
  EXPECT_EQ(joined.find("--share-net"), std::string::npos);
  l.image = true;
  joined.clear();
  for (const auto& x : BwrapArgv(sb, l)) joined += x + " ";
  EXPECT_NE(joined.find("--ro-bind-fd 6 /"), std::string::npos) << joined;
  EXPECT_EQ(joined.find("--ro-bind /usr /usr"), std::string::npos) << joined;
  EXPECT_EQ(CudaVisibleDevices(3), "0,1,2");
  EXPECT_EQ(LeaseUid(sb, 5), ::geteuid() == 0 ? 200005u : 0u);
  EXPECT_FALSE(GpuDeviceNodes("/nonexistent-dev", {0}).ok());
  EXPECT_TRUE(GpuDeviceNodes("/nonexistent-dev", {})->empty());
}

TEST(Sandbox, RegistryOnTheProvidersOwnNetworkIsRefused) {
  for (const char* loc : {"//127.0.0.1:1317/x", "//localhost/app", "//10.0.0.5/a", "//192.168.1.1:5000/a",
                          "//[::1]:5000/a", "//169.254.169.254/latest", "//172.16.0.1/a", "//0.0.0.0/a"})
    EXPECT_TRUE(RegistryIsLocal(loc)) << loc;
  for (const char* loc : {"//registry.example.org/app", "//docker.io/library/busybox", "//8.8.8.8/a"})
    EXPECT_FALSE(RegistryIsLocal(loc)) << loc;
  // A name that resolves to loopback (this host's own name, via /etc/hosts) is refused too.
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  struct addrinfo* res = nullptr;
  bool loop = false;
  if (::getaddrinfo(host, nullptr, nullptr, &res) == 0) {
    for (auto* ai = res; ai; ai = ai->ai_next)
      if (ai->ai_family == AF_INET)
        loop = loop || (ntohl(reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr) >> 24) == 127;
    ::freeaddrinfo(res);
  }
  if (loop) {
    EXPECT_FALSE(RegistryIsLocal(std::string("//") + host + "/app"));
    EXPECT_TRUE(RegistryResolvesLocal(std::string("//") + host + "/app")) << host;
  }
}

}  // namespace
}  // namespace depai::provider

namespace depai::provider {
namespace {

TEST_F(RuntimeTest, EgressOnlyWhenAllowedAndAskedAndNeverToTheHostLoopback) {
  if (ExecRuntime::ResolveProgram("python3", "/usr/local/bin:/usr/bin:/bin").empty()) GTEST_SKIP() << "no python3";
  if (ExecRuntime::ResolveProgram("slirp4netns", "/usr/bin:/bin").empty()) GTEST_SKIP() << "no slirp4netns";
  // A service of the provider's on the host's loopback.
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(ls, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  std::string port = std::to_string(ntohs(a.sin_port));
  std::string probe =
      "import socket\n"
      "print(open('/proc/net/dev').read().count(':'), 'interfaces')\n"
      "for h in ['10.0.2.2', '127.0.0.1']:\n"
      "    s = socket.socket(); s.settimeout(2)\n"
      "    try:\n"
      "        s.connect((h, " +
      port +
      ")); print(h, 'REACHED')\n"
      "    except OSError as e: print(h, 'blocked', e)\n"
      "print(open('/etc/resolv.conf').read() if __import__('os').path.exists('/etc/resolv.conf') else 'no resolv')\n";
  auto make = [&](bool egress) {
    client::Manifest m = Sh("");
    m.services["main"].command = {"python3", "-c", probe};
    m.services["main"].egress = egress;
    return m;
  };
  {  // not allowed by the provider: refused with a clear error
    ExecRuntime rt(root_);
    auto st = rt.Start(1, make(true), Limits{});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("does not allow outbound network"), std::string::npos) << st.error().message;
  }
  SandboxConfig sb;
  sb.allow_egress = true;
  ExecRuntime rt(root_, sb);
  ASSERT_TRUE(rt.Start(2, make(false), Limits{}).ok());  // allowed but not asked: loopback only
  EXPECT_EQ(WaitDone(rt, 2).state, RunState::kSucceeded);
  std::string off = Slurp(rt.LogPath(2, "main", "stdout"));
  EXPECT_NE(off.find("1 interfaces"), std::string::npos) << off;
  ASSERT_TRUE(rt.Start(3, make(true), Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 3).state, RunState::kSucceeded);
  std::string on = Slurp(rt.LogPath(3, "main", "stdout"));
  ::close(ls);
  EXPECT_NE(on.find("2 interfaces"), std::string::npos) << on;  // lo and tap0
  EXPECT_EQ(on.find("REACHED"), std::string::npos) << on;
  EXPECT_NE(on.find("nameserver 10.0.2.3"), std::string::npos) << on;
  auto st = rt.GetStatus(3);
  ASSERT_TRUE(st.has_value());
  EXPECT_NE(st->services[0].sandbox.value("network", "").find("slirp4netns"), std::string::npos);
}

}  // namespace
}  // namespace depai::provider

namespace depai::provider {
namespace {

// An OCI image (busybox-static and a script, built with test/functional/oci_image.py) run in the
// sandbox: the image's root read-only, its env and entrypoint, /work writable, and with egress the
// provider's resolv.conf over the image's.
TEST_F(RuntimeTest, OciImageRunsInTheSandbox) {
  if (!fs::exists("/bin/busybox") || ExecRuntime::ResolveProgram("python3", "/usr/bin:/bin").empty())
    GTEST_SKIP() << "needs busybox-static and python3";
  std::string src = std::string(DEPAI_SOURCE_DIR) + "/test/functional";
  std::string img = root_ + "-img.tar";
  std::string py =
      "import sys, json; sys.path.insert(0, '" + src +
      "'); from oci_image import build_oci_archive\n"
      "bb = open('/bin/busybox', 'rb').read()\n"
      "layers = [[('bin', 'dir', None, 0o755), ('bin/busybox', 'file', bb, 0o755), ('bin/sh', 'symlink', 'busybox', "
      "0o777),"
      " ('etc', 'dir', None, 0o755), ('etc/resolv.conf', 'file', 'nameserver 192.0.2.53\\n', 0o644),"
      " ('etc/motd', 'file', 'from the image\\n', 0o644)]]\n"
      "cfg = {'Entrypoint': ['/bin/sh', '-c'], 'Cmd': ['cat /etc/motd; echo GREETING=$GREETING; cat /etc/resolv.conf;"
      " busybox touch /etc/x 2>&1; echo out > /work/out.txt; busybox pwd'], 'Env': ['GREETING=image', 'PATH=/bin']}\n"
      "print(json.dumps(build_oci_archive('" +
      img + "', layers, cfg)))\n";
  std::string cmd = "python3 -c \"$DEPAI_PY\"";
  ::setenv("DEPAI_PY", py.c_str(), 1);
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::string out;
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  auto j = nlohmann::json::parse(out);
  ImageStore store(root_ + "-cache");
  SandboxConfig sb;
  sb.allow_egress = true;
  ExecRuntime rt(root_, sb, &store);
  client::Manifest m;
  client::ServiceSpec s;
  s.name = "main";
  s.runtime = "oci";
  s.image = "oci-archive:" + img + "@" + j["manifest_digest"].get<std::string>();
  s.env = {{"GREETING", "manifest"}};
  s.artifacts = {"out.txt"};
  m.services["main"] = s;
  ASSERT_TRUE(rt.Start(1, m, Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 1).state, RunState::kSucceeded);
  std::string log = Slurp(rt.LogPath(1, "main", "stdout"));
  EXPECT_NE(log.find("from the image\n"), std::string::npos) << log;
  EXPECT_NE(log.find("GREETING=manifest\n"), std::string::npos) << log;    // the manifest's env wins
  EXPECT_NE(log.find("Read-only file system"), std::string::npos) << log;  // the image root
  EXPECT_NE(log.find("/work\n"), std::string::npos) << log;
  ASSERT_TRUE(rt.Artifacts(1).at(0).present);
  // Egress: the provider's resolver over the image's file.
  m.services["main"].egress = true;
  ASSERT_TRUE(rt.Start(2, m, Limits{}).ok());
  EXPECT_EQ(WaitDone(rt, 2).state, RunState::kSucceeded);
  std::string log2 = Slurp(rt.LogPath(2, "main", "stdout"));
  EXPECT_NE(log2.find("nameserver 10.0.2.3"), std::string::npos) << log2;
  EXPECT_EQ(log2.find("192.0.2.53"), std::string::npos) << log2;
  RemoveTree(root_ + "-cache");
  fs::remove(img);
}

}  // namespace
}  // namespace depai::provider

namespace depai::provider {
namespace {

TEST_F(RuntimeTest, ServicesShareTheLeasesResources) {
  ExecRuntime rt(root_);
  client::Manifest m = Sh("sleep 5");
  m.services["second"] = m.services["main"];
  m.services["second"].name = "second";
  Limits lim;
  lim.memory_bytes = 512ull << 20;
  lim.cpu_millicores = 1000;
  ASSERT_TRUE(rt.Start(1, m, lim).ok());
  auto st = rt.GetStatus(1);
  ASSERT_TRUE(st.has_value());
  ASSERT_EQ(st->services.size(), 2u);
  for (const auto& s : st->services) {
    EXPECT_EQ(s.sandbox["rlimits"].value("address_space_bytes", uint64_t{0}), 256ull << 20) << s.sandbox.dump();
    if (s.sandbox.contains("cgroup") && s.sandbox["cgroup"].contains("memory_bytes")) {
      EXPECT_EQ(s.sandbox["cgroup"].value("memory_bytes", uint64_t{0}), 256ull << 20) << s.sandbox.dump();
      EXPECT_EQ(s.sandbox["cgroup"].value("cpu_millicores", uint64_t{0}), 500u) << s.sandbox.dump();
    }
  }
  ASSERT_TRUE(rt.Stop(1, 200).ok());
}

}  // namespace
}  // namespace depai::provider
