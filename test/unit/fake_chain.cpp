#include "fake_chain.h"

#include <algorithm>

#include "x/market/keeper.h"
#include "x/provider/keeper.h"

namespace depai::test {

namespace mv1 = depai::market::v1;
namespace pv1 = depai::provider::v1;
namespace vv1 = depai::verify::v1;

void FakeChain::PutChallenge(const vv1::Challenge& c) {
  std::lock_guard<std::mutex> lock(mu_);
  challenges_[c.id()] = c;
}
void FakeChain::PutVerdict(const vv1::Verdict& v) {
  std::lock_guard<std::mutex> lock(mu_);
  verdicts_[v.id()] = v;
}
void FakeChain::PutChecker(const vv1::Checker& c) {
  std::lock_guard<std::mutex> lock(mu_);
  checkers_[c.address()] = c;
}
void FakeChain::SetVerifyParams(const vv1::Params& p) {
  std::lock_guard<std::mutex> lock(mu_);
  verify_params_ = p;
}
Result<vv1::Params> FakeChain::VerifyParams() {
  std::lock_guard<std::mutex> lock(mu_);
  return verify_params_;
}
Result<vv1::Checker> FakeChain::GetChecker(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = checkers_.find(address);
  if (it == checkers_.end()) return Error{"verify", 1, "checker " + address + " not found"};
  return it->second;
}
Result<vv1::Challenge> FakeChain::GetChallenge(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = challenges_.find(id);
  if (it == challenges_.end()) return Error{"verify", 1, "challenge " + std::to_string(id) + " not found"};
  return it->second;
}
Result<std::vector<vv1::Challenge>> FakeChain::Challenges(const std::string& provider, const std::string& checker,
                                                          bool open) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<vv1::Challenge> out;
  for (const auto& [id, c] : challenges_) {
    if (!provider.empty() && c.provider() != provider) continue;
    if (!checker.empty() && std::find(c.quorum().begin(), c.quorum().end(), checker) == c.quorum().end()) continue;
    if (open && c.state() == vv1::CHALLENGE_STATE_DECIDED) continue;
    out.push_back(c);
  }
  return out;
}
Result<vv1::Verdict> FakeChain::GetVerdict(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = verdicts_.find(id);
  if (it == verdicts_.end()) return Error{"verify", 1, "verdict " + std::to_string(id) + " not found"};
  return it->second;
}

void FakeChain::SetHeight(int64_t h) {
  std::lock_guard<std::mutex> lock(mu_);
  height_ = h;
}
void FakeChain::PutProvider(const client::ProviderRecord& p) {
  std::lock_guard<std::mutex> lock(mu_);
  providers_[p.provider.owner()] = p;
}
void FakeChain::PutOrder(const mv1::Order& o) {
  std::lock_guard<std::mutex> lock(mu_);
  orders_[o.id()] = o;
}
void FakeChain::PutBid(const mv1::Bid& b) {
  std::lock_guard<std::mutex> lock(mu_);
  bids_[b.order_id()].push_back(b);
}
void FakeChain::PutLease(const mv1::Lease& l) {
  std::lock_guard<std::mutex> lock(mu_);
  leases_[l.id()] = l;
}
void FakeChain::AddEvent(int64_t height, const std::string& type, std::map<std::string, std::string> attributes) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(client::ChainEvent{height, type, std::move(attributes)});
}
void FakeChain::SetHeartbeatWindow(int64_t w) {
  std::lock_guard<std::mutex> lock(mu_);
  params_.set_heartbeat_window(w);
}
void FakeChain::FailNext(const std::string& type_url, Error e) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_[type_url].push_back(std::move(e));
}
std::vector<google::protobuf::Any> FakeChain::Broadcasts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}
void FakeChain::ClearBroadcasts() {
  std::lock_guard<std::mutex> lock(mu_);
  sent_.clear();
}

Result<int64_t> FakeChain::LatestHeight() {
  std::lock_guard<std::mutex> lock(mu_);
  return height_;
}

Result<client::ProviderRecord> FakeChain::GetProvider(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = providers_.find(address);
  if (it == providers_.end())
    return Error{x::provider::kCodespace, x::provider::kErrNotFound, "provider " + address + " is not registered"};
  return it->second;
}

Result<pv1::Params> FakeChain::ProviderParams() {
  std::lock_guard<std::mutex> lock(mu_);
  return params_;
}

Result<mv1::Order> FakeChain::GetOrder(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = orders_.find(id);
  if (it == orders_.end())
    return Error{x::market::kCodespace, x::market::kErrOrderNotFound, "order " + std::to_string(id) + " not found"};
  return it->second;
}

Result<std::vector<mv1::Order>> FakeChain::OpenOrders() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<mv1::Order> out;
  for (const auto& [id, o] : orders_)
    if (o.state() == mv1::ORDER_STATE_OPEN) out.push_back(o);
  return out;
}

Result<std::vector<mv1::Bid>> FakeChain::OrderBids(uint64_t order_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!orders_.count(order_id))
    return Error{x::market::kCodespace, x::market::kErrOrderNotFound,
                 "order " + std::to_string(order_id) + " not found"};
  auto it = bids_.find(order_id);
  return it == bids_.end() ? std::vector<mv1::Bid>{} : it->second;
}

Result<mv1::Lease> FakeChain::GetLease(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end())
    return Error{x::market::kCodespace, x::market::kErrLeaseNotFound, "lease " + std::to_string(id) + " not found"};
  return it->second;
}

Result<std::vector<mv1::Lease>> FakeChain::LeasesOf(const std::string& provider) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<mv1::Lease> out;
  for (const auto& [id, l] : leases_)
    if (l.provider() == provider) out.push_back(l);
  return out;
}

Result<client::EventPage> FakeChain::Events(int64_t from, int64_t to) {
  std::lock_guard<std::mutex> lock(mu_);
  client::EventPage page;
  if (to > height_) to = height_;
  for (const auto& e : events_)
    if (e.height >= from && e.height <= to) page.events.push_back(e);
  page.next_height = to < from ? from : to + 1;
  return page;
}

Result<client::TxResult> FakeChain::Broadcast(const std::vector<google::protobuf::Any>& msgs, const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& m : msgs) sent_.push_back(m);
  if (msgs.empty()) return Error{x::kRootCodespace, x::kErrInvalidRequest, "no messages"};
  auto f = failures_.find(msgs[0].type_url());
  if (f != failures_.end() && !f->second.empty()) {
    Error e = f->second.front();
    f->second.pop_front();
    return e;
  }
  for (const auto& m : msgs) {
    mv1::MsgCreateBid bid;
    if (m.UnpackTo(&bid) && m.type_url().find("MsgCreateBid") != std::string::npos) {
      mv1::Bid b;
      b.set_order_id(bid.order_id());
      b.set_provider(bid.provider());
      b.set_price_per_block(bid.price_per_block().amount());
      b.set_height(height_);
      b.set_state(mv1::BID_STATE_OPEN);
      bids_[bid.order_id()].push_back(b);
    }
  }
  client::TxResult r;
  r.hash = "FAKE" + std::to_string(++tx_counter_);
  r.height = height_;
  return r;
}

}  // namespace depai::test
