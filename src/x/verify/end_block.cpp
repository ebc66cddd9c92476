// x/verify end_block: the work due at this height (root deadlines, samples, attestation
// deadlines, final verdicts, checker unbonding), then, every params.epoch_blocks, the epoch's
// challenges. Due entries are read only for the current height.
#include "x/verify/keeper.h"
#include "x/verify/keys.h"

namespace depai::x::verify {

Status Keeper::end_block(Context& ctx) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  struct Item {
    uint8_t what;
    std::string rest;
  };
  std::vector<Item> due;
  const std::string pre = keys::DueAt(h);
  Status bad;
  s.iterate(pre, store::PrefixEnd(pre), [&](std::string_view k, std::string_view) {
    if (k.size() < pre.size() + 1) {
      bad = Fault(kFaultCorruptRecord, "verify due key too short");
      return false;
    }
    due.push_back(Item{static_cast<uint8_t>(k[pre.size()]), std::string(k.substr(pre.size() + 1))});
    return true;
  });
  DEPAI_TRY(bad);
  for (const auto& d : due) {
    s.del(pre + static_cast<char>(d.what) + d.rest);
    if (d.what == keys::kDueUnbond) {
      DEPAI_TRY(on_unbond(ctx, d.rest));
      continue;
    }
    if (d.rest.size() != 8) return Fault(kFaultCorruptRecord, "verify due key with a bad id");
    const uint64_t id = GetU64BE(d.rest);
    switch (d.what) {
      case keys::kDueRoot:
        DEPAI_TRY(on_root_deadline(ctx, p, id));
        break;
      case keys::kDueSample:
        DEPAI_TRY(on_sample(ctx, p, id));
        break;
      case keys::kDueAttest: {
        DEPAI_ASSIGN_OR_RETURN(auto c, challenge(s, id));
        if (c && c->state() == depai::verify::v1::CHALLENGE_STATE_AWAITING_ATTESTATIONS) DEPAI_TRY(decide(ctx, p, *c));
        break;
      }
      case keys::kDueFinal: {
        DEPAI_ASSIGN_OR_RETURN(auto v, verdict(s, id));
        if (v) DEPAI_TRY(finalize(ctx, p, *v));
        break;
      }
      default:
        return Fault(kFaultCorruptRecord, "verify due entry of unknown kind");
    }
  }
  if (h > 0 && h % p.epoch_blocks() == 0) DEPAI_TRY(schedule_epoch(ctx, p));
  return {};
}

}  // namespace depai::x::verify
