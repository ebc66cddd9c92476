// Deployment spec parsing: the manifest and its hash, the order fields, and clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "client/deploy_spec.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"

namespace depai::client {
namespace {

const char* kSpec = R"(version: "1"
services:
  optimizer:
    runtime: exec
    command: ["python3", "optimize.py"]
    args: ["--stops", "stops.json"]
    env: {SEED: "42"}
    files:
      optimize.py: {content: "print('hi')\n"}
      stops.json: {content: "[]"}
    artifacts: ["route.json"]
    timeout_s: 600
    restart: never
resources: {cpu_millicores: 1000, memory_mib: 512, storage: [{class: ssd, size_mib: 1024}],
            gpus: [{vendor: nvidia, model: h100, count: 1, vram_mib: 81920}], bandwidth_mbps: 10}
count: 2
placement:
  region: eu-west
  attributes: {tier: gold, arch: x86_64}
  auditor_mode: any_of
  center: {lat: 52.52, lon: -13.4}
  max_distance_km: 500.5
pricing: {max_price_per_block: 100udpai, deposit: 100000udpai, bid_window: 5, auto_select: false}
)";

std::string ErrorOf(const std::string& yaml) {
  auto r = ParseDeploySpec(yaml, "");
  EXPECT_FALSE(r.ok()) << yaml;
  return r.ok() ? "" : r.error().message;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(DeploySpec, ParsesManifestAndOrder) {
  auto r = ParseDeploySpec(kSpec, "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& s = r.value();
  ASSERT_EQ(s.manifest.services.size(), 1u);
  const auto& svc = s.manifest.services.at("optimizer");
  EXPECT_EQ(svc.command, (std::vector<std::string>{"python3", "optimize.py"}));
  EXPECT_EQ(svc.args, (std::vector<std::string>{"--stops", "stops.json"}));
  EXPECT_EQ(svc.env.at("SEED"), "42");
  EXPECT_EQ(svc.files.at("optimize.py"), "print('hi')\n");
  EXPECT_EQ(svc.timeout_s, 600u);
  EXPECT_EQ(svc.restart, RestartPolicy::kNever);

  // The manifest is canonical JSON (sorted keys, no spaces) and the hash is SHA-256 of those bytes.
  std::string canon = s.manifest_json.dump();
  EXPECT_EQ(canon.find(' '), std::string::npos);
  EXPECT_LT(canon.find("\"services\""), canon.find("\"version\""));
  EXPECT_EQ(s.manifest_hash, crypto::Sha256(canon));
  EXPECT_EQ(s.order.manifest_hash(), s.manifest_hash);
  EXPECT_EQ(s.manifest_json["services"]["optimizer"]["files"]["stops.json"], crypto::Base64Encode("[]"));

  const auto& o = s.order;
  ASSERT_EQ(o.groups_size(), 1);
  EXPECT_EQ(o.groups(0).count(), 2u);
  EXPECT_EQ(o.groups(0).units().cpu_millicores(), 1000u);
  EXPECT_EQ(o.groups(0).units().memory_mib(), 512u);
  EXPECT_EQ(o.groups(0).units().bandwidth_mbps(), 10u);
  EXPECT_EQ(o.groups(0).units().storage(0).storage_class(), "ssd");
  EXPECT_EQ(o.groups(0).units().storage(0).size_mib(), 1024u);
  EXPECT_EQ(o.groups(0).units().gpus(0).model(), "h100");
  EXPECT_EQ(o.groups(0).units().gpus(0).vram_mib(), 81920u);
  EXPECT_EQ(o.placement().region(), "eu-west");
  ASSERT_EQ(o.placement().attributes_size(), 2);
  EXPECT_EQ(o.placement().attributes(0).key(), "arch");  // sorted
  EXPECT_EQ(o.placement().attributes(1).value(), "gold");
  EXPECT_EQ(o.placement().auditor_mode(), depai::market::v1::AUDITOR_MODE_ANY_OF);
  EXPECT_EQ(o.placement().center().lat_e6(), 52520000);
  EXPECT_EQ(o.placement().center().lon_e6(), -13400000);
  EXPECT_EQ(o.placement().max_distance_m(), 500500u);
  EXPECT_EQ(o.max_price_per_block().amount(), "100");
  EXPECT_EQ(o.max_price_per_block().denom(), "udpai");
  EXPECT_EQ(o.deposit().amount(), "100000");
  EXPECT_EQ(o.bid_window_blocks(), 5);
  EXPECT_FALSE(o.auto_select());
  EXPECT_FALSE(o.reopen_on_provider_close());
}

TEST(DeploySpec, HashIsStableAndChangesWithContent) {
  auto a = ParseDeploySpec(kSpec, "");
  auto b = ParseDeploySpec(kSpec, "");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->manifest_hash, b->manifest_hash);
  auto c = ParseDeploySpec(Replace(kSpec, "SEED: \"42\"", "SEED: \"43\""), "");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->manifest_hash, c->manifest_hash);
  // Pricing does not belong to the manifest: the hash stays.
  auto d = ParseDeploySpec(Replace(kSpec, "max_price_per_block: 100udpai", "max_price_per_block: 90udpai"), "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(a->manifest_hash, d->manifest_hash);
}

TEST(DeploySpec, ManifestJsonRoundTrip) {
  auto a = ParseDeploySpec(kSpec, "");
  ASSERT_TRUE(a.ok());
  auto m = ManifestFromJson(a->manifest_json);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(ManifestToJson(m.value()).dump(), a->manifest_json.dump());
  // Through text, as the provider receives it.
  auto parsed = nlohmann::json::parse(a->manifest_json.dump());
  EXPECT_EQ(ManifestHash(parsed), a->manifest_hash);
}

TEST(DeploySpec, ManifestFromJsonRejectsBadInput) {
  auto a = ParseDeploySpec(kSpec, "");
  ASSERT_TRUE(a.ok());
  auto bad = [&](auto mutate, const std::string& needle) {
    nlohmann::json j = a->manifest_json;
    mutate(j);
    auto r = ManifestFromJson(j);
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  bad([](auto& j) { j["version"] = "2"; }, "version");
  bad([](auto& j) { j["extra"] = 1; }, "unknown field 'extra'");
  bad([](auto& j) { j["services"]["optimizer"]["files"]["../evil"] = "AA=="; }, "safe relative path");
  bad([](auto& j) { j["services"]["optimizer"]["files"]["x"] = "!!"; }, "base64");
  bad([](auto& j) { j["services"]["optimizer"]["timeout_s"] = -1; }, "timeout_s");
  bad([](auto& j) { j["services"]["optimizer"]["runtime"] = "docker"; }, "unsupported runtime 'docker'");
  bad([](auto& j) { j["services"]["optimizer"]["command"] = nlohmann::json::array(); }, "command");
  bad([](auto& j) { j["services"]["optimizer"].erase("restart"); }, "restart: missing");
  bad([](auto& j) { j["services"]["optimizer"]["env"]["1BAD"] = "x"; }, "invalid variable name");
  bad([](auto& j) { j = nlohmann::json::array(); }, "JSON object");
}

TEST(DeploySpec, FilesFromPathsRelativeToTheSpec) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("depai-spec-" + std::to_string(::getpid()));
  fs::create_directories(dir / "src");
  std::ofstream(dir / "src" / "main.py") << "print(42)\n";
  std::ofstream(dir / "spec.yaml") << R"(version: "1"
services:
  job: {command: [python3, main.py], files: {main.py: src/main.py}}
resources: {cpu_millicores: 500}
pricing: {max_price_per_block: 5udpai, deposit: 1000udpai}
)";
  auto r = LoadDeploySpec((dir / "spec.yaml").string());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->manifest.services.at("job").files.at("main.py"), "print(42)\n");
  EXPECT_EQ(r->manifest.services.at("job").timeout_s, kDefaultTimeoutS);
  EXPECT_TRUE(r->order.auto_select());  // default
  EXPECT_EQ(r->order.groups(0).count(), 1u);
  fs::remove(dir / "src" / "main.py");
  auto missing = LoadDeploySpec((dir / "spec.yaml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("services.job.files.main.py"), std::string::npos) << missing.error().message;
  fs::remove_all(dir);
  auto nofile = LoadDeploySpec((dir / "spec.yaml").string());
  ASSERT_FALSE(nofile.ok());
  EXPECT_NE(nofile.error().message.find("cannot read"), std::string::npos);
}

TEST(DeploySpec, ErrorsNameTheField) {
  auto has = [](const std::string& msg, const std::string& needle) {
    EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
  };
  has(ErrorOf("version: \"1\"\nservices: [\n"), "not valid YAML");
  has(ErrorOf(""), "empty");
  has(ErrorOf(Replace(kSpec, "version: \"1\"", "version: \"9\"")), "unsupported version '9'");
  has(ErrorOf(Replace(kSpec, "    runtime: exec\n", "    comand: [x]\n")), "unknown field 'services.optimizer.comand'");
  has(ErrorOf(Replace(kSpec, "timeout_s: 600", "timeout_s: ten")), "services.optimizer.timeout_s");
  has(ErrorOf(Replace(kSpec, "timeout_s: 600", "timeout_s: ten")), "line 12");
  has(ErrorOf(Replace(kSpec, "timeout_s: 600", "timeout_s: 0")), "only allowed with restart: always");
  has(ErrorOf(Replace(kSpec, "restart: never", "restart: sometimes")), "services.optimizer.restart");
  has(ErrorOf(Replace(kSpec, "runtime: exec", "runtime: docker")), "unsupported runtime 'docker'");
  has(ErrorOf(Replace(kSpec, "artifacts: [\"route.json\"]", "artifacts: [\"/etc/passwd\"]")), "safe relative path");
  has(ErrorOf(Replace(kSpec, "artifacts: [\"route.json\"]", "artifacts: [\"../x\"]")), "safe relative path");
  has(ErrorOf(Replace(kSpec, "cpu_millicores: 1000", "cpu_millicores: -1")), "resources.cpu_millicores");
  has(ErrorOf(Replace(kSpec, "count: 2", "count: 0")), "count: must be at least 1");
  has(ErrorOf(Replace(kSpec, "lat: 52.52", "lat: 91")), "placement.center.lat");
  has(ErrorOf(Replace(kSpec, "lat: 52.52", "lat: 52.1234567")), "more than 6 decimal places");
  has(ErrorOf(Replace(kSpec, "lon: -13.4", "lon: 1e3")), "placement.center.lon");
  has(ErrorOf(Replace(kSpec, "auditor_mode: any_of", "auditor_mode: most")), "placement.auditor_mode");
  has(ErrorOf(Replace(kSpec, "auditor_mode: any_of", "auditors: [bob]")), "placement.auditors: 'bob'");
  has(ErrorOf(Replace(kSpec, "max_price_per_block: 100udpai", "max_price_per_block: 100")),
      "pricing.max_price_per_block");
  has(ErrorOf(Replace(kSpec, "max_price_per_block: 100udpai", "max_price_per_block: 100ucredit")),
      "must be a positive amount of udpai");
  has(ErrorOf(Replace(kSpec, "deposit: 100000udpai, ", "")), "pricing.deposit: missing");
  has(ErrorOf(Replace(kSpec, "bid_window: 5", "bid_window: 0")), "pricing.bid_window");
  has(ErrorOf(Replace(kSpec, "auto_select: false", "auto_select: maybe")), "pricing.auto_select");
  has(ErrorOf(Replace(kSpec, "env: {SEED: \"42\"}", "env: {\"BAD-NAME\": x}")), "invalid variable name");
  has(ErrorOf(Replace(kSpec, "  optimizer:\n", "  Optimizer!:\n")), "service names");
  has(ErrorOf(Replace(kSpec, "    command: [\"python3\", \"optimize.py\"]\n", "")),
      "services.optimizer.command: missing");
  has(ErrorOf(Replace(kSpec, "storage: [{class: ssd, size_mib: 1024}]", "storage: [{class: ssd}]")),
      "resources.storage[0]");
  // Found by fuzz_deploy_spec: bytes that are not UTF-8 cannot go into the JSON manifest.
  has(ErrorOf(Replace(kSpec, "\"--stops\"", "\"--st\xcb\xcbops\"")), "services.optimizer.args");
  has(ErrorOf(Replace(kSpec, "SEED: \"42\"", "SEED: \"\xff\"")), "UTF-8");
}

TEST(DeploySpec, AlwaysServicesDefaultToNoTimeout) {
  auto r = ParseDeploySpec(R"(version: "1"
services: {web: {command: [sleep, "1000"], restart: always}}
resources: {cpu_millicores: 100}
pricing: {max_price_per_block: 1udpai, deposit: 1000udpai}
)",
                           "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->manifest.services.at("web").timeout_s, 0u);
  EXPECT_EQ(r->manifest.services.at("web").restart, RestartPolicy::kAlways);
}

TEST(DeploySpec, MicroDegreesWithoutFloatingPoint) {
  EXPECT_EQ(ParseMicroDegrees("0", 90).value(), 0);
  EXPECT_EQ(ParseMicroDegrees("52.52", 90).value(), 52520000);
  EXPECT_EQ(ParseMicroDegrees("-0.000001", 90).value(), -1);
  EXPECT_EQ(ParseMicroDegrees("+13.404954", 180).value(), 13404954);
  EXPECT_EQ(ParseMicroDegrees("-180", 180).value(), -180000000);
  EXPECT_EQ(ParseMicroDegrees("90.000000", 90).value(), 90000000);
  EXPECT_FALSE(ParseMicroDegrees("90.000001", 90).ok());
  EXPECT_FALSE(ParseMicroDegrees("1.", 90).ok());
  EXPECT_FALSE(ParseMicroDegrees(".5", 90).ok());
  EXPECT_FALSE(ParseMicroDegrees("1.2.3", 90).ok());
  EXPECT_FALSE(ParseMicroDegrees("", 90).ok());
  EXPECT_FALSE(ParseMicroDegrees("-", 90).ok());
  EXPECT_FALSE(ParseMicroDegrees("99999999999999999999", 90).ok());
  EXPECT_EQ(ParseKmToMeters("0.5").value(), 500u);
  EXPECT_EQ(ParseKmToMeters("12").value(), 12000u);
  EXPECT_FALSE(ParseKmToMeters("0").ok());
  EXPECT_FALSE(ParseKmToMeters("-3").ok());
  EXPECT_FALSE(ParseKmToMeters("1.2345").ok());
}

TEST(DeploySpec, SafeRelativePaths) {
  EXPECT_TRUE(SafeRelativePath("route.json"));
  EXPECT_TRUE(SafeRelativePath("out/route-1_a.json"));
  EXPECT_FALSE(SafeRelativePath(""));
  EXPECT_FALSE(SafeRelativePath("/abs"));
  EXPECT_FALSE(SafeRelativePath("a/../b"));
  EXPECT_FALSE(SafeRelativePath(".."));
  EXPECT_FALSE(SafeRelativePath("a//b"));
  EXPECT_FALSE(SafeRelativePath("a/"));
  EXPECT_FALSE(SafeRelativePath("sp ace"));
  EXPECT_FALSE(SafeRelativePath(std::string(300, 'a')));
}

TEST(DeploySpec, SignBytes) {
  Bytes h(32, '\x01');
  EXPECT_EQ(ManifestSignBytes("depai-devnet-1", 7, h), "depai-manifest/v1\ndepai-devnet-1\n7\n" + HexEncode(h));
  EXPECT_EQ(ReadSignBytes(7, 1700000000000), "depai-read/v1\n7\n1700000000000");
}

}  // namespace
}  // namespace depai::client
