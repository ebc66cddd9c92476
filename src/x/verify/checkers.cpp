// x/verify checkers: registration with a bond, deregistration with unbonding, strikes and bans.
#include "crypto/bech32.h"
#include "x/types/codec.h"
#include "x/verify/keeper.h"
#include "x/verify/keys.h"

namespace depai::x::verify {

namespace {
Coins Udpai(Amount a) {
  auto c = Coins::From({Coin{kDenom, a}});
  return c.ok() ? c.value() : Coins();
}
}  // namespace

Status Keeper::check_register(const store::KVReader& s, const RegisterParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  const Amount min = Amount::Parse(p.min_checker_bond()).value();
  if (m.bond < min)
    return VerifyErr(kErrBondTooLow, "bond " + m.bond.str() + "udpai is below min_checker_bond " + min.str() + "udpai");
  DEPAI_ASSIGN_OR_RETURN(auto existing, checker(s, m.signer));
  if (existing)
    return VerifyErr(kErrAlreadyRegistered, "checker " + crypto::AddressToBech32(m.signer) + " is already registered");
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, m.signer, kDenom));
  if (have < m.bond)
    return RootErr(kErrInsufficientFunds, "insufficient funds: balance " + have.str() + "udpai is smaller than bond " +
                                              m.bond.str() + "udpai");
  return {};
}

Status Keeper::register_checker(Context& ctx, const RegisterParsed& m) const {
  DEPAI_TRY(bank_->send(ctx, m.signer, BondAddress(), Udpai(m.bond)));
  Checker c;
  c.set_address(crypto::AddressToBech32(m.signer));
  c.set_owner(crypto::AddressToBech32(m.owner));
  c.set_bond(m.bond.str());
  c.set_registered_height(ctx.header->height);
  c.set_rewards("0");
  c.set_slashed("0");
  c.set_active(true);
  set_checker(*ctx.store, m.signer, c);
  if (ctx.events)
    ctx.events->emit("verify.checker_registered", {{"checker", c.address()}, {"owner", c.owner()}, {"bond", c.bond()}});
  return {};
}

Status Keeper::check_deregister(const store::KVReader& s, const DeregisterParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto c, checker(s, m.signer));
  if (!c || !c->active())
    return VerifyErr(kErrCheckerNotFound, "checker " + crypto::AddressToBech32(m.signer) + " is not registered");
  return {};
}

Status Keeper::deregister_checker(Context& ctx, const DeregisterParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto c, checker(s, m.signer));
  if (!c) return Fault(kFaultInternal, "checker vanished between check and apply");
  const int64_t at = ctx.header->height + std::max<int64_t>(1, p.checker_unbonding_blocks());
  c->set_active(false);
  c->set_unbond_height(at);
  set_checker(s, m.signer, *c);
  s.set(keys::DueAddr(at, keys::kDueUnbond, m.signer), "");
  if (ctx.events)
    ctx.events->emit("verify.checker_deregistered",
                     {{"checker", c->address()}, {"bond", c->bond()}, {"unbond_height", std::to_string(at)}});
  return {};
}

Status Keeper::on_unbond(Context& ctx, std::string_view addr) const {
  DEPAI_ASSIGN_OR_RETURN(auto c, checker(*ctx.store, addr));
  if (!c || c->active()) return {};  // re-registered or already paid: nothing due
  DEPAI_ASSIGN_OR_RETURN(Amount bond, DecodeAmountField(c->bond(), "checker bond"));
  if (!bond.is_zero()) DEPAI_TRY(bank_->send(ctx, BondAddress(), addr, Udpai(bond)));
  ctx.store->del(keys::Checker(addr));
  if (ctx.events) ctx.events->emit("verify.checker_unbonded", {{"checker", c->address()}, {"amount", bond.str()}});
  return {};
}

Status Keeper::strike(Context& ctx, const Params& p, std::string_view checker_bech32) const {
  auto addr = crypto::AddressFromBech32(checker_bech32);
  if (!addr.ok()) return Fault(kFaultCorruptRecord, "stored checker address does not parse");
  DEPAI_ASSIGN_OR_RETURN(auto c, checker(*ctx.store, *addr));
  if (!c) return {};  // unbonded since
  const int64_t h = ctx.header->height;
  std::vector<int64_t> kept;
  for (int64_t sh : c->strike_heights())
    if (sh > h - p.strike_window()) kept.push_back(sh);
  kept.push_back(h);
  c->clear_strike_heights();
  std::string banned;
  if (kept.size() >= p.strikes_to_ban()) {
    c->set_banned_until(h + p.ban_blocks());
    banned = std::to_string(c->banned_until());
  } else {
    for (int64_t sh : kept) c->add_strike_heights(sh);
  }
  set_checker(*ctx.store, *addr, *c);
  if (ctx.events) {
    ctx.events->emit("verify.checker_strike", {{"checker", c->address()}, {"strikes", std::to_string(kept.size())}});
    if (!banned.empty())
      ctx.events->emit("verify.checker_banned", {{"checker", c->address()}, {"banned_until", banned}});
  }
  return {};
}

}  // namespace depai::x::verify
