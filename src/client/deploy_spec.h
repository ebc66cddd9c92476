// Deployment specs (YAML, Akash SDL in spirit) and workload manifests. See doc/deploy-spec.md.
//
// A spec has two halves: `services` (what to run) becomes the manifest, a JSON object sent to the
// winning provider off chain; resources/count/placement/pricing become a MsgCreateOrder. The order
// carries manifest_hash = SHA-256 of the manifest's canonical bytes (nlohmann::json::dump(): keys
// sorted, no spaces), so the provider can check that what it runs is what the buyer ordered.
//
// Also here: the byte strings a buyer signs to upload a manifest and to read a lease's status,
// logs and results (the provider daemon verifies the same bytes).
//
// Pure functions, thread-safe. Errors: codespace "deploy", code 1, with a message that names the
// field (e.g. "services.optimizer.timeout_s: must be a non-negative integer, got 'abc' (line 9)").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "depai/market/v1/market.pb.h"
#include "util/bytes.h"
#include "util/result.h"

namespace depai::client {

inline constexpr size_t kMaxManifestBytes = 2 * 1024 * 1024;  // canonical JSON, files included
inline constexpr uint64_t kDefaultTimeoutS = 3600;
inline constexpr uint64_t kMaxTimeoutS = 30 * 24 * 3600;

enum class RestartPolicy { kNever, kOnFailure, kAlways };
std::string RestartPolicyName(RestartPolicy r);

struct ServiceSpec {
  std::string name;
  std::string runtime = "exec";      // exec | oci
  std::string image;                 // oci: <transport>:<location>@sha256:<digest>
  std::vector<std::string> command;  // argv[0] and fixed arguments (oci: overrides the Entrypoint)
  std::vector<std::string> args;     // appended to command (oci: overrides the image's Cmd)
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;  // relative path in the working directory -> content
  std::vector<std::string> artifacts;        // relative paths hashed and served after exit
  uint64_t timeout_s = kDefaultTimeoutS;     // wall clock per run; 0 = none (only with restart: always)
  RestartPolicy restart = RestartPolicy::kNever;
  std::vector<uint16_t> expose;  // TCP ports the buyer reaches through the provider endpoint
  bool egress = false;           // asks for outbound network (the provider must allow it)
};

struct Manifest {
  std::string version = "1";
  std::map<std::string, ServiceSpec> services;  // by name
};

struct DeploySpec {
  Manifest manifest;
  nlohmann::json manifest_json;  // ManifestToJson(manifest)
  Bytes manifest_hash;           // 32 bytes
  // Everything except `owner` (the signer) is filled, manifest_hash included.
  depai::market::v1::MsgCreateOrder order;
};

// Parses a spec. `base_dir` resolves `files` entries given as paths (empty: the current directory).
Result<DeploySpec> ParseDeploySpec(std::string_view yaml, const std::string& base_dir);
// Reads `path` and parses it with base_dir = the spec's directory.
Result<DeploySpec> LoadDeploySpec(const std::string& path);

nlohmann::json ManifestToJson(const Manifest& m);  // files as base64
// Validates a manifest received as JSON (the provider side); same rules as the YAML path.
Result<Manifest> ManifestFromJson(const nlohmann::json& j);
std::string CanonicalManifestBytes(const nlohmann::json& manifest);  // manifest.dump()
Bytes ManifestHash(const nlohmann::json& manifest);                  // SHA-256(CanonicalManifestBytes)

// "52.52" -> 52520000. Optional sign, at most 6 decimals, range [-limit_deg, limit_deg]. No floating point.
Result<int64_t> ParseMicroDegrees(std::string_view s, int64_t limit_deg);
// "0.5" km -> 500 m (at most 3 decimals).
Result<uint64_t> ParseKmToMeters(std::string_view s);

// Safe relative path: [A-Za-z0-9._-] segments separated by '/', no "." / ".." segments, <= 255 bytes.
bool SafeRelativePath(std::string_view p);

// What the buyer signs (ed25519) to upload a manifest to a provider.
std::string ManifestSignBytes(const std::string& chain_id, uint64_t lease_id, const Bytes& manifest_hash);
// What the buyer signs to read a lease's status, logs or results (X-Depai-* headers).
std::string ReadSignBytes(uint64_t lease_id, int64_t time_ms);
inline constexpr int64_t kReadAuthWindowMs = 5 * 60 * 1000;

}  // namespace depai::client
