#include "harness/history/edn.h"

#include <charconv>

namespace fl::history::edn {
namespace {

constexpr int kMaxDepth = 64;

bool is_delim(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '(' || c == ')' ||
         c == '[' || c == ']' || c == '{' || c == '}' || c == '"' || c == ';';
}

}  // namespace

bool Reader::fail(std::string msg) {
  error_ = std::move(msg);
  return false;
}

bool Reader::skip_space() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '\n') {
      ++line_;
      ++pos_;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
      ++pos_;
    } else if (c == ';') {
      while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    } else {
      return true;
    }
  }
  return false;
}

bool Reader::read(Form& out) {
  if (!skip_space()) {
    hit_end_ = true;
    return fail("unexpected end of input");
  }
  char c = text_[pos_];
  switch (c) {
    case '"':
      return read_string(out);
    case '[':
    case '(': {
      ++pos_;
      out.kind = Form::Kind::value;
      out.value = Value::of(std::vector<Value>{});
      return read_seq(c == '[' ? ']' : ')', out.value.list);
    }
    case '#':
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '{') {
        pos_ += 2;
        out.kind = Form::Kind::value;
        out.value = Value::of(std::vector<Value>{});
        return read_seq('}', out.value.list);
      }
      return fail("unsupported EDN tag '#'");
    case '{': {
      if (++depth_ > kMaxDepth) return fail("nesting deeper than 64");
      ++pos_;
      out.kind = Form::Kind::map;
      out.map.clear();
      while (true) {
        if (!skip_space()) {
          hit_end_ = true;
          return fail("unexpected end of input inside a map");
        }
        if (text_[pos_] == '}') {
          ++pos_;
          --depth_;
          return true;
        }
        Form k, v;
        if (!read(k)) return false;
        if (!skip_space()) {
          hit_end_ = true;
          return fail("unexpected end of input inside a map");
        }
        if (text_[pos_] == '}') return fail("map has a key without a value");
        if (!read(v)) return false;
        out.map.emplace_back(std::move(k), std::move(v));
      }
    }
    case ')':
    case ']':
    case '}':
      return fail(std::string("unexpected '") + c + "'");
    default:
      return read_atom(out);
  }
}

bool Reader::read_seq(char close, std::vector<Value>& out) {
  if (++depth_ > kMaxDepth) return fail("nesting deeper than 64");
  while (true) {
    if (!skip_space()) {
      hit_end_ = true;
      return fail("unexpected end of input inside a collection");
    }
    if (text_[pos_] == close) {
      ++pos_;
      --depth_;
      return true;
    }
    Form f;
    if (!read(f)) return false;
    if (f.kind == Form::Kind::map) return fail("maps are not supported inside values");
    out.push_back(std::move(f.value));
  }
}

bool Reader::read_string(Form& out) {
  ++pos_;
  std::string s;
  while (pos_ < text_.size()) {
    char c = text_[pos_++];
    if (c == '"') {
      out.kind = Form::Kind::value;
      out.value = Value::of(std::move(s));
      return true;
    }
    if (c == '\n') ++line_;
    if (c == '\\') {
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case 'n':
          s += '\n';
          break;
        case 't':
          s += '\t';
          break;
        case 'r':
          s += '\r';
          break;
        case '"':
          s += '"';
          break;
        case '\\':
          s += '\\';
          break;
        default:
          return fail(std::string("unsupported string escape '\\") + e + "'");
      }
      continue;
    }
    s += c;
  }
  hit_end_ = true;
  return fail("unterminated string");
}

bool Reader::read_atom(Form& out) {
  size_t start = pos_;
  while (pos_ < text_.size() && !is_delim(text_[pos_])) ++pos_;
  std::string_view tok = text_.substr(start, pos_ - start);
  out.kind = Form::Kind::value;
  if (tok[0] == ':') {
    if (tok.size() == 1) return fail("empty keyword");
    out.kind = Form::Kind::keyword;
    out.value = Value::of(std::string(tok.substr(1)));
    return true;
  }
  if (tok == "nil") {
    out.value = Value::null();
    return true;
  }
  if (tok == "true" || tok == "false") {
    out.value = Value::of(std::string(tok));
    return true;
  }
  if ((tok[0] >= '0' && tok[0] <= '9') || ((tok[0] == '-' || tok[0] == '+') && tok.size() > 1)) {
    std::string_view digits = tok;
    if (digits[0] == '+') digits.remove_prefix(1);
    if (digits.size() > 1 && digits.back() == 'N') digits.remove_suffix(1);
    int64_t v = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (r.ec == std::errc::result_out_of_range) {
      return fail("integer '" + std::string(tok) + "' does not fit in 64 bits");
    }
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
      if (pos_ >= text_.size()) hit_end_ = true;
      return fail("unsupported number '" + std::string(tok) + "' (only integers)");
    }
    out.value = Value::of(v);
    return true;
  }
  // A symbol: keep its name as a string.
  out.value = Value::of(std::string(tok));
  return true;
}

bool form_to_op(const Form& map, Op& op, std::string& error) {
  op = Op{};
  op.time = -1;
  bool has_type = false, has_f = false, has_process = false;
  for (const auto& [k, v] : map.map) {
    if (k.kind != Form::Kind::keyword) continue;
    const std::string& name = k.value.string;
    if (name == "process") {
      if (v.value.kind == Value::Kind::integer) {
        op.process = v.value.integer;
      } else if (v.value.kind == Value::Kind::string && v.value.string == "nemesis") {
        op.process = kNemesis;
      } else {
        error = ":process must be an integer or :nemesis";
        return false;
      }
      has_process = true;
    } else if (name == "type") {
      const std::string& t = v.value.string;
      if (v.value.kind != Value::Kind::string) {
        error = ":type must be :invoke, :ok, :fail or :info";
        return false;
      }
      if (t == "invoke")
        op.type = Type::invoke;
      else if (t == "ok")
        op.type = Type::ok;
      else if (t == "fail")
        op.type = Type::fail;
      else if (t == "info")
        op.type = Type::info;
      else {
        error = ":type must be :invoke, :ok, :fail or :info, not :" + t;
        return false;
      }
      has_type = true;
    } else if (name == "f") {
      if (v.value.kind == Value::Kind::string) {
        op.f = v.value.string;
      } else {
        error = ":f must be a keyword or string";
        return false;
      }
      has_f = true;
    } else if (name == "key") {
      if (v.value.kind == Value::Kind::string)
        op.key = v.value.string;
      else if (v.value.kind == Value::Kind::integer)
        op.key = std::to_string(v.value.integer);
      else if (!v.value.is_null()) {
        error = ":key must be a string or an integer";
        return false;
      }
    } else if (name == "value") {
      if (v.kind == Form::Kind::map) {
        error = ":value may not be a map";
        return false;
      }
      op.value = v.value;
    } else if (name == "index" || name == "time") {
      if (v.value.kind != Value::Kind::integer || v.value.integer < 0) {
        error = ":" + name + " must be a non-negative integer";
        return false;
      }
      (name == "index" ? op.index : op.time) = v.value.integer;
    } else if (name == "error") {
      if (v.value.kind == Value::Kind::string)
        op.error = v.value.string;
      else
        op.error = to_string(v.value);
    }
  }
  if (!has_process)
    error = "missing :process";
  else if (!has_type)
    error = "missing :type";
  else if (!has_f)
    error = "missing :f";
  else
    return true;
  return false;
}

}  // namespace fl::history::edn
