// x/oracle's decoders of untrusted proposer and validator bytes: the vote-extension injection a
// proposer puts first in a block (Keeper::DecodeInjection) and one validator's vote extension
// (Keeper::decode_extension). Neither may crash on any input; an injection that decodes is in
// canonical encoding, so it re-encodes to the same bytes; an extension that decodes re-encodes to
// the same bytes and its price is within the params' bounds.
// The first input byte picks the decoder: 0x00 the injection, anything else the extension.
#include <cstdlib>
#include <string>

#include "store/mem_store.h"
#include "x/oracle/keeper.h"

using namespace depai;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] == 0x00) {
    (void)x::oracle::Keeper::IsInjection(in);
    auto v = x::oracle::Keeper::DecodeInjection(in);
    if (v.ok() && x::oracle::Keeper::EncodeInjection(v.value()) != in) std::abort();
    return 0;
  }
  static store::MemStore state;  // no stored params: the defaults apply
  static const x::oracle::Keeper keeper{};
  auto e = keeper.decode_extension(state, in);
  if (e.ok()) {
    const auto& price = e.value();
    if (x::oracle::Keeper::EncodeExtension(price) != in) std::abort();
    const auto params = keeper.params(state);
    if (!params.ok() || (price && (*price == 0 || *price > params->max_price_e9()))) std::abort();
  }
  return 0;
}
