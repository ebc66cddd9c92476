#include "x/types/module.h"

#include "x/types/tx.h"

namespace depai::x {

bool DecodeStrict(std::string_view value, google::protobuf::Message* m) {
  return m->ParseFromArray(value.data(), static_cast<int>(value.size())) && !HasUnknownFields(*m);
}

}  // namespace depai::x

// ---- temporary: legacy_route.h ----
#include "x/types/legacy_route.h"

namespace depai::x {
namespace {
struct LegacyParsed final : AnyParsed {
  std::unique_ptr<ProtoMsg> msg;
  Bytes signer_addr;
  const Bytes& signer() const override { return signer_addr; }
};
}  // namespace

MsgRoute FromLegacy(LegacyRoute l) {
  auto L = std::make_shared<LegacyRoute>(std::move(l));
  MsgRoute r;
  r.type_url = L->type_url;
  r.decode = [L](std::string_view value) -> Result<std::unique_ptr<AnyParsed>> {
    auto h = std::make_unique<LegacyParsed>();
    h->msg = L->make();
    if (!DecodeStrict(value, h->msg.get())) return RootErr(kErrTxDecode, "cannot decode message " + L->type_url);
    DEPAI_TRY(L->validate_basic(*h->msg));
    DEPAI_ASSIGN_OR_RETURN(h->signer_addr, L->signer(*h->msg));
    return std::unique_ptr<AnyParsed>(std::move(h));
  };
  r.check = [L](const View& v, const AnyParsed& a) -> Status {
    // The old shape took a writable Context; the pipeline's view is the tx's gas-metered branch.
    auto* s = const_cast<store::KVStore*>(dynamic_cast<const store::KVStore*>(&v.state));
    if (!s) return Fault(kFaultInternal, "legacy route check needs a writable branch");
    GasMeter gas = GasMeter::Infinite();
    EventManager events;
    Context ctx{s, &gas, &events, &v.header, v.check_tx};
    return L->check(ctx, *static_cast<const LegacyParsed&>(a).msg);
  };
  r.apply = [L](Context& c, const AnyParsed& a) { return L->apply(c, *static_cast<const LegacyParsed&>(a).msg); };
  r.to_json = [L](std::string_view value) {
    auto m = L->make();
    if (!DecodeStrict(value, m.get())) return nlohmann::json{{"@type", L->type_url}, {"error", "undecodable"}};
    return L->to_json(*m);
  };
  return r;
}

}  // namespace depai::x
