// Bech32 (BIP-173) encoding, and depai account addresses ("depai1...").
//
// Written from the BIP-173 specification. Encode/Decode work on 5-bit groups; the address
// helpers convert 8-bit payloads. Decode rejects mixed case, bad checksums, characters outside
// the charset, strings over 90 characters and HRP characters outside 33..126. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace depai::crypto {

inline constexpr const char* kAddressHrp = "depai";
inline constexpr size_t kAddressSize = 20;

struct Bech32Data {
  std::string hrp;
  std::vector<uint8_t> data5;  // 5-bit groups, checksum removed
};

std::string Bech32Encode(std::string_view hrp, const std::vector<uint8_t>& data5);
Result<Bech32Data> Bech32Decode(std::string_view s);

// Regroups bits (e.g. 8->5 with padding, 5->8 without). nullopt on invalid padding/values.
std::optional<std::vector<uint8_t>> ConvertBits(const std::vector<uint8_t>& in, int from, int to, bool pad);

std::string AddressToBech32(std::string_view addr20);
// Parses and validates a depai1... address; errors carry codespace "sdk", code 7 (invalid address).
Result<Bytes> AddressFromBech32(std::string_view s);

}  // namespace depai::crypto
