#include "harness/load/workload.h"

#include <gtest/gtest.h>

#include <set>

#include "harness/load/runner.h"

namespace fl::load {
namespace {

using history::Type;
using history::Value;
using RV = resp::Value;

plan::WorkloadSpec spec_of(std::string kind, std::map<std::string, double> mix = {}) {
  plan::WorkloadSpec s;
  s.kind = std::move(kind);
  s.keys = 5;
  s.mix = std::move(mix);
  return s;
}

struct Fixture {
  explicit Fixture(plan::WorkloadSpec s)
      : spec(std::move(s)), workload(*make_workload(spec)), keys(make_key_chooser(spec)) {}
  Operation next(bool warmup = false) { return workload->next(rng, *keys, 7, warmup); }
  Outcome reply(const Operation& op, const RV& v) { return workload->interpret(op, v).outcome; }
  plan::WorkloadSpec spec;
  std::unique_ptr<Workload> workload;
  std::unique_ptr<KeyChooser> keys;
  Rng rng{42};
};

TEST(Workloads, RegistryKnowsEveryKind) {
  for (auto name : {"register", "set", "counter", "kv-mix", "queue"}) {
    ASSERT_NE(find_workload(name), nullptr) << name;
    EXPECT_TRUE(make_workload(spec_of(name))) << name;
  }
  EXPECT_EQ(find_workload("nope"), nullptr);
  EXPECT_FALSE(make_workload(spec_of("nope")));
}

TEST(Workloads, SameSeedSameOperations) {
  for (const auto& kind : workload_kinds()) {
    Fixture a(spec_of(std::string(kind.name))), b(spec_of(std::string(kind.name)));
    for (int i = 0; i < 200; ++i) {
      Operation x = a.next(), y = b.next();
      ASSERT_EQ(x.command, y.command) << kind.name;
      ASSERT_EQ(x.f, y.f);
    }
  }
}

TEST(Register, WritesAreUniqueAndCasExpectsTheLastKnownValue) {
  Fixture fx(spec_of("register"));
  std::set<int64_t> written;
  int reads = 0, writes = 0, cas = 0;
  for (int i = 0; i < 600; ++i) {
    Operation op = fx.next();
    ASSERT_TRUE(op.key);
    EXPECT_EQ(*op.key, "k" + std::to_string(op.key_index));
    if (op.f == "read") {
      ++reads;
      EXPECT_TRUE(op.read_only);
      EXPECT_EQ(op.command, (Command{"GET", *op.key}));
      EXPECT_TRUE(op.value.is_null());
    } else if (op.f == "write") {
      ++writes;
      EXPECT_FALSE(op.read_only);
      EXPECT_TRUE(written.insert(op.value.integer).second);
      EXPECT_EQ(op.command, (Command{"SET", *op.key, std::to_string(op.value.integer)}));
    } else {
      ASSERT_EQ(op.f, "cas");
      ++cas;
      ASSERT_EQ(op.value.kind, Value::Kind::list);
      int64_t expected = op.value.list[0].integer, now = op.value.list[1].integer;
      EXPECT_TRUE(written.insert(now).second);
      EXPECT_EQ(op.command,
                (Command{"SET", *op.key, std::to_string(now), "IFEQ", std::to_string(expected)}));
    }
    // Every write succeeds, so a cas on a key expects that key's latest value.
    Outcome out{Type::ok, op.f == "read" ? Value::null() : op.value, {}};
    fx.workload->completed(op, out);
  }
  EXPECT_GT(reads, 150);
  EXPECT_GT(writes, 150);
  EXPECT_GT(cas, 150);
}

TEST(Register, RepliesMeanWhatTheHistoryNeeds) {
  Fixture fx(spec_of("register", {{"read", 1}}));
  Operation read = fx.next();
  ASSERT_EQ(read.f, "read");
  EXPECT_EQ(fx.reply(read, RV::nil()).type, Type::ok);
  EXPECT_TRUE(fx.reply(read, RV::nil()).value.is_null());
  auto v = fx.reply(read, RV::bulk("17"));
  EXPECT_EQ(v.type, Type::ok);
  EXPECT_EQ(v.value, Value::of(int64_t{17}));
  EXPECT_EQ(fx.reply(read, RV::bulk("x17")).type, Type::fail);  // a read that makes no sense
  EXPECT_EQ(fx.reply(read, RV::err("ERR boom")).type, Type::fail);
  EXPECT_EQ(fx.reply(read, RV::err("ERR boom")).error, "ERR boom");

  Fixture wx(spec_of("register", {{"write", 1}}));
  Operation write = wx.next();
  EXPECT_EQ(wx.reply(write, RV::simple("OK")).type, Type::ok);
  EXPECT_EQ(wx.reply(write, RV::simple("OK")).value, write.value);
  EXPECT_EQ(wx.reply(write, RV::err("READONLY not master")).type, Type::fail);
  EXPECT_EQ(wx.reply(write, RV::err("NOQUORUM only 1 of 3")).type, Type::info);
  // An LB or cache that forwarded it and got no answer: it may have been applied.
  EXPECT_EQ(wx.reply(write, RV::err("TIMEOUT backend cache-1 did not answer")).type, Type::info);
  EXPECT_EQ(wx.reply(write, RV::err("TIMEOUTS are not a code")).type, Type::fail);
  EXPECT_EQ(fx.reply(read, RV::err("TIMEOUT backend cache-1 did not answer")).type, Type::fail);
  EXPECT_EQ(wx.reply(write, RV::integer_value(1)).type, Type::info);  // odd: may have applied

  Fixture cx(spec_of("register", {{"cas", 1}}));
  Operation cas = cx.next();
  EXPECT_EQ(cx.reply(cas, RV::simple("OK")).type, Type::ok);
  auto failed = cx.reply(cas, RV::nil());
  EXPECT_EQ(failed.type, Type::fail);  // the register did not hold `expected`
  EXPECT_EQ(failed.value, cas.value);
}

TEST(Register, WarmupStaysOffTheRecordedKeysAndFinalReadsCoverEveryKey) {
  Fixture fx(spec_of("register"));
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(fx.next(true).key->starts_with("warmup:k"));
  std::vector<std::string> finals;
  while (auto op = fx.workload->final_op(3)) {
    EXPECT_EQ(op->f, "read");
    finals.push_back(*op->key);
  }
  EXPECT_EQ(finals, (std::vector<std::string>{"k0", "k1", "k2", "k3", "k4"}));
  EXPECT_FALSE(fx.workload->final_op(3));
  EXPECT_EQ(fx.workload->setup().size(), 5u);
  EXPECT_EQ(fx.workload->setup()[0], (Command{"DEL", "k0"}));
}

TEST(Set, AddsUniqueElementsAndReadsSortedLists) {
  Fixture fx(spec_of("set"));
  std::set<int64_t> added;
  for (int i = 0; i < 100; ++i) {
    Operation op = fx.next();
    if (op.f == "add") {
      EXPECT_TRUE(added.insert(op.value.integer).second);
      EXPECT_EQ(op.command[0], "SADD");
      EXPECT_EQ(fx.reply(op, RV::integer_value(1)).type, Type::ok);
    } else {
      EXPECT_EQ(op.f, "read");
      EXPECT_EQ(op.command[0], "SMEMBERS");
    }
  }
  Fixture rx(spec_of("set", {{"read", 1}}));
  Operation read = rx.next();
  auto out = rx.reply(read, RV::array({RV::bulk("9"), RV::bulk("2"), RV::bulk("5")}));
  EXPECT_EQ(out.type, Type::ok);
  EXPECT_EQ(out.value, Value::of(std::vector<Value>{Value::of(int64_t{2}), Value::of(int64_t{5}),
                                                    Value::of(int64_t{9})}));
  EXPECT_EQ(rx.reply(read, RV::array({})).value, Value::of(std::vector<Value>{}));
  EXPECT_EQ(rx.reply(read, RV::array({RV::bulk("zz")})).type, Type::fail);
  int finals = 0;
  while (auto op = rx.workload->final_op(0)) finals += op->command[0] == "SMEMBERS";
  EXPECT_EQ(finals, 5);
}

TEST(Counter, AddsSmallIncrementsAndReadsAbsentAsZero) {
  Fixture fx(spec_of("counter", {{"add", 1}}));
  Operation add = fx.next();
  EXPECT_EQ(add.f, "add");
  EXPECT_EQ(add.command[0], "INCRBY");
  EXPECT_GE(add.value.integer, 1);
  EXPECT_LE(add.value.integer, 5);
  EXPECT_EQ(add.command[2], std::to_string(add.value.integer));
  EXPECT_EQ(fx.reply(add, RV::integer_value(12)).type, Type::ok);
  EXPECT_EQ(fx.reply(add, RV::integer_value(12)).value, add.value);
  Fixture rx(spec_of("counter", {{"read", 1}}));
  Operation read = rx.next();
  EXPECT_EQ(rx.reply(read, RV::nil()).value, Value::of(int64_t{0}));
  EXPECT_EQ(rx.reply(read, RV::bulk("12")).value, Value::of(int64_t{12}));
}

TEST(KvMix, ValuesHaveTheSizeAndCarryTheirNumber) {
  auto spec = spec_of("kv-mix", {{"set", 1}});
  spec.value_size = 100;
  Fixture fx(spec);
  Operation set = fx.next();
  EXPECT_EQ(set.f, "set");
  ASSERT_EQ(set.command.size(), 3u);
  EXPECT_EQ(set.command[2].size(), 100u);
  EXPECT_TRUE(set.command[2].starts_with(std::to_string(set.value.integer) + ":"));
  EXPECT_EQ(fx.reply(set, RV::simple("OK")).type, Type::ok);
  // Warm-up uses the real keys (a performance workload wants warm caches).
  EXPECT_TRUE(fx.next(true).key->starts_with("kv"));
  Fixture gx(spec_of("kv-mix", {{"get", 1}}));
  Operation get = gx.next();
  EXPECT_EQ(gx.reply(get, RV::bulk(set.command[2])).value, set.value);
  EXPECT_EQ(gx.reply(get, RV::bulk("plain")).value, Value::of(std::string("plain")));
  EXPECT_FALSE(gx.workload->final_op(0));
}

TEST(Queue, EnqueueDequeueAndDrain) {
  Fixture fx(spec_of("queue", {{"enqueue", 1}}));
  Operation enq = fx.next();
  EXPECT_EQ(enq.f, "enqueue");
  EXPECT_EQ(enq.command, (Command{"XADD", *enq.key, "*", "v", std::to_string(enq.value.integer)}));
  EXPECT_EQ(fx.reply(enq, RV::bulk("1-0")).type, Type::ok);

  Fixture dx(spec_of("queue", {{"dequeue", 1}}));
  Operation deq = dx.next();
  EXPECT_EQ(deq.f, "dequeue");
  EXPECT_FALSE(deq.read_only);  // a timed-out dequeue may have taken an entry
  EXPECT_EQ(deq.command[0], "XREADGROUP");
  EXPECT_EQ(deq.command[3], "c7");
  auto empty = dx.workload->interpret(deq, RV::nil());
  EXPECT_EQ(empty.outcome.type, Type::ok);  // found empty: ok null, as the checkers read it
  EXPECT_TRUE(empty.outcome.value.is_null());
  EXPECT_TRUE(empty.followup.empty());
  RV entry = RV::array({RV::array(
      {RV::bulk(*deq.key),
       RV::array({RV::array({RV::bulk("5-1"), RV::array({RV::bulk("v"), RV::bulk("33")})})})})});
  auto got = dx.workload->interpret(deq, entry);
  EXPECT_EQ(got.outcome.type, Type::ok);
  EXPECT_EQ(got.outcome.value, Value::of(int64_t{33}));
  EXPECT_EQ(got.followup, (Command{"XACK", *deq.key, "fl", "5-1"}));
  EXPECT_EQ(dx.workload->interpret(deq, RV::array({RV::bulk("x")})).outcome.type, Type::info);

  // Draining: each queue is dequeued until it answers empty.
  int ops = 0;
  while (auto op = dx.workload->final_op(1)) {
    ASSERT_LT(++ops, 100);
    bool give_entry = ops <= 5;  // the first few get entries
    Outcome out = give_entry ? Outcome{Type::ok, Value::of(int64_t{ops}), {}}
                             : dx.workload->interpret(*op, RV::nil()).outcome;
    dx.workload->completed(*op, out);
  }
  EXPECT_EQ(ops, 10);
}

TEST(Mix, WeightsAreRespectedAndZeroMeansNever) {
  constexpr std::string_view kNames[] = {"a", "b", "c"};
  constexpr double kDefaults[] = {1, 1, 1};
  MixChooser m(kNames, kDefaults, {{"a", 3}, {"c", 1}});
  Rng rng(1);
  int counts[3] = {};
  for (int i = 0; i < 40000; ++i) ++counts[m.next(rng)];
  EXPECT_NEAR(counts[0], 30000, 600);
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[2], 10000, 600);
}

TEST(Validate, AcceptsDefaultsAndNamesTheBadField) {
  for (const auto& kind : workload_kinds()) EXPECT_TRUE(validate(spec_of(std::string(kind.name))));
  auto expect_error = [](plan::WorkloadSpec s, std::string_view needle) {
    auto r = validate(s);
    ASSERT_FALSE(r) << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  expect_error(spec_of("bogus"), "workload kind 'bogus' is unknown");
  expect_error(spec_of("register", {{"add", 1}}), "'add' is not an operation of the register");
  expect_error(spec_of("set", {{"add", 0}, {"read", 0}}), "at least one weight");
  expect_error(spec_of("set", {{"add", -1}}), "non-negative");
  auto s = spec_of("register");
  s.rate = 0;
  expect_error(s, "rate");
  s = spec_of("register");
  s.concurrency = 0;
  expect_error(s, "concurrency");
  s = spec_of("register");
  s.pipeline = 0;
  expect_error(s, "pipeline");
  s = spec_of("register");
  s.keys = 0;
  expect_error(s, "keys");
  s = spec_of("register");
  s.distribution = plan::KeyDistribution::zipfian;
  s.skew = 0;
  expect_error(s, "skew");
  s = spec_of("register");
  s.distribution = plan::KeyDistribution::hotspot;
  s.hot_keys = 0;
  expect_error(s, "hot_keys");
  s = spec_of("register");
  s.timeout = std::chrono::nanoseconds(0);
  expect_error(s, "timeout");
  s = spec_of("register");
  s.mode = plan::LoadMode::closed;
  s.rate = 0;  // rate does not matter in closed loop
  EXPECT_TRUE(validate(s));
}

}  // namespace
}  // namespace fl::load
