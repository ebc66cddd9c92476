// The price poller behind a validator's vote extension: a thread fetches every source each
// interval and caches the median of those that answered. ExtendVote reads the cache through
// app::PriceFeed and never waits on a source; a cached value older than max_age (steady clock)
// counts as none, so a validator whose sources all fail stops reporting instead of repeating an
// old price. Thread-safe: price_e9() and snapshot() may be called from any thread while it runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/app.h"
#include "oracle/source.h"

namespace depai::oracle {

// The node's [oracle] section (`<home>/config.toml` of `depai node start`, or --config):
//   [oracle]
//   sources = ["file:/run/price", "http://127.0.0.1:9000/price#/data/price", "fixed:0.5"]
//   interval_ms = 1000        # how often the poller fetches
//   max_age_ms = 10000        # a cached median older than this is not reported
//   http_timeout_ms = 2000    # per HTTP fetch
struct OracleConfig {
  std::vector<std::string> sources;
  int64_t interval_ms = 1000;
  int64_t max_age_ms = 10000;
  int http_timeout_ms = 2000;
};
// Parses the TOML text (a missing [oracle] section gives the defaults and no sources).
Result<OracleConfig> ParseOracleConfig(const std::string& toml_text);
// Reads a config file; a missing file gives the defaults.
Result<OracleConfig> LoadOracleConfig(const std::string& path);

class Poller : public app::PriceFeed {
 public:
  Poller(std::vector<std::unique_ptr<PriceSource>> sources, std::chrono::milliseconds interval,
         std::chrono::milliseconds max_age);
  ~Poller() override;
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void Start();  // polls once at once, then every interval
  void Stop();
  // Fetches every source now and updates the cache (the thread's step; tests call it directly).
  void PollOnce();

  std::optional<uint64_t> price_e9() const override;
  struct Snapshot {
    std::optional<uint64_t> price_e9;  // fresh median, if any
    size_t answered = 0, failed = 0;   // in the last poll
    std::string last_error;            // of the last poll's failures
  };
  Snapshot snapshot() const;

 private:
  std::vector<std::unique_ptr<PriceSource>> sources_;
  std::chrono::milliseconds interval_, max_age_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::optional<uint64_t> cached_;
  std::chrono::steady_clock::time_point cached_at_;
  size_t answered_ = 0, failed_ = 0;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace depai::oracle
