// The `log` workload's commands, reply interpretation and final phase (drain, then a replay in
// pages), without a broker.
#include <gtest/gtest.h>

#include "harness/load/workload.h"

namespace fl::load {
namespace {

using history::Type;
using history::Value;
using RV = resp::Value;

plan::WorkloadSpec log_spec(std::map<std::string, double> mix) {
  plan::WorkloadSpec s;
  s.kind = "log";
  s.keys = 4;
  s.mix = std::move(mix);
  return s;
}

struct Fixture {
  explicit Fixture(plan::WorkloadSpec s)
      : spec(std::move(s)), workload(*make_workload(spec)), keys(make_key_chooser(spec)) {}
  Operation next() { return workload->next(rng, *keys, 7, false); }
  plan::WorkloadSpec spec;
  std::unique_ptr<Workload> workload;
  std::unique_ptr<KeyChooser> keys;
  Rng rng{42};
};

RV entry(std::string id, std::string key, std::string v) {
  return RV::array({RV::bulk(std::move(id)), RV::array({RV::bulk("key"), RV::bulk(std::move(key)),
                                                        RV::bulk("v"), RV::bulk(std::move(v))})});
}

Value triple(std::string id, std::string key, int64_t v) {
  return Value::of(std::vector<Value>{Value::of(std::move(id)), Value::of(std::move(key)),
                                      Value::of(v)});
}

TEST(LogWorkload, SetupCreatesTheTopicAndItsGroup) {
  Fixture fx(log_spec({}));
  auto setup = fx.workload->setup();
  ASSERT_FALSE(setup.empty());
  EXPECT_EQ(setup[0], (Command{"DEL", "log"}));
  EXPECT_EQ(setup[1], (Command{"XGROUP", "CREATE", "log", "fl", "$", "MKSTREAM"}));
}

TEST(LogWorkload, ProduceRecordsKeyValueAndTheReplyId) {
  Fixture fx(log_spec({{"produce", 1}}));
  Operation a = fx.next(), b = fx.next();
  EXPECT_EQ(a.f, "produce");
  EXPECT_EQ(a.key, "log");
  ASSERT_EQ(a.value.list.size(), 2u);
  const std::string& mkey = a.value.list[0].string;
  const int64_t n = a.value.list[1].integer;
  EXPECT_NE(n, b.value.list[1].integer);  // unique values
  EXPECT_EQ(a.command, (Command{"XADD", "log", "*", "key", mkey, "v", std::to_string(n)}));
  auto ok = fx.workload->interpret(a, RV::bulk("2-15")).outcome;
  EXPECT_EQ(ok.type, Type::ok);
  EXPECT_EQ(ok.value, Value::of(std::vector<Value>{Value::of(mkey), Value::of(n),
                                                   Value::of(std::string("2-15"))}));
  EXPECT_EQ(fx.workload->interpret(a, RV::err("ERR no")).outcome.type, Type::fail);
  EXPECT_EQ(fx.workload->interpret(a, RV::integer_value(3)).outcome.type, Type::info);
}

TEST(LogWorkload, ConsumeListsEntriesAndAcknowledgesThem) {
  Fixture fx(log_spec({{"consume", 1}}));
  Operation c = fx.next();
  EXPECT_EQ(c.f, "consume");
  EXPECT_FALSE(c.read_only);
  EXPECT_EQ(c.command, (Command{"XREADGROUP", "GROUP", "fl", "c7", "COUNT", "10", "STREAMS", "log",
                                ">"}));
  auto none = fx.workload->interpret(c, RV::nil());
  EXPECT_EQ(none.outcome.type, Type::ok);
  EXPECT_EQ(none.outcome.value, Value::of(std::vector<Value>{}));
  EXPECT_TRUE(none.followup.empty());
  RV reply = RV::array(
      {RV::array({RV::bulk("log"), RV::array({entry("0-3", "k1", "9"), entry("2-0", "k0", "4")})})});
  auto got = fx.workload->interpret(c, reply);
  EXPECT_EQ(got.outcome.type, Type::ok);
  EXPECT_EQ(got.outcome.value,
            Value::of(std::vector<Value>{triple("0-3", "k1", 9), triple("2-0", "k0", 4)}));
  EXPECT_EQ(got.followup, (Command{"XACK", "log", "fl", "0-3", "2-0"}));
}

TEST(LogWorkload, FinalPhaseDrainsThenReplaysInChainedPages) {
  Fixture fx(log_spec({}));
  Workload& w = *fx.workload;
  // Drain: consumes until two in a row find nothing.
  auto d1 = w.final_op(1);
  ASSERT_TRUE(d1);
  EXPECT_EQ(d1->f, "consume");
  w.completed(*d1, {Type::ok, Value::of(std::vector<Value>{triple("0-0", "k0", 1)}), {}});
  for (int i = 0; i < 2; ++i) {
    auto d = w.final_op(1);
    ASSERT_TRUE(d);
    ASSERT_EQ(d->f, "consume");
    w.completed(*d, {Type::ok, Value::of(std::vector<Value>{}), {}});
  }
  // Replay page 1 from the start; another worker asking meanwhile gets nothing.
  auto p1 = w.final_op(1);
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->f, "replay");
  EXPECT_TRUE(p1->read_only);
  EXPECT_EQ(p1->command, (Command{"XRANGE", "log", "-", "+", "COUNT", "500"}));
  EXPECT_FALSE(w.final_op(2));
  std::vector<Value> full;
  for (int i = 0; i < 500; ++i) full.push_back(triple("0-" + std::to_string(i), "k0", i + 1));
  w.completed(*p1, {Type::ok, Value::of(full), {}});
  // Page 2 starts after the last ID seen; a failed page is tried again from the same place.
  auto p2 = w.final_op(1);
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->command[2], "(0-499");
  w.completed(*p2, {Type::fail, {}, "timeout"});
  auto p3 = w.final_op(1);
  ASSERT_TRUE(p3);
  EXPECT_EQ(p3->command[2], "(0-499");
  EXPECT_EQ(p3->value, Value::of(std::vector<Value>{Value::of(std::string("(0-499")),
                                                    Value::of(int64_t{500})}));
  w.completed(*p3, {Type::ok, Value::of(std::vector<Value>{triple("1-0", "k2", 77)}), {}});
  // A short page ends the replay.
  EXPECT_FALSE(w.final_op(1));
  EXPECT_FALSE(w.final_op(1));
}

}  // namespace
}  // namespace fl::load
