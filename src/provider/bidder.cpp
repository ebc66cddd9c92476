#include "provider/bidder.h"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "client/market_msgs.h"
#include "x/market/keeper.h"
#include "x/market/score.h"
#include "x/types/codec.h"

namespace depai::provider {

using nlohmann::json;
namespace mv1 = depai::market::v1;
namespace xm = depai::x::market;

Totals FreeResources(const ProviderConfig& cfg, const DaemonState& st) {
  Totals used;
  for (const auto& [id, b] : st.bids) used.add(b.resources);
  for (const auto& [id, l] : st.leases)
    if (!l.closed) used.add(l.resources);
  Totals free = TotalsOf(cfg.inventory);
  auto sub = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  free.cpu_millicores = sub(free.cpu_millicores, used.cpu_millicores);
  free.memory_mib = sub(free.memory_mib, used.memory_mib);
  free.bandwidth_mbps = sub(free.bandwidth_mbps, used.bandwidth_mbps);
  for (auto& [k, v] : free.gpus) v = sub(v, used.gpus[k]);
  for (auto& [k, v] : free.storage) v = sub(v, used.storage[k]);
  return free;
}

namespace {
// For the log only (the decision is Gaps'): the audits the order's auditors have not signed for
// us, as "audit of k=v by <auditor>, ...".
std::string MissingAudits(const mv1::Order& o, const std::vector<depai::provider::v1::AuditedAttributes>& audits) {
  std::string out;
  for (const auto& auditor : o.placement().auditors())
    for (const auto& want : o.placement().attributes()) {
      bool signed_it = false;
      for (const auto& au : audits)
        if (au.auditor() == auditor)
          for (const auto& a : au.attributes())
            signed_it = signed_it || (a.key() == want.key() && a.value() == want.value());
      if (!signed_it)
        out += (out.empty() ? "" : ", ") + ("audit of " + want.key() + "=" + want.value() + " by " + auditor);
    }
  return out;
}
}  // namespace

void Bidder::Skip(uint64_t order_id, const std::string& why) {
  spdlog::info("order {}: not bidding: {}", order_id, why);
  std::lock_guard<std::mutex> lock(shared_.mu);
  shared_.st.skipped.insert(order_id);
  shared_.Save();
}

void Bidder::Reserve(uint64_t order_id, uint64_t price, int64_t height, const Totals& need) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  shared_.st.bids[order_id] = OpenBid{order_id, price, height, need};
  shared_.Save();
}

void Bidder::Release(uint64_t order_id, const std::string& why) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  if (shared_.st.bids.erase(order_id)) {
    spdlog::info("bid on order {} {}", order_id, why);
    shared_.Save();
  }
}

void Bidder::OrderReopened(uint64_t order_id) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  shared_.st.bids.erase(order_id);
  shared_.st.skipped.erase(order_id);
}

Status Bidder::ConsiderOpenOrders(int64_t height) {
  auto orders = chain_.OpenOrders();
  if (!orders.ok()) return orders.status();
  for (const auto& o : *orders) ConsiderOrder(o.id(), height);
  return {};
}

