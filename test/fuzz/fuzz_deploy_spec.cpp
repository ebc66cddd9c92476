// Deployment specs and manifests: arbitrary bytes never crash the YAML parser or the manifest
// validator; an accepted spec's manifest re-validates, hashes to the order's manifest_hash, and
// round-trips through JSON text unchanged; every rejection carries a message.
#include <cstdlib>
#include <string_view>

#include "client/deploy_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // base_dir points nowhere: file references must fail cleanly, never read the host.
  auto r = depai::client::ParseDeploySpec(in, "/nonexistent-depai-fuzz");
  if (r.ok()) {
    auto m = depai::client::ManifestFromJson(nlohmann::json::parse(r->manifest_json.dump()));
    if (!m.ok()) std::abort();
    if (depai::client::ManifestHash(depai::client::ManifestToJson(m.value())) != r->order.manifest_hash()) std::abort();
    if (r->order.groups_size() != 1 || r->order.groups(0).count() == 0) std::abort();
  } else if (r.error().message.empty()) {
    std::abort();
  }
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_discarded()) {
    auto m = depai::client::ManifestFromJson(j);
    if (!m.ok() && m.error().message.empty()) std::abort();
    if (m.ok() && !depai::client::ManifestFromJson(depai::client::ManifestToJson(m.value())).ok()) std::abort();
  }
  std::string s(in.substr(0, 32));
  (void)depai::client::ParseMicroDegrees(s, 90);
  (void)depai::client::SafeRelativePath(in);
  return 0;
}
