#include <gtest/gtest.h>

#include "abci/framing.h"

using namespace depai::abci;

namespace {
std::vector<std::string> Drain(FrameDecoder& d) {
  std::vector<std::string> out;
  for (;;) {
    auto r = d.next();
    EXPECT_TRUE(r.ok());
    if (!r.ok() || !r.value()) return out;
    out.push_back(*r.value());
  }
}
}  // namespace

TEST(AbciFraming, SplitReadsByteByByte) {
  std::string wire = EncodeFrame("hello") + EncodeFrame(std::string(300, 'x'));
  FrameDecoder d;
  std::vector<std::string> got;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    for (auto& f : Drain(d)) got.push_back(f);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "hello");
  EXPECT_EQ(got[1], std::string(300, 'x'));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(AbciFraming, SeveralMessagesInOneRead) {
  std::string wire;
  for (int i = 0; i < 50; ++i) wire += EncodeFrame("m" + std::to_string(i));
  wire += EncodeFrame("");  // an empty message is a valid frame
  FrameDecoder d;
  d.feed(wire);
  auto got = Drain(d);
  ASSERT_EQ(got.size(), 51u);
  EXPECT_EQ(got[49], "m49");
  EXPECT_EQ(got[50], "");
}

TEST(AbciFraming, LargeMessage) {
  std::string big(5 * 1024 * 1024, 'z');
  FrameDecoder d;
  std::string wire = EncodeFrame(big);
  EXPECT_EQ(wire.size(), big.size() + 4);  // 5 MiB needs a 4-byte varint
  d.feed(wire.substr(0, 1000));
  EXPECT_TRUE(Drain(d).empty());
  d.feed(wire.substr(1000));
  auto got = Drain(d);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].size(), big.size());
}

TEST(AbciFraming, CorruptLengthIsAnError) {
  FrameDecoder d(1024);
  d.feed(std::string(11, '\xff'));  // varint that never ends
  EXPECT_FALSE(d.next().ok());
  FrameDecoder e(1024);
  std::string wire;
  AppendUvarint(wire, 4096);  // over the limit
  e.feed(wire);
  auto r = e.next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exceeds"), std::string::npos);
}

TEST(AbciFraming, UvarintEncoding) {
  std::string s;
  AppendUvarint(s, 300);
  EXPECT_EQ(s, std::string("\xac\x02", 2));
  s.clear();
  AppendUvarint(s, 0);
  EXPECT_EQ(s, std::string("\x00", 1));
}
