// x/channel's wire encodings, shared by the chain and the off-chain library (src/client/channel.h):
// the voucher sign bytes, voucher verification, and the PayWord hash-chain check. Pure
// functions, deterministic, no state; thread-safe. Encodings and test vectors:
// doc/modules/channel.md.
//
// Sign bytes (binary, fixed):
//   "depai-voucher-v1" || u8 len(chain_id) || chain_id || u64be channel_id || u64be amount ||
//   u64be nonce || u8 has_ticket || [ticket_root(32) || u64be unit_price || u64be max_units]
// has_ticket is 1 iff ticket_root is non-empty; then the bracketed part follows.
// Hash chain: h_N from a seed, h_{i-1} = SHA-256(h_i), root = h_0. A ticket (h_k, k) proves k
// units: SHA-256^k(h_k) == root; from a recorded head h_j (j < k): SHA-256^(k-j)(h_k) == h_j.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "depai/channel/v1/channel.pb.h"
#include "util/bytes.h"
#include "util/result.h"

namespace depai::x::channel {

inline constexpr const char* kCodespace = "channel";
// Stable codes: never renumber or reuse.
enum Code : uint32_t {
  kErrInvalidMsg = 2,  // a malformed message (address, deposit, key, challenge_blocks)
  kErrChannelNotFound = 3,
  kErrNotParty = 4,          // the signer is not the channel's payer / payee
  kErrInvalidVoucher = 5,    // a malformed voucher (field sizes, zero nonce)
  kErrBadSignature = 6,      // forged, or signed for another channel or chain
  kErrStaleVoucher = 7,      // nonce not above the recorded one
  kErrOverDeposit = 8,       // proven total above the deposit
  kErrInvalidTicket = 9,     // does not hash to the chain, not longer, too long
  kErrWrongState = 10,       // e.g. a top-up of a closing channel, a settle of an open one
  kErrChallengePeriod = 11,  // a settle before the challenge period ends
  kErrInvalidParams = 12,
  kErrBelowRedeemed = 13,  // a voucher whose proven total is below what was already paid
  kErrOverflow = 14,
};
inline Error ChannelErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

inline constexpr std::string_view kVoucherDomain = "depai-voucher-v1";
inline constexpr size_t kMaxChainIdLen = 255;

// The voucher fields that are signed (everything but the signature).
struct VoucherFields {
  uint64_t channel_id = 0;
  uint64_t amount = 0;
  uint64_t nonce = 0;
  Bytes ticket_root;  // 32 bytes or empty
  uint64_t unit_price = 0;
  uint64_t max_units = 0;
};

VoucherFields FieldsOf(const depai::channel::v1::Voucher& v);
// Stateless shape checks: ticket_root empty or 32 bytes; with a root, unit_price and max_units
// positive; without one, both zero; a 64-byte signature. Errors name the field.
Status CheckVoucherShape(const depai::channel::v1::Voucher& v);

// The sign bytes above; chain ids longer than 255 bytes are refused (empty result).
Result<Bytes> VoucherSignBytes(std::string_view chain_id, const VoucherFields& f);
// True iff `sig` is a valid ed25519 signature by `pubkey` over the sign bytes of `f` for
// `chain_id`.
bool VerifyVoucherSig(std::string_view pubkey, std::string_view chain_id, const VoucherFields& f, std::string_view sig);

// True iff SHA-256^steps(preimage) == target (steps may be 0: preimage == target).
bool ChainReaches(std::string_view preimage, uint64_t steps, std::string_view target);

// The proven total of a channel's voucher and ticket units: amount + units * unit_price, or an
// overflow error (above 2^63-1).
Result<uint64_t> ProvenTotal(uint64_t amount, uint64_t units, uint64_t unit_price);

}  // namespace depai::x::channel
