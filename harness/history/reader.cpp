// Readers for history.jsonl, Jepsen EDN histories and Jepsen log lines.
#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "harness/history/compact.h"
#include "harness/history/edn.h"
#include "harness/history/history.h"

namespace fl::history {
namespace {

namespace json = boost::json;

Error line_error(std::string_view source, int line, std::string_view msg) {
  return Error(errc::parse_error,
               std::string(source) + ":" + std::to_string(line) + ": " + std::string(msg));
}

// Gives ops without an index their position, and ops without a time their index.
struct Positions {
  int64_t next = 0;
  void fill(Op& op) {
    if (op.index < 0) op.index = next;
    if (op.time < 0) op.time = op.index;
    ++next;
  }
};

result<Value> json_to_value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return Value::null();
    case json::kind::int64:
      return Value::of(v.get_int64());
    case json::kind::uint64:
      if (v.get_uint64() > static_cast<uint64_t>(INT64_MAX)) break;
      return Value::of(static_cast<int64_t>(v.get_uint64()));
    case json::kind::string:
      return Value::of(std::string(v.get_string()));
    case json::kind::bool_:
      return Value::of(std::string(v.get_bool() ? "true" : "false"));
    case json::kind::array: {
      std::vector<Value> list;
      list.reserve(v.get_array().size());
      for (const auto& e : v.get_array()) {
        auto ev = json_to_value(e);
        if (!ev) return ev.error();
        list.push_back(std::move(*ev));
      }
      return Value::of(std::move(list));
    }
    default:
      break;
  }
  return Error(errc::parse_error,
               "'value' must be null, an integer, a string or an array of those");
}

// Parses one JSON object into `op`; returns an error message or "".
std::string json_to_op(const json::object& o, Op& op) {
  op = Op{};
  op.time = -1;
  auto get_int = [&](std::string_view name, int64_t& out) -> std::string {
    auto it = o.find(name);
    if (it == o.end()) return "";
    if (it->value().is_int64() && it->value().get_int64() >= 0) {
      out = it->value().get_int64();
      return "";
    }
    if (it->value().is_uint64() && it->value().get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
      out = static_cast<int64_t>(it->value().get_uint64());
      return "";
    }
    return "'" + std::string(name) + "' must be a non-negative integer";
  };
  if (auto e = get_int("index", op.index); !e.empty()) return e;
  if (auto e = get_int("time", op.time); !e.empty()) return e;

  auto p = o.find("process");
  if (p == o.end()) return "missing 'process'";
  if (p->value().is_int64()) {
    op.process = p->value().get_int64();
  } else if (p->value().is_string() && p->value().get_string() == "nemesis") {
    op.process = kNemesis;
  } else {
    return "'process' must be an integer or \"nemesis\"";
  }

  auto t = o.find("type");
  if (t == o.end()) return "missing 'type'";
  if (!t->value().is_string()) return "'type' must be a string";
  std::string_view ts = t->value().get_string();
  if (ts == "invoke")
    op.type = Type::invoke;
  else if (ts == "ok")
    op.type = Type::ok;
  else if (ts == "fail")
    op.type = Type::fail;
  else if (ts == "info")
    op.type = Type::info;
  else
    return "'type' must be invoke, ok, fail or info, not '" + std::string(ts) + "'";

  auto f = o.find("f");
  if (f == o.end()) return "missing 'f'";
  if (!f->value().is_string()) return "'f' must be a string";
  op.f = std::string(f->value().get_string());

  if (auto k = o.find("key"); k != o.end()) {
    if (k->value().is_string())
      op.key = std::string(k->value().get_string());
    else if (k->value().is_int64())
      op.key = std::to_string(k->value().get_int64());
    else if (!k->value().is_null())
      return "'key' must be a string";
  }
  if (auto v = o.find("value"); v != o.end()) {
    auto val = json_to_value(v->value());
    if (!val) return val.error().message;
    op.value = std::move(*val);
  }
  if (auto e = o.find("error"); e != o.end()) {
    if (e->value().is_string())
      op.error = std::string(e->value().get_string());
    else
      op.error = json::serialize(e->value());
  }
  return "";
}

