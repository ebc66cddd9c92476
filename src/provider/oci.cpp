// OCI images: references, fetching (direct reads of layouts and archives, skopeo for registries and
// docker archives), digest verification, hostile-layer-safe unpacking and the digest-keyed cache.
#include "provider/oci.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_set>

#include "util/bytes.h"
#include "util/files.h"
#include "util/process.h"
#include "util/safe_path.h"

namespace depai::provider {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxJsonBlob = 4ull << 20;  // index, manifest, config
constexpr size_t kMaxLayers = 1000;
constexpr size_t kMaxToolOutput = 16 << 10;  // stderr kept for messages

#if defined(__x86_64__)
constexpr const char* kHostArch = "amd64";
#elif defined(__aarch64__)
constexpr const char* kHostArch = "arm64";
#else
constexpr const char* kHostArch = "unknown";
#endif

const char* const kOciManifest = "application/vnd.oci.image.manifest.v1+json";
const char* const kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
const char* const kOciIndex = "application/vnd.oci.image.index.v1+json";
const char* const kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";

Error Err(uint32_t code, const std::string& msg) { return Error{"oci", code, msg}; }
Error SysErr(uint32_t code, const std::string& what, int e) { return Err(code, what + ": " + std::strerror(e)); }
std::string Q(std::string_view v) { return Quote(v); }
// libarchive's message for the last error; it may be NULL (found by fuzz_oci_layer).
const char* ArcErr(struct archive* a) {
  const char* m = ::archive_error_string(a);
  return m ? m : "unreadable archive data";
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string Final() {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    return "sha256:" + HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
  }

 private:
  EVP_MD_CTX* ctx_;
};

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
// "sha256:<64 lowercase hex>"
bool ValidDigest(std::string_view d) {
  return d.size() == 71 && d.substr(0, 7) == "sha256:" && IsLowerHex(d.substr(7));
}
std::string HexOf(const std::string& digest) { return digest.substr(7); }
// j[key] when it is a string, else "" (nlohmann's value() throws on a type mismatch).
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// ---- file helpers -------------------------------------------------------------------------------

// Reads a whole regular file beneath dirfd (no links followed), refusing more than `max` bytes.
Result<std::string> ReadBounded(int dirfd, const std::string& rel, uint64_t max, const std::string& where) {
  auto fd = OpenBeneath(dirfd, rel, O_RDONLY | O_NONBLOCK);
  if (!fd.ok()) return Err(kOciFetch, where + ": " + fd.error().message);
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return SysErr(kOciFetch, where + ": stat " + Q(rel), errno);
  if (!S_ISREG(st.st_mode)) return Err(kOciBadImage, where + ": " + Q(rel) + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max)
    return Err(kOciLimit, where + ": " + Q(rel) + " is larger than " + std::to_string(max) + " bytes");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysErr(kOciFetch, where + ": read " + Q(rel), errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max) return Err(kOciLimit, where + ": " + Q(rel) + " grew past " + std::to_string(max) + " bytes");
  }
  return out;
}

// Removes `name` in dirfd (a file, a link, or a directory and all under it) without following links.
Status RemoveAt(int dirfd, const std::string& name) {
  auto st = depai::RemoveAt(dirfd, name.c_str());
  if (!st.ok()) return Err(kOciIo, st.error().message);
  return {};
}

Result<UniqueFd> OpenDir(const std::string& path, uint32_t code) {
  auto r = OpenDirectory(path);
  if (!r.ok()) return Err(code, r.error().message);
  return r;
}

// Decompressors built into libarchive only: filter_all would also register filters that run an
// external program (lrzip, lzop, grzip) on hostile bytes.
// A filter whose library is missing answers ARCHIVE_WARN (it would run the program): probed first.
void SupportFilters(archive* a) {
  using Fn = int (*)(archive*);
  for (Fn f : {archive_read_support_filter_gzip, archive_read_support_filter_zstd, archive_read_support_filter_bzip2,
               archive_read_support_filter_xz}) {
    archive* probe = archive_read_new();
    int rc = f(probe);
    archive_read_free(probe);
    if (rc == ARCHIVE_OK) f(a);
  }
}

// sha256 of a whole file read with pread from offset 0; "" on a read error.
std::string HashFd(int fd) {
  Sha256 h;
  std::vector<char> buf(1 << 17);
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "";
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
    off += n;
  }
  return h.Final();
}

std::vector<std::string> ListDir(int dirfd) {
  std::vector<std::string> names;
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return names;
  }
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

// ---- layer unpacking ----------------------------------------------------------------------------

// A member name made relative and clean; "" for the root itself ("./"), nullopt when refused.
std::optional<std::string> MemberName(std::string_view name) {
  if (name.empty() || name.front() == '/') return std::nullopt;
  bool only_dots = std::all_of(name.begin(), name.end(), [](char c) { return c == '.' || c == '/'; }) &&
                   name.find("..") == std::string_view::npos;
  if (only_dots) return std::string();
  return CleanRelative(name);
}

mode_t FileMode(mode_t m, bool share) {
  m &= 0777;  // set-id and sticky bits stripped
  if (share) m |= ((m & 0500) >> 3) | ((m & 0500) >> 6);
  return m;
}
mode_t DirMode(mode_t m, bool share) { return FileMode(m, share) | 0700; }

// Two archive readers stacked: `raw` decompresses the file (any filter, format "raw") and hashes what
// it reads from the fd (the blob's digest); `tar` parses what `raw` yields and hashes it (the
// diff_id). One pass gives both digests of exactly the bytes that were unpacked.
struct LayerStream {
  int fd = -1;
  archive* raw = nullptr;
  Sha256 compressed, uncompressed;
  uint64_t compressed_size = 0, uncompressed_size = 0, uncompressed_max = 0;
  bool over_limit = false;
  std::vector<char> in_buf = std::vector<char>(1 << 17);
  std::vector<char> out_buf = std::vector<char>(1 << 17);

  static la_ssize_t ReadFd(archive* a, void* ud, const void** out) {
    auto* s = static_cast<LayerStream*>(ud);
    for (;;) {
      ssize_t n = ::read(s->fd, s->in_buf.data(), s->in_buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        archive_set_error(a, errno, "read layer: %s", std::strerror(errno));
        return -1;
      }
      s->compressed.Update(s->in_buf.data(), static_cast<size_t>(n));
      s->compressed_size += static_cast<uint64_t>(n);
      *out = s->in_buf.data();
      return n;
    }
  }
  static la_ssize_t ReadRaw(archive* a, void* ud, const void** out) {
    auto* s = static_cast<LayerStream*>(ud);
    la_ssize_t n = archive_read_data(s->raw, s->out_buf.data(), s->out_buf.size());
    if (n < 0) {
      archive_set_error(a, -1, "decompress layer: %s", ArcErr(s->raw));
      return -1;
    }
    s->uncompressed.Update(s->out_buf.data(), static_cast<size_t>(n));
    s->uncompressed_size += static_cast<uint64_t>(n);
    if (s->uncompressed_size > s->uncompressed_max) {
      s->over_limit = true;
      archive_set_error(a, -1, "layer decompresses past %llu bytes",
                        static_cast<unsigned long long>(s->uncompressed_max));
      return -1;
    }
    *out = s->out_buf.data();
    return n;
  }
};

