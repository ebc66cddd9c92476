// Hash functions. SHA-256 comes from OpenSSL (uses the CPU's SHA extensions), BLAKE2b from
// libsodium. All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::crypto {

Bytes Sha256(std::string_view data);  // 32 bytes
// SHA-256 applied `times` times: H(H(...H(data))); `data` itself when times == 0. One buffer,
// no allocation per round (hash chains: x/channel's PayWord tickets).
Bytes Sha256Iter(std::string_view data, uint64_t times);
Bytes Blake2b256(std::string_view data);                   // 32 bytes
Bytes Blake2b256(std::string_view a, std::string_view b);  // H(a || b), no allocation of the concat

std::string Base64Encode(std::string_view data);
std::optional<Bytes> Base64Decode(std::string_view b64);

// Call once at start-up (idempotent). Returns false if libsodium cannot initialise.
bool InitCrypto();

}  // namespace depai::crypto
