// x/channel queries (JSON; u64/i64 as decimal strings, bytes as hex):
//   /channel/params           the parameters
//   /channel/channels         every channel, id order
//   /channel/channels/<id>    one channel, with "proven" and "remaining"
#include "x/channel/module.h"
#include "x/types/codec.h"

namespace depai::x::channel {

using nlohmann::json;

std::optional<Result<json>> Module::query(const store::KVReader& s, std::string_view path) const {
  if (path.substr(0, 9) != "/channel/") return std::nullopt;
  auto run = [&]() -> Result<json> {
    if (path == "/channel/params") {
      DEPAI_ASSIGN_OR_RETURN(const Params p, keeper_.params(s));
      return MessageToJson(p);
    }
    if (path == "/channel/channels") {
      json out = json::array();
      DEPAI_TRY(keeper_.for_each_channel(s, [&](const ChannelRec& c) {
        out.push_back(ChannelJson(c.pb));
        return true;
      }));
      return json{{"channels", out}};
    }
    constexpr std::string_view kOne = "/channel/channels/";
    if (path.substr(0, kOne.size()) == kOne) {
      const std::string_view id_s = path.substr(kOne.size());
      if (id_s.empty() || id_s.size() > 19 || id_s.find_first_not_of("0123456789") != std::string_view::npos)
        return RootErr(kErrInvalidRequest, "channel id must be a decimal number, got '" + std::string(id_s) + "'");
      const uint64_t id = std::stoull(std::string(id_s));
      DEPAI_ASSIGN_OR_RETURN(auto c, keeper_.channel(s, id));
      if (!c)
        return ChannelErr(kErrChannelNotFound,
                          "channel " + std::to_string(id) + " not found (never opened, or settled)");
      return ChannelJson(c->pb);
    }
    return RootErr(kErrUnknownRequest, "unknown query path: " + std::string(path));
  };
  return run();
}

}  // namespace depai::x::channel
