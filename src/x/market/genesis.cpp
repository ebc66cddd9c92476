// x/market genesis: params, orders, escrows, bids, leases and the id sequences. Import decodes
// every record as the keeper will read it (a bad address or amount is ErrInvalidGenesis, not a
// later fault) and rebuilds the indexes; export lists the records through the keeper iterators.
#include <google/protobuf/util/json_util.h>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/market/module.h"

namespace depai::x::market {

using nlohmann::json;

namespace {
Error genesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "market genesis: " + m); }

template <typename M>
Status FromJson(const json& j, M* m, const char* what) {
  google::protobuf::util::JsonParseOptions o;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), m, o);
  if (!st.ok()) return genesisErr(std::string(what) + ": " + std::string(st.message()));
  return {};
}

// A genesis record, checked the way the keeper decodes it.
template <typename Rec, typename Proto>
Status Decodes(Result<Rec> (*dec)(Proto), const Proto& pb) {
  auto r = dec(pb);
  if (!r.ok()) return genesisErr(r.error().message);
  return {};
}

// Genesis uses the proto JSON form (base64 manifest_hash) so it re-imports byte for byte.
json GenesisJson(const google::protobuf::Message& m) {
  json j = ProtoToJson(m);
  if (j.contains("manifest_hash") && j["manifest_hash"].is_string()) {
    auto raw = HexDecode(j["manifest_hash"].get<std::string>());
    j["manifest_hash"] = crypto::Base64Encode(raw ? *raw : Bytes());
  }
  return j;
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  auto& s = *ctx.store;
  if (!g.is_object()) return genesisErr("must be an object");
  Params p = DefaultParams();
  if (g.contains("params")) {
    p.Clear();
    DEPAI_TRY(FromJson(g["params"], &p, "params"));
  }
  auto pv = ValidateParams(p);
  if (!pv.ok()) return genesisErr(pv.error().message);
  keeper_.set_params(s, p);
  uint64_t max_order = 0, max_lease = 0;
  std::vector<uint64_t> order_ids;
  auto each = [&](const char* key, auto&& fn) -> Status {
    if (!g.contains(key)) return {};
    if (!g[key].is_array()) return genesisErr(std::string(key) + " must be an array");
    for (const auto& j : g[key]) DEPAI_TRY(fn(j));
    return {};
  };
  auto has_order = [&](uint64_t id) -> Result<bool> {
    DEPAI_ASSIGN_OR_RETURN(auto o, keeper_.order(s, id));
    return o.has_value();
  };
  DEPAI_TRY(each("orders", [&](const json& j) -> Status {
    Order o;
    DEPAI_TRY(FromJson(j, &o, "order"));
    DEPAI_ASSIGN_OR_RETURN(bool dup, has_order(o.id()));
    if (o.id() == 0 || dup) return genesisErr("order id 0 or duplicate");
    if (!crypto::AddressFromBech32(o.owner()).ok()) return genesisErr("order owner");
    DEPAI_TRY(Decodes(&DecodeOrder, o));
    keeper_.set_order(s, o);
    max_order = std::max(max_order, o.id());
    order_ids.push_back(o.id());
    return {};
  }));
  DEPAI_TRY(each("escrows", [&](const json& j) -> Status {
    Escrow e;
    DEPAI_TRY(FromJson(j, &e, "escrow"));
    DEPAI_ASSIGN_OR_RETURN(bool known, has_order(e.order_id()));
    if (!known) return genesisErr("escrow of unknown order");
    DEPAI_TRY(Decodes(&DecodeEscrow, e));
    keeper_.set_escrow(s, e);
    return {};
  }));
  DEPAI_TRY(each("bids", [&](const json& j) -> Status {
    Bid b;
    DEPAI_TRY(FromJson(j, &b, "bid"));
    DEPAI_ASSIGN_OR_RETURN(bool known, has_order(b.order_id()));
    if (!known || !crypto::AddressFromBech32(b.provider()).ok())
      return genesisErr("bid of unknown order or bad provider");
    DEPAI_TRY(Decodes(&DecodeBid, b));
    return keeper_.set_bid(s, b);
  }));
  DEPAI_TRY(each("leases", [&](const json& j) -> Status {
    Lease l;
    DEPAI_TRY(FromJson(j, &l, "lease"));
    DEPAI_ASSIGN_OR_RETURN(bool known, has_order(l.order_id()));
    DEPAI_ASSIGN_OR_RETURN(auto existing, keeper_.lease(s, l.id()));
    if (l.id() == 0 || !known || existing) return genesisErr("lease id 0, duplicate, or unknown order");
    DEPAI_TRY(Decodes(&DecodeLease, l));
    keeper_.set_lease(s, l);
    max_lease = std::max(max_lease, l.id());
    return {};
  }));
  for (uint64_t id : order_ids) {
    DEPAI_ASSIGN_OR_RETURN(auto e, keeper_.escrow(s, id));
    if (!e) return genesisErr("order " + std::to_string(id) + " has no escrow");
    DEPAI_ASSIGN_OR_RETURN(auto o, keeper_.order(s, id));
    if (e->pb.denom() != o->pb.denom())
      return genesisErr("order " + std::to_string(id) + " and its escrow are in different denoms");
  }
  Status denoms;
  DEPAI_TRY(keeper_.for_each_lease(s, [&](const LeaseRec& l) {
    auto o = keeper_.order(s, l.pb.order_id());
    if (!o.ok() || !*o || (*o)->pb.denom() != l.pb.denom()) {
      denoms = genesisErr("lease " + std::to_string(l.pb.id()) + " and its order are in different denoms");
      return false;
    }
    return true;
  }));
  DEPAI_TRY(denoms);
  auto seq = [&](const char* key, uint64_t min) -> Result<uint64_t> {
    if (!g.contains(key)) return min;
    auto v = Amount::Parse(g[key].is_string() ? g[key].get<std::string>() : g[key].dump());
    if (!v.ok() || v->raw() < min) return genesisErr(std::string(key) + " below the largest id");
    return v->raw();
  };
  DEPAI_ASSIGN_OR_RETURN(uint64_t lo, seq("last_order_id", max_order));
  DEPAI_ASSIGN_OR_RETURN(uint64_t ll, seq("last_lease_id", max_lease));
  if (lo) keeper_.set_last_id(s, "order", lo);
  if (ll) keeper_.set_last_id(s, "lease", ll);
  return keeper_.rebuild_indexes(s, ctx.header ? ctx.header->height : 1);
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  json orders = json::array(), bids = json::array(), leases = json::array(), escrows = json::array();
  DEPAI_TRY(keeper_.for_each_order(s, [&](const OrderRec& o) {
    orders.push_back(GenesisJson(o.pb));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_escrow(s, [&](const EscrowRec& e) {
    escrows.push_back(GenesisJson(e.pb));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_bid(s, [&](const BidRec& b) {
    bids.push_back(GenesisJson(b.pb));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_lease(s, [&](const LeaseRec& l) {
    leases.push_back(GenesisJson(l.pb));
    return true;
  }));
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, keeper_.params(s));
  DEPAI_ASSIGN_OR_RETURN(const uint64_t lo, keeper_.last_id(s, "order"));
  DEPAI_ASSIGN_OR_RETURN(const uint64_t ll, keeper_.last_id(s, "lease"));
  return json{{"params", ProtoToJson(p.pb)},
              {"orders", orders},
              {"escrows", escrows},
              {"bids", bids},
              {"leases", leases},
              {"last_order_id", std::to_string(lo)},
              {"last_lease_id", std::to_string(ll)}};
}

}  // namespace depai::x::market
