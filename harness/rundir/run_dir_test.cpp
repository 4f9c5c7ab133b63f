#include "harness/rundir/run_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace fl::rundir {
namespace {
namespace fs = std::filesystem;

class RunDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fl-rundir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path root_;
};

TEST_F(RunDirTest, NamesRunsByPlanAndTimeAndNeverReusesOne) {
  auto a = create("demo", std::nullopt, root_ / "runs");
  auto b = create("demo", std::nullopt, root_ / "runs");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->filename().string().rfind("demo-", 0), 0u);
  // demo-yyyymmddThhmmss
  EXPECT_EQ(a->filename().string().size(), std::string("demo-20261127T225040").size());
  EXPECT_TRUE(fs::is_directory(*a));
}

TEST_F(RunDirTest, OutMustBeNewOrEmpty) {
  auto fresh = create("demo", root_ / "out", root_);
  ASSERT_TRUE(fresh);
  std::ofstream(root_ / "out" / "results.json") << "{}";
  auto again = create("demo", root_ / "out", root_);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("never overwritten"), std::string::npos);
}

TEST_F(RunDirTest, AtomicWriteReplacesWholeFile) {
  auto p = root_ / "cluster.json";
  ASSERT_TRUE(write_atomic(p, "{\"a\":1}"));
  ASSERT_TRUE(write_atomic(p, "{\"b\":2}"));
  EXPECT_EQ(slurp(p), "{\"b\":2}");
  for (auto& e : fs::directory_iterator(root_)) EXPECT_EQ(e.path().filename(), "cluster.json");
  EXPECT_FALSE(write_atomic(root_ / "missing" / "x.json", "{}"));
}

TEST_F(RunDirTest, PlanAsRunCarriesTheSeed) {
  EXPECT_EQ(plan_as_run("name = \"x\"\n", true, 7), "name = \"x\"\n");
  EXPECT_EQ(plan_as_run("name = \"x\"\n", false, 7).rfind("seed = 7", 0), 0u);
}

TEST_F(RunDirTest, JsonLinesAppendsWholeLines) {
  JsonLines j;
  ASSERT_TRUE(j.open(root_ / "events.jsonl"));
  j.append("{\"n\":1}");
  j.append("{\"n\":2}");
  j.close();
  EXPECT_EQ(slurp(root_ / "events.jsonl"), "{\"n\":1}\n{\"n\":2}\n");
}

}  // namespace
}  // namespace fl::rundir
