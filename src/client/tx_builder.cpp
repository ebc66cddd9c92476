#include "client/tx_builder.h"

#include "depai/bank/v1/bank.pb.h"
#include "depai/tx/v1/tx.pb.h"
#include "x/types/codec.h"
#include "x/types/tx.h"

namespace depai::client {

google::protobuf::Any PackMsgSend(const std::string& from, const std::string& to, const Coins& amount) {
  depai::bank::v1::MsgSend m;
  m.set_from_address(from);
  m.set_to_address(to);
  x::CoinsToProto(amount, m.mutable_amount());
  google::protobuf::Any any;
  any.set_type_url("/depai.bank.v1.MsgSend");
  any.set_value(x::DeterministicSerialize(m));
  return any;
}

Bytes BuildSignedTx(const crypto::KeyPair& key, const SignerData& signer,
                    const std::vector<google::protobuf::Any>& msgs, const TxOptions& opts) {
  depai::tx::v1::TxBody body;
  for (const auto& m : msgs) *body.add_messages() = m;
  body.set_memo(opts.memo);
  body.set_timeout_height(opts.timeout_height);
  depai::tx::v1::AuthInfo auth;
  auto* si = auth.add_signer_infos();
  si->set_public_key(key.pubkey);
  si->set_sequence(signer.sequence);
  if (!signer.wallet.empty()) si->set_wallet(signer.wallet);
  x::CoinsToProto(opts.fee, auth.mutable_fee()->mutable_amount());
  auth.mutable_fee()->set_gas_limit(opts.gas_limit);
  depai::tx::v1::TxRaw raw;
  raw.set_body_bytes(x::DeterministicSerialize(body));
  raw.set_auth_info_bytes(x::DeterministicSerialize(auth));
  raw.add_signatures(
      crypto::Sign(key, x::SignBytes(raw.body_bytes(), raw.auth_info_bytes(), signer.chain_id, signer.account_number)));
  return x::DeterministicSerialize(raw);
}

}  // namespace depai::client
