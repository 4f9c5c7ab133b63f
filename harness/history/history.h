// Operation histories in Jepsen's model (DESIGN.md, contract 5): every operation is an `invoke`
// followed by its completion, `ok` (it took effect), `fail` (it certainly did not) or `info`
// (unknown: it may take effect at any later time). This header holds the in-memory form used by
// writers and readers; checkers convert it to a compact, interned form (compact.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace fl::history {

enum class Type : uint8_t { invoke, ok, fail, info };
std::string_view to_string(Type t);

// The value of an operation as JSON carries it: null, an integer, a string, or a list (a cas
// pair [expected, new], the elements a set read returned, ...).
struct Value {
  enum class Kind : uint8_t { null, integer, string, list };
  Kind kind = Kind::null;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> list;

  bool operator==(const Value&) const = default;
  bool is_null() const { return kind == Kind::null; }

  static Value null() { return {}; }
  static Value of(int64_t i) { return {Kind::integer, i, {}, {}}; }
  static Value of(std::string s) { return {Kind::string, 0, std::move(s), {}}; }
  static Value of(std::vector<Value> l) { return {Kind::list, 0, {}, std::move(l)}; }
};

// The `error` of a `fail` that the system answered on purpose: the operation's condition did not
// hold (a compare-and-set saw another value). Such an operation was served, so availability
// counts it as available; any other fail (refused, rejected, timed out) was not served.
inline constexpr std::string_view kPreconditionFailed = "precondition failed";

// The process id of fault events ("process":"nemesis" in JSON).
inline constexpr int64_t kNemesis = -1;

struct Op {
  int64_t index = -1;   // position in the history, assigned by the writer
  int64_t time = 0;     // nanoseconds since the run began, monotonic
  int64_t process = 0;  // logical process; kNemesis for fault events
  Type type = Type::invoke;
  std::string f;                   // "read", "write", "cas", "add", "incr", ...
  std::optional<std::string> key;  // independent object the op acts on, if any
  Value value;
  // Why an op failed or is indeterminate ("timeout", "MOVED 3 127.0.0.1:7001", ...). Optional.
  std::string error;
};

// One line of history.jsonl, without the newline:
// {"index":0,"time":1234567,"process":3,"type":"invoke","f":"write","key":"k7","value":5}
std::string to_json_line(const Op& op);
// A value as JSON text: null, 5, "x", [1,2].
std::string to_string(const Value& v);

// Appends ops to history.jsonl as they happen. Lines are formatted by the caller's thread and
// buffered; the buffer is written out whole lines at a time when it fills, every
// `flush_interval`, and on close/destruction, so a run killed mid-way leaves a readable file
// (at worst missing its last interval). Thread-safe.
class Writer {
 public:
  struct Options {
    // Written out when this many bytes are buffered. Default 1 MiB.
    size_t buffer_bytes = 1 << 20;
    // Longest time a line waits in the buffer. Default 200ms.
    std::chrono::milliseconds flush_interval{200};
  };

  static result<std::unique_ptr<Writer>> open(const std::filesystem::path& path, Options opts);
  static result<std::unique_ptr<Writer>> open(const std::filesystem::path& path) {
    return open(path, Options{});
  }
  virtual ~Writer() = default;

  // Assigns the next index to `op` (the index field is ignored) and records it.
  // Returns the index assigned.
  virtual int64_t append(const Op& op) = 0;
  // Writes out everything buffered so far.
  virtual void flush() = 0;
  // Flushes and fsyncs; further appends are dropped.
  virtual void close() = 0;
  virtual int64_t count() const = 0;
};

enum class Format { jsonl, edn, jepsen_log };
std::string_view to_string(Format f);
// "jsonl", "edn", "jepsen-log".
std::optional<Format> parse_format(std::string_view name);
// Guesses from the first non-blank line ('{"' jsonl, '{:' edn, "jepsen.util - " jepsen-log),
// then the extension (.edn, .log); jsonl when unsure.
Format detect_format(const std::filesystem::path& path);

// Reads a whole history. Errors name the file and line ("h.jsonl:12: expected 'type'"). A
// truncated last line (a killed run) is ignored with no error; earlier bad lines are errors.
// Ops without an index get their position as index; without a time, their index.
// EDN: one map per record (usually per line) with keyword keys :process (integer or :nemesis),
// :type, :f (keyword or string), :key, :value, optional :index, :time and :error; keyword
// values are kept as strings without the colon. Jepsen log: lines containing "jepsen.util - "
// followed by `<process> <type> <f> <value>` separated by tabs or runs of spaces; a keyword value
// on a completion (`:timed-out`) becomes the op's `error`, its value stays null; other lines are
// skipped.
result<std::vector<Op>> read(const std::filesystem::path& path, Format format);
result<std::vector<Op>> read_jsonl(std::string_view text, std::string_view source_name);
result<std::vector<Op>> read_edn(std::string_view text, std::string_view source_name);
result<std::vector<Op>> read_jepsen_log(std::string_view text, std::string_view source_name);

}  // namespace fl::history
