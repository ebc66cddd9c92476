// x/identity store keys (module-internal: only x/identity's keeper files include this).
//   identity/params                              -> depai.identity.v1.Params (defaults when absent)
//   identity/did/<did20>                         -> DidDocument (did20: the 20 bytes the DID's hex spells)
//   identity/att/<owner20>                       -> Attester
//   identity/link/<account20>                    -> did20 (the account's link; counted only while live)
//   identity/unbond/<height u64 BE><owner20>     -> "" (an attester bond due back at that height)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::x::identity::keys {

inline constexpr std::string_view kPrefix = "identity/";
inline constexpr std::string_view kParams = "identity/params";
inline constexpr std::string_view kDidPrefix = "identity/did/";
inline constexpr std::string_view kAttesterPrefix = "identity/att/";
inline constexpr std::string_view kLinkPrefix = "identity/link/";
inline constexpr std::string_view kUnbondPrefix = "identity/unbond/";

inline std::string Did(std::string_view did20) { return std::string(kDidPrefix) + std::string(did20); }
inline std::string Attester(std::string_view owner20) { return std::string(kAttesterPrefix) + std::string(owner20); }
inline std::string Link(std::string_view account20) { return std::string(kLinkPrefix) + std::string(account20); }
inline std::string UnbondAt(int64_t height) {
  std::string k(kUnbondPrefix);
  PutU64BE(k, static_cast<uint64_t>(height));
  return k;
}
inline std::string Unbond(int64_t height, std::string_view owner20) { return UnbondAt(height) + std::string(owner20); }

}  // namespace depai::x::identity::keys
