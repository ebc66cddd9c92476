#include "x/types/query.h"

#include "x/types/errors.h"

namespace depai::x {

std::pair<std::string_view, std::map<std::string, std::string>> SplitQuery(std::string_view path) {
  std::map<std::string, std::string> q;
  auto pos = path.find('?');
  if (pos == std::string_view::npos) return {path, q};
  std::string_view rest = path.substr(pos + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    auto eq = kv.find('=');
    q[std::string(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return {path.substr(0, pos), q};
}

Result<uint64_t> ParseQueryId(std::string_view s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return RootErr(kErrInvalidRequest, "invalid id '" + std::string(s) + "'");
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

}  // namespace depai::x
