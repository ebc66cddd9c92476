#include "cli/node_client.h"

#include "client/http_client.h"

namespace depai::cli {

using nlohmann::json;

std::string ApiErrorMessage(const json& body, int status) {
  if (body.is_object() && body.contains("message"))
    return body["message"].get<std::string>() + " (codespace " + body.value("codespace", "?") + ", code " +
           std::to_string(body.value("code", 0u)) + ")";
  return "HTTP " + std::to_string(status);
}

json GetJsonOrThrow(const GlobalOptions& g, const std::string& path) {
  auto r = client::HttpRequest(g.node, "GET", path);
  if (!r.ok()) throw CommandError{r.error().message};
  json body = json::parse(r->body, nullptr, false);
  if (r->status != 200) throw CommandError{ApiErrorMessage(body, r->status)};
  if (body.is_discarded()) throw CommandError{"node returned invalid JSON for " + path};
  return body;
}

std::pair<int, json> PostJson(const GlobalOptions& g, const std::string& path, const json& body) {
  auto r = client::HttpRequest(g.node, "POST", path, body.dump());
  if (!r.ok()) throw CommandError{r.error().message};
  json out = json::parse(r->body, nullptr, false);
  if (out.is_discarded()) throw CommandError{"node returned invalid JSON (HTTP " + std::to_string(r->status) + ")"};
  return {r->status, out};
}

}  // namespace depai::cli
