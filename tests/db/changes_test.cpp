// Change events and DIGEST on the real faultline-db: a shard's master publishes one XADD per
// written key to a fake broker (a RespServer in this process that records them) with the
// writing connection's client name as origin; slaves publish nothing; and every replica of a
// shard reports the same DIGEST once it has applied the same writes.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "common/resp/resp.h"
#include "nodes/common/resp_server.h"
#include "tests/db/db_cluster.h"

namespace fl::dbtest {
namespace {

using resp::Type;
using resp::Value;

// Records XADDs (argv after the name) and the CLIENT SETNAME names of its clients.
class FakeBroker {
 public:
  FakeBroker() {
    table_.add("xadd", -5, [this](nodes::CommandContext& c) {
      std::lock_guard lock(mu_);
      xadds_.emplace_back(c.argv.begin() + 1, c.argv.end());
      c.out.bulk("0-" + std::to_string(xadds_.size() - 1));
    });
    table_.add("client", -2, [this](nodes::CommandContext& c) {
      std::lock_guard lock(mu_);
      if (c.argv.size() == 3) names_.insert(std::string(c.argv[2]));
      c.out.simple("OK");
    });
    nodes::ServerOptions o;
    o.port = 0;
    o.handle_signals = false;
    server_ = std::make_unique<nodes::RespServer>(o, table_, stats_);
    auto port = server_->listen();
    if (!port) std::abort();
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }
  ~FakeBroker() {
    server_->post_stop();
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::vector<std::string>> xadds() {
    std::lock_guard lock(mu_);
    return xadds_;
  }
  std::set<std::string> names() {
    std::lock_guard lock(mu_);
    return names_;
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<std::string>> xadds_;
  std::set<std::string> names_;
  nodes::CommandTable table_;
  nodes::ServerStats stats_;
  std::unique_ptr<nodes::RespServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

// The value of `field` in an INFO reply, or "".
std::string info_field(const std::optional<Value>& info, const std::string& field) {
  if (!info || info->type != Type::bulk_string) return "";
  const std::string needle = field + ":";
  const size_t at = info->str.find(needle);
  if (at == std::string::npos) return "";
  const size_t end = info->str.find("\r\n", at);
  return info->str.substr(at + needle.size(), end - at - needle.size());
}

TEST(DbChanges, TheMasterPublishesOneEventPerWrittenKeyWithItsOrigin) {
  FakeBroker broker;
  DbCluster c(1, 3, {"--replication", "sync", "--broker", broker.address()});
  ASSERT_TRUE(c.start()) << c.logs();
  std::optional<size_t> master;
  ASSERT_TRUE(eventually([&] { return (master = c.master_of(0)).has_value(); })) << c.logs();
  const size_t m = *master;
  ASSERT_EQ(c.call(m, {"CLIENT", "SETNAME", "cache-9"}), Value::simple("OK"));
  ASSERT_TRUE(eventually([&] { return c.call(m, {"SET", "a", "1"}) == Value::simple("OK"); }));
  EXPECT_EQ(c.call(m, {"MSET", "b", "2", "c", "3"}), Value::simple("OK"));
  EXPECT_EQ(c.call(m, {"DEL", "a"}), Value::integer_value(1));
  ASSERT_TRUE(eventually([&] { return broker.xadds().size() >= 4; })) << c.logs();
  const auto xadds = broker.xadds();
  ASSERT_EQ(xadds.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"a", "set"}, {"b", "mset"}, {"c", "mset"}, {"a", "del"}};
  uint64_t last_index = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& x = xadds[i];
    ASSERT_EQ(x.size(), 12u);
    EXPECT_EQ(x[0], "changes");
    EXPECT_EQ(x[1], "*");
    EXPECT_EQ(x[2], "key");
    EXPECT_EQ(x[3], want[i].first) << i;
    EXPECT_EQ(x[4], "op");
    EXPECT_EQ(x[5], want[i].second) << i;
    EXPECT_EQ(x[6], "shard");
    EXPECT_EQ(x[7], "0");
    EXPECT_EQ(x[8], "index");
    const uint64_t index = std::stoull(x[9]);
    EXPECT_GE(index, last_index);
    last_index = index;
    EXPECT_EQ(x[10], "origin");
    EXPECT_EQ(x[11], "cache-9");
  }
  // Only the master connected to the broker, under its own id.
  EXPECT_EQ(broker.names(), std::set<std::string>{c.spec(m).id});
  ASSERT_TRUE(eventually([&] {
    return info_field(c.call(m, {"INFO", "changes"}), "changes_published") == "4";
  }));
  EXPECT_EQ(info_field(c.call(m, {"INFO"}), "changes_pending"), "0");
  EXPECT_EQ(info_field(c.call(m, {"INFO", "changes"}), "changes_connected"), "1");
}

TEST(DbChanges, ReplicasOfAShardGiveTheSameDigest) {
  DbCluster c(2, 2, {"--replication", "async"});
  ASSERT_TRUE(c.start()) << c.logs();
  for (int k = 0; k < 100; ++k) {
    const std::string key = "d" + std::to_string(k);
    ASSERT_TRUE(eventually([&] {
      return c.call_routed(0, {"SET", key, "v" + std::to_string(k)}) == Value::simple("OK");
    })) << c.logs();
  }
  ASSERT_TRUE(eventually([&] {
    return c.call_routed(0, {"SADD", "set", "x", "y"}) == Value::integer_value(2);
  }));
  // Nodes 0 and 1 hold shard 0; nodes 2 and 3 shard 1.
  const auto digest = [&](size_t i) {
    auto v = c.call(i, {"DIGEST"});
    return v && v->type == Type::bulk_string ? v->str : std::string("?");
  };
  for (size_t shard = 0; shard < 2; ++shard) {
    const size_t a = 2 * shard, b = a + 1;
    ASSERT_TRUE(eventually([&] { return digest(a) == digest(b) && digest(a) != "?"; }))
        << digest(a) << " vs " << digest(b);
    EXPECT_EQ(digest(a).size(), 16u);
    EXPECT_NE(digest(a), "0000000000000000");
  }
  // Different data, different digests.
  EXPECT_NE(digest(0), digest(2));
}

}  // namespace
}  // namespace fl::dbtest
