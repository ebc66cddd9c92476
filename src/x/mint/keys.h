// x/mint store keys (module-internal: only x/mint's files include this).
//   mint/params -> depai.mint.v1.Params
//   mint/minter -> depai.mint.v1.Minter
#pragma once

#include <string_view>

namespace depai::x::mint::keys {
inline constexpr std::string_view kParams = "mint/params";
inline constexpr std::string_view kMinter = "mint/minter";
}  // namespace depai::x::mint::keys
