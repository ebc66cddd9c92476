#include "x/bank/module.h"

#include "crypto/bech32.h"
#include "x/types/codec.h"

namespace depai::x::bank {

using depai::bank::v1::MsgMultiSend;
using depai::bank::v1::MsgSend;
using nlohmann::json;

namespace {
Error genesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "bank genesis: " + m); }

Result<Coins> CoinsFromJson(const json& j) {
  if (!j.is_array()) return RootErr(kErrInvalidCoins, "coins must be an array");
  std::vector<Coin> v;
  for (const auto& c : j) {
    if (!c.is_object() || !c.contains("denom") || !c.contains("amount") || !c["denom"].is_string())
      return RootErr(kErrInvalidCoins, "coin needs denom and amount");
    std::string amt = c["amount"].is_string()            ? c["amount"].get<std::string>()
                      : c["amount"].is_number_unsigned() ? std::to_string(c["amount"].get<uint64_t>())
                                                         : std::string("?");
    auto a = Amount::Parse(amt);
    if (!a.ok()) return a.error();
    v.push_back(Coin{c["denom"].get<std::string>(), a.value()});
  }
  auto coins = Coins::From(std::move(v));
  if (!coins.ok()) return RootErr(kErrInvalidCoins, coins.error().message);
  return coins;
}

// Stateless validation of an amount list from a message.
template <typename RC>
Result<Coins> ValidAmount(const RC& rc) {
  auto c = CoinsFromProto(rc);
  if (!c.ok()) {
    if (c.error().code == depai::kErrOverflow) return RootErr(x::kErrOverflow, c.error().message);
    return RootErr(kErrInvalidCoins, c.error().message);
  }
  if (c->empty()) return RootErr(kErrInvalidCoins, "amount must be positive");
  if (static_cast<size_t>(rc.size()) != c->list().size())
    return RootErr(kErrInvalidCoins, "zero amounts are not allowed");
  return c;
}

// Checks that `from` can pay `coins` now (CheckTx rejects overdrafts before they reach a block).
Status CheckFunds(const Keeper& k, const store::KVReader& s, std::string_view from, const Coins& coins) {
  for (const auto& c : coins.list()) {
    Amount have = k.balance(s, from, c.denom);
    if (have < c.amount)
      return RootErr(kErrInsufficientFunds,
                     "insufficient funds: spendable balance " + have.str() + c.denom + " is smaller than " + c.str());
  }
  return {};
}

Status CheckRecipient(const Keeper& k, std::string_view to) {
  if (k.blocked(to))
    return BankErr(
        kErrBlockedAddress,
        crypto::AddressToBech32(to) + " is a module account: it cannot receive transfers (use the module's messages)");
  return {};
}

// Checks that each denom is registered and (for user transfers) transferable.
Status CheckDenoms(const Keeper& k, const store::KVReader& s, const Coins& coins) {
  for (const auto& c : coins.list()) {
    auto m = k.denom(s, c.denom);
    if (!m) return BankErr(kErrUnknownDenom, "unknown denom '" + c.denom + "'");
    if (!m->transferable()) return BankErr(kErrNotTransferable, "denom '" + c.denom + "' is not transferable");
  }
  return {};
}
}  // namespace

json CoinsToJson(const Coins& c) {
  json a = json::array();
  for (const auto& coin : c.list()) a.push_back(json{{"denom", coin.denom}, {"amount", coin.amount.str()}});
  return a;
}

