// RESP2, the Redis protocol, written sans-IO: a Parser is fed bytes and asked for values; a
// Writer appends encoded replies to a buffer. Neither touches a socket, so both are unit-tested
// and fuzzed on their own, and shared by the reference nodes (server side) and the harness's
// RESP client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fl::resp {

// Limits protect a server from hostile or broken peers: exceeding one is a protocol error, never
// a crash or an allocation sized by what the peer claims.
struct Limits {
  // Largest bulk string payload, in bytes. Default 512 MiB, as in Redis.
  size_t max_bulk = 512u * 1024 * 1024;
  // Most elements in one array. Default 1,048,576.
  size_t max_array = 1u << 20;
  // Deepest nesting of arrays (a flat command has depth 1). Default 32.
  size_t max_depth = 32;
  // Longest inline command line or simple string/error/integer line, in bytes. Default 64 KiB.
  size_t max_inline = 64u * 1024;
};

enum class Type : uint8_t {
  simple_string,  // +OK
  error,          // -ERR ...
  integer,        // :42
  bulk_string,    // $3\r\nfoo
  array,          // *2\r\n...
  null,           // $-1 or *-1
};

// A decoded RESP value. Owns its bytes. Used by the client side and by tests; the server hot
// path uses Parser::next_command, which does not allocate per argument.
struct Value {
  Type type = Type::null;
  std::string str;             // simple_string, error, bulk_string
  int64_t integer = 0;         // integer
  std::vector<Value> elements; // array

  bool operator==(const Value&) const = default;

  static Value simple(std::string s) { return {Type::simple_string, std::move(s), 0, {}}; }
  static Value err(std::string s) { return {Type::error, std::move(s), 0, {}}; }
  static Value integer_value(int64_t i) { return {Type::integer, {}, i, {}}; }
  static Value bulk(std::string s) { return {Type::bulk_string, std::move(s), 0, {}}; }
  static Value array(std::vector<Value> v) { return {Type::array, {}, 0, std::move(v)}; }
  static Value nil() { return {}; }
};

enum class Status : uint8_t {
  ok,         // a complete value (or command) was produced
  need_more,  // the buffered bytes end inside a value; feed more
  error,      // the stream violates the protocol or a limit; see Parser::error()
};

// Incremental parser. Bytes arrive in arbitrary chunks (a frame split anywhere, many pipelined
// frames in one chunk). After Status::error the parser stays in the error state: the connection
// should answer -ERR and close, as Redis does.
class Parser {
 public:
  explicit Parser(Limits limits = {});

  // Copies bytes into the internal buffer.
  void feed(std::string_view bytes);

  // Zero-copy feeding for socket reads: prepare() returns writable space of at least `n` bytes at
  // the end of the buffer; commit() makes the first `written` of them visible to the parser.
  std::span<char> prepare(size_t n);
  void commit(size_t written);

  // Decodes the next value of any type. $-1 and *-1 both decode as Type::null. A simple string
  // or error line may not contain CR.
  Status next(Value& out);

  // Decodes the next command: an array of bulk strings (what clients send) or an inline command
  // line ("PING\r\n", "SET k v\n" as telnet and redis-cli send them; double-quoted and
  // single-quoted arguments as redis-cli's inline syntax allows). Empty inline lines are skipped.
  // On ok, `argv` holds views into the parser's buffer, valid until the next call to feed,
  // prepare or next/next_command. "*0" and "*-1" in command position are skipped, as Redis does;
  // any other non-array RESP type there is a protocol error. On need_more or error, argv is empty.
  // Work already done on a partial frame is kept between calls, so calls should not alternate
  // between next and next_command in the middle of a frame (doing so re-parses the frame).
  Status next_command(std::vector<std::string_view>& argv);

  // Finds the next value of any type without decoding it, validating it as next() does: on ok,
  // `raw` views its exact encoded bytes, valid until the next call to feed, prepare or any next*.
  // For relaying replies (a proxy forwards the bytes as they came). Resumes a partial frame
  // where it stopped, like next().
  Status next_raw(std::string_view& raw);

  // The reason of the last Status::error, such as "Protocol error: invalid bulk length".
  // Phrased as Redis phrases it, so it can be sent back after "-ERR ".
  std::string_view error() const { return error_; }

  // Bytes buffered but not yet consumed.
  size_t buffered() const { return end_ - begin_; }

 private:
  // Which entry point owns the partial-frame state below; switching entry points in the middle of
  // a frame restarts that frame from its first byte.
  enum class Api : uint8_t { none, value, command, raw };
  // An array of next() whose elements are still arriving.
  struct PartialArray {
    Value array;
    size_t remaining;
  };

  // The two Frames of walk(): next() builds a Value, next_raw() only finds where the frame ends.
  struct ValueBuilder;
  struct FrameMeasurer;

  // Walks the next value from pos_, resuming a partial frame, and hands what it validates to
  // `frame`; shared by next() and next_raw() (defined and instantiated in resp.cpp only).
  template <class Frame>
  Status walk(Frame& frame);
  Status fail(std::string message);
  Status need_more(size_t need);
  Status suspend_command(std::vector<std::string_view>& argv, const char* base, size_t pos,
                         size_t need);
  Status parse_inline(std::vector<std::string_view>& argv);
  void consume(size_t n);
  void reset_partial();
  void make_room(size_t n);

  Limits limits_;
  // Buffer [0, cap_): consumed bytes [0, begin_), unparsed bytes [begin_, end_), free space after.
  // Not std::vector: growing must not zero-fill space the socket is about to overwrite.
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
  // The current frame cannot complete before this many bytes are buffered (offset from begin_);
  // a call returns need_more at once until then, so a big bulk arriving in small chunks is not
  // re-parsed for every chunk.
  size_t need_ = 0;
  // Offsets from begin_ (the frame's first byte, which stays put until the frame completes):
  // pos_ is the first element not yet parsed; scanned_ is how far the pending line was searched
  // for its LF.
  size_t pos_ = 0;
  size_t scanned_ = 0;
  // next_command: bulk strings still expected in the current array (0: between frames), and the
  // (offset, length) of those parsed by earlier calls for this frame.
  size_t remaining_ = 0;
  std::vector<std::pair<size_t, size_t>> args_;
  // next(): arrays still open, outermost first.
  std::vector<PartialArray> stack_;
  // next_raw(): elements still expected by each open array, outermost first.
  std::vector<size_t> open_;
  Api api_ = Api::none;
  bool failed_ = false;
  std::string error_;
  // Calls that got past the need_ gate and parsed; lets tests check that chunked input is not
  // re-parsed once per chunk.
  uint64_t attempts_ = 0;
  friend struct ParserAccess;
};

// Appends RESP2 encodings to a string buffer. The caller owns the buffer and writes it out.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void simple(std::string_view s);   // +s\r\n   (REQUIRES: no CR or LF in s)
  void error(std::string_view s);    // -s\r\n   (CR/LF replaced by spaces)
  void integer(int64_t i);           // :i\r\n
  void bulk(std::string_view s);     // $len\r\ns\r\n
  void null();                       // $-1\r\n
  void null_array();                 // *-1\r\n
  void array_header(size_t n);       // *n\r\n, followed by n values
  void value(const Value& v);        // any value, recursively
  // A command as clients send it: an array of bulk strings.
  void command(std::span<const std::string_view> argv);
  void command(std::initializer_list<std::string_view> argv);

 private:
  std::string& out_;
};

// Encodes a single value; convenience for tests and cold paths.
std::string encode(const Value& v);

}  // namespace fl::resp
