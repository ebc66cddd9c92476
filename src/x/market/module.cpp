#include "x/market/module.h"

#include "x/types/legacy_route.h"

#include <google/protobuf/util/json_util.h>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "depai/tx/v1/tx.pb.h"
#include "x/types/codec.h"

namespace depai::x::market {

using depai::market::v1::MsgCloseBid;
using depai::market::v1::MsgCloseLease;
using depai::market::v1::MsgCloseOrder;
using depai::market::v1::MsgCreateBid;
using depai::market::v1::MsgCreateLease;
using depai::market::v1::MsgCreateOrder;
using depai::market::v1::MsgDepositEscrow;
using depai::market::v1::MsgWithdrawLease;
using nlohmann::json;

namespace {
Error genesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "market genesis: " + m); }

Result<Amount> UdpaiArg(const depai::tx::v1::Coin& c, const char* field) {
  if (c.denom() != kDenom)
    return RootErr(kErrInvalidCoins, std::string(field) + ": denom must be udpai, got '" + c.denom() + "'");
  auto a = Amount::Parse(c.amount());
  if (!a.ok()) return RootErr(kErrInvalidCoins, std::string(field) + ": " + a.error().message);
  if (a->is_zero()) return RootErr(kErrInvalidCoins, std::string(field) + " must be positive");
  return a;
}

bool ValidAttrKey(const std::string& k) {
  if (k.empty() || k.size() > 64) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

Error Invalid(const std::string& m) { return MarketErr(kErrInvalidOrder, m); }

Status ValidateCreateOrder(const MsgCreateOrder& m) {
  DEPAI_TRY(ParseAddress(m.owner(), "owner"));
  if (m.groups().empty() || static_cast<size_t>(m.groups().size()) > kMaxGroups)
    return Invalid("an order needs 1.." + std::to_string(kMaxGroups) + " resource groups");
  for (const auto& g : m.groups()) {
    if (g.count() == 0) return Invalid("group '" + g.name() + "': count must be positive");
    if (g.name().size() > 64) return Invalid("group name longer than 64 bytes");
    if (g.units().gpus().size() > 8 || g.units().storage().size() > 8)
      return Invalid("group '" + g.name() + "': at most 8 GPU and 8 storage entries");
    for (const auto& gp : g.units().gpus())
      if (gp.count() == 0) return Invalid("group '" + g.name() + "': GPU count must be positive");
  }
  DEPAI_TRY(UdpaiArg(m.max_price_per_block(), "max_price_per_block"));
  DEPAI_TRY(UdpaiArg(m.deposit(), "deposit"));
  if (m.bid_window_blocks() <= 0) return Invalid("bid_window_blocks must be positive");
  if (m.manifest_hash().size() != 32) return Invalid("manifest_hash must be 32 bytes (SHA-256)");
  const auto& pl = m.placement();
  if (static_cast<size_t>(pl.attributes().size()) > kMaxPlacementAttributes)
    return Invalid("at most " + std::to_string(kMaxPlacementAttributes) + " placement attributes");
  for (const auto& a : pl.attributes())
    if (!ValidAttrKey(a.key())) return Invalid("invalid attribute key '" + a.key() + "'");
  if (static_cast<size_t>(pl.auditors().size()) > kMaxAuditors)
    return Invalid("at most " + std::to_string(kMaxAuditors) + " auditors");
  for (const auto& au : pl.auditors()) DEPAI_TRY(ParseAddress(au, "placement.auditors"));
  if (pl.region().size() > 32) return Invalid("region longer than 32 bytes");
  if (pl.max_distance_m() > 0) {
    const auto& c = pl.center();
    if (c.lat_e6() < -90000000 || c.lat_e6() > 90000000 || c.lon_e6() < -180000000 || c.lon_e6() > 180000000)
      return Invalid("placement.center out of range");
  }
  if (!depai::market::v1::AuditorMode_IsValid(pl.auditor_mode())) return Invalid("unknown auditor_mode");
  return {};
}

Status PositiveId(uint64_t id, const char* field) {
  if (id == 0) return RootErr(kErrInvalidRequest, std::string(field) + " must be positive");
  return {};
}

template <typename M>
LegacyRoute Route(const char* type_url) {
  return LegacyRouteFor<M>(type_url, &ProtoToJson);  // manifest_hash printed as hex
}

json EscrowJson(const Escrow& e) { return ProtoToJson(e); }

// Splits "path?k=v&k2=v2".
std::pair<std::string_view, std::map<std::string, std::string>> SplitQuery(std::string_view path) {
  std::map<std::string, std::string> q;
  auto pos = path.find('?');
  if (pos == std::string_view::npos) return {path, q};
  std::string_view rest = path.substr(pos + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    auto eq = kv.find('=');
    q[std::string(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return {path.substr(0, pos), q};
}

Result<uint64_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 19) return RootErr(kErrInvalidRequest, "invalid id '" + std::string(s) + "'");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return RootErr(kErrInvalidRequest, "invalid id '" + std::string(s) + "'");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

template <typename M>
Status FromJson(const json& j, M* m, const char* what) {
  google::protobuf::util::JsonParseOptions o;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), m, o);
  if (!st.ok()) return genesisErr(std::string(what) + ": " + std::string(st.message()));
  return {};
}
}  // namespace

