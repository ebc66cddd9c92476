#include "provider/chain.h"

#include "client/http_client.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"

namespace depai::provider {

using nlohmann::json;

ChainClient::ChainClient(std::string node, crypto::KeyPair key, std::string chain_id, Coins fee, uint64_t gas)
    : node_(std::move(node)),
      key_(std::move(key)),
      address_(crypto::AddressToBech32(crypto::AddressOf(key_.pubkey))),
      chain_id_(std::move(chain_id)),
      fee_(std::move(fee)),
      gas_(gas) {}

Result<std::string> ChainClient::chain_id() {
  std::lock_guard<std::mutex> lock(mu_);
  if (chain_id_.empty()) {
    auto st = Get("/status");
    if (!st.ok()) return st.error();
    chain_id_ = st->value("chain_id", "");
    if (chain_id_.empty()) return Error{"chain", 1, "the node at " + node_ + " did not say its chain_id"};
  }
  return chain_id_;
}

Result<json> ChainClient::Get(const std::string& path) const {
  auto r = client::HttpRequest(node_, "GET", path, "", 15000);
  if (!r.ok()) return r.error();
  json body = json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    if (body.is_object() && body.contains("message"))
      return Error{body.value("codespace", "api"), body.value("code", 1u), body["message"].get<std::string>()};
    return Error{"http", static_cast<uint32_t>(r->status), "GET " + path + " -> HTTP " + std::to_string(r->status)};
  }
  if (body.is_discarded()) return Error{"chain", 1, "invalid JSON from " + node_ + path};
  return body;
}

Result<json> ChainClient::Broadcast(const std::vector<google::protobuf::Any>& msgs, const std::string& memo) {
  auto cid = chain_id();
  if (!cid.ok()) return cid.error();
  std::lock_guard<std::mutex> lock(mu_);
  auto acc = Get("/accounts/" + address_);
  if (!acc.ok())
    return Error{acc.error().codespace, acc.error().code, "account " + address_ + ": " + acc.error().message};
  client::SignerData sd{cid.value(), std::stoull(acc->value("account_number", "0")),
                        std::stoull(acc->value("sequence", "0"))};
  client::TxOptions opts{fee_, gas_, memo, 0};
  Bytes tx = client::BuildSignedTx(key_, sd, msgs, opts);
  json req{{"tx_bytes", crypto::Base64Encode(tx)}, {"mode", "commit"}};
  auto r = client::HttpRequest(node_, "POST", "/txs", req.dump(), 40000);
  if (!r.ok()) return r.error();
  json body = json::parse(r->body, nullptr, false);
  if (!body.is_object())
    return Error{"chain", 1, "invalid JSON answer to a broadcast (HTTP " + std::to_string(r->status) + ")"};
  if (r->status != 200)
    return Error{body.value("codespace", "api"), body.value("code", 1u), body.value("message", "rejected")};
  if (body.value("code", 0u) != 0)
    return Error{body.value("codespace", ""), body.value("code", 1u), body.value("log", "")};
  return body;
}

}  // namespace depai::provider
