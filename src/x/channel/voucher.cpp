// x/channel encodings (voucher.h).
#include "x/channel/voucher.h"

#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/amount.h"

namespace depai::x::channel {

VoucherFields FieldsOf(const depai::channel::v1::Voucher& v) {
  return VoucherFields{v.channel_id(), v.amount(), v.nonce(), v.ticket_root(), v.unit_price(), v.max_units()};
}

Status CheckVoucherShape(const depai::channel::v1::Voucher& v) {
  if (!v.ticket_root().empty() && v.ticket_root().size() != 32)
    return ChannelErr(kErrInvalidVoucher,
                      "voucher.ticket_root must be empty or 32 bytes, got " + std::to_string(v.ticket_root().size()));
  if (v.ticket_root().empty() && (v.unit_price() != 0 || v.max_units() != 0))
    return ChannelErr(kErrInvalidVoucher, "voucher.unit_price and voucher.max_units must be 0 without a ticket_root");
  if (!v.ticket_root().empty() && (v.unit_price() == 0 || v.max_units() == 0))
    return ChannelErr(kErrInvalidVoucher,
                      "voucher.unit_price and voucher.max_units must be positive with a ticket_root");
  if (v.signature().size() != 64)
    return ChannelErr(kErrInvalidVoucher,
                      "voucher.signature must be 64 bytes, got " + std::to_string(v.signature().size()));
  if (v.nonce() == 0) return ChannelErr(kErrInvalidVoucher, "voucher.nonce must be at least 1");
  if (v.amount() > Amount::kMax || v.unit_price() > Amount::kMax)
    return ChannelErr(kErrInvalidVoucher, "voucher.amount and voucher.unit_price must be at most 2^63-1");
  return {};
}

Result<Bytes> VoucherSignBytes(std::string_view chain_id, const VoucherFields& f) {
  if (chain_id.size() > kMaxChainIdLen) return ChannelErr(kErrInvalidVoucher, "chain id longer than 255 bytes");
  Bytes b;
  b.reserve(kVoucherDomain.size() + 1 + chain_id.size() + 25 + 48);
  b.append(kVoucherDomain);
  b.push_back(static_cast<char>(chain_id.size()));
  b.append(chain_id);
  PutU64BE(b, f.channel_id);
  PutU64BE(b, f.amount);
  PutU64BE(b, f.nonce);
  const bool has_ticket = !f.ticket_root.empty();
  b.push_back(has_ticket ? 1 : 0);
  if (has_ticket) {
    b.append(f.ticket_root);
    PutU64BE(b, f.unit_price);
    PutU64BE(b, f.max_units);
  }
  return b;
}

bool VerifyVoucherSig(std::string_view pubkey, std::string_view chain_id, const VoucherFields& f,
                      std::string_view sig) {
  auto sb = VoucherSignBytes(chain_id, f);
  if (!sb.ok()) return false;
  return crypto::Verify(pubkey, *sb, sig);
}

bool ChainReaches(std::string_view preimage, uint64_t steps, std::string_view target) {
  if (preimage.size() != 32 || target.size() != 32) return false;
  return crypto::Sha256Iter(preimage, steps) == target;
}

Result<uint64_t> ProvenTotal(uint64_t amount, uint64_t units, uint64_t unit_price) {
  const unsigned __int128 t = static_cast<unsigned __int128>(units) * unit_price + amount;
  if (t > Amount::kMax)
    return ChannelErr(kErrOverflow, "proven total " + std::to_string(amount) + " + " + std::to_string(units) + " x " +
                                        std::to_string(unit_price) + " exceeds 2^63-1");
  return static_cast<uint64_t>(t);
}

}  // namespace depai::x::channel
