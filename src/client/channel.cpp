// Off-chain x/channel library (client/channel.h).
#include "client/channel.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "crypto/hash.h"
#include "util/files.h"
#include "x/types/module.h"

namespace depai::client {

using nlohmann::json;
namespace xc = x::channel;

Result<ChannelVoucher> SignVoucher(const crypto::KeyPair& key, std::string_view chain_id, const VoucherFields& f) {
  DEPAI_ASSIGN_OR_RETURN(const Bytes sb, xc::VoucherSignBytes(chain_id, f));
  ChannelVoucher v;
  v.set_channel_id(f.channel_id);
  v.set_amount(f.amount);
  v.set_nonce(f.nonce);
  v.set_ticket_root(f.ticket_root);
  v.set_unit_price(f.unit_price);
  v.set_max_units(f.max_units);
  v.set_signature(crypto::Sign(key, sb));
  return v;
}

Status VerifyVoucher(std::string_view pubkey, std::string_view chain_id, uint64_t channel_id, const ChannelVoucher& v) {
  DEPAI_TRY(xc::CheckVoucherShape(v));
  VoucherFields f = xc::FieldsOf(v);
  f.channel_id = channel_id;
  if (!xc::VerifyVoucherSig(pubkey, chain_id, f, v.signature()))
    return xc::ChannelErr(xc::kErrBadSignature, "voucher signature does not verify under channel " +
                                                    std::to_string(channel_id) + "'s voucher key on chain " +
                                                    std::string(chain_id) + " (the voucher names channel " +
                                                    std::to_string(v.channel_id()) + ")");
  return {};
}

// ---- hash chain ----

HashChain::HashChain(Bytes seed, uint64_t n, uint64_t stride) : seed_(std::move(seed)), n_(n), stride_(stride) {
  if (stride_ == 0) {
    stride_ = 1;
    while (stride_ * stride_ < n_) ++stride_;
  }
  // One pass from h_N down to h_0: slot j holds h_{min(N, j * stride)}.
  const uint64_t top = (n_ + stride_ - 1) / stride_;
  checkpoints_.assign(top + 1, Bytes());
  Bytes h = seed_;  // h_N
  for (uint64_t k = n_;; --k) {
    if (k == n_) checkpoints_[top] = h;
    if (k % stride_ == 0) checkpoints_[k / stride_] = h;
    if (k == 0) break;
    h = crypto::Sha256(h);
  }
  root_ = h;
}

Bytes HashChain::SeedFor(const crypto::KeyPair& key, uint64_t channel_id, uint64_t nonce) {
  std::string s = "depai-payword-seed-v1";
  s += key.seed;
  PutU64BE(s, channel_id);
  PutU64BE(s, nonce);
  return crypto::Sha256(s);
}

Bytes HashChain::at(uint64_t k) {
  if (k > n_) return {};
  if (k == 0) return root_;
  if (k >= seg_lo_ && k <= seg_hi_) return seg_[k - seg_lo_];
  // The segment (lo, hi] with hi the checkpoint at or above k.
  const uint64_t j = (k + stride_ - 1) / stride_;
  const uint64_t hi = std::min(n_, j * stride_);
  const uint64_t lo = (j - 1) * stride_ + 1;
  seg_.assign(hi - lo + 1, Bytes());
  Bytes h = checkpoints_[j];
  for (uint64_t i = hi;; --i) {
    seg_[i - lo] = h;
    if (i == lo) break;
    h = crypto::Sha256(h);
  }
  seg_lo_ = lo;
  seg_hi_ = hi;
  return seg_[k - lo];
}

bool VerifyTicketStep(std::string_view h_k, std::string_view h_prev) {
  return h_k.size() == 32 && h_prev.size() == 32 && crypto::Sha256(h_k) == h_prev;
}

// ---- frames ----

Bytes EncodeVoucherFrame(const ChannelVoucher& v) {
  Bytes b(1, static_cast<char>(FrameKind::kVoucher));
  b += x::DeterministicSerialize(v);
  return b;
}

Bytes EncodeTicketFrame(uint64_t units, std::string_view preimage) {
  Bytes b(1, static_cast<char>(FrameKind::kTicket));
  PutU64BE(b, units);
  b.append(preimage);
  return b;
}

Result<PaymentFrame> DecodePaymentFrame(std::string_view f) {
  auto bad = [](const std::string& m) { return Error{"channel", xc::kErrInvalidMsg, "payment frame: " + m}; };
  if (f.empty()) return bad("empty");
  PaymentFrame p;
  const auto kind = static_cast<uint8_t>(f[0]);
  if (kind == static_cast<uint8_t>(FrameKind::kVoucher)) {
    p.kind = FrameKind::kVoucher;
    if (!x::DecodeStrict(f.substr(1), &p.voucher)) return bad("the voucher does not decode");
    return p;
  }
  if (kind == static_cast<uint8_t>(FrameKind::kTicket)) {
    if (f.size() != 1 + 8 + 32) return bad("a ticket frame is 41 bytes, got " + std::to_string(f.size()));
    p.kind = FrameKind::kTicket;
    p.units = GetU64BE(f.substr(1, 8));
    p.preimage = Bytes(f.substr(9));
    return p;
  }
  return bad("unknown kind " + std::to_string(kind));
}

// ---- receiver state ----

uint64_t ReceiverState::proven() const {
  if (!best_) return 0;
  auto t = xc::ProvenTotal(best_->amount(), units_, best_->unit_price());
  return t.ok() ? *t : 0;
}

Result<uint64_t> ReceiverState::accept_voucher(const ChannelVoucher& v) {
  DEPAI_TRY(VerifyVoucher(voucher_key_, chain_id_, channel_id_, v));
  const uint64_t have_nonce = best_ ? best_->nonce() : 0;
  if (v.nonce() <= have_nonce)
    return xc::ChannelErr(xc::kErrStaleVoucher, "stale voucher: nonce " + std::to_string(v.nonce()) +
                                                    " is not above the best nonce " + std::to_string(have_nonce));
  const uint64_t before = proven();
  if (v.amount() < before)
    return xc::ChannelErr(xc::kErrBelowRedeemed, "voucher amount " + std::to_string(v.amount()) +
                                                     " is below the proven total " + std::to_string(before));
  if (deposit_ != 0 && v.amount() > deposit_)
    return xc::ChannelErr(xc::kErrOverDeposit, "voucher amount " + std::to_string(v.amount()) +
                                                   " exceeds the deposit " + std::to_string(deposit_));
  if (!v.ticket_root().empty()) {
    auto full = xc::ProvenTotal(v.amount(), v.max_units(), v.unit_price());
    if (!full.ok()) return full.error();
  }
  best_ = v;
  units_ = 0;
  head_ = v.ticket_root();
  ++payments_;
  return v.amount() - before;
}

Result<uint64_t> ReceiverState::accept_ticket(uint64_t units, std::string_view preimage) {
  if (!best_ || best_->ticket_root().empty())
    return xc::ChannelErr(xc::kErrInvalidTicket, "no voucher with a hash chain yet");
  if (units != units_ + 1)
    return xc::ChannelErr(xc::kErrInvalidTicket,
                          "expected ticket unit " + std::to_string(units_ + 1) + ", got " + std::to_string(units));
  if (units > best_->max_units())
    return xc::ChannelErr(xc::kErrInvalidTicket, "ticket unit " + std::to_string(units) + " is beyond max_units " +
                                                     std::to_string(best_->max_units()));
  auto total = xc::ProvenTotal(best_->amount(), units, best_->unit_price());
  if (!total.ok()) return total.error();
  if (deposit_ != 0 && *total > deposit_)
    return xc::ChannelErr(xc::kErrOverDeposit, "ticket unit " + std::to_string(units) + " brings the total to " +
                                                   std::to_string(*total) + ", above the deposit " +
                                                   std::to_string(deposit_));
  if (!VerifyTicketStep(preimage, head_))
    return xc::ChannelErr(xc::kErrInvalidTicket,
                          "ticket preimage for unit " + std::to_string(units) + " does not hash to the previous one");
  units_ = units;
  head_ = Bytes(preimage);
  ++payments_;
  return best_->unit_price();
}

json VoucherToJson(const ChannelVoucher& v) {
  return json{{"channel_id", std::to_string(v.channel_id())}, {"amount", std::to_string(v.amount())},
              {"nonce", std::to_string(v.nonce())},           {"ticket_root", HexEncode(v.ticket_root())},
              {"unit_price", std::to_string(v.unit_price())}, {"max_units", std::to_string(v.max_units())},
              {"signature", HexEncode(v.signature())}};
}

namespace {
Result<uint64_t> U64Field(const json& j, const char* k) {
  if (!j.contains(k)) return uint64_t{0};
  const auto& v = j[k];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (!v.is_string()) return Error{"channel", xc::kErrInvalidMsg, std::string(k) + " must be a decimal string"};
  const std::string s = v.get<std::string>();
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
    return Error{"channel", xc::kErrInvalidMsg, std::string(k) + " must be a decimal string, got '" + s + "'"};
  try {
    return static_cast<uint64_t>(std::stoull(s));
  } catch (...) {
    return Error{"channel", xc::kErrInvalidMsg, std::string(k) + " is out of range"};
  }
}
Result<Bytes> HexField(const json& j, const char* k) {
  if (!j.contains(k)) return Bytes();
  if (!j[k].is_string()) return Error{"channel", xc::kErrInvalidMsg, std::string(k) + " must be hex"};
  auto b = HexDecode(j[k].get<std::string>());
  if (!b) return Error{"channel", xc::kErrInvalidMsg, std::string(k) + " is not hex"};
  return *b;
}
}  // namespace

Result<ChannelVoucher> VoucherFromJson(const json& j0) {
  const json& j = j0.contains("voucher") && j0["voucher"].is_object() ? j0["voucher"] : j0;
  if (!j.is_object()) return Error{"channel", xc::kErrInvalidMsg, "a voucher must be a JSON object"};
  ChannelVoucher v;
  DEPAI_ASSIGN_OR_RETURN(auto id, U64Field(j, "channel_id"));
  DEPAI_ASSIGN_OR_RETURN(auto amount, U64Field(j, "amount"));
  DEPAI_ASSIGN_OR_RETURN(auto nonce, U64Field(j, "nonce"));
  DEPAI_ASSIGN_OR_RETURN(auto price, U64Field(j, "unit_price"));
  DEPAI_ASSIGN_OR_RETURN(auto max_units, U64Field(j, "max_units"));
  DEPAI_ASSIGN_OR_RETURN(auto root, HexField(j, "ticket_root"));
  DEPAI_ASSIGN_OR_RETURN(auto sig, HexField(j, "signature"));
  v.set_channel_id(id);
  v.set_amount(amount);
  v.set_nonce(nonce);
  v.set_unit_price(price);
  v.set_max_units(max_units);
  v.set_ticket_root(root);
  v.set_signature(sig);
  DEPAI_TRY(xc::CheckVoucherShape(v));
  return v;
}

json ReceiverState::to_json() const {
  json j{{"channel_id", std::to_string(channel_id_)}, {"chain_id", chain_id_},
         {"voucher_key", HexEncode(voucher_key_)},    {"deposit", std::to_string(deposit_)},
         {"ticket_units", std::to_string(units_)},    {"ticket_head", HexEncode(head_)},
         {"proven", std::to_string(proven())},        {"payments", std::to_string(payments_)}};
  if (best_) j["voucher"] = VoucherToJson(*best_);
  return j;
}

Result<ReceiverState> ReceiverState::FromJson(const json& j) {
  if (!j.is_object()) return Error{"channel", xc::kErrInvalidMsg, "receiver state must be a JSON object"};
  ReceiverState r;
  DEPAI_ASSIGN_OR_RETURN(r.channel_id_, U64Field(j, "channel_id"));
  if (!j.contains("chain_id") || !j["chain_id"].is_string())
    return Error{"channel", xc::kErrInvalidMsg, "receiver state: chain_id missing"};
  r.chain_id_ = j["chain_id"].get<std::string>();
  DEPAI_ASSIGN_OR_RETURN(r.voucher_key_, HexField(j, "voucher_key"));
  if (r.voucher_key_.size() != 32)
    return Error{"channel", xc::kErrInvalidMsg, "receiver state: voucher_key is not 32 bytes"};
  DEPAI_ASSIGN_OR_RETURN(r.deposit_, U64Field(j, "deposit"));
  DEPAI_ASSIGN_OR_RETURN(r.units_, U64Field(j, "ticket_units"));
  DEPAI_ASSIGN_OR_RETURN(r.head_, HexField(j, "ticket_head"));
  DEPAI_ASSIGN_OR_RETURN(r.payments_, U64Field(j, "payments"));
  if (j.contains("voucher")) {
    DEPAI_ASSIGN_OR_RETURN(auto v, VoucherFromJson(j["voucher"]));
    DEPAI_TRY(VerifyVoucher(r.voucher_key_, r.chain_id_, r.channel_id_, v));
    if (r.units_ > 0 && (v.ticket_root().empty() || !xc::ChainReaches(r.head_, r.units_, v.ticket_root())))
      return Error{"channel", xc::kErrInvalidTicket, "receiver state: ticket_head does not hash to the voucher's root"};
    r.best_ = v;
  }
  return r;
}

Status ReceiverState::save(const std::string& path) const { return WriteFileAtomic(path, to_json().dump(1) + "\n"); }

Result<ReceiverState> ReceiverState::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Error{"channel", xc::kErrInvalidMsg, "cannot read " + path};
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return Error{"channel", xc::kErrInvalidMsg, path + " is not JSON"};
  return FromJson(j);
}

}  // namespace depai::client
