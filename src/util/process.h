// Running a helper program (skopeo, bwrap for the sandbox probe) and capturing what it prints: no
// shell, stdin /dev/null, its own process group (killed with the group at the deadline), signals
// reset to their defaults in the child. Not for workloads (see provider/runtime.h). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace depai {

struct RunOptions {
  int64_t timeout_ms = 10000;
  size_t max_out = 0;         // stdout kept up to this many bytes; 0: stdout goes to /dev/null
  size_t max_err = 16 << 10;  // stderr kept (for messages)
  uint32_t uid = 0;           // non-zero: the child drops to this uid and gid (and no groups) first
  int keep_fd = -1;           // an fd the child inherits at the same number
};

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed
  bool timed_out = false;
  bool out_truncated = false;  // stdout was longer than max_out
  std::string out, err;        // err without trailing newlines
};

// The executable `program` as execvp would find it in `path` (a PATH list): a name with a '/' is
// taken as it is when executable; otherwise the first executable regular file named so. "" when none.
std::string FindExecutable(const std::string& program, const std::string& path);
inline constexpr const char* kSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Error codespace "process", code 1: the program cannot be started (message names it). argv[0] is
// looked up in the daemon's PATH.
Result<RunResult> RunProgram(const std::vector<std::string>& argv, const RunOptions& opts);

}  // namespace depai
