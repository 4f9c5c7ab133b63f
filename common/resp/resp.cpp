#include "common/resp/resp.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace fl::resp {
namespace {

// Buffer sizing: the first allocation, and the size above which an emptied buffer is released
// (a single huge value must not pin its memory for the rest of the connection).
constexpr size_t kMinCapacity = 16 * 1024;
constexpr size_t kShrinkAbove = 4 * 1024 * 1024;
// Lengths are accumulated digit by digit and rejected as soon as they pass the limit; capping
// the limit here keeps that accumulation from overflowing whatever Limits says.
constexpr uint64_t kMaxLength = uint64_t{1} << 59;

enum class Scan : uint8_t { ok, need_more, bad };

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Parses a length header body "<digits>\r\n" (or "-1\r\n" when allow_null) starting at p. On ok,
// p points past the LF. Decides as early as the bytes allow: a prefix that can no longer become
// valid is bad at once, so the outcome never depends on how the input was chunked.
Scan scan_length(const char*& p, const char* end, uint64_t limit, bool allow_null, int64_t& out) {
  const char* q = p;
  if (q == end) return Scan::need_more;
  if (*q == '-') {
    if (!allow_null) return Scan::bad;
    if (++q == end) return Scan::need_more;
    if (*q != '1') return Scan::bad;
    out = -1;
    ++q;
  } else {
    if (!is_digit(*q)) return Scan::bad;
    uint64_t v = 0;
    if (*q == '0') {
      ++q;  // no leading zeros: "0" must be followed by CR
    } else {
      do {
        v = v * 10 + static_cast<uint64_t>(*q - '0');
        if (v > limit) return Scan::bad;
        ++q;
      } while (q != end && is_digit(*q));
    }
    out = static_cast<int64_t>(v);
  }
  if (q == end) return Scan::need_more;
  if (*q != '\r') return Scan::bad;
  if (++q == end) return Scan::need_more;
  if (*q != '\n') return Scan::bad;
  p = q + 1;
  return Scan::ok;
}

// Strict signed 64-bit decimal, as Redis's string2ll: no '+', no leading zeros, no "-0".
bool parse_int64(std::string_view s, int64_t& out) {
  size_t i = 0;
  const bool neg = !s.empty() && s[0] == '-';
  if (neg) ++i;
  if (i == s.size()) return false;
  if (s[i] == '0') {
    if (neg || s.size() != i + 1) return false;
    out = 0;
    return true;
  }
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!is_digit(s[i])) return false;
    const auto d = static_cast<uint64_t>(s[i] - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

// Whitespace separating inline arguments (isspace in the C locale, plus NUL).
bool is_inline_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits an inline command line the way redis-cli and Redis's sdssplitargs do, unescaping in
// place: an argument's decoded bytes are never longer than its source, so each argument is
// written over its own source and argv can point into the buffer. Returns false on unbalanced
// quotes (including a closing quote not followed by a space or the end of the line).
bool split_inline(char* p, char* end, std::vector<std::string_view>& argv) {
  for (;;) {
    while (p != end && is_inline_space(*p)) ++p;
    if (p == end) return true;
    char* const start = p;
    char* out = p;
    bool in_double = false;
    bool in_single = false;
    for (bool done = false; !done;) {
      if (in_double) {
        if (p == end) return false;
        if (*p == '\\' && end - p >= 4 && p[1] == 'x' && hex_value(p[2]) >= 0 &&
            hex_value(p[3]) >= 0) {
          *out++ = static_cast<char>(hex_value(p[2]) * 16 + hex_value(p[3]));
          p += 4;
        } else if (*p == '\\' && end - p >= 2) {
          char c = p[1];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          *out++ = c;
          p += 2;
        } else if (*p == '"') {
          ++p;
          if (p != end && !is_inline_space(*p)) return false;
          done = true;
        } else {
          *out++ = *p++;
        }
      } else if (in_single) {
        if (p == end) return false;
        if (*p == '\\' && end - p >= 2 && p[1] == '\'') {
          *out++ = '\'';
          p += 2;
        } else if (*p == '\'') {
          ++p;
          if (p != end && !is_inline_space(*p)) return false;
          done = true;
        } else {
          *out++ = *p++;
        }
      } else if (p == end || is_inline_space(*p)) {
        done = true;
      } else if (*p == '"') {
        in_double = true;
        ++p;
      } else if (*p == '\'') {
        in_single = true;
        ++p;
      } else {
        *out++ = *p++;
      }
    }
    argv.emplace_back(start, static_cast<size_t>(out - start));
  }
}

// A byte for an error message: printable ASCII as itself, anything else as \xHH, so the message
// can go back to the peer on a RESP error line.
std::string describe_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string(1, c);
  constexpr char kHex[] = "0123456789abcdef";
  return std::string{'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
}

}  // namespace

Parser::Parser(Limits limits) : limits_(limits) {
  limits_.max_bulk = std::min<uint64_t>(limits_.max_bulk, kMaxLength);
  limits_.max_array = std::min<uint64_t>(limits_.max_array, kMaxLength);
}

void Parser::make_room(size_t n) {
  const size_t live = end_ - begin_;
  if (live == 0) {
    begin_ = end_ = 0;
    if (cap_ > kShrinkAbove && n <= kShrinkAbove) {
      cap_ = std::max(n, kMinCapacity);
      buf_ = std::make_unique_for_overwrite<char[]>(cap_);
    }
  }
  if (cap_ - end_ >= n) return;
  // Sliding the live bytes to the front costs `live`, paid for by the at least as many consumed
  // bytes it reclaims; growing doubles. Either way prepare() is amortised O(1) per byte.
  if (begin_ >= live && cap_ - live >= n) {
    std::memmove(buf_.get(), buf_.get() + begin_, live);
  } else {
    const size_t cap = std::max({cap_ * 2, live + n, kMinCapacity});
    auto grown = std::make_unique_for_overwrite<char[]>(cap);
    if (live != 0) std::memcpy(grown.get(), buf_.get() + begin_, live);
    buf_ = std::move(grown);
    cap_ = cap;
  }
  begin_ = 0;
  end_ = live;
}

std::span<char> Parser::prepare(size_t n) {
  make_room(n);
  return {buf_.get() + end_, cap_ - end_};
}

void Parser::commit(size_t written) {
  end_ += std::min(written, cap_ - end_);
  if (failed_) begin_ = end_ = 0;  // nothing more will be parsed; do not hoard the bytes
}

void Parser::feed(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  make_room(bytes.size());
  std::memcpy(buf_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

Status Parser::fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  reset_partial();
  begin_ = end_ = 0;
  return Status::error;
}

Status Parser::need_more(size_t need) {
  need_ = need;
  return Status::need_more;
}

void Parser::consume(size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
  need_ = pos_ = scanned_ = remaining_ = 0;
}

void Parser::reset_partial() {
  need_ = pos_ = scanned_ = remaining_ = 0;
  args_.clear();
  stack_.clear();
  open_.clear();
}

// Incomplete array: remember the arguments parsed so far as offsets (the buffer may move before
// the next call) so that the next call resumes at `pos` instead of re-parsing them.
Status Parser::suspend_command(std::vector<std::string_view>& argv, const char* base, size_t pos,
                               size_t need) {
  for (const std::string_view a : argv) {
    args_.emplace_back(static_cast<size_t>(a.data() - base), a.size());
  }
  argv.clear();
  pos_ = pos;
  return need_more(need);
}

Status Parser::parse_inline(std::vector<std::string_view>& argv) {
  const size_t avail = end_ - begin_;
  char* const base = buf_.get() + begin_;
  const size_t from = scanned_;
  const void* lf = std::memchr(base + from, '\n', avail - from);
  if (lf == nullptr) {
    if (avail > limits_.max_inline) return fail("Protocol error: too big inline request");
    scanned_ = avail;
    return need_more(avail + 1);
  }
  const auto len = static_cast<size_t>(static_cast<const char*>(lf) - base);
  if (len > limits_.max_inline) return fail("Protocol error: too big inline request");
  char* line_end = base + len;
  if (len != 0 && line_end[-1] == '\r') --line_end;
  if (!split_inline(base, line_end, argv)) {
    argv.clear();
    return fail("Protocol error: unbalanced quotes in request");
  }
  consume(len + 1);
  return Status::ok;
}

Status Parser::next_command(std::vector<std::string_view>& argv) {
  argv.clear();
  if (failed_) return Status::error;
  if (api_ != Api::command) {
    reset_partial();
    api_ = Api::command;
  }
  for (;;) {
    const size_t avail = end_ - begin_;
    if (avail < need_) return Status::need_more;
    ++attempts_;
    char* const base = buf_.get() + begin_;
    const char* const end = base + avail;
    if (remaining_ == 0) {  // between frames
      if (avail == 0) return need_more(1);
      const char type = base[0];
      if (type == '*') {
        const char* p = base + 1;
        int64_t n = 0;
        switch (scan_length(p, end, limits_.max_array, true, n)) {
          case Scan::ok:
            break;
          case Scan::need_more:
            return need_more(avail + 1);
          case Scan::bad:
            return fail("Protocol error: invalid multibulk length");
        }
        if (n <= 0) {  // *0 and *-1 carry no command; Redis skips them too
          consume(static_cast<size_t>(p - base));
          continue;
        }
        if (limits_.max_depth < 1) return fail("Protocol error: nesting too deep");
        remaining_ = static_cast<size_t>(n);
        pos_ = static_cast<size_t>(p - base);
      } else if (type == '$' || type == '+' || type == '-' || type == ':') {
        return fail("Protocol error: expected '*', got '" + describe_byte(type) + "'");
      } else {
        const Status s = parse_inline(argv);
        if (s == Status::ok && argv.empty()) continue;  // empty line
        return s;
      }
    }
    // Inside an array of bulk strings: the hot path.
    const char* p = base + pos_;
    while (remaining_ != 0) {
      const auto at = static_cast<size_t>(p - base);
      if (p == end) return suspend_command(argv, base, at, avail + 1);
      if (*p != '$') {
        argv.clear();
        return fail("Protocol error: expected '$', got '" + describe_byte(*p) + "'");
      }
      const char* data = p + 1;
      int64_t len = 0;
      switch (scan_length(data, end, limits_.max_bulk, false, len)) {
        case Scan::ok:
          break;
        case Scan::need_more:
          return suspend_command(argv, base, at, avail + 1);
        case Scan::bad:
          argv.clear();
          return fail("Protocol error: invalid bulk length");
      }
      const auto n = static_cast<size_t>(len);
      const auto data_at = static_cast<size_t>(data - base);
      if (avail - data_at < n + 2) return suspend_command(argv, base, at, data_at + n + 2);
      if (data[n] != '\r' || data[n + 1] != '\n') {
        argv.clear();
        return fail("Protocol error: expected CRLF after bulk string");
      }
      argv.emplace_back(data, n);
      p = data + n + 2;
      --remaining_;
    }
    if (!args_.empty()) {
      argv.insert(argv.begin(), args_.size(), std::string_view{});
      for (size_t i = 0; i < args_.size(); ++i) argv[i] = {base + args_[i].first, args_[i].second};
      args_.clear();
    }
    consume(static_cast<size_t>(p - base));
    return Status::ok;
  }
}

// next() and next_raw() walk a frame with the same grammar, limits and resumption; they differ
// only in what they keep of it. walk() is that shared walk; a Frame receives each scalar as it is
// validated, opens arrays, and reports when the outermost value is complete. Both Frames are
// inlined into their instantiation, so neither entry point pays for the other's work.

// next(): builds the Value, keeping the arrays still open in stack_.
struct Parser::ValueBuilder {
  std::vector<PartialArray>& stack;
  Value& out;
  Value v;  // the value just completed

  size_t depth() const { return stack.size(); }
  void line(char type, std::string_view s) {
    v = type == '+' ? Value::simple(std::string(s)) : Value::err(std::string(s));
  }
  void integer(int64_t i) { v = Value::integer_value(i); }
  void bulk(std::string_view s) { v = Value::bulk(std::string(s)); }
  void null() { v = Value::nil(); }
  void empty_array() { v = Value::array({}); }
  void open_array(size_t n, size_t reserve) {
    Value a = Value::array({});
    a.elements.reserve(reserve);
    stack.push_back({std::move(a), n});
  }
  // Files v into the open arrays (possibly completing them); true when v is the whole frame.
  bool complete() {
    for (;;) {
      if (stack.empty()) return true;
      PartialArray& top = stack.back();
      top.array.elements.push_back(std::move(v));
      if (--top.remaining != 0) return false;
      v = std::move(top.array);
      stack.pop_back();
    }
  }
  void finish(std::string_view /*frame*/) { out = std::move(v); }
};

// next_raw(): keeps only how many elements each open array still expects, in open_.
struct Parser::FrameMeasurer {
  std::vector<size_t>& open;
  std::string_view& raw;

  size_t depth() const { return open.size(); }
  void line(char /*type*/, std::string_view /*s*/) {}
  void integer(int64_t /*i*/) {}
  void bulk(std::string_view /*s*/) {}
  void null() {}
  void empty_array() {}
  void open_array(size_t n, size_t /*reserve*/) { open.push_back(n); }
  bool complete() {
    for (;;) {
      if (open.empty()) return true;
      if (--open.back() != 0) return false;
      open.pop_back();
    }
  }
  void finish(std::string_view frame) { raw = frame; }
};

template <class Frame>
Status Parser::walk(Frame& frame) {
  const size_t avail = end_ - begin_;
  if (avail < need_) return Status::need_more;
  ++attempts_;
  const char* const base = buf_.get() + begin_;
  const char* const end = base + avail;
  for (;;) {
    const char* p = base + pos_;
    if (p == end) return need_more(avail + 1);
    const char type = *p;
    switch (type) {
      case '+':
      case '-':
      case ':': {
        // The line after the type byte; its content must fit max_inline, CR and LF excluded.
        const size_t line_at = pos_ + 1;
        const size_t from = std::max(line_at, scanned_);
        const void* lf = std::memchr(base + from, '\n', avail - from);
        if (lf == nullptr) {
          if (avail - line_at > limits_.max_inline + 1) return fail("Protocol error: too big line");
          scanned_ = avail;
          return need_more(avail + 1);
        }
        const auto lf_at = static_cast<size_t>(static_cast<const char*>(lf) - base);
        if (lf_at - line_at > limits_.max_inline + 1) return fail("Protocol error: too big line");
        if (lf_at == line_at || base[lf_at - 1] != '\r')
          return fail("Protocol error: expected CRLF");
        const std::string_view line(base + line_at, lf_at - 1 - line_at);
        if (line.find('\r') != std::string_view::npos) {
          return fail("Protocol error: CR inside a simple string");
        }
        if (type == ':') {
          int64_t i = 0;
          if (!parse_int64(line, i)) return fail("Protocol error: invalid integer");
          frame.integer(i);
        } else {
          frame.line(type, line);
        }
        pos_ = lf_at + 1;
        scanned_ = 0;
        break;
      }
      case '$': {
        const char* data = p + 1;
        int64_t len = 0;
        switch (scan_length(data, end, limits_.max_bulk, true, len)) {
          case Scan::ok:
            break;
          case Scan::need_more:
            return need_more(avail + 1);
          case Scan::bad:
            return fail("Protocol error: invalid bulk length");
        }
        const auto data_at = static_cast<size_t>(data - base);
        if (len < 0) {
          frame.null();
          pos_ = data_at;
          break;
        }
        const auto n = static_cast<size_t>(len);
        if (avail - data_at < n + 2) return need_more(data_at + n + 2);
        if (data[n] != '\r' || data[n + 1] != '\n') {
          return fail("Protocol error: expected CRLF after bulk string");
        }
        frame.bulk(std::string_view(data, n));
        pos_ = data_at + n + 2;
        break;
      }
      case '*': {
        const char* q = p + 1;
        int64_t len = 0;
        switch (scan_length(q, end, limits_.max_array, true, len)) {
          case Scan::ok:
            break;
          case Scan::need_more:
            return need_more(avail + 1);
          case Scan::bad:
            return fail("Protocol error: invalid multibulk length");
        }
        if (frame.depth() + 1 > limits_.max_depth) return fail("Protocol error: nesting too deep");
        pos_ = static_cast<size_t>(q - base);
        if (len < 0) {
          frame.null();
          break;
        }
        if (len == 0) {
          frame.empty_array();
          break;
        }
        // Reserve no more than the bytes present could hold (an element takes at least 3).
        const auto n = static_cast<size_t>(len);
        frame.open_array(n, std::min(n, (avail - pos_) / 3));
        continue;
      }
      default:
        return fail("Protocol error: unexpected type byte '" + describe_byte(type) + "'");
    }
    // A value is complete: the whole frame, or one element of the open arrays.
    if (frame.complete()) {
      frame.finish(std::string_view(base, pos_));
      consume(pos_);
      return Status::ok;
    }
  }
}

Status Parser::next(Value& out) {
  if (failed_) return Status::error;
  if (api_ != Api::value) {
    reset_partial();
    api_ = Api::value;
  }
  ValueBuilder frame{stack_, out, {}};
  return walk(frame);
}

Status Parser::next_raw(std::string_view& raw) {
  if (failed_) return Status::error;
  if (api_ != Api::raw) {
    reset_partial();
    api_ = Api::raw;
  }
  FrameMeasurer frame{open_, raw};
  return walk(frame);
}

// ---- Writer ----

namespace {

// "<prefix><n>\r\n" into `out`.
void append_header(std::string& out, char prefix, int64_t n) {
  char buf[24];
  buf[0] = prefix;
  char* p = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<size_t>(p - buf));
}

}  // namespace

void Writer::simple(std::string_view s) {
  out_ += '+';
  out_ += s;
  out_ += "\r\n";
}

void Writer::error(std::string_view s) {
  const size_t at = out_.size();
  out_ += '-';
  out_ += s;
  for (size_t i = at + 1; i < out_.size(); ++i) {
    if (out_[i] == '\r' || out_[i] == '\n') out_[i] = ' ';
  }
  out_ += "\r\n";
}

void Writer::integer(int64_t i) { append_header(out_, ':', i); }

void Writer::bulk(std::string_view s) {
  append_header(out_, '$', static_cast<int64_t>(s.size()));
  out_ += s;
  out_ += "\r\n";
}

void Writer::null() { out_ += "$-1\r\n"; }

void Writer::null_array() { out_ += "*-1\r\n"; }

void Writer::array_header(size_t n) { append_header(out_, '*', static_cast<int64_t>(n)); }

void Writer::value(const Value& v) {
  switch (v.type) {
    case Type::simple_string:
      simple(v.str);
      break;
    case Type::error:
      error(v.str);
      break;
    case Type::integer:
      integer(v.integer);
      break;
    case Type::bulk_string:
      bulk(v.str);
      break;
    case Type::null:
      null();
      break;
    case Type::array:
      array_header(v.elements.size());
      for (const Value& e : v.elements) value(e);
      break;
  }
}

void Writer::command(std::span<const std::string_view> argv) {
  array_header(argv.size());
  for (const std::string_view a : argv) bulk(a);
}

void Writer::command(std::initializer_list<std::string_view> argv) {
  command(std::span<const std::string_view>(argv.begin(), argv.size()));
}

std::string encode(const Value& v) {
  std::string out;
  Writer(out).value(v);
  return out;
}

}  // namespace fl::resp
