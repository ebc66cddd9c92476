#include "client/verify_msgs.h"

#include <algorithm>
#include <cctype>

#include "client/market_msgs.h"
#include "crypto/hash.h"

namespace depai::client {

using nlohmann::json;
namespace vv1 = depai::verify::v1;

google::protobuf::Any PackMsgRegisterChecker(const std::string& address, const std::string& owner, Amount bond) {
  vv1::MsgRegisterChecker m;
  m.set_address(address);
  m.set_owner(owner);
  m.mutable_bond()->set_denom("udpai");
  m.mutable_bond()->set_amount(bond.str());
  return PackAny(m);
}

google::protobuf::Any PackMsgDeregisterChecker(const std::string& address) {
  vv1::MsgDeregisterChecker m;
  m.set_address(address);
  return PackAny(m);
}

google::protobuf::Any PackMsgCommitRoot(const std::string& provider, uint64_t challenge_id, const Bytes& root) {
  vv1::MsgCommitRoot m;
  m.set_provider(provider);
  m.set_challenge_id(challenge_id);
  m.set_root(root);
  return PackAny(m);
}

google::protobuf::Any PackMsgAttest(const vv1::MsgAttest& m) { return PackAny(m); }

google::protobuf::Any PackMsgDispute(const std::string& sender, uint64_t challenge_id, uint32_t row_index,
                                     const Bytes& row, const std::vector<Bytes>& proof) {
  vv1::MsgDispute m;
  m.set_sender(sender);
  m.set_challenge_id(challenge_id);
  m.set_row_index(row_index);
  m.set_row(row);
  for (const auto& p : proof) m.add_proof(p);
  return PackAny(m);
}

google::protobuf::Any PackMsgAppeal(const std::string& provider, uint64_t verdict_id) {
  vv1::MsgAppeal m;
  m.set_provider(provider);
  m.set_verdict_id(verdict_id);
  return PackAny(m);
}

Result<vv1::ReasonCode> ParseReasonCode(std::string_view s) {
  std::string name(s);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return c == '-' ? '_' : static_cast<char>(std::toupper(c)); });
  if (name.rfind("REASON_", 0) != 0) name = "REASON_" + name;
  vv1::ReasonCode r;
  if (vv1::ReasonCode_Parse(name, &r)) return r;
  return Error{"client", 1,
               "unknown reason code '" + std::string(s) +
                   "' (ok|root-late|opening-missing|bad-proof|freivalds|offline|latency|no-quorum|dispute-row-wrong)"};
}

