// Checker daemon configuration (TOML, `depai checker run --config checker.toml`). See
// doc/checker-operations.md for every key. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "util/result.h"

namespace depai::checker {

struct CheckerConfig {
  std::string node = "http://127.0.0.1:1317";
  std::string key;                       // key name or address in the keyring (the registered checker)
  std::string keyring_backend = "test";  // test | file
  std::string keyring_home;              // default: --home
  std::string chain_id;                  // default: asked from the node
  std::string fees = "10udpai";
  uint64_t gas = 200000;

  int64_t poll_interval_ms = 300;
  int64_t start_height = 0;         // first start: follow from here (0 = the latest height)
  int64_t http_timeout_ms = 5000;   // fetching one row opening
  int64_t probe_timeout_ms = 5000;  // a liveness probe (a slower answer counts as not answered)
  uint32_t fetch_attempts = 3;      // per row opening, while the attest deadline allows
  uint32_t freivalds_rounds = 0;    // 0 = the chain's params.freivalds_rounds (at least 1)
  uint32_t max_latency_ms = 0;      // 0 = the chain's params.max_latency_ms
};

Result<CheckerConfig> ParseCheckerConfig(const std::string& toml_text);
Result<CheckerConfig> LoadCheckerConfig(const std::string& path);

}  // namespace depai::checker
