// x/identity module: did:depai DIDs (create, update with key rotation, deactivate), bonded device
// attesters, verified device attestations and account links, on the skeleton of
// x/types/module.h (x/bank is the worked example). See doc/modules/identity.md. Files:
// msg_server.cpp (validate + routes), genesis.cpp, query.cpp, sim.cpp; the keeper in keeper.h
// (keeper.cpp, end_block.cpp, invariants.cpp) with its key layout in keys.h. Not thread-safe.
#pragma once

#include "x/identity/keeper.h"
#include "x/types/module.h"

namespace depai::x::identity {

inline constexpr const char* kTypeCreateDid = "/depai.identity.v1.MsgCreateDid";
inline constexpr const char* kTypeUpdateDid = "/depai.identity.v1.MsgUpdateDid";
inline constexpr const char* kTypeDeactivateDid = "/depai.identity.v1.MsgDeactivateDid";
inline constexpr const char* kTypeRegisterAttester = "/depai.identity.v1.MsgRegisterAttester";
inline constexpr const char* kTypeUnregisterAttester = "/depai.identity.v1.MsgUnregisterAttester";
inline constexpr const char* kTypeAttestDevice = "/depai.identity.v1.MsgAttestDevice";
inline constexpr const char* kTypeLinkDid = "/depai.identity.v1.MsgLinkDid";

class Module : public x::Module {
 public:
  explicit Module(const BankKeeper* bank) : keeper_(bank) {}
  std::string name() const override { return "identity"; }
  std::vector<MsgRoute> routes() override;
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_invariants_full(state); }
  Status check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const override {
    return keeper_.check_invariants_block(block, committed);
  }
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  Status end_block(Context& ctx) override { return keeper_.end_block(ctx); }
  std::optional<SimMsg> random_msg(SimState& sim) const override;
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
};

// Proto message -> JSON with proto field names; bytes fields (keys, signatures) as lowercase hex.
nlohmann::json ProtoToJson(const google::protobuf::Message& m);
// A stored DID document in the W3C DID Core shape (JsonWebKey2020 verification methods, the
// key as an OKP/Ed25519 JWK), and its DID document metadata (created, updated, deactivated,
// attestations with whether each counts now).
Result<nlohmann::json> DidCoreDocument(const Keeper& k, const store::KVReader& s, const DidDocument& d);
Result<nlohmann::json> DidDocumentMetadata(const Keeper& k, const store::KVReader& s, const DidDocument& d);

}  // namespace depai::x::identity
