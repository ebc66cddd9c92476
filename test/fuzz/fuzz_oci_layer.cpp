// libFuzzer: an OCI image layer (tar, possibly compressed) from a hostile image, unpacked into a
// fresh root beside a sentinel directory; and an image reference. The target aborts when anything
// appears outside the root, which is the property UnpackLayerFd exists for.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "provider/oci.h"
#include "util/safe_path.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace depai;
  (void)provider::ParseImageRef(std::string_view(reinterpret_cast<const char*>(data), size < 512 ? size : 512));
  static const std::string base = [] {
    std::string b = (fs::temp_directory_path() / ("depai-fuzz-oci-" + std::to_string(::getpid()))).string();
    fs::create_directories(b);
    return b;
  }();
  const std::string root = base + "/r/root", sentinel = base + "/r/sentinel";
  RemoveTree(base + "/r");
  fs::create_directories(root);
  fs::create_directories(sentinel);
  int mfd = static_cast<int>(::syscall(SYS_memfd_create, "layer", 0));
  if (mfd < 0) return 0;
  UniqueFd layer(mfd);
  if (size && ::write(mfd, data, size) != static_cast<ssize_t>(size)) return 0;
  ::lseek(mfd, 0, SEEK_SET);
  auto rfd = OpenDirectory(root);
  if (!rfd.ok()) return 0;
  provider::UnpackOptions opts;
  opts.max_bytes = 8 << 20;
  opts.max_entries = 4096;
  (void)provider::UnpackLayerFd(rfd->get(), mfd, opts);
  // Nothing beside the root, nothing in the sentinel, nothing above.
  for (const auto& e : fs::directory_iterator(base + "/r"))
    if (e.path() != root && e.path() != sentinel) std::abort();
  if (!fs::is_empty(sentinel)) std::abort();
  for (const auto& e : fs::directory_iterator(base))
    if (e.path().filename() != "r") std::abort();
  return 0;
}
