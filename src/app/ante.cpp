#include "app/ante.h"

#include "crypto/bech32.h"
#include "crypto/ed25519.h"

namespace depai::app {

using x::RootErr;

namespace {
ExecTxResult FromError(const Error& e, uint64_t gas_wanted, uint64_t gas_used) {
  // Callers route faults away before this point (they are never a tx's code).
  ExecTxResult r;
  r.code = e.code == 0 ? 1 : e.code;
  r.codespace = e.codespace;
  r.log = e.message;
  r.gas_wanted = static_cast<int64_t>(gas_wanted);
  r.gas_used = static_cast<int64_t>(gas_used);
  return r;
}

Status GasCheck(const x::GasMeter& gas, const char* where) {
  if (gas.exhausted())
    return RootErr(x::kErrOutOfGas,
                   std::string("out of gas in ") + where + "; gas wanted: " + std::to_string(gas.limit()));
  return {};
}
}  // namespace

Result<TxPipeline::DecodedMsgs> TxPipeline::DecodeMsgs(const x::DecodedTx& tx) const {
  DecodedMsgs out;
  out.reserve(static_cast<size_t>(tx.body.messages_size()));
  for (const auto& any : tx.body.messages()) {
    auto it = routes->find(any.type_url());
    if (it == routes->end()) return RootErr(x::kErrUnknownRequest, "unrecognized message type: " + any.type_url());
    DEPAI_ASSIGN_OR_RETURN(auto parsed, it->second.decode(any.value()));
    out.emplace_back(&it->second, std::move(parsed));
  }
  return out;
}

// A fault raised by any phase leaves RunTx as its Error; everything else is a result.
#define DEPAI_FAULT_OR(expr)                                                           \
  do {                                                                                 \
    if (auto&& st_ = (expr); !st_.ok() && x::IsFault(st_.error())) return st_.error(); \
  } while (0)

Result<ExecTxResult> TxPipeline::RunTx(ExecMode mode, std::string_view txb, store::CacheStore& state,
                                       const x::BlockHeader& header, Bytes* sender_out, uint64_t* seq_out) const {
  DEPAI_ASSIGN_OR_RETURN(const auto params, auth->params(state));
  // ---- phase 1: stateless ----------------------------------------------------------------
  if (txb.size() > params.tx_size_limit())
    return FromError(RootErr(x::kErrTxTooLarge, "tx size " + std::to_string(txb.size()) + " exceeds limit " +
                                                    std::to_string(params.tx_size_limit())),
                     0, 0);
  auto decoded = x::DecodeTx(txb);
  if (!decoded.ok()) return FromError(decoded.error(), 0, 0);
  const x::DecodedTx& tx = decoded.value();
  const uint64_t gas_limit = tx.auth_info.fee().gas_limit();
  auto fail = [&](const Error& e, uint64_t used) { return FromError(e, gas_limit, used); };
  if (gas_limit == 0 || gas_limit > params.max_gas_per_tx())
    return fail(RootErr(x::kErrInvalidGasLimit, "gas limit " + std::to_string(gas_limit) + " must be in 1.." +
                                                    std::to_string(params.max_gas_per_tx())),
                0);
  if (tx.body.memo().size() > params.max_memo_characters())
    return fail(
        RootErr(x::kErrMemoTooLarge, "memo longer than " + std::to_string(params.max_memo_characters()) + " bytes"), 0);
  if (tx.body.timeout_height() != 0 && static_cast<uint64_t>(header.height) > tx.body.timeout_height())
    return fail(RootErr(x::kErrTxTimeoutHeight, "tx timed out at height " + std::to_string(tx.body.timeout_height())),
                0);
  auto msgs = DecodeMsgs(tx);
  if (!msgs.ok()) return fail(msgs.error(), 0);
  const auto& signer_info = tx.auth_info.signer_infos(0);
  // A tx for an agent wallet is signed by one of its session keys; its signer is the wallet.
  const bool for_wallet = !signer_info.wallet().empty();
  if (for_wallet && !wallet)
    return fail(RootErr(x::kErrUnauthorized, "agent wallets (x/wallet) are not enabled on this chain"), 0);
  const Bytes signer = for_wallet ? signer_info.wallet() : crypto::AddressOf(signer_info.public_key());
  for (const auto& [route, msg] : msgs.value()) {
    if (msg->signer() != signer)
      return fail(RootErr(x::kErrWrongSigner, "message signer " + crypto::AddressToBech32(msg->signer()) +
                                                  " does not match the tx signer " + crypto::AddressToBech32(signer)),
                  0);
  }
  for (const auto& c : tx.fee.list())
    if (c.denom != params.fee_denom())
      return fail(RootErr(x::kErrInsufficientFee, "fees must be paid in " + params.fee_denom() + ", got " + c.denom),
                  0);
  {
    unsigned __int128 need128 =
        (static_cast<unsigned __int128>(gas_limit) * params.min_gas_price_micro() + 999'999) / 1'000'000;
    Amount paid = tx.fee.amount_of(params.fee_denom());
    if (need128 > paid.raw())
      return fail(
          RootErr(x::kErrInsufficientFee, "insufficient fee; got " + paid.str() + params.fee_denom() + ", required " +
                                              std::to_string(static_cast<uint64_t>(need128)) + params.fee_denom() +
                                              " for gas limit " + std::to_string(gas_limit)),
          0);
  }
  if (sender_out) *sender_out = signer;
  if (seq_out) *seq_out = signer_info.sequence();

  // ---- phase 2: ante, under its own savepoint ----------------------------------------------
  x::GasMeter gas(gas_limit);
  // One flat write buffer (the caller's branch) with a savepoint per phase, instead of a
  // CacheStore per level: the ante savepoint rolls back unless the tx's effects are kept.
  store::CacheStore::Scope ante_scope(state);
  x::GasKVStore ante_store(&state, &gas);
  x::EventManager events;
  x::Context ctx{&ante_store, &gas, &events, &header, mode != ExecMode::kDeliver};
  if (auto st = gas.consume(params.tx_size_cost_per_byte() * txb.size(), "txSize"); !st.ok())
    return fail(st.error(), gas.consumed());
  auto got = auth->get_account(ante_store, signer);
  if (!got.ok()) return got.error();  // only faults: a stored account that does not decode
  auto& acc = got.value();
  if (!acc)
    return fail(RootErr(x::kErrUnknownAddress, "account " + crypto::AddressToBech32(signer) +
                                                   " does not exist; it must receive funds before it can send"),
                gas.consumed());
  if (!acc->pub_key().empty() && acc->pub_key() != signer_info.public_key())
    return fail(RootErr(x::kErrInvalidPubKey, "public key does not match the account's"), gas.consumed());
  // x/wallet: the session key must be live, and both policies must allow the fee and every
  // message (each message's route describes its spend). Refusals are ante failures: no trace.
  std::optional<x::wallet::SessionAuth> wallet_auth;
  if (for_wallet) {
    auto a = wallet->authorize(ante_store, signer, signer_info.public_key(), header.height);
    DEPAI_FAULT_OR(a);
    if (!a.ok()) return fail(a.error(), gas.consumed());
    std::vector<x::wallet::TxMsg> described;
    described.reserve(msgs.value().size());
    for (const auto& [route, msg] : msgs.value())
      described.push_back(x::wallet::TxMsg{
          route->type_url, route->spend ? std::optional<x::MsgSpend>(route->spend(*msg)) : std::nullopt});
    auto st = wallet->check_tx(ante_store, a.value(), tx.fee, described, header.height);
    DEPAI_FAULT_OR(st);
    if (!st.ok()) return fail(st.error(), gas.consumed());
    wallet_auth = std::move(a).value();
  }
  // (No key can sign for a wallet directly: a wallet's address is SHA-256 of a domain-separated
  // preimage, never the hash of a public key.)
  if (signer_info.sequence() != acc->sequence())
    return fail(
        RootErr(x::kErrInvalidSequence, "account sequence mismatch, expected " + std::to_string(acc->sequence()) +
                                            ", got " + std::to_string(signer_info.sequence())),
        gas.consumed());
  if (auto st = gas.consume(params.sig_verify_cost(), "sigVerify"); !st.ok()) return fail(st.error(), gas.consumed());
  const Bytes sign_bytes =
      x::SignBytes(tx.raw.body_bytes(), tx.raw.auth_info_bytes(), header.chain_id, acc->account_number());
  const auto& sig = tx.raw.signatures(0);
  bool ok = mode == ExecMode::kRecheck || (sig_cache && sig_cache->verified(signer_info.public_key(), sign_bytes, sig));
  if (!ok) ok = crypto::Verify(signer_info.public_key(), sign_bytes, sig);
  if (!ok)
    return fail(
        RootErr(x::kErrUnauthorized, "signature verification failed; please verify account number (" +
                                         std::to_string(acc->account_number()) + "), sequence (" +
                                         std::to_string(acc->sequence()) + ") and chain-id (" + header.chain_id + ")"),
        gas.consumed());
  if (!tx.fee.empty()) {
    auto st = bank->send(ctx, signer, x::bank::FeeCollectorAddress(), tx.fee, false);
    DEPAI_FAULT_OR(st);
    if (!st.ok()) {
      Error e = st.error();
      if (e.code == x::kErrInsufficientFunds) e.message = "insufficient funds to pay fees: " + e.message;
      return fail(e, gas.consumed());
    }
  }
  if (acc->pub_key().empty() && !for_wallet) acc->set_pub_key(signer_info.public_key());
  acc->set_sequence(acc->sequence() + 1);
  auth->set_account(ante_store, *acc);
  if (wallet_auth) {
    auto st = wallet->record(ctx, *wallet_auth, tx.fee, "fee");
    DEPAI_FAULT_OR(st);
    if (!st.ok()) return fail(st.error(), gas.consumed());
  }
  if (auto st = GasCheck(gas, "ante"); !st.ok()) return fail(st.error(), gas.consumed());
  const std::string signer_b32 = crypto::AddressToBech32(signer);
  events.emit_attrs("tx", x::EventAttribute{"fee", tx.fee.str(), false},
                    x::EventAttribute{"fee_payer", signer_b32, false});
  events.emit_attrs("tx",
                    x::EventAttribute{"acc_seq", signer_b32 + "/" + std::to_string(signer_info.sequence()), true});

  // ---- phase 3: messages, under a nested savepoint -----------------------------------------
  store::CacheStore::Scope msg_scope(state);
  x::GasKVStore& msg_store = ante_store;
  x::EventManager msg_events;
  x::Context mctx{&msg_store, &gas, &msg_events, &header, mode != ExecMode::kDeliver};
  Status msg_status;
  const x::View view{msg_store, header, mode != ExecMode::kDeliver};
  Coins wallet_before;  // the wallet's balances before its messages (x/wallet measures the drop)
  if (wallet_auth && mode == ExecMode::kDeliver) {
    auto b = bank->balances(msg_store, signer);
    if (!b.ok()) return b.error();  // only faults
    wallet_before = std::move(b).value();
  }
  for (const auto& [route, msg] : msgs.value()) {
    msg_status = route->check(view, *msg);
    if (msg_status.ok() && mode == ExecMode::kDeliver) msg_status = route->apply(mctx, *msg);
    DEPAI_FAULT_OR(msg_status);
    if (msg_status.ok()) msg_status = GasCheck(gas, route->type_url.c_str());
    if (!msg_status.ok()) break;
    msg_events.emit_attrs("message", x::EventAttribute{"action", route->type_url, true},
                          x::EventAttribute{"sender", signer_b32, true});
  }
  if (msg_status.ok() && wallet_auth && mode == ExecMode::kDeliver) {
    msg_status = wallet->settle(mctx, *wallet_auth, wallet_before);
    DEPAI_FAULT_OR(msg_status);
  }
  ExecTxResult r;
  r.gas_wanted = static_cast<int64_t>(gas_limit);
  r.gas_used = static_cast<int64_t>(gas.consumed());
  if (msg_status.ok()) {
    msg_scope.keep();
    events.append(msg_events.take());
  } else {
    r.code = msg_status.error().code;
    r.codespace = msg_status.error().codespace;
    r.log = msg_status.error().message;
  }
  // In a block the fee and sequence stick even when a message fails (the tx is on chain). In
  // CheckTx a failing tx is rejected and never enters the mempool, so it must leave no trace.
  if (!msg_status.ok()) msg_scope.discard();
  if (mode == ExecMode::kDeliver || msg_status.ok()) ante_scope.keep();
  r.events = events.take();
  return r;
}

}  // namespace depai::app
