#include "harness/cli/sweep_plan.h"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <sstream>
#include <variant>

namespace fl::cli {
namespace {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    const size_t at = text.find(sep, start);
    out.emplace_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

using TomlValue = std::variant<int64_t, double, bool, std::string>;

// A value on the command line, typed like the key it replaces (`existing`, may be null: then
// what it reads as). nullopt with `why` set when it cannot be.
std::optional<TomlValue> typed_value(std::string_view text, const toml::node* existing,
                                     std::string& why) {
  const auto as_int = [&]() -> std::optional<int64_t> {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return v;
  };
  const auto as_float = [&]() -> std::optional<double> {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) {
      return std::nullopt;
    }
    return v;
  };
  const auto as_bool = [&]() -> std::optional<bool> {
    if (text == "true") return true;
    if (text == "false") return false;
    return std::nullopt;
  };
  if (existing) {
    switch (existing->type()) {
      case toml::node_type::integer:
        if (auto v = as_int()) return TomlValue(*v);
        why = "an integer";
        return std::nullopt;
      case toml::node_type::floating_point:
        if (auto v = as_float()) return TomlValue(*v);
        why = "a number";
        return std::nullopt;
      case toml::node_type::boolean:
        if (auto v = as_bool()) return TomlValue(*v);
        why = "true or false";
        return std::nullopt;
      case toml::node_type::string:
        return TomlValue(std::string(text));
      default:
        why = "a plain value, but it holds a table or an array";
        return std::nullopt;
    }
  }
  if (auto v = as_int()) return TomlValue(*v);
  if (auto v = as_float()) return TomlValue(*v);
  if (auto v = as_bool()) return TomlValue(*v);
  return TomlValue(std::string(text));
}

// Sets the dotted `key` of `root` to `value`, creating missing tables on the way. Returns an
// error message, or "" on success.
std::string set_key(toml::table& root, std::string_view key, std::string_view value) {
  const std::vector<std::string> path = split(key, '.');
  for (const auto& part : path) {
    if (part.empty()) return fmt::format("--set: '{}' is not a dotted key", key);
  }
  toml::node* at = &root;
  std::string walked;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    const std::string& part = path[i];
    walked += (walked.empty() ? "" : ".") + part;
    if (auto* table = at->as_table()) {
      if (!table->contains(part)) table->insert(part, toml::table{});
      at = table->get(part);
    } else if (auto* array = at->as_array()) {
      size_t index = 0;
      auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
      if (ec != std::errc() || p != part.data() + part.size() || index >= array->size()) {
        return fmt::format("--set {}: '{}' is an array of {}: name an element by its index", key,
                           walked.substr(0, walked.size() - part.size() - 1), array->size());
      }
      at = array->get(index);
    } else {
      return fmt::format("--set {}: '{}' is a value, not a table", key, walked);
    }
    if (at->is_array() && !std::isdigit(static_cast<unsigned char>(path[i + 1][0]))) {
      return fmt::format("--set {}: '{}' is an array of tables: name an element by its index "
                         "({}.0.{})",
                         key, walked, walked, path[i + 1]);
    }
  }
  auto* table = at->as_table();
  if (!table) return fmt::format("--set {}: '{}' is a value, not a table", key, walked);
  std::string why;
  auto typed = typed_value(value, table->get(path.back()), why);
  if (!typed) return fmt::format("--set {}={}: the plan's '{}' needs {}", key, value, key, why);
  std::visit([&](auto&& v) { table->insert_or_assign(path.back(), v); }, *typed);
  return {};
}

}  // namespace

std::vector<std::string> split_values(std::string_view list) { return split(list, ','); }

result<std::string> with_key_set(std::string_view toml_text, std::string_view key,
                                 std::string_view value) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return Error(errc::parse_error, fmt::format("TOML syntax error: {}", e.description()));
  }
  if (std::string err = set_key(root, key, value); !err.empty()) {
    return Error(errc::invalid_argument, std::move(err));
  }
  std::ostringstream text;
  text << root << "\n";
  return text.str();
}

}  // namespace fl::cli
