#include "chaos/resp_clock_control.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace fl::chaos {
namespace {

using namespace std::chrono_literals;
using SysClock = std::chrono::system_clock;

TEST(FaketimeSetting, AnOffsetAlone) {
  const auto now = SysClock::now();
  EXPECT_EQ(faketime_setting(2500ms, 1.0, now, now - 1h), "+2.500000 x1");
  EXPECT_EQ(faketime_setting(-1s, 1.0, now, now), "-1.000000 x1");
  EXPECT_EQ(faketime_setting(0ms, 1.0, now, now), "+0.000000 x1");
}

// libfaketime reads offset + (t - start) * rate past the process start; the setting must equal
// real time + offset at `now` and advance `rate` times real time from then on.
TEST(FaketimeSetting, ARateIsFoldedIntoTheOffsetFromTheProcessStart) {
  const auto start = SysClock::time_point(1000s);
  const auto now = start + 10s;
  const std::string s = faketime_setting(2s, 1.5, now, start);
  EXPECT_EQ(s, "-3.000000 x1.5");  // 2 + 10 * (1 - 1.5)
  const double offset = std::stod(s);
  const auto fake_at = [&](SysClock::time_point t) {
    return std::chrono::duration<double>(start.time_since_epoch()).count() + offset +
           std::chrono::duration<double>(t - start).count() * 1.5;
  };
  const auto real = [](SysClock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  EXPECT_DOUBLE_EQ(fake_at(now), real(now) + 2.0);
  EXPECT_DOUBLE_EQ(fake_at(now + 4s) - fake_at(now), 6.0);
  EXPECT_EQ(faketime_setting(0s, 0.5, now, start), "+5.000000 x0.5");
}

TEST(ProcessStartTime, OfThisProcessIsInThePast) {
  auto started = process_start_wall_time(::getpid());
  ASSERT_TRUE(started) << started.error().message;
  const auto now = SysClock::now();
  EXPECT_LE(*started, now);
  EXPECT_GT(*started, now - 24h);  // the test binary has not run for a day
}

TEST(ProcessStartTime, OfNoProcessIsAnError) {
  EXPECT_FALSE(process_start_wall_time(0));
  EXPECT_FALSE(process_start_wall_time(1 << 30));
}

TEST(RespClockControl, AnUnreachableNodeFailsWithinTheTimeout) {
  RespClockControl c([](std::string_view) -> result<supervisor::Endpoint> {
    return supervisor::Endpoint{"127.0.0.1", 1};  // nothing listens on port 1
  });
  auto r = c.set("db", 1s, 1.0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("db"), std::string::npos) << r.error().message;
  RespClockControl unknown([](std::string_view id) -> result<supervisor::Endpoint> {
    return Error(errc::not_found, std::string(id));
  });
  EXPECT_FALSE(unknown.reset("nope"));
}

}  // namespace
}  // namespace fl::chaos
