// x/identity keeper: did:depai identifiers with W3C DID Core documents (verification methods,
// authentication, services, controller), bonded device attesters (manufacturers), verified
// device attestations, and account -> DID links. See doc/modules/identity.md.
//
// State (prefix "identity/", keys in x/identity/keys.h). Only this keeper touches "identity/".
// Views return Result: a stored record that does not decode (or whose amount does not parse) is
// a fault (kFaultCorruptRecord), never an absent record.
// Coins: attester bonds are held by module:identity (SHA-256("module:identity")[:20]) through
// BankKeeper. Invariant (a break is a fault): balance(module:identity) == sum of attester bonds.
// A DID is did:depai:<40 lowercase hex> where the hex is crypto::AddressOf(its initial key), so a
// client knows the DID before creating it. Every check leaves the state untouched; every write
// runs after its check has passed on the same state. Not thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "depai/identity/v1/identity.pb.h"
#include "store/cache_store.h"
#include "util/amount.h"
#include "x/identity/expected_keepers.h"
#include "x/types/context.h"

namespace depai::x::identity {

inline constexpr const char* kCodespace = "identity";
// Stable codes: never renumber or reuse.
enum Code : uint32_t {
  kErrInvalidDid = 2,  // not did:depai:<40 lowercase hex>
  kErrDidExists = 3,   // a second create with the same initial key
  kErrDidNotFound = 4,
  kErrNotController = 5,        // update / deactivate by someone other than the controller
  kErrDeactivated = 6,          // the DID is deactivated
  kErrInvalidKey = 7,           // a verification method: bad fragment, not 32 bytes, duplicate
  kErrInvalidService = 8,       // a service: bad fragment, type or endpoint, duplicate
  kErrTooMany = 9,              // over a params.max_* limit
  kErrInvalidBond = 10,         // not udpai, zero, unparsable
  kErrBondTooLow = 11,          // below params.attester_bond
  kErrAttesterExists = 12,      // already registered (or unbonding)
  kErrAttesterNotFound = 13,    // not registered, or unregistered since
  kErrInvalidAttestation = 14,  // the signature does not verify (forged, another chain, another DID or key)
  kErrUnknownDeviceKey = 15,    // device_key_id is not one of the DID's verification methods
  kErrAlreadyAttested = 16,     // this attester already attested this device key
  kErrLinkNotAllowed = 17,      // the account is neither the controller nor in the DID's accounts
  kErrInvalidParams = 18,
  kErrInvalidField = 19,  // model, serial, name: empty, too long or a control byte
  kErrNotLinked = 20,     // unlink of an account that has no link
};
inline Error IdentityErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

inline constexpr const char* kDenom = "udpai";
inline constexpr std::string_view kDidMethodPrefix = "did:depai:";
inline constexpr std::string_view kAttestationDomain = "depai-device-attestation-v1";
inline constexpr size_t kMaxFragment = 64;
inline constexpr size_t kMaxServiceType = 64;
inline constexpr size_t kMaxEndpoint = 256;
inline constexpr size_t kMaxName = 64;
inline constexpr size_t kMaxModel = 128;
inline constexpr size_t kMaxSerial = 128;

using depai::identity::v1::Attestation;
using depai::identity::v1::Attester;
using depai::identity::v1::DidDocument;
using depai::identity::v1::Params;
using depai::identity::v1::Service;
using depai::identity::v1::VerificationMethod;

const Bytes& ModuleAddress();  // module:identity (attester bonds)

Params DefaultParams();
Status ValidateParams(const Params& p);

// "did:depai:" + 40 lowercase hex of `did20`.
std::string DidOf(std::string_view did20);
// The 20 bytes a DID names; kErrInvalidDid unless it is did:depai:<40 lowercase hex>.
Result<Bytes> ParseDid(std::string_view did);
// The statement an attester signs (doc/modules/identity.md, "Attestation encoding"):
//   "depai-device-attestation-v1" || u8 len(chain_id) || chain_id || u8 len(did) || did ||
//   device_key(32) || u16be len(model) || model || u16be len(serial) || serial
// Lengths are checked by the callers (chain_id and did < 256, model and serial < 65536 bytes).
Bytes AttestationStatement(std::string_view chain_id, std::string_view did, std::string_view device_key,
                           std::string_view model, std::string_view serial);

// Parsed messages (msg_server.cpp validates into these once).
struct DocParsed {
  std::vector<VerificationMethod> keys;  // ids unique, keys 32 bytes; non-empty
  std::vector<Service> services;         // ids unique
  std::vector<Bytes> accounts;           // 20 bytes each, unique
};
struct CreateParsed {
  Bytes signer;  // controller
  Bytes did20;   // AddressOf(keys[0])
  DocParsed doc;
};
struct UpdateParsed {
  Bytes signer;  // must be the DID's controller
  Bytes did20;
  DocParsed doc;
  Bytes new_controller;  // empty: unchanged
};
struct DeactivateParsed {
  Bytes signer;
  Bytes did20;
};
struct RegisterParsed {
  Bytes signer;  // owner
  Bytes pub_key;
  std::string name;
  Amount bond;
};
struct UnregisterParsed {
  Bytes signer;
};
struct AttestParsed {
  Bytes signer;  // sender (anyone)
  Bytes did20;
  std::string device_key_id;
  std::string model;
  std::string serial;
  Bytes attester;  // owner, 20 bytes
  Bytes signature;
};
struct LinkParsed {
  Bytes signer;  // account
  Bytes did20;   // empty: remove the account's link
};

class Keeper {
 public:
  explicit Keeper(const BankKeeper* bank) : bank_(bank) {}

