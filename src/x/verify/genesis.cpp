// x/verify genesis: params, the beacon, sequences, checkers, challenges, attestations, verdicts,
// reputations, SLA states and disputed rows. Import validates every record and rebuilds the
// open, due and history indexes; the app checks the invariants once every module has imported
// (the module accounts' balances are part of the bank section).
#include <google/protobuf/util/json_util.h>

#include "crypto/bech32.h"
#include "x/types/codec.h"
#include "x/verify/keys.h"
#include "x/verify/module.h"

namespace depai::x::verify {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "verify genesis: " + m); }

template <typename M>
Result<M> FromJson(const json& j, const std::string& what) {
  return ProtoFromJsonAs<M>(j, "verify genesis: " + what);
}

Result<Bytes> AddrField(const std::string& s, const std::string& what) {
  auto a = crypto::AddressFromBech32(s);
  if (!a.ok()) return GenesisErr(what + " '" + s + "': " + a.error().message);
  return *a;
}

Status AmountField(const std::string& s, const std::string& what, bool empty_ok) {
  if (empty_ok && s.empty()) return {};
  if (!Amount::Parse(s).ok()) return GenesisErr(what + " '" + s + "' is not an amount");
  return {};
}

Result<uint64_t> U64(const json& g, const char* key) {
  if (!g.contains(key)) return uint64_t{0};
  const auto& v = g[key];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
      return GenesisErr(std::string(key) + " must be a decimal u64");
    return std::stoull(s);
  }
  return GenesisErr(std::string(key) + " must be a decimal u64");
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) {  // overrides on top of the defaults, field by field
    DEPAI_TRY(MergeParamsJson(g["params"], &params, "verify genesis"));
  }
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(s, params);
  if (g.contains("beacon")) {
    auto b = g["beacon"].is_string() ? HexDecode(g["beacon"].get<std::string>()) : std::nullopt;
    if (!b || b->size() != 32) return GenesisErr("beacon must be 64 hex characters");
    DEPAI_ASSIGN_OR_RETURN(uint64_t bh, U64(g, "beacon_height"));
    keeper_.set_beacon(s, *b, static_cast<int64_t>(bh));
  }
  DEPAI_ASSIGN_OR_RETURN(uint64_t last_c, U64(g, "last_challenge_id"));
  DEPAI_ASSIGN_OR_RETURN(uint64_t last_v, U64(g, "last_verdict_id"));
  auto list = [&](const char* name) -> Result<json> {
    if (!g.contains(name)) return json::array();
    if (!g[name].is_array()) return GenesisErr(std::string(name) + " must be an array");
    return g[name];
  };
  DEPAI_ASSIGN_OR_RETURN(json checkers, list("checkers"));
  for (const auto& j : checkers) {
    DEPAI_ASSIGN_OR_RETURN(auto c, FromJson<Checker>(j, "checker"));
    DEPAI_ASSIGN_OR_RETURN(Bytes a, AddrField(c.address(), "checker address"));
    DEPAI_TRY(AddrField(c.owner(), "checker owner").status());
    DEPAI_TRY(AmountField(c.bond(), "checker bond", false));
    DEPAI_TRY(AmountField(c.rewards(), "checker rewards", true));
    DEPAI_TRY(AmountField(c.slashed(), "checker slashed", true));
    DEPAI_ASSIGN_OR_RETURN(auto dup, keeper_.checker(s, a));
    if (dup) return GenesisErr("duplicate checker " + c.address());
    keeper_.set_checker(s, a, c);
  }
  DEPAI_ASSIGN_OR_RETURN(json challenges, list("challenges"));
  for (const auto& j : challenges) {
    DEPAI_ASSIGN_OR_RETURN(auto c, FromJson<Challenge>(j, "challenge"));
    if (c.id() == 0 || c.id() > last_c) return GenesisErr("challenge id " + std::to_string(c.id()) + " out of range");
    DEPAI_TRY(AddrField(c.provider(), "challenge provider").status());
    for (const auto& q : c.quorum()) DEPAI_TRY(AddrField(q, "challenge quorum member").status());
    if (c.seed().size() != 32 || (!c.root().empty() && c.root().size() != 32))
      return GenesisErr("challenge " + std::to_string(c.id()) + ": seed and root must be 32 bytes");
    keeper_.set_challenge(s, c);
  }
  DEPAI_ASSIGN_OR_RETURN(json atts, list("attestations"));
  for (const auto& j : atts) {
    if (!j.is_object() || !j.contains("measurement"))
      return GenesisErr("attestation needs challenge_id and measurement");
    DEPAI_ASSIGN_OR_RETURN(uint64_t cid, U64(j, "challenge_id"));
    DEPAI_ASSIGN_OR_RETURN(auto m, FromJson<Measurement>(j["measurement"], "attestation"));
    DEPAI_ASSIGN_OR_RETURN(Bytes a, AddrField(m.checker(), "attestation checker"));
    DEPAI_ASSIGN_OR_RETURN(auto c, keeper_.challenge(s, cid));
    if (!c) return GenesisErr("attestation for unknown challenge " + std::to_string(cid));
    s.set(keys::Attest(cid, a), DeterministicSerialize(m));
  }
  DEPAI_ASSIGN_OR_RETURN(json verdicts, list("verdicts"));
  for (const auto& j : verdicts) {
    DEPAI_ASSIGN_OR_RETURN(auto v, FromJson<Verdict>(j, "verdict"));
    if (v.id() == 0 || v.id() > last_v) return GenesisErr("verdict id " + std::to_string(v.id()) + " out of range");
    DEPAI_TRY(AddrField(v.provider(), "verdict provider").status());
    DEPAI_TRY(AmountField(v.slashed(), "verdict slashed", true));
    DEPAI_TRY(AmountField(v.to_treasury(), "verdict to_treasury", true));
    for (const auto& r : v.refunds()) {
      DEPAI_TRY(AmountField(r.amount(), "refund amount", false));
      DEPAI_TRY(AddrField(r.owner(), "refund owner").status());
    }
    keeper_.set_verdict(s, v);
  }
  DEPAI_ASSIGN_OR_RETURN(json reps, list("reputations"));
  for (const auto& j : reps) {
    DEPAI_ASSIGN_OR_RETURN(auto r, FromJson<Reputation>(j, "reputation"));
    DEPAI_ASSIGN_OR_RETURN(Bytes a, AddrField(r.provider(), "reputation provider"));
    if (r.bps() > 10000) return GenesisErr("reputation of " + r.provider() + " above 10000 bps");
    s.set(keys::Reputation(a), DeterministicSerialize(r));
  }
  DEPAI_ASSIGN_OR_RETURN(json slas, list("slas"));
  for (const auto& j : slas) {
    DEPAI_ASSIGN_OR_RETURN(auto r, FromJson<SlaState>(j, "sla"));
    DEPAI_TRY(AddrField(r.provider(), "sla provider").status());
    s.set(keys::Sla(r.lease_id()), DeterministicSerialize(r));
  }
  DEPAI_ASSIGN_OR_RETURN(json disputes, list("disputes"));
  for (const auto& j : disputes) {
    DEPAI_ASSIGN_OR_RETURN(uint64_t cid, U64(j, "challenge_id"));
    DEPAI_ASSIGN_OR_RETURN(uint64_t row, U64(j, "row"));
    if (row > UINT32_MAX) return GenesisErr("disputed row out of range");
    s.set(keys::Dispute(cid, static_cast<uint32_t>(row)), "");
  }
  if (last_c > 0) keeper_.set_last_id(s, "challenge", last_c);
  if (last_v > 0) keeper_.set_last_id(s, "verdict", last_v);
  return keeper_.rebuild_indexes(s);
}

