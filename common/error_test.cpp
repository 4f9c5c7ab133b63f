#include "common/error.h"

#include <gtest/gtest.h>

namespace fl {
namespace {

result<int> half(int x) {
  if (x % 2 != 0) return Error(errc::invalid_argument, "odd number");
  return x / 2;
}

TEST(Error, CodesCarryTheFaultlineCategory) {
  boost::system::error_code ec = errc::timeout;
  EXPECT_STREQ(ec.category().name(), "faultline");
  EXPECT_EQ(ec.message(), "timed out");
  EXPECT_EQ(ec, make_error_code(errc::timeout));
}

TEST(Error, ResultHoldsValueOrError) {
  auto ok = half(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(bad.error().message, "odd number");
  EXPECT_THROW((void)bad.value(), std::runtime_error);
}

}  // namespace
}  // namespace fl