std::vector<MsgRoute> Module::routes() {
  MsgRoute send;
  send.type_url = "/depai.bank.v1.MsgSend";
  send.make = [] { return std::make_unique<MsgSend>(); };
  send.validate_basic = [](const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgSend&>(pm);
    DEPAI_TRY(ParseAddress(m.from_address(), "from_address"));
    DEPAI_TRY(ParseAddress(m.to_address(), "to_address"));
    DEPAI_TRY(ValidAmount(m.amount()));
    return {};
  };
  send.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgSend&>(pm).from_address(), "from_address");
  };
  send.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgSend&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto amount, ValidAmount(m.amount()));
    DEPAI_TRY(CheckDenoms(keeper_, *ctx.store, amount));
    DEPAI_ASSIGN_OR_RETURN(auto from, ParseAddress(m.from_address(), "from_address"));
    DEPAI_ASSIGN_OR_RETURN(auto to, ParseAddress(m.to_address(), "to_address"));
    DEPAI_TRY(CheckRecipient(keeper_, to));
    return CheckFunds(keeper_, *ctx.store, from, amount);
  };
  send.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgSend&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto from, ParseAddress(m.from_address(), "from_address"));
    DEPAI_ASSIGN_OR_RETURN(auto to, ParseAddress(m.to_address(), "to_address"));
    DEPAI_ASSIGN_OR_RETURN(auto amount, ValidAmount(m.amount()));
    return keeper_.send(ctx, from, to, amount, true);
  };
  send.to_json = [](const ProtoMsg& pm) {
    const auto& m = static_cast<const MsgSend&>(pm);
    auto amount = CoinsFromProto(m.amount());
    return json{{"@type", "/depai.bank.v1.MsgSend"},
                {"from_address", m.from_address()},
                {"to_address", m.to_address()},
                {"amount", amount.ok() ? CoinsToJson(*amount) : json::array()}};
  };

  MsgRoute multi;
  multi.type_url = "/depai.bank.v1.MsgMultiSend";
  multi.make = [] { return std::make_unique<MsgMultiSend>(); };
  multi.validate_basic = [](const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgMultiSend&>(pm);
    DEPAI_TRY(ParseAddress(m.from_address(), "from_address"));
    if (m.outputs().empty()) return BankErr(kErrNoOutputs, "multi-send needs at least one output");
    if (static_cast<size_t>(m.outputs().size()) > kMaxOutputs)
      return BankErr(kErrTooManyOutputs, "multi-send has more than " + std::to_string(kMaxOutputs) + " outputs");
    Coins total;
    for (const auto& o : m.outputs()) {
      DEPAI_TRY(ParseAddress(o.address(), "outputs.address"));
      DEPAI_ASSIGN_OR_RETURN(auto c, ValidAmount(o.coins()));
      auto t = total.add(c);
      if (!t.ok()) return RootErr(kErrOverflow, "multi-send total overflows");
      total = t.value();
    }
    return {};
  };
  multi.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgMultiSend&>(pm).from_address(), "from_address");
  };
  multi.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgMultiSend&>(pm);
    Coins total;
    for (const auto& o : m.outputs()) {
      DEPAI_ASSIGN_OR_RETURN(auto c, ValidAmount(o.coins()));
      DEPAI_TRY(CheckDenoms(keeper_, *ctx.store, c));
      DEPAI_ASSIGN_OR_RETURN(auto to, ParseAddress(o.address(), "outputs.address"));
      DEPAI_TRY(CheckRecipient(keeper_, to));
      auto t = total.add(c);
      if (!t.ok()) return RootErr(kErrOverflow, "multi-send total overflows");
      total = t.value();
    }
    DEPAI_ASSIGN_OR_RETURN(auto from, ParseAddress(m.from_address(), "from_address"));
    return CheckFunds(keeper_, *ctx.store, from, total);
  };
  multi.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgMultiSend&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto from, ParseAddress(m.from_address(), "from_address"));
    for (const auto& o : m.outputs()) {
      DEPAI_ASSIGN_OR_RETURN(auto to, ParseAddress(o.address(), "outputs.address"));
      DEPAI_ASSIGN_OR_RETURN(auto c, ValidAmount(o.coins()));
      DEPAI_TRY(keeper_.send(ctx, from, to, c, true));  // the tx branch is dropped on error
    }
    return {};
  };
  multi.to_json = [](const ProtoMsg& pm) {
    const auto& m = static_cast<const MsgMultiSend&>(pm);
    json outs = json::array();
    for (const auto& o : m.outputs()) {
      auto c = CoinsFromProto(o.coins());
      outs.push_back(json{{"address", o.address()}, {"coins", c.ok() ? CoinsToJson(*c) : json::array()}});
    }
    return json{{"@type", "/depai.bank.v1.MsgMultiSend"}, {"from_address", m.from_address()}, {"outputs", outs}};
  };
  return {send, multi};
}

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return genesisErr("must be an object");
  if (!g.contains("denom_metadata") || !g["denom_metadata"].is_array() || g["denom_metadata"].empty())
    return genesisErr("denom_metadata must list at least one denom");
  for (const auto& jm : g["denom_metadata"]) {
    if (!jm.is_object() || !jm.contains("denom") || !jm["denom"].is_string())
      return genesisErr("denom metadata needs a denom");
    DenomMetadata m;
    m.set_denom(jm["denom"].get<std::string>());
    if (!ValidDenom(m.denom())) return genesisErr("invalid denom '" + m.denom() + "'");
    m.set_display(jm.value("display", m.denom()));
    m.set_exponent(jm.value("exponent", 0u));
    m.set_transferable(jm.value("transferable", true));
    std::string max = jm.contains("max_supply") ? (jm["max_supply"].is_string() ? jm["max_supply"].get<std::string>()
                                                                                : jm["max_supply"].dump())
                                                : std::to_string(Amount::kMax);
    auto a = Amount::Parse(max);
    if (!a.ok()) return genesisErr("max_supply of " + m.denom() + ": " + a.error().message);
    m.set_max_supply(a->str());
    if (keeper_.denom(*ctx.store, m.denom())) return genesisErr("duplicate denom " + m.denom());
    keeper_.set_denom(*ctx.store, m);
  }
  std::map<std::string, Amount> sums;
  if (g.contains("balances")) {
    if (!g["balances"].is_array()) return genesisErr("balances must be an array");
    for (const auto& jb : g["balances"]) {
      if (!jb.is_object() || !jb.contains("address") || !jb["address"].is_string() || !jb.contains("coins"))
        return genesisErr("balance needs address and coins");
      auto addr = crypto::AddressFromBech32(jb["address"].get<std::string>());
      if (!addr.ok()) return genesisErr(addr.error().message);
      auto coins = CoinsFromJson(jb["coins"]);
      if (!coins.ok()) return genesisErr(coins.error().message);
      if (!keeper_.balances(*ctx.store, *addr).empty())
        return genesisErr("duplicate balance for " + jb["address"].get<std::string>());
      keeper_.ensure_account(*ctx.store, *addr);
      for (const auto& c : coins->list()) {
        if (!keeper_.denom(*ctx.store, c.denom)) return genesisErr("balance in unknown denom " + c.denom);
        auto s = sums[c.denom].add(c.amount);
        if (!s.ok()) return genesisErr("supply of " + c.denom + " overflows");
        sums[c.denom] = s.value();
        keeper_.set_balance(*ctx.store, *addr, c.denom, c.amount);
      }
    }
  }
  for (const auto& [d, s] : sums) keeper_.set_supply(*ctx.store, d, s);
  if (g.contains("supply")) {
    auto want = CoinsFromJson(g["supply"]);
    if (!want.ok()) return genesisErr("supply: " + want.error().message);
    if (!(want.value() == keeper_.total_supply(*ctx.store)))
      return genesisErr("declared supply " + want->str() + " does not equal the sum of balances " +
                        keeper_.total_supply(*ctx.store).str());
  }
  return keeper_.check_supply_full(*ctx.store);
}