// Splits `text` into lines; calls fn(line, number, is_last_unterminated).
template <class Fn>
std::optional<Error> for_each_line(std::string_view text, Fn&& fn) {
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++number;
    size_t nl = text.find('\n', pos);
    bool unterminated = nl == std::string_view::npos;
    std::string_view line = text.substr(pos, unterminated ? std::string_view::npos : nl - pos);
    pos = unterminated ? text.size() : nl + 1;
    if (auto e = fn(line, number, unterminated)) return e;
  }
  return std::nullopt;
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Takes the next whitespace-separated token (tabs or runs of spaces) off the front of `s`.
std::string_view next_token(std::string_view& s) {
  s = trim(s);
  size_t end = s.find_first_of(" \t");
  std::string_view tok = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
  return tok;
}

// Parses history.jsonl one line at a time.
class JsonlParser {
 public:
  JsonlParser() : parser_({}, options()) {}
  // Sets `op` and returns true for an op line; false for a blank or ignored line, or an error.
  bool line(std::string_view line, int number, bool unterminated, std::string_view source, Op& op,
            std::optional<Error>& error) {
    if (blank(line)) return false;
    boost::system::error_code ec;
    unsigned char storage[4096];
    json::monotonic_resource mr(storage, sizeof storage);
    parser_.reset(&mr);
    parser_.write(line, ec);
    json::value v = ec ? json::value() : parser_.release();
    if (ec) {
      if (unterminated) return false;  // the truncated last line of a killed run
      error = line_error(source, number, "invalid JSON: " + ec.message());
      return false;
    }
    if (!v.is_object()) {
      error = line_error(source, number, "expected a JSON object");
      return false;
    }
    if (auto e = json_to_op(v.get_object(), op); !e.empty()) {
      error = line_error(source, number, e);
      return false;
    }
    return true;
  }

 private:
  static json::parse_options options() {
    json::parse_options popts;
    popts.max_depth = 64;
    return popts;
  }
  // One parser reused for every line, its storage on the stack and freed line by line.
  json::parser parser_;
};

// Parses the lines of a Jepsen log that carry ops.
bool jepsen_log_line(std::string_view line, int number, bool unterminated,
                     std::string_view source_name, Op& op, std::optional<Error>& error) {
  static constexpr std::string_view kMarker = "jepsen.util - ";
  size_t m = line.find(kMarker);
  if (m == std::string_view::npos) return false;  // other log lines
  std::string_view rest = line.substr(m + kMarker.size());
  auto bad = [&](std::string msg) {
    if (!unterminated) error = line_error(source_name, number, msg);
    return false;
  };
  std::string_view process = next_token(rest);
  std::string_view type = next_token(rest);
  std::string_view f = next_token(rest);
  std::string_view value = trim(rest);
  if (process.empty() || type.empty() || f.empty()) {
    return bad("expected '<process> <type> <f> <value>' after 'jepsen.util - '");
  }
  op = Op{};
  op.time = -1;
  if (process == ":nemesis" || process == "nemesis") {
    op.process = kNemesis;
  } else {
    auto r = std::from_chars(process.data(), process.data() + process.size(), op.process);
    if (r.ec != std::errc() || r.ptr != process.data() + process.size() || op.process < 0) {
      return bad("process '" + std::string(process) + "' is not a non-negative integer");
    }
  }
  if (type == ":invoke")
    op.type = Type::invoke;
  else if (type == ":ok")
    op.type = Type::ok;
  else if (type == ":fail")
    op.type = Type::fail;
  else if (type == ":info")
    op.type = Type::info;
  else
    return bad("type must be :invoke, :ok, :fail or :info, not '" + std::string(type) + "'");
  op.f = std::string(f.starts_with(':') ? f.substr(1) : f);
  if (!value.empty()) {
    edn::Reader vr(value);
    edn::Form form;
    if (!vr.read(form)) return bad("value '" + std::string(value) + "': " + vr.error());
    if (vr.skip_space()) return bad("unexpected text after the value '" + std::string(value) + "'");
    if (form.kind == edn::Form::Kind::map) return bad("a value may not be a map");
    if (form.kind == edn::Form::Kind::keyword && op.type != Type::invoke) {
      // `:timed-out` and friends: the outcome's reason, not a value.
      op.error = form.value.string;
    } else {
      op.value = std::move(form.value);
    }
  }
  return true;
}

