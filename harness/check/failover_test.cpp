#include "harness/check/failover.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/hash_ring.h"
#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;

// A key of each shard of `shards`, found by asking shard_of (the function the db uses).
std::vector<std::string> key_per_shard(int shards) {
  std::vector<std::string> out(static_cast<size_t>(shards));
  for (int i = 0; std::any_of(out.begin(), out.end(), [](auto& k) { return k.empty(); }); ++i) {
    std::string k = "k" + std::to_string(i);
    auto& slot = out[static_cast<size_t>(shard_of(k, shards))];
    if (slot.empty()) slot = k;
  }
  return out;
}

RunEvent master_fault(double at_ms, std::string node, int shard, std::string action = "kill") {
  RunEvent e;
  e.time = ms(at_ms);
  e.type = "fault.start";
  e.node = std::move(node);
  e.action = std::move(action);
  e.shard = shard;
  e.role = "master";
  return e;
}

TEST(Failover, TimeToTheFirstOkWriteOnTheFaultedShardOnly) {
  const auto keys = key_per_shard(2);
  HistoryBuilder h;
  // Shard 1 keeps working throughout; its writes must not count for shard 0.
  h.key(keys[1]);
  for (int i = 0; i < 10; ++i) h.op(1, 100.0 * i, 100.0 * i + 5, Type::ok, "write", Value::of(i));
  h.key(keys[0]);
  h.op(2, 0, 5, Type::ok, "write", Value::of(1));
  h.op(2, 100, 150, Type::info, "write", Value::of(2));   // during the failover
  h.op(3, 200, 210, Type::fail, "write", Value::of(3));   // -CLUSTERDOWN
  h.op(4, 250, 260, Type::ok, "read", {}, Value::of(1));  // a read is not a write
  h.op(5, 90, 700, Type::ok, "write", Value::of(4));      // invoked before the fault
  h.op(6, 600, 620, Type::ok, "write", Value::of(5));     // the first after it
  h.op(7, 630, 900, Type::ok, "cas", list({5, 6}));
  std::vector<RunEvent> events = {master_fault(100, "db-s0-r0", 0),
                                  {ms(100), "fault.end", "db-s0-r0", "", false, "kill", 0, ""}};
  FailoverOptions opts;
  opts.shards = 2;
  auto r = check_failover(Input{compacted(h.ops), events}, opts);
  ASSERT_EQ(r.verdict, Verdict::valid) << r.reason;
  ASSERT_EQ(r.failovers.size(), 1u);  // fault.end is not a fault
  EXPECT_EQ(r.failovers[0].after_ns, ms(520));
  EXPECT_EQ(r.median_ns, ms(520));
  EXPECT_EQ(r.max_ns, ms(520));
  ASSERT_EQ(r.shards.size(), 2u);
  EXPECT_EQ(r.shards[1].total, 10u);
  EXPECT_EQ(r.shards[1].ok, 10u);
  EXPECT_EQ(r.shards[0].total, 7u);
  EXPECT_EQ(r.shards[0].ok, 5u);

  opts.max_failover_ns = ms(500);
  auto strict = check_failover(Input{compacted(h.ops), events}, opts);
  EXPECT_EQ(strict.verdict, Verdict::invalid);
  EXPECT_NE(strict.reason.find("above the maximum"), std::string::npos) << strict.reason;
  opts.max_failover_ns = ms(600);
  EXPECT_EQ(check_failover(Input{compacted(h.ops), events}, opts).verdict, Verdict::valid);
}

