// File operations confined beneath a directory, for files that a hostile party controls (a buyer's
// workload directory, an OCI image's layers). Every path is relative and resolved beneath a
// directory fd without following a symlink in any component: openat2(2) with RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, or, where the kernel has no openat2, a walk that
// opens each component with O_NOFOLLOW. ".." components and absolute paths are refused before any
// system call. A symlink anywhere in the path makes the call fail (ELOOP), so a workload that swaps
// a directory for a link to "/" gets nothing. Error codespace "path"; code 1: the path is refused
// (absolute, "..", empty, a link in the way), code 2: a system call failed (message has errno text).
// Thread-safe (no shared state); fds are O_CLOEXEC.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.h"

namespace depai {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Normalizes a relative name (a tar member, an artifact): strips leading "./" segments, repeated and
// trailing '/', and "." segments. nullopt for absolute names, ".." segments, NUL bytes, or nothing left.
std::optional<std::string> CleanRelative(std::string_view name);

// Opens `rel` beneath the directory `dirfd` with `flags` (O_CLOEXEC is added; O_NOFOLLOW applies to
// the last component too). With O_CREAT, `mode` is used.
Result<UniqueFd> OpenBeneath(int dirfd, std::string_view rel, int flags, mode_t mode = 0);
// Opens a directory by absolute or relative path: O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC (the last
// component must not be a link; the path up to it is the operator's, not a workload's).
Result<UniqueFd> OpenDirectory(const std::string& path);
// mkdir -p of `rel` beneath dirfd: each component is made with mkdirat (an existing directory is
// fine, an existing link or file is an error) and reopened with O_NOFOLLOW. Returns the last one.
Result<UniqueFd> MkdirsBeneath(int dirfd, std::string_view rel, mode_t mode = 0755);
// The parent directory of `rel` (opened beneath dirfd, made first when `create`) and the last
// component's name, for mkdirat/symlinkat/linkat/unlinkat/fstatat relative to it.
Result<std::pair<UniqueFd, std::string>> OpenParentBeneath(int dirfd, std::string_view rel, bool create);
// Creates or truncates `rel` beneath dirfd (parents made) and writes `content`.
Status WriteFileBeneath(int dirfd, std::string_view rel, std::string_view content, mode_t mode = 0644);
// Copies the regular file `rel` beneath src_dirfd to `dst_rel` beneath dst_dirfd. The source must be
// a regular file reached without links and with one hard link only (a hard link could alias a file
// the workload should not be able to name); the copy is written to a temp name and renamed.
// `max_bytes` bounds the copy (0 = no bound). Returns the size copied.
Result<uint64_t> CopyFileOut(int src_dirfd, std::string_view rel, int dst_dirfd, std::string_view dst_rel,
                             uint64_t max_bytes = 0);
// Removes `path` and everything under it, without following links (links are removed, not entered).
Status RemoveTree(const std::string& path);
// The same for the entry `name` of the directory `dirfd` (a file, a link, or a directory and all
// under it). Directories the entry's owner made unreadable are made readable first.
Status RemoveAt(int dirfd, const char* name);
// "'v'", for messages that name a path.
std::string Quote(std::string_view v);

// True when the symlink `target`, stored at `link_rel` (relative to a root), resolves lexically inside
// the root: "a/b" -> "../c" stays; "a" -> "../../etc" escapes. Absolute targets are resolved
// against the root (as inside a container, where the root is "/"), so they stay inside.
bool SymlinkStaysInside(std::string_view link_rel, std::string_view target);

}  // namespace depai
