#include "common/crc32c.h"

#include <gtest/gtest.h>

#include "common/little_endian.h"

namespace fl::common {
namespace {

// The on-disk formats of the db and the broker depend on these exact values.
TEST(Crc32c, MatchesTheCastagnoliCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, PiecesFedInTurnGiveTheWholeChecksum) {
  Crc32c c;
  c.process_bytes("1234", 4);
  c.process_bytes("56789", 5);
  EXPECT_EQ(c.checksum(), crc32c("123456789"));
}

TEST(LittleEndian, RoundTripsLowByteFirst) {
  std::string out;
  put_u32(out, 0x04030201u);
  put_u64(out, 0x0807060504030201ull);
  ASSERT_EQ(out.size(), 12u);
  EXPECT_EQ(out[0], '\x01');
  EXPECT_EQ(out[4], '\x01');
  EXPECT_EQ(get_u32(out.data()), 0x04030201u);
  EXPECT_EQ(get_u64(out.data() + 4), 0x0807060504030201ull);
}

}  // namespace
}  // namespace fl::common
