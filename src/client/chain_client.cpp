#include "client/chain_client.h"

#include <google/protobuf/util/json_util.h>

#include "client/http_client.h"
#include "client/tx_builder.h"
#include "client/verify_msgs.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "util/bytes.h"
#include "x/types/errors.h"

namespace depai::client {

using nlohmann::json;
namespace mv1 = depai::market::v1;
namespace pv1 = depai::provider::v1;

namespace {

int64_t I64(const json& j, const char* k) {
  if (!j.is_object() || !j.contains(k)) return 0;
  const auto& v = j[k];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (!s.empty() && s.size() < 19 && s.find_first_not_of("0123456789") == std::string::npos) return std::stoll(s);
  }
  return 0;
}

template <typename M>
Result<M> Decode(const json& j, const char* what, const std::vector<std::string>& bytes_hex = {}) {
  M m;
  if (auto st = DecodeProtoJson(j, &m, bytes_hex); !st.ok())
    return Error{st.error().codespace, st.error().code, std::string(what) + ": " + st.error().message};
  return m;
}

template <typename M>
Result<std::vector<M>> DecodeList(const json& arr, const char* what, const char* inner = nullptr,
                                  const std::vector<std::string>& bytes_hex = {}) {
  std::vector<M> out;
  if (!arr.is_array()) return Error{"client", 1, std::string(what) + ": expected a JSON array"};
  for (const auto& item : arr) {
    auto m = Decode<M>(inner ? item.value(inner, json::object()) : item, what, bytes_hex);
    if (!m.ok()) return m.error();
    out.push_back(std::move(m).value());
  }
  return out;
}

}  // namespace

Status DecodeProtoJson(const json& j, google::protobuf::Message* out, const std::vector<std::string>& bytes_hex) {
  json copy = j;
  for (const auto& f : bytes_hex)
    if (copy.is_object() && copy.contains(f) && copy[f].is_string()) {
      auto raw = HexDecode(copy[f].get<std::string>());
      if (!raw) return Error{"client", 1, "field " + f + " is not hex"};
      copy[f] = crypto::Base64Encode(*raw);
    }
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(copy.dump(), out, o);
  if (!st.ok()) return Error{"client", 1, "undecodable " + out->GetTypeName() + ": " + std::string(st.message())};
  return {};
}

HttpChainClient::HttpChainClient(std::string node, crypto::KeyPair key, std::string chain_id, Coins fee, uint64_t gas)
    : node_(std::move(node)),
      key_(std::move(key)),
      address_(crypto::AddressToBech32(crypto::AddressOf(key_.pubkey))),
      chain_id_(std::move(chain_id)),
      fee_(std::move(fee)),
      gas_(gas) {}

Result<json> HttpChainClient::Get(const std::string& path) const {
  auto r = HttpRequest(node_, "GET", path, "", 15000);
  if (!r.ok()) return r.error();
  json body = json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    if (body.is_object() && body.contains("message") && body["message"].is_string())
      return Error{body.value("codespace", "api"), body.value("code", 1u), body["message"].get<std::string>()};
    return Error{"http", static_cast<uint32_t>(r->status), "GET " + path + " -> HTTP " + std::to_string(r->status)};
  }
  if (body.is_discarded()) return Error{"client", 1, "invalid JSON from " + node_ + path};
  return body;
}

Result<std::string> HttpChainClient::ChainId() {
  std::lock_guard<std::mutex> lock(id_mu_);
  if (chain_id_.empty()) {
    auto st = Get("/status");
    if (!st.ok()) return st.error();
    chain_id_ = st->value("chain_id", "");
    if (chain_id_.empty()) return Error{"client", 1, "the node at " + node_ + " did not say its chain_id"};
  }
  return chain_id_;
}

Result<int64_t> HttpChainClient::LatestHeight() {
  auto st = Get("/status");
  if (!st.ok()) return st.error();
  return I64(*st, "latest_block_height");
}

Result<ProviderRecord> HttpChainClient::GetProvider(const std::string& address) {
  auto j = Get("/q/provider/providers/" + address);
  if (!j.ok()) return j.error();
  ProviderRecord rec;
  auto p = Decode<pv1::Provider>(j->value("provider", json::object()), "provider");
  if (!p.ok()) return p.error();
  rec.provider = std::move(p).value();
  auto audits = DecodeList<pv1::AuditedAttributes>(j->value("audits", json::array()), "audits");
  if (!audits.ok()) return audits.error();
  rec.audits = std::move(audits).value();
  return rec;
}