struct ArchiveCloser {
  void operator()(archive* a) const {
    if (a) archive_read_free(a);
  }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveCloser>;

class Unpacker {
 public:
  Unpacker(int rootfd, const UnpackOptions& opts, UnpackOptions* budget)
      : rootfd_(rootfd), opts_(opts), budget_(budget ? budget : &local_budget_), local_budget_(opts) {}

  Result<UnpackStats> Run(int layer_fd) {
    stream_.fd = layer_fd;
    // Tar headers and padding on top of the file bytes: 2 KiB per member is generous.
    stream_.uncompressed_max = budget_->max_bytes + budget_->max_entries * 2048 + (1 << 20);
    ArchivePtr raw(archive_read_new());
    SupportFilters(raw.get());
    archive_read_support_format_raw(raw.get());
    stream_.raw = raw.get();
    if (archive_read_open(raw.get(), &stream_, nullptr, &LayerStream::ReadFd, nullptr) != ARCHIVE_OK)
      return Err(kOciBadImage, std::string("open layer: ") + ArcErr(raw.get()));
    archive_entry* re = nullptr;
    int rrc = archive_read_next_header(raw.get(), &re);
    if (rrc != ARCHIVE_OK && rrc != ARCHIVE_WARN && rrc != ARCHIVE_EOF)
      return Err(kOciBadImage, std::string("read layer: ") + ArcErr(raw.get()));
    raw_eof_ = rrc == ARCHIVE_EOF;
    if (!raw_eof_) {
      ArchivePtr tar(archive_read_new());
      archive_read_support_format_tar(tar.get());
      if (archive_read_open(tar.get(), &stream_, nullptr, &LayerStream::ReadRaw, nullptr) != ARCHIVE_OK)
        return Err(kOciBadImage, std::string("open layer tar: ") + ArcErr(tar.get()));
      DEPAI_TRY(Members(tar.get()));
      // The end-of-archive blocks and whatever padding follows belong to the diff_id as well.
      const void* p = nullptr;
      for (;;) {
        la_ssize_t n = LayerStream::ReadRaw(tar.get(), &stream_, &p);
        if (n < 0) return Err(stream_.over_limit ? kOciLimit : kOciBadImage, ArcErr(tar.get()));
        if (n == 0) break;
      }
    }
    // And so do compressed bytes the decompressor did not need (they are part of the blob).
    for (;;) {
      const void* p = nullptr;
      la_ssize_t n = LayerStream::ReadFd(raw.get(), &stream_, &p);
      if (n < 0) return Err(kOciIo, ArcErr(raw.get()));
      if (n == 0) break;
    }
    stats_.compressed_digest = stream_.compressed.Final();
    stats_.diff_id = stream_.uncompressed.Final();
    stats_.compressed_size = stream_.compressed_size;
    stats_.uncompressed_size = stream_.uncompressed_size;
    return stats_;
  }

 private:
  Error Hostile(const std::string& member, const std::string& why) {
    return Err(kOciHostileLayer, "layer member " + Q(member) + " refused: " + why);
  }
  Error Io(const std::string& member, const std::string& what, int e) {
    return SysErr(kOciIo, "layer member " + Q(member) + ": " + what, e);
  }
  // OpenParentBeneath's refusals (a link in the way, "..") are the layer's fault; other failures are ours.
  Error FromPath(const std::string& member, const Error& e) {
    if (e.codespace == "path" && e.code == 1) return Hostile(member, e.message);
    return Err(kOciIo, "layer member " + Q(member) + ": " + e.message);
  }

  void Created(const std::string& path) {
    size_t pos = 0;
    while ((pos = path.find('/', pos)) != std::string::npos) this_layer_.insert(path.substr(0, pos++));
    this_layer_.insert(path);
  }

  // Removes whatever is at (pfd, leaf) unless it is a directory and `keep_dir`.
  Status Clear(int pfd, const std::string& leaf, const std::string& member, bool keep_dir) {
    struct stat st;
    if (::fstatat(pfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return {};
      return Io(member, "stat", errno);
    }
    if (keep_dir && S_ISDIR(st.st_mode)) return {};
    auto st2 = RemoveAt(pfd, leaf);
    if (!st2.ok()) return Err(kOciIo, "layer member " + Q(member) + ": " + st2.error().message);
    return {};
  }

  // Opaque directory: everything under dirfd that this layer did not put there goes.
  Status RemoveLower(int dirfd, const std::string& prefix, const std::string& member) {
    for (const auto& name : ListDir(dirfd)) {
      std::string path = prefix.empty() ? name : prefix + "/" + name;
      if (!this_layer_.count(path)) {
        DEPAI_TRY(Clear(dirfd, name, member, false));
        continue;
      }
      struct stat st;
      if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return Io(member, "open " + path, errno);
        UniqueFd guard(fd);
        DEPAI_TRY(RemoveLower(fd, path, member));
      }
    }
    return {};
  }

