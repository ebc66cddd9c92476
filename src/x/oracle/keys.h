// x/oracle store keys (module-internal: only x/oracle's keeper files include this).
//   oracle/params                 -> depai.oracle.v1.Params (defaults when absent)
//   oracle/price                  -> depai.oracle.v1.PriceState (absent until the first round)
//   oracle/ve_height              -> u64 BE: CometBFT's vote_extensions_enable_height (absent = off)
//   oracle/val/<address20>        -> depai.oracle.v1.Validator (the set InitChain gave)
//   oracle/post/<feeder20>        -> u64 BE price_e9: this block's MsgPostPrice (cleared in end_block)
#pragma once

#include <string>
#include <string_view>

namespace depai::x::oracle::keys {

inline constexpr std::string_view kParams = "oracle/params";
inline constexpr std::string_view kPrice = "oracle/price";
inline constexpr std::string_view kVeHeight = "oracle/ve_height";
inline constexpr std::string_view kValidatorPrefix = "oracle/val/";
inline constexpr std::string_view kPostPrefix = "oracle/post/";

inline std::string Validator(std::string_view addr) { return std::string(kValidatorPrefix) + std::string(addr); }
inline std::string Post(std::string_view feeder) { return std::string(kPostPrefix) + std::string(feeder); }

}  // namespace depai::x::oracle::keys
