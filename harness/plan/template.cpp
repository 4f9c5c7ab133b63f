// Expansion of the {name} templates in node commands and environment values.
#include "harness/plan/plan.h"
#include "harness/plan/suggest.h"

#include <fmt/core.h>

namespace fl::plan {
namespace {

constexpr std::string_view kPortPrefix = "port:";

Error unknown_template(std::string_view inner) {
  static constexpr std::string_view kNames[] = {"port", "dir", "id", "replica", "host", "bindir"};
  if (auto near = closest_match(inner, kNames)) {
    return Error(errc::invalid_argument,
                 fmt::format("unknown template '{{{}}}' (did you mean '{{{}}}'?)", inner, *near));
  }
  return Error(errc::invalid_argument,
               fmt::format("unknown template '{{{}}}' (known: {{port}}, {{dir}}, {{id}}, "
                           "{{replica}}, {{host}}, {{bindir}}, {{port:<instance-id>}}; write "
                           "'{{{{' and '}}}}' for literal braces)",
                           inner));
}

// Walks `text`, calling on_literal(char) and on_template(inner) in order. Stops at the first
// malformed brace and returns its error.
template <class Literal, class Template>
result<void> scan(std::string_view text, Literal on_literal, Template on_template) {
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '{') {
      if (i + 1 < text.size() && text[i + 1] == '{') {
        on_literal('{');
        i += 2;
        continue;
      }
      const size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        return Error(
            errc::invalid_argument,
            fmt::format("unterminated '{{' in \"{}\" (write '{{{{' for a literal '{{')", text));
      }
      if (auto r = on_template(text.substr(i + 1, close - i - 1)); !r) return r.error();
      i = close + 1;
    } else if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        on_literal('}');
        i += 2;
        continue;
      }
      return Error(errc::invalid_argument,
                   fmt::format("unmatched '}}' in \"{}\" (write '}}}}' for a literal '}}')", text));
    } else {
      on_literal(c);
      ++i;
    }
  }
  return {};
}

}  // namespace

result<std::string> expand_template(std::string_view text, const TemplateContext& ctx) {
  std::string out;
  out.reserve(text.size());
  auto literal = [&](char c) { out.push_back(c); };
  auto expand = [&](std::string_view inner) -> result<void> {
    if (inner == "port") {
      out += std::to_string(ctx.port);
    } else if (inner == "dir") {
      out += ctx.dir.string();
    } else if (inner == "id") {
      out += ctx.id;
    } else if (inner == "replica") {
      out += std::to_string(ctx.replica);
    } else if (inner == "host") {
      out += ctx.host;
    } else if (inner == "bindir") {
      out += ctx.bindir.string();
    } else if (inner.starts_with(kPortPrefix)) {
      const auto target = inner.substr(kPortPrefix.size());
      std::optional<uint16_t> port;
      if (ctx.port_of && !target.empty()) port = ctx.port_of(target);
      if (!port) {
        return Error(errc::not_found,
                     fmt::format("template '{{{}}}' names no instance '{}'", inner, target));
      }
      out += std::to_string(*port);
    } else {
      return unknown_template(inner);
    }
    return {};
  };
  if (auto r = scan(text, literal, expand); !r) return r.error();
  return out;
}

std::vector<std::string> template_port_refs(std::string_view text) {
  std::vector<std::string> refs;
  // Refs found before a malformed brace are still reported; the malformation is
  // expand_template's to report.
  (void)scan(
      text, [](char) {},
      [&](std::string_view inner) -> result<void> {
        if (inner.starts_with(kPortPrefix)) refs.emplace_back(inner.substr(kPortPrefix.size()));
        return {};
      });
  return refs;
}

}  // namespace fl::plan
