#include "harness/history/history.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/history/compact.h"

namespace fl::history {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fl-history-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Op make(int64_t time, int64_t process, Type t, std::string f, Value v,
        std::optional<std::string> key = std::nullopt) {
  Op op;
  op.time = time;
  op.process = process;
  op.type = t;
  op.f = std::move(f);
  op.value = std::move(v);
  op.key = std::move(key);
  return op;
}

TEST(JsonLine, MatchesTheContract) {
  Op op = make(1234567, 3, Type::invoke, "write", Value::of(5), "k7");
  op.index = 0;
  EXPECT_EQ(
      to_json_line(op),
      R"({"index":0,"time":1234567,"process":3,"type":"invoke","f":"write","key":"k7","value":5})");
  Op n = make(9, kNemesis, Type::info, "kill", Value::of("n1\t\"x\""));
  n.index = 4;
  n.error = "timeout";
  EXPECT_EQ(
      to_json_line(n),
      R"({"index":4,"time":9,"process":"nemesis","type":"info","f":"kill","value":"n1\t\"x\"","error":"timeout"})");
  Op cas = make(1, 2, Type::ok, "cas", Value::of(std::vector<Value>{Value::of(1), Value::null()}));
  cas.index = 1;
  EXPECT_EQ(to_json_line(cas),
            R"({"index":1,"time":1,"process":2,"type":"ok","f":"cas","value":[1,null]})");
}

TEST(Jsonl, RoundTripsThroughTheReader) {
  std::vector<Op> ops = {
      make(1, 0, Type::invoke, "cas", Value::of(std::vector<Value>{Value::of(1), Value::of(2)}),
           "a"),
      make(2, 0, Type::fail, "cas", Value::of(std::vector<Value>{Value::of(1), Value::of(2)}), "a"),
      make(3, kNemesis, Type::info, "partition", Value::of("halves")),
      make(4, 1, Type::ok, "read", Value::of(std::vector<Value>{Value::of("x"), Value::null()})),
  };
  ops[1].error = "mismatch";
  std::string text;
  for (size_t i = 0; i < ops.size(); ++i) {
    ops[i].index = static_cast<int64_t>(i);
    text += to_json_line(ops[i]) + "\n";
  }
  auto back = read_jsonl(text, "h.jsonl");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(to_json_line((*back)[i]), to_json_line(ops[i]));
  }
}

TEST(Jsonl, IgnoresATruncatedLastLineButNotAnEarlierBadOne) {
  std::string good = R"({"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null})";
  auto r = read_jsonl(good + "\n" + R"({"index":1,"time":2,"proc)", "h.jsonl");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 1u);

  auto bad = read_jsonl(good + "\n{\"index\":1,\n" + good + "\n", "h.jsonl");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("h.jsonl:2: invalid JSON", 0), 0u) << bad.error().message;
}

TEST(Jsonl, NamesTheFieldThatIsWrong) {
  auto r = read_jsonl("\n{\"time\":1,\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n", "x.jsonl");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "x.jsonl:2: 'type' must be invoke, ok, fail or info, not 'done'");
  r = read_jsonl("{\"time\":1,\"type\":\"ok\",\"f\":\"read\"}\n", "x.jsonl");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "x.jsonl:1: missing 'process'");
  r = read_jsonl("[1,2]\n", "x.jsonl");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "x.jsonl:1: expected a JSON object");
  r = read_jsonl("{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":{\"a\":1}}\n", "x.jsonl");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("x.jsonl:1: 'value' must be"), std::string::npos);
}

TEST(Jsonl, FillsMissingIndexAndTime) {
  auto r = read_jsonl(
      "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
      "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":3}\n",
      "x");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[1].index, 1);
  EXPECT_EQ((*r)[1].time, 1);
  EXPECT_EQ((*r)[1].value, Value::of(3));
}

