// What a daemon or a command needs from a depai chain, behind an interface: the chain id, the
// latest height, typed queries (the provider registry, orders, bids, leases, x/verify's
// params, checkers, challenges and verdicts), the events of a
// range of heights, and signing + broadcasting messages with one key.
//
// Contract:
//   - Queries return the chain's records as their proto types (decoded from the API's proto JSON).
//     A record the chain does not have is an Error with the chain's (codespace, code), e.g.
//     ("provider", x::provider::kErrNotFound) or ("market", x::market::kErrOrderNotFound);
//     transport failures have codespace "client" or "http".
//   - Broadcast signs with the client's key (account number and sequence asked from the chain),
//     sends in commit mode and returns the block result. A tx rejected by CheckTx or failing in its
//     block is an Error carrying the chain's codespace, code and log: callers recognise chain errors
//     with IsChainError(err, codespace, code), never by the text of the message.
//   - HttpChainClient talks to a depai node's HTTP API (/status, /events, /q/..., /accounts, /txs).
//     A fake for unit tests lives in test/unit/fake_chain.h.
// Thread-safety: implementations are safe to call from several threads; HttpChainClient
// serialises Broadcast on a mutex (sequence numbers).
#pragma once

#include <google/protobuf/any.pb.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"
#include "depai/market/v1/market.pb.h"
#include "depai/provider/v1/provider.pb.h"
#include "depai/verify/v1/verify.pb.h"
#include "util/amount.h"
#include "util/result.h"

namespace depai::client {

// True when `e` is the chain's error (codespace, code).
inline bool IsChainError(const Error& e, std::string_view codespace, uint32_t code) {
  return e.code == code && e.codespace == codespace;
}

// A provider as the registry has it, with its audited attributes.
struct ProviderRecord {
  depai::provider::v1::Provider provider;
  std::vector<depai::provider::v1::AuditedAttributes> audits;
};

// One event of a committed block (attributes by key).
struct ChainEvent {
  int64_t height = 0;
  std::string type;  // "market.order_created", ...
  std::map<std::string, std::string> attributes;
  std::string attr(const std::string& k) const {
    auto it = attributes.find(k);
    return it == attributes.end() ? "" : it->second;
  }
};

// The events of heights [from, next_height); ask again from next_height.
struct EventPage {
  std::vector<ChainEvent> events;
  int64_t next_height = 0;
};

// A committed transaction's result (code 0).
struct TxResult {
  std::string hash;
  int64_t height = 0;
  uint32_t code = 0;
  std::string codespace, log;
  nlohmann::json raw;  // the node's whole answer (events, gas)
};

class ChainClient {
 public:
  virtual ~ChainClient() = default;
  virtual const std::string& address() const = 0;  // bech32 of the signing key
  virtual Result<std::string> ChainId() = 0;
  virtual Result<int64_t> LatestHeight() = 0;

  virtual Result<ProviderRecord> GetProvider(const std::string& address) = 0;
  virtual Result<depai::provider::v1::Params> ProviderParams() = 0;
  virtual Result<depai::market::v1::Order> GetOrder(uint64_t id) = 0;
  virtual Result<std::vector<depai::market::v1::Order>> OpenOrders() = 0;
  virtual Result<std::vector<depai::market::v1::Bid>> OrderBids(uint64_t order_id) = 0;
  virtual Result<depai::market::v1::Lease> GetLease(uint64_t id) = 0;
  virtual Result<std::vector<depai::market::v1::Lease>> LeasesOf(const std::string& provider) = 0;
  // The chain's current DPAI/USD median in nano-USD per DPAI (GET /oracle/price), or nullopt when
  // the oracle has no available price (or the chain has no oracle). Default: nullopt.
  virtual Result<std::optional<uint64_t>> OraclePriceE9() { return std::optional<uint64_t>{}; }
  // Events of committed blocks from..to (the node may return fewer heights; see next_height).
  virtual Result<EventPage> Events(int64_t from, int64_t to) = 0;

