// x/market queries: /market/params, /market/orders[?owner=|state=], /market/orders/<id>[/bids],
// /market/leases[?provider=|owner=|state=], /market/leases/<id>. Read through the keeper's views
// and iterators; lease views are settled at the committed height.
#include <map>

#include "crypto/bech32.h"
#include "x/market/module.h"
#include "x/types/query.h"

namespace depai::x::market {

using nlohmann::json;

namespace {

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return s;
}
}  // namespace

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view full) const {
  constexpr std::string_view kRoot = "/market/";
  if (full.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  auto [path, q] = SplitQuery(full);
  auto fail = [](Error e) { return std::optional<Result<json>>(Result<json>(std::move(e))); };
  auto ok = [](json j) { return std::optional<Result<json>>(Result<json>(std::move(j))); };
  const int64_t height = committed_height_ ? committed_height_() : 0;
  auto params = keeper_.params(s);
  if (!params.ok()) return fail(params.error());
  const ParamsRec& p = params.value();
  auto lease_view = [&](const LeaseRec& l) -> Result<json> {
    json j{{"lease", ProtoToJson(l.pb)}};
    DEPAI_ASSIGN_OR_RETURN(auto e, keeper_.escrow(s, l.pb.order_id()));
    if (e) {
      EscrowAccount v = keeper_.settled_view(p, l, *e, height);
      Escrow ve = e->pb;
      ToProto(v, &ve);
      j["escrow"] = ProtoToJson(ve);
      j["withdrawable_now"] = v.withdrawable.str();
      j["settled_at_height"] = std::to_string(height);
      if (l.pb.state() != depai::market::v1::LEASE_STATE_CLOSED)
        j["funded_until"] = std::to_string(FundedUntil(e->acc, l.rate));
    }
    return j;
  };
  if (path == "/market/params") return ok(ProtoToJson(p.pb));
  if (path == "/market/orders") {
    const std::string state_filter = q.count("state") ? Upper(q["state"]) : "";
    json arr = json::array();
    auto add = [&](const OrderRec& o) {
      if (state_filter.empty() || depai::market::v1::OrderState_Name(o.pb.state()) == "ORDER_STATE_" + state_filter)
        arr.push_back(ProtoToJson(o.pb));
      return true;
    };
    Status st;
    if (q.count("owner")) {
      auto a = crypto::AddressFromBech32(q["owner"]);
      if (!a.ok()) return fail(RootErr(kErrInvalidAddress, "owner: " + a.error().message));
      st = keeper_.for_each_order_of(s, *a, add);
    } else if (state_filter == "OPEN") {
      st = keeper_.for_each_open_order(s, add);
    } else {
      st = keeper_.for_each_order(s, add);
    }
    if (!st.ok()) return fail(st.error());
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
    auto id = ParseQueryId(rest);
    if (!id.ok()) return fail(id.error());
    auto o = keeper_.order(s, *id);
    if (!o.ok()) return fail(o.error());
    if (!o.value()) return fail(MarketErr(kErrOrderNotFound, "order " + std::to_string(*id) + " not found"));
    if (want_bids) {
      json arr = json::array();
      auto st = keeper_.for_each_bid_of(s, *id, [&](const BidRec& b) {
        arr.push_back(ProtoToJson(b.pb));
        return true;
      });
      if (!st.ok()) return fail(st.error());
      return ok(json{{"order_id", std::to_string(*id)}, {"bids", arr}});
    }
    const OrderRec& order = *o.value();
    json j{{"order", ProtoToJson(order.pb)}};
    auto e = keeper_.escrow(s, *id);
    if (!e.ok()) return fail(e.error());
    if (e.value()) j["escrow"] = ProtoToJson(e.value()->pb);
    if (order.pb.lease_id() != 0) {
      auto l = keeper_.lease(s, order.pb.lease_id());
      if (!l.ok()) return fail(l.error());
      if (l.value()) {
        auto lv = lease_view(*l.value());
        if (!lv.ok()) return fail(lv.error());
        j["lease"] = (*lv)["lease"];
        if (lv->contains("funded_until")) j["funded_until"] = (*lv)["funded_until"];
        if (lv->contains("escrow")) j["escrow_settled"] = (*lv)["escrow"];
      }
    }
    return ok(j);
  }
  if (path == "/market/leases") {
    json arr = json::array();
    const std::string state_filter = q.count("state") ? Upper(q["state"]) : "";
    Status view_st;
    auto add = [&](const LeaseRec& l) {
      if (!state_filter.empty() && depai::market::v1::LeaseState_Name(l.pb.state()) != "LEASE_STATE_" + state_filter)
        return true;
      auto v = lease_view(l);
      if (!v.ok()) {
        view_st = v.error();
        return false;
      }
      arr.push_back(std::move(v).value());
      return true;
    };
    Status st;
    if (q.count("provider")) {
      auto a = crypto::AddressFromBech32(q["provider"]);
      if (!a.ok()) return fail(RootErr(kErrInvalidAddress, "provider: " + a.error().message));
      st = keeper_.for_each_lease_of(s, *a, add);
    } else {
      std::string owner;
      if (q.count("owner")) {
        auto a = crypto::AddressFromBech32(q["owner"]);
        if (!a.ok()) return fail(RootErr(kErrInvalidAddress, "owner: " + a.error().message));
        owner = q["owner"];
      }
      st = keeper_.for_each_lease(
          s, [&](const LeaseRec& l) { return owner.empty() || l.pb.owner() == owner ? add(l) : true; });
    }
    if (!st.ok()) return fail(st.error());
    if (!view_st.ok()) return fail(view_st.error());
    return ok(json{{"leases", arr}});
  }
  constexpr std::string_view kLeases = "/market/leases/";
  if (path.substr(0, kLeases.size()) == kLeases) {
    auto id = ParseQueryId(path.substr(kLeases.size()));
    if (!id.ok()) return fail(id.error());
    auto l = keeper_.lease(s, *id);
    if (!l.ok()) return fail(l.error());
    if (!l.value()) return fail(MarketErr(kErrLeaseNotFound, "lease " + std::to_string(*id) + " not found"));
    auto v = lease_view(*l.value());
    if (!v.ok()) return fail(v.error());
    return ok(std::move(v).value());
  }
  return fail(RootErr(kErrUnknownRequest, "unknown query path: " + std::string(full)));
}

}  // namespace depai::x::market
