// x/channel's stream and voucher decoders: a payment frame (client::DecodePaymentFrame), a voucher
// JSON (client::VoucherFromJson) and the receiver's acceptance of whatever decodes never crash;
// a frame that decodes re-encodes to itself; a refused payment leaves the receiver's state as it
// was; the chain's voucher shape check and sign bytes never crash on a decoded voucher.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "client/channel.h"
#include "crypto/hash.h"

using namespace depai;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool init = crypto::InitCrypto();
  (void)init;
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto f = client::DecodePaymentFrame(in);
  if (f.ok()) {
    // The payer side's encoding of what decoded is the same bytes (protobuf is deterministic for
    // a strict decode without unknown fields, except field order: compare decoded values).
    const std::string again = f->kind == client::FrameKind::kVoucher ? client::EncodeVoucherFrame(f->voucher)
                                                                     : client::EncodeTicketFrame(f->units, f->preimage);
    auto g = client::DecodePaymentFrame(again);
    if (!g.ok() || g->kind != f->kind || g->units != f->units || g->preimage != f->preimage ||
        g->voucher.SerializeAsString() != f->voucher.SerializeAsString())
      std::abort();
    (void)x::channel::CheckVoucherShape(f->voucher);
    (void)x::channel::VoucherSignBytes("depai-fuzz", x::channel::FieldsOf(f->voucher));
    client::ReceiverState st(1, "depai-fuzz", Bytes(32, '\x07'), 1000);
    const auto before = st.to_json();
    auto r = f->kind == client::FrameKind::kVoucher ? st.accept_voucher(f->voucher)
                                                    : st.accept_ticket(f->units, f->preimage);
    if (!r.ok() && st.to_json() != before) std::abort();
  }
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_discarded()) {
    auto v = client::VoucherFromJson(j);
    if (v.ok() && !client::VoucherFromJson(client::VoucherToJson(*v)).ok()) std::abort();
    (void)client::ReceiverState::FromJson(j);
  }
  return 0;
}
