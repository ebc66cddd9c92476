// x/provider queries: /provider/params, /provider/providers, /provider/providers/<bech32>.
// A "?..." suffix is accepted and ignored.
#include "crypto/bech32.h"
#include "x/provider/module.h"

namespace depai::x::provider {

using nlohmann::json;

std::optional<Result<json>> Module::query(const store::KVReader& state, std::string_view full_path) const {
  constexpr std::string_view kRoot = "/provider/";
  if (full_path.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  std::string_view path = full_path.substr(0, full_path.find('?'));
  constexpr std::string_view kOne = "/provider/providers/";
  if (path == "/provider/params") {
    auto p = keeper_.params(state);
    if (!p.ok()) return Result<json>(p.error());
    return Result<json>(MessageToJson(*p));
  }
  if (path == "/provider/providers" || path == "/provider/providers/") {
    json list = json::array();
    auto st = keeper_.for_each_provider(state, [&](std::string_view, const Provider& p) {
      list.push_back(MessageToJson(p));
      return true;
    });
    if (!st.ok()) return Result<json>(st.error());
    return Result<json>(json{{"providers", list}});
  }
  if (path.substr(0, kOne.size()) == kOne) {
    std::string who(path.substr(kOne.size()));
    auto addr = crypto::AddressFromBech32(who);
    if (!addr.ok()) return Result<json>(RootErr(kErrInvalidAddress, "provider address: " + addr.error().message));
    auto p = keeper_.get(state, *addr);
    if (!p.ok()) return Result<json>(p.error());
    if (!*p) return Result<json>(ProviderErr(kErrNotFound, "provider " + who + " is not registered"));
    const Provider& prov = **p;
    const int64_t h = committed_height_ ? committed_height_() : prov.last_heartbeat_height();
    json audits = json::array();
    auto st = keeper_.for_each_audit_of(state, *addr, [&](const AuditedAttributes& a) {
      audits.push_back(MessageToJson(a));
      return true;
    });
    if (!st.ok()) return Result<json>(st.error());
    auto uptime = keeper_.uptime_bps(state, prov, h);
    if (!uptime.ok()) return Result<json>(uptime.error());
    return Result<json>(json{
        {"provider", MessageToJson(prov)}, {"audits", audits}, {"uptime_bps", *uptime}, {"height", std::to_string(h)}});
  }
  return Result<json>(RootErr(kErrUnknownRequest, "unknown provider query path: " + std::string(full_path)));
}

}  // namespace depai::x::provider
