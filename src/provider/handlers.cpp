#include "provider/handlers.h"

#include <cstdlib>

#include "client/deploy_spec.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "provider/bidder.h"
#include "util/bytes.h"

namespace depai::provider {

using nlohmann::json;
namespace mv1 = depai::market::v1;

Reply ErrorReply(int status, uint32_t code, const std::string& message) {
  return Reply{status, json{{"code", code}, {"codespace", kProviderdCodespace}, {"message", message}}};
}

Reply Handlers::AcceptManifest(uint64_t lease_id, const std::string& body) {
  const std::string lid = std::to_string(lease_id);
  json req = json::parse(body, nullptr, false);
  if (!req.is_object())
    return ErrorReply(400, kErrBadRequest, "the body must be a JSON object {manifest, owner, pubkey, signature}");
  for (const char* k : {"owner", "pubkey", "signature"})
    if (!req.contains(k) || !req[k].is_string() || req[k].get<std::string>().empty())
      return ErrorReply(401, kErrUnauthenticated,
                        std::string("missing '") + k + "': manifests must be signed by the lease owner");
  if (!req.contains("manifest") || !req["manifest"].is_object())
    return ErrorReply(400, kErrBadRequest, "missing 'manifest' (a JSON object)");
  auto l = chain_.GetLease(lease_id);
  if (!l.ok()) return ErrorReply(404, kErrLeaseNotHeld, "lease " + lid + ": " + l.error().message);
  if (l->provider() != chain_.address())
    return ErrorReply(404, kErrLeaseNotHeld, "lease " + lid + " is not held by this provider");
  if (l->state() == mv1::LEASE_STATE_CLOSED)
    return ErrorReply(409, kErrLeaseIsClosed,
                      "lease " + lid + " is closed (" + mv1::CloseReason_Name(l->close_reason()) + ")");
  std::string owner = req["owner"], pubkey_b64 = req["pubkey"], sig_b64 = req["signature"];
  auto pk = crypto::Base64Decode(pubkey_b64);
  auto sig = crypto::Base64Decode(sig_b64);
  if (!pk || pk->size() != crypto::kPubKeySize)
    return ErrorReply(401, kErrUnauthenticated, "pubkey must be 32 bytes of base64");
  if (!sig || sig->size() != crypto::kSignatureSize)
    return ErrorReply(401, kErrUnauthenticated, "signature must be 64 bytes of base64");
  // The owner's own key, or a live session key of the owner's agent wallet (x/wallet).
  if (crypto::AddressToBech32(crypto::AddressOf(*pk)) != owner) {
    auto live = chain_.IsLiveSessionKey(owner, *pk);
    if (!live.ok() || !live.value())
      return ErrorReply(401, kErrUnauthenticated,
                        "pubkey does not belong to owner " + owner + " (nor is it a live session key of its wallet)");
  }
  if (owner != l->owner())
    return ErrorReply(403, kErrForbidden,
                      "only the lease owner " + l->owner() + " may send its manifest, not " + owner);
  auto cid = chain_.ChainId();
  if (!cid.ok()) return ErrorReply(503, kErrUnavailable, cid.error().message);
  Bytes hash = client::ManifestHash(req["manifest"]);
  if (!crypto::Verify(*pk, client::ManifestSignBytes(cid.value(), lease_id, hash), *sig))
    return ErrorReply(401, kErrUnauthenticated,
                      "the signature does not verify (signed bytes: \"depai-manifest/v1\\n<chain_id>\\n" + lid +
                          "\\n<manifest sha256 hex>\")");
  auto o = chain_.GetOrder(l->order_id());
  if (!o.ok()) return ErrorReply(503, kErrUnavailable, "order of lease: " + o.error().message);
  const std::string want = HexEncode(o->manifest_hash());
  if (HexEncode(hash) != want)
    return ErrorReply(400, kErrManifestHash,
                      "manifest hash " + HexEncode(hash) + " does not match the order's manifest_hash " + want);
  auto m = client::ManifestFromJson(req["manifest"]);
  if (!m.ok()) return ErrorReply(400, kErrBadManifest, m.error().message);
  auto r = leases_.AcceptManifest(lease_id, l->start_height(), req["manifest"], m.value());
  if (!r.ok()) {
    const uint32_t code = r.error().code;
    const int status = code == kErrCannotStart     ? 422
                       : code == kErrManifestHash  ? 400
                       : code == kErrLeaseIsClosed ? 409
                                                   : 503;
    return ErrorReply(status, code, r.error().message);
  }
  if (!r.value()) return Reply{200, json{{"lease_id", lid}, {"status", "already received"}}};
  json services = json::array();
  for (const auto& [n, s] : m->services) services.push_back(n);
  return Reply{200, json{{"lease_id", lid}, {"status", "started"}, {"services", services}}};
}

std::optional<Reply> Handlers::CheckRead(uint64_t lease_id, const std::string& owner, const std::string& pubkey_b64,
                                         const std::string& time_ms, const std::string& sig_b64) {
  if (owner.empty() || pubkey_b64.empty() || time_ms.empty() || sig_b64.empty())
    return ErrorReply(401, kErrUnauthenticated,
                      "reads need the X-Depai-Owner, X-Depai-Pubkey, X-Depai-Time and X-Depai-Signature headers");
  std::string lease_owner;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    auto it = shared_.st.leases.find(lease_id);
    if (it != shared_.st.leases.end()) lease_owner = it->second.owner;
  }
  if (lease_owner.empty())
    return ErrorReply(404, kErrLeaseNotHeld, "lease " + std::to_string(lease_id) + " is not held here");
  if (time_ms.size() > 15 || time_ms.find_first_not_of("0123456789") != std::string::npos)
    return ErrorReply(401, kErrUnauthenticated, "X-Depai-Time must be unix milliseconds");
  int64_t t = std::stoll(time_ms);
  if (std::llabs(NowMs() - t) > client::kReadAuthWindowMs)
    return ErrorReply(401, kErrUnauthenticated, "X-Depai-Time is more than 5 minutes away from the provider's clock");
  auto pk = crypto::Base64Decode(pubkey_b64);
  auto sig = crypto::Base64Decode(sig_b64);
  if (!pk || pk->size() != crypto::kPubKeySize)
    return ErrorReply(401, kErrUnauthenticated, "X-Depai-Pubkey must be 32 bytes of base64");
  if (crypto::AddressToBech32(crypto::AddressOf(*pk)) != owner) {
    auto live = chain_.IsLiveSessionKey(owner, *pk);
    if (!live.ok() || !live.value())
      return ErrorReply(401, kErrUnauthenticated, "X-Depai-Pubkey does not belong to " + owner);
  }
  if (owner != lease_owner)
    return ErrorReply(403, kErrForbidden, "only the lease owner may read lease " + std::to_string(lease_id));
  if (!sig || !crypto::Verify(*pk, client::ReadSignBytes(lease_id, t), *sig))
    return ErrorReply(401, kErrUnauthenticated, "X-Depai-Signature does not verify");
  return std::nullopt;
}

