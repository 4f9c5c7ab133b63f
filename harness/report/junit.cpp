#include "harness/report/junit.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <map>

namespace fl::report {
namespace {

namespace json = boost::json;

// The evidence in a failure's text: this many characters per detail, and in all.
constexpr size_t kValueLimit = 400;
constexpr size_t kEvidenceLimit = 4000;

// The length of the valid UTF-8 sequence at text[i], or 0 when it is not one.
size_t utf8_length(std::string_view text, size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  // U+FFFE and U+FFFF are not XML characters.
  if (overlong || surrogate || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF) return 0;
  return n;
}

// At most `limit` bytes of `text`, cut at a UTF-8 boundary, with a note of what was left out.
std::string bounded(std::string text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0u) == 0x80u) --cut;
  const size_t dropped = text.size() - cut;
  text.resize(cut);
  return text + fmt::format(" ... ({} more bytes in results.json)", dropped);
}

// JSON on one line, with doubles in their shortest form ("138.95", not Boost.JSON's "1.3895E2").
void compact(std::string& out, const json::value& v) {
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [k, child] : v.as_object()) {
      if (!first) out += ',';
      first = false;
      out += json::serialize(json::string(k));
      out += ':';
      compact(out, child);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v.as_array()) {
      if (!first) out += ',';
      first = false;
      compact(out, e);
    }
    out += ']';
  } else if (v.is_double()) {
    out += std::isfinite(v.as_double()) ? fmt::format("{}", v.as_double()) : "null";
  } else {
    out += json::serialize(v);
  }
}

// A compact, bounded excerpt of a check's details: one "key: value" line per top-level key.
std::string evidence(const std::string& details_json) {
  boost::system::error_code ec;
  auto v = json::parse(details_json, ec);
  if (ec) return bounded(details_json, kEvidenceLimit);
  if (!v.is_object()) return bounded(json::serialize(v), kEvidenceLimit);
  std::string out;
  for (const auto& [k, child] : v.as_object()) {
    std::string value;
    if (child.is_string()) {
      value = child.as_string();
    } else {
      compact(value, child);
    }
    std::string line = fmt::format("{}: {}\n", std::string_view(k), bounded(value, kValueLimit));
    if (out.size() + line.size() > kEvidenceLimit) {
      out += "... (the rest in results.json)\n";
      break;
    }
    out += line;
  }
  return out;
}

std::string seconds(double s) { return fmt::format("{:.3f}", std::isfinite(s) ? s : 0.0); }

// One testcase's names, with " #2", " #3" added to repeats so that every name is unique.
class UniqueNames {
 public:
  std::string operator()(std::string name) {
    const int n = ++seen_[name];
    return n == 1 ? name : fmt::format("{} #{}", name, n);
  }

 private:
  std::map<std::string, int> seen_;
};

std::string escape(std::string_view text, bool attribute);

// Element content: newlines and tabs stay as they are.
std::string content(std::string_view text) { return escape(text, false); }

}  // namespace

std::string xml_escape(std::string_view text) { return escape(text, true); }

namespace {

std::string escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      const size_t n = utf8_length(text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      case '\'':
        out += attribute ? "&apos;" : "'";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        if (u < 0x20) {
          out += fmt::format("\\x{:02x}", u);
        } else {
          out += c;
        }
    }
    ++i;
  }
  return out;
}

}  // namespace

std::string junit_xml(const RunReport& r) {
  const std::string suite = "faultline." + (r.plan.empty() ? std::string("run") : r.plan);
  const bool error = r.verdict == "error";
  int failures = 0, skipped = 0;
  for (const auto& c : r.checks) {
    failures += c.verdict == "invalid";
    skipped += c.verdict == "unknown";
  }
  for (const auto& g : r.gates) failures += !g.passed;
  const size_t tests = r.checks.size() + r.gates.size() + (error ? 1 : 0);
  const int errors = error ? 1 : 0;
  const std::string counts = fmt::format(R"(tests="{}" failures="{}" errors="{}" skipped="{}")",
                                         tests, failures, errors, skipped);
  const std::string time = seconds(r.elapsed_seconds);

  std::string out = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                    "\n";
  out += fmt::format(R"(<testsuites name="faultline" {} time="{}">)"
                     "\n",
                     counts, time);
  out += fmt::format(R"(  <testsuite name="{}" {} time="{}")", xml_escape(suite), counts, time);
  // UTC without the zone designator: the strictest JUnit schemas (Ant's) allow none.
  if (!r.started_at.empty()) {
    std::string_view utc = r.started_at;
    if (utc.ends_with('Z')) utc.remove_suffix(1);
    out += fmt::format(R"( timestamp="{}")", xml_escape(utc));
  }
  out += ">\n    <properties>\n";
  auto property = [&](std::string_view name, const std::string& value) {
    out += fmt::format(R"(      <property name="{}" value="{}"/>)"
                       "\n",
                       name, xml_escape(value));
  };
  property("seed", std::to_string(r.seed));
  property("plan", r.plan);
  property("plan_file", r.plan_file);
  property("replay", replay_command(r));
  property("run_dir", r.run_dir);
  property("started_at", r.started_at);
  property("verdict", r.verdict);
  property("exit_code", std::to_string(r.exit_code));
  property("faultline_version", r.faultline_version);
  out += "    </properties>\n";

  UniqueNames unique;
  auto testcase = [&](const std::string& name, double secs, const std::string& body) {
    out += fmt::format(R"(    <testcase classname="{}" name="{}" time="{}")", xml_escape(suite),
                       xml_escape(unique(name)), seconds(secs));
    if (body.empty()) {
      out += "/>\n";
    } else {
      out += ">\n" + body + "    </testcase>\n";
    }
  };
  // <skipped> has no type in the common schema.
  auto element = [](std::string_view tag, const std::string& message, std::string_view type,
                    const std::string& text) {
    const std::string type_attr = type.empty() ? "" : fmt::format(R"( type="{}")", type);
    return fmt::format(R"(      <{} message="{}"{}>{}</{}>)"
                       "\n",
                       tag, xml_escape(message), type_attr, content(text), tag);
  };
  if (error) {
    testcase("harness", 0,
             element("error", r.error, "error",
                     fmt::format("faultline could not do its job: {}\n(exit {}; run directory {})",
                                 r.error, r.exit_code, r.run_dir)));
  }
  for (const auto& c : r.checks) {
    std::string body;
    const std::string text = c.summary + "\n\n" + evidence(c.details_json);
    if (c.verdict == "invalid") {
      body = element("failure", c.summary, "invalid", text);
    } else if (c.verdict == "unknown") {
      body = element("skipped", c.summary, "", text);
    } else if (c.verdict != "valid") {
      body = element("error", c.summary, "error", text);
    }
    testcase(check_display_name(r, c), c.seconds, body);
  }
  for (const auto& g : r.gates) {
    std::string body;
    if (!g.passed) body = element("failure", g.summary, "gate", g.summary);
    testcase("gate: " + g.text, 0, body);
  }
  out += "    <system-out>" + content(terminal_summary(r, false)) + "</system-out>\n";
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace fl::report
