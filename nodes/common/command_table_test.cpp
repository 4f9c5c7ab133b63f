#include "nodes/common/command_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/resp/resp.h"

namespace fl::nodes {
namespace {

class CommandTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_.add("GET", 2, [this](CommandContext& ctx) {
      ++calls_;
      ctx.out.bulk(ctx.argv[1]);
    });
    table_.add("del", -2, [](CommandContext& ctx) {
      ctx.out.integer(static_cast<int64_t>(ctx.argv.size() - 1));
    });
    table_.add("quit", 1, [](CommandContext& ctx) {
      ctx.session.after = AfterReply::close;
      ctx.out.simple("OK");
    });
  }

  std::string run(std::vector<std::string_view> argv) {
    std::string out;
    resp::Writer w(out);
    table_.dispatch(argv, w, session_);
    return out;
  }

  CommandTable table_;
  Session session_;
  int calls_ = 0;
};

TEST_F(CommandTableTest, DispatchesCaseInsensitively) {
  EXPECT_EQ(run({"get", "k"}), "$1\r\nk\r\n");
  EXPECT_EQ(run({"GeT", "k"}), "$1\r\nk\r\n");
  EXPECT_EQ(run({"DEL", "a", "b"}), ":2\r\n");
  EXPECT_EQ(calls_, 2);
  EXPECT_TRUE(table_.contains("GET"));
  EXPECT_TRUE(table_.contains("Del"));
  EXPECT_FALSE(table_.contains("set"));
  EXPECT_EQ(table_.size(), 3u);
}

TEST_F(CommandTableTest, ExactArityIsChecked) {
  EXPECT_EQ(run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run({"GET", "a", "b"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(calls_, 0);
}

TEST_F(CommandTableTest, MinimumArityIsChecked) {
  EXPECT_EQ(run({"DEL"}), "-ERR wrong number of arguments for 'del' command\r\n");
  EXPECT_EQ(run({"del", "a", "b", "c"}), ":3\r\n");
}

TEST_F(CommandTableTest, UnknownCommandNamesItAsRedisDoes) {
  EXPECT_EQ(run({"FOO"}), "-ERR unknown command 'FOO', with args beginning with: \r\n");
  EXPECT_EQ(run({"foo", "a", "b"}),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
}

TEST_F(CommandTableTest, HandlersCanCloseTheSession) {
  EXPECT_EQ(run({"QUIT"}), "+OK\r\n");
  EXPECT_EQ(session_.after, AfterReply::close);
}

TEST(IEquals, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(iequals("nx", "NX"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("nx", "xx"));
  EXPECT_FALSE(iequals("nx", "nxx"));
}

TEST_F(CommandTableTest, FallbackTakesUnregisteredNamesWithoutArityCheck) {
  table_.set_fallback([](CommandContext& ctx) { ctx.out.simple(std::string(ctx.argv[0])); });
  EXPECT_EQ(run({"NOSUCH"}), "+NOSUCH\r\n");
  EXPECT_EQ(run({"get", "k"}), "$1\r\nk\r\n");
  EXPECT_EQ(run({"get"}), "-ERR wrong number of arguments for 'get' command\r\n");
}

TEST_F(CommandTableTest, DeferredReplyIsReturnedAndCompletedOnce) {
  DeferredReply held;
  table_.add("later", 1, [&held](CommandContext& ctx) { held = ctx.defer(); });
  std::string out;
  resp::Writer w(out);
  const std::vector<std::string_view> argv = {"later"};
  auto pending = table_.dispatch(argv, w, session_);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(held.finished());
  held.complete("+first\r\n");
  held.complete("+second\r\n");
  EXPECT_TRUE(pending->done);
  EXPECT_EQ(pending->bytes, "+first\r\n");
  EXPECT_FALSE(table_.dispatch(std::vector<std::string_view>{"get", "k"}, w, session_));
}

TEST_F(CommandTableTest, EncodedReplyGoesToTheBufferOrBecomesACompletedDeferral) {
  table_.add("raw", 1, [](CommandContext& ctx) { ctx.reply_encoded(":7\r\n"); });
  const std::vector<std::string_view> argv = {"raw"};
  std::string out;
  resp::Writer w(out);
  EXPECT_FALSE(table_.dispatch(argv, w, session_, &out));
  EXPECT_EQ(out, ":7\r\n");
  out.clear();
  auto pending = table_.dispatch(argv, w, session_);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->done);
  EXPECT_EQ(pending->bytes, ":7\r\n");
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace fl::nodes
