// API requests: arbitrary bytes never crash ParseTxRequest (accepted requests carry a non-empty tx
// and a valid mode) nor the parameter parsers (an accepted height is within [1, INT64_MAX], an
// accepted tx hash is 64 upper-case hex, every error has a message).
#include <cctype>
#include <cstdlib>
#include <string_view>

#include "api/requests.h"

namespace {
template <typename R>
void ErrorsHaveMessages(const R& r) {
  if (!r.ok() && r.error().message.empty()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = depai::api::ParseTxRequest(in);
  if (r.ok() && r->tx.empty()) std::abort();
  ErrorsHaveMessages(r);

  auto h = depai::api::ParseHeight("h", in);
  if (h.ok() && *h < 1) std::abort();
  ErrorsHaveMessages(h);
  auto hash = depai::api::ParseTxHash(in);
  if (hash.ok()) {
    if (hash->size() != 64) std::abort();
    for (char c : *hash)
      if (!std::isxdigit(static_cast<unsigned char>(c)) || std::islower(static_cast<unsigned char>(c))) std::abort();
  }
  ErrorsHaveMessages(hash);
  ErrorsHaveMessages(depai::api::ParseAddressParam(in));
  ErrorsHaveMessages(depai::api::ParseQuery(in));
  auto ev = depai::api::ParseEventsRequest(in);
  if (ev.ok() && ((ev->from_height && *ev->from_height < 1) || (ev->to_height && *ev->to_height < 1))) std::abort();
  ErrorsHaveMessages(ev);
  return 0;
}
