// x/market messages on the skeleton (x/types/module.h): the eight market messages. validate
// parses addresses, amounts, ids and enums once into the Parsed structs (keeper.h); check gets
// the read-only View; apply calls one keeper write method and does not re-run check. Nothing
// else lives here.
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "depai/tx/v1/tx.pb.h"
#include "x/market/module.h"

namespace depai::x::market {

using depai::market::v1::MsgCloseBid;
using depai::market::v1::MsgCloseLease;
using depai::market::v1::MsgCloseOrder;
using depai::market::v1::MsgCreateBid;
using depai::market::v1::MsgCreateLease;
using depai::market::v1::MsgCreateOrder;
using depai::market::v1::MsgDepositEscrow;
using depai::market::v1::MsgWithdrawLease;
using nlohmann::json;

namespace {
// A positive amount in `denom` (udpai, or ucredit for a credit-priced order).
Result<Amount> DenomArg(const depai::tx::v1::Coin& c, const char* field, const std::string& denom) {
  if (c.denom() != denom)
    return RootErr(kErrInvalidCoins, std::string(field) + ": denom must be " + denom + ", got '" + c.denom() + "'");
  auto a = Amount::Parse(c.amount());
  if (!a.ok()) return RootErr(kErrInvalidCoins, std::string(field) + ": " + a.error().message);
  if (a->is_zero()) return RootErr(kErrInvalidCoins, std::string(field) + " must be positive");
  return a;
}

// A positive amount in a price denom (udpai or ucredit); the check phase compares it with the order's.
Result<Amount> PriceArg(const depai::tx::v1::Coin& c, const char* field, std::string* denom) {
  auto d = PriceDenom(c.denom());
  if (!d || c.denom().empty())
    return RootErr(kErrInvalidCoins, std::string(field) + ": denom must be udpai or ucredit, got '" + c.denom() + "'");
  *denom = *d;
  return DenomArg(c, field, *d);
}

bool ValidAttrKey(const std::string& k) {
  if (k.empty() || k.size() > 64) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

Error Invalid(const std::string& m) { return MarketErr(kErrInvalidOrder, m); }

Result<uint64_t> PositiveId(uint64_t id, const char* field) {
  if (id == 0) return RootErr(kErrInvalidRequest, std::string(field) + " must be positive");
  return id;
}

Result<CreateOrderParsed> ValidateCreateOrder(const MsgCreateOrder& m) {
  CreateOrderParsed p;
  p.msg = &m;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  if (m.groups().empty() || static_cast<size_t>(m.groups().size()) > kMaxGroups)
    return Invalid("an order needs 1.." + std::to_string(kMaxGroups) + " resource groups");
  for (const auto& g : m.groups()) {
    if (g.count() == 0) return Invalid("group '" + g.name() + "': count must be positive");
    if (g.name().size() > 64) return Invalid("group name longer than 64 bytes");
    if (g.units().gpus().size() > 8 || g.units().storage().size() > 8)
      return Invalid("group '" + g.name() + "': at most 8 GPU and 8 storage entries");
    for (const auto& gp : g.units().gpus())
      if (gp.count() == 0) return Invalid("group '" + g.name() + "': GPU count must be positive");
  }
  auto denom = PriceDenom(m.denom());
  if (!denom) return Invalid("denom must be empty (udpai), udpai or ucredit, got '" + m.denom() + "'");
  p.denom = *denom;
  DEPAI_ASSIGN_OR_RETURN(p.max_price, DenomArg(m.max_price_per_block(), "max_price_per_block", p.denom));
  DEPAI_ASSIGN_OR_RETURN(p.deposit, DenomArg(m.deposit(), "deposit", p.denom));
  if (m.bid_window_blocks() <= 0) return Invalid("bid_window_blocks must be positive");
  if (m.manifest_hash().size() != 32) return Invalid("manifest_hash must be 32 bytes (SHA-256)");
  const auto& pl = m.placement();
  if (static_cast<size_t>(pl.attributes().size()) > kMaxPlacementAttributes)
    return Invalid("at most " + std::to_string(kMaxPlacementAttributes) + " placement attributes");
  for (const auto& a : pl.attributes())
    if (!ValidAttrKey(a.key())) return Invalid("invalid attribute key '" + a.key() + "'");
  if (static_cast<size_t>(pl.auditors().size()) > kMaxAuditors)
    return Invalid("at most " + std::to_string(kMaxAuditors) + " auditors");
  for (const auto& au : pl.auditors()) DEPAI_TRY(ParseAddress(au, "placement.auditors"));
  if (pl.region().size() > 32) return Invalid("region longer than 32 bytes");
  if (pl.max_distance_m() > 0) {
    const auto& c = pl.center();
    if (c.lat_e6() < -90000000 || c.lat_e6() > 90000000 || c.lon_e6() < -180000000 || c.lon_e6() > 180000000)
      return Invalid("placement.center out of range");
  }
  if (!depai::market::v1::AuditorMode_IsValid(pl.auditor_mode())) return Invalid("unknown auditor_mode");
  if (m.sla().min_uptime_bps() > 10000) return Invalid("sla.min_uptime_bps must be at most 10000");
  if (m.sla().min_uptime_bps() == 0 && m.sla().max_latency_ms() > 0)
    return Invalid("sla.max_latency_ms needs sla.min_uptime_bps > 0");
  if (m.min_reputation_bps() > 10000) return Invalid("min_reputation_bps must be at most 10000");
  return p;
}

Result<CloseOrderParsed> ValidateCloseOrder(const MsgCloseOrder& m) {
  CloseOrderParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.order_id, PositiveId(m.order_id(), "order_id"));
  return p;
}

Result<CreateBidParsed> ValidateCreateBid(const MsgCreateBid& m) {
  CreateBidParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.provider(), "provider"));
  DEPAI_ASSIGN_OR_RETURN(p.order_id, PositiveId(m.order_id(), "order_id"));
  DEPAI_ASSIGN_OR_RETURN(p.price, PriceArg(m.price_per_block(), "price_per_block", &p.denom));
  return p;
}

