#include "crypto/bech32.h"

#include <cctype>
#include <cstring>

namespace depai::crypto {

namespace {
constexpr const char* kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t Polymod(const std::vector<uint8_t>& v) {
  static constexpr uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t x : v) {
    uint8_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ x;
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) chk ^= gen[i];
  }
  return chk;
}

std::vector<uint8_t> HrpExpand(std::string_view hrp) {
  std::vector<uint8_t> r;
  r.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) r.push_back(static_cast<uint8_t>(c) >> 5);
  r.push_back(0);
  for (char c : hrp) r.push_back(static_cast<uint8_t>(c) & 31);
  return r;
}

Error bad(const std::string& why) { return Error{"sdk", 7, "invalid bech32: " + why}; }
}  // namespace

std::string Bech32Encode(std::string_view hrp, const std::vector<uint8_t>& data5) {
  std::vector<uint8_t> v = HrpExpand(hrp);
  v.insert(v.end(), data5.begin(), data5.end());
  v.insert(v.end(), 6, 0);
  uint32_t mod = Polymod(v) ^ 1;
  std::string out(hrp);
  out.push_back('1');
  for (uint8_t d : data5) out.push_back(kCharset[d]);
  for (int i = 0; i < 6; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

Result<Bech32Data> Bech32Decode(std::string_view s) {
  if (s.size() > 90) return bad("longer than 90 characters");
  bool lower = false, upper = false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126) return bad("character out of range");
    if (c >= 'a' && c <= 'z') lower = true;
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  if (lower && upper) return bad("mixed case");
  size_t pos = s.rfind('1');
  if (pos == std::string_view::npos || pos == 0 || pos + 7 > s.size()) return bad("missing separator, empty prefix or short checksum");
  std::string hrp;
  for (size_t i = 0; i < pos; ++i) hrp.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
  std::vector<uint8_t> data;
  for (size_t i = pos + 1; i < s.size(); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    const char* p = std::strchr(kCharset, c);
    if (!p || c == '\0') return bad(std::string("invalid character '") + s[i] + "'");
    data.push_back(static_cast<uint8_t>(p - kCharset));
  }
  std::vector<uint8_t> v = HrpExpand(hrp);
  v.insert(v.end(), data.begin(), data.end());
  if (Polymod(v) != 1) return bad("checksum mismatch");
  data.resize(data.size() - 6);
  return Bech32Data{hrp, data};
}

std::optional<std::vector<uint8_t>> ConvertBits(const std::vector<uint8_t>& in, int from, int to, bool pad) {
  uint32_t acc = 0;
  int bits = 0;
  std::vector<uint8_t> out;
  const uint32_t maxv = (1u << to) - 1;
  for (uint8_t x : in) {
    if (x >> from) return std::nullopt;
    acc = (acc << from) | x;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv)) {
    return std::nullopt;
  }
  return out;
}

std::string AddressToBech32(std::string_view addr20) {
  std::vector<uint8_t> b(addr20.begin(), addr20.end());
  return Bech32Encode(kAddressHrp, *ConvertBits(b, 8, 5, true));
}

Result<Bytes> AddressFromBech32(std::string_view s) {
  if (s.empty()) return Error{"sdk", 7, "invalid address: empty"};
  auto d = Bech32Decode(s);
  if (!d.ok()) return Error{"sdk", 7, "invalid address '" + std::string(s) + "': " + d.error().message};
  if (d->hrp != kAddressHrp)
    return Error{"sdk", 7, "invalid address '" + std::string(s) + "': prefix is '" + d->hrp + "', want '" + kAddressHrp + "'"};
  auto bytes = ConvertBits(d->data5, 5, 8, false);
  if (!bytes || bytes->size() != kAddressSize)
    return Error{"sdk", 7, "invalid address '" + std::string(s) + "': want a 20-byte payload"};
  return Bytes(bytes->begin(), bytes->end());
}

}  // namespace depai::crypto
