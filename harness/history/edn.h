// Internal: a reader for the subset of EDN that Jepsen histories use (maps of keywords to nil,
// integers, strings, keywords, booleans, vectors, lists and sets). Shared by the EDN and the
// Jepsen-log readers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/history/history.h"

namespace fl::history::edn {

struct Form {
  enum class Kind : uint8_t { value, keyword, map };
  Kind kind = Kind::value;
  Value value;  // value: the value; keyword: Value::of(name without the colon)
  std::vector<std::pair<Form, Form>> map;  // map entries, in order
};

// A cursor over EDN text that counts lines for error messages.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  // Skips whitespace, commas and ; comments. Returns false at the end of the text.
  bool skip_space();
  // Reads one form. On failure returns false and sets error(); `at_end()` tells whether the
  // failure was running out of text (a truncated last record).
  bool read(Form& out);

  int line() const { return line_; }
  size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }
  bool hit_end() const { return hit_end_; }

 private:
  bool fail(std::string msg);
  bool read_string(Form& out);
  bool read_atom(Form& out);
  bool read_seq(char close, std::vector<Value>& out);

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int depth_ = 0;
  std::string error_;
  bool hit_end_ = false;
};

// Converts a map form to an Op (index and time left as -1 when absent). Fails with a message
// naming the field.
bool form_to_op(const Form& map, Op& op, std::string& error);

}  // namespace fl::history::edn
