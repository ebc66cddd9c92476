// An in-memory client::ChainClient for unit tests of the provider daemon's parts.
//
// Contract: the test scripts the chain: providers (with audits), orders, bids, leases, events by
// height, the latest height, the x/provider params and x/verify's records (challenges, verdicts,
// checkers, params). Queries answer from those records exactly
// as HttpChainClient would (a missing record is the chain's (codespace, code) error). Broadcast
// records every message (Broadcasts()), then answers with the next scripted result for that
// message type (FailNext) or succeeds at the latest height; a successful MsgCreateBid adds an
// OPEN bid of ours to the order, as the chain would.
// Thread-safety: every method takes one mutex; safe from several threads.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client/chain_client.h"

namespace depai::test {

class FakeChain : public client::ChainClient {
 public:
  explicit FakeChain(std::string address, std::string chain_id = "fake-chain")
      : address_(std::move(address)), chain_id_(std::move(chain_id)) {}

  // ---- scripting ----
  void SetHeight(int64_t h);
  void PutProvider(const client::ProviderRecord& p);
  void PutOrder(const depai::market::v1::Order& o);
  void PutBid(const depai::market::v1::Bid& b);
  void PutLease(const depai::market::v1::Lease& l);
  void AddEvent(int64_t height, const std::string& type, std::map<std::string, std::string> attributes);
  void SetHeartbeatWindow(int64_t w);
  void PutChallenge(const depai::verify::v1::Challenge& c);
  void PutVerdict(const depai::verify::v1::Verdict& v);
  void PutChecker(const depai::verify::v1::Checker& c);
  void SetVerifyParams(const depai::verify::v1::Params& p);
  // The next broadcast whose first message has this type URL fails with `e`.
  void FailNext(const std::string& type_url, Error e);

  // ---- observing ----
  std::vector<google::protobuf::Any> Broadcasts() const;
  // The broadcast messages of one type, decoded.
  template <typename M>
  std::vector<M> Sent() const {
    std::vector<M> out;
    for (const auto& a : Broadcasts()) {
      M m;
      if (a.UnpackTo(&m)) out.push_back(m);
    }
    return out;
  }
  void ClearBroadcasts();

  // ---- client::ChainClient ----
  const std::string& address() const override { return address_; }
  Result<std::string> ChainId() override { return chain_id_; }
  Result<int64_t> LatestHeight() override;
  Result<client::ProviderRecord> GetProvider(const std::string& address) override;
  Result<depai::provider::v1::Params> ProviderParams() override;
  Result<depai::market::v1::Order> GetOrder(uint64_t id) override;
  Result<std::vector<depai::market::v1::Order>> OpenOrders() override;
  Result<std::vector<depai::market::v1::Bid>> OrderBids(uint64_t order_id) override;
  Result<depai::market::v1::Lease> GetLease(uint64_t id) override;
  Result<std::vector<depai::market::v1::Lease>> LeasesOf(const std::string& provider) override;
  Result<client::EventPage> Events(int64_t from, int64_t to) override;
  Result<depai::verify::v1::Params> VerifyParams() override;
  Result<depai::verify::v1::Checker> GetChecker(const std::string& address) override;
  Result<depai::verify::v1::Challenge> GetChallenge(uint64_t id) override;
  Result<std::vector<depai::verify::v1::Challenge>> Challenges(const std::string& provider, const std::string& checker,
                                                               bool open) override;
  Result<depai::verify::v1::Verdict> GetVerdict(uint64_t id) override;
  Result<client::TxResult> Broadcast(const std::vector<google::protobuf::Any>& msgs,
                                     const std::string& memo = "") override;

 private:
  mutable std::mutex mu_;
  std::string address_, chain_id_;
  int64_t height_ = 1;
  depai::provider::v1::Params params_;
  std::map<std::string, client::ProviderRecord> providers_;
  std::map<uint64_t, depai::market::v1::Order> orders_;
  std::map<uint64_t, std::vector<depai::market::v1::Bid>> bids_;
  std::map<uint64_t, depai::market::v1::Lease> leases_;
  std::vector<client::ChainEvent> events_;
  depai::verify::v1::Params verify_params_;
  std::map<uint64_t, depai::verify::v1::Challenge> challenges_;
  std::map<uint64_t, depai::verify::v1::Verdict> verdicts_;
  std::map<std::string, depai::verify::v1::Checker> checkers_;
  std::map<std::string, std::deque<Error>> failures_;
  std::vector<google::protobuf::Any> sent_;
  uint64_t tx_counter_ = 0;
};

}  // namespace depai::test
