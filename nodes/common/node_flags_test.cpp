#include "nodes/common/node_flags.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "nodes/common/resp_server.h"

namespace fl::nodes {
namespace {

using namespace std::chrono_literals;

TEST(NodeFlags, HostPort) {
  auto hp = parse_host_port("127.0.0.1:6379");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 6379);
  EXPECT_EQ(parse_host_port("h:1")->port, 1);
  EXPECT_EQ(parse_host_port("nocolon").error().message, "address without host:port");
  EXPECT_EQ(parse_host_port(":80").error().message, "address without host:port");
  for (const char* bad : {"h:0", "h:65536", "h:", "h:+80", "h: 80", "h:8x", "h:99999999999999"}) {
    ASSERT_FALSE(parse_host_port(bad)) << bad;
    EXPECT_EQ(parse_host_port(bad).error().message, "bad port") << bad;
  }
  EXPECT_EQ(host_port_flag("broker", "h").error().message,
            "--broker 'h': address without host:port (want HOST:PORT)");
}

TEST(NodeFlags, ShardMember) {
  auto m = shard_member_flag("member", "db-1,2,10.0.0.1:7000");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, "db-1");
  EXPECT_EQ(m->shard, 2);
  EXPECT_EQ(m->address.host, "10.0.0.1");
  EXPECT_EQ(m->address.port, 7000);
  EXPECT_EQ(shard_member_flag("member", "x").error().message,
            "--member 'x': missing fields (want ID,SHARD,HOST:PORT)");
  EXPECT_EQ(shard_member_flag("db", ",0,h:1").error().message,
            "--db ',0,h:1': empty id (want ID,SHARD,HOST:PORT)");
  EXPECT_NE(shard_member_flag("db", "a,-1,h:1").error().message.find("bad shard"),
            std::string::npos);
  EXPECT_NE(shard_member_flag("db", "a,1000001,h:1").error().message.find("bad shard"),
            std::string::npos);
  EXPECT_NE(shard_member_flag("db", "a,0,h:0").error().message.find("bad port"), std::string::npos);
}

TEST(NodeFlags, Durations) {
  EXPECT_EQ(*duration_flag("timeout", "250ms"), Duration(250ms));
  EXPECT_EQ(duration_flag("timeout", "0s").error().message, "--timeout must be positive");
  EXPECT_EQ(*duration_flag("ttl", "0", /*zero_ok=*/true), Duration(0));
  EXPECT_EQ(duration_flag("ttl", "soon").error().message.rfind("--ttl: ", 0), 0u);
  EXPECT_EQ(*milliseconds_flag("lease", "1.5s"), 1500);
  EXPECT_EQ(milliseconds_flag("lease", "500us").error().message, "--lease must be positive");
}

TEST(NodeFlags, ServerFlags) {
  ServerFlags f;
  f.port = 0;
  f.max_clients = 7;
  f.idle_timeout = "30s";
  f.max_bulk = "1KiB";
  f.log_level = "warn";
  ServerOptions o;
  ASSERT_TRUE(apply_server_flags(f, o));
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(o.max_clients, 7u);
  EXPECT_EQ(o.idle_timeout, Duration(30s));
  EXPECT_EQ(o.max_bulk, 1024u);

  ServerOptions untouched;
  f.max_bulk.reset();
  ASSERT_TRUE(apply_server_flags(f, untouched));
  EXPECT_EQ(untouched.max_bulk, ServerOptions{}.max_bulk);

  f.port = 70000;
  EXPECT_EQ(apply_server_flags(f, o).error().message, "--port 70000 is out of range 0..65535");
  f.port = 1;
  f.log_level = "loud";
  EXPECT_EQ(apply_server_flags(f, o).error().message,
            "--log-level: unknown level 'loud' (trace|debug|info|warn|error|off)");
  f.log_level = "warn";
  f.max_clients = 0;
  EXPECT_EQ(apply_server_flags(f, o).error().message, "--max-clients must be positive");
}

TEST(NodeFlags, TestDelayFromTheEnvironment) {
  EXPECT_EQ(*test_delay(nullptr), Duration::zero());
  EXPECT_EQ(*test_delay(""), Duration::zero());
  EXPECT_EQ(*test_delay("2ms"), Duration(2ms));
  EXPECT_EQ(*test_delay("0"), Duration::zero());
  auto bad = test_delay("slow");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("FAULTLINE_TEST_DELAY 'slow': "), std::string::npos)
      << bad.error().message;
}

TEST(NodeFlags, ApplyServerFlagsReadsTheTestDelay) {
  ServerFlags f;
  ServerOptions o;
  ASSERT_EQ(::setenv(kTestDelayEnv, "15ms", 1), 0);
  auto applied = apply_server_flags(f, o);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(o.reply_delay, Duration(15ms));
  ASSERT_EQ(::setenv(kTestDelayEnv, "soon", 1), 0);
  auto refused = apply_server_flags(f, o);
  ::unsetenv(kTestDelayEnv);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(kTestDelayEnv), std::string::npos);
  ServerOptions plain;
  ASSERT_TRUE(apply_server_flags(f, plain));
  EXPECT_EQ(plain.reply_delay, Duration::zero());
}

}  // namespace
}  // namespace fl::nodes