json ProtoToJson(const google::protobuf::Message& m) {
  json j = MessageToJson(m);
  if (j.is_object() && j.contains("manifest_hash") && j["manifest_hash"].is_string()) {
    auto raw = crypto::Base64Decode(j["manifest_hash"].get<std::string>());
    j["manifest_hash"] = raw ? HexEncode(*raw) : "";
  }
  return j;
}

std::vector<MsgRoute> Module::routes() {
  std::vector<MsgRoute> out;
  {
    auto r = Route<MsgCreateOrder>("/depai.market.v1.MsgCreateOrder");
    r.validate_basic = [](const ProtoMsg& pm) { return ValidateCreateOrder(static_cast<const MsgCreateOrder&>(pm)); };
    r.signer = [](const ProtoMsg& pm) { return ParseAddress(static_cast<const MsgCreateOrder&>(pm).owner(), "owner"); };
    r.check = [this](Context& ctx, const ProtoMsg& pm) {
      return keeper_.check_create_order(*ctx.store, static_cast<const MsgCreateOrder&>(pm));
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      return keeper_.create_order(ctx, static_cast<const MsgCreateOrder&>(pm)).status();
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  {
    auto r = Route<MsgCloseOrder>("/depai.market.v1.MsgCloseOrder");
    r.validate_basic = [](const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseOrder&>(pm);
      DEPAI_TRY(ParseAddress(m.owner(), "owner"));
      return PositiveId(m.order_id(), "order_id");
    };
    r.signer = [](const ProtoMsg& pm) { return ParseAddress(static_cast<const MsgCloseOrder&>(pm).owner(), "owner"); };
    r.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseOrder&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
      return keeper_.check_close_order(*ctx.store, owner, m.order_id());
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseOrder&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
      return keeper_.close_order(ctx, owner, m.order_id());
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  {
    auto r = Route<MsgCreateBid>("/depai.market.v1.MsgCreateBid");
    r.validate_basic = [](const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCreateBid&>(pm);
      DEPAI_TRY(ParseAddress(m.provider(), "provider"));
      DEPAI_TRY(PositiveId(m.order_id(), "order_id"));
      return UdpaiArg(m.price_per_block(), "price_per_block").status();
    };
    r.signer = [](const ProtoMsg& pm) {
      return ParseAddress(static_cast<const MsgCreateBid&>(pm).provider(), "provider");
    };
    r.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCreateBid&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      DEPAI_ASSIGN_OR_RETURN(auto price, UdpaiArg(m.price_per_block(), "price_per_block"));
      return keeper_.check_create_bid(*ctx.store, prov, m.order_id(), price, ctx.header->height);
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCreateBid&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      DEPAI_ASSIGN_OR_RETURN(auto price, UdpaiArg(m.price_per_block(), "price_per_block"));
      return keeper_.create_bid(ctx, prov, m.order_id(), price);
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  {
    auto r = Route<MsgCloseBid>("/depai.market.v1.MsgCloseBid");
    r.validate_basic = [](const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseBid&>(pm);
      DEPAI_TRY(ParseAddress(m.provider(), "provider"));
      return PositiveId(m.order_id(), "order_id");
    };
    r.signer = [](const ProtoMsg& pm) {
      return ParseAddress(static_cast<const MsgCloseBid&>(pm).provider(), "provider");
    };
    r.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseBid&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      return keeper_.check_close_bid(*ctx.store, prov, m.order_id());
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseBid&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      return keeper_.close_bid(ctx, prov, m.order_id());
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  {
    auto r = Route<MsgCreateLease>("/depai.market.v1.MsgCreateLease");
    r.validate_basic = [](const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCreateLease&>(pm);
      DEPAI_TRY(ParseAddress(m.owner(), "owner"));
      DEPAI_TRY(ParseAddress(m.provider(), "provider"));
      return PositiveId(m.order_id(), "order_id");
    };
    r.signer = [](const ProtoMsg& pm) { return ParseAddress(static_cast<const MsgCreateLease&>(pm).owner(), "owner"); };
    r.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCreateLease&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      return keeper_.check_create_lease(*ctx.store, owner, m.order_id(), prov);
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCreateLease&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      return keeper_.create_lease(ctx, owner, m.order_id(), prov).status();
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  {
    auto r = Route<MsgCloseLease>("/depai.market.v1.MsgCloseLease");
    r.validate_basic = [](const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseLease&>(pm);
      DEPAI_TRY(ParseAddress(m.sender(), "sender"));
      DEPAI_TRY(PositiveId(m.lease_id(), "lease_id"));
      if (!depai::market::v1::CloseReason_IsValid(m.reason()) ||
          m.reason() == depai::market::v1::CLOSE_REASON_INSUFFICIENT_FUNDS)
        return MarketErr(kErrInvalidReason, "close reason " + std::to_string(m.reason()) + " cannot be given");
      return {};
    };
    r.signer = [](const ProtoMsg& pm) {
      return ParseAddress(static_cast<const MsgCloseLease&>(pm).sender(), "sender");
    };
    r.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseLease&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto sender, ParseAddress(m.sender(), "sender"));
      return keeper_.check_close_lease(*ctx.store, sender, m.lease_id(), m.reason());
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgCloseLease&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto sender, ParseAddress(m.sender(), "sender"));
      return keeper_.close_lease(ctx, sender, m.lease_id(), m.reason());
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  {
    auto r = Route<MsgDepositEscrow>("/depai.market.v1.MsgDepositEscrow");
    r.validate_basic = [](const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgDepositEscrow&>(pm);
      DEPAI_TRY(ParseAddress(m.depositor(), "depositor"));
      DEPAI_TRY(PositiveId(m.order_id(), "order_id"));
      return UdpaiArg(m.amount(), "amount").status();
    };
    r.signer = [](const ProtoMsg& pm) {
      return ParseAddress(static_cast<const MsgDepositEscrow&>(pm).depositor(), "depositor");
    };
    r.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgDepositEscrow&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto from, ParseAddress(m.depositor(), "depositor"));
      DEPAI_ASSIGN_OR_RETURN(auto amount, UdpaiArg(m.amount(), "amount"));
      return keeper_.check_deposit(*ctx.store, from, m.order_id(), amount);
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgDepositEscrow&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto from, ParseAddress(m.depositor(), "depositor"));
      DEPAI_ASSIGN_OR_RETURN(auto amount, UdpaiArg(m.amount(), "amount"));
      return keeper_.deposit(ctx, from, m.order_id(), amount);
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  {
    auto r = Route<MsgWithdrawLease>("/depai.market.v1.MsgWithdrawLease");
    r.validate_basic = [](const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgWithdrawLease&>(pm);
      DEPAI_TRY(ParseAddress(m.provider(), "provider"));
      return PositiveId(m.lease_id(), "lease_id");
    };
    r.signer = [](const ProtoMsg& pm) {
      return ParseAddress(static_cast<const MsgWithdrawLease&>(pm).provider(), "provider");
    };
    r.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgWithdrawLease&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      return keeper_.check_withdraw(*ctx.store, prov, m.lease_id(), ctx.header->height);
    };
    r.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
      const auto& m = static_cast<const MsgWithdrawLease&>(pm);
      DEPAI_ASSIGN_OR_RETURN(auto prov, ParseAddress(m.provider(), "provider"));
      return keeper_.withdraw(ctx, prov, m.lease_id());
    };
    out.push_back(FromLegacy(std::move(r)));
  }
  return out;
}

Status Module::end_block(Context& ctx) { return keeper_.end_block(ctx); }

Status Module::check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const {
  return keeper_.check_invariants_block(block, committed);
}

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
  DEPAI_TRY(each("orders", [&](const json& j) -> Status {
    Order o;
    DEPAI_TRY(FromJson(j, &o, "order"));
    if (o.id() == 0 || keeper_.order(s, o.id())) return genesisErr("order id 0 or duplicate");
    if (!crypto::AddressFromBech32(o.owner()).ok()) return genesisErr("order owner");
    keeper_.set_order(s, o);
    max_order = std::max(max_order, o.id());
    order_ids.push_back(o.id());
    return {};
  }));
  DEPAI_TRY(each("escrows", [&](const json& j) -> Status {
    Escrow e;
    DEPAI_TRY(FromJson(j, &e, "escrow"));
    if (!keeper_.order(s, e.order_id())) return genesisErr("escrow of unknown order");
    keeper_.set_escrow(s, e);
    return {};
  }));
  DEPAI_TRY(each("bids", [&](const json& j) -> Status {
    Bid b;
    DEPAI_TRY(FromJson(j, &b, "bid"));
    if (!keeper_.order(s, b.order_id()) || !crypto::AddressFromBech32(b.provider()).ok())
      return genesisErr("bid of unknown order or bad provider");
    keeper_.set_bid(s, b);
    return {};
  }));
  DEPAI_TRY(each("leases", [&](const json& j) -> Status {
    Lease l;
    DEPAI_TRY(FromJson(j, &l, "lease"));
    if (l.id() == 0 || !keeper_.order(s, l.order_id()) || keeper_.lease(s, l.id()))
      return genesisErr("lease id 0, duplicate, or unknown order");
    keeper_.set_lease(s, l);
    max_lease = std::max(max_lease, l.id());
    return {};
  }));
  for (uint64_t id : order_ids)
    if (!keeper_.escrow(s, id)) return genesisErr("order " + std::to_string(id) + " has no escrow");
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
  keeper_.rebuild_indexes(s, ctx.header ? ctx.header->height : 1);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  json orders = json::array(), bids = json::array(), leases = json::array(), escrows = json::array();
  auto dump = [&](std::string_view prefix, json& out, auto proto) {
    s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view, std::string_view v) {
      auto m = proto;
      m.ParseFromArray(v.data(), static_cast<int>(v.size()));
      json j = ProtoToJson(m);
      if (j.contains("manifest_hash") && j["manifest_hash"].is_string()) {
        // Genesis uses the proto JSON form (base64) so it re-imports byte for byte.
        auto raw = HexDecode(j["manifest_hash"].get<std::string>());
        j["manifest_hash"] = crypto::Base64Encode(raw ? *raw : Bytes());
      }
      out.push_back(std::move(j));
      return true;
    });
  };
  dump("market/order/", orders, Order());
  dump("market/escrow/", escrows, Escrow());
  dump("market/bid/", bids, Bid());
  dump("market/lease/", leases, Lease());
  return json{{"params", ProtoToJson(keeper_.params(s))},
              {"orders", orders},
              {"escrows", escrows},
              {"bids", bids},
              {"leases", leases},
              {"last_order_id", std::to_string(keeper_.last_id(s, "order"))},
              {"last_lease_id", std::to_string(keeper_.last_id(s, "lease"))}};
}

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view full) const {
  constexpr std::string_view kRoot = "/market/";
  if (full.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  auto [path, q] = SplitQuery(full);
  auto fail = [](Error e) { return std::optional<Result<json>>(Result<json>(std::move(e))); };
  auto ok = [](json j) { return std::optional<Result<json>>(Result<json>(std::move(j))); };
  const int64_t height = committed_height_ ? committed_height_() : 0;
  auto lease_view = [&](const Lease& l) {
    json j{{"lease", ProtoToJson(l)}};
    if (auto e = keeper_.escrow(s, l.order_id())) {
      EscrowAccount v = keeper_.settled_view(s, l, *e, height);
      Escrow ve = *e;
      ToProto(v, &ve);
      j["escrow"] = EscrowJson(ve);
      j["withdrawable_now"] = v.withdrawable.str();
      j["settled_at_height"] = std::to_string(height);
      if (l.state() != depai::market::v1::LEASE_STATE_CLOSED)
        j["funded_until"] = std::to_string(FundedUntil(FromProto(*e), Amount::Parse(l.price_per_block()).value()));
    }
    return j;
  };
  if (path == "/market/params") return ok(ProtoToJson(keeper_.params(s)));
  if (path == "/market/orders") {
    std::vector<uint64_t> ids;
    std::string owner;
    if (q.count("owner")) {
      auto a = crypto::AddressFromBech32(q["owner"]);
      if (!a.ok()) return fail(RootErr(kErrInvalidAddress, "owner: " + a.error().message));
      std::string p = "market/olx/" + *a;
      s.iterate(p, store::PrefixEnd(p), [&](std::string_view k, std::string_view) {
        ids.push_back(GetU64BE(k.substr(p.size())));
        return true;
      });
    } else if (q.count("state") && q["state"] == "open") {
      std::string p = "market/open/";
      s.iterate(p, store::PrefixEnd(p), [&](std::string_view k, std::string_view) {
        ids.push_back(GetU64BE(k.substr(p.size())));
        return true;
      });
    } else {
      std::string p = "market/order/";
      s.iterate(p, store::PrefixEnd(p), [&](std::string_view k, std::string_view) {
        ids.push_back(GetU64BE(k.substr(p.size())));
        return true;
      });
    }
    std::string state_filter = q.count("state") ? q["state"] : "";
    for (auto& c : state_filter) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    json arr = json::array();
    for (uint64_t id : ids) {
      auto o = keeper_.order(s, id);
      if (!o) continue;
      if (!state_filter.empty() && depai::market::v1::OrderState_Name(o->state()) != "ORDER_STATE_" + state_filter)
        continue;
      arr.push_back(ProtoToJson(*o));
    }
    return ok(json{{"orders", arr}});
  }
  constexpr std::string_view kOrders = "/market/orders/";
  if (path.substr(0, kOrders.size()) == kOrders) {
    std::string_view rest = path.substr(kOrders.size());
    bool want_bids = false;
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
      if (rest.substr(slash) != "/bids") return fail(RootErr(kErrUnknownRequest, "unknown query path"));
      want_bids = true;
      rest = rest.substr(0, slash);
    }
    auto id = ParseId(rest);
    if (!id.ok()) return fail(id.error());
    auto o = keeper_.order(s, *id);
    if (!o) return fail(MarketErr(kErrOrderNotFound, "order " + std::to_string(*id) + " not found"));
    if (want_bids) {
      json arr = json::array();
      for (const auto& b : keeper_.bids(s, *id)) arr.push_back(ProtoToJson(b));
      return ok(json{{"order_id", std::to_string(*id)}, {"bids", arr}});
    }
    json j{{"order", ProtoToJson(*o)}};
    if (auto e = keeper_.escrow(s, *id)) j["escrow"] = EscrowJson(*e);
    if (o->lease_id() != 0)
      if (auto l = keeper_.lease(s, o->lease_id())) {
        json lv = lease_view(*l);
        j["lease"] = lv["lease"];
        if (lv.contains("funded_until")) j["funded_until"] = lv["funded_until"];
        if (lv.contains("escrow")) j["escrow_settled"] = lv["escrow"];
      }
    return ok(j);
  }
  if (path == "/market/leases") {
    json arr = json::array();
    std::string state_filter = q.count("state") ? q["state"] : "";
    for (auto& c : state_filter) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    auto add = [&](const Lease& l) {
      if (!state_filter.empty() && depai::market::v1::LeaseState_Name(l.state()) != "LEASE_STATE_" + state_filter)
        return;
      arr.push_back(lease_view(l));
    };
    if (q.count("provider")) {
      auto a = crypto::AddressFromBech32(q["provider"]);
      if (!a.ok()) return fail(RootErr(kErrInvalidAddress, "provider: " + a.error().message));
      std::string p = "market/plx/" + *a;
      std::vector<uint64_t> ids;
      s.iterate(p, store::PrefixEnd(p), [&](std::string_view k, std::string_view) {
        ids.push_back(GetU64BE(k.substr(p.size())));
        return true;
      });
      for (uint64_t id : ids)
        if (auto l = keeper_.lease(s, id)) add(*l);
    } else {
      std::string owner;
      if (q.count("owner")) {
        auto a = crypto::AddressFromBech32(q["owner"]);
        if (!a.ok()) return fail(RootErr(kErrInvalidAddress, "owner: " + a.error().message));
        owner = q["owner"];
      }
      std::vector<Lease> all;
      std::string p = "market/lease/";
      s.iterate(p, store::PrefixEnd(p), [&](std::string_view, std::string_view v) {
        Lease l;
        l.ParseFromArray(v.data(), static_cast<int>(v.size()));
        if (owner.empty() || l.owner() == owner) all.push_back(std::move(l));
        return true;
      });
      for (const auto& l : all) add(l);
    }
    return ok(json{{"leases", arr}});
  }
  constexpr std::string_view kLeases = "/market/leases/";
  if (path.substr(0, kLeases.size()) == kLeases) {
    auto id = ParseId(path.substr(kLeases.size()));
    if (!id.ok()) return fail(id.error());
    auto l = keeper_.lease(s, *id);
    if (!l) return fail(MarketErr(kErrLeaseNotFound, "lease " + std::to_string(*id) + " not found"));
    return ok(lease_view(*l));
  }
  return fail(RootErr(kErrUnknownRequest, "unknown query path: " + std::string(full)));
}

}  // namespace depai::x::market
