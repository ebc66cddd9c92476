// ABCI socket framing: each message is a uvarint length followed by that many protobuf bytes
// (CometBFT's protoio delimited format). FrameDecoder accumulates bytes from a stream and yields
// complete frames, handling split reads and several frames in one read. A length above the limit
// or a malformed varint is a protocol error: the connection must be closed. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace depai::abci {

inline constexpr size_t kMaxFrameSize = 64 * 1024 * 1024;  // 64 MiB: above any block CometBFT sends

void AppendUvarint(std::string& out, uint64_t v);
std::string EncodeFrame(std::string_view payload);

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame = kMaxFrameSize) : max_(max_frame) {}
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next complete frame; nullopt when more bytes are needed; an Error on corrupt input.
  Result<std::optional<std::string>> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  size_t max_;
};

}  // namespace depai::abci