Result<pv1::Params> HttpChainClient::ProviderParams() {
  auto j = Get("/q/provider/params");
  if (!j.ok()) return j.error();
  return Decode<pv1::Params>(*j, "provider params");
}

Result<std::optional<uint64_t>> HttpChainClient::OraclePriceE9() {
  auto j = Get("/oracle/price");
  if (!j.ok() || !j->value("available", false)) return std::optional<uint64_t>{};  // no oracle, or no price
  auto p = Amount::Parse(j->value("price_e9", ""));
  if (!p.ok() || p->is_zero()) return std::optional<uint64_t>{};
  return std::optional<uint64_t>(p->raw());
}

Result<mv1::Order> HttpChainClient::GetOrder(uint64_t id) {
  auto j = Get("/q/market/orders/" + std::to_string(id));
  if (!j.ok()) return j.error();
  return Decode<mv1::Order>(j->value("order", json::object()), "order", {"manifest_hash"});
}

Result<std::vector<mv1::Order>> HttpChainClient::OpenOrders() {
  auto j = Get("/q/market/orders?state=open");
  if (!j.ok()) return j.error();
  return DecodeList<mv1::Order>(j->value("orders", json::array()), "orders", nullptr, {"manifest_hash"});
}

Result<std::vector<mv1::Bid>> HttpChainClient::OrderBids(uint64_t order_id) {
  auto j = Get("/q/market/orders/" + std::to_string(order_id) + "/bids");
  if (!j.ok()) return j.error();
  return DecodeList<mv1::Bid>(j->value("bids", json::array()), "bids");
}

Result<mv1::Lease> HttpChainClient::GetLease(uint64_t id) {
  auto j = Get("/q/market/leases/" + std::to_string(id));
  if (!j.ok()) return j.error();
  return Decode<mv1::Lease>(j->value("lease", json::object()), "lease");
}

Result<std::vector<mv1::Lease>> HttpChainClient::LeasesOf(const std::string& provider) {
  auto j = Get("/q/market/leases?provider=" + provider);
  if (!j.ok()) return j.error();
  return DecodeList<mv1::Lease>(j->value("leases", json::array()), "leases", "lease");
}

Result<EventPage> HttpChainClient::Events(int64_t from, int64_t to) {
  auto j = Get("/events?from_height=" + std::to_string(from) + "&to_height=" + std::to_string(to));
  if (!j.ok()) return j.error();
  EventPage page;
  for (const auto& e : j->value("events", json::array())) {
    ChainEvent ev;
    ev.height = I64(e, "height");
    ev.type = e.value("type", "");
    const json attrs = e.value("attributes", json::object());
    for (const auto& [k, v] : attrs.items()) ev.attributes[k] = v.is_string() ? v.get<std::string>() : v.dump();
    page.events.push_back(std::move(ev));
  }
  page.next_height = j->contains("next_height") ? I64(*j, "next_height") : to + 1;
  return page;
}

Result<depai::verify::v1::Params> HttpChainClient::VerifyParams() {
  auto j = Get("/q/verify/params");
  if (!j.ok()) return j.error();
  return DecodeVerifyParams(*j);
}

Result<bool> HttpChainClient::IsLiveSessionKey(const std::string& wallet, const Bytes& pubkey) {
  auto j = Get("/q/wallet/wallets/" + wallet);
  if (!j.ok()) return false;  // not a wallet (or no x/wallet)
  if (j->value("revoked", false)) return false;
  const std::string hex = HexEncode(pubkey);
  for (const auto& k : j->value("session_keys", nlohmann::json::array()))
    if (k.value("pub_key", "") == hex) return !k.value("revoked", false);
  return false;
}

Result<depai::verify::v1::Checker> HttpChainClient::GetChecker(const std::string& address) {
  auto j = Get("/q/verify/checkers/" + address);
  if (!j.ok()) return j.error();
  return DecodeChecker(*j);
}

Result<depai::verify::v1::Challenge> HttpChainClient::GetChallenge(uint64_t id) {
  auto j = Get("/q/verify/challenges/" + std::to_string(id));
  if (!j.ok()) return j.error();
  return DecodeChallenge(*j);
}

