// The network backends' logic over a fake link driver: one listener per directed link made on
// first use, cuts mapped onto per-direction stall/refuse toxics, degrades, heal by handle,
// [[network.link]] rules, events. The real proxy underneath is tested in tests/run.
#include "harness/run/network.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "harness/plan/fault.h"

namespace fl::run {
namespace {

using plan::Direction;
using plan::Toxic;
using supervisor::Endpoint;

struct FakeState {
  struct Active {
    std::string link;
    Direction direction;
    Toxic::Kind kind;
  };
  std::vector<std::string> links;  // names, in order of add_link
  std::map<LinkDriver::ToxicId, Active> toxics;
  LinkDriver::ToxicId next = 1;
  bool closed = false;
  bool fail_toxics = false;

  // "link dir kind" of every active toxic, sorted.
  std::vector<std::string> active() const {
    std::vector<std::string> out;
    for (const auto& [id, t] : toxics) {
      out.push_back(t.link + " " + std::string(plan::to_string(t.direction)) + " " +
                    std::string(plan::to_string(t.kind)));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

class FakeDriver : public LinkDriver {
 public:
  explicit FakeDriver(FakeState& s) : s_(s) {}
  result<Endpoint> add_link(const std::string& name, const Endpoint& upstream,
                            const std::string& bind_host) override {
    s_.links.push_back(name);
    EXPECT_EQ(bind_host, "127.0.0.1");
    return Endpoint{bind_host, static_cast<uint16_t>(upstream.port + 1000)};
  }
  result<ToxicId> add_toxic(const std::string& name, Direction direction,
                            const Toxic& toxic) override {
    if (s_.fail_toxics) return Error(errc::unsupported, "no toxics today");
    s_.toxics[s_.next] = {name, direction, toxic.kind};
    return s_.next++;
  }
  void remove_toxic(ToxicId id) override { s_.toxics.erase(id); }
  Stats stats(const std::string&) override { return {3, 10, 20}; }
  void close() override { s_.closed = true; }

 private:
  FakeState& s_;
};

plan::Plan three_nodes() {
  auto r = plan::load_plan_string(R"(
name = "net"
[[node]]
id = "a"
command = ["x", "{port}"]
[[node]]
id = "b"
command = ["x", "{port}", "{addr:a}"]
[[node]]
id = "c"
replicas = 2
command = ["x", "{port}", "{addr:a}", "{addr:b}"]
)",
                                  "net.toml");
  EXPECT_TRUE(r.plan) << (r.errors.empty() ? "" : r.errors.front().str());
  return r.plan ? *r.plan : plan::Plan{};
}

struct Fixture {
  explicit Fixture(const plan::Plan& p = three_nodes()) {
    NetworkContext ctx;
    ctx.event = [this](std::string_view type, std::string fields) {
      events.push_back(std::string(type) + " " + fields);
    };
    net = make_proxy_network(p, ctx, std::make_unique<FakeDriver>(state));
  }
  Endpoint link(std::string_view from, std::string_view to, uint16_t port) {
    auto r = net->link(from, to, Endpoint{"127.0.0.1", port});
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : Endpoint{};
  }
  const chaos::LinkInfo* info(std::string_view from, std::string_view to) {
    infos = net->links();
    for (const auto& l : infos) {
      if (l.from == from && l.to == to) return &l;
    }
    return nullptr;
  }
  FakeState state;
  std::vector<std::string> events;
  std::unique_ptr<Network> net;
  std::vector<chaos::LinkInfo> infos;
};

TEST(DirectNetwork, PassesAddressesThroughAndRefusesLinkFaults) {
  plan::Plan p = three_nodes();
  auto net = make_network(p, {});
  ASSERT_TRUE(net);
  EXPECT_EQ((*net)->backend(), "direct");
  auto e = (*net)->link("b", "a", {"127.0.0.1", 7000});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 7000);
  auto c = (*net)->client_endpoint("a", {"127.0.0.1", 7000});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 7000);
  auto cut = (*net)->cut({{"a", "b"}}, plan::CutMode::drop);
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, make_error_code(errc::unsupported));
  EXPECT_NE(cut.error().message.find("backend = \"proxy\""), std::string::npos);
  EXPECT_FALSE((*net)->degrade({"a"}, {"b"}, Direction::both, {Toxic{}}));
  EXPECT_TRUE((*net)->heal(42));
  EXPECT_TRUE((*net)->links().empty());
}

TEST(ProxyNetwork, OneListenerPerDirectedLinkMadeOnFirstUse) {
  Fixture f;
  EXPECT_EQ(f.net->backend(), "proxy");
  EXPECT_EQ(f.link("b", "a", 7000).port, 8000);
  EXPECT_EQ(f.link("b", "a", 7000).port, 8000);
  EXPECT_EQ(f.link("a", "b", 7001).port, 8001);
  auto c = f.net->client_endpoint("a", {"127.0.0.1", 7000});
  ASSERT_TRUE(c);
  EXPECT_EQ(f.state.links, (std::vector<std::string>{"b->a", "a->b", "client->a"}));
  ASSERT_EQ(f.events.size(), 3u);
  EXPECT_EQ(
      f.events[0],
      R"(network.link {"from":"b","to":"a","listen":"127.0.0.1:8000","upstream":"127.0.0.1:7000"})");
  const auto* l = f.info("client", "a");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->listen, "127.0.0.1:8000");
  EXPECT_EQ(l->connections, 3u);
  EXPECT_EQ(l->bytes_down, 20u);
  EXPECT_FALSE(l->cut_up || l->cut_down);
}