Result<CloseBidParsed> ValidateCloseBid(const MsgCloseBid& m) {
  CloseBidParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.provider(), "provider"));
  DEPAI_ASSIGN_OR_RETURN(p.order_id, PositiveId(m.order_id(), "order_id"));
  return p;
}

Result<CreateLeaseParsed> ValidateCreateLease(const MsgCreateLease& m) {
  CreateLeaseParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  DEPAI_ASSIGN_OR_RETURN(p.provider, ParseAddress(m.provider(), "provider"));
  DEPAI_ASSIGN_OR_RETURN(p.order_id, PositiveId(m.order_id(), "order_id"));
  return p;
}

Result<CloseLeaseParsed> ValidateCloseLease(const MsgCloseLease& m) {
  CloseLeaseParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.sender(), "sender"));
  DEPAI_ASSIGN_OR_RETURN(p.lease_id, PositiveId(m.lease_id(), "lease_id"));
  if (!depai::market::v1::CloseReason_IsValid(m.reason()) ||
      m.reason() == depai::market::v1::CLOSE_REASON_INSUFFICIENT_FUNDS)
    return MarketErr(kErrInvalidReason, "close reason " + std::to_string(m.reason()) + " cannot be given");
  p.reason = m.reason();
  return p;
}

Result<DepositParsed> ValidateDeposit(const MsgDepositEscrow& m) {
  DepositParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.depositor(), "depositor"));
  DEPAI_ASSIGN_OR_RETURN(p.order_id, PositiveId(m.order_id(), "order_id"));
  DEPAI_ASSIGN_OR_RETURN(p.amount, PriceArg(m.amount(), "amount", &p.denom));
  return p;
}

Result<WithdrawParsed> ValidateWithdraw(const MsgWithdrawLease& m) {
  WithdrawParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.provider(), "provider"));
  DEPAI_ASSIGN_OR_RETURN(p.lease_id, PositiveId(m.lease_id(), "lease_id"));
  return p;
}
// What an order commits its owner to, for agent wallets' policies: the escrow deposit, the
// resource kinds asked for, the max price per block; auto-select lets the chain pick the provider.
MsgSpend OrderSpend(const CreateOrderParsed& p) {
  MsgSpend s;
  if (!p.deposit.is_zero()) s.outflow = Coins::From({Coin{p.denom, p.deposit}}).value();
  s.prices_per_block.push_back(Coin{p.denom, p.max_price});
  bool cpu = false, mem = false, gpu = false, storage = false, bw = false;
  for (const auto& g : p.msg->groups()) {
    cpu = cpu || g.units().cpu_millicores() > 0;
    mem = mem || g.units().memory_mib() > 0;
    gpu = gpu || g.units().gpus_size() > 0;
    storage = storage || g.units().storage_size() > 0;
    bw = bw || g.units().bandwidth_mbps() > 0;
  }
  if (cpu) s.resource_kinds.emplace_back("cpu");
  if (mem) s.resource_kinds.emplace_back("memory");
  if (gpu) s.resource_kinds.emplace_back("gpu");
  if (storage) s.resource_kinds.emplace_back("storage");
  if (bw) s.resource_kinds.emplace_back("bandwidth");
  s.counterparty_chosen_later = p.msg->auto_select();
  return s;
}
}  // namespace