TEST(Failover, MedianMaxAndFaultsThatAreNotMasterFaults) {
  const auto keys = key_per_shard(3);
  HistoryBuilder h;
  int p = 0;
  for (int s = 0; s < 3; ++s) {
    h.key(keys[static_cast<size_t>(s)]);
    // One ok write 100, 300, 200 ms after each shard's fault at 1000 ms.
    const double gap = s == 0 ? 100 : s == 1 ? 300 : 200;
    h.op(++p, 1000 + gap - 10, 1000 + gap, Type::ok, "add", Value::of(s));
  }
  std::vector<RunEvent> events = {master_fault(1000, "db-s0-r0", 0),
                                  master_fault(1000, "db-s1-r0", 1, "pause"),
                                  master_fault(1000, "db-s2-r0", 2, "terminate")};
  RunEvent slave = master_fault(1000, "db-s0-r1", 0);
  slave.role = "slave";
  RunEvent restart = master_fault(1000, "db-s0-r2", 0, "restart");
  events.push_back(slave);
  events.push_back(restart);
  FailoverOptions opts;
  opts.shards = 3;
  auto r = check_failover(Input{compacted(h.ops), events}, opts);
  ASSERT_EQ(r.failovers.size(), 3u);
  EXPECT_EQ(r.median_ns, ms(200));
  EXPECT_EQ(r.max_ns, ms(300));
  auto json = boost::json::parse(report_json(r)).as_object();
  EXPECT_EQ(json.at("failover_max_ns").as_int64(), ms(300));
  EXPECT_EQ(json.at("failovers").as_array().size(), 3u);
  EXPECT_EQ(json.at("shards").as_array().size(), 3u);
}

TEST(Failover, AShardWithNoOkWriteAfterItsFaultFailsAThreshold) {
  const auto keys = key_per_shard(2);
  HistoryBuilder h;
  h.key(keys[1]);
  h.op(1, 0, 5, Type::ok, "write", Value::of(1));
  h.op(1, 10, 1010, Type::info, "write", Value::of(2));
  std::vector<RunEvent> events = {master_fault(8, "db-s1-r0", 1)};
  FailoverOptions opts;
  opts.shards = 2;
  auto report_only = check_failover(Input{compacted(h.ops), events}, opts);
  EXPECT_EQ(report_only.verdict, Verdict::valid);
  ASSERT_EQ(report_only.failovers.size(), 1u);
  EXPECT_FALSE(report_only.failovers[0].after_ns);
  EXPECT_FALSE(report_only.max_ns);
  opts.max_failover_ns = ms(2000);
  auto r = check_failover(Input{compacted(h.ops), events}, opts);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_NE(r.reason.find("no ok write"), std::string::npos) << r.reason;
}

TEST(Failover, AFaultAfterTheLastWriteIsReportedNotJudged) {
  const auto keys = key_per_shard(2);
  HistoryBuilder h;
  h.key(keys[1]);
  h.op(1, 0, 5, Type::ok, "write", Value::of(1));
  h.op(2, 20, 25, Type::ok, "read", Value::of(1));  // reads after the fault do not count
  std::vector<RunEvent> events = {master_fault(8, "db-s1-r0", 1)};
  FailoverOptions opts;
  opts.shards = 2;
  opts.max_failover_ns = ms(2000);
  auto r = check_failover(Input{compacted(h.ops), events}, opts);
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  ASSERT_EQ(r.failovers.size(), 1u);
  EXPECT_FALSE(r.failovers[0].measured);
  EXPECT_FALSE(r.failovers[0].after_ns);
}

TEST(Failover, RegisteredByNameWithTheShardsOfTheSpec) {
  plan::CheckSpec spec;
  spec.kind = "failover";
  spec.shards = 4;
  spec.max_failover = std::chrono::seconds(2);
  auto c = make_checker(spec);
  ASSERT_TRUE(c) << c.error().message;
  HistoryBuilder h;
  h.key("a").op(1, 0, 5, Type::ok, "write", Value::of(1));
  std::vector<RunEvent> none;
  auto res = (*c)->check(Input{compacted(h.ops), none});
  EXPECT_EQ(res.name, "failover");
  EXPECT_EQ(res.verdict, Verdict::valid);
  EXPECT_EQ(boost::json::parse(res.details_json).at("shards").as_array().size(), 4u);
}

}  // namespace
}  // namespace fl::check
