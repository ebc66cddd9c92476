// x/identity queries (JSON; proto field names, u64 as strings, bytes as hex):
//   /identity/params
//   /identity/did/{did}        {"didDocument": W3C DID Core, "didDocumentMetadata": {...}, "record": stored}
//                              (a deactivated DID is answered with deactivated: true; an unknown one is
//                              kErrDidNotFound, a malformed one kErrInvalidDid)
//   /identity/attesters        every attester (active and unbonding)
//   /identity/attesters/{addr} one attester
//   /identity/link/{addr}      the account's live link: {"account", "did" ("" when none)}
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/identity/module.h"
#include "x/types/codec.h"

namespace depai::x::identity {

using nlohmann::json;

namespace {
void BytesToHex(json& j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if ((k == "public_key" || k == "pub_key" || k == "device_key" || k == "signature") && v.is_string()) {
        auto raw = crypto::Base64Decode(v.get<std::string>());
        v = raw ? HexEncode(*raw) : "";
      } else {
        BytesToHex(v);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) BytesToHex(e);
  }
}

// RFC 4648 §5 base64url without padding (a JWK's "x").
std::string Base64Url(std::string_view raw) {
  std::string b = crypto::Base64Encode(raw);
  while (!b.empty() && b.back() == '=') b.pop_back();
  for (char& c : b) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return b;
}

Result<Bytes> ParseAddr(std::string_view s) {
  auto a = crypto::AddressFromBech32(s);
  if (!a.ok()) return RootErr(kErrInvalidAddress, "invalid address '" + std::string(s) + "': " + a.error().message);
  return *a;
}
}  // namespace

json ProtoToJson(const google::protobuf::Message& m) {
  json j = MessageToJson(m);
  BytesToHex(j);
  return j;
}

Result<json> DidCoreDocument(const Keeper&, const store::KVReader&, const DidDocument& d) {
  json vms = json::array(), auth = json::array(), svcs = json::array();
  for (const auto& vm : d.verification_methods())
    vms.push_back({{"id", d.id() + "#" + vm.id()},
                   {"type", "JsonWebKey2020"},
                   {"controller", d.id()},
                   {"publicKeyJwk", {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64Url(vm.public_key())}}}});
  for (const auto& a : d.authentication()) auth.push_back(d.id() + "#" + a);
  for (const auto& s : d.services())
    svcs.push_back({{"id", d.id() + "#" + s.id()}, {"type", s.type()}, {"serviceEndpoint", s.endpoint()}});
  json doc{{"@context", json::array({"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"})},
           {"id", d.id()},
           // The DID's controller is an account, not a DID: named as the account's bech32 address.
           {"controller", d.controller()},
           {"verificationMethod", vms},
           {"authentication", auth},
           {"service", svcs}};
  json also = json::array();
  for (const auto& a : d.accounts()) also.push_back("depai:account:" + a);
  if (!also.empty()) doc["alsoKnownAs"] = also;
  return doc;
}

Result<json> DidDocumentMetadata(const Keeper& k, const store::KVReader& s, const DidDocument& d) {
  json atts = json::array();
  for (const auto& a : d.attestations()) {
    DEPAI_ASSIGN_OR_RETURN(bool counts, k.counts(s, a));
    json j = ProtoToJson(a);
    j["device_key_id"] = d.id() + "#" + a.device_key_id();
    j["counts"] = counts;
    atts.push_back(j);
  }
  return json{{"created", std::to_string(d.created_height())},
              {"updated", std::to_string(d.updated_height())},
              {"deactivated", d.deactivated()},
              {"attestations", atts}};
}

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view path) const {
  constexpr std::string_view kRoot = "/identity/";
  if (path.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  auto tail = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
    return path.substr(prefix.size());
  };
  auto run = [&]() -> Result<json> {
    if (path == "/identity/params") {
      DEPAI_ASSIGN_OR_RETURN(const Params p, keeper_.params(s));
      return ProtoToJson(p);
    }
    if (path == "/identity/attesters") {
      json list = json::array();
      DEPAI_TRY(keeper_.for_each_attester(s, [&](std::string_view, const Attester& a) {
        list.push_back(ProtoToJson(a));
        return true;
      }));
      return json{{"attesters", list}};
    }
    if (auto a = tail("/identity/attesters/")) {
      DEPAI_ASSIGN_OR_RETURN(Bytes addr, ParseAddr(*a));
      DEPAI_ASSIGN_OR_RETURN(auto at, keeper_.attester(s, addr));
      if (!at) return IdentityErr(kErrAttesterNotFound, "attester " + std::string(*a) + " not found");
      return ProtoToJson(*at);
    }
    if (auto a = tail("/identity/link/")) {
      DEPAI_ASSIGN_OR_RETURN(Bytes addr, ParseAddr(*a));
      DEPAI_ASSIGN_OR_RETURN(auto did, keeper_.linked_did(s, addr));
      DEPAI_ASSIGN_OR_RETURN(bool att, keeper_.attested(s, addr));
      return json{{"account", crypto::AddressToBech32(addr)}, {"did", did.value_or("")}, {"attested", att}};
    }
    if (auto id = tail("/identity/did/")) {
      DEPAI_ASSIGN_OR_RETURN(Bytes did20, ParseDid(*id));
      DEPAI_ASSIGN_OR_RETURN(auto d, keeper_.did(s, did20));
      if (!d) return IdentityErr(kErrDidNotFound, std::string(*id) + " not found");
      DEPAI_ASSIGN_OR_RETURN(json doc, DidCoreDocument(keeper_, s, *d));
      DEPAI_ASSIGN_OR_RETURN(json meta, DidDocumentMetadata(keeper_, s, *d));
      return json{{"didDocument", doc}, {"didDocumentMetadata", meta}, {"record", ProtoToJson(*d)}};
    }
    return RootErr(kErrUnknownRequest, "unknown query path: " + std::string(path));
  };
  return run();
}

}  // namespace depai::x::identity
