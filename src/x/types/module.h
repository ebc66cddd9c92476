// Module: the interface every x/<module> implements, and MsgRoute, how the app dispatches a
// message. Each message goes through three phases (STYLE rule 5):
//   validate_basic  stateless checks on the decoded message;
//   check           checks against a read-only view of state (CheckTx runs it too);
//   apply           executes on the tx's branch and emits events.
// Modules see each other only through the small keeper interfaces in expected_keepers.h.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "x/types/codec.h"
#include "x/types/context.h"

namespace depai::x {

using ProtoMsg = google::protobuf::Message;

struct MsgRoute {
  std::string type_url;                             // "/depai.bank.v1.MsgSend"
  std::function<std::unique_ptr<ProtoMsg>()> make;  // empty message to parse into
  std::function<Status(const ProtoMsg&)> validate_basic;
  std::function<Result<Bytes>(const ProtoMsg&)> signer;  // 20-byte address that must sign
  std::function<Status(Context&, const ProtoMsg&)> check;
  std::function<Status(Context&, const ProtoMsg&)> apply;
  std::function<nlohmann::json(const ProtoMsg&)> to_json;  // for the API and explorer
};

// A route for message type M with `make` and a `to_json` that prints `json_of(msg)` plus its
// "@type"; the caller fills in the three phases and the signer.
template <typename M>
MsgRoute RouteFor(const char* type_url, nlohmann::json (*json_of)(const google::protobuf::Message&) = &MessageToJson) {
  MsgRoute r;
  r.type_url = type_url;
  r.make = [] { return std::make_unique<M>(); };
  r.to_json = [type_url, json_of](const ProtoMsg& pm) {
    nlohmann::json j = json_of(pm);
    j["@type"] = type_url;
    return j;
  };
  return r;
}

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string name() const = 0;
  virtual std::vector<MsgRoute> routes() = 0;
  virtual Status init_genesis(Context& ctx, const nlohmann::json& genesis) = 0;
  virtual nlohmann::json export_genesis(const store::KVReader& state) const = 0;
  // Runs after every block on the committed-to-be state; an error halts the node.
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
  virtual void end_block(Context& ctx) {}
};

}  // namespace depai::x