// Calls sink(Op&) -> std::optional<Error> for each op of `text`, positions filled.
template <class Sink>
std::optional<Error> each_op(std::string_view text, Format format, std::string_view source,
                             Sink&& sink) {
  Positions pos;
  Op op;
  std::optional<Error> error;
  switch (format) {
    case Format::jsonl: {
      JsonlParser parser;
      return for_each_line(text, [&](std::string_view line, int number, bool unterminated) {
        if (!parser.line(line, number, unterminated, source, op, error)) return error;
        pos.fill(op);
        return sink(op);
      });
    }
    case Format::jepsen_log:
      return for_each_line(text, [&](std::string_view line, int number, bool unterminated) {
        if (!jepsen_log_line(line, number, unterminated, source, op, error)) return error;
        pos.fill(op);
        return sink(op);
      });
    case Format::edn: {
      edn::Reader r(text);
      // Jepsen writes one map per line; maps spread over several lines are accepted too.
      while (r.skip_space()) {
        int line = r.line();
        edn::Form f;
        if (!r.read(f)) {
          if (r.hit_end()) break;  // a truncated last record
          return line_error(source, r.line(), r.error());
        }
        if (f.kind != edn::Form::Kind::map) {
          return line_error(source, line, "expected a map like {:process 0, :type :invoke, ...}");
        }
        op = Op{};
        std::string e;
        if (!edn::form_to_op(f, op, e)) return line_error(source, line, e);
        pos.fill(op);
        if (auto se = sink(op)) return se;
      }
      return std::nullopt;
    }
  }
  return Error(errc::internal, "unknown format");
}

// Reads a file a chunk at a time and calls fn(line, number, unterminated) for each line.
template <class Fn>
std::optional<Error> for_each_file_line(std::FILE* file, const std::string& name, Fn&& fn) {
  constexpr size_t kChunk = 1 << 20;
  std::string buf;  // the unfinished line carried over, then the next chunk
  std::unique_ptr<char[]> chunk(new char[kChunk]);
  int number = 0;
  for (;;) {
    size_t n = std::fread(chunk.get(), 1, kChunk, file);
    if (n == 0) {
      if (std::ferror(file)) return Error(errc::io_error, name + ": read failed");
      break;
    }
    buf.append(chunk.get(), n);
    size_t pos = 0;
    for (size_t nl; (nl = buf.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      if (auto e = fn(std::string_view(buf).substr(pos, nl - pos), ++number, false)) return e;
    }
    buf.erase(0, pos);
  }
  if (!buf.empty()) return fn(std::string_view(buf), ++number, true);
  return std::nullopt;
}

// Like each_op, from a file; JSONL and Jepsen logs are read a chunk at a time, EDN whole.
template <class Sink>
std::optional<Error> each_op_in_file(const std::filesystem::path& path, Format format,
                                     Sink&& sink) {
  std::string name = path.string();
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(name.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return Error(errc::io_error, name + ": cannot open: " + std::strerror(errno));
  if (format == Format::edn) {
    std::string text;
    char chunk[1 << 16];
    for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, file.get())) > 0;) text.append(chunk, n);
    if (std::ferror(file.get())) return Error(errc::io_error, name + ": read failed");
    return each_op(text, format, name, sink);
  }
  Positions pos;
  Op op;
  std::optional<Error> error;
  JsonlParser parser;
  return for_each_file_line(
      file.get(), name,
      [&](std::string_view line, int number, bool unterminated) -> std::optional<Error> {
        bool got = format == Format::jsonl
                       ? parser.line(line, number, unterminated, name, op, error)
                       : jepsen_log_line(line, number, unterminated, name, op, error);
        if (!got) return error;
        pos.fill(op);
        return sink(op);
      });
}

