#include "x/mint/keeper.h"

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/mint/keys.h"
#include "x/types/codec.h"

namespace depai::x::mint {

namespace {
using U128 = unsigned __int128;

Amount Clamp(U128 v) { return Amount::Of(v > Amount::kMax ? Amount::kMax : static_cast<uint64_t>(v)).value(); }
Amount Shr(Amount a, uint32_t k) { return Amount::Of(k >= 64 ? 0 : a.raw() >> k).value(); }
// T_k = cap - (cap >> k): the emission at which the k-th halving happens (ISSUANCE mode).
uint64_t Threshold(Amount cap, uint32_t k) { return cap.raw() - (k >= 64 ? 0 : cap.raw() >> k); }
}  // namespace

const Bytes& RewardsPendingAddress() {
  static const Bytes a = crypto::Sha256("module:rewards_pending").substr(0, 20);
  return a;
}

Params DefaultParams() {
  Params p;
  // 1 DPAI per block at 1 s blocks for the first era; eras of ~2 years (63,072,000 one-second
  // blocks) as Helium's halving; a 200M DPAI emission cap (doc/modules/mint.md, "Parameters").
  p.set_initial_reward("1000000");
  p.set_mode(depai::mint::v1::HALVING_MODE_BLOCKS);
  p.set_halving_blocks(63072000);
  p.set_max_emission("200000000000000");
  return p;
}

Result<ParsedParams> ParseParams(const Params& p) {
  auto bad = [](const std::string& m) { return RootErr(kErrInvalidGenesis, "mint params: " + m); };
  ParsedParams out;
  auto r = Amount::Parse(p.initial_reward());
  if (!r.ok()) return bad("initial_reward '" + p.initial_reward() + "' is not an amount");
  auto c = Amount::Parse(p.max_emission());
  if (!c.ok()) return bad("max_emission '" + p.max_emission() + "' is not an amount");
  out.initial_reward = *r;
  out.max_emission = *c;
  out.mode = p.mode();
  out.halving_blocks = p.halving_blocks();
  if (out.mode != depai::mint::v1::HALVING_MODE_BLOCKS && out.mode != depai::mint::v1::HALVING_MODE_ISSUANCE)
    return bad("unknown halving mode");
  if (out.mode == depai::mint::v1::HALVING_MODE_BLOCKS && out.halving_blocks <= 0)
    return bad("halving_blocks must be > 0 in HALVING_MODE_BLOCKS");
  if (out.halving_blocks < 0) return bad("halving_blocks must not be negative");
  return out;
}

Status ValidateParams(const Params& p) { return ParseParams(p).status(); }

uint32_t Era(const ParsedParams& p, uint64_t blocks, Amount minted) {
  if (p.mode == depai::mint::v1::HALVING_MODE_BLOCKS) {
    const uint64_t e = blocks / static_cast<uint64_t>(p.halving_blocks);
    return e > 64 ? 64 : static_cast<uint32_t>(e);
  }
  uint32_t k = 0;
  while (k < 64 && minted.raw() >= Threshold(p.max_emission, k + 1)) ++k;
  return k;
}

Amount ScheduledReward(const ParsedParams& p, uint64_t blocks, Amount minted) {
  Amount r = Shr(p.initial_reward, Era(p, blocks, minted));
  Amount left = (minted < p.max_emission ? p.max_emission.sub(minted).value() : Amount());
  return r < left ? r : left;
}

Amount TotalAfter(const ParsedParams& p, uint64_t n) {
  const U128 cap = p.max_emission.raw();
  const U128 R = p.initial_reward.raw();
  if (p.mode == depai::mint::v1::HALVING_MODE_BLOCKS) {
    const uint64_t H = static_cast<uint64_t>(p.halving_blocks);
    const uint64_t e = n / H, rem = n % H;
    U128 sum = 0;
    for (uint64_t k = 0; k < e && k < 64; ++k) sum += R >> k;  // one term per era, at most 64
    U128 total = sum * H + (e < 64 ? (R >> e) * rem : 0);
    return Clamp(total < cap ? total : cap);
  }
  U128 m = 0;
  uint64_t blocks = 0;
  while (blocks < n && m < cap) {  // one iteration per era, at most 65
    const uint32_t k = Era(p, blocks, Clamp(m));
    const U128 r = k >= 64 ? 0 : R >> k;
    if (r == 0) break;
    const U128 next = k + 1 > 64 ? cap : Threshold(p.max_emission, k + 1);
    const U128 need = next > m ? (next - m + r - 1) / r : 1;
    const uint64_t take = need < n - blocks ? static_cast<uint64_t>(need) : n - blocks;
    m += r * take;
    if (m > cap) m = cap;
    blocks += take;
  }
  return Clamp(m);
}

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  return DecodeRecord<Params>(*v, "mint params");
}