TEST(Edn, ReadsTheCorpusShape) {
  auto r = read_edn(
      "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n"
      "{:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n"
      "; a comment\n"
      "{:process :nemesis, :type :info, :f :start, :value [1 -2 nil :a \"s\"]}\n"
      "{:process 1, :type :fail, :f :cas, :value [1 2], :error :mismatch, :time 77}\n",
      "h.edn");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].f, "append");
  EXPECT_EQ((*r)[0].key, "0");
  EXPECT_EQ((*r)[0].value, Value::of("x 0 0 y"));
  EXPECT_EQ((*r)[1].type, Type::ok);
  EXPECT_EQ((*r)[2].process, kNemesis);
  EXPECT_EQ((*r)[2].value, Value::of(std::vector<Value>{Value::of(1), Value::of(-2), Value::null(),
                                                        Value::of("a"), Value::of("s")}));
  EXPECT_EQ((*r)[3].error, "mismatch");
  EXPECT_EQ((*r)[3].time, 77);
  EXPECT_EQ((*r)[2].time, 2);
}

TEST(Edn, ErrorsNameTheLineAndTruncationIsIgnored) {
  auto r = read_edn("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :bogus, :f :read}\n",
                    "h.edn");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "h.edn:2: :type must be :invoke, :ok, :fail or :info, not :bogus");
  r = read_edn(
      "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value [1 ",
      "h.edn");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 1u);
  r = read_edn("{:process 0 :type :invoke :f :read :value 1.5}\n", "h.edn");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "h.edn:1: unsupported number '1.5' (only integers)");
  r = read_edn("{:process 0 :type :invoke}\n", "h.edn");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "h.edn:1: missing :f");
  r = read_edn("\n\n[1 2]\n", "h.edn");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("h.edn:3: expected a map", 0), 0u);
  r = read_edn(std::string(100, '['), "deep.edn");
  ASSERT_FALSE(r);
}

TEST(JepsenLog, ReadsTabsSpacesCasAndTimeouts) {
  auto r = read_jepsen_log(
      "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
      "INFO  jepsen.core - something else entirely\n"
      "INFO  jepsen.util - 2   :invoke :cas    [1 2]\n"
      "INFO  jepsen.util - 0\t:ok\t:read\t3\n"
      "INFO  jepsen.util - 2   :info   :cas    :timed-out\n",
      "etcd.log");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].f, "read");
  EXPECT_TRUE((*r)[0].value.is_null());
  EXPECT_EQ((*r)[1].value, Value::of(std::vector<Value>{Value::of(1), Value::of(2)}));
  EXPECT_EQ((*r)[1].process, 2);
  EXPECT_EQ((*r)[2].value, Value::of(3));
  EXPECT_EQ((*r)[3].type, Type::info);
  EXPECT_TRUE((*r)[3].value.is_null());
  EXPECT_EQ((*r)[3].error, "timed-out");
  EXPECT_EQ((*r)[3].index, 3);
}

TEST(JepsenLog, ErrorsNameTheLine) {
  auto r = read_jepsen_log(
      "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
      "INFO  jepsen.util - x\t:ok\t:read\t3\n",
      "e.log");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "e.log:2: process 'x' is not a non-negative integer");
  r = read_jepsen_log("INFO  jepsen.util - 1\t:done\t:read\t3\n", "e.log");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "e.log:1: type must be :invoke, :ok, :fail or :info, not ':done'");
  r = read_jepsen_log("INFO  jepsen.util - 1\t:ok\t:read\t[3\n", "e.log");
  ASSERT_FALSE(r);
  r = read_jepsen_log("INFO  jepsen.util - 1\t:ok\t:read\t3 4\n", "e.log");
  ASSERT_FALSE(r);
  // A truncated last line is ignored.
  r = read_jepsen_log("INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:o", "e");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1u);
}

