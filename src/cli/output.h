// Printing and argument helpers shared by the command files (src/cli/*_cmd.cpp): --output json or
// text, positive integer ids, event attributes of a tx answer, Result -> CommandError. Stateless;
// thread-safe apart from writing std::cout.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "cli/commands.h"
#include "util/result.h"

namespace depai::cli {

// --output json: `j` on one line; text: `text(j)`.
void Print(const GlobalOptions& g, const nlohmann::json& j, const std::function<void(const nlohmann::json&)>& text);
void Print(const GlobalOptions& g, const nlohmann::json& j, const std::function<void()>& text);

// A positive decimal id (order, lease, ...); else CommandError "<what>: expected a positive integer, got '<s>'".
uint64_t IdOrThrow(const std::string& s, const char* what);

// The value of attribute `key` of the first `type` event in a tx answer's "events", or "".
std::string EventAttr(const nlohmann::json& answer, const std::string& type, const std::string& key);

template <typename T>
T OrThrow(Result<T> r) {
  if (!r.ok()) throw CommandError{r.error().message};
  return std::move(r).value();
}
inline void OrThrow(const Status& s) {
  if (!s.ok()) throw CommandError{s.error().message};
}

}  // namespace depai::cli
