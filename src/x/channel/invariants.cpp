// x/channel invariants: every stored record decodes (a corrupt one is a fault), and per denom
// the module account holds exactly the channels' unredeemed deposits:
//   balance(module:channel, d) == sum over channels in d of (deposit - redeemed).
// A break is Fault(kFaultInvariant). (Per block, bank's supply invariant covers the burns.)
#include "x/channel/keeper.h"

namespace depai::x::channel {

Status Keeper::check_invariants(const store::KVReader& s) const {
  DEPAI_TRY(params(s).status());
  DEPAI_ASSIGN_OR_RETURN(const uint64_t last, last_id(s));
  unsigned __int128 held_d = 0, held_c = 0;
  Status bad;
  DEPAI_TRY(for_each_channel(s, [&](const ChannelRec& c) {
    if (c.pb.id() > last) {
      bad = Fault(kFaultInvariant, "channel invariant broken: channel " + std::to_string(c.pb.id()) +
                                       " is above the last id " + std::to_string(last));
      return false;
    }
    (c.credit() ? held_c : held_d) += c.deposit.raw() - c.redeemed.raw();
    return true;
  }));
  DEPAI_TRY(bad);
  DEPAI_ASSIGN_OR_RETURN(const Amount have_d, bank_->balance(s, ModuleAddress(), kDenom));
  DEPAI_ASSIGN_OR_RETURN(const Amount have_c, bank_->balance(s, ModuleAddress(), kCreditDenom));
  auto str = [](unsigned __int128 v) { return std::to_string(static_cast<uint64_t>(v)); };
  if (have_d.raw() != held_d)
    return Fault(kFaultInvariant, "channel invariant broken: module:channel holds " + have_d.str() +
                                      "udpai, the channels' unredeemed deposits sum to " + str(held_d) + "udpai");
  if (have_c.raw() != held_c)
    return Fault(kFaultInvariant, "channel invariant broken: module:channel holds " + have_c.str() +
                                      "ucredit, the channels' unredeemed deposits sum to " + str(held_c) + "ucredit");
  return {};
}

}  // namespace depai::x::channel