  // ---- views the other modules use (through adapters in src/app) ----
  // The DID an account has linked (mutual and live: the account signed MsgLinkDid, it is the
  // DID's controller or in its accounts, and the DID is not deactivated); nullopt if none.
  Result<std::optional<std::string>> linked_did(const store::KVReader& s, std::string_view addr20) const;
  // True iff `addr20`'s linked DID carries at least one attestation by a currently registered attester.
  Result<bool> attested(const store::KVReader& s, std::string_view addr20) const;

  // ---- records (keeper.cpp) ----
  Result<Params> params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;
  Result<std::optional<DidDocument>> did(const store::KVReader& s, std::string_view did20) const;
  void set_did(store::KVStore& s, std::string_view did20, const DidDocument& d) const;
  Result<std::optional<Attester>> attester(const store::KVReader& s, std::string_view owner20) const;
  void set_attester(store::KVStore& s, std::string_view owner20, const Attester& a) const;
  // The raw link record (did20), live or not; nullopt when the account never linked.
  Result<std::optional<Bytes>> link(const store::KVReader& s, std::string_view account20) const;
  void set_link(store::KVStore& s, std::string_view account20, std::string_view did20) const;
  // Whether `a` counts: made by an attester that is registered and active now, and made since its
  // current registration (an attestation from an earlier registration of the same owner does not).
  Result<bool> counts(const store::KVReader& s, const Attestation& a) const;

  using DidFn = std::function<bool(const DidDocument&)>;
  Status for_each_did(const store::KVReader& s, const DidFn& fn) const;  // DID order
  using AttesterFn = std::function<bool(std::string_view owner20, const Attester&)>;
  Status for_each_attester(const store::KVReader& s, const AttesterFn& fn) const;  // owner order
  using LinkFn = std::function<bool(std::string_view account20, std::string_view did20)>;
  Status for_each_link(const store::KVReader& s, const LinkFn& fn) const;  // account order

  // ---- message phases (keeper.cpp); chain_id is the block's, signed into attestations ----
  Status check_create(const store::KVReader& s, const CreateParsed& m) const;
  Status create_did(Context& ctx, const CreateParsed& m) const;
  Status check_update(const store::KVReader& s, const UpdateParsed& m) const;
  Status update_did(Context& ctx, const UpdateParsed& m) const;
  Status check_deactivate(const store::KVReader& s, const DeactivateParsed& m) const;
  Status deactivate_did(Context& ctx, const DeactivateParsed& m) const;
  Status check_register(const store::KVReader& s, const RegisterParsed& m) const;
  Status register_attester(Context& ctx, const RegisterParsed& m) const;
  Status check_unregister(const store::KVReader& s, const UnregisterParsed& m) const;
  Status unregister_attester(Context& ctx, const UnregisterParsed& m) const;
  Status check_attest(const store::KVReader& s, const AttestParsed& m, std::string_view chain_id) const;
  Status attest_device(Context& ctx, const AttestParsed& m) const;
  Status check_link(const store::KVReader& s, const LinkParsed& m) const;
  Status link_did(Context& ctx, const LinkParsed& m) const;

  // ---- block hook (end_block.cpp): bonds due back at this height; errors halt the node ----
  Status end_block(Context& ctx) const;

  // ---- invariants (invariants.cpp); a break is Fault(kFaultInvariant) ----
  Status check_invariants_full(const store::KVReader& s) const;
  // The per-block form: the full check over `block`, run only when the block wrote a key under
  // "identity/" (module:identity's balance only moves with an attester record, its address being
  // blocked for user transfers); a block that left the module alone cannot have broken it.
  Status check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const;

 private:
  Status check_doc(const store::KVReader& s, const DocParsed& d) const;
  const BankKeeper* bank_;
};

}  // namespace depai::x::identity
