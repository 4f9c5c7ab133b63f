#include "harness/cli/sweep_plan.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

namespace fl::cli {
namespace {

constexpr std::string_view kPlan = R"(name = "p"
duration = "5s"

[cluster.db]
shards = 2

[cluster.cache]
capacity = "64"
ratio = 0.5

[[workload]]
name = "a"
kind = "register"
rate = 100

[[workload]]
name = "b"
kind = "set"
rate = 200
)";

toml::table set(std::string_view key, std::string_view value) {
  auto text = with_key_set(kPlan, key, value);
  EXPECT_TRUE(text) << (text ? "" : text.error().message);
  return text ? toml::parse(*text) : toml::table{};
}

std::string error_of(std::string_view key, std::string_view value,
                     std::string_view plan = kPlan) {
  auto text = with_key_set(plan, key, value);
  EXPECT_FALSE(text) << "no error for " << key << "=" << value;
  return text ? std::string() : text.error().message;
}

TEST(SweepPlan, SetsAnExistingKeyWithItsType) {
  const toml::table t = set("cluster.db.shards", "4");
  EXPECT_EQ(t.at_path("cluster.db.shards").value<int64_t>(), 4);
  EXPECT_TRUE(t.at_path("cluster.db.shards").is_integer());
  // Everything else is kept.
  EXPECT_EQ(t.at_path("name").value<std::string>(), "p");
  EXPECT_EQ(t.at_path("workload[1].rate").value<int64_t>(), 200);
}

TEST(SweepPlan, AStringKeyStaysAStringAndAFloatKeyAFloat) {
  EXPECT_EQ(set("cluster.cache.capacity", "128").at_path("cluster.cache.capacity").value<std::string>(),
            "128");
  const toml::table t = set("cluster.cache.ratio", "1");
  EXPECT_TRUE(t.at_path("cluster.cache.ratio").is_floating_point());
  EXPECT_EQ(t.at_path("cluster.cache.ratio").value<double>(), 1.0);
}

TEST(SweepPlan, ANewKeyIsTypedByHowItReads) {
  const toml::table t = set("cluster.lb.nodes", "3");
  EXPECT_TRUE(t.at_path("cluster.lb.nodes").is_integer());
  EXPECT_TRUE(set("seedx", "0.25").at_path("seedx").is_floating_point());
  EXPECT_TRUE(set("flag", "true").at_path("flag").is_boolean());
  EXPECT_EQ(set("cluster.lb.policy", "key-hash").at_path("cluster.lb.policy").value<std::string>(),
            "key-hash");
}

TEST(SweepPlan, AnElementOfAnArrayOfTablesByItsIndex) {
  const toml::table t = set("workload.1.rate", "500");
  EXPECT_EQ(t.at_path("workload[0].rate").value<int64_t>(), 100);
  EXPECT_EQ(t.at_path("workload[1].rate").value<int64_t>(), 500);
  EXPECT_NE(error_of("workload.rate", "5").find("workload.0.rate"), std::string::npos);
  EXPECT_NE(error_of("workload.2.rate", "5").find("array of 2"), std::string::npos);
}

TEST(SweepPlan, RefusesWhatCannotBeSet) {
  EXPECT_NE(error_of("cluster.db.shards", "two").find("needs an integer"), std::string::npos);
  EXPECT_NE(error_of("cluster.cache.ratio", "x").find("needs a number"), std::string::npos);
  EXPECT_NE(error_of("name.x", "1").find("'name' is a value"), std::string::npos);
  EXPECT_NE(error_of("cluster.db", "1").find("holds a table"), std::string::npos);
  EXPECT_NE(error_of("cluster..shards", "1").find("not a dotted key"), std::string::npos);
  EXPECT_NE(error_of("a", "1", "name = [").find("TOML syntax error"), std::string::npos);
}

TEST(SweepPlan, SplitsValues) {
  EXPECT_EQ(split_values("1,2,4"), (std::vector<std::string>{"1", "2", "4"}));
  EXPECT_EQ(split_values("1,,2"), (std::vector<std::string>{"1", "", "2"}));
  EXPECT_EQ(split_values("x"), (std::vector<std::string>{"x"}));
}

}  // namespace
}  // namespace fl::cli
