#include "provider/event_follower.h"

#include <spdlog/spdlog.h>

namespace depai::provider {

namespace {
uint64_t U64(const std::string& s) {
  if (s.empty() || s.size() >= 20 || s.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoull(s);
}
}  // namespace

void EventFollower::Handle(const client::ChainEvent& e, int64_t latest) {
  const std::string& type = e.type;
  if (type.rfind("verify.", 0) == 0) {
    if (verify_) verify_->OnEvent(e);
    return;
  }
  if (type.rfind("market.", 0) != 0) return;
  const uint64_t order_id = U64(e.attr("order_id")), lease_id = U64(e.attr("lease_id"));
  const bool mine = e.attr("provider") == chain_.address();
  if (type == "market.order_created" || type == "market.order_reopened") {
    if (type == "market.order_reopened") bidder_.OrderReopened(order_id);
    bidder_.ConsiderOrder(order_id, latest);
  } else if (type == "market.lease_created" && mine) {
    leases_.Hold(lease_id, e.height);
  } else if ((type == "market.bid_lost" || type == "market.bid_closed") && mine) {
    bidder_.Release(order_id, type.substr(11));
  } else if (type == "market.order_closed" || type == "market.order_no_bids") {
    bidder_.Release(order_id, type.substr(7));
  } else if (type == "market.lease_closed" && mine) {
    leases_.OnLeaseClosed(lease_id, e.attr("reason"), e.height);
  } else if ((type == "market.escrow_low_balance" || type == "market.escrow_exhausted") && mine) {
    spdlog::warn("lease {}: {} (balance {}, funded until {})", lease_id, type, e.attr("balance"),
                 e.attr("funded_until"));
  }
}

Status EventFollower::Follow(int64_t latest, const std::atomic<bool>& stop) {
  while (!stop) {
    int64_t from;
    {
      std::lock_guard<std::mutex> lock(shared_.mu);
      from = shared_.st.next_height;
    }
    if (from > latest) return {};
    auto page = chain_.Events(from, latest);
    if (!page.ok()) return page.status();
    for (const auto& e : page->events) Handle(e, latest);
    if (page->next_height <= from) return {};  // the node has nothing past `from` yet: next tick
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.st.next_height = page->next_height;
    shared_.Save();
  }
  return {};
}

}  // namespace depai::provider
