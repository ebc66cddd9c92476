// Byte helpers: hex and fixed-width big-endian integers, byte-exact and portable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace depai {

using Bytes = std::string;  // raw bytes; std::string gives cheap SSO and RocksDB Slice interop

std::string HexEncode(std::string_view b, bool upper = false);
std::optional<Bytes> HexDecode(std::string_view hex);

inline void PutU64BE(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
inline uint64_t GetU64BE(std::string_view b) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < b.size(); ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}
// A transparent hash for hashed containers keyed by Bytes: lookups by string_view do not copy the key.
struct BytesHash {
  using is_transparent = void;
  size_t operator()(std::string_view b) const { return std::hash<std::string_view>{}(b); }
};

inline Bytes U64BE(uint64_t v) {
  Bytes b;
  PutU64BE(b, v);
  return b;
}

}  // namespace depai
