// Provider daemon configuration (TOML, `depai provider run --config provider.toml`) and pricing.
// See doc/provider-operations.md for every key. Coordinates are strings ("52.52") parsed into
// micro-degrees without floating point. Pure functions except RunPriceScript (spawns a process);
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "depai/market/v1/market.pb.h"
#include "depai/provider/v1/provider.pb.h"
#include "provider/sandbox.h"
#include "util/result.h"

namespace depai::provider {

// Built-in rule, in udpai per block for one unit; the order pays units x count.
struct PriceRule {
  uint64_t base = 0;                                // per unit
  uint64_t per_cpu_core = 0;                        // per 1000 millicores (rounded up)
  uint64_t per_memory_gib = 0;                      // per 1024 MiB (rounded up)
  uint64_t per_bandwidth_mbps = 0;                  // per Mbit/s
  std::map<std::string, uint64_t> per_gpu;          // model -> per GPU
  std::map<std::string, uint64_t> per_storage_gib;  // class -> per GiB (rounded up)
};

// [verify]: answering x/verify's compute challenges (provider/challenge_responder.h).
struct VerifyConfig {
  bool enabled = true;             // false: challenges are ignored (and fail ROOT_LATE)
  std::string prover = "builtin";  // builtin (CPU) | cuda | an absolute path: EXE --seed HEX --n N --out FILE
  uint32_t threads = 0;            // builtin prover threads; 0 = all cores
  int64_t prover_timeout_ms = 600000;
  bool appeal = true;          // appeal a failed compute verdict when our product checks out
  bool dispute = true;         // dispute a checker's cited row when our row is correct
  uint32_t keep_products = 8;  // products (rows on disk) kept; older ones are deleted
};

struct ProviderConfig {
  std::string node = "http://127.0.0.1:1317";
  std::string key;                        // key name or address in the keyring
  std::string keyring_backend = "test";   // test | file
  std::string keyring_home;               // default: --home
  std::string chain_id;                   // default: asked from the node
  std::string listen = "127.0.0.1:8443";  // the provider endpoint (manifests, status, logs, results)
  std::string fees = "10udpai";
  uint64_t gas = 200000;

  // Registration (x/provider).
  std::string endpoint;  // default: http://<listen>
  std::string region;
  depai::provider::v1::GeoLocation location;
  std::map<std::string, std::string> attributes;
  std::string collateral = "1000000udpai";
  depai::provider::v1::Resources inventory;

  PriceRule rule;
  std::string price_script;  // when set: JSON on stdin, price (udpai per block) or "skip" on stdout
  int64_t price_script_timeout_ms = 2000;
  // Credit-priced orders (x/market denom ucredit): the udpai price above is converted to ucredit at
  // this many nano-USD per DPAI ([pricing] credit_price_e9), rounded up; 0 (default) converts at the
  // chain's current oracle median (GET /oracle/price), and skips the order while there is none.
  uint64_t credit_price_e9 = 0;

  int64_t poll_interval_ms = 300;
  int64_t withdraw_every_blocks = 20;
  int64_t manifest_timeout_blocks = 50;
  bool close_completed = true;  // close batch leases WORKLOAD_COMPLETED when they succeed
  uint32_t max_restarts = 5;
  uint64_t open_files = 256;
  uint64_t default_file_size_mib = 1024;  // RLIMIT_FSIZE when the order asks for no storage

  std::map<std::string, std::vector<uint32_t>> gpu_devices;  // GPU model -> /dev/nvidia<i> indices
  SandboxConfig sandbox;                                     // [sandbox]
  VerifyConfig verify;                                       // [verify]
};

// Parses a TOML document; relative paths (price script) resolve against `base_dir`.
Result<ProviderConfig> ParseConfig(const std::string& toml_text, const std::string& base_dir);
Result<ProviderConfig> LoadConfig(const std::string& path);

// Totals of resources: what an order asks for (units x count, summed over groups), what the
// provider has, what is reserved.
struct Totals {
  uint64_t cpu_millicores = 0, memory_mib = 0, bandwidth_mbps = 0;
  std::map<std::string, uint64_t> gpus;     // model -> count
  std::map<std::string, uint64_t> storage;  // class -> MiB
  void add(const Totals& o);
  // The first resource `need` lacks in *this ("" when it fits), e.g. "memory_mib: need 512, free 256".
  std::string missing(const Totals& need) const;
  nlohmann::json to_json() const;
  static Totals FromJson(const nlohmann::json& j);
};
Totals TotalsOf(const depai::provider::v1::Resources& r, uint64_t count = 1);
// From an order's JSON (proto field names): sum over groups of units x count.
Totals OrderTotals(const nlohmann::json& order);
Totals OrderTotals(const depai::market::v1::Order& order);  // the same, from the typed record

// The rule's price for an order (JSON as the chain shows it), or an error naming an unpriced resource.
Result<uint64_t> RulePrice(const PriceRule& rule, const nlohmann::json& order);
// Runs the script with `input` on stdin. nullopt price = the script said "skip".
Result<std::optional<uint64_t>> RunPriceScript(const std::string& script, const nlohmann::json& input,
                                               int64_t timeout_ms);

}  // namespace depai::provider