  Status Whiteout(const std::string& path, const std::string& base) {
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    bool opaque = base == ".wh..wh..opq";
    std::string victim = base.substr(4);
    if (!opaque && (victim.empty() || victim == "." || victim == "..")) return Hostile(path, "malformed whiteout");
    UniqueFd dfd;
    if (dir.empty()) {
      dfd = UniqueFd(::fcntl(rootfd_, F_DUPFD_CLOEXEC, 0));
      if (!dfd) return Io(path, "dup", errno);
    } else {
      // The directory's parent, then the directory itself: a link there is refused (OpenBeneath with
      // O_DIRECTORY would report ENOTDIR for it, like for a plain file).
      auto parent = OpenParentBeneath(rootfd_, dir, false);
      if (!parent.ok()) {
        if (parent.error().code == 1) return Hostile(path, parent.error().message);
        return {};  // a parent is missing: nothing to delete
      }
      auto& [ppfd, dleaf] = parent.value();
      struct stat st;
      if (::fstatat(ppfd.get(), dleaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
      if (S_ISLNK(st.st_mode)) return Hostile(path, "'" + dir + "' is a symbolic link");
      if (!S_ISDIR(st.st_mode)) return {};
      int fd = ::openat(ppfd.get(), dleaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return Io(path, "open " + dir, errno);
      dfd = UniqueFd(fd);
    }
    if (opaque) return RemoveLower(dfd.get(), dir, path);
    std::string vpath = dir.empty() ? victim : dir + "/" + victim;
    if (this_layer_.count(vpath)) return {};  // a whiteout hides lower layers only
    return Clear(dfd.get(), victim, path, false);
  }

  Status Members(archive* tar) {
    archive_entry* e = nullptr;
    for (;;) {
      int rc = archive_read_next_header(tar, &e);
      if (rc == ARCHIVE_EOF) return {};
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return Err(stream_.over_limit ? kOciLimit : kOciBadImage, std::string("read layer tar: ") + ArcErr(tar));
      ++stats_.entries;
      if (budget_->max_entries == 0) return Err(kOciLimit, "image has more layer members than allowed");
      --budget_->max_entries;
      const char* pn = archive_entry_pathname(e);
      std::string raw_name = pn ? pn : "";
      if (!pn) return Hostile("?", "member name is not readable");
      auto clean = MemberName(raw_name);
      if (!clean) return Hostile(raw_name, "absolute name, '..' component or empty name");
      if (clean->empty()) continue;  // "./": the root itself
      DEPAI_TRY(Member(tar, e, raw_name, *clean));
    }
  }

  Status Member(archive* tar, archive_entry* e, const std::string& raw_name, const std::string& path) {
    auto slash = path.rfind('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.rfind(".wh.", 0) == 0) return Whiteout(path, base);

    const char* hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e);
    if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK)) {
      ++stats_.skipped;
      return {};
    }
    if (!hardlink && type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK) {
      ++stats_.skipped;
      return {};
    }
    if (type == AE_IFLNK && !hardlink) {
      const char* target = archive_entry_symlink(e);
      if (!target || !*target) return Hostile(raw_name, "symbolic link without a target");
      if (!SymlinkStaysInside(path, target))
        return Hostile(raw_name, "symbolic link target " + Q(target) + " escapes the root");
    }
    std::optional<std::string> link_target;
    if (hardlink) {
      link_target = MemberName(hardlink);
      if (!link_target || link_target->empty())
        return Hostile(raw_name, std::string("hard link target ") + Q(hardlink) + " is absolute or has '..'");
      if (*link_target == path) return Hostile(raw_name, "hard link to itself");
    }

    auto parent = OpenParentBeneath(rootfd_, path, true);
    if (!parent.ok()) return FromPath(raw_name, parent.error());
    auto& [pfd, leaf] = parent.value();

    if (hardlink) {
      auto tparent = OpenParentBeneath(rootfd_, *link_target, false);
      if (!tparent.ok()) {
        if (tparent.error().code == 1) return FromPath(raw_name, tparent.error());
        return Hostile(raw_name, "hard link target " + Q(*link_target) + " does not exist");
      }
      auto& [tpfd, tleaf] = tparent.value();
      struct stat tst;
      if (::fstatat(tpfd.get(), tleaf.c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0)
        return Hostile(raw_name, "hard link target " + Q(*link_target) + " does not exist");
      if (S_ISDIR(tst.st_mode)) return Hostile(raw_name, "hard link to a directory");
      DEPAI_TRY(Clear(pfd.get(), leaf, raw_name, false));
      if (::linkat(tpfd.get(), tleaf.c_str(), pfd.get(), leaf.c_str(), 0) != 0) return Io(raw_name, "link", errno);
      Created(path);
      return {};
    }
    if (type == AE_IFDIR) {
      DEPAI_TRY(Clear(pfd.get(), leaf, raw_name, true));
      if (::mkdirat(pfd.get(), leaf.c_str(), 0700) != 0 && errno != EEXIST) return Io(raw_name, "mkdir", errno);
      int fd = ::openat(pfd.get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return Io(raw_name, "open directory", errno);
      UniqueFd d(fd);
      if (::fchmod(d.get(), DirMode(perm, opts_.share_owner_bits)) != 0) return Io(raw_name, "chmod", errno);
      Created(path);
      return {};
    }
    if (type == AE_IFLNK) {
      DEPAI_TRY(Clear(pfd.get(), leaf, raw_name, false));
      if (::symlinkat(archive_entry_symlink(e), pfd.get(), leaf.c_str()) != 0) return Io(raw_name, "symlink", errno);
      Created(path);
      return {};
    }
    // A regular file: never written through an existing inode (a hard link or a lower layer's file).
    DEPAI_TRY(Clear(pfd.get(), leaf, raw_name, false));
    int fd = ::openat(pfd.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Io(raw_name, "create", errno);
    UniqueFd f(fd);
    Created(path);
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    uint64_t end = 0;
    for (;;) {
      int rc = archive_read_data_block(tar, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return Err(stream_.over_limit ? kOciLimit : kOciBadImage, "layer member " + Q(raw_name) + ": " + ArcErr(tar));
      if (size > budget_->max_bytes) return Err(kOciLimit, "image unpacks to more bytes than allowed");
      budget_->max_bytes -= size;
      const char* p = static_cast<const char*>(buf);
      size_t done = 0;
      while (done < size) {
        ssize_t n = ::pwrite(f.get(), p + done, size - done, static_cast<off_t>(offset) + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Io(raw_name, "write", errno);
        done += static_cast<size_t>(n);
      }
      stats_.file_bytes += size;
      end = std::max<uint64_t>(end, static_cast<uint64_t>(offset) + size);
    }
    la_int64_t want = archive_entry_size(e);
    if (want > 0 && static_cast<uint64_t>(want) > end) {  // a sparse file's trailing hole
      if (static_cast<uint64_t>(want) > budget_->max_bytes)
        return Err(kOciLimit, "image unpacks to more bytes than allowed");
      if (::ftruncate(f.get(), static_cast<off_t>(want)) != 0) return Io(raw_name, "truncate", errno);
    }
    if (::fchmod(f.get(), FileMode(perm, opts_.share_owner_bits)) != 0) return Io(raw_name, "chmod", errno);
    if (archive_entry_mtime_is_set(e)) {
      struct timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
      ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
      ::futimens(f.get(), ts);
    }
    return {};
  }

  int rootfd_;
  UnpackOptions opts_;
  UnpackOptions* budget_;
  UnpackOptions local_budget_;
  LayerStream stream_;
  bool raw_eof_ = false;
  UnpackStats stats_;
  std::unordered_set<std::string> this_layer_;  // paths this layer created, and their parents
};

// ---- running skopeo -----------------------------------------------------------------------------

using ToolResult = RunResult;

// Runs argv (no shell) with stdout captured up to max_out bytes (0: discarded) and stderr captured
// (bounded, for messages), killed with its process group after timeout_s.
Result<ToolResult> RunTool(const std::vector<std::string>& argv, int timeout_s, size_t max_out = 0) {
  RunOptions o;
  o.timeout_ms = int64_t{timeout_s} * 1000;
  o.max_out = max_out;
  o.max_err = kMaxToolOutput;
  auto r = RunProgram(argv, o);
  if (!r.ok()) return Err(kOciFetch, r.error().message);
  return r;
}

// ---- image layouts ------------------------------------------------------------------------------

struct Descriptor {
  std::string media_type, digest;
  uint64_t size = 0;
  json platform, annotations;
};

Result<Descriptor> ParseDescriptor(const json& j, const std::string& what) {
  if (!j.is_object()) return Err(kOciBadImage, what + ": descriptor is not an object");
  Descriptor d;
  if (j.contains("mediaType")) {
    if (!j["mediaType"].is_string()) return Err(kOciBadImage, what + ": mediaType is not a string");
    d.media_type = j["mediaType"].get<std::string>();
  }
  if (!j.contains("digest") || !j["digest"].is_string()) return Err(kOciBadImage, what + ": descriptor has no digest");
  d.digest = j["digest"].get<std::string>();
  if (!ValidDigest(d.digest))
    return Err(kOciBadImage, what + ": digest " + Q(d.digest) + " is not sha256:<64 lowercase hex> (only sha256)");
  if (!j.contains("size") || !j["size"].is_number_unsigned())
    return Err(kOciBadImage, what + ": descriptor has no size");
  d.size = j["size"].get<uint64_t>();
  if (j.contains("platform")) d.platform = j["platform"];
  if (j.contains("annotations")) d.annotations = j["annotations"];
  return d;
}

Result<json> ParseJson(const std::string& bytes, const std::string& what) {
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Err(kOciBadImage, what + " is not a JSON object");
  return j;
}

// A fetched image on disk: an OCI layout (index.json, blobs/sha256/<hex>) or skopeo's `dir:` format
// (manifest.json, <hex>), which keeps the source's manifest and config bytes as they are.
struct Layout {
  UniqueFd dir;
  bool skopeo_dir = false;
  std::string ref_name;  // OCI layout: only index entries with this org.opencontainers.image.ref.name
  std::string where;     // for messages

  std::string BlobPath(const std::string& digest) const {
    return skopeo_dir ? HexOf(digest) : "blobs/sha256/" + HexOf(digest);
  }
  // The blob's bytes, checked against the descriptor's size and digest.
  Result<std::string> ReadBlob(const Descriptor& d, uint64_t max, const std::string& what) const {
    if (d.size > max)
      return Err(kOciLimit, where + ": " + what + " " + d.digest + " is larger than " + std::to_string(max) + " bytes");
    DEPAI_ASSIGN_OR_RETURN(std::string bytes, ReadBounded(dir.get(), BlobPath(d.digest), max, where));
    if (bytes.size() != d.size)
      return Err(kOciDigest, where + ": " + what + " " + d.digest + " has " + std::to_string(bytes.size()) +
                                 " bytes, its descriptor says " + std::to_string(d.size));
    std::string got = Sha256Digest(bytes);
    if (got != d.digest) return Err(kOciDigest, where + ": " + what + " " + d.digest + " hashes to " + got);
    return bytes;
  }
};

bool IsManifestType(const std::string& t) { return t == kOciManifest || t == kDockerManifest; }
bool IsIndexType(const std::string& t) { return t == kOciIndex || t == kDockerList; }
bool HostPlatform(const json& p) { return Str(p, "os") == "linux" && Str(p, "architecture") == kHostArch; }
bool IsLayerType(const std::string& t) {
  static const std::set<std::string> kTypes = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.diff.tar",
  };
  return kTypes.count(t) > 0;
}

struct Candidate {
  Descriptor desc;
  std::vector<std::string> indexes;  // digests of the image indexes it was reached through
  bool in_platform_index = false;    // listed by an image index (its platform is meaningful)
};

struct Resolved {
  std::string manifest_digest, config_digest;
  std::vector<std::string> aliases;  // other digests that pin this image (image indexes)
  std::vector<Descriptor> layers;
  std::vector<std::string> diff_ids;
  ImageConfig config;
  std::string architecture, os;
};

Result<std::vector<std::string>> StringArray(const json& cfg, const char* key, const std::string& what) {
  std::vector<std::string> out;
  if (!cfg.contains(key) || cfg[key].is_null()) return out;
  if (!cfg[key].is_array()) return Err(kOciBadImage, what + ": config." + key + " is not an array");
  for (const auto& v : cfg[key]) {
    if (!v.is_string()) return Err(kOciBadImage, what + ": config." + key + " holds a non-string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Status ParseManifest(const std::string& bytes, const std::string& what, Descriptor* config,
                     std::vector<Descriptor>* layers) {
  DEPAI_ASSIGN_OR_RETURN(json m, ParseJson(bytes, what));
  if (!m.contains("schemaVersion") || m["schemaVersion"] != 2)
    return Err(kOciBadImage, what + ": schemaVersion is not 2");
  if (m.contains("mediaType") && !m["mediaType"].is_string())
    return Err(kOciBadImage, what + ": mediaType is not a string");
  std::string mt = m.contains("mediaType") ? m["mediaType"].get<std::string>() : std::string(kOciManifest);
  if (!IsManifestType(mt)) return Err(kOciBadImage, what + ": media type " + Q(mt) + " is not an image manifest");
  if (!m.contains("config")) return Err(kOciBadImage, what + ": no config");
  DEPAI_ASSIGN_OR_RETURN(*config, ParseDescriptor(m["config"], what + " config"));
  if (config->media_type != "application/vnd.oci.image.config.v1+json" &&
      config->media_type != "application/vnd.docker.container.image.v1+json")
    return Err(kOciBadImage, what + ": config media type " + Q(config->media_type) + " is not an image config");
  if (!m.contains("layers") || !m["layers"].is_array()) return Err(kOciBadImage, what + ": no layers array");
  if (m["layers"].size() > kMaxLayers)
    return Err(kOciLimit, what + ": more than " + std::to_string(kMaxLayers) + " layers");
  for (size_t i = 0; i < m["layers"].size(); ++i) {
    DEPAI_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(m["layers"][i], what + " layer " + std::to_string(i)));
    if (!IsLayerType(d.media_type))
      return Err(kOciBadImage, what + ": layer " + std::to_string(i) + " has media type " + Q(d.media_type));
    layers->push_back(std::move(d));
  }
  return {};
}

Status ParseConfig(const std::string& bytes, const std::string& what, Resolved* r) {
  DEPAI_ASSIGN_OR_RETURN(json c, ParseJson(bytes, what));
  r->architecture = Str(c, "architecture");
  r->os = Str(c, "os");
  if (r->os != "linux") return Err(kOciBadImage, what + ": image os is " + Q(r->os) + ", not 'linux'");
  if (r->architecture != kHostArch)
    return Err(kOciBadImage, what + ": image architecture is " + Q(r->architecture) + ", this host runs " + kHostArch);
  if (!c.contains("rootfs") || Str(c["rootfs"], "type") != "layers" || !c["rootfs"].contains("diff_ids") ||
      !c["rootfs"]["diff_ids"].is_array())
    return Err(kOciBadImage, what + ": no rootfs.diff_ids");
  for (const auto& d : c["rootfs"]["diff_ids"]) {
    if (!d.is_string() || !ValidDigest(d.get<std::string>()))
      return Err(kOciBadImage, what + ": a diff_id is not sha256:<64 lowercase hex>");
    r->diff_ids.push_back(d.get<std::string>());
  }
  if (r->diff_ids.size() != r->layers.size())
    return Err(kOciBadImage, what + ": " + std::to_string(r->diff_ids.size()) + " diff_ids for " +
                                 std::to_string(r->layers.size()) + " layers");
  json cfg = c.contains("config") && c["config"].is_object() ? c["config"] : json::object();
  DEPAI_ASSIGN_OR_RETURN(r->config.entrypoint, StringArray(cfg, "Entrypoint", what));
  DEPAI_ASSIGN_OR_RETURN(r->config.cmd, StringArray(cfg, "Cmd", what));
  DEPAI_ASSIGN_OR_RETURN(r->config.env, StringArray(cfg, "Env", what));
  for (const char* k : {"WorkingDir", "User"}) {
    if (cfg.contains(k) && !cfg[k].is_null() && !cfg[k].is_string())
      return Err(kOciBadImage, what + ": config." + k + " is not a string");
  }
  r->config.working_dir = Str(cfg, "WorkingDir");
  r->config.user = Str(cfg, "User");
  return {};
}

// Candidates of an OCI layout's index.json: image manifests, with those of nested image indexes.
Status CollectCandidates(const Layout& L, const json& index, const std::vector<std::string>& via, int depth,
                         std::vector<Candidate>* out) {
  if (!index.contains("manifests") || !index["manifests"].is_array())
    return Err(kOciBadImage, L.where + ": image index has no manifests array");
  for (size_t i = 0; i < index["manifests"].size(); ++i) {
    const auto& m = index["manifests"][i];
    DEPAI_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(m, L.where + " index entry " + std::to_string(i)));
    if (depth == 0 && !L.ref_name.empty()) {
      const json& a = d.annotations;
      if (Str(a, "org.opencontainers.image.ref.name") != L.ref_name) continue;
    }
    if (IsManifestType(d.media_type)) {
      out->push_back(Candidate{d, via, depth > 0});
    } else if (IsIndexType(d.media_type) && depth < 3) {
      DEPAI_ASSIGN_OR_RETURN(std::string bytes, L.ReadBlob(d, kMaxJsonBlob, "image index"));
      DEPAI_ASSIGN_OR_RETURN(json nested, ParseJson(bytes, L.where + " image index " + d.digest));
      auto v = via;
      v.push_back(d.digest);
      DEPAI_TRY(CollectCandidates(L, nested, v, depth + 1, out));
    }
    if (out->size() > 4096) return Err(kOciLimit, L.where + ": too many manifests");
  }
  return {};
}

// Finds the image the pin names and checks every digest up to the config; the layers are checked
// while they are unpacked.
Result<Resolved> Resolve(const Layout& L, const std::string& pin) {
  Resolved r;
  std::string manifest_bytes;
  if (L.skopeo_dir) {
    DEPAI_ASSIGN_OR_RETURN(manifest_bytes, ReadBounded(L.dir.get(), "manifest.json", kMaxJsonBlob, L.where));
    r.manifest_digest = Sha256Digest(manifest_bytes);
  } else {
    DEPAI_ASSIGN_OR_RETURN(std::string layout, ReadBounded(L.dir.get(), "oci-layout", kMaxJsonBlob, L.where));
    DEPAI_ASSIGN_OR_RETURN(json lj, ParseJson(layout, L.where + ": oci-layout"));
    if (Str(lj, "imageLayoutVersion") != "1.0.0")
      return Err(kOciBadImage, L.where + ": oci-layout is not version 1.0.0");
    DEPAI_ASSIGN_OR_RETURN(std::string idx, ReadBounded(L.dir.get(), "index.json", kMaxJsonBlob, L.where));
    DEPAI_ASSIGN_OR_RETURN(json index, ParseJson(idx, L.where + ": index.json"));
    std::vector<Candidate> cands;
    DEPAI_TRY(CollectCandidates(L, index, {}, 0, &cands));
    const Candidate* pick = nullptr;
    for (const auto& c : cands)
      if (c.desc.digest == pin) pick = &c;
    if (!pick) {  // the pin names an image index: its entry for this host
      for (const auto& c : cands)
        if (std::find(c.indexes.begin(), c.indexes.end(), pin) != c.indexes.end() && HostPlatform(c.desc.platform)) {
          pick = &c;
          r.aliases = c.indexes;
          break;
        }
    }
    if (!pick) {  // the pin names a config: look into the manifests for this host
      for (const auto& c : cands) {
        if (c.in_platform_index && !HostPlatform(c.desc.platform)) continue;
        auto mb = L.ReadBlob(c.desc, kMaxJsonBlob, "manifest");  // another image's trouble is not ours
        if (!mb.ok()) continue;
        Descriptor cfg;
        std::vector<Descriptor> layers;
        if (!ParseManifest(*mb, L.where + " manifest " + c.desc.digest, &cfg, &layers).ok()) continue;
        if (cfg.digest == pin) {
          pick = &c;
          manifest_bytes = std::move(mb).value();
          break;
        }
      }
    }
    if (!pick)
      return Err(kOciDigest, L.where + ": no image there matches the pinned digest " + pin + " (" +
                                 std::to_string(cands.size()) + " manifests looked at, for linux/" + kHostArch + ")");
    if (manifest_bytes.empty()) {
      DEPAI_ASSIGN_OR_RETURN(manifest_bytes, L.ReadBlob(pick->desc, kMaxJsonBlob, "manifest"));
    }
    r.manifest_digest = pick->desc.digest;
  }
  Descriptor cfg;
  DEPAI_TRY(ParseManifest(manifest_bytes, L.where + " manifest " + r.manifest_digest, &cfg, &r.layers));
  r.config_digest = cfg.digest;
  bool pinned = r.manifest_digest == pin || cfg.digest == pin ||
                std::find(r.aliases.begin(), r.aliases.end(), pin) != r.aliases.end();
  if (!pinned)
    return Err(kOciDigest, L.where + ": the image's manifest " + r.manifest_digest + " and config " + cfg.digest +
                               " do not match the pinned digest " + pin);
  DEPAI_ASSIGN_OR_RETURN(std::string config_bytes, L.ReadBlob(cfg, kMaxJsonBlob, "config"));
  DEPAI_TRY(ParseConfig(config_bytes, L.where + " config " + cfg.digest, &r));
  return r;
}

// Extracts an OCI layout tar (oci-archive) into `dstfd`: only oci-layout, index.json and
// blobs/sha256/<hex> regular files are written; anything else is skipped. At most max_bytes.
Status ExtractLayoutArchive(const std::string& path, int dstfd, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysErr(kOciFetch, "open " + Q(path), errno);
  UniqueFd in(fd);
  struct stat st;
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Err(kOciFetch, Q(path) + " is not a regular file");
  ArchivePtr a(archive_read_new());
  SupportFilters(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), in.get(), 1 << 16) != ARCHIVE_OK)
    return Err(kOciBadImage, Q(path) + ": " + ArcErr(a.get()));
  auto blobs = MkdirsBeneath(dstfd, "blobs/sha256");
  if (!blobs.ok()) return Err(kOciIo, blobs.error().message);
  uint64_t total = 0;
  archive_entry* e = nullptr;
  for (;;) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Err(kOciBadImage, Q(path) + ": " + ArcErr(a.get()));
    const char* pn = archive_entry_pathname(e);
    auto name = MemberName(pn ? pn : "");
    if (!name || name->empty() || archive_entry_hardlink(e) || archive_entry_filetype(e) != AE_IFREG) continue;
    bool wanted = *name == "oci-layout" || *name == "index.json" ||
                  (name->rfind("blobs/sha256/", 0) == 0 && name->size() == 13 + 64 && IsLowerHex(name->substr(13)));
    if (!wanted) continue;
    auto out = OpenBeneath(dstfd, *name, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!out.ok()) return Err(kOciBadImage, Q(path) + ": member " + Q(*name) + ": " + out.error().message);
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int r = archive_read_data_block(a.get(), &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return Err(kOciBadImage, Q(path) + ": " + ArcErr(a.get()));
      total += size;
      if (total > max_bytes)
        return Err(kOciLimit, Q(path) + " holds more than " + std::to_string(max_bytes) + " bytes");
      const char* p = static_cast<const char*>(buf);
      size_t done = 0;
      while (done < size) {
        ssize_t n = ::pwrite(out->get(), p + done, size - done, static_cast<off_t>(offset) + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return SysErr(kOciIo, "write " + Q(*name), errno);
        done += static_cast<size_t>(n);
      }
    }
  }
  return {};
}

// "path" or "path:ref": the whole string when such a file exists, else split at the last ':' after
// the last '/'.
std::pair<std::string, std::string> SplitLocal(const std::string& loc) {
  struct stat st;
  if (::stat(loc.c_str(), &st) == 0) return {loc, ""};
  auto colon = loc.rfind(':');
  auto slash = loc.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return {loc, ""};
  return {loc.substr(0, colon), loc.substr(colon + 1)};
}

bool UnderRoot(const std::string& path, const std::vector<std::string>& roots) {
  for (const auto& r : roots)
    if (r == "/") return true;
  if (path.empty() || path.front() != '/') return false;
  for (const auto& seg : {"/../", "/./"})
    if (path.find(seg) != std::string::npos) return false;
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0) return false;
  for (auto r : roots) {
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    if (path.size() > r.size() && path.compare(0, r.size(), r) == 0 && path[r.size()] == '/') return true;
  }
  return false;
}

json ImageJson(const Image& img) {
  return json{{"format", 1},
              {"manifest_digest", img.manifest_digest},
              {"config_digest", img.config_digest},
              {"architecture", img.architecture},
              {"os", img.os},
              {"unpacked_bytes", img.unpacked_bytes},
              {"config",
               {{"entrypoint", img.config.entrypoint},
                {"cmd", img.config.cmd},
                {"env", img.config.env},
                {"working_dir", img.config.working_dir},
                {"user", img.config.user}}}};
}

std::optional<Image> ImageFromJson(const std::string& text, const std::string& entry_dir) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", 0) != 1) return std::nullopt;
  try {
    Image img;
    img.manifest_digest = j.at("manifest_digest").get<std::string>();
    img.config_digest = j.at("config_digest").get<std::string>();
    img.architecture = j.value("architecture", "");
    img.os = j.value("os", "");
    img.unpacked_bytes = j.value("unpacked_bytes", uint64_t{0});
    const auto& c = j.at("config");
    img.config.entrypoint = c.at("entrypoint").get<std::vector<std::string>>();
    img.config.cmd = c.at("cmd").get<std::vector<std::string>>();
    img.config.env = c.at("env").get<std::vector<std::string>>();
    img.config.working_dir = c.at("working_dir").get<std::string>();
    img.config.user = c.at("user").get<std::string>();
    img.rootfs = entry_dir + "/rootfs";
    return img;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DockerTagless(const std::string& loc) {  // "reg:5000/a/b:tag" -> "reg:5000/a/b"
  auto colon = loc.rfind(':');
  auto slash = loc.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) return loc.substr(0, colon);
  return loc;
}

}  // namespace

// ---- public API ---------------------------------------------------------------------------------

std::string Sha256Digest(std::string_view data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Final();
}

std::string ImageRef::skopeo_src() const {
  if (transport == "docker") {
    if (DockerTagless(location) != location) return "docker://" + location;
    return "docker://" + location + "@" + digest;
  }
  return transport + ":" + location;
}

std::string ImageRef::to_string() const {
  return (transport == "docker" ? "docker://" : transport + ":") + location + "@" + digest;
}

Result<ImageRef> ParseImageRef(std::string_view s) {
  auto bad = [&](const std::string& why) { return Err(kOciBadRef, "image reference " + Q(s) + ": " + why); };
  if (s.size() > 4096) return Err(kOciBadRef, "image reference is longer than 4096 characters");
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("has a space or a control character");
  auto at = s.rfind('@');
  if (at == std::string_view::npos) return bad("must be pinned: <transport>:<location>@sha256:<64 hex>");
  std::string digest(s.substr(at + 1));
  if (digest.rfind("sha256:", 0) != 0) return bad("only sha256 digests are accepted");
  if (!ValidDigest(digest)) return bad("the digest is not sha256: followed by 64 lowercase hex digits");
  std::string_view head = s.substr(0, at);
  ImageRef r;
  r.digest = digest;
  if (head.rfind("docker://", 0) == 0) {
    r.transport = "docker";
    r.location = std::string(head.substr(9));
    if (r.location.find('@') != std::string::npos || r.location.find("://") != std::string::npos)
      return bad("a docker location is <registry>/<name>[:tag]");
    for (char c : r.location)
      if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("._-/:", c))
        return bad("a docker location holds only letters, digits and . _ - / :");
  } else {
    auto colon = head.find(':');
    if (colon == std::string_view::npos) return bad("no transport (docker://, oci-archive:, docker-archive:, oci:)");
    r.transport = std::string(head.substr(0, colon));
    r.location = std::string(head.substr(colon + 1));
    if (r.transport != "oci-archive" && r.transport != "docker-archive" && r.transport != "oci")
      return bad("unknown transport " + Q(r.transport) + " (docker://, oci-archive:, docker-archive:, oci:)");
  }
  if (r.location.empty()) return bad("empty location");
  if (r.location.front() == '-') return bad("the location starts with '-'");
  return r;
}

Status UnpackLayer(int rootfd, const std::string& layer_path) {
  int fd = ::open(layer_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysErr(kOciFetch, "open layer " + Q(layer_path), errno);
  UniqueFd f(fd);
  auto r = UnpackLayerFd(rootfd, f.get());
  return r.status();
}

Result<UnpackStats> UnpackLayerFd(int rootfd, int layer_fd, const UnpackOptions& opts, UnpackOptions* budget) {
  Unpacker u(rootfd, opts, budget);
  return u.Run(layer_fd);
}

ImageStore::ImageStore(std::string cache_dir, std::string skopeo)
    : ImageStore(std::move(cache_dir), std::move(skopeo), ImageStoreOptions{}) {}

ImageStore::ImageStore(std::string cache_dir, std::string skopeo, ImageStoreOptions opts)
    : cache_dir_(std::move(cache_dir)), skopeo_(std::move(skopeo)), opts_(std::move(opts)) {
  while (cache_dir_.size() > 1 && cache_dir_.back() == '/') cache_dir_.pop_back();
  // Temp directories of a daemon that died mid-pull ("<pid>" no longer alive) are removed.
  auto dir = OpenDirectory(cache_dir_);
  if (!dir.ok()) return;
  for (const auto& name : ListDir(dir->get())) {
    if (name.rfind(".tmp-", 0) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + 5));
    if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) continue;
    (void)RemoveAt(dir->get(), name);
  }
}

