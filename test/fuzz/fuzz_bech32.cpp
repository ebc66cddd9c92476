// bech32 decoding: never crashes; whatever decodes re-encodes to the lower-cased input.
#include <cctype>
#include <cstdlib>
#include <string>

#include "crypto/bech32.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto d = depai::crypto::Bech32Decode(in);
  if (d.ok()) {
    std::string lower = in;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (depai::crypto::Bech32Encode(d->hrp, d->data5) != lower) std::abort();
  }
  auto a = depai::crypto::AddressFromBech32(in);
  if (a.ok() && a->size() != 20) std::abort();
  return 0;
}
