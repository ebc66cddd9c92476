// OCI images for the provider's sandboxed (`oci`) runtime. See doc/provider-operations.md.
//
// An image reference is `<transport>:<location>@sha256:<64 hex>`; the digest pins the image
// manifest's digest, its config digest (the image id), or an image index's digest (a multi-arch
// pin: this host's linux/amd64 entry is used). ImageStore::Pull fetches the image (`oci:` layout
// directories and `oci-archive:` tars are read directly; `docker://` and `docker-archive:` go
// through `skopeo copy <src> dir:<tmp>`, a format that keeps the manifest and config bytes exactly as
// the source has them, unlike `oci:` which converts docker manifests and configs; for `docker://`
// the pinned manifest or index is first fetched with `skopeo inspect --raw` and hashed here), and
// verifies every byte itself, never trusting the tool's word: sha256 of the manifest, of the config
// or of the index equals the pin, each blob's sha256 and size equal its descriptor, each layer's
// uncompressed sha256 equals config.rootfs.diff_ids[i]. The layers are unpacked in order into
// <cache>/<config hex>/rootfs with whiteouts applied, in a temporary directory renamed into place
// only when everything checked out, so a crash or a bad image never leaves a rootfs that a later
// Pull would use. A second Pull of a cached image reads one small JSON file (<cache>/<config
// hex>/image.json; <cache>/refs/<hex> maps manifest and index digests to it). Nothing is evicted.
//
// UnpackLayer is the hostile-input boundary: every member is created with *at() calls relative to
// directory fds opened beneath the root without following any symlink (util/safe_path.h); members
// that would escape the root are refused, device nodes are skipped, set-id bits are stripped.
//
// Thread-safety: ImageStore::Pull may be called from any thread; two Pulls of the same image wait
// for one another (the second finds the cache), different images are pulled in parallel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace depai::provider {

// Error codes of codespace "oci".
enum OciCode : uint32_t {
  kOciBadRef = 1,        // a reference that does not parse
  kOciFetch = 2,         // skopeo failed, timed out, or a local image is missing/unreadable
  kOciBadImage = 3,      // malformed layout, index, manifest or config; unsupported media type/platform
  kOciDigest = 4,        // a digest or size mismatch: the pin, a blob, a layer's diff_id
  kOciHostileLayer = 5,  // a layer member that would escape the root (the message names it)
  kOciLimit = 6,         // a size or count limit was exceeded
  kOciIo = 7,            // a local filesystem error while unpacking or caching
};

struct ImageRef {
  std::string transport;  // "docker", "oci-archive", "docker-archive" or "oci"
  std::string location;   // "docker.io/library/alpine:3.19", "/path/img.tar", "/path/layout[:ref]"
  std::string digest;     // "sha256:<64 lowercase hex>"
  // The source argument for `skopeo copy`: "docker://<location>" (with "@<digest>" when the location
  // carries no tag), "<transport>:<location>". Pull asks a registry for "<repo>@<digest>" first and
  // copies the tag only when the registry knows no manifest of that digest (a config-digest pin).
  std::string skopeo_src() const;
  std::string to_string() const;  // the reference as it parses back
};
// Parses `<transport>:<location>@sha256:<64 hex>`. Transports: `docker://`, `oci-archive:`,
// `docker-archive:`, `oci:`. Refuses an empty location, control characters or whitespace, a location
// starting with '-', an upper-case or short digest, and any algorithm but sha256. Codespace "oci".
Result<ImageRef> ParseImageRef(std::string_view s);

struct ImageConfig {
  std::vector<std::string> entrypoint, cmd, env;  // env as "K=V"
  std::string working_dir, user;                  // "" when the image sets none
};

struct Image {
  std::string manifest_digest, config_digest;  // "sha256:..."
  std::string rootfs;                          // absolute path of the unpacked, read-only-by-convention tree
  ImageConfig config;
  std::string architecture, os;  // of the image config ("amd64", "linux")
  uint64_t unpacked_bytes = 0;   // the regular files' bytes in rootfs
  bool from_cache = false;       // true when this Pull did no fetching or unpacking
};

