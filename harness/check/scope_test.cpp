#include "harness/check/scope.h"

#include <gtest/gtest.h>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using history::Type;
using history::Value;
using testing::HistoryBuilder;

// Two workloads (even and odd processes) on one key: each one's operations are linearizable,
// together they are not, so the checker must see only the workload it is scoped to.
TEST(WorkloadOps, GivesTheCheckerOnlyItsWorkloadsOperations) {
  HistoryBuilder b;
  b.key("k")
      .op(0, 0, 1, Type::ok, "write", Value::of(1))
      .op(1, 0, 1, Type::ok, "write", Value::of(2))
      .op(0, 2, 3, Type::ok, "read", Value::null(), Value::of(1))
      .op(1, 4, 5, Type::ok, "read", Value::null(), Value::of(2))
      .op(3, 6, 7, Type::ok, "read", Value::null(), Value::of(2));
  const auto whole = testing::compacted(b.ops);
  plan::CheckSpec spec;
  spec.kind = "linearizable";
  spec.model = "register";
  auto checker = make_checker(spec);
  ASSERT_TRUE(checker);
  std::vector<RunEvent> events;
  EXPECT_EQ((*checker)->check({whole, events}).verdict, Verdict::invalid);
  const auto even = workload_ops(whole, 0, 2);
  const auto odd = workload_ops(whole, 1, 2);
  EXPECT_EQ(even.ops.size(), 2u);
  EXPECT_EQ(odd.ops.size(), 3u);
  for (const auto& op : odd.ops) EXPECT_EQ(op.process % 2, 1);
  EXPECT_EQ((*checker)->check({even, events}).verdict, Verdict::valid);
  EXPECT_EQ((*checker)->check({odd, events}).verdict, Verdict::valid);
  EXPECT_EQ(workload_ops(whole, 0, 1).ops.size(), whole.ops.size());
}

}  // namespace
}  // namespace fl::check
