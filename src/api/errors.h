// The HTTP API's own error codes (codespace "api"), as listed in doc/api.md. Every error answer is
// JSON {code, codespace, message}; codes are never renumbered. Codes 2..5 are the request-body
// errors of requests.cpp. Header-only constants; thread-safe.
#pragma once

#include <cstdint>

namespace depai::api {

inline constexpr const char* kCodespace = "api";

enum ErrorCode : uint32_t {
  kErrMethodOrInternal = 1,  // 405 wrong method, 500 internal error
  kErrBodyNotJson = 2,       // 400 body is not a JSON object
  kErrMissingTxBytes = 3,    // 400 missing tx_bytes
  kErrBadTxBytes = 4,        // 400 tx_bytes is not base64 or empty
  kErrBadMode = 5,           // 400 mode is not sync or commit
  kErrCommitTimeout = 6,     // 504 commit mode: accepted but not committed in time
  kErrBadHeight = 7,         // 400 bad block height / height parameter
  kErrBlockNotFound = 8,     // 404
  kErrBadTxHash = 9,         // 400
  kErrTxNotFound = 10,       // 404
  kErrNoRoute = 11,          // 404
  kErrBodyTooLarge = 12,     // 413 body over the limit
  kErrListen = 13,           // the server cannot listen (start-up, not an HTTP answer)
  kErrRequestTimeout = 14,   // 408 header or body not received in time
  kErrHeaderTooLarge = 15,   // 431 request header over the limit
  kErrDuplicateParam = 16,   // 400 a query parameter given more than once
};

}  // namespace depai::api
