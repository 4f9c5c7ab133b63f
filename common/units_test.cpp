#include "common/units.h"

#include <gtest/gtest.h>

namespace fl {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration("2m"), 120s);
  EXPECT_EQ(*parse_duration("1h"), 3600s);
  EXPECT_EQ(*parse_duration("10us"), 10us);
  EXPECT_EQ(*parse_duration("10\xC2\xB5s"), 10us);
  EXPECT_EQ(*parse_duration("7ns"), 7ns);
  EXPECT_EQ(*parse_duration("1m30s"), 90s);
  EXPECT_EQ(*parse_duration("0"), 0s);
  EXPECT_EQ(*parse_duration(" 3s "), 3s);
  EXPECT_EQ(*parse_duration(".5s"), 500ms);
}

TEST(ParseDuration, RejectsWithAClearMessage) {
  for (const char* bad : {"", "5", "5 parsecs", "-1s", "s", "1.5", "ms5", "1s2"}) {
    auto r = parse_duration(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
    EXPECT_NE(r.error().message.find("invalid duration"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(parse_duration("5 parsecs").error().message.find("unknown unit ' parsecs'"),
            std::string::npos);
  EXPECT_NE(parse_duration("5").error().message.find("a unit is missing"), std::string::npos);
}

TEST(ParseSize, AcceptsBinaryAndDecimalUnits) {
  EXPECT_EQ(*parse_size("64MiB"), 64ull << 20);
  EXPECT_EQ(*parse_size("1GB"), 1'000'000'000ull);
  EXPECT_EQ(*parse_size("512"), 512ull);
  EXPECT_EQ(*parse_size("512B"), 512ull);
  EXPECT_EQ(*parse_size("1.5KiB"), 1536ull);
  EXPECT_EQ(*parse_size("2 KB"), 2000ull);
  EXPECT_EQ(*parse_size("1TiB"), 1ull << 40);
}

TEST(ParseSize, RejectsWithAClearMessage) {
  for (const char* bad : {"", "MiB", "-1KB", "1.5B", "12 bananas", "99999999999TB"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("invalid size"), std::string::npos) << r.error().message;
  }
}

TEST(FormatUnits, RoundTrips) {
  for (const char* d : {"250ms", "1.5s", "2m", "1h30m", "10us", "7ns", "3s"}) {
    EXPECT_EQ(format_duration(*parse_duration(d)), d);
  }
  EXPECT_EQ(format_duration_brief(Duration(70158)), "70.2us");
  EXPECT_EQ(format_duration_brief(Duration(4'868'040)), "4.87ms");
  EXPECT_EQ(format_duration_brief(Duration(4'999'550'000)), "5s");
  EXPECT_EQ(format_duration_brief(Duration(12'109'100)), "12.1ms");
  EXPECT_EQ(format_duration_brief(Duration(850)), "850ns");
  EXPECT_EQ(format_duration_brief(Duration(123'456'789'000)), "123s");
  EXPECT_EQ(format_size(64ull << 20), "64MiB");
  EXPECT_EQ(format_size(1'000'000'000ull), "1GB");
  EXPECT_EQ(format_size(1234), "1.2KiB");
  EXPECT_EQ(format_size(12), "12B");
}

}  // namespace
}  // namespace fl
