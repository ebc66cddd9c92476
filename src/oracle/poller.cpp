#include "oracle/poller.h"

#include <spdlog/spdlog.h>

#include <toml++/toml.h>
#include <fstream>
#include <sstream>

namespace depai::oracle {

Result<OracleConfig> ParseOracleConfig(const std::string& text) {
  OracleConfig c;
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return Error{"config", 1, std::string("config is not valid TOML: ") + std::string(e.description())};
  }
  const auto* o = t["oracle"].as_table();
  if (!o) return c;
  for (const auto& [k, v] : *o) {
    const std::string key(k.str());
    if (key == "sources") {
      const auto* arr = v.as_array();
      if (!arr) return Error{"config", 2, "[oracle] sources must be an array of strings"};
      for (const auto& e : *arr) {
        auto s = e.value<std::string>();
        if (!s) return Error{"config", 2, "[oracle] sources must be an array of strings"};
        c.sources.push_back(*s);
      }
    } else if (key == "interval_ms" || key == "max_age_ms" || key == "http_timeout_ms") {
      auto n = v.value<int64_t>();
      if (!n || *n <= 0 || *n > 3'600'000) return Error{"config", 2, "[oracle] " + key + " must be 1..3600000"};
      if (key == "interval_ms") c.interval_ms = *n;
      if (key == "max_age_ms") c.max_age_ms = *n;
      if (key == "http_timeout_ms") c.http_timeout_ms = static_cast<int>(*n);
    } else {
      return Error{"config", 2, "[oracle] has no key '" + key + "'"};
    }
  }
  auto parsed = ParseSources(c.sources, c.http_timeout_ms);
  if (!parsed.ok()) return Error{"config", 2, "[oracle] sources: " + parsed.error().message};
  return c;
}

Result<OracleConfig> LoadOracleConfig(const std::string& path) {
  std::ifstream f(path);
  if (!f) return OracleConfig{};
  std::stringstream ss;
  ss << f.rdbuf();
  auto c = ParseOracleConfig(ss.str());
  if (!c.ok()) return Error{c.error().codespace, c.error().code, path + ": " + c.error().message};
  return c;
}

Poller::Poller(std::vector<std::unique_ptr<PriceSource>> sources, std::chrono::milliseconds interval,
               std::chrono::milliseconds max_age)
    : sources_(std::move(sources)), interval_(interval), max_age_(max_age) {}

Poller::~Poller() { Stop(); }

void Poller::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      PollOnce();
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void Poller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Poller::PollOnce() {
  std::vector<uint64_t> got;
  size_t failed = 0;
  std::string err;
  for (const auto& s : sources_) {  // no lock held while fetching
    auto v = s->fetch();
    if (v.ok()) {
      got.push_back(*v);
    } else {
      ++failed;
      err = v.error().message;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!got.empty()) {
    cached_ = MedianOf(got);
    cached_at_ = std::chrono::steady_clock::now();
  }
  if (failed > 0 && err != last_error_)
    spdlog::warn("oracle: {} of {} sources failed: {}", failed, sources_.size(), err);
  answered_ = got.size();
  failed_ = failed;
  last_error_ = err;
}

std::optional<uint64_t> Poller::price_e9() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!cached_ || std::chrono::steady_clock::now() - cached_at_ > max_age_) return std::nullopt;
  return cached_;
}

Poller::Snapshot Poller::snapshot() const {
  Snapshot s;
  s.price_e9 = price_e9();
  std::lock_guard<std::mutex> lock(mu_);
  s.answered = answered_;
  s.failed = failed_;
  s.last_error = last_error_;
  return s;
}

}  // namespace depai::oracle
