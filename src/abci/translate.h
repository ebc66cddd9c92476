// Mapping between CometBFT's ABCI protobuf messages (tendermint.abci, v0.38) and the App's
// plain structs (src/app/abci_types.h). Field for field; pure functions.
#pragma once

#include "app/abci_types.h"
#include "tendermint/abci/types.pb.h"

namespace depai::abci {

namespace pb = ::tendermint::abci;

app::RequestInitChain FromProto(const pb::RequestInitChain& r);
app::RequestCheckTx FromProto(const pb::RequestCheckTx& r);
app::RequestPrepareProposal FromProto(const pb::RequestPrepareProposal& r);
app::RequestProcessProposal FromProto(const pb::RequestProcessProposal& r);
app::RequestFinalizeBlock FromProto(const pb::RequestFinalizeBlock& r);
app::RequestQuery FromProto(const pb::RequestQuery& r);
app::RequestExtendVote FromProto(const pb::RequestExtendVote& r);
app::RequestVerifyVoteExtension FromProto(const pb::RequestVerifyVoteExtension& r);

void ToProto(const app::ResponseInfo& in, pb::ResponseInfo* out);
void ToProto(const app::ResponseInitChain& in, pb::ResponseInitChain* out);
void ToProto(const app::ResponseCheckTx& in, pb::ResponseCheckTx* out);
void ToProto(const app::ResponsePrepareProposal& in, pb::ResponsePrepareProposal* out);
void ToProto(const app::ResponseProcessProposal& in, pb::ResponseProcessProposal* out);
void ToProto(const app::ResponseFinalizeBlock& in, pb::ResponseFinalizeBlock* out);
void ToProto(const app::ResponseQuery& in, pb::ResponseQuery* out);
void ToProto(const app::ResponseExtendVote& in, pb::ResponseExtendVote* out);
void ToProto(const app::ResponseVerifyVoteExtension& in, pb::ResponseVerifyVoteExtension* out);

}  // namespace depai::abci
