#include "x/types/tx.h"

#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "x/types/codec.h"
#include "x/types/errors.h"

namespace depai::x {

bool HasUnknownFields(const google::protobuf::Message& m) {
  const auto* refl = m.GetReflection();
  if (!refl->GetUnknownFields(m).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < refl->FieldSize(m, f); ++i)
        if (HasUnknownFields(refl->GetRepeatedMessage(m, f, i))) return true;
    } else if (HasUnknownFields(refl->GetMessage(m, f))) {
      return true;
    }
  }
  return false;
}

namespace {
// The envelope's schema is fixed, so walk it with generated accessors (much cheaper than
// reflection on this hot path). Message payloads are checked by the ante handler.
bool Unknown(const google::protobuf::Message& m) { return !m.GetReflection()->GetUnknownFields(m).empty(); }

bool EnvelopeHasUnknownFields(const DecodedTx& tx) {
  if (Unknown(tx.raw) || Unknown(tx.body) || Unknown(tx.auth_info) || Unknown(tx.auth_info.fee())) return true;
  for (const auto& any : tx.body.messages())
    if (Unknown(any)) return true;
  for (const auto& si : tx.auth_info.signer_infos())
    if (Unknown(si)) return true;
  for (const auto& c : tx.auth_info.fee().amount())
    if (Unknown(c)) return true;
  return false;
}
}  // namespace

Result<DecodedTx> DecodeTx(std::string_view bytes) {
  DecodedTx tx;
  if (bytes.empty()) return RootErr(kErrTxDecode, "tx parse error: empty tx");
  if (!tx.raw.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return RootErr(kErrTxDecode, "tx parse error: not a TxRaw protobuf");
  // Canonical encoding only: re-encoding must give the same bytes (no unknown fields, no
  // non-minimal varints), so one transaction has exactly one hash.
  if (DeterministicSerialize(tx.raw) != bytes) return RootErr(kErrTxDecode, "tx parse error: non-canonical encoding");
  if (!tx.body.ParseFromString(tx.raw.body_bytes())) return RootErr(kErrTxDecode, "tx parse error: bad body");
  if (!tx.auth_info.ParseFromString(tx.raw.auth_info_bytes()))
    return RootErr(kErrTxDecode, "tx parse error: bad auth info");
  if (EnvelopeHasUnknownFields(tx)) return RootErr(kErrTxDecode, "tx parse error: unknown fields");
  if (tx.body.messages().empty()) return RootErr(kErrInvalidRequest, "tx must contain at least one message");
  if (static_cast<size_t>(tx.body.messages().size()) > kMaxMsgsPerTx)
    return RootErr(kErrInvalidRequest, "tx has more than " + std::to_string(kMaxMsgsPerTx) + " messages");
  if (tx.auth_info.signer_infos().empty() || tx.raw.signatures().empty())
    return RootErr(kErrNoSignatures, "tx has no signatures");
  if (tx.auth_info.signer_infos().size() != 1 || tx.raw.signatures().size() != 1)
    return RootErr(kErrTooManySignatures, "tx must have exactly one signer and one signature");
  if (tx.auth_info.signer_infos(0).public_key().size() != crypto::kPubKeySize)
    return RootErr(kErrInvalidPubKey, "public key must be 32 bytes (ed25519)");
  if (const auto& w = tx.auth_info.signer_infos(0).wallet(); !w.empty() && w.size() != 20)
    return RootErr(kErrInvalidAddress, "signer_info.wallet must be a 20-byte address or empty");
  if (tx.raw.signatures(0).size() != crypto::kSignatureSize)
    return RootErr(kErrUnauthorized, "signature must be 64 bytes");
  auto fee = CoinsFromProto(tx.auth_info.fee().amount());
  if (!fee.ok())
    return RootErr(fee.error().code == depai::kErrOverflow ? x::kErrOverflow : kErrInvalidCoins,
                   "fee: " + fee.error().message);
  tx.fee = fee.value();
  return tx;
}

Bytes SignBytes(std::string_view body_bytes, std::string_view auth_info_bytes, std::string_view chain_id,
                uint64_t account_number) {
  depai::tx::v1::SignDoc doc;
  doc.set_body_bytes(std::string(body_bytes));
  doc.set_auth_info_bytes(std::string(auth_info_bytes));
  doc.set_chain_id(std::string(chain_id));
  doc.set_account_number(account_number);
  return DeterministicSerialize(doc);
}

std::string TxHash(std::string_view tx_bytes) { return HexEncode(crypto::Sha256(tx_bytes), true); }

}  // namespace depai::x
