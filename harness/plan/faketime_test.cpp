#include "harness/plan/faketime.h"

#include <gtest/gtest.h>

#include "harness/plan/plan.h"

namespace fl::plan {
namespace {

std::string errors_of(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors) out += d.str() + "\n";
  return out;
}

const Instance* find(const std::vector<Instance>& all, std::string_view id) {
  for (const Instance& i : all) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

TEST(Faketime, ANodeWithFaketimeRunsUnderTheLibrary) {
  const auto lib = find_libfaketime();
  if (!lib) GTEST_SKIP() << "libfaketime is not installed";
  auto r = load_plan_string(R"(
name = "ft"
[[node]]
id = "clocky"
command = ["sleep", "100"]
faketime = true
env = { FAKETIME_NO_CACHE = "0", LD_PRELOAD = "/opt/mine.so" }
[[node]]
id = "plain"
command = ["sleep", "100"]
)",
                            "ft.toml");
  ASSERT_TRUE(r.plan) << errors_of(r);
  const auto instances = r.plan->instances();
  const Instance* clocky = find(instances, "clocky");
  const Instance* plain = find(instances, "plain");
  ASSERT_TRUE(clocky && plain);
  EXPECT_EQ(clocky->env.at("LD_PRELOAD"), lib->string() + ":/opt/mine.so");
  EXPECT_EQ(clocky->env.at("FAKETIME_TIMESTAMP_FILE"), "{dir}/../faketime.rc");
  EXPECT_EQ(clocky->env.at("FAKETIME_NO_CACHE"), "0");  // the plan's own value wins
  EXPECT_FALSE(plain->env.contains("LD_PRELOAD"));
  for (const NodeSpec& n : r.plan->nodes) {
    EXPECT_EQ(n.faketime, n.id == "clocky") << n.id;
  }
}

TEST(Faketime, DefaultsWhenThePlanSetsNothing) {
  NodeSpec spec;
  add_faketime_env(spec, "/lib/ft.so");
  EXPECT_EQ(spec.env.at("LD_PRELOAD"), "/lib/ft.so");
  EXPECT_EQ(spec.env.at("FAKETIME_NO_CACHE"), "1");
  EXPECT_EQ(spec.env.at("FAKETIME_TIMESTAMP_FILE"), "{dir}/../faketime.rc");
}

TEST(Faketime, MustBeABoolean) {
  auto r = load_plan_string(R"(
name = "ft"
[[node]]
id = "clocky"
command = ["sleep", "100"]
faketime = "yes"
)",
                            "ft.toml");
  EXPECT_FALSE(r.plan);
  EXPECT_NE(errors_of(r).find("faketime"), std::string::npos) << errors_of(r);
}

}  // namespace
}  // namespace fl::plan

namespace fl::plan {
namespace {

// The shipped clock plan loads, with its clock faults as written.
TEST(ClockSkewPlan, Loads) {
  auto r = load_plan_file(std::string(FL_SOURCE_DIR) + "/plans/clock-skew.toml");
  ASSERT_TRUE(r.plan) << errors_of(r);
  int clocks = 0;
  for (const FaultSpec& f : r.plan->faults) {
    if (f.action != FaultAction::clock) continue;
    ++clocks;
    EXPECT_GT(f.clock_rate, 0);
  }
  EXPECT_EQ(clocks, 2);
}

}  // namespace
}  // namespace fl::plan
