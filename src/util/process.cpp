#include "util/process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "util/safe_path.h"

extern char** environ;

namespace depai {

namespace {

Error Err(const std::string& msg) { return Error{"process", 1, msg}; }

void Append(std::string* s, const char* p, size_t n, size_t max, bool* truncated) {
  size_t room = s->size() < max ? max - s->size() : 0;
  s->append(p, std::min(n, room));
  if (n > room && truncated) *truncated = true;
}

}  // namespace

std::string FindExecutable(const std::string& program, const std::string& path) {
  if (program.empty()) return "";
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0 ? program : "";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string cand = dir + "/" + program;
    struct stat st;
    if (::access(cand.c_str(), X_OK) == 0 && ::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return cand;
  }
  return "";
}

Result<RunResult> RunProgram(const std::vector<std::string>& argv, const RunOptions& o) {
  if (argv.empty()) return Err("nothing to run");
  const char* path = std::getenv("PATH");
  std::string exe = FindExecutable(argv[0], path ? path : kSystemPath);
  if (exe.empty()) return Err("cannot run " + Quote(argv[0]) + ": " + std::strerror(ENOENT));
  int outp[2], errp[2];
  if (::pipe2(outp, O_CLOEXEC) != 0) return Err(std::string("pipe: ") + std::strerror(errno));
  UniqueFd out_rd(outp[0]), out_wr(outp[1]);
  if (::pipe2(errp, O_CLOEXEC) != 0) return Err(std::string("pipe: ") + std::strerror(errno));
  UniqueFd err_rd(errp[0]), err_wr(errp[1]);
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd) return Err(std::string("/dev/null: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int out_target = o.max_out ? out_wr.get() : null_fd.get();
  pid_t pid = ::fork();
  if (pid < 0) return Err(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {  // only async-signal-safe calls from here on
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(s, SIG_DFL);
    if (::dup2(null_fd.get(), 0) < 0 || ::dup2(out_target, 1) < 0 || ::dup2(err_wr.get(), 2) < 0) ::_exit(126);
    if (o.keep_fd >= 0) ::fcntl(o.keep_fd, F_SETFD, ::fcntl(o.keep_fd, F_GETFD) & ~FD_CLOEXEC);
    if (o.uid != 0 && (::setgroups(0, nullptr) != 0 || ::setgid(o.uid) != 0 || ::setuid(o.uid) != 0)) ::_exit(125);
    ::execve(exe.c_str(), args.data(), environ);
    ::_exit(127);
  }
  out_wr = UniqueFd();
  err_wr = UniqueFd();
  if (!o.max_out) out_rd = UniqueFd();

  RunResult res;
  // Reads what is there on fd into s; closes fd at end of file.
  auto drain = [](UniqueFd& fd, std::string* s, size_t max, bool* truncated) {
    char buf[1 << 14];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      Append(s, buf, static_cast<size_t>(n), max, truncated);
    } else if (!(n < 0 && (errno == EINTR || errno == EAGAIN))) {
      fd = UniqueFd();
    }
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  int status = 0;
  bool reaped = false;
  while (!reaped) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    struct pollfd p[2];
    UniqueFd* which[2];
    nfds_t n = 0;
    for (UniqueFd* fd : {&out_rd, &err_rd}) {
      if (!*fd) continue;
      p[n] = {fd->get(), POLLIN, 0};
      which[n++] = fd;
    }
    int wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 200));
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(wait_ms, 20)));
    } else if (::poll(p, n, wait_ms) > 0) {
      for (nfds_t i = 0; i < n; ++i) {
        if (!p[i].revents) continue;
        if (which[i] == &out_rd)
          drain(out_rd, &res.out, o.max_out, &res.out_truncated);
        else
          drain(err_rd, &res.err, o.max_err, nullptr);
      }
    }
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) reaped = true;
    if (w < 0 && errno != EINTR) break;
  }
  if (reaped && !res.timed_out) {
    // The program has exited: what is left in the pipes (unless a child of it holds them open).
    for (auto* fd : {&out_rd, &err_rd}) {
      if (!*fd) continue;
      ::fcntl(fd->get(), F_SETFL, O_NONBLOCK);
      for (;;) {
        char buf[1 << 14];
        ssize_t n = ::read(fd->get(), buf, sizeof buf);
        if (n <= 0) break;
        if (fd == &out_rd)
          Append(&res.out, buf, static_cast<size_t>(n), o.max_out, &res.out_truncated);
        else
          Append(&res.err, buf, static_cast<size_t>(n), o.max_err, nullptr);
      }
    }
    res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  while (!res.err.empty() && (res.err.back() == '\n' || res.err.back() == ' ')) res.err.pop_back();
  return res;
}

}  // namespace depai
