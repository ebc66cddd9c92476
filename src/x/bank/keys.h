// x/bank store keys (module-internal: only x/bank's keeper files include this).
//   bank/bal/<addr20><denom>  -> u64 big-endian (absent when zero)
//   bank/supply/<denom>       -> u64 big-endian
//   bank/denom/<denom>        -> depai.bank.v1.DenomMetadata
//   bank/minted/<denom>       -> u64 big-endian: everything minted since genesis (absent = 0)
//   bank/burned/<denom>       -> u64 big-endian: everything burned since genesis (absent = 0)
//   bank/base/<denom>         -> u64 big-endian: supply at genesis import, so that
//                                supply == base + minted - burned (the supply invariant)
#pragma once

#include <string>
#include <string_view>

namespace depai::x::bank::keys {

inline constexpr std::string_view kBalPrefix = "bank/bal/";
inline constexpr std::string_view kSupplyPrefix = "bank/supply/";
inline constexpr std::string_view kDenomPrefix = "bank/denom/";
inline constexpr std::string_view kMintedPrefix = "bank/minted/";
inline constexpr std::string_view kBurnedPrefix = "bank/burned/";
inline constexpr std::string_view kBasePrefix = "bank/base/";

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
inline std::string Minted(std::string_view denom) { return std::string(kMintedPrefix) + std::string(denom); }
inline std::string Burned(std::string_view denom) { return std::string(kBurnedPrefix) + std::string(denom); }
inline std::string Base(std::string_view denom) { return std::string(kBasePrefix) + std::string(denom); }

}  // namespace depai::x::bank::keys
