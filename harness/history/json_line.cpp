// history.jsonl lines, formatted by hand: this runs once per operation on the load generator's
// threads, so it avoids building a Boost.JSON DOM.
#include "harness/history/json_line.h"

#include <charconv>
#include <cstdio>

namespace fl::history {
namespace {

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace

void append_json_value(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::null:
      out += "null";
      return;
    case Value::Kind::integer:
      append_int(out, v.integer);
      return;
    case Value::Kind::string:
      append_string(out, v.string);
      return;
    case Value::Kind::list:
      out += '[';
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (i) out += ',';
        append_json_value(out, v.list[i]);
      }
      out += ']';
      return;
  }
}

void append_json_body(std::string& out, const Op& op) {
  out += "\"time\":";
  append_int(out, op.time);
  out += ",\"process\":";
  if (op.process == kNemesis) {
    out += "\"nemesis\"";
  } else {
    append_int(out, op.process);
  }
  out += ",\"type\":\"";
  out += to_string(op.type);
  out += "\",\"f\":";
  append_string(out, op.f);
  if (op.key) {
    out += ",\"key\":";
    append_string(out, *op.key);
  }
  out += ",\"value\":";
  append_json_value(out, op.value);
  if (!op.error.empty()) {
    out += ",\"error\":";
    append_string(out, op.error);
  }
  out += '}';
}

std::string to_json_line(const Op& op) {
  std::string out;
  out.reserve(96);
  out += "{\"index\":";
  append_int(out, op.index);
  out += ',';
  append_json_body(out, op);
  return out;
}

std::string to_string(const Value& v) {
  std::string out;
  append_json_value(out, v);
  return out;
}

std::string_view to_string(Type t) {
  switch (t) {
    case Type::invoke:
      return "invoke";
    case Type::ok:
      return "ok";
    case Type::fail:
      return "fail";
    case Type::info:
      return "info";
  }
  return "?";
}

}  // namespace fl::history
