#include "util/amount.h"

#include <algorithm>
#include <charconv>

namespace depai {

namespace {
Error overflow(const std::string& what) { return Error{kUtilCodespace, kErrOverflow, "amount overflow: " + what}; }
Error underflow(const std::string& what) { return Error{kUtilCodespace, kErrUnderflow, "amount underflow: " + what}; }
Error invalid(const std::string& what) { return Error{kUtilCodespace, kErrInvalidCoins, "invalid coins: " + what}; }
}  // namespace

Result<Amount> Amount::Of(uint64_t v) {
  if (v > kMax) return overflow(std::to_string(v) + " exceeds the maximum amount");
  return Amount(v);
}

Result<Amount> Amount::Parse(std::string_view s) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) {
    if (s.size() > 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return overflow(std::string(s) + " exceeds the maximum amount");
    return invalid("bad amount '" + std::string(s) + "'");
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return overflow(std::string(s) + " exceeds the maximum amount");
  if (ec != std::errc() || p != s.data() + s.size()) return invalid("bad amount '" + std::string(s) + "'");
  return Of(v);
}

Result<Amount> Amount::add(Amount o) const {
  if (o.v_ > kMax - v_) return overflow(str() + " + " + o.str());
  return Amount(v_ + o.v_);
}

Result<Amount> Amount::sub(Amount o) const {
  if (o.v_ > v_) return underflow(str() + " - " + o.str());
  return Amount(v_ - o.v_);
}

Result<Amount> Amount::mul_div(uint64_t num, uint64_t den) const {
  if (den == 0) return invalid("division by zero");
  unsigned __int128 r = static_cast<unsigned __int128>(v_) * num / den;
  if (r > kMax) return overflow(str() + " * " + std::to_string(num) + " / " + std::to_string(den));
  return Amount(static_cast<uint64_t>(r));
}

bool ValidDenom(std::string_view d) {
  if (d.size() < 3 || d.size() > 64) return false;
  if (d[0] < 'a' || d[0] > 'z') return false;
  for (char c : d) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<Coins> Coins::From(std::vector<Coin> coins) {
  for (const auto& c : coins)
    if (!ValidDenom(c.denom)) return invalid("bad denom '" + c.denom + "'");
  std::sort(coins.begin(), coins.end(), [](const Coin& a, const Coin& b) { return a.denom < b.denom; });
  Coins out;
  for (size_t i = 0; i < coins.size(); ++i) {
    if (i > 0 && coins[i].denom == coins[i - 1].denom) return invalid("duplicate denom '" + coins[i].denom + "'");
    if (!coins[i].amount.is_zero()) out.coins_.push_back(coins[i]);
  }
  return out;
}

Result<Coins> Coins::Parse(std::string_view s) {
  std::vector<Coin> v;
  if (s.empty()) return Coins();
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    size_t i = 0;
    while (i < part.size() && part[i] >= '0' && part[i] <= '9') ++i;
    if (i == 0) return invalid("'" + std::string(part) + "' must be <amount><denom>, e.g. 1000udpai");
    auto amt = Amount::Parse(part.substr(0, i));
    if (!amt.ok()) return amt.error();
    std::string denom(part.substr(i));
    if (!ValidDenom(denom)) return invalid("bad denom '" + denom + "' in '" + std::string(part) + "'");
    v.push_back(Coin{denom, amt.value()});
    if (end == s.size()) break;
    start = end + 1;
  }
  return From(std::move(v));
}

Amount Coins::amount_of(std::string_view denom) const {
  for (const auto& c : coins_)
    if (c.denom == denom) return c.amount;
  return Amount();
}

Result<Coins> Coins::add(const Coins& o) const {
  std::vector<Coin> out = coins_;
  for (const auto& c : o.coins_) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Coin& x) { return x.denom == c.denom; });
    if (it == out.end()) {
      out.push_back(c);
    } else {
      auto s = it->amount.add(c.amount);
      if (!s.ok()) return s.error();
      it->amount = s.value();
    }
  }
  return From(std::move(out));
}

Result<Coins> Coins::sub(const Coins& o) const {
  std::vector<Coin> out = coins_;
  for (const auto& c : o.coins_) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Coin& x) { return x.denom == c.denom; });
    if (it == out.end()) return underflow(c.str() + " exceeds 0" + c.denom);
    auto s = it->amount.sub(c.amount);
    if (!s.ok()) return underflow(c.str() + " exceeds " + it->str());
    it->amount = s.value();
  }
  return From(std::move(out));
}

bool Coins::all_gte(const Coins& o) const {
  for (const auto& c : o.coins_)
    if (amount_of(c.denom) < c.amount) return false;
  return true;
}

std::string Coins::str() const {
  std::string s;
  for (size_t i = 0; i < coins_.size(); ++i) {
    if (i) s += ",";
    s += coins_[i].str();
  }
  return s;
}

}  // namespace depai