Reply Handlers::LeaseStatusJson(uint64_t lease_id) {
  json j;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    auto it = shared_.st.leases.find(lease_id);
    if (it == shared_.st.leases.end())
      return ErrorReply(404, kErrLeaseNotHeld, "lease " + std::to_string(lease_id) + " is not held here");
    const auto& l = it->second;
    j = json{{"lease_id", std::to_string(l.id)},
             {"order_id", std::to_string(l.order_id)},
             {"owner", l.owner},
             {"provider", chain_.address()},
             {"price_per_block", std::to_string(l.price)},
             {"start_height", std::to_string(l.start_height)},
             {"manifest_hash", l.manifest_hash},
             {"manifest_received", l.manifest_received},
             {"lease_state", l.closed ? "closed" : "active"},
             {"close_reason", l.close_reason},
             {"workload_error", l.workload_error}};
  }
  json services = json::array();
  std::string state = "waiting_for_manifest";
  if (auto st = runtime_.GetStatus(lease_id)) {
    state = RunStateName(st->state);
    for (const auto& s : st->services) {
      json sj{{"service", s.service},
              {"state", RunStateName(s.state)},
              {"pid", s.pid},
              {"started_ms", s.started_ms},
              {"finished_ms", s.finished_ms},
              {"timed_out", s.timed_out},
              {"restarts", s.restarts},
              {"error", s.error},
              {"expose", s.expose},
              {"oom_killed", s.oom_killed},
              {"sandbox", s.sandbox}};
      sj["exit_code"] = s.exit_code ? json(*s.exit_code) : json(nullptr);
      sj["term_signal"] = s.term_signal ? json(*s.term_signal) : json(nullptr);
      services.push_back(sj);
    }
  }
  j["workload_state"] = state;
  j["services"] = services;
  return Reply{200, j};
}

Reply Handlers::ResultsJson(uint64_t lease_id) {
  json arr = json::array();
  for (const auto& a : runtime_.Artifacts(lease_id))
    arr.push_back(
        {{"name", a.name}, {"present", a.present}, {"size", a.size}, {"sha256", a.sha256}, {"error", a.error}});
  auto st = runtime_.GetStatus(lease_id);
  return Reply{200, json{{"lease_id", std::to_string(lease_id)},
                         {"workload_state", st ? RunStateName(st->state) : "waiting_for_manifest"},
                         {"artifacts", arr}}};
}

Reply Handlers::VerifyRow(uint64_t challenge_id, uint32_t index) {
  if (!verify_) return ErrorReply(503, kErrUnavailable, "this provider does not answer challenges");
  auto o = verify_->Opening(challenge_id, index);
  if (!o.ok()) return ErrorReply(404, ChallengeResponder::kNotFound, o.error().message);
  return Reply{200, client::RowOpeningToJson(*o)};
}

Reply Handlers::Health() {
  json verify = verify_ ? verify_->StatusJson() : json(nullptr);
  std::lock_guard<std::mutex> lock(shared_.mu);
  size_t active = 0;
  for (const auto& [id, l] : shared_.st.leases) active += l.closed ? 0 : 1;
  return Reply{200, json{{"status", "ok"},
                         {"provider", chain_.address()},
                         {"latest_height", std::to_string(shared_.latest_height)},
                         {"next_height", std::to_string(shared_.st.next_height)},
                         {"open_bids", shared_.st.bids.size()},
                         {"active_leases", active},
                         {"free", FreeResources(cfg_, shared_.st).to_json()},
                         {"sandbox", host_.to_json()},
                         {"state_dir", state_dir_},
                         {"verify", verify}}};
}

}  // namespace depai::provider
