// x/channel genesis: params (overrides on top of the defaults, field by field), the last id and
// the channels (with their balances already in module:channel, which the invariant checks).
// Export then import gives the same state.
#include "crypto/bech32.h"
#include "x/channel/keys.h"
#include "x/channel/module.h"
#include "x/types/codec.h"

namespace depai::x::channel {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "channel genesis: " + m); }

Result<Channel> ChannelFromJson(const json& j) {
  // Bytes fields are hex in JSON (ChannelJson); the derived "proven" and "remaining" are dropped.
  json in = j;
  in.erase("proven");
  in.erase("remaining");
  Bytes raw[3];
  const char* names[3] = {"voucher_key", "ticket_root", "ticket_head"};
  for (int i = 0; i < 3; ++i) {
    if (!in.contains(names[i])) continue;
    if (!in[names[i]].is_string()) return GenesisErr(std::string("channel ") + names[i] + " must be hex");
    auto b = HexDecode(in[names[i]].get<std::string>());
    if (!b) return GenesisErr(std::string("channel ") + names[i] + " is not hex");
    raw[i] = *b;
    in.erase(names[i]);
  }
  DEPAI_ASSIGN_OR_RETURN(Channel c, ProtoFromJsonAs<Channel>(in, "channel genesis: channel"));
  c.set_voucher_key(raw[0]);
  c.set_ticket_root(raw[1]);
  c.set_ticket_head(raw[2]);
  return c;
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) DEPAI_TRY(MergeParamsJson(g["params"], &params, "channel genesis"));
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(s, params);
  uint64_t last = 0;
  if (g.contains("last_id")) {
    const auto& v = g["last_id"];
    if (!v.is_string() || v.get<std::string>().empty() ||
        v.get<std::string>().find_first_not_of("0123456789") != std::string::npos)
      return GenesisErr("last_id must be a decimal string");
    last = std::stoull(v.get<std::string>());
  }
  if (g.contains("channels")) {
    if (!g["channels"].is_array()) return GenesisErr("channels must be an array");
    for (const auto& cj : g["channels"]) {
      DEPAI_ASSIGN_OR_RETURN(Channel pb, ChannelFromJson(cj));
      if (pb.id() == 0 || pb.id() > last)
        return GenesisErr("channel id " + std::to_string(pb.id()) + " not in [1, last_id]");
      // Store, then decode through the keeper's view: every rule a stored record obeys holds.
      s.set(keys::Channel(pb.id()), DeterministicSerialize(pb));
      auto c = keeper_.channel(s, pb.id());
      if (!c.ok()) return GenesisErr(c.error().message);
    }
  }
  keeper_.set_last_id(s, last);
  if (auto st = keeper_.check_invariants(s); !st.ok()) return GenesisErr(st.error().message);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, keeper_.params(s));
  DEPAI_ASSIGN_OR_RETURN(const uint64_t last, keeper_.last_id(s));
  json chans = json::array();
  DEPAI_TRY(keeper_.for_each_channel(s, [&](const ChannelRec& c) {
    json j = ChannelJson(c.pb);
    j.erase("proven");
    j.erase("remaining");
    chans.push_back(std::move(j));
    return true;
  }));
  return json{{"params", MessageToJson(p)}, {"last_id", std::to_string(last)}, {"channels", chans}};
}

}  // namespace depai::x::channel
