// The module skeleton: the shape every x/<module> has (doc/modules/README.md is the guide).
//
// A message goes through four phases, each given only what it may use (rippled's
// preflight/preclaim/doApply; STYLE rule 5):
//   decode    the Any's bytes -> the proto message (unknown fields rejected), ONCE per tx;
//   validate  stateless: parses addresses, amounts and enums once, into the route's Parsed
//             struct P, which every later phase receives (nothing is parsed twice);
//   check     a read-only View of state (gas-metered; it cannot write, by type). CheckTx runs
//             it; so does FinalizeBlock, right before apply;
//   apply     the tx's writable Context. It does not re-run check: check has just passed on the
//             same state. It calls one keeper method; module code stays thin (cosmos msg_server).
//
// Results and faults (x/types/errors.h): a phase returns a Status. An ordinary Error is the
// tx's result (code/codespace/log). An Error in the reserved fault codespace (Fault(...)) is
// not a result: the pipeline stops and the node halts (a record that does not decode, a broken
// invariant, a storage failure). Block hooks return a Status too; any error there halts.
//
// Modules see each other only through the small keeper interfaces in their expected_keepers.h,
// implemented by adapters in src/app. Only a module's keeper touches its store prefix; queries,
// genesis and other modules go through keeper methods and iterators.
//
// Each module also has a seeded random message generator (random_msg), which the determinism
// test drives (cosmos simulation/operations.go).
// Thread-safety: routes are immutable after construction; phases are called from one thread.
#pragma once

#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "x/types/codec.h"
#include "x/types/context.h"
#include "x/types/errors.h"
#include "x/types/sim.h"

