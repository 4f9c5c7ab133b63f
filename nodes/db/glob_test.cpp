#include "nodes/db/glob.h"

#include <gtest/gtest.h>

namespace fl::db {
namespace {

TEST(GlobMatch, StarsAndQuestionMarks) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("key:*", "key:1"));
  EXPECT_FALSE(glob_match("key:*", "kez:1"));
  EXPECT_TRUE(glob_match("k?y", "key"));
  EXPECT_FALSE(glob_match("k?y", "ky"));
  EXPECT_TRUE(glob_match("*a*b*", "xxaxxbxx"));
  EXPECT_FALSE(glob_match("*a*b", "xxbxxa"));
  EXPECT_TRUE(glob_match("a*", "a"));
  EXPECT_FALSE(glob_match("", "a"));
}

TEST(GlobMatch, ClassesAndEscapes) {
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[ae]llo", "hillo"));
  EXPECT_TRUE(glob_match("h[^e]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-c]llo", "hbllo"));
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
}

TEST(GlobMatch, NoCase) {
  EXPECT_TRUE(glob_match("SAVE", "save", true));
  EXPECT_FALSE(glob_match("SAVE", "save", false));
}

TEST(GlobMatch, PathologicalPatternIsFast) {
  const std::string text(5000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
}

}  // namespace
}  // namespace fl::db