Result<vv1::ChallengeKind> ParseChallengeKind(std::string_view s) {
  if (s == "compute" || s == "CHALLENGE_KIND_COMPUTE") return vv1::CHALLENGE_KIND_COMPUTE;
  if (s == "liveness" || s == "CHALLENGE_KIND_LIVENESS") return vv1::CHALLENGE_KIND_LIVENESS;
  return Error{"client", 1, "unknown challenge kind '" + std::string(s) + "' (compute|liveness)"};
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

namespace {

Error Bad(const std::string& what) { return Error{"client", 1, what}; }

bool IsDigits(const std::string& s, size_t max = 19) {
  return !s.empty() && s.size() <= max && s.find_first_not_of("0123456789") == std::string::npos;
}

Result<uint64_t> U64Attr(const ChainEvent& e, const char* k, bool required = true) {
  std::string v = e.attr(k);
  if (v.empty() && !required) return uint64_t{0};
  if (!IsDigits(v)) return Bad(e.type + ": attribute " + k + " is not an unsigned integer: '" + v + "'");
  return static_cast<uint64_t>(std::stoull(v));
}

Result<int64_t> I64Attr(const ChainEvent& e, const char* k) {
  std::string v = e.attr(k);
  if (v.empty()) return int64_t{0};
  bool neg = v[0] == '-';
  std::string d = neg ? v.substr(1) : v;
  if (!IsDigits(d, 18)) return Bad(e.type + ": attribute " + k + " is not an integer: '" + v + "'");
  int64_t x = std::stoll(d);
  return neg ? -x : x;
}

Result<Bytes> HexAttr(const ChainEvent& e, const char* k, size_t len) {
  auto raw = HexDecode(e.attr(k));
  if (!raw || raw->size() != len)
    return Bad(e.type + ": attribute " + k + " must be " + std::to_string(2 * len) + " hex characters");
  return *raw;
}

bool IsHex(const std::string& s) {
  return !s.empty() && s.size() % 2 == 0 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// Hex bytes fields -> base64 (what the proto JSON parser reads); base64 is left as it is.
json BytesToBase64(json j, const std::vector<std::string>& fields) {
  if (!j.is_object()) return j;
  for (const auto& f : fields) {
    if (!j.contains(f)) continue;
    auto& v = j[f];
    auto conv = [](json& x) {
      if (x.is_string() && x.get<std::string>().size() == 64 && IsHex(x.get<std::string>()))
        x = crypto::Base64Encode(*HexDecode(x.get<std::string>()));
    };
    if (v.is_array()) {
      for (auto& x : v) conv(x);
    } else {
      conv(v);
    }
  }
  return j;
}

template <typename M>
Result<M> DecodeWrapped(const json& in, const char* key, const std::vector<std::string>& bytes_fields) {
  json j = in;
  if (j.is_object() && j.contains(key) && j[key].is_object()) j = j[key];
  M m;
  auto st = DecodeProtoJson(BytesToBase64(j, bytes_fields), &m);
  if (!st.ok()) return st.error();
  return m;
}

}  // namespace

bool ChallengeCreated::in_quorum(const std::string& checker) const {
  return std::find(quorum.begin(), quorum.end(), checker) != quorum.end();
}

Result<ChallengeCreated> ParseChallengeCreated(const ChainEvent& e) {
  ChallengeCreated c;
  c.height = e.height;
  DEPAI_ASSIGN_OR_RETURN(c.id, U64Attr(e, "challenge_id"));
  DEPAI_ASSIGN_OR_RETURN(c.kind, ParseChallengeKind(e.attr("kind")));
  c.provider = e.attr("provider");
  if (c.provider.empty()) return Bad(e.type + ": no provider");
  c.quorum = SplitList(e.attr("quorum"));
  c.hardware = e.attr("hardware");
  c.endpoint = e.attr("endpoint");
  DEPAI_ASSIGN_OR_RETURN(c.attest_deadline, I64Attr(e, "attest_deadline"));
  DEPAI_ASSIGN_OR_RETURN(c.probe_from, I64Attr(e, "probe_from"));
  DEPAI_ASSIGN_OR_RETURN(c.probe_to, I64Attr(e, "probe_to"));
  DEPAI_ASSIGN_OR_RETURN(c.appeal_of, U64Attr(e, "appeal_of", false));
  if (c.kind == vv1::CHALLENGE_KIND_COMPUTE) {
    DEPAI_ASSIGN_OR_RETURN(c.seed, HexAttr(e, "seed", 32));
    DEPAI_ASSIGN_OR_RETURN(uint64_t n, U64Attr(e, "n"));
    if (n == 0 || n > (1u << 16)) return Bad(e.type + ": n out of range: " + std::to_string(n));
    c.n = static_cast<uint32_t>(n);
    DEPAI_ASSIGN_OR_RETURN(c.deadline_height, I64Attr(e, "deadline_height"));
  } else if (!e.attr("seed").empty()) {
    DEPAI_ASSIGN_OR_RETURN(c.seed, HexAttr(e, "seed", 32));
  }
  return c;
}

Result<RootCommitted> ParseRootCommitted(const ChainEvent& e) {
  RootCommitted r;
  DEPAI_ASSIGN_OR_RETURN(r.challenge_id, U64Attr(e, "challenge_id"));
  r.provider = e.attr("provider");
  DEPAI_ASSIGN_OR_RETURN(r.root, HexAttr(e, "root", 32));
  DEPAI_ASSIGN_OR_RETURN(r.height, I64Attr(e, "height"));
  if (r.height == 0) r.height = e.height;
  DEPAI_ASSIGN_OR_RETURN(r.attest_deadline, I64Attr(e, "attest_deadline"));
  for (const auto& s : SplitList(e.attr("sample_rows"))) {
    if (!IsDigits(s, 10) || std::stoull(s) > 0xffffffffull) return Bad(e.type + ": bad sample row '" + s + "'");
    r.sample_rows.push_back(static_cast<uint32_t>(std::stoul(s)));
  }
  return r;
}

Result<VerdictEvent> ParseVerdictEvent(const ChainEvent& e) {
  VerdictEvent v;
  v.height = e.height;
  DEPAI_ASSIGN_OR_RETURN(v.verdict_id, U64Attr(e, "verdict_id"));
  DEPAI_ASSIGN_OR_RETURN(v.challenge_id, U64Attr(e, "challenge_id"));
  v.provider = e.attr("provider");
  v.kind = e.attr("kind");
  v.pass = e.attr("pass") == "true";
  v.reason_code = e.attr("reason_code");
  v.reason = e.attr("reason");
  v.fault = e.attr("fault");
  v.slashed = e.attr("slashed");
  return v;
}

Result<vv1::Challenge> DecodeChallenge(const json& j) {
  return DecodeWrapped<vv1::Challenge>(j, "challenge", {"seed", "root", "sample_seed"});
}
Result<vv1::Verdict> DecodeVerdict(const json& j) { return DecodeWrapped<vv1::Verdict>(j, "verdict", {}); }
Result<vv1::Checker> DecodeChecker(const json& j) { return DecodeWrapped<vv1::Checker>(j, "checker", {}); }
Result<vv1::Params> DecodeVerifyParams(const json& j) { return DecodeWrapped<vv1::Params>(j, "params", {}); }

json RowOpeningToJson(const RowOpening& o) {
  json proof = json::array();
  for (const auto& p : o.proof) proof.push_back(HexEncode(p));
  return json{{"challenge_id", std::to_string(o.challenge_id)},
              {"index", o.index},
              {"n", o.n},
              {"row", crypto::Base64Encode(o.row)},
              {"proof", proof}};
}

Result<RowOpening> RowOpeningFromJson(const json& j) {
  if (!j.is_object()) return Bad("row opening: not a JSON object");
  RowOpening o;
  try {
    const json& cid = j.at("challenge_id");
    std::string s = cid.is_string() ? cid.get<std::string>() : std::to_string(cid.get<uint64_t>());
    if (!IsDigits(s)) return Bad("row opening: bad challenge_id");
    o.challenge_id = std::stoull(s);
    o.index = j.at("index").get<uint32_t>();
    o.n = j.at("n").get<uint32_t>();
    auto row = crypto::Base64Decode(j.at("row").get<std::string>());
    if (!row) return Bad("row opening: row is not base64");
    o.row = *row;
    for (const auto& p : j.at("proof")) {
      auto raw = HexDecode(p.get<std::string>());
      if (!raw || raw->size() != 32) return Bad("row opening: a proof sibling is not 64 hex characters");
      o.proof.push_back(*raw);
    }
  } catch (const json::exception& e) {
    return Bad(std::string("row opening: ") + e.what());
  }
  return o;
}

}  // namespace depai::client