namespace depai::x {

using ProtoMsg = google::protobuf::Message;

// The read-only view check receives: state through a const reader (gas-metered), the header,
// and whether this is CheckTx.
struct View {
  const store::KVReader& state;
  const BlockHeader& header;
  bool check_tx = false;
};

// A decoded, validated message, type-erased. Routes made by MakeRoute hold a Parsed<M, P>.
struct AnyParsed {
  virtual ~AnyParsed() = default;
  virtual const Bytes& signer() const = 0;  // 20-byte address that must sign the tx
};

template <typename M, typename P>
struct Parsed final : AnyParsed {
  M msg;  // decoded first; P may keep pointers into it (the holder never moves)
  P p;
  const Bytes& signer() const override { return p.signer; }
};

// What a message does with its signer's money, for x/wallet's policies (an agent wallet's
// budget, counterparties, resource kinds and price caps). A route that can move its signer's
// funds or commit it to a deal describes the message here; x/wallet refuses a wallet-signed
// message whose route has no `spend` (so a message type nobody described can never drain a
// wallet). The outflow is what the message would take from the signer (a send's amount, an
// escrow deposit, a channel deposit, a burn); x/wallet also measures the wallet's actual balance
// drop over the messages, so an understated outflow is still caught.
struct MsgSpend {
  Coins outflow;
  std::vector<Bytes> counterparties;        // 20-byte addresses paid or dealt with (recipient, payee, provider)
  std::vector<std::string> resource_kinds;  // "cpu", "memory", "gpu", "storage", "bandwidth"
  std::vector<Coin> prices_per_block;       // an order's max price per block, a bid's price per block
  // True when the chain itself picks a counterparty later (an auto-select order): a wallet whose
  // policy lists counterparties refuses it.
  bool counterparty_chosen_later = false;
};

// How the App dispatches one message type.
struct MsgRoute {
  std::string type_url;  // "/depai.bank.v1.MsgSend"
  // Decode + validate. Errors are results (decode error, invalid address, ...).
  std::function<Result<std::unique_ptr<AnyParsed>>(std::string_view value)> decode;
  std::function<Status(const View&, const AnyParsed&)> check;
  std::function<Status(Context&, const AnyParsed&)> apply;
  // The message as JSON (API, explorer). Not on the execution path.
  std::function<nlohmann::json(std::string_view value)> to_json;
  // See MsgSpend; null: the message cannot be signed by an agent wallet.
  std::function<MsgSpend(const AnyParsed&)> spend;
};

// A typed route. P is the route's Parsed struct: it must have a `Bytes signer` member.
//   validate(const M&) -> Result<P>           stateless; parses once
//   check(const View&, const P&) -> Status    read-only
//   apply(Context&, const P&) -> Status       writes; does not re-check
template <typename M, typename P>
struct TypedRoute {
  const char* type_url;
  std::function<Result<P>(const M&)> validate;
  std::function<Status(const View&, const P&)> check;
  std::function<Status(Context&, const P&)> apply;
  nlohmann::json (*json_of)(const google::protobuf::Message&) = &MessageToJson;
  std::function<MsgSpend(const P&)> spend = nullptr;  // see MsgSpend
};

// Decodes `value` into M, rejecting trailing garbage and unknown fields.
bool DecodeStrict(std::string_view value, google::protobuf::Message* m);

template <typename M, typename P>
MsgRoute MakeRoute(TypedRoute<M, P> t) {
  using Holder = Parsed<M, P>;
  MsgRoute r;
  r.type_url = t.type_url;
  const std::string url = t.type_url;
  r.decode = [validate = t.validate, url](std::string_view value) -> Result<std::unique_ptr<AnyParsed>> {
    auto h = std::make_unique<Holder>();
    if (!DecodeStrict(value, &h->msg)) return RootErr(kErrTxDecode, "cannot decode message " + url);
    auto p = validate(h->msg);
    if (!p.ok()) return p.error();
    h->p = std::move(p).value();
    return std::unique_ptr<AnyParsed>(std::move(h));
  };
  r.check = [check = t.check](const View& v, const AnyParsed& a) { return check(v, static_cast<const Holder&>(a).p); };
  r.apply = [apply = t.apply](Context& c, const AnyParsed& a) { return apply(c, static_cast<const Holder&>(a).p); };
  r.to_json = [url, json_of = t.json_of](std::string_view value) {
    M m;
    if (!DecodeStrict(value, &m)) return nlohmann::json{{"@type", url}, {"error", "undecodable"}};
    nlohmann::json j = json_of(m);
    j["@type"] = url;
    return j;
  };
  if (t.spend) r.spend = [spend = t.spend](const AnyParsed& a) { return spend(static_cast<const Holder&>(a).p); };
  return r;
}

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string name() const = 0;
  virtual std::vector<MsgRoute> routes() = 0;

  // Genesis. init_genesis errors are ErrInvalidGenesis results; export faults when a stored
  // record does not decode.
  virtual Status init_genesis(Context& ctx, const nlohmann::json& genesis) = 0;
  virtual Result<nlohmann::json> export_genesis(const store::KVReader& state) const = 0;

  // Block hooks, on the block's branch with an infinite gas meter. Any error halts the node.
  virtual Status begin_block(Context& ctx) { return {}; }
  virtual Status end_block(Context& ctx) { return {}; }

  // Full invariant check over a state (start-up, genesis, tests). An error halts the node.
  virtual Status check_invariants(const store::KVReader& state) const { return {}; }
  // Cheap per-block form: given the block's pending writes over the committed state, checks that
  // the invariants still hold assuming they held before. An error halts the node.
  virtual Status check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const {
    return {};
  }

  // Answers "/<module>/..." query paths with JSON; nullopt when the path is not this module's.
  virtual std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const {
    return std::nullopt;
  }

  // Seeded random message generator for the determinism test: one message this module handles,
  // signed by sim.accounts[signer], built from the PRNG and the current state. Some messages are
  // meant to fail (bad amounts, unknown ids); that is part of what the test covers. nullopt
  // when the module has nothing to generate.
  virtual std::optional<SimMsg> random_msg(SimState& sim) const { return std::nullopt; }
};

}  // namespace depai::x
