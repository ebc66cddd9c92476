// TEMPORARY (foundation v2 migration): wraps a route written in the old shape (phases on the
// proto message, check on a writable Context) into the skeleton's MsgRoute, so modules can move
// one at a time. Deleted once x/provider and x/market are on the skeleton; new code never uses it.
#pragma once

#include "x/types/module.h"

namespace depai::x {

struct LegacyRoute {
  std::string type_url;
  std::function<std::unique_ptr<ProtoMsg>()> make;
  std::function<Status(const ProtoMsg&)> validate_basic;
  std::function<Result<Bytes>(const ProtoMsg&)> signer;
  std::function<Status(Context&, const ProtoMsg&)> check;
  std::function<Status(Context&, const ProtoMsg&)> apply;
  std::function<nlohmann::json(const ProtoMsg&)> to_json;
};

template <typename M>
LegacyRoute LegacyRouteFor(const char* type_url,
                           nlohmann::json (*json_of)(const google::protobuf::Message&) = &MessageToJson) {
  LegacyRoute r;
  r.type_url = type_url;
  r.make = [] { return std::make_unique<M>(); };
  r.to_json = [type_url, json_of](const ProtoMsg& pm) {
    nlohmann::json j = json_of(pm);
    j["@type"] = type_url;
    return j;
  };
  return r;
}

MsgRoute FromLegacy(LegacyRoute l);

}  // namespace depai::x
