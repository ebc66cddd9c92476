#include "abci/framing.h"

namespace depai::abci {

void AppendUvarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::string EncodeFrame(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  AppendUvarint(out, payload.size());
  out.append(payload);
  return out;
}

Result<std::optional<std::string>> FrameDecoder::next() {
  uint64_t len = 0;
  size_t i = pos_;
  int shift = 0;
  for (;; ++i, shift += 7) {
    if (i >= buf_.size()) return std::optional<std::string>();  // length incomplete
    if (shift >= 64 || i - pos_ >= 10) return Error{"abci", 1, "corrupt frame: varint length too long"};
    auto b = static_cast<uint8_t>(buf_[i]);
    len |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (len > max_)
    return Error{"abci", 2, "frame of " + std::to_string(len) + " bytes exceeds the limit of " + std::to_string(max_)};
  size_t start = i + 1;
  if (buf_.size() - start < len) return std::optional<std::string>();  // body incomplete
  std::string frame = buf_.substr(start, len);
  pos_ = start + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 1 << 20) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<std::string>(std::move(frame));
}

}  // namespace depai::abci