TEST(Format, ParseAndDetect) {
  EXPECT_EQ(parse_format("jsonl"), Format::jsonl);
  EXPECT_EQ(parse_format("edn"), Format::edn);
  EXPECT_EQ(parse_format("jepsen-log"), Format::jepsen_log);
  EXPECT_EQ(parse_format("xml"), std::nullopt);
  TempDir dir;
  auto write = [&](const char* name, const char* text) {
    std::ofstream(dir.path() / name) << text;
    return dir.path() / name;
  };
  EXPECT_EQ(detect_format(write("a.txt", "\n{:process 0}\n")), Format::edn);
  EXPECT_EQ(detect_format(write("b.txt", "{\"process\":0}\n")), Format::jsonl);
  EXPECT_EQ(detect_format(write("c.txt", "INFO  jepsen.util - 0\t:ok\n")), Format::jepsen_log);
  EXPECT_EQ(detect_format(write("d.edn", "")), Format::edn);
  EXPECT_EQ(detect_format(dir.path() / "missing.jsonl"), Format::jsonl);
  auto r = read(dir.path() / "missing.jsonl", Format::jsonl);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("missing.jsonl: cannot open"), std::string::npos);
}

TEST(Writer, WritesEveryLineInIndexOrderFromManyThreads) {
  TempDir dir;
  auto w =
      Writer::open(dir.path() / "history.jsonl", {.buffer_bytes = 4096, .flush_interval = 5ms});
  ASSERT_TRUE(w) << w.error().message;
  constexpr int kThreads = 4, kPer = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        (*w)->append(make(i, t, i % 2 ? Type::ok : Type::invoke, "write", Value::of(i), "k"));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ((*w)->count(), kThreads * kPer);
  (*w)->close();
  EXPECT_EQ((*w)->append(make(0, 0, Type::invoke, "read", {})), -1);
  auto ops = read(dir.path() / "history.jsonl", Format::jsonl);
  ASSERT_TRUE(ops) << ops.error().message;
  ASSERT_EQ(ops->size(), size_t{kThreads * kPer});
  for (size_t i = 0; i < ops->size(); ++i) ASSERT_EQ((*ops)[i].index, static_cast<int64_t>(i));
}

TEST(Writer, FlushesOnItsIntervalWithoutFurtherAppends) {
  TempDir dir;
  auto path = dir.path() / "h.jsonl";
  auto w = Writer::open(path, {.buffer_bytes = 1 << 20, .flush_interval = 10ms});
  ASSERT_TRUE(w);
  (*w)->append(make(1, 0, Type::invoke, "read", {}));
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (slurp(path).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(slurp(path),
            R"({"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null})"
            "\n");
}

TEST(Writer, AKilledWriterLeavesAReadableFile) {
  TempDir dir;
  auto path = dir.path() / "h.jsonl";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = Writer::open(path, {.buffer_bytes = 512, .flush_interval = 1ms});
    if (!w) ::_exit(2);
    for (int64_t i = 0;; ++i) (*w)->append(make(i, 0, Type::invoke, "write", Value::of(i)));
  }
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto size = [&] {
    std::error_code ec;
    auto n = fs::file_size(path, ec);
    return ec ? 0 : n;
  };
  while (size() < 100000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  auto ops = read(path, Format::jsonl);
  ASSERT_TRUE(ops) << ops.error().message;
  EXPECT_GT(ops->size(), 100u);
}

TEST(Writer, OpenFailsWithTheReason) {
  auto w = Writer::open("/nonexistent-dir/h.jsonl");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("/nonexistent-dir/h.jsonl: cannot open for writing"),
            std::string::npos);
}

