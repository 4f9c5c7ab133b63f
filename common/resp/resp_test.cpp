#include "common/resp/resp.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace fl::resp {

// Test-only window on the parser's internals: lets tests check work done and memory held without
// timing anything.
struct ParserAccess {
  static uint64_t attempts(const Parser& p) { return p.attempts_; }
  static size_t capacity(const Parser& p) { return p.cap_; }
};

namespace {

using Argv = std::vector<std::string>;

// Every value next() yields for `input` fed in one go, then the final status.
std::vector<Value> parse_all(std::string_view input, Status* last = nullptr, Limits limits = {}) {
  Parser p(limits);
  p.feed(input);
  std::vector<Value> out;
  Value v;
  Status s;
  while ((s = p.next(v)) == Status::ok) out.push_back(v);
  if (last != nullptr) *last = s;
  return out;
}

Value parse_one(std::string_view input) {
  auto values = parse_all(input);
  EXPECT_EQ(values.size(), 1u) << input;
  return values.empty() ? Value{} : values[0];
}

// Drains commands from p into out; returns the final status.
Status drain_commands(Parser& p, std::vector<Argv>& out) {
  std::vector<std::string_view> argv;
  Status s;
  while ((s = p.next_command(argv)) == Status::ok) out.emplace_back(argv.begin(), argv.end());
  return s;
}

std::vector<Argv> commands_of(std::string_view input, Status* last = nullptr, Limits limits = {}) {
  Parser p(limits);
  p.feed(input);
  std::vector<Argv> out;
  const Status s = drain_commands(p, out);
  if (last != nullptr) *last = s;
  return out;
}

std::string command_error(std::string_view input, Limits limits = {}) {
  Parser p(limits);
  p.feed(input);
  std::vector<Argv> out;
  EXPECT_EQ(drain_commands(p, out), Status::error) << input;
  return std::string(p.error());
}

std::string value_error(std::string_view input, Limits limits = {}) {
  Status s;
  Parser p(limits);
  p.feed(input);
  Value v;
  while ((s = p.next(v)) == Status::ok) {
  }
  EXPECT_EQ(s, Status::error) << input;
  return std::string(p.error());
}

TEST(RespParser, SimpleStringErrorInteger) {
  EXPECT_EQ(parse_one("+OK\r\n"), Value::simple("OK"));
  EXPECT_EQ(parse_one("+\r\n"), Value::simple(""));
  EXPECT_EQ(parse_one("-ERR unknown command 'x'\r\n"), Value::err("ERR unknown command 'x'"));
  EXPECT_EQ(parse_one(":0\r\n"), Value::integer_value(0));
  EXPECT_EQ(parse_one(":-42\r\n"), Value::integer_value(-42));
  EXPECT_EQ(parse_one(":9223372036854775807\r\n"), Value::integer_value(INT64_MAX));
  EXPECT_EQ(parse_one(":-9223372036854775808\r\n"), Value::integer_value(INT64_MIN));
}

TEST(RespParser, BadIntegers) {
  for (const char* bad : {":\r\n", ":-\r\n", ":+1\r\n", ":01\r\n", ":-0\r\n", ":1x\r\n",
                          ":9223372036854775808\r\n", ":-9223372036854775809\r\n"}) {
    EXPECT_EQ(value_error(bad), "Protocol error: invalid integer") << bad;
  }
}

TEST(RespParser, BulkStrings) {
  EXPECT_EQ(parse_one("$3\r\nfoo\r\n"), Value::bulk("foo"));
  EXPECT_EQ(parse_one("$0\r\n\r\n"), Value::bulk(""));
  EXPECT_EQ(parse_one(std::string("$6\r\na\r\n\0b\n\r\n", 13)),
            Value::bulk(std::string("a\r\n\0b\n", 6)));
  EXPECT_EQ(value_error("$3\r\nfooX\r\n"), "Protocol error: expected CRLF after bulk string");
  for (const char* bad : {"$-2\r\n", "$01\r\n", "$x\r\n", "$\r\n", "$1\n", "$-1\r\r"}) {
    EXPECT_EQ(value_error(bad), "Protocol error: invalid bulk length") << bad;
  }
}

TEST(RespParser, Nulls) {
  EXPECT_EQ(parse_one("$-1\r\n"), Value::nil());
  EXPECT_EQ(parse_one("*-1\r\n"), Value::nil());
  EXPECT_EQ(parse_one("*3\r\n$-1\r\n*-1\r\n:1\r\n"),
            Value::array({Value::nil(), Value::nil(), Value::integer_value(1)}));
}

TEST(RespParser, Arrays) {
  EXPECT_EQ(parse_one("*0\r\n"), Value::array({}));
  EXPECT_EQ(parse_one("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            Value::array({Value::bulk("GET"), Value::bulk("k")}));
  EXPECT_EQ(parse_one("*3\r\n*1\r\n*0\r\n+a\r\n*2\r\n:1\r\n-e\r\n"),
            Value::array({Value::array({Value::array({})}), Value::simple("a"),
                          Value::array({Value::integer_value(1), Value::err("e")})}));
  EXPECT_EQ(value_error("*-2\r\n"), "Protocol error: invalid multibulk length");
}

TEST(RespParser, LineFraming) {
  EXPECT_EQ(value_error("+OK\n"), "Protocol error: expected CRLF");
  EXPECT_EQ(value_error("+O\rK\r\n"), "Protocol error: CR inside a simple string");
  EXPECT_EQ(value_error("?what\r\n"), "Protocol error: unexpected type byte '?'");
  EXPECT_EQ(value_error(std::string("\x01", 1)), "Protocol error: unexpected type byte '\\x01'");
}

TEST(RespParser, PipelinedValuesInOneFeed) {
  Status last;
  auto values = parse_all("+a\r\n:1\r\n$1\r\nx\r\n*1\r\n$-1\r\n+partial", &last);
  EXPECT_EQ(last, Status::need_more);
  ASSERT_EQ(values.size(), 4u);
  EXPECT_EQ(values[3], Value::array({Value::nil()}));
}

TEST(RespWriter, ExactBytes) {
  std::string out;
  Writer w(out);
  w.simple("OK");
  w.error("ERR bad\r\nthing");
  w.integer(-7);
  w.integer(INT64_MIN);
  w.bulk("hello");
  w.bulk("");
  w.null();
  w.null_array();
  w.array_header(2);
  w.command({"SET", "k", "v"});
  EXPECT_EQ(out,
            "+OK\r\n-ERR bad  thing\r\n:-7\r\n:-9223372036854775808\r\n$5\r\nhello\r\n$0\r\n\r\n"
            "$-1\r\n*-1\r\n*2\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

TEST(RespWriter, RoundTripsEveryType) {
  const Value v = Value::array({
      Value::simple("OK"),
      Value::err("WRONGTYPE x"),
      Value::integer_value(INT64_MIN),
      Value::integer_value(INT64_MAX),
      Value::bulk(std::string("bin\0\r\n", 6)),
      Value::bulk(""),
      Value::nil(),
      Value::array({}),
      Value::array({Value::array({Value::bulk("deep")})}),
  });
  EXPECT_EQ(parse_one(encode(v)), v);
  for (const Value& e : v.elements) EXPECT_EQ(parse_one(encode(e)), e);
}

TEST(RespWriter, CommandRoundTripsThroughNextCommand) {
  std::string out;
  std::vector<std::string_view> argv{"SET", "key", std::string_view("v\0\r\n", 4)};
  Writer(out).command(argv);
  EXPECT_EQ(commands_of(out), (std::vector<Argv>{{"SET", "key", std::string("v\0\r\n", 4)}}));
}

TEST(RespCommand, MultibulkAndInlinePipeline) {
  Status last;
  auto cmds = commands_of(
      "*1\r\n$4\r\nPING\r\n"
      "SET k v\r\n"
      "\r\n\n  \r\n"
      "*0\r\n*-1\r\n"
      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
      "get k\n"
      "*2\r\n$3\r\nGET",
      &last);
  EXPECT_EQ(last, Status::need_more);
  EXPECT_EQ(cmds, (std::vector<Argv>{{"PING"}, {"SET", "k", "v"}, {"GET", "k"}, {"get", "k"}}));
}

TEST(RespCommand, InlineQuotesAndEscapes) {
  EXPECT_EQ(commands_of("set \"a b\" 'c d'\r\n"), (std::vector<Argv>{{"set", "a b", "c d"}}));
  EXPECT_EQ(commands_of("x \"\\n\\r\\t\\b\\a\\\"\\\\\\q\"\n"),
            (std::vector<Argv>{{"x", "\n\r\t\b\a\"\\q"}}));
  EXPECT_EQ(commands_of("x \"\\x41\\x7a\\x00\\xzz\"\n"),
            (std::vector<Argv>{{"x", std::string("Az\0xzz", 6)}}));
  EXPECT_EQ(commands_of("x 'it\\'s' 'a\\nb'\n"), (std::vector<Argv>{{"x", "it's", "a\\nb"}}));
  EXPECT_EQ(commands_of("x \"\" ''\n"), (std::vector<Argv>{{"x", "", ""}}));
  EXPECT_EQ(commands_of("x a\"b c\" d\n"), (std::vector<Argv>{{"x", "ab c", "d"}}));
  EXPECT_EQ(commands_of("\t x\t\ty \r\n"), (std::vector<Argv>{{"x", "y"}}));
  for (const char* bad :
       {"x \"abc\n", "x 'abc\n", "x a\"b c\"d\n", "x \"a\"b\n", "x 'a'b\n", "x \"a\\\"\n"}) {
    EXPECT_EQ(command_error(bad), "Protocol error: unbalanced quotes in request") << bad;
  }
}

TEST(RespCommand, NonCommandTypesAreErrors) {
  EXPECT_EQ(command_error("$3\r\nGET\r\n"), "Protocol error: expected '*', got '$'");
  EXPECT_EQ(command_error("+OK\r\n"), "Protocol error: expected '*', got '+'");
  EXPECT_EQ(command_error("*2\r\n$3\r\nGET\r\n:1\r\n"), "Protocol error: expected '$', got ':'");
  EXPECT_EQ(command_error("*1\r\n*1\r\n$1\r\na\r\n"), "Protocol error: expected '$', got '*'");
  EXPECT_EQ(command_error("*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(command_error("*x\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(command_error("*1\r\n$1\r\nab\r\n"), "Protocol error: expected CRLF after bulk string");
}

// A pipeline mixing every command form, plus values for next().
const std::string kCommandPipeline =
    "*3\r\n$3\r\nSET\r\n$10\r\nkey:000123\r\n$16\r\n0123456789abcdef\r\n"
    "PING\r\n"
    "\n"
    "set \"a\\x41 b\" 'c\\'d'\n"
    "*0\r\n"
    "*2\r\n$3\r\nGET\r\n$0\r\n\r\n"
    "*1\r\n$12\r\nhello\r\nworld\r\n";

const std::string kValuePipeline =
    "+OK\r\n-ERR x\r\n:-12\r\n$-1\r\n*-1\r\n$5\r\nab\r\nc\r\n"
    "*3\r\n*2\r\n:1\r\n$0\r\n\r\n*0\r\n+s\r\n:7\r\n";

TEST(RespSplits, EverySplitPositionGivesTheSameCommands) {
  const auto whole = commands_of(kCommandPipeline);
  ASSERT_EQ(whole.size(), 5u);
  for (size_t i = 0; i <= kCommandPipeline.size(); ++i) {
    for (size_t j = i; j <= kCommandPipeline.size(); ++j) {
      Parser p;
      std::vector<Argv> got;
      p.feed(std::string_view(kCommandPipeline).substr(0, i));
      drain_commands(p, got);
      p.feed(std::string_view(kCommandPipeline).substr(i, j - i));
      drain_commands(p, got);
      p.feed(std::string_view(kCommandPipeline).substr(j));
      EXPECT_EQ(drain_commands(p, got), Status::need_more);
      ASSERT_EQ(got, whole) << "split at " << i << "," << j;
      EXPECT_EQ(p.buffered(), 0u);
    }
  }
}

TEST(RespSplits, OneByteAtATimeThroughPrepareCommit) {
  Parser p;
  std::vector<Argv> got;
  for (char c : kCommandPipeline) {
    auto space = p.prepare(1);
    ASSERT_GE(space.size(), 1u);
    space[0] = c;
    p.commit(1);
    drain_commands(p, got);
  }
  EXPECT_EQ(got, commands_of(kCommandPipeline));
}

TEST(RespSplits, EverySplitPositionGivesTheSameValues) {
  const auto whole = parse_all(kValuePipeline);
  ASSERT_EQ(whole.size(), 8u);
  for (size_t i = 0; i <= kValuePipeline.size(); ++i) {
    for (size_t j = i; j <= kValuePipeline.size(); ++j) {
      Parser p;
      std::vector<Value> got;
      Value v;
      for (std::string_view part : {std::string_view(kValuePipeline).substr(0, i),
                                    std::string_view(kValuePipeline).substr(i, j - i),
                                    std::string_view(kValuePipeline).substr(j)}) {
        p.feed(part);
        while (p.next(v) == Status::ok) got.push_back(v);
      }
      ASSERT_EQ(got, whole) << "split at " << i << "," << j;
    }
  }
}

TEST(RespSplits, SwitchingEntryPointsMidFrameRestartsTheFrame) {
  Parser p;
  p.feed("*2\r\n$3\r\nGET\r\n$1");
  std::vector<std::string_view> argv;
  Value v;
  EXPECT_EQ(p.next_command(argv), Status::need_more);
  EXPECT_EQ(p.next(v), Status::need_more);
  p.feed("\r\nk\r\n");
  EXPECT_EQ(p.next_command(argv), Status::ok);
  EXPECT_EQ(argv, (std::vector<std::string_view>{"GET", "k"}));
}

// next_raw() yields the exact bytes of each value, wherever the input is split, and agrees with
// next() on what is valid.
TEST(RespRaw, EverySplitPositionGivesTheExactFrames) {
  const std::vector<std::string> expected = {"+OK\r\n",
                                             "-ERR x\r\n",
                                             ":-12\r\n",
                                             "$-1\r\n",
                                             "*-1\r\n",
                                             "$5\r\nab\r\nc\r\n",
                                             "*3\r\n*2\r\n:1\r\n$0\r\n\r\n*0\r\n+s\r\n",
                                             ":7\r\n"};
  for (size_t i = 0; i <= kValuePipeline.size(); ++i) {
    for (size_t j = i; j <= kValuePipeline.size(); ++j) {
      Parser p;
      std::vector<std::string> got;
      std::string_view raw;
      for (std::string_view part : {std::string_view(kValuePipeline).substr(0, i),
                                    std::string_view(kValuePipeline).substr(i, j - i),
                                    std::string_view(kValuePipeline).substr(j)}) {
        p.feed(part);
        while (p.next_raw(raw) == Status::ok) got.emplace_back(raw);
      }
      ASSERT_EQ(got, expected) << "split at " << i << "," << j;
    }
  }
}

TEST(RespRaw, KeepsTheBytesAsSentAndRejectsWhatNextRejects) {
  Parser p;
  // *-1 and $-1 are kept as sent (next() would decode both as null).
  p.feed("*-1\r\n$-1\r\n*0\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n");
  std::string_view raw;
  ASSERT_EQ(p.next_raw(raw), Status::ok);
  EXPECT_EQ(raw, "*-1\r\n");
  ASSERT_EQ(p.next_raw(raw), Status::ok);
  EXPECT_EQ(raw, "$-1\r\n");
  ASSERT_EQ(p.next_raw(raw), Status::ok);
  EXPECT_EQ(raw, "*0\r\n");
  ASSERT_EQ(p.next_raw(raw), Status::ok);
  EXPECT_EQ(raw, "*2\r\n*1\r\n:1\r\n$0\r\n\r\n");
  EXPECT_EQ(p.next_raw(raw), Status::need_more);
  for (std::string_view bad : {":x\r\n", "$3\r\nabcd\r\n", "!\r\n", "+a\rb\r\n"}) {
    Parser q;
    q.feed(bad);
    EXPECT_EQ(q.next_raw(raw), Status::error) << bad;
    Value v;
    Parser r;
    r.feed(bad);
    EXPECT_EQ(r.next(v), Status::error) << bad;
  }
  Parser deep(Limits{.max_depth = 2});
  deep.feed("*1\r\n*1\r\n*1\r\n:1\r\n");
  EXPECT_EQ(deep.next_raw(raw), Status::error);
}

TEST(RespRaw, LongArrayInChunksResumesWhereItStopped) {
  std::vector<std::string> args(20000, "abcdefgh");
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string frame;
  Writer(frame).command(views);
  Parser p;
  std::string_view raw;
  size_t chunks = 0;
  Status s = Status::need_more;
  for (size_t at = 0; at < frame.size(); at += 100, ++chunks) {
    p.feed(std::string_view(frame).substr(at, 100));
    if ((s = p.next_raw(raw)) == Status::ok) break;
  }
  ASSERT_EQ(s, Status::ok);
  EXPECT_EQ(raw, frame);
  EXPECT_EQ(ParserAccess::attempts(p), chunks + 1);
}

TEST(RespLimits, BulkLength) {
  const Limits limits{.max_bulk = 5};
  EXPECT_EQ(commands_of("*1\r\n$5\r\nabcde\r\n", nullptr, limits), (std::vector<Argv>{{"abcde"}}));
  EXPECT_EQ(command_error("*1\r\n$6\r\n", limits), "Protocol error: invalid bulk length");
  EXPECT_EQ(value_error("$6\r\n", limits), "Protocol error: invalid bulk length");
  // The default limit rejects a peer claiming 600 MB before a single payload byte arrives.
  EXPECT_EQ(command_error("*1\r\n$600000000\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(command_error("*1\r\n$99999999999999999999999999"),
            "Protocol error: invalid bulk length");
}

TEST(RespLimits, ArrayLength) {
  const Limits limits{.max_array = 3};
  EXPECT_EQ(commands_of("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", nullptr, limits).size(), 1u);
  EXPECT_EQ(command_error("*4\r\n", limits), "Protocol error: invalid multibulk length");
  EXPECT_EQ(value_error("*4\r\n", limits), "Protocol error: invalid multibulk length");
  EXPECT_EQ(value_error("*1\r\n*4\r\n", limits), "Protocol error: invalid multibulk length");
}

TEST(RespLimits, HugeClaimedArrayDoesNotAllocate) {
  // A peer claiming a million elements gets no million-element reservation; the parser waits.
  Parser p;
  p.feed("*1048576\r\n:1\r\n");
  Value v;
  EXPECT_EQ(p.next(v), Status::need_more);
  std::vector<std::string_view> argv;
  Parser q;
  q.feed("*1048576\r\n$1\r\na\r\n");
  EXPECT_EQ(q.next_command(argv), Status::need_more);
  EXPECT_EQ(argv.capacity() < 1000, true);
}

TEST(RespLimits, NestingDepth) {
  const Limits limits{.max_depth = 3};
  EXPECT_EQ(parse_all("*1\r\n*1\r\n*1\r\n:1\r\n", nullptr, limits).size(), 1u);
  EXPECT_EQ(value_error("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", limits),
            "Protocol error: nesting too deep");
  // Deep nesting with the default limit is an error, not a stack overflow.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "*1\r\n";
  EXPECT_EQ(value_error(deep), "Protocol error: nesting too deep");
}

TEST(RespLimits, InlineLength) {
  const Limits limits{.max_inline = 8};
  // The limit counts the line up to its LF, CR included.
  EXPECT_EQ(commands_of("1234 67\r\n", nullptr, limits), (std::vector<Argv>{{"1234", "67"}}));
  EXPECT_EQ(commands_of("12345678\n", nullptr, limits), (std::vector<Argv>{{"12345678"}}));
  EXPECT_EQ(command_error("123456789\n", limits), "Protocol error: too big inline request");
  EXPECT_EQ(command_error("123456789", limits), "Protocol error: too big inline request");
  // Under the limit and without a newline: wait for more.
  Status last;
  commands_of("12345678", &last, limits);
  EXPECT_EQ(last, Status::need_more);
}

TEST(RespLimits, LineLength) {
  const Limits limits{.max_inline = 4};
  EXPECT_EQ(parse_one("+abcd\r\n"), Value::simple("abcd"));
  EXPECT_EQ(parse_all("+abcd\r\n", nullptr, limits).size(), 1u);
  EXPECT_EQ(value_error("+abcde\r\n", limits), "Protocol error: too big line");
  EXPECT_EQ(value_error("-abcdef", limits), "Protocol error: too big line");
}

TEST(RespErrors, ErrorStateIsSticky) {
  Parser p;
  p.feed("*1\r\n$x\r\n");
  std::vector<std::string_view> argv;
  ASSERT_EQ(p.next_command(argv), Status::error);
  const std::string first(p.error());
  EXPECT_EQ(first, "Protocol error: invalid bulk length");
  p.feed("*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(p.next_command(argv), Status::error);
  Value v;
  EXPECT_EQ(p.next(v), Status::error);
  auto space = p.prepare(64);
  std::memcpy(space.data(), "PING\r\n", 6);
  p.commit(6);
  EXPECT_EQ(p.next_command(argv), Status::error);
  EXPECT_TRUE(argv.empty());
  EXPECT_EQ(p.error(), first);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(RespErrors, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(12345);
  const std::string alphabet = "*$+-:\r\n0123456789-1 \"'\\xab";
  for (int round = 0; round < 3000; ++round) {
    std::string input(rng() % 200, '\0');
    const bool structured = round % 2 == 0;
    for (char& c : input) {
      c = structured ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng());
    }
    Parser commands(Limits{.max_bulk = 1000, .max_array = 100, .max_depth = 4, .max_inline = 64});
    Parser values(Limits{.max_bulk = 1000, .max_array = 100, .max_depth = 4, .max_inline = 64});
    std::vector<std::string_view> argv;
    Value v;
    size_t at = 0;
    while (at < input.size()) {
      const size_t n = std::min<size_t>(1 + rng() % 16, input.size() - at);
      commands.feed(std::string_view(input).substr(at, n));
      values.feed(std::string_view(input).substr(at, n));
      at += n;
      while (commands.next_command(argv) == Status::ok) {
      }
      while (values.next(v) == Status::ok) {
        EXPECT_EQ(parse_one(encode(v)), v);
      }
    }
  }
}

TEST(RespPerformance, LargeBulkOneByteAtATimeIsNotReparsed) {
  const std::string payload(1 << 20, 'x');
  std::string frame;
  Writer(frame).command({"SET", "big", payload});
  Parser p;
  std::vector<std::string_view> argv;
  size_t oks = 0;
  for (char c : frame) {
    p.feed(std::string_view(&c, 1));
    if (p.next_command(argv) == Status::ok) ++oks;
  }
  ASSERT_EQ(oks, 1u);
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[2], payload);
  // Once the header is known, the parser waits for the whole payload: a handful of attempts
  // (one per header byte) rather than one per byte of payload.
  EXPECT_LT(ParserAccess::attempts(p), 64u);

  std::string reply;
  Writer(reply).bulk(payload);
  Parser q;
  Value v;
  for (char c : reply) {
    q.feed(std::string_view(&c, 1));
    if (q.next(v) == Status::ok) ++oks;
  }
  EXPECT_EQ(oks, 2u);
  EXPECT_EQ(v, Value::bulk(payload));
  EXPECT_LT(ParserAccess::attempts(q), 64u);
}

TEST(RespPerformance, LongArrayInChunksResumesWhereItStopped) {
  std::vector<std::string> args(20000, "abcdefgh");
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string frame;
  Writer(frame).command(views);
  Parser p;
  std::vector<std::string_view> argv;
  size_t chunks = 0;
  for (size_t at = 0; at < frame.size(); at += 100, ++chunks) {
    p.feed(std::string_view(frame).substr(at, 100));
    if (p.next_command(argv) == Status::ok) break;
  }
  ASSERT_EQ(argv.size(), args.size());
  for (const auto a : argv) ASSERT_EQ(a, "abcdefgh");
  EXPECT_EQ(ParserAccess::attempts(p), chunks + 1);
}

TEST(RespPerformance, LongInlineLineOneByteAtATime) {
  std::string line(60000, 'a');
  line += "\r\n";
  Parser p;
  std::vector<std::string_view> argv;
  for (char c : line) {
    p.feed(std::string_view(&c, 1));
    if (p.next_command(argv) == Status::ok) break;
  }
  ASSERT_EQ(argv.size(), 1u);
  EXPECT_EQ(argv[0].size(), 60000u);
}

TEST(RespBuffer, PipelineKeepsTheBufferSmall) {
  std::string frame;
  Writer(frame).command({"SET", "key:000123", "0123456789abcdef"});
  Parser p;
  std::vector<std::string_view> argv;
  // Feed odd-sized reads so a partial frame is always left behind.
  std::string stream;
  for (int i = 0; i < 20000; ++i) stream += frame;
  size_t commands = 0;
  for (size_t at = 0; at < stream.size(); at += 1000) {
    const auto part = std::string_view(stream).substr(at, 1000);
    auto space = p.prepare(part.size());
    std::memcpy(space.data(), part.data(), part.size());
    p.commit(part.size());
    while (p.next_command(argv) == Status::ok) ++commands;
  }
  EXPECT_EQ(commands, 20000u);
  EXPECT_LE(ParserAccess::capacity(p), 64u * 1024);
}

TEST(RespBuffer, ArgvSurvivesBufferGrowthMidFrame) {
  Parser p;
  std::vector<std::string_view> argv;
  p.feed("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n");
  EXPECT_EQ(p.next_command(argv), Status::need_more);
  p.feed(std::string(100000, 'v'));  // forces the buffer to grow and move
  p.feed("\r\n");
  ASSERT_EQ(p.next_command(argv), Status::ok);
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[0], "SET");
  EXPECT_EQ(argv[1], "k");
  EXPECT_EQ(argv[2].size(), 100000u);
}

TEST(RespBuffer, BigBufferIsReleasedOnceEmpty) {
  Parser p;
  std::string frame;
  Writer(frame).command({"SET", "k", std::string(8 << 20, 'v')});
  p.feed(frame);
  std::vector<std::string_view> argv;
  ASSERT_EQ(p.next_command(argv), Status::ok);
  p.prepare(4096);
  EXPECT_LE(ParserAccess::capacity(p), 64u * 1024);
}

}  // namespace
}  // namespace fl::resp
