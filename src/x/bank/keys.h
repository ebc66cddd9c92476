// x/bank store keys (module-internal: only x/bank's keeper files include this).
//   bank/bal/<addr20><denom>  -> u64 big-endian (absent when zero)
//   bank/supply/<denom>       -> u64 big-endian
//   bank/denom/<denom>        -> depai.bank.v1.DenomMetadata
#pragma once

#include <string>
#include <string_view>

namespace depai::x::bank::keys {

inline constexpr std::string_view kBalPrefix = "bank/bal/";
inline constexpr std::string_view kSupplyPrefix = "bank/supply/";
inline constexpr std::string_view kDenomPrefix = "bank/denom/";

inline std::string Bal(std::string_view addr, std::string_view denom) {
  std::string k;
  k.reserve(kBalPrefix.size() + addr.size() + denom.size());
  k.append(kBalPrefix);
  k.append(addr);
  k.append(denom);
  return k;
}
inline std::string Supply(std::string_view denom) { return std::string(kSupplyPrefix) + std::string(denom); }
inline std::string Denom(std::string_view denom) { return std::string(kDenomPrefix) + std::string(denom); }

}  // namespace depai::x::bank::keys
