// Off-chain side of x/channel (doc/modules/channel.md): vouchers (sign, verify), PayWord hash
// chains (make, derive h_k without keeping all N values, verify one step), the stream's binary
// payment frames, and the payee's receiver state (the best voucher and the longest ticket),
// persisted to a JSON file. The wire encodings are x/channel's (x/channel/voucher.h), so the
// chain and this library cannot disagree.
// Thread-safety: free functions are pure and thread-safe; HashChain and ReceiverState are not
// (one owner, or a lock around them).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"
#include "depai/channel/v1/channel.pb.h"
#include "util/bytes.h"
#include "util/result.h"
#include "x/channel/voucher.h"

namespace depai::client {

using ChannelVoucher = depai::channel::v1::Voucher;
using x::channel::VoucherFields;

// A signed voucher for (chain_id, fields).
Result<ChannelVoucher> SignVoucher(const crypto::KeyPair& key, std::string_view chain_id, const VoucherFields& f);
// Ok iff the voucher is well formed and its signature verifies under `pubkey` for
// (chain_id, channel_id); the error says which check failed.
Status VerifyVoucher(std::string_view pubkey, std::string_view chain_id, uint64_t channel_id, const ChannelVoucher& v);

// The payer's hash chain for (key, channel, nonce): h_N = SHA-256("depai-payword-seed-v1" ||
// key seed || u64be channel || u64be nonce), h_{i-1} = SHA-256(h_i), root = h_0. It keeps one
// checkpoint every `stride` values (default ceil(sqrt(N))) and the segment last derived, so
// paying units 1..N in order costs about one hash per unit and O(sqrt N) memory.
class HashChain {
 public:
  HashChain(Bytes seed, uint64_t n, uint64_t stride = 0);
  static Bytes SeedFor(const crypto::KeyPair& key, uint64_t channel_id, uint64_t nonce);
  uint64_t length() const { return n_; }
  const Bytes& root() const { return root_; }
  // h_k for 0 <= k <= N (k > N: empty).
  Bytes at(uint64_t k);

 private:
  Bytes seed_;
  uint64_t n_, stride_;
  std::vector<Bytes> checkpoints_;    // checkpoints_[j] = h_{min(N, j * stride)}
  uint64_t seg_lo_ = 1, seg_hi_ = 0;  // cached h_k for seg_lo_ <= k <= seg_hi_
  std::vector<Bytes> seg_;
  Bytes root_;
};

// One PayWord step: SHA-256(h_k) == h_{k-1}.
bool VerifyTicketStep(std::string_view h_k, std::string_view h_prev);

// Stream frames (binary WebSocket messages), payer -> payee:
//   0x01 || Voucher (protobuf)             a voucher
//   0x02 || u64be units || preimage(32)    the next ticket (units = k, preimage = h_k)
// payee -> payer:
//   0x10 || chunk                          the metered bytes the payment bought
//   0x11 || utf-8 message                  refused (nothing recorded)
enum class FrameKind : uint8_t { kVoucher = 0x01, kTicket = 0x02, kChunk = 0x10, kError = 0x11 };
struct PaymentFrame {
  FrameKind kind = FrameKind::kVoucher;
  ChannelVoucher voucher;  // kVoucher
  uint64_t units = 0;      // kTicket
  Bytes preimage;          // kTicket
};
Bytes EncodeVoucherFrame(const ChannelVoucher& v);
Bytes EncodeTicketFrame(uint64_t units, std::string_view preimage);
// A payer frame; anything else (short, unknown kind, a voucher that does not parse or has
// unknown fields, a ticket of the wrong size) is an error.
Result<PaymentFrame> DecodePaymentFrame(std::string_view frame);

// The payee's view of one channel: the best voucher it holds and the longest ticket of that
// voucher's chain. accept_* verify (a signature for a voucher, one hash for a ticket) and leave
// the state unchanged on refusal.
class ReceiverState {
 public:
  ReceiverState() = default;
  ReceiverState(uint64_t channel_id, std::string chain_id, Bytes voucher_key, uint64_t deposit)
      : channel_id_(channel_id),
        chain_id_(std::move(chain_id)),
        voucher_key_(std::move(voucher_key)),
        deposit_(deposit) {}

  // A newer voucher: signature, nonce above the best's, cumulative amount not below the proven
  // total, proven total within the deposit. Returns the increase of the proven total.
  Result<uint64_t> accept_voucher(const ChannelVoucher& v);
  // The next ticket of the best voucher's chain (units == ticket_units + 1, one hash). Returns
  // the increase (the unit price).
  Result<uint64_t> accept_ticket(uint64_t units, std::string_view preimage);

  uint64_t channel_id() const { return channel_id_; }
  const std::string& chain_id() const { return chain_id_; }
  const std::optional<ChannelVoucher>& best_voucher() const { return best_; }
  uint64_t ticket_units() const { return units_; }
  const Bytes& ticket_head() const { return head_; }
  uint64_t proven() const;  // voucher amount + units x unit price (0 without a voucher)
  uint64_t payments() const { return payments_; }

  nlohmann::json to_json() const;
  static Result<ReceiverState> FromJson(const nlohmann::json& j);
  Status save(const std::string& path) const;  // atomic replace
  static Result<ReceiverState> Load(const std::string& path);

 private:
  uint64_t channel_id_ = 0;
  std::string chain_id_;
  Bytes voucher_key_;
  uint64_t deposit_ = 0;
  std::optional<ChannelVoucher> best_;
  uint64_t units_ = 0;
  Bytes head_;
  uint64_t payments_ = 0;
};

// Voucher <-> JSON (bytes as hex), the form of --voucher-file and of the receiver's state.
nlohmann::json VoucherToJson(const ChannelVoucher& v);
Result<ChannelVoucher> VoucherFromJson(const nlohmann::json& j);

}  // namespace depai::client
