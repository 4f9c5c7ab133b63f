// The netns backend under a real supervisor: nodes run in their own namespaces, bind their
// namespace address, reach each other and the harness through the bridge, and a cut between two
// of them is an nft rule. Skipped unless root.
#include <arpa/inet.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "chaos/netns.h"
#include "harness/run/network.h"
#include "harness/supervisor/supervisor.h"

namespace fl::run {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::string_view kPlan = R"(
name = "netns-test"
duration = "10s"

[[node]]
id = "web"
replicas = 2
command = ["python3", "-m", "http.server", "{port}", "--bind", "{host}"]
ready = { kind = "tcp" }
)";

bool connects(const supervisor::Endpoint& e) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  ::inet_pton(AF_INET, e.host.c_str(), &sa.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = -1;
    socklen_t len = sizeof err;
    ok = ::poll(&p, 1, 2000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
         err == 0;
  }
  ::close(fd);
  return ok;
}

// GET from inside `ns` with curl (gives up after 2 s): the status code, or "none".
std::string get_from(const std::string& ns, const supervisor::Endpoint& e) {
  auto r =
      chaos::run_tool({"ip", "netns", "exec", ns, "curl", "-s", "-m", "2", "-o", "/dev/null", "-w",
                       "%{http_code}", "http://" + e.host + ":" + std::to_string(e.port) + "/"});
  return r ? *r : "none";
}

TEST(NetnsNetwork, NodesRunInNamespacesAndCutsAreNftRules) {
  if (auto why = chaos::netns_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  char tmpl[] = "/tmp/fl-netns-net-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  auto loaded = plan::load_plan_string(kPlan, "netns-test.toml");
  for (const auto& d : loaded.errors) ADD_FAILURE() << d.message;
  ASSERT_TRUE(loaded.plan);
  plan::Plan& p = *loaded.plan;
  p.network.backend = plan::NetworkBackend::netns;  // [network] backend = "netns"

  NetworkContext ctx;
  ctx.run_dir = dir;
  ctx.run_id = "netns-network-test-" + std::to_string(::getpid());
  std::string events;
  ctx.event = [&](std::string_view type, std::string fields) {
    events += std::string(type) + " " + fields + "\n";
  };
  auto net = make_network(p, ctx);
  ASSERT_TRUE(net) << net.error().message;
  EXPECT_EQ((*net)->backend(), "netns");
  EXPECT_NE(events.find("network.netns"), std::string::npos);

  supervisor::Options opts;
  opts.run_dir = dir;
  opts.echo_logs = false;
  opts.placement = [&](const plan::Instance& i) { return (*net)->placement(i); };
  opts.link = [&](std::string_view from, std::string_view to, const supervisor::Endpoint& real) {
    return (*net)->link(from, to, real);
  };
  {
    supervisor::Supervisor sup(opts);
    auto started = sup.start(p.instances());
    ASSERT_TRUE(started) << started.error().message;
    auto st = sup.status();
    ASSERT_EQ(st.size(), 2u);
    const auto& w0 = st[0];
    const auto& w1 = st[1];
    EXPECT_TRUE(w0.host.starts_with("10.213.")) << w0.host;
    EXPECT_NE(w0.host, w1.host);
    // The node runs in another network namespace than the harness.
    EXPECT_NE(fs::read_symlink(fmt::format("/proc/{}/ns/net", w0.pid)),
              fs::read_symlink("/proc/self/ns/net"));
    auto placement = (*net)->placement(p.instances()[0]);
    ASSERT_EQ(placement.wrap.size(), 4u);
    const std::string ns0 = placement.wrap[3];

    supervisor::Endpoint real1{w1.host, w1.port};
    auto client1 = (*net)->client_endpoint("web-1", real1);
    ASSERT_TRUE(client1);
    EXPECT_EQ(client1->host, w1.host);
    EXPECT_TRUE(connects(*client1));
    auto link01 = (*net)->link("web-0", "web-1", real1);
    ASSERT_TRUE(link01);
    ASSERT_EQ(get_from(ns0, *link01), "200");

    auto h = (*net)->cut({{"web-0", "web-1"}, {"web-1", "web-0"}}, plan::CutMode::drop);
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(get_from(ns0, *link01), "none");
    EXPECT_TRUE(connects(*client1));  // the client is not cut
    (*net)->heal_all();
    EXPECT_EQ(get_from(ns0, *link01), "200");
    sup.shutdown();
  }
  (*net)->close();
  EXPECT_FALSE((*net)->client_endpoint("web-1", {"x", 1}));  // closed
  auto list = chaos::run_tool({"ip", "netns", "list"});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->find("fl-" + chaos::run_tag(ctx.run_id)), std::string::npos) << *list;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fl::run
