// x/provider store keys (module-internal: only x/provider's keeper files include this).
//   provider/p/<owner20>                                -> depai.provider.v1.Provider
//   provider/audit/<provider20><auditor20>              -> depai.provider.v1.AuditedAttributes
//   provider/unbond/<completion_height u64 BE><owner20> -> depai.provider.v1.UnbondingEntry
//   provider/params                                     -> depai.provider.v1.Params (defaults when absent)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::x::provider::keys {

inline constexpr std::string_view kProviderPrefix = "provider/p/";
inline constexpr std::string_view kAuditPrefix = "provider/audit/";
inline constexpr std::string_view kUnbondPrefix = "provider/unbond/";
inline constexpr std::string_view kParams = "provider/params";

inline std::string Provider(std::string_view owner) { return std::string(kProviderPrefix) + std::string(owner); }
// Every attestation of one provider: the prefix of its audit keys.
inline std::string AuditsOf(std::string_view provider) { return std::string(kAuditPrefix) + std::string(provider); }
inline std::string Audit(std::string_view provider, std::string_view auditor) {
  return AuditsOf(provider) + std::string(auditor);
}
// An empty owner gives the first key of `completion_height`: the exclusive end of every entry
// due at completion_height - 1 or earlier.
inline std::string Unbond(int64_t completion_height, std::string_view owner) {
  std::string k(kUnbondPrefix);
  PutU64BE(k, static_cast<uint64_t>(completion_height));
  k.append(owner);
  return k;
}

}  // namespace depai::x::provider::keys
