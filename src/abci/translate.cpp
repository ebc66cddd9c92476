#include "abci/translate.h"

namespace depai::abci {

namespace {
int64_t Ms(const google::protobuf::Timestamp& t) { return t.seconds() * 1000 + t.nanos() / 1'000'000; }

template <typename Repeated>
void Events(const std::vector<app::Event>& in, Repeated* out) {
  for (const auto& e : in) {
    auto* pe = out->Add();
    pe->set_type(e.type);
    for (const auto& a : e.attributes) {
      auto* pa = pe->add_attributes();
      pa->set_key(a.key);
      pa->set_value(a.value);
      pa->set_index(a.index);
    }
  }
}

template <typename Repeated>
void Validators(const std::vector<app::ValidatorUpdate>& in, Repeated* out) {
  for (const auto& v : in) {
    auto* pv = out->Add();
    pv->mutable_pub_key()->set_ed25519(v.pub_key_ed25519);
    pv->set_power(v.power);
  }
}
}  // namespace

app::RequestInitChain FromProto(const pb::RequestInitChain& r) {
  app::RequestInitChain out;
  out.time_unix_ms = Ms(r.time());
  out.chain_id = r.chain_id();
  out.initial_height = r.initial_height();
  out.app_state_bytes = r.app_state_bytes();
  for (const auto& v : r.validators()) out.validators.push_back(app::ValidatorUpdate{v.pub_key().ed25519(), v.power()});
  if (r.has_consensus_params() && r.consensus_params().has_abci())
    out.vote_extensions_enable_height = r.consensus_params().abci().vote_extensions_enable_height();
  return out;
}

app::RequestCheckTx FromProto(const pb::RequestCheckTx& r) {
  app::RequestCheckTx out;
  out.tx = r.tx();
  out.type = r.type() == pb::RECHECK ? app::CheckTxType::kRecheck : app::CheckTxType::kNew;
  return out;
}

namespace {
// The fields every block-carrying request shares.
template <typename Out, typename In>
Out BlockRequest(const In& r) {
  Out out;
  out.txs.assign(r.txs().begin(), r.txs().end());
  out.height = r.height();
  out.time_unix_ms = Ms(r.time());
  out.proposer_address = r.proposer_address();
  return out;
}
}  // namespace

app::RequestPrepareProposal FromProto(const pb::RequestPrepareProposal& r) {
  auto out = BlockRequest<app::RequestPrepareProposal>(r);
  out.max_tx_bytes = r.max_tx_bytes();
  out.local_last_commit.round = r.local_last_commit().round();
  for (const auto& v : r.local_last_commit().votes())
    out.local_last_commit.votes.push_back(app::ExtendedVoteInfo{v.validator().address(), v.validator().power(),
                                                                v.vote_extension(), v.extension_signature(),
                                                                static_cast<int32_t>(v.block_id_flag())});
  return out;
}

app::RequestProcessProposal FromProto(const pb::RequestProcessProposal& r) {
  auto out = BlockRequest<app::RequestProcessProposal>(r);
  out.hash = r.hash();
  return out;
}

app::RequestFinalizeBlock FromProto(const pb::RequestFinalizeBlock& r) {
  auto out = BlockRequest<app::RequestFinalizeBlock>(r);
  out.hash = r.hash();
  return out;
}

app::RequestQuery FromProto(const pb::RequestQuery& r) {
  app::RequestQuery out;
  out.data = r.data();
  out.path = r.path();
  out.height = r.height();
  out.prove = r.prove();
  return out;
}

app::RequestExtendVote FromProto(const pb::RequestExtendVote& r) {
  app::RequestExtendVote out;
  out.hash = r.hash();
  out.height = r.height();
  out.time_unix_ms = Ms(r.time());
  return out;
}

app::RequestVerifyVoteExtension FromProto(const pb::RequestVerifyVoteExtension& r) {
  app::RequestVerifyVoteExtension out;
  out.hash = r.hash();
  out.validator_address = r.validator_address();
  out.height = r.height();
  out.vote_extension = r.vote_extension();
  return out;
}

void ToProto(const app::ResponseExtendVote& in, pb::ResponseExtendVote* out) {
  out->set_vote_extension(in.vote_extension);
}

void ToProto(const app::ResponseVerifyVoteExtension& in, pb::ResponseVerifyVoteExtension* out) {
  out->set_status(in.status == app::VerifyStatus::kAccept ? pb::ResponseVerifyVoteExtension::ACCEPT
                                                          : pb::ResponseVerifyVoteExtension::REJECT);
}

void ToProto(const app::ResponseInfo& in, pb::ResponseInfo* out) {
  out->set_data(in.data);
  out->set_version(in.version);
  out->set_app_version(in.app_version);
  out->set_last_block_height(in.last_block_height);
  out->set_last_block_app_hash(in.last_block_app_hash);
}

void ToProto(const app::ResponseInitChain& in, pb::ResponseInitChain* out) {
  Validators(in.validators, out->mutable_validators());
  out->set_app_hash(in.app_hash);
}

void ToProto(const app::ResponseCheckTx& in, pb::ResponseCheckTx* out) {
  out->set_code(in.code);
  out->set_data(in.data);
  out->set_log(in.log);
  out->set_gas_wanted(in.gas_wanted);
  out->set_gas_used(in.gas_used);
  out->set_codespace(in.codespace);
  Events(in.events, out->mutable_events());
}

void ToProto(const app::ResponsePrepareProposal& in, pb::ResponsePrepareProposal* out) {
  for (const auto& t : in.txs) out->add_txs(t);
}

void ToProto(const app::ResponseProcessProposal& in, pb::ResponseProcessProposal* out) {
  out->set_status(in.status == app::ProposalStatus::kAccept ? pb::ResponseProcessProposal::ACCEPT
                                                            : pb::ResponseProcessProposal::REJECT);
}

void ToProto(const app::ResponseFinalizeBlock& in, pb::ResponseFinalizeBlock* out) {
  Events(in.events, out->mutable_events());
  for (const auto& r : in.tx_results) {
    auto* pr = out->add_tx_results();
    pr->set_code(r.code);
    pr->set_data(r.data);
    pr->set_log(r.log);
    pr->set_info(r.info);
    pr->set_gas_wanted(r.gas_wanted);
    pr->set_gas_used(r.gas_used);
    pr->set_codespace(r.codespace);
    Events(r.events, pr->mutable_events());
  }
  Validators(in.validator_updates, out->mutable_validator_updates());
  out->set_app_hash(in.app_hash);
}

void ToProto(const app::ResponseQuery& in, pb::ResponseQuery* out) {
  out->set_code(in.code);
  out->set_log(in.log);
  out->set_key(in.key);
  out->set_value(in.value);
  out->set_height(in.height);
  out->set_codespace(in.codespace);
}

}  // namespace depai::abci
