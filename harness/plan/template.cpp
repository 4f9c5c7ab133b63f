// Expansion of the {name} templates in node commands and environment values.
#include "harness/plan/plan.h"
#include "harness/plan/suggest.h"

#include <fmt/core.h>

namespace fl::plan {
namespace {

constexpr std::string_view kPortPrefix = "port:";
constexpr std::string_view kAddrPrefix = "addr:";
constexpr std::string_view kHostPrefix = "host:";

// The address the node being expanded uses to reach `target`: address_of when set, else the
// node's own host with port_of. nullopt when there is no such instance.
std::optional<std::pair<std::string, uint16_t>> reach(const TemplateContext& ctx,
                                                      std::string_view target) {
  if (target.empty()) return std::nullopt;
  if (ctx.address_of) return ctx.address_of(target);
  if (!ctx.port_of) return std::nullopt;
  auto port = ctx.port_of(target);
  if (!port) return std::nullopt;
  return std::make_pair(ctx.host, *port);
}

Error unknown_template(std::string_view inner) {
  static constexpr std::string_view kNames[] = {"port", "dir", "id", "replica", "host", "bindir"};
  if (auto near = closest_match(inner, kNames)) {
    return Error(errc::invalid_argument,
                 fmt::format("unknown template '{{{}}}' (did you mean '{{{}}}'?)", inner, *near));
  }
  return Error(errc::invalid_argument,
               fmt::format("unknown template '{{{}}}' (known: {{port}}, {{dir}}, {{id}}, "
                           "{{replica}}, {{host}}, {{bindir}}, {{addr:<instance-id>}}, "
                           "{{host:<instance-id>}}, {{port:<instance-id>}}; write "
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
    } else if (inner.starts_with(kPortPrefix) || inner.starts_with(kAddrPrefix) ||
               inner.starts_with(kHostPrefix)) {
      const auto colon = inner.find(':');
      const auto what = inner.substr(0, colon);
      const auto target = inner.substr(colon + 1);
      auto at = reach(ctx, target);
      if (!at) {
        return Error(errc::not_found,
                     fmt::format("template '{{{}}}' names no instance '{}'", inner, target));
      }
      if (what == "addr") {
        out += fmt::format("{}:{}", at->first, at->second);
      } else if (what == "host") {
        out += at->first;
      } else {
        out += std::to_string(at->second);
      }
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
        for (auto prefix : {kPortPrefix, kAddrPrefix, kHostPrefix}) {
          if (inner.starts_with(prefix)) refs.emplace_back(inner.substr(prefix.size()));
        }
        return {};
      });
  return refs;
}

}  // namespace fl::plan
