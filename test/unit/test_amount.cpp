#include <gtest/gtest.h>

#include "util/amount.h"

using depai::Amount;
using depai::Coins;

TEST(Amount, AddOverflowIsAnError) {
  auto max = Amount::Of(Amount::kMax).value();
  auto r = max.add(Amount::Of(1).value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, depai::kErrOverflow);
  EXPECT_TRUE(max.add(Amount()).ok());
}

TEST(Amount, SubUnderflowIsAnError) {
  auto r = Amount::Of(5).value().sub(Amount::Of(6).value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, depai::kErrUnderflow);
  EXPECT_EQ(Amount::Of(6).value().sub(Amount::Of(6).value()).value().raw(), 0u);
}

TEST(Amount, OfRejectsAboveMax) {
  EXPECT_FALSE(Amount::Of(Amount::kMax + 1).ok());
  EXPECT_FALSE(Amount::Of(UINT64_MAX).ok());
}

TEST(Amount, ParseDecimal) {
  EXPECT_EQ(Amount::Parse("0").value().raw(), 0u);
  EXPECT_EQ(Amount::Parse("9223372036854775807").value().raw(), Amount::kMax);
  EXPECT_EQ(Amount::Parse("9223372036854775808").error().code, depai::kErrOverflow);
  EXPECT_EQ(Amount::Parse("99999999999999999999").error().code, depai::kErrOverflow);
  EXPECT_FALSE(Amount::Parse("").ok());
  EXPECT_FALSE(Amount::Parse("-1").ok());
  EXPECT_FALSE(Amount::Parse("01").ok());
  EXPECT_FALSE(Amount::Parse("1.5").ok());
  EXPECT_FALSE(Amount::Parse("abc").ok());
}

TEST(Amount, MulDivUses128BitIntermediate) {
  auto a = Amount::Of(Amount::kMax).value();
  EXPECT_EQ(a.mul_div(2, 4).value().raw(), Amount::kMax / 2);
  EXPECT_FALSE(a.mul_div(2, 1).ok());
  EXPECT_FALSE(a.mul_div(1, 0).ok());
}

TEST(Coins, ParseCanonicalises) {
  auto c = Coins::Parse("10udpai,5ucredit").value();
  ASSERT_EQ(c.list().size(), 2u);
  EXPECT_EQ(c.list()[0].denom, "ucredit");
  EXPECT_EQ(c.str(), "5ucredit,10udpai");
  EXPECT_TRUE(Coins::Parse("0udpai").value().empty());
  EXPECT_FALSE(Coins::Parse("5udpai,6udpai").ok());
  EXPECT_FALSE(Coins::Parse("udpai").ok());
  EXPECT_FALSE(Coins::Parse("5U").ok());
  EXPECT_FALSE(Coins::Parse("5").ok());
}

TEST(Coins, AddSubChecked) {
  auto a = Coins::Parse("10udpai").value();
  auto b = Coins::Parse("3udpai,4ucredit").value();
  EXPECT_EQ(a.add(b).value().str(), "4ucredit,13udpai");
  EXPECT_FALSE(a.sub(b).ok());  // no ucredit
  EXPECT_EQ(a.sub(Coins::Parse("10udpai").value()).value().str(), "");
  auto max = Coins::Parse("9223372036854775807udpai").value();
  EXPECT_FALSE(max.add(a).ok());
  EXPECT_TRUE(a.all_gte(Coins::Parse("10udpai").value()));
  EXPECT_FALSE(a.all_gte(Coins::Parse("11udpai").value()));
}