TEST(Compact, PairsInvokesWithCompletions) {
  std::vector<Op> ops = {
      make(1, 0, Type::invoke, "write", Value::of(1), "x"),
      make(2, 1, Type::invoke, "cas", Value::of(std::vector<Value>{Value::of(1), Value::of(2)}),
           "y"),
      make(3, kNemesis, Type::info, "kill", {}),
      make(4, 0, Type::ok, "write", Value::of(1), "x"),
      make(5, 1, Type::info, "cas", {}, "y"),
      make(6, 2, Type::invoke, "read", {}, "x"),
  };
  for (size_t i = 0; i < ops.size(); ++i) ops[i].index = static_cast<int64_t>(i);
  auto c = compact(ops);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->ops.size(), 3u);
  EXPECT_EQ(c->nemesis_ops, 1u);
  EXPECT_EQ(c->ops[0].call, 1);
  EXPECT_EQ(c->ops[0].ret, 4);
  EXPECT_EQ(c->ops[0].outcome, Type::ok);
  EXPECT_EQ(c->keys[c->ops[0].key], "x");
  EXPECT_EQ(c->values[c->ops[1].a], Value::of(1));
  EXPECT_EQ(c->values[c->ops[1].b], Value::of(2));
  EXPECT_EQ(c->ops[1].ret, kNever);
  EXPECT_EQ(c->ops[2].outcome, Type::info);
  EXPECT_EQ(c->functions[c->ops[2].f], "read");
  EXPECT_EQ(c->ops[0].a, c->values.find(Value::of(1)));
}

TEST(Compact, RejectsMalformedPairings) {
  std::vector<Op> ops = {make(1, 0, Type::ok, "read", {})};
  ops[0].index = 7;
  auto c = compact(ops);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            "op index 7 (process 0, ok read): completion without a pending invoke");
  ops = {make(1, 0, Type::invoke, "read", {}), make(2, 0, Type::invoke, "read", {})};
  ops[0].index = 0;
  ops[1].index = 1;
  c = compact(ops);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("still pending"), std::string::npos);
  ops = {make(5, 0, Type::invoke, "read", {}), make(2, 0, Type::ok, "read", {})};
  c = compact(ops);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("before its invoke"), std::string::npos);
}

TEST(Compact, ReadCompactKeepsWhatReportsNeed) {
  const std::string text =
      R"({"index":0,"time":10,"process":0,"type":"invoke","f":"cas","key":"k","value":[1,2]})"
      "\n"
      R"({"index":1,"time":11,"process":"nemesis","type":"info","f":"kill"})"
      "\n"
      R"({"index":2,"time":12,"process":0,"type":"fail","f":"cas","key":"k","value":[1,2],)"
      R"("error":"precondition failed"})"
      "\n"
      R"({"index":3,"time":13,"process":1,"type":"invoke","f":"write","value":"v"})"
      "\n"
      R"({"index":4,"time":14,"process":1,"type":"fail","f":"write","value":"v","error":"READONLY"})"
      "\n"
      R"({"index":5,"time":15,"process":2,"type":"invoke","f":"read"})"
      "\n"
      R"({"index":6,"time":16,"process":2,"type":"info","f":"read","error":"timeout"})"
      "\n";
  auto c = read_compact(text, Format::jsonl, "h.jsonl");
  ASSERT_TRUE(c) << c.error().message;
  auto ops = read_jsonl(text, "h.jsonl");
  ASSERT_TRUE(ops);
  ASSERT_EQ(c->ops.size(), 3u);
  EXPECT_EQ(c->nemesis_ops, 1u);
  // Each invoke and completion comes back as the line it was read from.
  const size_t source[3][2] = {{0, 2}, {3, 4}, {5, 6}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(to_json_line(invoke_op(*c, c->ops[i])), to_json_line((*ops)[source[i][0]]));
    auto done = completion_op(*c, c->ops[i]);
    ASSERT_TRUE(done);
    Op want = (*ops)[source[i][1]];
    if (want.type == Type::info) want.value = Value::null();  // info's value is not kept
    EXPECT_EQ(to_json_line(*done), to_json_line(want));
  }
  EXPECT_TRUE(c->ops[0].pair);
  EXPECT_TRUE(c->ops[0].echo);  // the fail came back with [1,2]: not interned again
  EXPECT_EQ(c->ops[0].out, 0u);
  EXPECT_TRUE(c->ops[0].precondition);
  EXPECT_FALSE(c->ops[0].refused);
  EXPECT_TRUE(c->ops[1].refused);
  EXPECT_EQ(c->ops[2].ret, kNever);
  EXPECT_EQ(c->ops[2].done, 16);
  EXPECT_EQ(c->errors[c->ops[2].error], "timeout");
  EXPECT_EQ(c->ops[2].complete(), 6);

  // Errors name the source.
  auto bad = read_compact(R"({"process":0,"type":"ok","f":"read"})", Format::jsonl, "b.jsonl");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("b.jsonl: op index 0"), std::string::npos)
      << bad.error().message;
}

