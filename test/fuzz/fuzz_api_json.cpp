// API request bodies: arbitrary bytes never crash ParseTxRequest; accepted requests carry a
// non-empty tx and a valid mode.
#include <cstdlib>
#include <string_view>

#include "api/requests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = depai::api::ParseTxRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.ok() && r->tx.empty()) std::abort();
  if (!r.ok() && r.error().message.empty()) std::abort();
  return 0;
}