// The number of lines of a file (a bound on its ops), for reserving; 0 if unreadable.
size_t count_lines(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.string().c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return 0;
  size_t lines = 0;
  char chunk[1 << 16];
  for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, file.get())) > 0;) {
    for (const char* p = chunk;
         (p = static_cast<const char*>(std::memchr(p, '\n', n - static_cast<size_t>(p - chunk))));
         ++p)
      ++lines;
  }
  return lines + 1;
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "jsonl") return Format::jsonl;
  if (name == "edn") return Format::edn;
  if (name == "jepsen-log") return Format::jepsen_log;
  return std::nullopt;
}

std::string_view to_string(Format f) {
  switch (f) {
    case Format::jsonl:
      return "jsonl";
    case Format::edn:
      return "edn";
    case Format::jepsen_log:
      return "jepsen-log";
  }
  return "?";
}

Format detect_format(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (int n = 0; n < 50 && std::getline(in, line); ++n) {
    std::string_view l = trim(line);
    if (l.empty()) continue;
    if (l.find("jepsen.util - ") != std::string_view::npos) return Format::jepsen_log;
    if (l.starts_with("{\"") || l.starts_with("{ \"")) return Format::jsonl;
    if (l.starts_with("{:") || l.starts_with("[{:") || l.starts_with("{ :")) return Format::edn;
    break;
  }
  auto ext = path.extension().string();
  if (ext == ".edn") return Format::edn;
  if (ext == ".log") return Format::jepsen_log;
  return Format::jsonl;
}

namespace {

result<std::vector<Op>> read_all(std::string_view text, Format format, std::string_view name) {
  std::vector<Op> ops;
  auto e = each_op(text, format, name, [&](Op& op) -> std::optional<Error> {
    ops.push_back(std::move(op));
    return std::nullopt;
  });
  if (e) return *e;
  return ops;
}

// Prefixes a compaction error with the source's name.
std::optional<Error> add_to(CompactBuilder& b, const Op& op, std::string_view name) {
  auto e = b.add(op);
  if (e) e->message = std::string(name) + ": " + e->message;
  return e;
}

}  // namespace

result<std::vector<Op>> read_jsonl(std::string_view text, std::string_view source_name) {
  return read_all(text, Format::jsonl, source_name);
}

result<std::vector<Op>> read_edn(std::string_view text, std::string_view source_name) {
  return read_all(text, Format::edn, source_name);
}

result<std::vector<Op>> read_jepsen_log(std::string_view text, std::string_view source_name) {
  return read_all(text, Format::jepsen_log, source_name);
}

result<std::vector<Op>> read(const std::filesystem::path& path, Format format) {
  std::vector<Op> ops;
  auto e = each_op_in_file(path, format, [&](Op& op) -> std::optional<Error> {
    ops.push_back(std::move(op));
    return std::nullopt;
  });
  if (e) return *e;
  return ops;
}

result<Compact> read_compact(const std::filesystem::path& path, Format format) {
  CompactBuilder b;
  b.reserve(count_lines(path) / 2 + 1);
  const std::string name = path.string();
  auto e = each_op_in_file(path, format, [&](Op& op) { return add_to(b, op, name); });
  if (e) return *e;
  return std::move(b).finish();
}

result<Compact> read_compact(std::string_view text, Format format, std::string_view source_name) {
  CompactBuilder b;
  auto e = each_op(text, format, source_name, [&](Op& op) { return add_to(b, op, source_name); });
  if (e) return *e;
  return std::move(b).finish();
}

}  // namespace fl::history