std::shared_ptr<std::mutex> ImageStore::LockFor(const std::string& digest) {
  std::lock_guard<std::mutex> g(mu_);
  auto& m = locks_[digest];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

std::optional<Image> ImageStore::Cached(const std::string& digest) {
  if (!ValidDigest(digest)) return std::nullopt;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = memo_.find(digest);
    if (it != memo_.end()) {
      struct stat st;
      if (::stat(it->second.rootfs.c_str(), &st) == 0) {
        Image img = it->second;
        img.from_cache = true;
        return img;
      }
      memo_.erase(it);
    }
  }
  std::string hex = HexOf(digest);
  std::string entry = cache_dir_ + "/" + hex;
  auto text = ReadSmallFile(entry + "/image.json");
  if (!text) {  // a manifest or index digest: refs/<hex> names the config's entry
    auto ref = ReadSmallFile(cache_dir_ + "/refs/" + hex);
    if (!ref || ref->size() != 64 || !IsLowerHex(*ref)) return std::nullopt;
    entry = cache_dir_ + "/" + *ref;
    text = ReadSmallFile(entry + "/image.json");
    if (!text) return std::nullopt;
  }
  auto img = ImageFromJson(*text, entry);
  if (!img) return std::nullopt;
  img->from_cache = true;
  std::lock_guard<std::mutex> g(mu_);
  memo_[digest] = *img;
  return img;
}