struct UnpackOptions {
  uint64_t max_bytes = 64ull << 30;  // uncompressed file bytes, over all layers of one image
  uint64_t max_entries = 1'000'000;  // tar members, over all layers of one image
  // Copy the owner's r and x bits to group and other (0700 -> 0755, 0600 -> 0644): owners are not
  // preserved (every file belongs to the daemon), so a workload running as another uid could not read
  // the files of an image built for root otherwise. Off: the modes as in the layer (set-id bits
  // always stripped).
  bool share_owner_bits = false;
};

struct UnpackStats {
  uint64_t entries = 0;                    // members seen (whiteout markers included)
  uint64_t file_bytes = 0;                 // bytes written to regular files
  uint64_t skipped = 0;                    // device nodes, fifos, sockets: not created
  std::string compressed_digest, diff_id;  // "sha256:..." of the layer as read and as decompressed
  uint64_t compressed_size = 0, uncompressed_size = 0;
};

// Extracts one layer (tar, tar+gzip, tar+zstd if libarchive has it) beneath the directory `rootfd`.
// Refuses the whole layer (error kOciHostileLayer, the message names the member) on: absolute member
// names, ".." components, hard links whose target is absolute or has "..", hard links to a directory
// or to nothing, symlinks whose target escapes the root lexically (SymlinkStaysInside), any member
// whose path passes through a symlink (OpenBeneath refuses). Never follows a link while extracting.
// Character/block devices, fifos and sockets are skipped silently (counted in UnpackStats::skipped).
// Whiteouts: ".wh.<name>" removes <name> of a lower layer, ".wh..wh..opq" empties its directory of
// what lower layers put there; neither marker is created. Modes: setuid/setgid/sticky bits stripped,
// directories always get u+rwx (so later layers and the cache's cleanup can write and remove in them);
// owners, xattrs (file capabilities included) and ACLs are not preserved; regular files keep their
// mtime. On an error the root may hold part of the layer: the caller discards it (ImageStore does).
Status UnpackLayer(int rootfd, const std::string& layer_path);
// The same from an open file (read from its current offset), with limits; also returns the layer's
// digests computed in the same pass, which the caller compares with the manifest and the config.
// `budget` (optional) is decremented by what the layer used, so limits can span several layers.
Result<UnpackStats> UnpackLayerFd(int rootfd, int layer_fd, const UnpackOptions& opts = {},
                                  UnpackOptions* budget = nullptr);

struct ImageStoreOptions {
  int skopeo_timeout_s = 900;              // one `skopeo copy`
  uint64_t max_image_bytes = 16ull << 30;  // compressed bytes fetched or read from an archive
  UnpackOptions unpack{.max_bytes = 64ull << 30, .max_entries = 1'000'000, .share_owner_bits = true};
  // Locations of `oci:`, `oci-archive:` and `docker-archive:` references must lie under one of these
  // absolute directories (they name files on the provider's host); empty: local transports refused.
  // The default ImageStore(cache_dir, skopeo) allows "/" (any path): tests, devnets.
  std::vector<std::string> local_roots = {"/"};
};

class ImageStore {
 public:
  explicit ImageStore(std::string cache_dir, std::string skopeo = "skopeo");
  ImageStore(std::string cache_dir, std::string skopeo, ImageStoreOptions opts);
  // Fetches, verifies and unpacks (see the top of this file), or answers from the cache. Errors:
  // codespace "oci", codes OciCode.
  Result<Image> Pull(const std::string& image_ref);
  // The cached image pinned by `digest` ("sha256:..", a manifest or a config digest), if any.
  std::optional<Image> Cached(const std::string& digest);
  const std::string& cache_dir() const { return cache_dir_; }

 private:
  Result<Image> PullLocked(const ImageRef& ref);
  std::shared_ptr<std::mutex> LockFor(const std::string& digest);

  std::string cache_dir_, skopeo_;
  ImageStoreOptions opts_;
  std::mutex mu_;  // guards locks_ and memo_
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
  std::map<std::string, Image> memo_;  // pinned digest -> image, filled by Pull and Cached
};

// sha256 of a byte string as "sha256:<hex>".
std::string Sha256Digest(std::string_view data);

}  // namespace depai::provider
