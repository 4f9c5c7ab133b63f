#include "harness/check/linearizable.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/history/compact.h"

namespace fl::check {
namespace {

using history::Op;
using history::Type;
using history::Value;

// A tiny DSL: {process, type, f, value, [key]} with times = positions.
struct H {
  std::vector<Op> ops;
  H& add(int64_t p, Type t, std::string f, Value v = {}, std::optional<std::string> key = {}) {
    Op op;
    op.index = static_cast<int64_t>(ops.size());
    op.time = op.index;
    op.process = p;
    op.type = t;
    op.f = std::move(f);
    op.value = std::move(v);
    op.key = std::move(key);
    ops.push_back(std::move(op));
    return *this;
  }
};

Value pair(int64_t a, int64_t b) {
  return Value::of(std::vector<Value>{Value::of(a), Value::of(b)});
}
Value I(int64_t i) { return Value::of(i); }

LinearizableReport run(const std::vector<Op>& ops, std::string model = "cas-register") {
  auto c = history::compact(ops);
  EXPECT_TRUE(c) << c.error().message;
  LinearizableOptions o;
  o.model = std::move(model);
  o.threads = 2;
  auto r = check_linearizable(*c, o);
  EXPECT_TRUE(r) << r.error().message;
  return *r;
}

TEST(Verdicts, WorstAndNames) {
  EXPECT_EQ(to_string(Verdict::valid), "valid");
  EXPECT_EQ(to_string(Verdict::invalid), "invalid");
  EXPECT_EQ(to_string(Verdict::unknown), "unknown");
  EXPECT_EQ(worst(Verdict::valid, Verdict::unknown), Verdict::unknown);
  EXPECT_EQ(worst(Verdict::invalid, Verdict::unknown), Verdict::invalid);
  EXPECT_EQ(worst(Verdict::unknown, Verdict::invalid), Verdict::invalid);
  EXPECT_EQ(worst(Verdict::valid, Verdict::valid), Verdict::valid);
}

TEST(Register, StartsAbsent) {
  H h;
  h.add(0, Type::invoke, "read").add(0, Type::ok, "read", Value::null());
  EXPECT_EQ(run(h.ops).verdict, Verdict::valid);
  H bad;
  bad.add(0, Type::invoke, "read").add(0, Type::ok, "read", I(0));
  EXPECT_EQ(run(bad.ops).verdict, Verdict::invalid);
}

TEST(Register, ConcurrentWriteMayBeSeenOrNot) {
  H h;
  h.add(0, Type::invoke, "write", I(1))
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", I(1))
      .add(2, Type::invoke, "read")
      .add(2, Type::ok, "read", Value::null())
      .add(0, Type::ok, "write", I(1));
  // Read 1 then read null, both during the write: not linearizable (the write cannot be undone).
  EXPECT_EQ(run(h.ops).verdict, Verdict::invalid);
  H ok;
  ok.add(0, Type::invoke, "write", I(1))
      .add(2, Type::invoke, "read")
      .add(2, Type::ok, "read", Value::null())
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", I(1))
      .add(0, Type::ok, "write", I(1));
  EXPECT_EQ(run(ok.ops).verdict, Verdict::valid);
}

TEST(Register, StaleReadIsAViolationWithAWindow) {
  H h;
  h.add(0, Type::invoke, "write", I(1))
      .add(0, Type::ok, "write", I(1))
      .add(0, Type::invoke, "write", I(2))
      .add(0, Type::ok, "write", I(2))
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", I(1))
      .add(0, Type::invoke, "write", I(3))
      .add(0, Type::ok, "write", I(3));
  auto c = history::compact(h.ops);
  ASSERT_TRUE(c);
  auto r = check_linearizable(*c, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, Verdict::invalid);
  EXPECT_EQ(r->failing_op, 2u);  // the read
  EXPECT_EQ(r->prefix_ops, 2u);
  ASSERT_EQ(r->window.size(), 2u);  // write 2, then read 1: enough on their own
  EXPECT_FALSE(r->window_from_start);
  EXPECT_EQ(r->window[0].op, 1u);
  EXPECT_EQ(r->window[1].op, 2u);
  EXPECT_EQ(describe_op(*c, r->window[1]), "process 1: read -> ok 1  [index 4..5, time 4..5]");
  auto j = boost::json::parse(report_json(*c, *r)).as_object();
  EXPECT_EQ(j["verdict"].as_string(), "invalid");
  EXPECT_EQ(j["failing_window"].as_object()["ops"].as_array().size(), 2u);
}

TEST(CasRegister, FailedCasIsAnObservation) {
  H h;
  h.add(0, Type::invoke, "write", I(1))
      .add(0, Type::ok, "write", I(1))
      .add(1, Type::invoke, "cas", pair(1, 2))
      .add(1, Type::fail, "cas", pair(1, 2));
  EXPECT_EQ(run(h.ops).verdict, Verdict::invalid);
  H ok;
  ok.add(0, Type::invoke, "write", I(1))
      .add(0, Type::ok, "write", I(1))
      .add(1, Type::invoke, "cas", pair(3, 2))
      .add(1, Type::fail, "cas", pair(3, 2))
      .add(1, Type::invoke, "cas", pair(1, 2))
      .add(1, Type::ok, "cas", pair(1, 2))
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", I(2));
  EXPECT_EQ(run(ok.ops).verdict, Verdict::valid);
}

TEST(CasRegister, ARefusedCasObservedNothing) {
  // A cas the system refused (an error reply, not a precondition failure) did not happen and
  // says nothing about the register; one that failed its precondition is an observation.
  H h;
  h.add(0, Type::invoke, "write", I(1))
      .add(0, Type::ok, "write", I(1))
      .add(1, Type::invoke, "cas", pair(1, 2))
      .add(1, Type::fail, "cas", pair(1, 2));
  h.ops.back().error = "READONLY You can't write against a read only replica.";
  EXPECT_EQ(run(h.ops).verdict, Verdict::valid);
  h.ops.back().error = std::string(history::kPreconditionFailed);
  EXPECT_EQ(run(h.ops).verdict, Verdict::invalid);
}

TEST(CasRegister, InfoMayTakeEffectLaterOrNever) {
  H h;
  h.add(0, Type::invoke, "write", I(1))
      .add(0, Type::info, "write")
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", Value::null())
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", I(1))
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", I(1));
  EXPECT_EQ(run(h.ops).verdict, Verdict::valid);
  // ...but once seen it cannot be unseen.
  h.add(1, Type::invoke, "read").add(1, Type::ok, "read", Value::null());
  EXPECT_EQ(run(h.ops).verdict, Verdict::invalid);
}

TEST(CasRegister, FailedWritesAndReadsAreDropped) {
  H h;
  h.add(0, Type::invoke, "write", I(1))
      .add(0, Type::fail, "write", I(1))
      .add(1, Type::invoke, "read")
      .add(1, Type::fail, "read", I(7))
      .add(1, Type::invoke, "read")
      .add(1, Type::ok, "read", Value::null());
  auto r = run(h.ops);
  EXPECT_EQ(r.verdict, Verdict::valid);
  EXPECT_EQ(r.ops, 1u);
}

TEST(Kv, KeysAreIndependent) {
  H h;
  h.add(0, Type::invoke, "write", I(1), "a")
      .add(0, Type::ok, "write", I(1), "a")
      .add(1, Type::invoke, "read", {}, "b")
      .add(1, Type::ok, "read", Value::null(), "b")
      .add(1, Type::invoke, "read", {}, "a")
      .add(1, Type::ok, "read", I(1), "a");
  auto r = run(h.ops, "kv");
  EXPECT_EQ(r.verdict, Verdict::valid);
  EXPECT_EQ(r.keys, 2u);
  h.add(2, Type::invoke, "read", {}, "b").add(2, Type::ok, "read", I(1), "b");
  r = run(h.ops, "kv");
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.keys_invalid, 1u);
}

TEST(Models, RejectUnknownOpsAndModels) {
  H h;
  h.add(0, Type::invoke, "add", I(1)).add(0, Type::ok, "add", I(1));
  auto c = history::compact(h.ops);
  LinearizableOptions o;
  auto r = check_linearizable(*c, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "model cas-register: op index 0 has f 'add'; expected read (or get), write (or put, "
            "set) or cas");
  o.model = "queue";
  r = check_linearizable(*c, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown model 'queue'"), std::string::npos);
  H cas;
  cas.add(0, Type::invoke, "cas", I(1)).add(0, Type::ok, "cas", I(1));
  c = history::compact(cas.ops);
  o.model = "cas-register";
  r = check_linearizable(*c, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("must be [expected, new]"), std::string::npos);
  o.model = "register";
  r = check_linearizable(*c, o);
  ASSERT_FALSE(r);
}

TEST(KvAppend, AppendsConcatenate) {
  H h;
  h.add(0, Type::invoke, "append", Value::of("a"), "k")
      .add(1, Type::invoke, "append", Value::of("b"), "k")
      .add(0, Type::ok, "append", Value::of("a"), "k")
      .add(1, Type::ok, "append", Value::of("b"), "k")
      .add(2, Type::invoke, "get", {}, "k")
      .add(2, Type::ok, "get", Value::of("ba"), "k")
      .add(3, Type::invoke, "get", {}, "j")
      .add(3, Type::ok, "get", Value::of(""), "j");
  EXPECT_EQ(run(h.ops, "kv-append").verdict, Verdict::valid);
  h.add(2, Type::invoke, "put", Value::of("x"), "k")
      .add(2, Type::ok, "put", Value::of("x"), "k")
      .add(2, Type::invoke, "get", {}, "k")
      .add(2, Type::ok, "get", Value::of("ba"), "k");
  EXPECT_EQ(run(h.ops, "kv-append").verdict, Verdict::invalid);
}

TEST(Set, ReadsSeeEveryCompletedAdd) {
  auto list = [](std::vector<int64_t> xs) {
    std::vector<Value> v;
    for (auto x : xs) v.push_back(Value::of(x));
    return Value::of(std::move(v));
  };
  H h;
  h.add(0, Type::invoke, "add", I(1))
      .add(0, Type::ok, "add", I(1))
      .add(1, Type::invoke, "add", I(2))
      .add(0, Type::invoke, "read")
      .add(0, Type::ok, "read", list({1}))
      .add(0, Type::invoke, "read")
      .add(0, Type::ok, "read", list({2, 1}))
      .add(1, Type::ok, "add", I(2));
  EXPECT_EQ(run(h.ops, "set").verdict, Verdict::valid);
  h.add(0, Type::invoke, "read").add(0, Type::ok, "read", list({1}));
  EXPECT_EQ(run(h.ops, "set").verdict, Verdict::invalid);
}

TEST(FifoQueue, DequeuesInOrder) {
  H h;
  h.add(0, Type::invoke, "enqueue", I(1))
      .add(0, Type::ok, "enqueue", I(1))
      .add(0, Type::invoke, "enqueue", I(2))
      .add(0, Type::ok, "enqueue", I(2))
      .add(1, Type::invoke, "dequeue")
      .add(1, Type::ok, "dequeue", I(1))
      .add(1, Type::invoke, "dequeue")
      .add(1, Type::ok, "dequeue", I(2))
      .add(1, Type::invoke, "dequeue")
      .add(1, Type::ok, "dequeue", Value::null());
  EXPECT_EQ(run(h.ops, "fifo-queue").verdict, Verdict::valid);
  H bad;
  bad.add(0, Type::invoke, "enqueue", I(1))
      .add(0, Type::ok, "enqueue", I(1))
      .add(0, Type::invoke, "enqueue", I(2))
      .add(0, Type::ok, "enqueue", I(2))
      .add(1, Type::invoke, "dequeue")
      .add(1, Type::ok, "dequeue", I(2));
  EXPECT_EQ(run(bad.ops, "fifo-queue").verdict, Verdict::invalid);
}

TEST(Budget, ATinyBudgetSaysUnknownNeverAGuess) {
  // Many concurrent writes and a final read of a value none of them wrote: the search must
  // explore every order of the writes before it can say no, which a 0 budget does not allow.
  H h;
  for (int p = 0; p < 20; ++p) h.add(p, Type::invoke, "write", I(p));
  for (int p = 0; p < 20; ++p) h.add(p, Type::ok, "write", I(p));
  for (int p = 0; p < 20; ++p) {
    h.add(100 + p, Type::invoke, "read").add(100 + p, Type::ok, "read", I(p % 3));
  }
  auto c = history::compact(h.ops);
  LinearizableOptions o;
  o.time_budget = std::chrono::nanoseconds(0);
  auto r = check_linearizable(*c, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, Verdict::unknown);
  EXPECT_NE(r->reason.find("time budget"), std::string::npos);
  o.time_budget = std::chrono::seconds(60);
  o.memory_budget = 1;
  r = check_linearizable(*c, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, Verdict::unknown);
  EXPECT_NE(r->reason.find("memory budget"), std::string::npos);
}

TEST(Registry, MakesTheLinearizableChecker) {
  plan::CheckSpec spec;
  spec.kind = "linearizable";
  spec.model = "kv";
  auto c = make_checker(spec);
  ASSERT_TRUE(c) << c.error().message;
  H h;
  h.add(0, Type::invoke, "write", I(1), "a").add(0, Type::ok, "write", I(1), "a");
  h.add(0, Type::invoke, "read", {}, "a").add(0, Type::ok, "read", I(2), "a");
  std::vector<RunEvent> events;
  auto res = (*c)->check({*history::compact(h.ops), events});
  EXPECT_EQ(res.name, "linearizable");
  EXPECT_EQ(res.verdict, Verdict::invalid);
  EXPECT_EQ(res.summary.rfind("invalid: key 'a' is not linearizable", 0), 0u) << res.summary;
  EXPECT_TRUE(boost::json::parse(res.details_json).is_object());

  spec.model = "nope";
  EXPECT_FALSE(make_checker(spec));
  spec.kind = "nope";
  auto bad = make_checker(spec);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown checker kind 'nope'"), std::string::npos);
  EXPECT_EQ(checker_kinds().front(), "linearizable");

  // A malformed history is unknown, with the reason.
  spec.kind = "linearizable";
  spec.model = "";
  H broken;
  broken.add(0, Type::ok, "read", I(1));
  // A malformed history is the reader's error, before any checker.
  auto bc = history::compact(broken.ops);
  ASSERT_FALSE(bc);
  EXPECT_NE(bc.error().message.find("completion without a pending invoke"), std::string::npos);
}

// ---- the Porcupine corpus, through the library ----

std::filesystem::path corpus() {
  return std::filesystem::path(FL_SOURCE_DIR) / "tests/data/porcupine";
}

TEST(Corpus, AllExpectedVerdicts) {
  std::ifstream tsv(corpus() / "expected.tsv");
  ASSERT_TRUE(tsv) << "missing " << (corpus() / "expected.tsv");
  std::string line;
  int checked = 0, etcd = 0, kv = 0;
  while (std::getline(tsv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string file, model, expected;
    in >> file >> model >> expected;
    auto format = file.starts_with("jepsen/") ? history::Format::jepsen_log : history::Format::edn;
    auto ops = history::read(corpus() / file, format);
    ASSERT_TRUE(ops) << ops.error().message;
    auto c = history::compact(*ops);
    ASSERT_TRUE(c) << file << ": " << c.error().message;
    LinearizableOptions o;
    o.model = model;
    o.threads = 2;
    o.explain = expected == "invalid";
    auto r = check_linearizable(*c, o);
    ASSERT_TRUE(r) << file << ": " << r.error().message;
    EXPECT_EQ(to_string(r->verdict), expected) << file;
    if (r->verdict == Verdict::invalid) {
      EXPECT_FALSE(r->window.empty()) << file;
      EXPECT_NE(r->failing_op, history::kNoPosition) << file;
    }
    ++checked;
    (format == history::Format::jepsen_log ? etcd : kv)++;
  }
  EXPECT_EQ(checked, 108);
  EXPECT_EQ(etcd, 102);
  EXPECT_EQ(kv, 6);
}

TEST(Corpus, KvAsOneUnsplitMapAgrees) {
  for (std::string name : {"c01-ok", "c01-bad", "c10-ok", "c10-bad"}) {
    auto ops = history::read(corpus() / ("kv/" + name + ".txt"), history::Format::edn);
    ASSERT_TRUE(ops) << ops.error().message;
    auto c = history::compact(*ops);
    ASSERT_TRUE(c);
    LinearizableOptions o;
    o.model = "kv-append";
    o.split_keys = false;
    o.explain = false;
    auto r = check_linearizable(*c, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->keys, 1u);
    EXPECT_EQ(r->verdict, name.ends_with("ok") ? Verdict::valid : Verdict::invalid) << name;
  }
  auto c = history::compact({});
  LinearizableOptions o;
  o.model = "set";
  o.split_keys = false;
  EXPECT_FALSE(check_linearizable(*c, o));
}

}  // namespace
}  // namespace fl::check