void Bidder::ConsiderOrder(uint64_t order_id, int64_t height) {
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    if (shared_.st.bids.count(order_id) || shared_.st.skipped.count(order_id)) return;
  }
  const std::string& me = chain_.address();
  auto order = chain_.GetOrder(order_id);
  if (!order.ok()) return spdlog::warn("order {}: {}", order_id, order.error().message);
  const mv1::Order& o = *order;
  if (o.state() != mv1::ORDER_STATE_OPEN) return;
  if (o.bid_window_end() <= height)
    return Skip(order_id, "its bid window ended at height " + std::to_string(o.bid_window_end()));
  const Totals need = OrderTotals(o);
  if (auto bids = chain_.OrderBids(order_id); bids.ok())
    for (const auto& b : *bids)
      if (b.provider() == me && (b.state() == mv1::BID_STATE_OPEN || b.state() == mv1::BID_STATE_WON)) {
        auto price = Amount::Parse(b.price_per_block());
        return Reserve(order_id, price.ok() ? price->raw() : 0, b.height(), need);  // bid before a restart
      }
  // Eligibility: x/market's own rule, on our record as the chain has it.
  auto self = chain_.GetProvider(me);
  if (!self.ok()) return spdlog::warn("order {}: cannot read our provider record: {}", order_id, self.error().message);
  auto gaps = xm::Gaps(o, self->provider, self->audits);
  if (!gaps.empty()) {
    std::string list;
    for (const auto& g : gaps) list += (list.empty() ? "" : "; ") + g;
    const std::string audits = MissingAudits(o, self->audits);
    return Skip(order_id, "we do not meet it: " + list + (audits.empty() ? "" : " (we lack " + audits + ")"));
  }
  std::string missing;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    missing = FreeResources(cfg_, shared_.st).missing(need);
  }
  if (!missing.empty()) return Skip(order_id, "not enough free inventory: " + missing);
  // Price.
  const json oj = x::MessageToJson(o);
  auto max = Amount::Parse(o.max_price_per_block());
  const uint64_t max_price = max.ok() ? max->raw() : 0;
  uint64_t price = 0;
  if (!cfg_.price_script.empty()) {
    json in{{"order_id", std::to_string(order_id)},
            {"owner", o.owner()},
            {"groups", oj.value("groups", json::array())},
            {"placement", oj.value("placement", json::object())},
            {"max_price_per_block", std::to_string(max_price)},
            {"resources", need.to_json()},
            {"provider", me}};
    auto p = RunPriceScript(cfg_.price_script, in, cfg_.price_script_timeout_ms);
    if (!p.ok()) return Skip(order_id, p.error().message);
    if (!p.value()) return Skip(order_id, "the price script said skip");
    price = *p.value();
  } else {
    auto p = RulePrice(cfg_.rule, oj);
    if (!p.ok()) return Skip(order_id, p.error().message);
    price = p.value();
  }
  // A credit-priced order: our udpai price in ucredit (1 ucredit = 1 micro-USD), at the configured
  // credit_price_e9 or else the oracle's median, rounded up so that we never bid below our price.
  const std::string denom = o.denom().empty() ? "udpai" : o.denom();
  if (denom == "ucredit") {
    uint64_t rate = cfg_.credit_price_e9;
    if (rate == 0) {
      auto op = chain_.OraclePriceE9();
      if (!op.ok() || !op.value())
        return Skip(order_id,
                    "credit-priced order and no DPAI/USD price to convert at "
                    "(set [pricing] credit_price_e9 or wait for the oracle)");
      rate = *op.value();
    }
    const unsigned __int128 c = (static_cast<unsigned __int128>(price) * rate + 999'999'999) / 1'000'000'000;
    if (c > Amount::kMax) return Skip(order_id, "our credit price overflows");
    price = std::max<uint64_t>(1, static_cast<uint64_t>(c));
  } else if (denom != "udpai") {
    return Skip(order_id, "the order is priced in " + denom + ", which we do not take");
  }
  if (price > max_price)
    return Skip(order_id, "our price " + std::to_string(price) + denom + " is above the order's max " +
                              std::to_string(max_price) + denom);
  auto r = chain_.Broadcast({client::PackMsgCreateBid(me, order_id, Amount::Of(price).value(), denom)});
  if (!r.ok()) {
    const Error& e = r.error();
    if (client::IsChainError(e, xm::kCodespace, xm::kErrDuplicateBid)) {
      spdlog::info("order {}: the chain already has our bid; keeping it", order_id);
      return Reserve(order_id, price, height, need);
    }
    const bool gone = client::IsChainError(e, xm::kCodespace, xm::kErrOrderNotOpen) ||
                      client::IsChainError(e, xm::kCodespace, xm::kErrBidWindowClosed) ||
                      client::IsChainError(e, xm::kCodespace, xm::kErrOrderClosed);
    return Skip(order_id, std::string(gone ? "the order is no longer open for bids" : "the chain rejected our bid") +
                              ": " + e.message + " (" + e.codespace + " " + std::to_string(e.code) + ")");
  }
  spdlog::info("order {}: bid {}{} per block at height {}", order_id, price, denom, r->height);
  Reserve(order_id, price, r->height, need);
}

}  // namespace depai::provider
