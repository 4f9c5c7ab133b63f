#include "common/units.h"

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <optional>

namespace fl {
namespace {

struct Unit {
  std::string_view name;
  long double factor;
};

constexpr Unit kDurationUnits[] = {
    {"ns", 1.0L}, {"us", 1e3L}, {"\xC2\xB5s", 1e3L}, {"ms", 1e6L},
    {"s", 1e9L},  {"m", 60e9L}, {"h", 3600e9L},
};

constexpr Unit kSizeUnits[] = {
    {"B", 1.0L},
    {"KB", 1e3L},
    {"MB", 1e6L},
    {"GB", 1e9L},
    {"TB", 1e12L},
    {"KiB", 1024.0L},
    {"MiB", 1024.0L * 1024},
    {"GiB", 1024.0L * 1024 * 1024},
    {"TiB", 1024.0L * 1024 * 1024 * 1024},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads "12" or "1.5" at the front of `s`; advances it. Returns nullopt if no digits.
std::optional<long double> take_number(std::string_view& s) {
  size_t i = 0;
  long double whole = 0;
  bool any = false;
  while (i < s.size() && is_digit(s[i])) {
    whole = whole * 10 + (s[i] - '0');
    ++i;
    any = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    long double scale = 0.1L;
    while (i < s.size() && is_digit(s[i])) {
      whole += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  s.remove_prefix(i);
  return whole;
}

std::string_view take_unit(std::string_view& s) {
  size_t i = 0;
  while (i < s.size() && !is_digit(s[i]) && s[i] != '.') ++i;
  auto unit = s.substr(0, i);
  s.remove_prefix(i);
  return unit;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

result<Duration> parse_duration(std::string_view text) {
  const std::string_view original = text;
  auto bad = [&](std::string_view why) {
    return Error(errc::invalid_argument,
                 fmt::format("invalid duration \"{}\": {} (examples: \"250ms\", \"1.5s\", "
                             "\"2m\", \"1h30m\"; units ns, us, ms, s, m, h)",
                             original, why));
  };
  text = trim(text);
  if (text.empty()) return bad("it is empty");
  if (text.front() == '-') return bad("it is negative");
  long double total = 0;
  while (!text.empty()) {
    auto number = take_number(text);
    if (!number) return bad("expected a number");
    auto unit = take_unit(text);
    if (unit.empty()) {
      if (*number == 0 && text.empty() && total == 0) return Duration{0};
      return bad("a unit is missing");
    }
    const Unit* found = nullptr;
    for (const auto& u : kDurationUnits) {
      if (u.name == unit) found = &u;
    }
    if (!found) return bad(fmt::format("unknown unit '{}'", unit));
    total += *number * found->factor;
  }
  if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
    return bad("it is too long");
  }
  return Duration{static_cast<int64_t>(std::llround(total))};
}

result<uint64_t> parse_size(std::string_view text) {
  const std::string_view original = text;
  auto bad = [&](std::string_view why) {
    return Error(errc::invalid_argument,
                 fmt::format("invalid size \"{}\": {} (examples: \"512\", \"64KiB\", \"64MiB\", "
                             "\"1GB\"; units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)",
                             original, why));
  };
  text = trim(text);
  if (text.empty()) return bad("it is empty");
  if (text.front() == '-') return bad("it is negative");
  auto number = take_number(text);
  if (!number) return bad("expected a number");
  auto unit = trim(text);
  long double factor = 1;
  if (!unit.empty()) {
    const Unit* found = nullptr;
    for (const auto& u : kSizeUnits) {
      if (u.name == unit) found = &u;
    }
    if (!found) return bad(fmt::format("unknown unit '{}'", unit));
    factor = found->factor;
  }
  long double bytes = *number * factor;
  if (bytes >= 18446744073709551615.0L) return bad("it is too large");
  if (bytes != std::floor(bytes)) return bad("it is not a whole number of bytes");
  return static_cast<uint64_t>(bytes);
}

std::string format_duration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t v = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  constexpr uint64_t kS = 1'000'000'000ULL, kMin = 60 * kS, kH = 60 * kMin;
  if (v % kS == 0 && v >= kMin) {
    std::string out = sign;
    if (v >= kH) out += fmt::format("{}h", v / kH), v %= kH;
    if (v >= kMin) out += fmt::format("{}m", v / kMin), v %= kMin;
    if (v > 0) out += fmt::format("{}s", v / kS);
    return out;
  }
  auto fmt_unit = [&](uint64_t unit, std::string_view name) {
    if (v % unit == 0) return fmt::format("{}{}{}", sign, v / unit, name);
    return fmt::format("{}{:g}{}", sign, static_cast<double>(v) / static_cast<double>(unit), name);
  };
  if (v >= kS) return fmt_unit(kS, "s");
  if (v >= 1'000'000) return fmt_unit(1'000'000, "ms");
  if (v >= 1'000) return fmt_unit(1'000, "us");
  return fmt::format("{}{}ns", sign, v);
}

std::string format_duration_brief(Duration d) {
  const double ns = static_cast<double>(d.count());
  const double mag = ns < 0 ? -ns : ns;
  auto three = [](double v, std::string_view unit) {
    const double a = v < 0 ? -v : v;
    const int decimals = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    std::string s = fmt::format("{:.{}f}", v, decimals);
    // "4.00ms" reads better as "4ms".
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s + std::string(unit);
  };
  if (mag < 1e3) return fmt::format("{}ns", d.count());
  if (mag < 1e6) return three(ns / 1e3, "us");
  if (mag < 1e9) return three(ns / 1e6, "ms");
  return three(ns / 1e9, "s");
}

std::string format_size(uint64_t bytes) {
  constexpr std::pair<uint64_t, std::string_view> kUnits[] = {
      {1ULL << 40, "TiB"}, {1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}};
  for (auto [unit, name] : kUnits) {
    if (bytes >= unit) {
      if (bytes % unit == 0) return fmt::format("{}{}", bytes / unit, name);
      if (bytes % 1'000'000'000 == 0) return fmt::format("{}GB", bytes / 1'000'000'000);
      if (bytes % 1'000'000 == 0) return fmt::format("{}MB", bytes / 1'000'000);
      return fmt::format("{:.1f}{}", static_cast<double>(bytes) / static_cast<double>(unit), name);
    }
  }
  return fmt::format("{}B", bytes);
}

}  // namespace fl
