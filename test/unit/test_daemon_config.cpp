// Provider daemon configuration (TOML) and pricing: the built-in rule, price scripts, errors.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "provider/config.h"

namespace depai::provider {
namespace {

const char* kToml = R"(key = "dave"
listen = "127.0.0.1:9000"
[provider]
region = "eu-west"
lat = "52.52"
lon = "-13.4"
attributes = {tier = "gold"}
[inventory]
cpu_millicores = 4000
memory_mib = 8192
gpus = [{vendor = "nvidia", model = "h100", count = 2, vram_mib = 81920}]
storage = [{class = "ssd", size_mib = 1000}]
[pricing]
base = 1
per_cpu_core = 20
per_memory_gib = 10
per_gpu = {h100 = 400}
per_storage_gib = {ssd = 3}
[daemon]
withdraw_every_blocks = 7
)";

nlohmann::json Order(uint64_t cpu, uint64_t mem, uint32_t count, bool gpu = false, uint64_t ssd = 0) {
  nlohmann::json units{{"cpu_millicores", std::to_string(cpu)}, {"memory_mib", std::to_string(mem)}};
  if (gpu) units["gpus"] = {{{"model", "h100"}, {"count", 1}, {"vram_mib", "81920"}}};
  if (ssd) units["storage"] = {{{"storage_class", "ssd"}, {"size_mib", std::to_string(ssd)}}};
  return nlohmann::json{{"groups", {{{"name", "main"}, {"count", count}, {"units", units}}}}};
}

TEST(DaemonConfig, ParsesEverySection) {
  auto c = ParseConfig(kToml, "/tmp");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->key, "dave");
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9000");  // default from listen
  EXPECT_EQ(c->location.lat_e6(), 52520000);
  EXPECT_EQ(c->location.lon_e6(), -13400000);
  EXPECT_EQ(c->attributes.at("tier"), "gold");
  EXPECT_EQ(c->inventory.gpus(0).count(), 2u);
  EXPECT_EQ(c->inventory.storage(0).size_mib(), 1000u);
  EXPECT_EQ(c->withdraw_every_blocks, 7);
  EXPECT_EQ(c->manifest_timeout_blocks, 50);  // default
}

TEST(DaemonConfig, ErrorsNameTheKey) {
  auto err = [](const std::string& text) {
    auto c = ParseConfig(text, "/tmp");
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.error().message;
  };
  auto rep = [](std::string s, const std::string& a, const std::string& b) {
    return s.replace(s.find(a), a.size(), b);
  };
  EXPECT_NE(err(rep(kToml, "key = \"dave\"", "")).find("key: missing"), std::string::npos);
  EXPECT_NE(err(rep(kToml, "region =", "regoin =")).find("unknown key 'provider.regoin'"), std::string::npos);
  EXPECT_NE(err(rep(kToml, "lat = \"52.52\"", "lat = 52.52")).find("write it as a string"), std::string::npos);
  EXPECT_NE(err(rep(kToml, "lat = \"52.52\"", "lat = \"95\"")).find("provider.lat"), std::string::npos);
  EXPECT_NE(err(rep(kToml, "per_gpu = {h100 = 400}", "")).find("no price for the inventory's GPU model 'h100'"),
            std::string::npos);
  EXPECT_NE(err(rep(kToml, "cpu_millicores = 4000", "cpu_millicores = -1")).find("inventory.cpu_millicores"),
            std::string::npos);
  EXPECT_NE(err("key = \"x\"\n[pricing\n").find("invalid TOML"), std::string::npos);
  EXPECT_NE(err(rep(kToml, "[daemon]", "script = \"/nonexistent/price\"\n[daemon]")).find("not an executable"),
            std::string::npos);
  EXPECT_NE(err(rep(kToml, "listen = \"127.0.0.1:9000\"", "listen = \"nowhere\"")).find("listen"), std::string::npos);
}