void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<Minter> Keeper::minter(const store::KVReader& s) const {
  auto v = s.get(keys::kMinter);
  if (!v) {
    Minter m;
    m.set_minted("0");
    m.set_last_reward("0");
    return m;
  }
  return DecodeRecord<Minter>(*v, "minter");
}

void Keeper::set_minter(store::KVStore& s, const Minter& m) const { s.set(keys::kMinter, DeterministicSerialize(m)); }

Result<Amount> Keeper::minted_total(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(Minter m, minter(s));
  return DecodeAmountField(m.minted(), "minter minted");
}

Status Keeper::begin_block(Context& ctx) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(Params pb, params(s));
  auto pp = ParseParams(pb);
  if (!pp.ok()) return Fault(kFaultCorruptRecord, "stored " + pp.error().message);
  if (pp->initial_reward.is_zero()) return {};  // no emissions: the minter never changes
  DEPAI_ASSIGN_OR_RETURN(Minter m, minter(s));
  DEPAI_ASSIGN_OR_RETURN(Amount minted, DecodeAmountField(m.minted(), "minter minted"));
  const uint32_t era = Era(*pp, m.blocks(), minted);
  Amount reward = ScheduledReward(*pp, m.blocks(), minted);
  // The bank's max_supply is a hard cap too: never ask it to mint past it (that would halt).
  DEPAI_ASSIGN_OR_RETURN(Amount supply, bank_->supply(s, kDenom));
  DEPAI_ASSIGN_OR_RETURN(Amount max_supply, bank_->max_supply(s, kDenom));
  Amount room = (supply < max_supply ? max_supply.sub(supply).value() : Amount());
  if (room < reward) reward = room;
  if (!reward.is_zero()) {
    DEPAI_ASSIGN_OR_RETURN(Coins coins, Coins::From({Coin{kDenom, reward}}));
    // x/bank's own "coinbase" event records the mint; ours carries the schedule.
    DEPAI_TRY(bank_->mint(ctx, RewardsPendingAddress(), coins));
  }
  DEPAI_ASSIGN_OR_RETURN(Amount total, minted.add(reward));
  m.set_minted(total.str());
  m.set_blocks(m.blocks() + 1);
  m.set_last_reward(reward.str());
  m.set_era(era);
  set_minter(s, m);
  if (ctx.events && !reward.is_zero())
    ctx.events->emit("mint.minted",
                     {{"amount", reward.str()}, {"era", std::to_string(era)}, {"minted_total", total.str()}});
  return {};
}

Status Keeper::check_invariants(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(Params pb, params(s));
  auto pp = ParseParams(pb);
  if (!pp.ok()) return Fault(kFaultInvariant, "stored " + pp.error().message);
  DEPAI_ASSIGN_OR_RETURN(Minter m, minter(s));
  DEPAI_ASSIGN_OR_RETURN(Amount minted, DecodeAmountField(m.minted(), "minter minted"));
  if (minted > pp->max_emission)
    return Fault(kFaultInvariant, "mint: minted " + minted.str() + " exceeds max_emission " + pp->max_emission.str());
  return {};
}

}  // namespace depai::x::mint