json Module::export_genesis(const store::KVReader& state) const {
  json metas = json::array();
  for (const auto& m : keeper_.denoms(state))
    metas.push_back(json{{"denom", m.denom()},
                         {"display", m.display()},
                         {"exponent", m.exponent()},
                         {"transferable", m.transferable()},
                         {"max_supply", m.max_supply()}});
  // Balances grouped by address, in address order.
  json bals = json::array();
  std::string cur;
  std::vector<Coin> coins;
  auto flush = [&] {
    if (cur.empty()) return;
    auto c = Coins::From(coins);
    bals.push_back(json{{"address", crypto::AddressToBech32(cur)}, {"coins", CoinsToJson(c.ok() ? *c : Coins())}});
    coins.clear();
  };
  const std::string prefix = "bank/bal/";
  state.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    std::string addr(k.substr(prefix.size(), 20));
    if (addr != cur) {
      flush();
      cur = addr;
    }
    coins.push_back(Coin{std::string(k.substr(prefix.size() + 20)), Amount::Of(GetU64BE(v)).value()});
    return true;
  });
  flush();
  return json{{"denom_metadata", metas}, {"balances", bals}, {"supply", CoinsToJson(keeper_.total_supply(state))}};
}

std::optional<Result<json>> Module::query(const store::KVReader& state, std::string_view path) const {
  constexpr std::string_view kBal = "/bank/balances/";
  if (path == "/bank/supply") return Result<json>(json{{"supply", CoinsToJson(keeper_.total_supply(state))}});
  if (path == "/bank/denoms") return Result<json>(export_genesis(state)["denom_metadata"]);
  if (path.substr(0, kBal.size()) != kBal) return std::nullopt;
  auto addr = crypto::AddressFromBech32(path.substr(kBal.size()));
  if (!addr.ok()) return Result<json>(RootErr(kErrInvalidAddress, addr.error().message));
  return Result<json>(json{{"address", std::string(path.substr(kBal.size()))},
                           {"balances", CoinsToJson(keeper_.balances(state, *addr))}});
}

}  // namespace depai::x::bank
