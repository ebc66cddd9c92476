#include "cli/output.h"

#include <iostream>

namespace depai::cli {

using nlohmann::json;

void Print(const GlobalOptions& g, const json& j, const std::function<void(const json&)>& text) {
  if (g.output == "csv") throw CommandError{"--output csv is only for `depai query economy epochs`"};
  if (g.output == "json")
    std::cout << j.dump() << "\n";
  else
    text(j);
}

void Print(const GlobalOptions& g, const json& j, const std::function<void()>& text) {
  if (g.output == "csv") throw CommandError{"--output csv is only for `depai query economy epochs`"};
  if (g.output == "json")
    std::cout << j.dump() << "\n";
  else
    text();
}

uint64_t IdOrThrow(const std::string& s, const char* what) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos || std::stoull(s) == 0)
    throw CommandError{std::string(what) + ": expected a positive integer, got '" + s + "'"};
  return std::stoull(s);
}

std::string EventAttr(const json& answer, const std::string& type, const std::string& key) {
  for (const auto& e : answer.value("events", json::array())) {
    if (e.value("type", "") != type) continue;
    for (const auto& a : e.value("attributes", json::array()))
      if (a.value("key", "") == key) return a.value("value", "");
  }
  return "";
}

}  // namespace depai::cli
