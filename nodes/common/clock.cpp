#include "nodes/common/clock.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <string_view>

#include "common/resp/resp.h"
#include "nodes/common/command_table.h"

namespace fl::nodes {
namespace {

class SystemRealTime final : public RealTime {
 public:
  int64_t steady_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t wall_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

bool parse_offset(std::string_view s, int64_t& out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return false;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_rate(std::string_view s, double& out) {
  if (s.empty()) return false;
  const auto [end, ec] =
      std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::general);
  return ec == std::errc() && end == s.data() + s.size();
}

void clock_command(CommandContext& ctx, SkewedClock& clock) {
  const std::string_view sub = ctx.argv[1];
  const size_t argc = ctx.argv.size();
  const auto wrong_args = [&] {
    ctx.out.error(fmt::format("ERR wrong number of arguments for 'clock|{}' command",
                              sub.substr(0, 16)));
  };
  if (iequals(sub, "get")) {
    if (argc != 2) return wrong_args();
    const ClockSkew s = clock.skew();
    ctx.out.array_header(3);
    ctx.out.integer(s.offset.count());
    ctx.out.bulk(fmt::format("{}", s.rate));
    ctx.out.integer(clock.wall_ms());
    return;
  }
  if (iequals(sub, "set")) {
    if (argc != 4) return wrong_args();
    int64_t offset_ms = 0;
    double rate = 0;
    if (!parse_offset(ctx.argv[2], offset_ms)) {
      return ctx.out.error("ERR CLOCK SET: the offset is not an integer (milliseconds)");
    }
    if (!parse_rate(ctx.argv[3], rate)) {
      return ctx.out.error("ERR CLOCK SET: the rate is not a number");
    }
    auto skew = make_clock_skew(offset_ms, rate);
    if (!skew) return ctx.out.error("ERR CLOCK SET: " + skew.error().message);
    clock.set(*skew);
    return ctx.out.simple("OK");
  }
  if (iequals(sub, "reset")) {
    if (argc != 2) return wrong_args();
    clock.reset();
    return ctx.out.simple("OK");
  }
  ctx.out.error(fmt::format("ERR unknown subcommand '{}'. Try CLOCK GET, SET, RESET.",
                            sub.substr(0, 64)));
}

}  // namespace

result<ClockSkew> make_clock_skew(int64_t offset_ms, double rate) {
  if (!std::isfinite(rate) || rate < kMinClockRate || rate > kMaxClockRate) {
    return Error(errc::invalid_argument, fmt::format("rate {} is outside [{}, {}]", rate,
                                                     kMinClockRate, kMaxClockRate));
  }
  if (offset_ms > kMaxClockOffset.count() || offset_ms < -kMaxClockOffset.count()) {
    return Error(errc::invalid_argument,
                 fmt::format("offset {} ms is beyond +-{} ms (10 years)", offset_ms,
                             kMaxClockOffset.count()));
  }
  return ClockSkew{std::chrono::milliseconds(offset_ms), rate};
}

const RealTime& system_real_time() {
  static const SystemRealTime kReal;
  return kReal;
}

SkewedClock::SkewedClock(const RealTime& real) : real_(real) {}

void SkewedClock::set(ClockSkew skew) {
  std::lock_guard lock(write_mu_);
  const uint64_t s = seq_.load(std::memory_order_relaxed);
  seq_.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  offset_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(skew.offset).count(),
                   std::memory_order_relaxed);
  rate_.store(skew.rate, std::memory_order_relaxed);
  steady_anchor_.store(real_.steady_ns(), std::memory_order_relaxed);
  wall_anchor_.store(real_.wall_ns(), std::memory_order_relaxed);
  skewed_.store(skew != ClockSkew{}, std::memory_order_relaxed);
  seq_.store(s + 2, std::memory_order_release);
}

SkewedClock::State SkewedClock::load() const {
  for (;;) {
    const uint64_t before = seq_.load(std::memory_order_acquire);
    if (before & 1) continue;  // a writer is halfway through
    State st{offset_ns_.load(std::memory_order_relaxed), rate_.load(std::memory_order_relaxed),
             steady_anchor_.load(std::memory_order_relaxed),
             wall_anchor_.load(std::memory_order_relaxed)};
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == before) return st;
  }
}

ClockSkew SkewedClock::skew() const {
  const State st = load();
  return ClockSkew{std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::nanoseconds(st.offset_ns)),
                   st.rate};
}

int64_t SkewedClock::skewed(int64_t real, int64_t anchor, const State& s) {
  if (s.rate == 1.0) return real + s.offset_ns;
  const double since = static_cast<double>(real - anchor) * s.rate;
  return anchor + s.offset_ns + static_cast<int64_t>(std::llround(since));
}

int64_t SkewedClock::steady_ns() const {
  if (!skewed_.load(std::memory_order_acquire)) return real_.steady_ns();
  const State st = load();
  return skewed(real_.steady_ns(), st.steady_anchor, st);
}

int64_t SkewedClock::wall_ns() const {
  if (!skewed_.load(std::memory_order_acquire)) return real_.wall_ns();
  const State st = load();
  return skewed(real_.wall_ns(), st.wall_anchor, st);
}

SkewedClock& node_clock() {
  static SkewedClock clock;
  return clock;
}

void add_clock_command(CommandTable& table, SkewedClock& clock) {
  table.add("clock", -2, [&clock](CommandContext& ctx) { clock_command(ctx, clock); });
}

}  // namespace fl::nodes
