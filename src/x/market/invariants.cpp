// x/market escrow invariant, per denom: the escrow module account holds exactly, in udpai, the
// balances and withdrawable amounts of the udpai escrows plus the deposits of OPEN and WON bids,
// and, in ucredit, the balances (and withdrawable, always 0) of the credit escrows. A break is a fault
// (kFaultInvariant); a record that does not decode is a fault (kFaultCorruptRecord).
#include "x/market/keeper.h"
#include "x/market/keys.h"
#include "x/types/block_changes.h"
#include "x/types/codec.h"

namespace depai::x::market {

using depai::market::v1::BID_STATE_OPEN;
using depai::market::v1::BID_STATE_WON;
using keys::kBidPrefix;
using keys::kEscrowPrefix;

namespace {
unsigned __int128 Held(const BidRec& b) {
  return (b.pb.state() == BID_STATE_OPEN || b.pb.state() == BID_STATE_WON) ? b.deposit.raw() : 0;
}
unsigned __int128 Held(const EscrowRec& e) {
  return static_cast<unsigned __int128>(e.acc.balance.raw()) + e.acc.withdrawable.raw();
}
Error Broken(const std::string& m) { return Fault(kFaultInvariant, "escrow invariant broken: " + m); }

// Sums per denom: [0] udpai, [1] ucredit.
struct Held2 {
  __int128 udpai = 0, ucredit = 0;
};

// What one stored escrow or bid value contributes to the escrow account, per denom.
Result<Held2> Contribution(std::string_view key, const std::optional<Bytes>& v) {
  Held2 h;
  if (!v) return h;
  if (key.substr(0, kEscrowPrefix.size()) == kEscrowPrefix) {
    DEPAI_ASSIGN_OR_RETURN(Escrow pb, DecodeRecord<Escrow>(*v, "escrow"));
    DEPAI_ASSIGN_OR_RETURN(EscrowRec e, DecodeEscrow(std::move(pb)));
    (e.burns() ? h.ucredit : h.udpai) = static_cast<__int128>(Held(e));
    return h;
  }
  DEPAI_ASSIGN_OR_RETURN(Bid pb, DecodeRecord<Bid>(*v, "bid"));
  DEPAI_ASSIGN_OR_RETURN(BidRec b, DecodeBid(std::move(pb)));
  h.udpai = static_cast<__int128>(Held(b));  // bid deposits are udpai on every order
  return h;
}
}  // namespace

Status Keeper::check_invariants_full(const store::KVReader& s) const {
  unsigned __int128 sum = 0, credits = 0;
  bool any_credit = false;
  DEPAI_TRY(for_each_escrow(s, [&](const EscrowRec& e) {
    (e.burns() ? credits : sum) += Held(e);
    any_credit = any_credit || e.burns();
    return true;
  }));
  DEPAI_TRY(for_each_bid(s, [&](const BidRec& b) {
    sum += Held(b);
    return true;
  }));
  DEPAI_ASSIGN_OR_RETURN(const Amount have, bank_->balance(s, EscrowModuleAddress(), kDenom));
  if (sum != have.raw())
    return Broken("module:market_escrow holds " + have.str() + "udpai, escrows and bid deposits sum to " +
                  std::to_string(static_cast<uint64_t>(sum)));
  // ucredit is compared once a credit escrow exists. (Before that the account can only hold credits
  // through a block that moved them, and the per-block check compares every block's ucredit delta.)
  if (!any_credit) return {};
  DEPAI_ASSIGN_OR_RETURN(const Amount have_c, bank_->balance(s, EscrowModuleAddress(), kCreditDenom));
  if (credits != have_c.raw())
    return Broken("module:market_escrow holds " + have_c.str() + "ucredit, credit escrows sum to " +
                  std::to_string(static_cast<uint64_t>(credits)));
  return {};
}

Status Keeper::check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const {
  __int128 delta = 0, delta_c = 0;
  auto add = [&](std::string_view key, const std::optional<Bytes>& before,
                 const std::optional<Bytes>& after) -> Status {
    DEPAI_ASSIGN_OR_RETURN(const Held2 now, Contribution(key, after));
    DEPAI_ASSIGN_OR_RETURN(const Held2 was, Contribution(key, before));
    delta += now.udpai - was.udpai;
    delta_c += now.ucredit - was.ucredit;
    return {};
  };
  DEPAI_TRY(ForEachBlockChange(block, committed, kEscrowPrefix, add));
  DEPAI_TRY(ForEachBlockChange(block, committed, kBidPrefix, add));
  DEPAI_ASSIGN_OR_RETURN(const Amount esc_block, bank_->balance(block, EscrowModuleAddress(), kDenom));
  DEPAI_ASSIGN_OR_RETURN(const Amount esc_committed, bank_->balance(committed, EscrowModuleAddress(), kDenom));
  const __int128 bank_delta = static_cast<__int128>(esc_block.raw()) - static_cast<__int128>(esc_committed.raw());
  if (delta != bank_delta)
    return Fault(kFaultInvariant,
                 "escrow invariant broken in block: module:market_escrow balance and the escrow/bid records "
                 "changed by different amounts");
  DEPAI_ASSIGN_OR_RETURN(const Amount c_block, bank_->balance(block, EscrowModuleAddress(), kCreditDenom));
  DEPAI_ASSIGN_OR_RETURN(const Amount c_committed, bank_->balance(committed, EscrowModuleAddress(), kCreditDenom));
  if (delta_c != static_cast<__int128>(c_block.raw()) - static_cast<__int128>(c_committed.raw()))
    return Fault(kFaultInvariant,
                 "escrow invariant broken in block: module:market_escrow ucredit balance and the credit escrows "
                 "changed by different amounts");
  return {};
}

}  // namespace depai::x::market