  // x/verify (/q/verify/...). Challenges(): provider / checker filters when non-empty, open =
  // state != DECIDED.
  virtual Result<depai::verify::v1::Params> VerifyParams() = 0;
  virtual Result<depai::verify::v1::Checker> GetChecker(const std::string& address) = 0;
  virtual Result<depai::verify::v1::Challenge> GetChallenge(uint64_t id) = 0;
  virtual Result<std::vector<depai::verify::v1::Challenge>> Challenges(const std::string& provider,
                                                                       const std::string& checker, bool open) = 0;
  virtual Result<depai::verify::v1::Verdict> GetVerdict(uint64_t id) = 0;
  // True iff `wallet` is an agent wallet (x/wallet), not revoked, and `pubkey` is one of its
  // session keys, not revoked (a lease owned by a wallet is driven with a session key).
  // Default: false (no x/wallet).
  virtual Result<bool> IsLiveSessionKey(const std::string& wallet, const Bytes& pubkey) {
    (void)wallet;
    (void)pubkey;
    return false;
  }

  virtual Result<TxResult> Broadcast(const std::vector<google::protobuf::Any>& msgs, const std::string& memo = "") = 0;
  // The same with a gas limit of its own (a dispute's on-chain recomputation); the fee is raised
  // to the chain's minimum for that gas when the configured fee is below it. Default: Broadcast.
  virtual Result<TxResult> BroadcastWithGas(const std::vector<google::protobuf::Any>& msgs, uint64_t gas) {
    (void)gas;
    return Broadcast(msgs);
  }
};

// Decodes the proto JSON the API prints into `out` (unknown fields ignored). `bytes_hex` names
// bytes fields the API prints as hex rather than base64 (market's manifest_hash).
Status DecodeProtoJson(const nlohmann::json& j, google::protobuf::Message* out,
                       const std::vector<std::string>& bytes_hex = {});

class HttpChainClient : public ChainClient {
 public:
  // `chain_id` may be empty: asked from /status on first use (cached).
  HttpChainClient(std::string node, crypto::KeyPair key, std::string chain_id, Coins fee, uint64_t gas);
  const std::string& address() const override { return address_; }
  // Sign for this agent wallet (x/wallet) with the key as a session key: address() becomes the
  // wallet's, and txs carry SignerInfo.wallet. `wallet20` is 20 raw bytes.
  void set_wallet(const Bytes& wallet20);
  const std::string& node() const { return node_; }
  Result<std::string> ChainId() override;
  Result<int64_t> LatestHeight() override;
  Result<ProviderRecord> GetProvider(const std::string& address) override;
  Result<depai::provider::v1::Params> ProviderParams() override;
  Result<bool> IsLiveSessionKey(const std::string& wallet, const Bytes& pubkey) override;
  Result<depai::market::v1::Order> GetOrder(uint64_t id) override;
  Result<std::optional<uint64_t>> OraclePriceE9() override;
  Result<std::vector<depai::market::v1::Order>> OpenOrders() override;
  Result<std::vector<depai::market::v1::Bid>> OrderBids(uint64_t order_id) override;
  Result<depai::market::v1::Lease> GetLease(uint64_t id) override;
  Result<std::vector<depai::market::v1::Lease>> LeasesOf(const std::string& provider) override;
  Result<EventPage> Events(int64_t from, int64_t to) override;
  Result<depai::verify::v1::Params> VerifyParams() override;
  Result<depai::verify::v1::Checker> GetChecker(const std::string& address) override;
  Result<depai::verify::v1::Challenge> GetChallenge(uint64_t id) override;
  Result<std::vector<depai::verify::v1::Challenge>> Challenges(const std::string& provider, const std::string& checker,
                                                               bool open) override;
  Result<depai::verify::v1::Verdict> GetVerdict(uint64_t id) override;
  // Retries once when the chain answers (sdk, kErrInvalidSequence): another signer with the same
  // key (a CLI command) used the sequence between our account read and the broadcast.
  Result<TxResult> Broadcast(const std::vector<google::protobuf::Any>& msgs, const std::string& memo = "") override;
  Result<TxResult> BroadcastWithGas(const std::vector<google::protobuf::Any>& msgs, uint64_t gas) override;

  // GET path -> JSON body (HTTP 200), else an Error with the API's {codespace, code, message}
  // (codespace "http" and the status as code for HTTP errors without a JSON body).
  Result<nlohmann::json> Get(const std::string& path) const;

 private:
  Result<TxResult> BroadcastOnce(const std::string& chain_id, const std::vector<google::protobuf::Any>& msgs,
                                 const std::string& memo, uint64_t gas, const Coins& fee);
  std::string node_;
  crypto::KeyPair key_;
  std::string address_;
  Bytes wallet_;  // empty: the key signs for itself
  std::string chain_id_;
  Coins fee_;
  uint64_t gas_;
  std::mutex id_mu_;  // chain_id_
  std::mutex tx_mu_;  // one broadcast at a time
};

}  // namespace depai::client
