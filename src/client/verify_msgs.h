// Client-side builders for x/verify messages and parsers for the verify events and query records
// the daemons (provider challenge responder, checker) and the CLI need. Pure functions;
// thread-safe. Amounts are udpai; bytes fields of query JSON may be hex (64 characters for a
// 32-byte value) or base64, both are accepted.
#pragma once

#include <google/protobuf/any.pb.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "client/chain_client.h"
#include "depai/verify/v1/verify.pb.h"
#include "util/amount.h"
#include "util/bytes.h"
#include "util/result.h"

namespace depai::client {

google::protobuf::Any PackMsgRegisterChecker(const std::string& address, const std::string& owner, Amount bond);
google::protobuf::Any PackMsgDeregisterChecker(const std::string& address);
google::protobuf::Any PackMsgCommitRoot(const std::string& provider, uint64_t challenge_id, const Bytes& root);
google::protobuf::Any PackMsgAttest(const depai::verify::v1::MsgAttest& m);
google::protobuf::Any PackMsgDispute(const std::string& sender, uint64_t challenge_id, uint32_t row_index,
                                     const Bytes& row, const std::vector<Bytes>& proof);
google::protobuf::Any PackMsgAppeal(const std::string& provider, uint64_t verdict_id);

// "freivalds", "bad-proof", "opening-missing", "root-late", "offline", "latency", "ok" or the
// enum name ("REASON_FREIVALDS").
Result<depai::verify::v1::ReasonCode> ParseReasonCode(std::string_view s);
// "compute" | "liveness" or the enum name.
Result<depai::verify::v1::ChallengeKind> ParseChallengeKind(std::string_view s);

// "a,b,c" -> {"a","b","c"}; "" -> {}.
std::vector<std::string> SplitList(const std::string& s);

// verify.challenge_created
struct ChallengeCreated {
  uint64_t id = 0;
  depai::verify::v1::ChallengeKind kind = depai::verify::v1::CHALLENGE_KIND_UNSPECIFIED;
  std::string provider;
  std::vector<std::string> quorum;
  Bytes seed;  // 32 bytes
  uint32_t n = 0;
  int64_t deadline_height = 0, attest_deadline = 0, probe_from = 0, probe_to = 0, height = 0;
  std::string hardware, endpoint;
  uint64_t appeal_of = 0;
  bool in_quorum(const std::string& checker) const;
};
Result<ChallengeCreated> ParseChallengeCreated(const ChainEvent& e);

// verify.root_committed
struct RootCommitted {
  uint64_t challenge_id = 0;
  std::string provider;
  Bytes root;
  int64_t height = 0, attest_deadline = 0;
  std::vector<uint32_t> sample_rows;
};
Result<RootCommitted> ParseRootCommitted(const ChainEvent& e);

// verify.verdict
struct VerdictEvent {
  uint64_t verdict_id = 0, challenge_id = 0;
  std::string provider, kind, reason_code, reason, fault, slashed;
  bool pass = false;
  int64_t height = 0;
};
Result<VerdictEvent> ParseVerdictEvent(const ChainEvent& e);

// Query records (the API's proto JSON; bytes as hex or base64). A JSON object wrapping the
// record under `key` ({"challenge": {...}}) is unwrapped.
Result<depai::verify::v1::Challenge> DecodeChallenge(const nlohmann::json& j);
Result<depai::verify::v1::Verdict> DecodeVerdict(const nlohmann::json& j);
Result<depai::verify::v1::Checker> DecodeChecker(const nlohmann::json& j);
Result<depai::verify::v1::Params> DecodeVerifyParams(const nlohmann::json& j);

// A row opening as the provider endpoint serves it (GET /verify/v1/challenges/{id}/rows/{i}):
// {"challenge_id":"7","index":12,"n":256,"row":"<base64 of n LE u32>","proof":["<hex32>",...]}.
struct RowOpening {
  uint64_t challenge_id = 0;
  uint32_t index = 0, n = 0;
  Bytes row;                 // 4n bytes
  std::vector<Bytes> proof;  // 32 bytes each
};
nlohmann::json RowOpeningToJson(const RowOpening& o);
Result<RowOpening> RowOpeningFromJson(const nlohmann::json& j);

}  // namespace depai::client