TEST(DaemonConfig, RulePricePerUnitTimesCount) {
  auto c = ParseConfig(kToml, "/tmp");
  ASSERT_TRUE(c.ok());
  // 1 base + 20 per core + 10 per GiB, rounded up per unit.
  EXPECT_EQ(RulePrice(c->rule, Order(1000, 1024, 1)).value(), 1u + 20 + 10);
  EXPECT_EQ(RulePrice(c->rule, Order(500, 512, 1)).value(), 1u + 10 + 5);
  EXPECT_EQ(RulePrice(c->rule, Order(1, 1, 1)).value(), 1u + 1 + 1);  // ceilings
  EXPECT_EQ(RulePrice(c->rule, Order(1000, 1024, 3)).value(), 3u * 31);
  EXPECT_EQ(RulePrice(c->rule, Order(1000, 0, 1, true, 2048)).value(), 1u + 20 + 400 + 6);
  nlohmann::json bad = Order(1000, 0, 1);
  bad["groups"][0]["units"]["gpus"] = {{{"model", "a100"}, {"count", 1}}};
  auto r = RulePrice(c->rule, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'a100'"), std::string::npos);
  EXPECT_EQ(OrderTotals(Order(1000, 1024, 3, true, 10)).to_json(), (nlohmann::json{{"cpu_millicores", 3000},
                                                                                   {"memory_mib", 3072},
                                                                                   {"bandwidth_mbps", 0},
                                                                                   {"gpus", {{"h100", 3}}},
                                                                                   {"storage", {{"ssd", 30}}}}));
}

TEST(DaemonConfig, FreeInventoryNamesWhatIsShort) {
  Totals free;
  free.cpu_millicores = 1000;
  free.memory_mib = 512;
  free.gpus["h100"] = 1;
  EXPECT_EQ(free.missing(OrderTotals(Order(1000, 512, 1))), "");
  EXPECT_EQ(free.missing(OrderTotals(Order(1000, 1024, 1))), "memory_mib: need 1024, free 512");
  EXPECT_EQ(free.missing(OrderTotals(Order(100, 100, 2, true))), "gpu h100: need 2, free 1");
}

TEST(DaemonConfig, PriceScript) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("depai-price-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto script = [&](const std::string& name, const std::string& body) {
    std::string p = (dir / name).string();
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    ::chmod(p.c_str(), 0755);
    return p;
  };
  // Reads the JSON on stdin: prices 7 per CPU core.
  auto ok = script("ok.sh",
                   "python3 -c 'import json,sys; r=json.load(sys.stdin)[\"resources\"]; "
                   "print(r[\"cpu_millicores\"] * 7 // 1000)'");
  auto p = RunPriceScript(ok, nlohmann::json{{"resources", {{"cpu_millicores", 3000}}}}, 5000);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p.value(), std::optional<uint64_t>(21));
  auto skip = RunPriceScript(script("skip.sh", "cat >/dev/null; echo skip"), nlohmann::json::object(), 5000);
  ASSERT_TRUE(skip.ok());
  EXPECT_FALSE(skip.value().has_value());
  auto junk = RunPriceScript(script("junk.sh", "echo cheap"), nlohmann::json::object(), 5000);
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().message.find("printed 'cheap'"), std::string::npos);
  auto fail = RunPriceScript(script("fail.sh", "exit 3"), nlohmann::json::object(), 5000);
  EXPECT_FALSE(fail.ok());
  auto slow = RunPriceScript(script("slow.sh", "sleep 10; echo 5"), nlohmann::json::object(), 300);
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.error().message.find("timed out after 300ms"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace depai::provider

namespace depai::provider {
namespace {

TEST(DaemonConfig, SandboxTableAndGpuDevices) {
  std::string base = kToml;
  auto with = [&](const std::string& sandbox) { return ParseConfig(base + "[sandbox]\n" + sandbox, "/tmp"); };
  auto c = with(
      "mode = \"bwrap\"\nimage_dirs = [\"/srv/images\"]\ngpu_libs = [\"/usr/lib/libcuda.so.1\"]\n"
      "pids_max = 64\nallow_egress = true\nstate_dir = \"state\"\nmax_image_mib = 100\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->sandbox.image_dirs, std::vector<std::string>{"/srv/images"});
  EXPECT_EQ(c->sandbox.gpu_libs, std::vector<std::string>{"/usr/lib/libcuda.so.1"});
  EXPECT_EQ(c->sandbox.pids_max, 64u);
  EXPECT_TRUE(c->sandbox.allow_egress);
  EXPECT_EQ(c->sandbox.state_dir, "/tmp/state");
  EXPECT_EQ(c->sandbox.max_image_mib, 100u);
  EXPECT_EQ(c->gpu_devices.at("h100"), (std::vector<uint32_t>{0, 1}));  // the next `count` indices
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"mode = \"docker\"\n", "sandbox.mode"},
           {"image_dirs = [\"relative\"]\n", "sandbox.image_dirs: must be a list of absolute directories"},
           {"image_dirs = \"/srv\"\n", "sandbox.image_dirs: must be a list of absolute directories"},
           {"gpu_libs = [1]\n", "sandbox.gpu_libs: must be a list of absolute paths"},
           {"pids_max = 3\n", "sandbox.pids_max"},
           {"cgroups = \"yes\"\n", "sandbox.cgroups: must be true or false"},
           {"sandboxes = 1\n", "unknown key 'sandbox.sandboxes'"}}) {
    auto bad = with(text);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.error().message.find(want), std::string::npos) << text << ": " << bad.error().message;
  }
  std::string devs = base;
  devs.replace(devs.find("vram_mib = 81920}"), 17, "vram_mib = 81920, devices = [3, 5]}");
  auto d = ParseConfig(devs, "/tmp");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->gpu_devices.at("h100"), (std::vector<uint32_t>{3, 5}));
  devs.replace(devs.find("[3, 5]"), 6, "[3]");
  EXPECT_FALSE(ParseConfig(devs, "/tmp").ok());  // must list exactly `count` indices
}

}  // namespace
}  // namespace depai::provider
