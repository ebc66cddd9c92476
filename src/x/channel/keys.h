// x/channel store keys (module-internal: only x/channel's keeper files include this).
//   channel/params               -> depai.channel.v1.Params (defaults when absent)
//   channel/seq                  -> u64 BE: the last channel id
//   channel/c/<id u64 BE>        -> depai.channel.v1.Channel
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::x::channel::keys {

inline constexpr std::string_view kParams = "channel/params";
inline constexpr std::string_view kSeq = "channel/seq";
inline constexpr std::string_view kChannelPrefix = "channel/c/";

inline std::string Channel(uint64_t id) {
  std::string k(kChannelPrefix);
  PutU64BE(k, id);
  return k;
}

}  // namespace depai::x::channel::keys
