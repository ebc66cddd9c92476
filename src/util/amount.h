// Amount: a checked, non-negative token quantity in base units (e.g. udpai).
//
// Contract: every value lies in [0, kMax]. Arithmetic never wraps: add/sub/mul return
// Result and fail with ErrOverflow / ErrUnderflow. kMax is 2^63-1 so an Amount always fits a
// signed 64-bit JSON/protobuf integer. Coins is a sorted, de-duplicated list of (denom, Amount)
// with no zero entries (the canonical form). Parse accepts "1000udpai,5ucredit".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace depai {

inline constexpr const char* kUtilCodespace = "util";
inline constexpr uint32_t kErrOverflow = 2;
inline constexpr uint32_t kErrUnderflow = 3;
inline constexpr uint32_t kErrInvalidCoins = 4;

class Amount {
 public:
  static constexpr uint64_t kMax = 9223372036854775807ULL;  // 2^63 - 1
  constexpr Amount() = default;
  static Result<Amount> Of(uint64_t v);
  static Result<Amount> Parse(std::string_view decimal);
  uint64_t raw() const { return v_; }
  bool is_zero() const { return v_ == 0; }
  Result<Amount> add(Amount o) const;
  Result<Amount> sub(Amount o) const;
  // (this * num) / den, rounding down, with a 128-bit intermediate.
  Result<Amount> mul_div(uint64_t num, uint64_t den) const;
  std::string str() const { return std::to_string(v_); }
  auto operator<=>(const Amount&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive

 private:
  constexpr explicit Amount(uint64_t v) : v_(v) {}
  uint64_t v_ = 0;
};

struct Coin {
  std::string denom;
  Amount amount;
  bool operator==(const Coin&) const = default;
  std::string str() const { return amount.str() + denom; }
};

// Denoms: 3..64 chars, starts with a lowercase letter, then [a-z0-9/._-].
bool ValidDenom(std::string_view denom);

class Coins {
 public:
  Coins() = default;
  // Builds canonical coins; rejects invalid denoms and duplicates; drops zero amounts.
  static Result<Coins> From(std::vector<Coin> coins);
  // "1000udpai" or "10udpai,5ucredit". Empty string gives empty Coins.
  static Result<Coins> Parse(std::string_view s);
  const std::vector<Coin>& list() const { return coins_; }
  bool empty() const { return coins_.empty(); }
  Amount amount_of(std::string_view denom) const;
  Result<Coins> add(const Coins& o) const;
  Result<Coins> sub(const Coins& o) const;  // fails if any denom would go negative
  bool all_gte(const Coins& o) const;       // this >= o for every denom of o
  std::string str() const;
  bool operator==(const Coins&) const = default;

 private:
  std::vector<Coin> coins_;  // sorted by denom, unique, non-zero
};

}  // namespace depai
