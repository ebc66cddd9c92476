// Transaction decoding: arbitrary bytes must never crash DecodeTx; anything it accepts is in
// canonical form (re-encoding reproduces the input exactly) and has one signer.
#include <cstdlib>
#include <string_view>

#include "x/types/codec.h"
#include "x/types/tx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto tx = depai::x::DecodeTx(in);
  if (!tx.ok()) return 0;
  if (depai::x::DeterministicSerialize(tx->raw) != in) std::abort();
  if (tx->auth_info.signer_infos_size() != 1 || tx->raw.signatures_size() != 1) std::abort();
  (void)depai::x::TxHash(in);
  return 0;
}
