#include "util/safe_path.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace depai {

namespace {

Error Refused(const std::string& msg) { return Error{"path", 1, msg}; }
}  // namespace

std::string Quote(std::string_view v) {  // built by append: GCC 12 warns falsely on "'" + string
  std::string o;
  o.reserve(v.size() + 2);
  o += '\'';
  o.append(v);
  o += '\'';
  return o;
}

namespace {

Error SysErr(const std::string& what, int e) { return Error{"path", 2, what + ": " + std::strerror(e)}; }

std::vector<std::string> Split(std::string_view clean) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= clean.size()) {
    size_t j = clean.find('/', i);
    if (j == std::string_view::npos) j = clean.size();
    if (j > i) out.emplace_back(clean.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool have_openat2 = true;  // cleared on ENOSYS; a benign race (every thread sees ENOSYS alike)

// openat2 with the strict resolve flags; -1/errno like openat. ENOSYS falls back to the walk.
int Openat2(int dirfd, const std::string& rel, int flags, mode_t mode) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how));
}

// Component walk: every directory opened with O_NOFOLLOW | O_DIRECTORY, the last with O_NOFOLLOW.
int WalkOpen(int dirfd, const std::vector<std::string>& parts, int flags, mode_t mode) {
  int cur = dirfd;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int next = ::openat(cur, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    if (cur != dirfd) ::close(cur);
    if (next < 0) {
      errno = e;
      return -1;
    }
    cur = next;
  }
  int fd = ::openat(cur, parts.back().c_str(), flags | O_NOFOLLOW, mode);
  int e = errno;
  if (cur != dirfd) ::close(cur);
  errno = e;
  return fd;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> CleanRelative(std::string_view name) {
  if (name.empty() || name.front() == '/') return std::nullopt;
  if (name.find('\0') != std::string_view::npos) return std::nullopt;
  std::string out;
  for (const auto& seg : Split(name)) {
    if (seg == ".") continue;
    if (seg == "..") return std::nullopt;
    if (!out.empty()) out += '/';
    out += seg;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Result<UniqueFd> OpenBeneath(int dirfd, std::string_view rel, int flags, mode_t mode) {
  auto clean = CleanRelative(rel);
  if (!clean) return Refused("path '" + std::string(rel) + "' is not a plain relative path (absolute, '..' or empty)");
  flags |= O_CLOEXEC | O_NOFOLLOW;
  int fd = -1;
  if (have_openat2) {
    fd = Openat2(dirfd, *clean, flags, mode);
    if (fd < 0 && errno == ENOSYS) have_openat2 = false;
  }
  if (!have_openat2) fd = WalkOpen(dirfd, Split(*clean), flags, mode);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP || e == EXDEV) return Refused("path '" + *clean + "' passes through a symbolic link");
    return SysErr("open '" + *clean + "'", e);
  }
  return UniqueFd(fd);
}

Result<UniqueFd> OpenDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return SysErr("open directory '" + path + "'", errno);
  return UniqueFd(fd);
}

Result<UniqueFd> MkdirsBeneath(int dirfd, std::string_view rel, mode_t mode) {
  auto clean = CleanRelative(rel);
  if (!clean) return Refused("path '" + std::string(rel) + "' is not a plain relative path (absolute, '..' or empty)");
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return SysErr("dup", errno);
  UniqueFd cur(dup);
  for (const auto& part : Split(*clean)) {
    if (::mkdirat(cur.get(), part.c_str(), mode) != 0 && errno != EEXIST) return SysErr("mkdir '" + part + "'", errno);
    int next = ::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      int e = errno;
      if (e == ELOOP || e == ENOTDIR) return Refused("'" + part + "' in '" + *clean + "' is not a directory (a link?)");
      return SysErr("open '" + part + "'", e);
    }
    cur = UniqueFd(next);
  }
  return cur;
}

Result<std::pair<UniqueFd, std::string>> OpenParentBeneath(int dirfd, std::string_view rel, bool create) {
  auto clean = CleanRelative(rel);
  if (!clean) return Refused("path '" + std::string(rel) + "' is not a plain relative path (absolute, '..' or empty)");
  auto slash = clean->rfind('/');
  std::string last = slash == std::string::npos ? *clean : clean->substr(slash + 1);
  if (slash == std::string::npos) {
    int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return SysErr("dup", errno);
    return std::make_pair(UniqueFd(dup), last);
  }
  std::string parent = clean->substr(0, slash);
  auto pfd = create ? MkdirsBeneath(dirfd, parent) : OpenBeneath(dirfd, parent, O_RDONLY | O_DIRECTORY);
  if (!pfd.ok()) return pfd.error();
  return std::make_pair(std::move(pfd).value(), last);
}