TEST(Compact, ReadCompactFromAFileMatchesTheText) {
  auto path = std::filesystem::temp_directory_path() /
              ("fl-compact-" + std::to_string(::getpid()) + ".jsonl");
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    text += R"({"time":)" + std::to_string(2 * i) + R"(,"process":)" + std::to_string(i % 7) +
            R"(,"type":"invoke","f":"write","key":"k)" + std::to_string(i % 13) + R"(","value":)" +
            std::to_string(i) + "}\n";
    text += R"({"time":)" + std::to_string(2 * i + 1) + R"(,"process":)" + std::to_string(i % 7) +
            R"(,"type":"ok","f":"write","key":"k)" + std::to_string(i % 13) + R"(","value":)" +
            std::to_string(i) + "}\n";
  }
  text += R"({"time":1,"proc)";  // a killed run's last line
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  auto a = read_compact(path, Format::jsonl);
  auto b = read_compact(text, Format::jsonl, "t");
  std::filesystem::remove(path);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_EQ(a->ops.size(), 5000u);
  ASSERT_EQ(b->ops.size(), 5000u);
  for (size_t i = 0; i < 5000; ++i) {
    EXPECT_EQ(a->ops[i].invoke, static_cast<int64_t>(2 * i));
    EXPECT_EQ(a->ops[i].complete(), static_cast<int64_t>(2 * i + 1));
    EXPECT_EQ(a->values[a->ops[i].a], Value::of(static_cast<int64_t>(i)));
    EXPECT_EQ(a->ops[i].out, a->ops[i].a);
    EXPECT_EQ(a->keys[a->ops[i].key], b->keys[b->ops[i].key]);
  }
  auto missing = read_compact(std::filesystem::path("/nonexistent/h.jsonl"), Format::jsonl);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

TEST(Compact, ValueTableInternsByStructure) {
  ValueTable t;
  EXPECT_EQ(t.intern(Value::null()), 0u);
  std::vector<uint32_t> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back(t.intern(Value::of("v" + std::to_string(i))));
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(t.find(Value::of("v" + std::to_string(i))), ids[static_cast<size_t>(i)]);
    EXPECT_EQ(t[ids[static_cast<size_t>(i)]], Value::of("v" + std::to_string(i)));
  }
  auto l1 = Value::of(std::vector<Value>{Value::of(1), Value::of("1")});
  auto l2 = Value::of(std::vector<Value>{Value::of("1"), Value::of(1)});
  EXPECT_NE(t.intern(l1), t.intern(l2));
  EXPECT_EQ(t.intern(l1), t.find(l1));
  EXPECT_NE(t.intern(Value::of(1)), t.intern(Value::of("1")));
  EXPECT_EQ(t.find(Value::of("never")), kNoPosition);
  EXPECT_EQ(t.size(), 10000u + 5u);
  // Integers are stored as integers; their Values are made on demand and stay put.
  const uint32_t five = t.intern(Value::of(5));
  EXPECT_TRUE(t.is_integer(five));
  const Value& v = t[five];
  EXPECT_EQ(v, Value::of(5));
  EXPECT_EQ(&t[five], &v);
  ValueTable copy = t;
  EXPECT_EQ(copy.find(Value::of(5)), five);
  EXPECT_EQ(copy[five], Value::of(5));
  EXPECT_EQ(copy[ids[7]], Value::of("v7"));
}

}  // namespace
}  // namespace fl::history