Result<Image> ImageStore::Pull(const std::string& image_ref) {
  DEPAI_ASSIGN_OR_RETURN(ImageRef ref, ParseImageRef(image_ref));
  auto lock = LockFor(ref.digest);
  std::lock_guard<std::mutex> g(*lock);
  if (auto img = Cached(ref.digest)) return *img;
  return PullLocked(ref);
}

Result<Image> ImageStore::PullLocked(const ImageRef& ref) {
  std::string where = ref.to_string();
  if (::mkdir(cache_dir_.c_str(), 0755) != 0 && errno != EEXIST)
    return SysErr(kOciIo, "create image cache " + Q(cache_dir_), errno);
  DEPAI_ASSIGN_OR_RETURN(UniqueFd cachefd, OpenDir(cache_dir_, kOciIo));
  std::string tmp_tpl = cache_dir_ + "/.tmp-" + std::to_string(::getpid()) + "-XXXXXX";
  std::vector<char> tpl(tmp_tpl.begin(), tmp_tpl.end());
  tpl.push_back('\0');
  if (!::mkdtemp(tpl.data())) return SysErr(kOciIo, "create temp dir in " + Q(cache_dir_), errno);
  std::string tmp = tpl.data();
  std::string tmp_name = tmp.substr(cache_dir_.size() + 1);
  struct Cleanup {
    int dirfd;
    std::string name;
    ~Cleanup() { (void)RemoveAt(dirfd, name); }
  } cleanup{cachefd.get(), tmp_name};
  DEPAI_ASSIGN_OR_RETURN(UniqueFd tmpfd, OpenDir(tmp, kOciIo));

  // 1. Fetch.
  Layout L;
  L.where = where;
  bool local = ref.transport != "docker";
  std::string local_path, local_ref;
  if (local) {
    std::tie(local_path, local_ref) = SplitLocal(ref.location);
    if (!UnderRoot(local_path, opts_.local_roots))
      return Err(kOciFetch, where + ": local images are only read from " +
                                (opts_.local_roots.empty() ? std::string("nowhere (local transports are off)")
                                                           : "below " + opts_.local_roots.front()));
  }
  auto skopeo = [&](const std::string& verb, std::vector<std::string> tail, size_t max_out) -> Result<ToolResult> {
    std::vector<std::string> argv = {skopeo_};
    if (ref.transport == "docker") argv.insert(argv.end(), {"--override-os", "linux", "--override-arch", kHostArch});
    argv.push_back(verb);
    argv.insert(argv.end(), tail.begin(), tail.end());
    DEPAI_ASSIGN_OR_RETURN(ToolResult t, RunTool(argv, opts_.skopeo_timeout_s, max_out));
    if (t.timed_out)
      return Err(kOciFetch, where + ": skopeo " + verb + " timed out after " + std::to_string(opts_.skopeo_timeout_s) +
                                " s" + (t.err.empty() ? "" : ": " + t.err));
    if (t.exit_code != 0)
      return Err(kOciFetch, where + ": skopeo " + verb + " failed (exit " + std::to_string(t.exit_code) + ")" +
                                (t.err.empty() ? "" : ": " + t.err));
    return t;
  };
  auto skopeo_copy = [&](const std::string& src, const std::string& dest_name) -> Status {
    return skopeo("copy", {"--quiet", src, "dir:" + tmp + "/" + dest_name}, 0).status();
  };
  Result<Resolved> resolved = Err(kOciFetch, "not fetched");
  if (ref.transport == "oci") {
    DEPAI_ASSIGN_OR_RETURN(L.dir, OpenDir(local_path, kOciFetch));
    L.ref_name = local_ref;
    resolved = Resolve(L, ref.digest);
  } else if (ref.transport == "oci-archive") {
    auto layout = MkdirsBeneath(tmpfd.get(), "layout", 0700);
    if (!layout.ok()) return Err(kOciIo, layout.error().message);
    DEPAI_TRY(ExtractLayoutArchive(local_path, layout->get(), opts_.max_image_bytes));
    L.dir = std::move(layout).value();
    L.ref_name = local_ref;
    resolved = Resolve(L, ref.digest);
  } else if (ref.transport == "docker-archive") {
    DEPAI_TRY(skopeo_copy(ref.skopeo_src(), "fetch"));
    DEPAI_ASSIGN_OR_RETURN(L.dir, OpenDir(tmp + "/fetch", kOciFetch));
    L.skopeo_dir = true;
    resolved = Resolve(L, ref.digest);
  } else {
    // docker://: ask the registry for the pinned manifest itself and hash it here. An image index
    // (a multi-arch pin, as registries show them) names this host's manifest, fetched by its digest.
    // A pin the registry does not know as a manifest may be a config digest: then the tag is copied
    // and its config must match.
    std::string repo = DockerTagless(ref.location);
    auto raw = skopeo("inspect", {"--raw", "docker://" + repo + "@" + ref.digest}, kMaxJsonBlob);
    std::string target = ref.digest;
    std::vector<std::string> aliases;
    if (raw.ok()) {
      if (raw->out_truncated) return Err(kOciLimit, where + ": the registry's manifest is larger than 4 MiB");
      std::string got = Sha256Digest(raw->out);
      if (got != ref.digest) return Err(kOciDigest, where + ": the registry returned a manifest that hashes to " + got);
      DEPAI_ASSIGN_OR_RETURN(json m, ParseJson(raw->out, where + ": the registry's manifest"));
      if (IsIndexType(Str(m, "mediaType")) || (!m.contains("config") && m.contains("manifests"))) {
        std::string pick;
        if (m.contains("manifests") && m["manifests"].is_array())
          for (const auto& e : m["manifests"]) {
            auto d = ParseDescriptor(e, where + " image index");
            if (d.ok() && IsManifestType(d->media_type) && HostPlatform(d->platform)) {
              pick = d->digest;
              break;
            }
          }
        if (pick.empty())
          return Err(kOciBadImage, where + ": the image index has no linux/" + std::string(kHostArch) + " image");
        target = pick;
        aliases.push_back(ref.digest);
      }
      DEPAI_TRY(skopeo_copy("docker://" + repo + "@" + target, "fetch"));
    } else if (repo != ref.location) {
      auto copied = skopeo_copy(ref.skopeo_src(), "fetch");
      if (!copied.ok())
        return Err(copied.error().code,
                   copied.error().message + " (and the pin is no manifest there: " + raw.error().message + ")");
    } else {
      return raw.error();
    }
    DEPAI_ASSIGN_OR_RETURN(L.dir, OpenDir(tmp + "/fetch", kOciFetch));
    L.skopeo_dir = true;
    resolved = Resolve(L, target);
    if (resolved.ok()) resolved->aliases.insert(resolved->aliases.end(), aliases.begin(), aliases.end());
  }
  if (!resolved.ok()) return resolved.error();
  Resolved& r = resolved.value();

  std::string chex = HexOf(r.config_digest);
  auto publish_refs = [&]() -> Status {
    std::vector<std::string> names = r.aliases;
    names.push_back(r.manifest_digest);
    names.push_back(ref.digest);
    if (::mkdir((cache_dir_ + "/refs").c_str(), 0755) != 0 && errno != EEXIST)
      return SysErr(kOciIo, "create " + Q(cache_dir_ + "/refs"), errno);
    for (const auto& d : names) {
      if (d == r.config_digest) continue;
      auto st = WriteFileAtomic(cache_dir_ + "/refs/" + HexOf(d), chex);
      if (!st.ok()) return Err(kOciIo, st.error().message);
    }
    return {};
  };
  auto finish = [&]() -> Result<Image> {
    DEPAI_TRY(publish_refs());
    auto text = ReadSmallFile(cache_dir_ + "/" + chex + "/image.json");
    auto img = text ? ImageFromJson(*text, cache_dir_ + "/" + chex) : std::nullopt;
    if (!img) return Err(kOciIo, where + ": cache entry " + chex + " is unreadable");
    std::lock_guard<std::mutex> g(mu_);
    memo_[ref.digest] = *img;
    img->from_cache = false;
    return *img;
  };
  // Another manifest of the same config (e.g. recompressed layers) unpacked it already.
  if (ReadSmallFile(cache_dir_ + "/" + chex + "/image.json")) return finish();

  uint64_t total = 0;
  for (const auto& l : r.layers) total += l.size;
  if (total > opts_.max_image_bytes)
    return Err(kOciLimit, where + ": layers hold " + std::to_string(total) + " bytes, more than " +
                              std::to_string(opts_.max_image_bytes));

  // 2. Unpack into <tmp>/entry/rootfs, checking each layer's digest and diff_id in the same pass.
  auto entry = MkdirsBeneath(tmpfd.get(), "entry", 0755);
  if (!entry.ok()) return Err(kOciIo, entry.error().message);
  auto rootfs = MkdirsBeneath(entry->get(), "rootfs", 0755);
  if (!rootfs.ok()) return Err(kOciIo, rootfs.error().message);
  if (::fchmod(rootfs->get(), 0755) != 0) return SysErr(kOciIo, "chmod rootfs", errno);  // whatever the umask
  UnpackOptions budget = opts_.unpack;
  Image img;
  img.manifest_digest = r.manifest_digest;
  img.config_digest = r.config_digest;
  img.config = r.config;
  img.architecture = r.architecture;
  img.os = r.os;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const Descriptor& d = r.layers[i];
    std::string what = where + ": layer " + std::to_string(i) + " (" + d.digest + ")";
    auto blob = OpenBeneath(L.dir.get(), L.BlobPath(d.digest), O_RDONLY | O_NONBLOCK);
    if (!blob.ok()) return Err(kOciFetch, what + ": " + blob.error().message);
    struct stat st;
    if (::fstat(blob->get(), &st) != 0 || !S_ISREG(st.st_mode))
      return Err(kOciBadImage, what + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) != d.size)
      return Err(kOciDigest,
                 what + " has " + std::to_string(st.st_size) + " bytes, its descriptor says " + std::to_string(d.size));
    ::fcntl(blob->get(), F_SETFL, ::fcntl(blob->get(), F_GETFL) & ~O_NONBLOCK);
    auto stats = UnpackLayerFd(rootfs->get(), blob->get(), opts_.unpack, &budget);
    if (!stats.ok()) {
      // A blob that is not the pinned one is reported as such, whatever it did to the unpacker.
      std::string got = HashFd(blob->get());
      if (!got.empty() && got != d.digest)
        return Err(kOciDigest,
                   what + ": the blob hashes to " + got + " (unpacking it failed: " + stats.error().message + ")");
      return Err(stats.error().code, what + ": " + stats.error().message);
    }
    if (stats->compressed_digest != d.digest || stats->compressed_size != d.size)
      return Err(kOciDigest, what + ": the blob hashes to " + stats->compressed_digest + " (" +
                                 std::to_string(stats->compressed_size) + " bytes)");
    if (stats->diff_id != r.diff_ids[i])
      return Err(kOciDigest,
                 what + ": uncompressed it hashes to " + stats->diff_id + ", the config's diff_id is " + r.diff_ids[i]);
    img.unpacked_bytes += stats->file_bytes;
  }

  // 3. Publish: image.json inside the entry, everything on disk, then one rename.
  auto st = WriteFileBeneath(entry->get(), "image.json", ImageJson(img).dump(2) + "\n", 0644);
  if (!st.ok()) return Err(kOciIo, st.error().message);
  if (::fchmod(entry->get(), 0755) != 0) return SysErr(kOciIo, "chmod cache entry", errno);
  if (::syncfs(entry->get()) != 0) return SysErr(kOciIo, "sync cache entry", errno);
  if (::renameat(tmpfd.get(), "entry", cachefd.get(), chex.c_str()) != 0) {
    int e = errno;
    // Another process published the same config first: use its entry.
    if (!(e == EEXIST || e == ENOTEMPTY) || !ReadSmallFile(cache_dir_ + "/" + chex + "/image.json"))
      return SysErr(kOciIo, "publish cache entry " + chex, e);
  }
  ::fsync(cachefd.get());
  return finish();
}

}  // namespace depai::provider