Status WriteFileBeneath(int dirfd, std::string_view rel, std::string_view content, mode_t mode) {
  auto parent = OpenParentBeneath(dirfd, rel, true);
  if (!parent.ok()) return parent.error();
  auto& [pfd, name] = parent.value();
  int fd = ::openat(pfd.get(), name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP) return Refused(Quote(rel) + " is a symbolic link");
    return SysErr("create '" + std::string(rel) + "'", e);
  }
  UniqueFd f(fd);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(f.get(), content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysErr("write '" + std::string(rel) + "'", errno);
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

Result<uint64_t> CopyFileOut(int src_dirfd, std::string_view rel, int dst_dirfd, std::string_view dst_rel,
                             uint64_t max_bytes) {
  auto src = OpenBeneath(src_dirfd, rel, O_RDONLY | O_NONBLOCK);  // O_NONBLOCK: a FIFO cannot hang us
  if (!src.ok()) return src.error();
  struct stat st;
  if (::fstat(src->get(), &st) != 0) return SysErr("stat '" + std::string(rel) + "'", errno);
  if (!S_ISREG(st.st_mode)) return Refused(Quote(rel) + " is not a regular file");
  if (st.st_nlink != 1) return Refused(Quote(rel) + " has " + std::to_string(st.st_nlink) + " hard links");
  if (max_bytes && static_cast<uint64_t>(st.st_size) > max_bytes)
    return Refused(Quote(rel) + " is larger than " + std::to_string(max_bytes) + " bytes");
  int fl = ::fcntl(src->get(), F_GETFL);
  ::fcntl(src->get(), F_SETFL, fl & ~O_NONBLOCK);
  auto parent = OpenParentBeneath(dst_dirfd, dst_rel, true);
  if (!parent.ok()) return parent.error();
  auto& [pfd, name] = parent.value();
  std::string tmp = "." + name + ".tmp";
  ::unlinkat(pfd.get(), tmp.c_str(), 0);
  int out = ::openat(pfd.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) return SysErr("create copy of '" + std::string(rel) + "'", errno);
  UniqueFd o(out);
  uint64_t total = 0;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(src->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysErr("read '" + std::string(rel) + "'", errno);
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (max_bytes && total > max_bytes) {
      ::unlinkat(pfd.get(), tmp.c_str(), 0);
      return Refused(Quote(rel) + " grew past " + std::to_string(max_bytes) + " bytes while copied");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(o.get(), buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int e = errno;
        ::unlinkat(pfd.get(), tmp.c_str(), 0);
        return SysErr("write copy of '" + std::string(rel) + "'", e);
      }
      off += w;
    }
  }
  if (::fsync(o.get()) != 0 || ::renameat(pfd.get(), tmp.c_str(), pfd.get(), name.c_str()) != 0) {
    int e = errno;
    ::unlinkat(pfd.get(), tmp.c_str(), 0);
    return SysErr("publish copy of '" + std::string(rel) + "'", e);
  }
  return total;
}

Status RemoveAt(int dirfd, const char* name) {
  struct stat st;
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? Status{} : SysErr(name, errno);
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) return SysErr(std::string("unlink ") + name, errno);
    return {};
  }
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return SysErr(std::string("open ") + name, errno);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return SysErr(std::string("opendir ") + name, errno);
  }
  // Directories a workload made unreadable or unwritable to itself still belong to us.
  ::fchmod(fd, 0700);
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  Status result;
  for (const auto& n : names) {
    auto st2 = RemoveAt(::dirfd(d), n.c_str());
    if (!st2.ok() && result.ok()) result = st2;
  }
  ::closedir(d);
  if (::unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && result.ok())
    result = SysErr(std::string("rmdir ") + name, errno);
  return result;
}

Status RemoveTree(const std::string& path) {
  if (path.empty() || path == "/") return Refused("refusing to remove '" + path + "'");
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
  int pfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) return errno == ENOENT ? Status{} : SysErr("open " + parent, errno);
  UniqueFd guard(pfd);
  return RemoveAt(pfd, name.c_str());
}

bool SymlinkStaysInside(std::string_view link_rel, std::string_view target) {
  if (target.empty() || target.find('\0') != std::string_view::npos) return false;
  if (target.front() == '/') return true;  // resolved against the root inside the sandbox
  auto clean = CleanRelative(link_rel);
  if (!clean) return false;
  auto parts = Split(*clean);
  parts.pop_back();  // the directory holding the link
  int64_t depth = static_cast<int64_t>(parts.size());
  for (const auto& seg : Split(target)) {
    if (seg == ".") continue;
    if (seg == "..") {
      if (--depth < 0) return false;
    } else {
      ++depth;
    }
  }
  return true;
}

}  // namespace depai
