#include "crypto/bech32.h"

#include <array>
#include <cctype>
#include <cstring>

namespace depai::crypto {

namespace {
constexpr const char* kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};

inline uint32_t PolymodStep(uint32_t chk, uint8_t x) {
  uint8_t top = chk >> 25;
  chk = ((chk & 0x1ffffff) << 5) ^ x;
  for (int i = 0; i < 5; ++i)
    if ((top >> i) & 1) chk ^= kGen[i];
  return chk;
}

// Polymod over HRP-expand(hrp) || data, without building the concatenation.
uint32_t Polymod(std::string_view hrp, const uint8_t* data, size_t n) {
  uint32_t chk = 1;
  for (char c : hrp) chk = PolymodStep(chk, static_cast<uint8_t>(c) >> 5);
  chk = PolymodStep(chk, 0);
  for (char c : hrp) chk = PolymodStep(chk, static_cast<uint8_t>(c) & 31);
  for (size_t i = 0; i < n; ++i) chk = PolymodStep(chk, data[i]);
  return chk;
}

// Reverse charset table: -1 for characters outside the bech32 alphabet (either case).
struct Rev {
  int8_t t[128];
  constexpr Rev() : t() {
    for (auto& x : t) x = -1;
    for (int i = 0; i < 32; ++i) {
      char c = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"[i];
      t[static_cast<unsigned char>(c)] = static_cast<int8_t>(i);
      if (c >= 'a' && c <= 'z') t[c - 'a' + 'A'] = static_cast<int8_t>(i);
    }
  }
};
constexpr Rev kRev;

Error bad(const std::string& why) { return Error{"sdk", 7, "invalid bech32: " + why}; }
}  // namespace

std::string Bech32Encode(std::string_view hrp, const std::vector<uint8_t>& data5) {
  uint32_t chk = Polymod(hrp, data5.data(), data5.size());
  for (int i = 0; i < 6; ++i) chk = PolymodStep(chk, 0);
  uint32_t mod = chk ^ 1;
  std::string out;
  out.reserve(hrp.size() + 1 + data5.size() + 6);
  out.append(hrp);
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
  if (pos == std::string_view::npos || pos == 0 || pos + 7 > s.size())
    return bad("missing separator, empty prefix or short checksum");
  Bech32Data out;
  out.hrp.reserve(pos);
  for (size_t i = 0; i < pos; ++i) out.hrp.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
  out.data5.reserve(s.size() - pos - 1);
  for (size_t i = pos + 1; i < s.size(); ++i) {
    int8_t v = kRev.t[static_cast<unsigned char>(s[i]) & 127];
    if (v < 0) return bad(std::string("invalid character '") + s[i] + "'");
    out.data5.push_back(static_cast<uint8_t>(v));
  }
  if (Polymod(out.hrp, out.data5.data(), out.data5.size()) != 1) return bad("checksum mismatch");
  out.data5.resize(out.data5.size() - 6);
  return out;
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
  // A pure function, memoised per thread for the addresses of the last few txs (the signer's
  // address is printed three times per transfer: fee payer, sender, message sender).
  struct Slot {
    std::string addr, text;
  };
  thread_local std::array<Slot, 64> memo;
  Slot& slot = memo[addr20.empty() ? 0 : static_cast<unsigned char>(addr20.back()) % memo.size()];
  if (!slot.text.empty() && slot.addr == addr20) return slot.text;
  std::vector<uint8_t> b(addr20.begin(), addr20.end());
  std::string text = Bech32Encode(kAddressHrp, *ConvertBits(b, 8, 5, true));
  slot.addr.assign(addr20);
  slot.text = text;
  return text;
}

Result<Bytes> AddressFromBech32(std::string_view s) {
  if (s.empty()) return Error{"sdk", 7, "invalid address: empty"};
  auto d = Bech32Decode(s);
  if (!d.ok()) return Error{"sdk", 7, "invalid address '" + std::string(s) + "': " + d.error().message};
  if (d->hrp != kAddressHrp)
    return Error{"sdk", 7,
                 "invalid address '" + std::string(s) + "': prefix is '" + d->hrp + "', want '" + kAddressHrp + "'"};
  auto bytes = ConvertBits(d->data5, 5, 8, false);
  if (!bytes || bytes->size() != kAddressSize)
    return Error{"sdk", 7, "invalid address '" + std::string(s) + "': want a 20-byte payload"};
  return Bytes(bytes->begin(), bytes->end());
}

}  // namespace depai::crypto
