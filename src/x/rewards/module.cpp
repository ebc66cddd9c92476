// x/rewards genesis (params overriding the defaults field by field, the running epoch with its
// accumulators, the epoch records and provider rewards) and queries.
#include "x/rewards/module.h"

#include <cstdint>

#include "crypto/bech32.h"
#include "x/rewards/keys.h"
#include "x/types/codec.h"
#include "x/types/query.h"

namespace depai::x::rewards {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "rewards genesis: " + m); }

template <typename M>
Result<M> FromJson(const json& j, const std::string& what) {
  return ProtoFromJsonAs<M>(j, "rewards genesis: " + what);
}

Result<Bytes> Addr(const json& j, const char* what) {
  if (!j.is_string()) return GenesisErr(std::string(what) + " must be a bech32 string");
  auto a = crypto::AddressFromBech32(j.get<std::string>());
  if (!a.ok()) return GenesisErr(std::string(what) + ": " + a.error().message);
  return *a;
}
}  // namespace

json EpochRecordToJson(const EpochRecord& r) { return MessageToJson(r); }

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) {  // overrides on top of the defaults, field by field
    DEPAI_TRY(MergeParamsJson(g["params"], &params, "rewards genesis"));
  }
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(s, params);
  if (g.contains("state")) {
    DEPAI_ASSIGN_OR_RETURN(auto st, FromJson<EpochState>(g["state"], "state"));
    keeper_.set_state(s, st);
    if (auto inv = keeper_.check_invariants(s); !inv.ok()) return GenesisErr(inv.error().message);
  } else {
    DEPAI_TRY(keeper_.start(ctx, 0, ctx.header->height));
  }
  if (g.contains("work")) {
    if (!g["work"].is_array()) return GenesisErr("work must be an array");
    for (const auto& w : g["work"]) {
      if (!w.is_object()) return GenesisErr("work entries are objects");
      DEPAI_ASSIGN_OR_RETURN(Bytes p, Addr(w.value("provider", json()), "work.provider"));
      auto a = Amount::Parse(w.value("uusd", std::string("?")));
      if (!a.ok()) return GenesisErr("work.uusd must be a decimal amount");
      s.set(keys::Work(p), U64BE(a->raw()));
    }
  }
  if (g.contains("buyers")) {
    if (!g["buyers"].is_array()) return GenesisErr("buyers must be an array");
    for (const auto& b : g["buyers"]) {
      DEPAI_ASSIGN_OR_RETURN(Bytes a, Addr(b, "buyers[]"));
      s.set(keys::Buyer(a), "");
    }
  }
  if (g.contains("epochs")) {
    if (!g["epochs"].is_array()) return GenesisErr("epochs must be an array");
    for (const auto& e : g["epochs"]) {
      DEPAI_ASSIGN_OR_RETURN(auto r, FromJson<EpochRecord>(e, "epochs[]"));
      s.set(keys::Epoch(r.epoch()), DeterministicSerialize(r));
    }
  }
  if (g.contains("providers")) {
    if (!g["providers"].is_array()) return GenesisErr("providers must be an array");
    for (const auto& e : g["providers"]) {
      DEPAI_ASSIGN_OR_RETURN(auto r, FromJson<ProviderRewards>(e, "providers[]"));
      DEPAI_ASSIGN_OR_RETURN(Bytes a, Addr(json(r.provider()), "providers[].provider"));
      if (!Amount::Parse(r.total()).ok()) return GenesisErr("providers[].total must be a decimal amount");
      s.set(keys::Prov(a), DeterministicSerialize(r));
    }
  }
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& state) const {
  DEPAI_ASSIGN_OR_RETURN(Params p, keeper_.params(state));
  json out{{"params", MessageToJson(p)}};
  DEPAI_ASSIGN_OR_RETURN(auto st, keeper_.state(state));
  if (st) out["state"] = MessageToJson(*st);
  json work = json::array(), buyers = json::array(), epochs = json::array(), provs = json::array();
  DEPAI_TRY(keeper_.for_each_work(state, [&](std::string_view p20, Amount uusd) {
    work.push_back(json{{"provider", crypto::AddressToBech32(p20)}, {"uusd", uusd.str()}});
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_buyer(state, [&](std::string_view b) {
    buyers.push_back(crypto::AddressToBech32(b));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_epoch(state, [&](const EpochRecord& r) {
    epochs.push_back(MessageToJson(r));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_provider_rewards(state, [&](const ProviderRewards& r) {
    provs.push_back(MessageToJson(r));
    return true;
  }));
  out["work"] = work;
  out["buyers"] = buyers;
  out["epochs"] = epochs;
  out["providers"] = provs;
  return out;
}

std::optional<Result<json>> Module::query(const store::KVReader& state, std::string_view full) const {
  auto [path, args] = SplitQuery(full);
  constexpr std::string_view kEpochs = "/economy/epochs", kProv = "/rewards/provider/";
  if (path == "/rewards/params") {
    auto p = keeper_.params(state);
    if (!p.ok()) return Result<json>(p.error());
    return Result<json>(MessageToJson(*p));
  }
  if (path == "/economy/current") {
    return [&]() -> Result<json> {
      DEPAI_ASSIGN_OR_RETURN(auto st, keeper_.state(state));
      DEPAI_ASSIGN_OR_RETURN(Params p, keeper_.params(state));
      if (!st) return json{{"epoch", nullptr}};
      json j = MessageToJson(*st);
      j["end_height"] = std::to_string(st->start_height() + p.epoch_blocks() - 1);
      return j;
    }();
  }
  if (path == kEpochs) {
    return [&, args = args]() -> Result<json> {
      uint64_t from = 0, limit = 100;
      if (auto it = args.find("from"); it != args.end()) {
        DEPAI_ASSIGN_OR_RETURN(from, ParseQueryId(it->second));
        if (from > static_cast<uint64_t>(INT64_MAX)) return RootErr(kErrInvalidRequest, "from must be at most 2^63-1");
      }
      if (auto it = args.find("limit"); it != args.end()) {
        DEPAI_ASSIGN_OR_RETURN(limit, ParseQueryId(it->second));
      }
      if (limit == 0 || limit > 1000) return RootErr(kErrInvalidRequest, "limit must be 1..1000");
      json list = json::array();
      DEPAI_TRY(keeper_.for_each_epoch(state, [&](const EpochRecord& r) {
        if (r.epoch() < from) return true;
        list.push_back(EpochRecordToJson(r));
        return list.size() < limit;
      }));
      return json{{"epochs", list}};
    }();
  }
  if (path.substr(0, kEpochs.size() + 1) == std::string(kEpochs) + "/") {
    return [&, path = path]() -> Result<json> {
      DEPAI_ASSIGN_OR_RETURN(uint64_t e, ParseQueryId(path.substr(kEpochs.size() + 1)));
      DEPAI_ASSIGN_OR_RETURN(auto r, keeper_.epoch(state, e));
      if (!r) return RewardsErr(kErrEpochNotFound, "epoch " + std::to_string(e) + " has not ended");
      return EpochRecordToJson(*r);
    }();
  }
  if (path.substr(0, kProv.size()) == kProv) {
    return [&, path = path]() -> Result<json> {
      auto a = crypto::AddressFromBech32(path.substr(kProv.size()));
      if (!a.ok()) return RootErr(kErrInvalidAddress, a.error().message);
      DEPAI_ASSIGN_OR_RETURN(auto r, keeper_.provider_rewards(state, *a));
      DEPAI_ASSIGN_OR_RETURN(Amount w, keeper_.work(state, *a));
      json j = r ? MessageToJson(*r) : json{{"provider", std::string(path.substr(kProv.size()))}, {"total", "0"}};
      j["current_work_uusd"] = w.str();
      return j;
    }();
  }
  return std::nullopt;
}

}  // namespace depai::x::rewards
