// x/oracle invariants: no feeder report outlives its block; a stored price lies in
// [1, max_price_e9] with its EMA; each validator record sits under its own address, derived from
// its key.
#include "crypto/ed25519.h"
#include "x/oracle/keeper.h"
#include "x/oracle/keys.h"
#include "x/types/block_changes.h"

namespace depai::x::oracle {

Status Keeper::check_invariants_full(const store::KVReader& s) const {
  bool pending = false;
  DEPAI_TRY(for_each_post(s, [&](std::string_view, uint64_t) {
    pending = true;
    return false;
  }));
  if (pending) return Fault(kFaultInvariant, "an oracle MsgPostPrice report outlived its block");
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto rec, price(s));
  if (rec && (rec->price_e9() == 0 || rec->price_e9() > p.max_price_e9() || rec->ema_e9() > p.max_price_e9()))
    return Fault(kFaultInvariant, "the oracle price " + std::to_string(rec->price_e9()) + " (ema " +
                                      std::to_string(rec->ema_e9()) + ") is outside [1, max_price_e9]");
  Status st;
  DEPAI_TRY(for_each_validator(s, [&](const Validator& v) {
    if (v.pub_key().size() != 32 || crypto::AddressOf(v.pub_key()) != v.address() || v.power() <= 0) {
      st = Fault(kFaultInvariant, "an oracle validator record does not match its key");
      return false;
    }
    return true;
  }));
  return st;
}

Status Keeper::check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const {
  bool touched = false;
  DEPAI_TRY(ForEachBlockChange(block, committed, "oracle/",
                               [&](std::string_view, const std::optional<Bytes>&, const std::optional<Bytes>&) {
                                 touched = true;
                                 return Status{};
                               }));
  if (!touched) return {};
  return check_invariants_full(block);  // a handful of records
}

}  // namespace depai::x::oracle
