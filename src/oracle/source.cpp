#include "oracle/source.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/http_client.h"
#include "x/oracle/keeper.h"

namespace depai::oracle {

namespace {
constexpr const char* kCs = "oracle-source";
Error SrcErr(uint32_t code, std::string m) { return Error{kCs, code, std::move(m)}; }

std::string Trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && ws(s[i])) ++i;
  return s.substr(i);
}

Result<uint64_t> Positive(Result<uint64_t> v, const std::string& what) {
  if (!v.ok()) return SrcErr(3, what + ": " + v.error().message);
  if (*v == 0) return SrcErr(3, what + ": the price is 0");
  return v;
}

class FixedSource : public PriceSource {
 public:
  explicit FixedSource(uint64_t v, std::string spec) : v_(v), spec_(std::move(spec)) {}
  Result<uint64_t> fetch() const override { return v_; }
  std::string describe() const override { return spec_; }

 private:
  uint64_t v_;
  std::string spec_;
};

class FileSource : public PriceSource {
 public:
  explicit FileSource(std::string path) : path_(std::move(path)) {}
  Result<uint64_t> fetch() const override {
    std::ifstream f(path_);
    if (!f) return SrcErr(2, "file:" + path_ + ": cannot be read");
    std::stringstream ss;
    ss << f.rdbuf();
    return Positive(x::oracle::ParseUsdE9(Trim(ss.str()), /*truncate=*/true), "file:" + path_);
  }
  std::string describe() const override { return "file:" + path_; }

 private:
  std::string path_;
};

class HttpSource : public PriceSource {
 public:
  HttpSource(std::string base, std::string path, std::string pointer, int timeout_ms)
      : base_(std::move(base)), path_(std::move(path)), pointer_(std::move(pointer)), timeout_ms_(timeout_ms) {}
  Result<uint64_t> fetch() const override {
    client::HttpOptions o;
    o.timeout_ms = timeout_ms_;
    o.what = "price source";
    auto r = client::HttpRequest(base_, "GET", path_, "", o);
    if (!r.ok()) return SrcErr(2, describe() + ": " + r.error().message);
    if (r->status != 200) return SrcErr(2, describe() + ": HTTP " + std::to_string(r->status));
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return SrcErr(3, describe() + ": the body is not JSON");
    nlohmann::json v;
    try {
      v = j.at(nlohmann::json::json_pointer(pointer_));
    } catch (const std::exception& e) {
      return SrcErr(3, describe() + ": no value at " + pointer_);
    }
    if (v.is_string()) return Positive(x::oracle::ParseUsdE9(Trim(v.get<std::string>()), true), describe());
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
      const uint64_t whole = v.get<uint64_t>();
      if (whole > UINT64_MAX / x::kPriceScale) return SrcErr(3, describe() + ": too large");
      return Positive(whole * x::kPriceScale, describe());
    }
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || d < 0 || d > 1e9) return SrcErr(3, describe() + ": not a price");
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9f", d);
      return Positive(x::oracle::ParseUsdE9(buf, true), describe());
    }
    return SrcErr(3, describe() + ": the value at " + pointer_ + " is not a number or a decimal string");
  }
  std::string describe() const override { return base_ + path_ + "#" + pointer_; }

 private:
  std::string base_, path_, pointer_;
  int timeout_ms_;
};
}  // namespace

Result<std::unique_ptr<PriceSource>> ParseSource(const std::string& spec, int http_timeout_ms) {
  if (spec.rfind("fixed:", 0) == 0) {
    auto v = Positive(x::oracle::ParseUsdE9(spec.substr(6)), spec);
    if (!v.ok()) return v.error();
    return std::unique_ptr<PriceSource>(new FixedSource(*v, spec));
  }
  if (spec.rfind("file:", 0) == 0) {
    if (spec.size() == 5) return SrcErr(1, "file: needs a path");
    return std::unique_ptr<PriceSource>(new FileSource(spec.substr(5)));
  }
  if (spec.rfind("https://", 0) == 0)
    return SrcErr(1, "'" + spec + "': https sources are not supported yet (the HTTP client has no TLS); use http://");
  if (spec.rfind("http://", 0) == 0) {
    std::string url = spec, pointer;
    if (auto h = url.find('#'); h != std::string::npos) {
      pointer = url.substr(h + 1);
      url = url.substr(0, h);
      if (!pointer.empty() && pointer[0] != '/')
        return SrcErr(1, "'" + spec + "': the JSON pointer after '#' must start with '/'");
      try {
        (void)nlohmann::json::json_pointer(pointer);
      } catch (const std::exception& e) {
        return SrcErr(1, "'" + spec + "': bad JSON pointer: " + e.what());
      }
    }
    const size_t slash = url.find('/', 7);
    std::string base = slash == std::string::npos ? url : url.substr(0, slash);
    std::string path = slash == std::string::npos ? "/" : url.substr(slash);
    if (base.size() <= 7) return SrcErr(1, "'" + spec + "': no host");
    return std::unique_ptr<PriceSource>(new HttpSource(base, path, pointer, http_timeout_ms));
  }
  return SrcErr(1, "'" + spec + "' is not a price source (file:<path>, http://host/path#/pointer or fixed:<usd>)");
}

Result<std::vector<std::unique_ptr<PriceSource>>> ParseSources(const std::vector<std::string>& specs,
                                                               int http_timeout_ms) {
  std::vector<std::unique_ptr<PriceSource>> out;
  for (const auto& s : specs) {
    auto src = ParseSource(s, http_timeout_ms);
    if (!src.ok()) return src.error();
    out.push_back(std::move(src).value());
  }
  return out;
}

uint64_t MedianOf(std::vector<uint64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return v[n / 2 - 1] / 2 + v[n / 2] / 2 + (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2;
}

}  // namespace depai::oracle
