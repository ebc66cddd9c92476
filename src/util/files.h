// Small file and URL helpers shared by the daemons and servers (not consensus code).
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace depai {

// Writes `data` to `path` atomically: a temp file beside it (mode 0600), fsync, rename. A crash
// leaves either the old file or the new one, never a partial one. Error codespace "io".
Status WriteFileAtomic(const std::string& path, std::string_view data);

// The value of `key` in the query string of an HTTP target ("/x?a=1&b=2"): "" when absent, "1"
// when present without '=' (a flag: "?follow"). Not percent-decoded (see PctDecode).
std::string QueryParam(std::string_view target, std::string_view key);
// "%2B" -> "+"; malformed escapes are kept as they are.
std::string PctDecode(std::string_view s);

}  // namespace depai