json ProtoToJson(const google::protobuf::Message& m) {
  json j = MessageToJson(m);
  if (j.is_object() && j.contains("manifest_hash") && j["manifest_hash"].is_string()) {
    auto raw = crypto::Base64Decode(j["manifest_hash"].get<std::string>());
    j["manifest_hash"] = raw ? HexEncode(*raw) : "";
  }
  return j;
}

std::vector<MsgRoute> Module::routes() {
  const Keeper& k = keeper_;
  return {
      MakeRoute(TypedRoute<MsgCreateOrder, CreateOrderParsed>{
          kTypeCreateOrder, &ValidateCreateOrder,
          [&k](const View& v, const CreateOrderParsed& p) { return k.check_create_order(v.state, p); },
          [&k](Context& c, const CreateOrderParsed& p) { return k.create_order(c, p).status(); }, &ProtoToJson,
          &OrderSpend}),
      MakeRoute(TypedRoute<MsgCloseOrder, CloseOrderParsed>{
          kTypeCloseOrder, &ValidateCloseOrder,
          [&k](const View& v, const CloseOrderParsed& p) { return k.check_close_order(v.state, p); },
          [&k](Context& c, const CloseOrderParsed& p) { return k.close_order(c, p); }, &ProtoToJson,
          [](const CloseOrderParsed&) { return MsgSpend{}; }}),
      MakeRoute(TypedRoute<MsgCreateBid, CreateBidParsed>{
          kTypeCreateBid, &ValidateCreateBid,
          [&k](const View& v, const CreateBidParsed& p) { return k.check_create_bid(v.state, p, v.header.height); },
          [&k](Context& c, const CreateBidParsed& p) { return k.create_bid(c, p); }, &ProtoToJson,
          [](const CreateBidParsed& p) {
            // The bid deposit (a param) is not declared: x/wallet's measured drop counts it.
            MsgSpend s;
            s.prices_per_block.push_back(Coin{p.denom, p.price});
            return s;
          }}),
      MakeRoute(TypedRoute<MsgCloseBid, CloseBidParsed>{
          kTypeCloseBid, &ValidateCloseBid,
          [&k](const View& v, const CloseBidParsed& p) { return k.check_close_bid(v.state, p); },
          [&k](Context& c, const CloseBidParsed& p) { return k.close_bid(c, p); }, &ProtoToJson,
          [](const CloseBidParsed&) { return MsgSpend{}; }}),
      MakeRoute(TypedRoute<MsgCreateLease, CreateLeaseParsed>{
          kTypeCreateLease, &ValidateCreateLease,
          [&k](const View& v, const CreateLeaseParsed& p) { return k.check_create_lease(v.state, p); },
          [&k](Context& c, const CreateLeaseParsed& p) { return k.create_lease(c, p).status(); }, &ProtoToJson,
          [](const CreateLeaseParsed& p) {
            MsgSpend s;
            s.counterparties.push_back(p.provider);
            return s;
          }}),
      MakeRoute(TypedRoute<MsgCloseLease, CloseLeaseParsed>{
          kTypeCloseLease, &ValidateCloseLease,
          [&k](const View& v, const CloseLeaseParsed& p) { return k.check_close_lease(v.state, p); },
          [&k](Context& c, const CloseLeaseParsed& p) { return k.close_lease(c, p); }, &ProtoToJson,
          [](const CloseLeaseParsed&) { return MsgSpend{}; }}),
      MakeRoute(TypedRoute<MsgDepositEscrow, DepositParsed>{
          kTypeDepositEscrow, &ValidateDeposit,
          [&k](const View& v, const DepositParsed& p) { return k.check_deposit(v.state, p); },
          [&k](Context& c, const DepositParsed& p) { return k.deposit(c, p); }, &ProtoToJson,
          [](const DepositParsed& p) {
            MsgSpend s;
            s.outflow = Coins::From({Coin{p.denom, p.amount}}).value();
            return s;
          }}),
      MakeRoute(TypedRoute<MsgWithdrawLease, WithdrawParsed>{
          kTypeWithdrawLease, &ValidateWithdraw,
          [&k](const View& v, const WithdrawParsed& p) { return k.check_withdraw(v.state, p, v.header.height); },
          [&k](Context& c, const WithdrawParsed& p) { return k.withdraw(c, p); }, &ProtoToJson,
          [](const WithdrawParsed&) { return MsgSpend{}; }}),
  };
}

}  // namespace depai::x::market
