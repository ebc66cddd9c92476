// x/verify store keys (module-internal: only x/verify's keeper files include this).
//   verify/params                                   -> depai.verify.v1.Params (defaults when absent)
//   verify/beacon                                   -> 32 bytes beacon || u64 BE height it was last mixed at
//   verify/seq/<name>                               -> u64 BE: last challenge / verdict id
//   verify/c/<checker20>                            -> Checker
//   verify/ch/<id u64 BE>                           -> Challenge
//   verify/att/<challenge u64 BE><checker20>        -> Measurement
//   verify/v/<id u64 BE>                            -> Verdict
//   verify/pv/<provider20><verdict u64 BE>          -> "" (history index)
//   verify/rep/<provider20>                         -> Reputation
//   verify/open/<provider20><kind u8>               -> u64 BE challenge id (one open challenge per kind)
//   verify/due/<height u64 BE><what u8><id u64 BE | checker20> -> "" (work due at that height)
//   verify/sla/<lease u64 BE>                       -> SlaState
//   verify/disp/<challenge u64 BE><row u32 BE>      -> "" (a row already disputed)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::x::verify::keys {

inline constexpr std::string_view kParams = "verify/params";
inline constexpr std::string_view kBeacon = "verify/beacon";
inline constexpr std::string_view kSeqPrefix = "verify/seq/";
inline constexpr std::string_view kCheckerPrefix = "verify/c/";
inline constexpr std::string_view kChallengePrefix = "verify/ch/";
inline constexpr std::string_view kAttestPrefix = "verify/att/";
inline constexpr std::string_view kVerdictPrefix = "verify/v/";
inline constexpr std::string_view kHistoryPrefix = "verify/pv/";
inline constexpr std::string_view kReputationPrefix = "verify/rep/";
inline constexpr std::string_view kOpenPrefix = "verify/open/";
inline constexpr std::string_view kDuePrefix = "verify/due/";
inline constexpr std::string_view kSlaPrefix = "verify/sla/";
inline constexpr std::string_view kDisputePrefix = "verify/disp/";

enum Due : uint8_t { kDueRoot = 1, kDueSample = 2, kDueAttest = 3, kDueFinal = 4, kDueUnbond = 5 };

inline std::string WithU64(std::string_view prefix, uint64_t v) {
  std::string k(prefix);
  PutU64BE(k, v);
  return k;
}
inline std::string Seq(std::string_view name) { return std::string(kSeqPrefix) + std::string(name); }
inline std::string Checker(std::string_view addr) { return std::string(kCheckerPrefix) + std::string(addr); }
inline std::string Challenge(uint64_t id) { return WithU64(kChallengePrefix, id); }
inline std::string AttestsOf(uint64_t challenge) { return WithU64(kAttestPrefix, challenge); }
inline std::string Attest(uint64_t challenge, std::string_view checker) {
  return AttestsOf(challenge) + std::string(checker);
}
inline std::string Verdict(uint64_t id) { return WithU64(kVerdictPrefix, id); }
inline std::string HistoryOf(std::string_view provider) { return std::string(kHistoryPrefix) + std::string(provider); }
inline std::string History(std::string_view provider, uint64_t verdict) {
  return WithU64(HistoryOf(provider), verdict);
}
inline std::string Reputation(std::string_view provider) {
  return std::string(kReputationPrefix) + std::string(provider);
}
inline std::string Open(std::string_view provider, uint8_t kind) {
  std::string k(kOpenPrefix);
  k.append(provider);
  k.push_back(static_cast<char>(kind));
  return k;
}
inline std::string DueAt(int64_t height) { return WithU64(kDuePrefix, static_cast<uint64_t>(height)); }
inline std::string DueId(int64_t height, Due what, uint64_t id) {
  std::string k = DueAt(height);
  k.push_back(static_cast<char>(what));
  PutU64BE(k, id);
  return k;
}
inline std::string DueAddr(int64_t height, Due what, std::string_view addr) {
  std::string k = DueAt(height);
  k.push_back(static_cast<char>(what));
  k.append(addr);
  return k;
}
inline std::string Sla(uint64_t lease) { return WithU64(kSlaPrefix, lease); }
inline std::string Dispute(uint64_t challenge, uint32_t row) {
  std::string k = WithU64(kDisputePrefix, challenge);
  k.push_back(static_cast<char>(row >> 24));
  k.push_back(static_cast<char>(row >> 16));
  k.push_back(static_cast<char>(row >> 8));
  k.push_back(static_cast<char>(row));
  return k;
}

}  // namespace depai::x::verify::keys
