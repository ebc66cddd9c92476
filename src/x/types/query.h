// Helpers shared by the modules' query handlers (query.cpp): the "path?k=v&k2=v2" split and
// decimal ids. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.h"

namespace depai::x {

// "path?k=v&k2=v2" -> ("path", {k: v, k2: v2}); a key without '=' maps to "".
std::pair<std::string_view, std::map<std::string, std::string>> SplitQuery(std::string_view path);
// A decimal u64 of 1..19 digits; anything else is ErrInvalidRequest naming the text.
Result<uint64_t> ParseQueryId(std::string_view s);

}  // namespace depai::x