Result<std::vector<depai::verify::v1::Challenge>> HttpChainClient::Challenges(const std::string& provider,
                                                                              const std::string& checker, bool open) {
  std::string path = "/q/verify/challenges", sep = "?";
  if (!provider.empty()) path += sep + "provider=" + provider, sep = "&";
  if (!checker.empty()) path += sep + "checker=" + checker, sep = "&";
  if (open) path += sep + "open=true";
  auto j = Get(path);
  if (!j.ok()) return j.error();
  std::vector<depai::verify::v1::Challenge> out;
  for (const auto& c : j->value("challenges", json::array())) {
    auto m = DecodeChallenge(c);
    if (!m.ok()) return m.error();
    out.push_back(std::move(m).value());
  }
  return out;
}

Result<depai::verify::v1::Verdict> HttpChainClient::GetVerdict(uint64_t id) {
  auto j = Get("/q/verify/verdicts/" + std::to_string(id));
  if (!j.ok()) return j.error();
  return DecodeVerdict(*j);
}

void HttpChainClient::set_wallet(const Bytes& wallet20) {
  wallet_ = wallet20;
  address_ = crypto::AddressToBech32(wallet20);
}

Result<TxResult> HttpChainClient::BroadcastOnce(const std::string& chain_id,
                                                const std::vector<google::protobuf::Any>& msgs, const std::string& memo,
                                                uint64_t gas, const Coins& fee) {
  auto acc = Get("/accounts/" + address_);
  if (!acc.ok())
    return Error{acc.error().codespace, acc.error().code, "account " + address_ + ": " + acc.error().message};
  SignerData sd{chain_id, static_cast<uint64_t>(I64(*acc, "account_number")),
                static_cast<uint64_t>(I64(*acc, "sequence")), wallet_};
  TxOptions opts{fee, gas, memo, 0};
  Bytes tx = BuildSignedTx(key_, sd, msgs, opts);
  json req{{"tx_bytes", crypto::Base64Encode(tx)}, {"mode", "commit"}};
  auto r = HttpRequest(node_, "POST", "/txs", req.dump(), 40000);
  if (!r.ok()) return r.error();
  json body = json::parse(r->body, nullptr, false);
  if (!body.is_object())
    return Error{"client", 1, "invalid JSON answer to a broadcast (HTTP " + std::to_string(r->status) + ")"};
  if (r->status != 200)
    return Error{body.value("codespace", "api"), body.value("code", 1u), body.value("message", "rejected")};
  if (body.value("code", 0u) != 0)
    return Error{body.value("codespace", ""), body.value("code", 1u), body.value("log", "")};
  TxResult out;
  out.hash = body.value("hash", "");
  out.height = I64(body, "height");
  out.code = 0;
  out.codespace = body.value("codespace", "");
  out.log = body.value("log", "");
  out.raw = std::move(body);
  return out;
}

Result<TxResult> HttpChainClient::Broadcast(const std::vector<google::protobuf::Any>& msgs, const std::string& memo) {
  auto cid = ChainId();
  if (!cid.ok()) return cid.error();
  std::lock_guard<std::mutex> lock(tx_mu_);
  auto r = BroadcastOnce(*cid, msgs, memo, gas_, fee_);
  if (!r.ok() && IsChainError(r.error(), x::kRootCodespace, x::kErrInvalidSequence))
    r = BroadcastOnce(*cid, msgs, memo, gas_, fee_);
  return r;
}

Result<TxResult> HttpChainClient::BroadcastWithGas(const std::vector<google::protobuf::Any>& msgs, uint64_t gas) {
  auto cid = ChainId();
  if (!cid.ok()) return cid.error();
  // The chain's minimum fee is gas * 50 / 10^6 udpai (rounded up).
  Coins fee = fee_;
  const uint64_t min_fee = (gas * 50 + 999999) / 1000000;
  if (fee.list().size() == 1 && fee.list()[0].denom == "udpai" && fee.list()[0].amount.raw() < min_fee)
    if (auto f = Coins::Parse(std::to_string(min_fee) + "udpai"); f.ok()) fee = *f;
  std::lock_guard<std::mutex> lock(tx_mu_);
  auto r = BroadcastOnce(*cid, msgs, "", gas, fee);
  if (!r.ok() && IsChainError(r.error(), x::kRootCodespace, x::kErrInvalidSequence))
    r = BroadcastOnce(*cid, msgs, "", gas, fee);
  return r;
}

}  // namespace depai::client
