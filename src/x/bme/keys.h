// x/bme store keys (module-internal: only x/bme's keeper files include this).
//   bme/params  -> depai.bme.v1.Params (defaults when absent)
//   bme/window  -> depai.bme.v1.Window (the circuit breaker's two buckets; absent = nothing burned)
//   bme/totals  -> depai.bme.v1.Totals (absent = zeros)
#pragma once

#include <string_view>

namespace depai::x::bme::keys {

inline constexpr std::string_view kPrefix = "bme/";
inline constexpr std::string_view kParams = "bme/params";
inline constexpr std::string_view kWindow = "bme/window";
inline constexpr std::string_view kTotals = "bme/totals";

}  // namespace depai::x::bme::keys