Status Keeper::rebuild_indexes(store::KVStore& s) const {
  using namespace depai::verify::v1;
  std::vector<Challenge> cs;
  DEPAI_TRY(for_each_challenge(s, [&](const Challenge& c) {
    cs.push_back(c);
    return true;
  }));
  for (const auto& c : cs) {
    DEPAI_ASSIGN_OR_RETURN(Bytes prov, [&]() -> Result<Bytes> {
      auto a = crypto::AddressFromBech32(c.provider());
      if (!a.ok()) return Fault(kFaultCorruptRecord, "challenge provider does not parse");
      return *a;
    }());
    if (c.state() == CHALLENGE_STATE_DECIDED) continue;
    if (c.appeal_of() == 0) {
      Bytes idb;
      PutU64BE(idb, c.id());
      s.set(keys::Open(prov, static_cast<uint8_t>(c.kind())), idb);
    }
    if (c.state() == CHALLENGE_STATE_AWAITING_ROOT) {
      if (c.root().empty())
        set_due(s, c.deadline_height(), keys::kDueRoot, c.id(), true);
      else
        set_due(s, c.root_height() + 1, keys::kDueSample, c.id(), true);
    } else {
      set_due(s, c.attest_deadline(), keys::kDueAttest, c.id(), true);
    }
  }
  std::vector<Verdict> vs;
  DEPAI_TRY(for_each_verdict(s, [&](const Verdict& v) {
    vs.push_back(v);
    return true;
  }));
  for (const auto& v : vs) {
    auto a = crypto::AddressFromBech32(v.provider());
    if (!a.ok()) return Fault(kFaultCorruptRecord, "verdict provider does not parse");
    s.set(keys::History(*a, v.id()), "");
    if (v.state() == VERDICT_STATE_PENDING) set_due(s, v.final_height(), keys::kDueFinal, v.id(), true);
  }
  std::vector<std::pair<Bytes, int64_t>> unbonding;
  DEPAI_TRY(for_each_checker(s, [&](std::string_view addr, const Checker& c) {
    if (!c.active()) unbonding.emplace_back(Bytes(addr), c.unbond_height());
    return true;
  }));
  for (const auto& [a, h] : unbonding) s.set(keys::DueAddr(h, keys::kDueUnbond, a), "");
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, keeper_.params(s));
  const auto stored_beacon = s.get(keys::kBeacon);
  DEPAI_ASSIGN_OR_RETURN(uint64_t lc, keeper_.last_id(s, "challenge"));
  DEPAI_ASSIGN_OR_RETURN(uint64_t lv, keeper_.last_id(s, "verdict"));
  json checkers = json::array(), challenges = json::array(), atts = json::array(), verdicts = json::array(),
       reps = json::array(), slas = json::array(), disputes = json::array();
  DEPAI_TRY(keeper_.for_each_checker(s, [&](std::string_view, const Checker& c) {
    checkers.push_back(MessageToJson(c));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_challenge(s, [&](const Challenge& c) {
    challenges.push_back(MessageToJson(c));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_attestation(s, [&](uint64_t cid, const Measurement& m) {
    atts.push_back(json{{"challenge_id", std::to_string(cid)}, {"measurement", MessageToJson(m)}});
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_verdict(s, [&](const Verdict& v) {
    verdicts.push_back(MessageToJson(v));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_reputation(s, [&](const Reputation& r) {
    reps.push_back(MessageToJson(r));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_sla(s, [&](const SlaState& r) {
    slas.push_back(MessageToJson(r));
    return true;
  }));
  Status bad;
  s.iterate(keys::kDisputePrefix, store::PrefixEnd(keys::kDisputePrefix), [&](std::string_view k, std::string_view) {
    if (k.size() != keys::kDisputePrefix.size() + 12) {
      bad = Fault(kFaultCorruptRecord, "disputed-row key of the wrong length");
      return false;
    }
    const std::string_view rest = k.substr(keys::kDisputePrefix.size());
    const uint64_t cid = GetU64BE(rest.substr(0, 8));
    const uint32_t row = (static_cast<uint32_t>(static_cast<uint8_t>(rest[8])) << 24) |
                         (static_cast<uint32_t>(static_cast<uint8_t>(rest[9])) << 16) |
                         (static_cast<uint32_t>(static_cast<uint8_t>(rest[10])) << 8) |
                         static_cast<uint32_t>(static_cast<uint8_t>(rest[11]));
    disputes.push_back(json{{"challenge_id", std::to_string(cid)}, {"row", std::to_string(row)}});
    return true;
  });
  DEPAI_TRY(bad);
  json out{{"params", MessageToJson(p)},
           {"last_challenge_id", std::to_string(lc)},
           {"last_verdict_id", std::to_string(lv)},
           {"checkers", checkers},
           {"challenges", challenges},
           {"attestations", atts},
           {"verdicts", verdicts},
           {"reputations", reps},
           {"slas", slas},
           {"disputes", disputes}};
  if (stored_beacon && stored_beacon->size() == 40) {
    out["beacon"] = HexEncode(stored_beacon->substr(0, 32));
    out["beacon_height"] = std::to_string(GetU64BE(std::string_view(*stored_beacon).substr(32)));
  }
  return out;
}

}  // namespace depai::x::verify