TEST(ProxyNetwork, TwoWayDropBlackholesBothStreamsAndHeals) {
  Fixture f;
  f.link("b", "a", 7000);
  f.link("a", "b", 7001);
  f.link("c-0", "a", 7000);
  auto h = f.net->cut({{"a", "b"}, {"b", "a"}}, plan::CutMode::drop);
  ASSERT_TRUE(h);
  EXPECT_EQ(f.state.active(),
            (std::vector<std::string>{"a->b down stall", "a->b up stall",
                                      "b->a down stall", "b->a up stall"}));
  EXPECT_TRUE(f.info("a", "b")->cut_up);
  EXPECT_TRUE(f.info("a", "b")->cut_down);
  EXPECT_FALSE(f.info("c-0", "a")->cut_up);
  ASSERT_TRUE(f.net->heal(*h));
  EXPECT_TRUE(f.state.active().empty());
  EXPECT_TRUE(f.net->heal(*h));  // already healed: not an error
  EXPECT_FALSE(f.info("a", "b")->cut_up);
}

TEST(ProxyNetwork, OneWayCutLosesOnlyWhatTheCutSideSends) {
  Fixture f;
  f.link("b", "a", 7000);
  f.link("a", "b", 7001);
  // a's messages do not reach b: a->b loses its up stream, b->a loses a's replies.
  ASSERT_TRUE(f.net->cut({{"a", "b"}}, plan::CutMode::reject));
  EXPECT_EQ(f.state.active(),
            (std::vector<std::string>{"a->b up stall", "b->a down stall"}));
  EXPECT_TRUE(f.info("a", "b")->cut_up);
  EXPECT_FALSE(f.info("a", "b")->cut_down);
  EXPECT_TRUE(f.info("b", "a")->cut_down);
  EXPECT_FALSE(f.info("b", "a")->cut_up);
}

TEST(ProxyNetwork, TwoWayRejectRefusesBothLinks) {
  Fixture f;
  f.link("b", "a", 7000);
  f.link("a", "b", 7001);
  ASSERT_TRUE(f.net->cut({{"a", "b"}, {"b", "a"}}, plan::CutMode::reject));
  EXPECT_EQ(f.state.active(), (std::vector<std::string>{"a->b both refuse", "b->a both refuse"}));
}

TEST(ProxyNetwork, CutsAndDegradesReachLinksMadeAfterThem) {
  Fixture f;
  auto h = f.net->cut({{"client", "a"}}, plan::CutMode::drop);
  ASSERT_TRUE(h);
  auto d = f.net->degrade({"c-0", "c-1"}, {"a"}, Direction::down, {Toxic{}});
  ASSERT_TRUE(d);
  EXPECT_TRUE(f.state.active().empty());
  ASSERT_TRUE(f.net->client_endpoint("a", {"127.0.0.1", 7000}));
  f.link("c-1", "a", 7000);
  f.link("c-1", "b", 7001);
  EXPECT_EQ(f.state.active(),
            (std::vector<std::string>{"c-1->a down latency", "client->a up stall"}));
  EXPECT_EQ(f.info("c-1", "a")->toxics, 1u);
  f.net->heal_all();
  EXPECT_TRUE(f.state.active().empty());
}

TEST(ProxyNetwork, AFailedToxicLeavesNothingBehind) {
  Fixture f;
  f.link("b", "a", 7000);
  f.state.fail_toxics = true;
  auto h = f.net->cut({{"a", "b"}, {"b", "a"}}, plan::CutMode::drop);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("no toxics today"), std::string::npos) << h.error().message;
  EXPECT_TRUE(f.state.active().empty());
}

TEST(ProxyNetwork, LinkRulesHoldFromALinksCreationAndSurviveHealAll) {
  plan::Plan p = three_nodes();
  plan::LinkRule rule;
  rule.from.kind = plan::Selector::Kind::group;
  rule.from.name = "c";
  rule.to.kind = plan::Selector::Kind::instance;
  rule.to.name = "a";
  rule.direction = Direction::both;
  Toxic slow;
  slow.latency = std::chrono::milliseconds(20);
  rule.toxics = {slow};
  p.network.links.push_back(rule);
  Fixture f(p);
  f.link("c-0", "a", 7000);
  f.link("c-1", "b", 7001);
  f.link("b", "a", 7000);
  EXPECT_EQ(f.state.active(), (std::vector<std::string>{"c-0->a both latency"}));
  f.net->heal_all();
  EXPECT_EQ(f.state.active(), (std::vector<std::string>{"c-0->a both latency"}));
  f.net->close();
  EXPECT_TRUE(f.state.active().empty());
  EXPECT_TRUE(f.state.closed);
  EXPECT_FALSE(f.net->link("c-1", "a", {"127.0.0.1", 7000}));
}

}  // namespace
}  // namespace fl::run
