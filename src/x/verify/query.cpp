// x/verify queries (JSON; proto field names, u64 as strings, enums as names, bytes as hex):
//   /verify/params, /verify/checkers, /verify/checkers/{addr}, /verify/challenges/{id},
//   /verify/challenges?provider=A&checker=A&open=true, /verify/verdicts/{id},
//   /verify/history/{provider}, /verify/reputation/{provider}
#include <algorithm>
#include <map>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/types/codec.h"
#include "x/types/query.h"
#include "x/verify/module.h"

namespace depai::x::verify {

using nlohmann::json;

namespace {
void BytesToHex(json& j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if ((k == "seed" || k == "root" || k == "sample_seed") && v.is_string()) {
        auto raw = crypto::Base64Decode(v.get<std::string>());
        v = raw ? HexEncode(*raw) : "";
      } else if (k == "proof" && v.is_array()) {
        for (auto& e : v)
          if (e.is_string()) {
            auto raw = crypto::Base64Decode(e.get<std::string>());
            e = raw ? HexEncode(*raw) : "";
          }
      } else {
        BytesToHex(v);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) BytesToHex(e);
  }
}

Result<Bytes> ParseAddr(std::string_view s) {
  auto a = crypto::AddressFromBech32(s);
  if (!a.ok()) return RootErr(kErrInvalidAddress, "invalid address '" + std::string(s) + "': " + a.error().message);
  return *a;
}
}  // namespace

json ProtoToJson(const google::protobuf::Message& m) {
  json j = MessageToJson(m);
  BytesToHex(j);
  return j;
}

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view full) const {
  constexpr std::string_view kRoot = "/verify/";
  if (full.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  auto split = SplitQuery(full);  // (not a structured binding: the lambdas below capture both)
  const std::string_view path = split.first;
  auto& q = split.second;
  auto run = [&]() -> Result<json> {
    if (path == "/verify/params") {
      DEPAI_ASSIGN_OR_RETURN(const Params p, keeper_.params(s));
      return ProtoToJson(p);
    }
    if (path == "/verify/checkers") {
      json list = json::array();
      DEPAI_TRY(keeper_.for_each_checker(s, [&](std::string_view, const Checker& c) {
        list.push_back(ProtoToJson(c));
        return true;
      }));
      return json{{"checkers", list}};
    }
    auto tail = [&](std::string_view prefix) -> std::optional<std::string_view> {
      if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
      return path.substr(prefix.size());
    };
    if (auto a = tail("/verify/checkers/")) {
      DEPAI_ASSIGN_OR_RETURN(Bytes addr, ParseAddr(*a));
      DEPAI_ASSIGN_OR_RETURN(auto c, keeper_.checker(s, addr));
      if (!c) return VerifyErr(kErrCheckerNotFound, "checker " + std::string(*a) + " not found");
      return ProtoToJson(*c);
    }
    auto challenge_view = [&](const Challenge& c) -> Result<json> {
      json j = ProtoToJson(c);
      json atts = json::array();
      DEPAI_ASSIGN_OR_RETURN(auto ms, keeper_.attestations(s, c.id()));
      for (const auto& m : ms) atts.push_back(ProtoToJson(m));
      j["attestations"] = atts;
      return j;
    };
    if (path == "/verify/challenges") {
      for (const auto& [k, v] : q)
        if (k != "provider" && k != "checker" && k != "open")
          return RootErr(kErrInvalidRequest, "unknown query parameter '" + k + "'");
      std::string provider, checker;
      if (q.count("provider")) {
        DEPAI_ASSIGN_OR_RETURN(Bytes a, ParseAddr(q["provider"]));
        provider = crypto::AddressToBech32(a);
      }
      if (q.count("checker")) {
        DEPAI_ASSIGN_OR_RETURN(Bytes a, ParseAddr(q["checker"]));
        checker = crypto::AddressToBech32(a);
      }
      const bool open = q.count("open") && (q["open"] == "true" || q["open"] == "1");
      json list = json::array();
      Status st;
      DEPAI_TRY(keeper_.for_each_challenge(s, [&](const Challenge& c) {
        if (!provider.empty() && c.provider() != provider) return true;
        if (!checker.empty() && std::find(c.quorum().begin(), c.quorum().end(), checker) == c.quorum().end())
          return true;
        if (open && c.state() == depai::verify::v1::CHALLENGE_STATE_DECIDED) return true;
        auto j = challenge_view(c);
        if (!j.ok()) {
          st = j.error();
          return false;
        }
        list.push_back(std::move(j).value());
        return true;
      }));
      DEPAI_TRY(st);
      return json{{"challenges", list}};
    }
    if (auto id = tail("/verify/challenges/")) {
      DEPAI_ASSIGN_OR_RETURN(uint64_t n, ParseQueryId(*id));
      DEPAI_ASSIGN_OR_RETURN(auto c, keeper_.challenge(s, n));
      if (!c) return VerifyErr(kErrChallengeNotFound, "challenge " + std::string(*id) + " not found");
      return challenge_view(*c);
    }
    if (auto id = tail("/verify/verdicts/")) {
      DEPAI_ASSIGN_OR_RETURN(uint64_t n, ParseQueryId(*id));
      DEPAI_ASSIGN_OR_RETURN(auto v, keeper_.verdict(s, n));
      if (!v) return VerifyErr(kErrVerdictNotFound, "verdict " + std::string(*id) + " not found");
      return ProtoToJson(*v);
    }
    auto rep_view = [&](std::string_view prov_bech32, const Bytes& addr) -> Result<json> {
      DEPAI_ASSIGN_OR_RETURN(auto r, keeper_.reputation(s, addr));
      DEPAI_ASSIGN_OR_RETURN(uint32_t bps, keeper_.reputation_bps(s, addr));
      return json{{"provider", std::string(prov_bech32)},
                  {"bps", bps},
                  {"verdicts", std::to_string(r ? r->verdicts() : 0)},
                  {"passes", std::to_string(r ? r->passes() : 0)},
                  {"prior", !r.has_value()}};
    };
    if (auto a = tail("/verify/reputation/")) {
      DEPAI_ASSIGN_OR_RETURN(Bytes addr, ParseAddr(*a));
      return rep_view(crypto::AddressToBech32(addr), addr);
    }
    if (auto a = tail("/verify/history/")) {
      DEPAI_ASSIGN_OR_RETURN(Bytes addr, ParseAddr(*a));
      const std::string b = crypto::AddressToBech32(addr);
      json list = json::array();
      DEPAI_TRY(keeper_.for_each_verdict_of(s, addr, [&](const Verdict& v) {
        list.push_back(ProtoToJson(v));
        return true;
      }));
      DEPAI_ASSIGN_OR_RETURN(json rep, rep_view(b, addr));
      return json{{"provider", b}, {"reputation", rep}, {"verdicts", list}};
    }
    return RootErr(kErrUnknownRequest, "unknown query path: " + std::string(full));
  };
  return std::optional<Result<json>>(run());
}

}  // namespace depai::x::verify
