#include "api/requests.h"

#include "api/errors.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "util/files.h"

namespace depai::api {

Result<TxRequest> ParseTxRequest(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return Error{kCodespace, kErrBodyNotJson, "request body is not valid JSON"};
  if (!j.is_object()) return Error{kCodespace, kErrBodyNotJson, "request body must be a JSON object"};
  if (!j.contains("tx_bytes") || !j["tx_bytes"].is_string())
    return Error{kCodespace, kErrMissingTxBytes, "missing string field 'tx_bytes' (base64 TxRaw)"};
  TxRequest r;
  auto tx = crypto::Base64Decode(j["tx_bytes"].get<std::string>());
  if (!tx) return Error{kCodespace, kErrBadTxBytes, "'tx_bytes' is not valid base64"};
  if (tx->empty()) return Error{kCodespace, kErrBadTxBytes, "'tx_bytes' is empty"};
  r.tx = std::move(*tx);
  if (j.contains("mode")) {
    if (!j["mode"].is_string()) return Error{kCodespace, kErrBadMode, "'mode' must be \"sync\" or \"commit\""};
    auto m = j["mode"].get<std::string>();
    if (m == "sync")
      r.mode = BroadcastMode::kSync;
    else if (m == "commit")
      r.mode = BroadcastMode::kCommit;
    else
      return Error{kCodespace, kErrBadMode, "'mode' must be \"sync\" or \"commit\", got \"" + m + "\""};
  }
  return r;
}

namespace {
// At most this much of a bad value is quoted back in an error message.
std::string Quote(std::string_view v) {
  constexpr size_t kMax = 80;
  std::string out = "'";
  out.append(v.substr(0, kMax));
  out.append(v.size() > kMax ? "...'" : "'");
  return out;
}
}  // namespace

Result<int64_t> ParseHeight(std::string_view name, std::string_view raw, int64_t min) {
  auto bad = [&](const std::string& why) {
    return Error{kCodespace, kErrBadHeight, std::string(name) + " must be " + why + ", got " + Quote(raw)};
  };
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(kMaxHeight);
  bool digits = !raw.empty();
  for (char c : raw) digits = digits && c >= '0' && c <= '9';
  if (!digits) return bad(range);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc() || end != raw.data() + raw.size() || v < min) return bad(range);
  return v;
}

Result<std::string> ParseTxHash(std::string_view raw) {
  std::string h = PctDecode(raw);
  bool ok = h.size() == 64;
  for (auto& c : h) {
    ok = ok && std::isxdigit(static_cast<unsigned char>(c));
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (!ok) return Error{kCodespace, kErrBadTxHash, "tx hash must be 64 hex characters, got " + Quote(PctDecode(raw))};
  return h;
}

Result<std::string> ParseAddressParam(std::string_view raw) {
  std::string a = PctDecode(raw);
  auto addr = crypto::AddressFromBech32(a);
  if (!addr.ok()) return addr.error();
  return a;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  // application/x-www-form-urlencoded: '+' is a space, then %XX escapes.
  auto decode = [](std::string_view s) {
    std::string plus(s);
    for (auto& c : plus)
      if (c == '+') c = ' ';
    return PctDecode(plus);
  };
  std::string_view qs = target.substr(q + 1);
  while (!qs.empty()) {
    auto amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    std::string name = decode(kv.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : decode(kv.substr(eq + 1));
    if (!out.emplace(name, std::move(value)).second)
      return Error{kCodespace, kErrDuplicateParam, "query parameter " + Quote(name) + " given more than once"};
  }
  return out;
}

Result<EventsRequest> ParseEventsRequest(std::string_view target) {
  auto q = ParseQuery(target);
  if (!q.ok()) return q.error();
  EventsRequest r;
  for (const char* name : {"from_height", "to_height"}) {
    auto it = q->find(name);
    if (it == q->end()) continue;
    auto h = ParseHeight(name, it->second);
    if (!h.ok()) return h.error();
    (std::string_view(name) == "from_height" ? r.from_height : r.to_height) = *h;
  }
  if (auto it = q->find("type"); it != q->end()) r.type = it->second;
  return r;
}

}  // namespace depai::api
