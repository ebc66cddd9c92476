// x/channel keeper: unidirectional payment channels. A payer deposits udpai or ucredit into
// module:channel and pays the payee off chain, with signed cumulative vouchers (one ed25519
// signature each) and PayWord hash-chain tickets committed to by a voucher (one SHA-256 each).
// The payee redeems the best proof at any time; either side closes, a challenge period follows
// in which the other side presents a higher voucher or a longer chain (MsgRedeemChannel, or a
// second MsgCloseChannel carrying it), then anyone settles: the payee has what is proven, the
// payer gets the rest, and the record is removed. ucredit paid for service is burned, never
// credited to the payee (as x/market settles a credit lease). Protocol, encodings and test
// vectors: doc/modules/channel.md; the encodings themselves: x/channel/voucher.h.
//
// State (prefix "channel/", keys in x/channel/keys.h). Only this keeper touches "channel/".
// Views return Result: a stored record that does not decode (or an amount or address field that
// does not parse) is a fault (kFaultCorruptRecord), never an absent record or a zero.
// Invariant (a break is a fault): per denom, balance(module:channel) == sum over channels of
// (deposit - redeemed), and redeemed <= deposit for every channel.
// Check verifies signatures and hash chains; apply trusts what check verified (the pipeline runs
// check right before apply on the same state) and charges params.gas_per_hash per hash.
// Not thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "depai/channel/v1/channel.pb.h"
#include "store/cache_store.h"
#include "util/amount.h"
#include "x/channel/expected_keepers.h"
#include "x/channel/voucher.h"
#include "x/types/context.h"

namespace depai::x::channel {

inline constexpr const char* kDenom = "udpai";
inline constexpr const char* kCreditDenom = "ucredit";

using depai::channel::v1::Channel;
using depai::channel::v1::Params;
using depai::channel::v1::Ticket;
using depai::channel::v1::Voucher;

// module:channel = SHA-256("module:channel")[:20]: holds every channel's unredeemed deposit.
const Bytes& ModuleAddress();

Params DefaultParams();
Status ValidateParams(const Params& p);

// A stored channel, decoded once: the record and its parsed amounts and addresses.
struct ChannelRec {
  Channel pb;
  Amount deposit, redeemed;
  Bytes payer, payee;  // 20 bytes each
  bool credit() const { return pb.denom() == kCreditDenom; }
};

// Parsed messages (msg_server.cpp validates into these once).
struct OpenParsed {
  Bytes signer;  // payer
  Bytes payee;
  std::string denom;  // udpai | ucredit
  Amount deposit;
  Bytes voucher_key;  // 32 bytes
  int64_t challenge_blocks = 0;
};
struct TopUpParsed {
  Bytes signer;  // payer
  uint64_t id = 0;
  Bytes payee;  // must be the channel's
  std::string denom;
  Amount amount;
};
// A redeem or a close: the signer and an optional voucher and ticket (their shapes checked).
struct ProofParsed {
  Bytes signer;
  uint64_t id = 0;
  std::optional<Voucher> voucher;
  std::optional<Ticket> ticket;
  bool has_proof() const { return voucher.has_value() || ticket.has_value(); }
};
struct SettleParsed {
  Bytes signer;  // anyone
  uint64_t id = 0;
};

// What a proof does to a channel (Keeper::advance).
struct Advance {
  Channel next;         // the record with the proof applied (deposit and redeemed unchanged)
  Amount proven;        // its proven total
  Amount pay;           // proven - redeemed: what goes to the payee (or is burned) now
  uint64_t hashes = 0;  // hashes the ticket check costs
};

class Keeper {
 public:
  explicit Keeper(const BankKeeper* bank) : bank_(bank) {}

  // ---- records and views ----
  Result<Params> params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;
  Result<uint64_t> last_id(const store::KVReader& s) const;
  void set_last_id(store::KVStore& s, uint64_t id) const;
  Result<std::optional<ChannelRec>> channel(const store::KVReader& s, uint64_t id) const;
  void set_channel(store::KVStore& s, const ChannelRec& c) const;
  using ChannelFn = std::function<bool(const ChannelRec&)>;
  Status for_each_channel(const store::KVReader& s, const ChannelFn& fn) const;  // id order

  // The channel with `p`'s voucher and ticket applied, with every rule checked: a newer nonce,
  // the signature under the channel's voucher_key for (chain_id, channel id), a chain that
  // hashes to the recorded head and is longer, units within max_units and
  // params.max_ticket_units, a proven total within the deposit and not below what was paid.
  // verify = false skips the signature and the hashing (apply, after check verified them).
  Result<Advance> advance(const Params& params, const ChannelRec& c, const ProofParsed& p, std::string_view chain_id,
                          bool verify) const;

  // ---- message phases ----
  Status check_open(const store::KVReader& s, const OpenParsed& m) const;
  Result<uint64_t> open(Context& ctx, const OpenParsed& m) const;
  Status check_topup(const store::KVReader& s, const TopUpParsed& m) const;
  Status topup(Context& ctx, const TopUpParsed& m) const;
  Status check_redeem(const store::KVReader& s, const ProofParsed& m, std::string_view chain_id) const;
  Status redeem(Context& ctx, const ProofParsed& m) const;
  Status check_close(const store::KVReader& s, const ProofParsed& m, std::string_view chain_id) const;
  Status close(Context& ctx, const ProofParsed& m) const;
  Status check_settle(const store::KVReader& s, const SettleParsed& m, int64_t height) const;
  Status settle(Context& ctx, const SettleParsed& m) const;

  // ---- invariants (invariants.cpp) ----
  Status check_invariants(const store::KVReader& s) const;

 private:
  Result<ChannelRec> existing(const store::KVReader& s, uint64_t id) const;  // not found: kErrChannelNotFound
  // Applies a checked proof: writes the record, pays (or burns) the increase, charges gas, emits.
  Status apply_proof(Context& ctx, const Params& params, ChannelRec& c, const ProofParsed& m, const char* what) const;

  const BankKeeper* bank_;
};

// The channel record as JSON (queries, genesis export): proto field names, bytes as hex, plus
// "proven" (the proven total) and "remaining" (deposit - proven).
nlohmann::json ChannelJson(const Channel& c);

}  // namespace depai::x::channel
