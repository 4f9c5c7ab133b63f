// The control API against a fake backend: the request handler on its own, then the HTTP server
// over real sockets (token, file modes, loopback only), and the /metrics text format.
#include <arpa/inet.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "harness/control/api.h"
#include "harness/control/client.h"
#include "harness/control/metrics.h"
#include "harness/control/server.h"

namespace fl::control {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kToken(64, 'a');

struct FakeProcess : chaos::ProcessControl {
  std::mutex mu;
  std::vector<std::string> calls;  // "kill db-0"
  std::vector<supervisor::NodeStatus>* nodes = nullptr;

  result<void> act(std::string verb, std::string_view id, supervisor::NodeState state, int pid) {
    std::lock_guard lock(mu);
    calls.push_back(verb + " " + std::string(id));
    for (auto& n : *nodes) {
      if (n.id != id) continue;
      if (verb != "restart" && verb != "resume" && n.pid == 0) {
        return Error(errc::invalid_argument, fmt::format("node '{}' is not running", id));
      }
      n.state = state;
      n.pid = pid;
      return {};
    }
    return Error(errc::not_found, fmt::format("no node '{}'", id));
  }
  result<void> kill(std::string_view id) override {
    return act("kill", id, supervisor::NodeState::exited, 0);
  }
  result<void> terminate(std::string_view id) override {
    return act("terminate", id, supervisor::NodeState::exited, 0);
  }
  result<void> pause(std::string_view id) override {
    return act("pause", id, supervisor::NodeState::paused, 42);
  }
  result<void> resume(std::string_view id) override {
    return act("resume", id, supervisor::NodeState::ready, 42);
  }
  result<void> restart(std::string_view id, bool wipe) override {
    return act(wipe ? "restart-wiped" : "restart", id, supervisor::NodeState::ready, 43);
  }
};

struct FakeLinks : chaos::LinkControl {
  std::vector<std::pair<std::vector<chaos::Cut>, plan::CutMode>> cuts;
  struct Degrade {
    std::vector<std::string> from, to;
    plan::Direction direction;
    std::vector<plan::Toxic> toxics;
  };
  std::vector<Degrade> degrades;
  std::vector<Handle> healed;
  int heal_alls = 0;
  Handle next = 1;

  std::string_view backend() const override { return "proxy"; }
  result<Handle> cut(const std::vector<chaos::Cut>& c, plan::CutMode mode) override {
    cuts.emplace_back(c, mode);
    return next++;
  }
  result<Handle> degrade(const std::vector<std::string>& from, const std::vector<std::string>& to,
                         plan::Direction d, const std::vector<plan::Toxic>& toxics) override {
    degrades.push_back({from, to, d, toxics});
    return next++;
  }
  result<void> heal(Handle h) override {
    healed.push_back(h);
    return {};
  }
  void heal_all() override { ++heal_alls; }
  std::vector<chaos::LinkInfo> links() const override {
    chaos::LinkInfo l;
    l.from = "db-0";
    l.to = "db-1";
    l.listen = "127.0.0.1:5000";
    l.cut_up = true;
    return {l};
  }
};

supervisor::NodeStatus node(std::string id, std::string group, std::string kind, int pid) {
  supervisor::NodeStatus n;
  n.id = std::move(id);
  n.group = std::move(group);
  n.kind = std::move(kind);
  n.host = "127.0.0.1";
  n.port = static_cast<uint16_t>(6000 + pid);
  n.pid = pid;
  n.state = supervisor::NodeState::ready;
  return n;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() {
    nodes_ = {node("lb-0", "lb", "lb", 10), node("db-0", "db", "db", 11),
              node("db-1", "db", "db", 12), node("db-2", "db", "db", 13)};
    nodes_[1].restarts = 2;
    process_.nodes = &nodes_;
  }

  Backend backend(bool with_links) {
    Backend b;
    b.nodes = [this] {
      std::lock_guard lock(process_.mu);
      return nodes_;
    };
    b.process = &process_;
    b.links = with_links ? &links_ : nullptr;
    b.event = [this](std::string_view type, std::string fields) {
      events_.push_back(std::string(type) + " " + fields);
    };
    b.info = [](const std::vector<supervisor::NodeStatus>& nodes) {
      std::vector<check::NodeStats> out;
      for (const auto& n : nodes) {
        check::NodeStats s;
        s.id = n.id;
        s.group = n.group;
        s.kind = n.kind;
        s.info = {{"role", "master"}, {"keys", "17"}, {"hit-ratio", "0.25"}, {"uptime_ms", "x1"}};
        out.push_back(s);
      }
      return out;
    };
    b.role = [](const supervisor::NodeStatus& n) -> std::optional<std::string> {
      return n.id == "db-0" ? "master" : "slave";
    };
    b.partition_target = {"db-0", "db-1", "db-2"};
    return b;
  }

  static Request req(std::string method, std::string target, std::string body = {},
                     std::string auth = "Bearer " + kToken) {
    return {std::move(method), std::move(target), std::move(auth), std::move(body)};
  }

  std::vector<supervisor::NodeStatus> nodes_;
  FakeProcess process_;
  FakeLinks links_;
  std::vector<std::string> events_;
};

TEST(ConstantTimeEqual, ComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST_F(ApiTest, RefusesEveryRequestWithoutTheToken) {
  Api api(backend(true), kToken);
  for (const auto& auth :
       std::vector<std::string>{"", "Bearer " + std::string(64, 'b'), "Bearer " + kToken + "a",
                                "Bearer", kToken, "Basic " + kToken}) {
    for (const auto& [method, target] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/nodes"},
                                                          {"POST", "/nodes/db-0/kill"},
                                                          {"GET", "/metrics"},
                                                          {"GET", "/nope"}}) {
      auto r = api.handle(req(method, target, {}, auth));
      EXPECT_EQ(r.status, 401) << auth << " " << target;
      EXPECT_EQ(r.content_type, "application/json");
      EXPECT_TRUE(json::parse(r.body).as_object().contains("error")) << r.body;
    }
  }
  EXPECT_TRUE(process_.calls.empty());
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(api.handle(req("GET", "/nodes")).status, 200);
}

TEST_F(ApiTest, ListsNodesWithStateAndRole) {
  Api api(backend(false), kToken);
  auto r = api.handle(req("GET", "/nodes"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto nodes = json::parse(r.body).at("nodes").as_array();
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[0].at("id").as_string(), "lb-0");
  EXPECT_FALSE(nodes[0].as_object().contains("role"));  // roles are for db nodes
  EXPECT_EQ(nodes[1].at("role").as_string(), "master");
  EXPECT_EQ(nodes[1].at("restarts").as_int64(), 2);
  EXPECT_EQ(nodes[1].at("state").as_string(), "ready");
  EXPECT_EQ(nodes[2].at("pid").as_int64(), 12);
}

TEST_F(ApiTest, ProcessVerbsGoThroughProcessControlAndAreRecorded) {
  Api api(backend(false), kToken);
  EXPECT_EQ(api.handle(req("POST", "/nodes/db-1/kill")).status, 200);
  EXPECT_EQ(api.handle(req("POST", "/nodes/db-2/pause")).status, 200);
  EXPECT_EQ(api.handle(req("POST", "/nodes/db-2/resume")).status, 200);
  EXPECT_EQ(api.handle(req("POST", "/nodes/lb-0/restart", R"({"wipe":true})")).status, 200);
  EXPECT_EQ(process_.calls, (std::vector<std::string>{"kill db-1", "pause db-2", "resume db-2",
                                                      "restart-wiped lb-0"}));
  ASSERT_EQ(events_.size(), 4u);
  EXPECT_EQ(events_[0].rfind("fault.start ", 0), 0u) << events_[0];
  auto e0 = json::parse(events_[0].substr(events_[0].find(' ') + 1)).as_object();
  EXPECT_EQ(e0.at("action").as_string(), "kill");
  EXPECT_EQ(e0.at("nodes").as_array().at(0).as_string(), "db-1");
  EXPECT_EQ(e0.at("source").as_string(), "control");
  EXPECT_EQ(events_[2].rfind("fault.end ", 0), 0u) << events_[2];

  // A node without a process cannot be killed again: 409 with the reason.
  auto again = api.handle(req("POST", "/nodes/db-1/kill"));
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("not running"), std::string::npos) << again.body;
  EXPECT_EQ(api.handle(req("POST", "/nodes/nope/kill")).status, 404);
  EXPECT_EQ(api.handle(req("POST", "/nodes/db-0/explode")).status, 404);
  EXPECT_EQ(api.handle(req("GET", "/nodes/db-0/kill")).status, 405);
  EXPECT_EQ(events_.size(), 4u);

  // Heal everything: the node this API killed comes back.
  auto heal = api.handle(req("POST", "/heal"));
  ASSERT_EQ(heal.status, 200) << heal.body;
  EXPECT_EQ(process_.calls.back(), "restart db-1");
  EXPECT_EQ(json::parse(heal.body).at("restarted").as_array().size(), 1u);
}

TEST_F(ApiTest, BadRequestsSayWhatIsWrong) {
  Api api(backend(true), kToken);
  auto bad_json = api.handle(req("POST", "/partition", "{\"shape\":"));
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_NE(bad_json.body.find("not JSON"), std::string::npos) << bad_json.body;
  auto not_object = api.handle(req("POST", "/slow", "[1]"));
  EXPECT_EQ(not_object.status, 400);
  auto unknown_key =
      api.handle(req("POST", "/slow", R"({"from":"db-0","to":"db-1","latncy":"1s"})"));
  EXPECT_EQ(unknown_key.status, 400);
  EXPECT_NE(unknown_key.body.find("unknown key 'latncy'"), std::string::npos) << unknown_key.body;
  auto bad_shape = api.handle(req("POST", "/partition", R"({"shape":"thirds"})"));
  EXPECT_EQ(bad_shape.status, 400);
  EXPECT_NE(bad_shape.body.find("unknown shape 'thirds'"), std::string::npos) << bad_shape.body;
  auto unknown_node =
      api.handle(req("POST", "/slow", R"({"from":"db-9","to":"db-1","latency":"1s"})"));
  EXPECT_EQ(unknown_node.status, 400);
  EXPECT_NE(unknown_node.body.find("db-9"), std::string::npos);
  auto bad_duration =
      api.handle(req("POST", "/slow", R"({"from":"db-0","to":"db-1","latency":"fast"})"));
  EXPECT_EQ(bad_duration.status, 400);
  auto not_found = api.handle(req("GET", "/admin"));
  EXPECT_EQ(not_found.status, 404);
  EXPECT_TRUE(links_.cuts.empty());
  EXPECT_TRUE(links_.degrades.empty());
  EXPECT_TRUE(events_.empty());
}

TEST_F(ApiTest, LinkFaultsOnADirectNetworkAnswer409) {
  Api api(backend(false), kToken);
  for (const auto& [method, target, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/partition", R"({"shape":"halves"})"},
           {"POST", "/slow", R"({"from":"db-0","to":"db-1","latency":"10ms"})"},
           {"POST", "/heal", R"({"handle":1})"},
           {"GET", "/links", ""}}) {
    auto r = api.handle(req(method, target, body));
    EXPECT_EQ(r.status, 409) << target;
    EXPECT_NE(r.body.find("network is direct"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("backend = \\\"proxy\\\""), std::string::npos) << r.body;
  }
}

TEST_F(ApiTest, SlowPutsToxicsOnLinksAndHealTakesThemOff) {
  Api api(backend(true), kToken);
  auto r = api.handle(req("POST", "/slow",
                          R"({"from":"lb","to":["db-1","db-2"],"direction":"up","latency":"20ms",)"
                          R"("jitter":"5ms","loss":0.1,"bandwidth":"1MiB"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(links_.degrades.size(), 1u);
  const auto& d = links_.degrades[0];
  EXPECT_EQ(d.from, (std::vector<std::string>{"lb-0"}));  // the group, expanded
  EXPECT_EQ(d.to, (std::vector<std::string>{"db-1", "db-2"}));
  EXPECT_EQ(d.direction, plan::Direction::up);
  ASSERT_EQ(d.toxics.size(), 3u);
  EXPECT_EQ(d.toxics[0].kind, plan::Toxic::Kind::latency);
  EXPECT_EQ(d.toxics[0].latency, std::chrono::milliseconds(20));
  EXPECT_EQ(d.toxics[0].jitter, std::chrono::milliseconds(5));
  EXPECT_EQ(d.toxics[1].kind, plan::Toxic::Kind::loss);
  EXPECT_DOUBLE_EQ(d.toxics[1].probability, 0.1);
  EXPECT_EQ(d.toxics[2].kind, plan::Toxic::Kind::bandwidth);
  EXPECT_EQ(d.toxics[2].bytes_per_second, 1024u * 1024u);
  const auto handle = json::parse(r.body).at("handle").as_int64();

  EXPECT_EQ(api.handle(req("POST", "/heal", fmt::format(R"({{"handle":{}}})", handle))).status,
            200);
  EXPECT_EQ(
      links_.healed,
      (std::vector<chaos::LinkControl::Handle>{static_cast<chaos::LinkControl::Handle>(handle)}));
  EXPECT_EQ(api.handle(req("POST", "/heal")).status, 200);
  EXPECT_EQ(links_.heal_alls, 1);
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].rfind("fault.start ", 0), 0u);
  EXPECT_NE(events_[0].find(R"("action":"link")"), std::string::npos) << events_[0];
  EXPECT_EQ(events_[1].rfind("fault.end ", 0), 0u);

  auto links = api.handle(req("GET", "/links"));
  ASSERT_EQ(links.status, 200);
  auto l = json::parse(links.body).at("links").as_array().at(0).as_object();
  EXPECT_EQ(l.at("from").as_string(), "db-0");
  EXPECT_TRUE(l.at("cut_up").as_bool());
}

TEST_F(ApiTest, PartitionsCutThroughLinkControl) {
  Api api(backend(true), kToken);
  // isolate: the node alone, cut both ways from every other node of the cluster.
  auto iso = api.handle(req("POST", "/partition", R"({"shape":"isolate","nodes":["db-1"]})"));
  ASSERT_EQ(iso.status, 200) << iso.body;
  ASSERT_EQ(links_.cuts.size(), 1u);
  EXPECT_EQ(links_.cuts[0].first, (std::vector<chaos::Cut>{{"db-0", "db-1"},
                                                           {"db-1", "db-0"},
                                                           {"db-1", "db-2"},
                                                           {"db-1", "lb-0"},
                                                           {"db-2", "db-1"},
                                                           {"lb-0", "db-1"}}));
  EXPECT_EQ(links_.cuts[0].second, plan::CutMode::drop);
  auto body = json::parse(iso.body).as_object();
  EXPECT_EQ(body.at("handle").as_int64(), 1);
  EXPECT_EQ(body.at("cuts").as_array().size(), 6u);

  // halves of the default target (the db nodes), refused rather than dropped.
  auto halves = api.handle(req("POST", "/partition", R"({"shape":"halves","mode":"reject"})"));
  ASSERT_EQ(halves.status, 200) << halves.body;
  EXPECT_EQ(links_.cuts[1].first,
            (std::vector<chaos::Cut>{
                {"db-0", "db-1"}, {"db-0", "db-2"}, {"db-1", "db-0"}, {"db-2", "db-0"}}));
  EXPECT_EQ(links_.cuts[1].second, plan::CutMode::reject);

  // one-way: db-0 cannot reach the lb group; the lb still reaches db-0.
  auto oneway =
      api.handle(req("POST", "/partition", R"({"shape":"one-way","nodes":"db-0","to":"lb"})"));
  ASSERT_EQ(oneway.status, 200) << oneway.body;
  EXPECT_EQ(links_.cuts[2].first, (std::vector<chaos::Cut>{{"db-0", "lb-0"}}));

  ASSERT_EQ(events_.size(), 3u);
  auto e = json::parse(events_[0].substr(events_[0].find(' ') + 1)).as_object();
  EXPECT_EQ(e.at("action").as_string(), "partition");
  EXPECT_EQ(e.at("shape").as_string(), "isolate");
  EXPECT_EQ(e.at("handle").as_int64(), 1);
  EXPECT_EQ(e.at("cuts").as_array().size(), 6u);

  // A shape that cuts nothing says so.
  auto lonely = api.handle(req("POST", "/partition", R"({"shape":"halves","nodes":["db-0"]})"));
  EXPECT_EQ(lonely.status, 400) << lonely.body;
  EXPECT_EQ(links_.cuts.size(), 3u);
}

// Every line of the exposition is a comment (# HELP / # TYPE) or a sample `name{labels} value`,
// and every sample's family was declared by a TYPE line before it.
void expect_prometheus_text(const std::string& text) {
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")*\} (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?))");
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped))");
  std::set<std::string> typed;
  std::istringstream in(text);
  int samples = 0;
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(typed.insert(m[1]).second) << "family typed twice: " << line;
    } else if (std::regex_match(line, m, help)) {
      continue;
    } else {
      ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample line: '" << line << "'";
      EXPECT_TRUE(typed.count(m[1])) << "sample before its TYPE: " << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 0);
}

TEST_F(ApiTest, MetricsAreValidPrometheusText) {
  nodes_[2].state = supervisor::NodeState::paused;
  Api api(backend(false), kToken);
  auto r = api.handle(req("GET", "/metrics"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  expect_prometheus_text(r.body);
  EXPECT_NE(r.body.find(R"(faultline_node_up{node="db-0",kind="db",group="db"} 1)"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"(faultline_node_up{node="db-1",kind="db",group="db"} 0)"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"(faultline_node_restarts_total{node="db-0",kind="db",group="db"} 2)"),
            std::string::npos)
      << r.body;
  // Numeric INFO fields, names sanitized; "master" and "x1" are not numbers.
  EXPECT_NE(r.body.find(R"(faultline_info_keys{node="lb-0",kind="lb",group="lb"} 17)"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"(faultline_info_hit_ratio{node="db-2",kind="db",group="db"} 0.25)"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("faultline_info_role"), std::string::npos);
  EXPECT_EQ(r.body.find("faultline_info_uptime_ms"), std::string::npos);
}

TEST(Metrics, NamesAndLabelsAreSanitized) {
  EXPECT_EQ(metric_name("hit-ratio"), "hit_ratio");
  EXPECT_EQ(metric_name("9lives"), "_9lives");
  EXPECT_EQ(metric_name("a.b c:d"), "a_b_c:d");
  EXPECT_EQ(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  supervisor::NodeStatus odd;
  odd.id = "we\"ird\nnode";
  odd.kind = "external";
  check::NodeStats s;
  s.id = odd.id;
  s.kind = "external";
  s.info = {{"1st", "3"}, {"weird field!", "-2.5e3"}, {"nan", "nan"}, {"inf", "inf"}};
  std::string text = render_metrics({odd}, {s});
  expect_prometheus_text(text);
  EXPECT_NE(text.find("faultline_info__1st{"), std::string::npos) << text;
  EXPECT_NE(text.find("faultline_info_weird_field_{"), std::string::npos) << text;
  EXPECT_EQ(text.find("faultline_info_nan"), std::string::npos) << text;
  EXPECT_EQ(text.find("faultline_info_inf"), std::string::npos) << text;
}

// --- the server over real sockets ---

class ServerTest : public ApiTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fl-control-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

// The local address of the listening TCP socket on `port`, from /proc/net/tcp (IPv4) and
// /proc/net/tcp6; "" when none listens.
std::vector<std::string> listeners_on(uint16_t port) {
  std::vector<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state;
      f >> sl >> local >> remote >> state;
      if (state != "0A") continue;  // TCP_LISTEN
      auto colon = local.rfind(':');
      if (std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
      out.push_back(local.substr(0, colon));
    }
  }
  return out;
}

// The machine's IPv4 addresses other than loopback.
std::vector<std::string> non_loopback_ipv4() {
  std::vector<std::string> out;
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return out;
  for (auto* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    out.emplace_back(buf);
  }
  ::freeifaddrs(ifs);
  return out;
}

TEST_F(ServerTest, WritesTheTokenFile0600AndTheAddress) {
  auto server = ControlServer::start(backend(false), {dir_});
  ASSERT_TRUE(server) << server.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "control.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto run = read_run(dir_);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->token, (*server)->token());
  EXPECT_EQ(run->token.size(), 64u);
  EXPECT_EQ(run->token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(run->host, "127.0.0.1");
  EXPECT_EQ(run->port, (*server)->port());
  EXPECT_NE(run->port, 0);

  // A second server in the same run directory does not reuse (or overwrite) the token.
  auto second = ControlServer::start(backend(false), {dir_});
  EXPECT_FALSE(second);
  EXPECT_EQ(read_run(dir_)->token, (*server)->token());
}

TEST_F(ServerTest, TokensAreRandom) {
  auto a = random_token(), b = random_token();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST_F(ServerTest, TokenFileIsNeverWrittenThroughAnExistingFile) {
  std::ofstream(dir_ / "control.token") << "planted\n";
  ::chmod((dir_ / "control.token").c_str(), 0644);
  EXPECT_FALSE(write_token_file(dir_ / "control.token", "secret"));
  std::ifstream in(dir_ / "control.token");
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "planted");
}

TEST_F(ServerTest, AnswersOnlyWithTheTokenOverHttp) {
  auto server = ControlServer::start(backend(false), {dir_});
  ASSERT_TRUE(server) << server.error().message;
  auto run = read_run(dir_);
  ASSERT_TRUE(run);

  RunAddress no_token = *run;
  no_token.token = "";
  RunAddress wrong = *run;
  wrong.token[0] = wrong.token[0] == '0' ? '1' : '0';
  for (const auto* r : {&no_token, &wrong}) {
    auto res = call(*r, "GET", "/nodes");
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->status, 401);
    EXPECT_TRUE(json::parse(res->body).as_object().contains("error")) << res->body;
    auto kill = call(*r, "POST", "/nodes/db-0/kill");
    ASSERT_TRUE(kill);
    EXPECT_EQ(kill->status, 401);
  }
  EXPECT_TRUE(process_.calls.empty());

  auto ok = call(*run, "GET", "/nodes");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body).at("nodes").as_array().size(), 4u);
  auto kill = call(*run, "POST", "/nodes/db-0/kill");
  ASSERT_TRUE(kill);
  EXPECT_EQ(kill->status, 200) << kill->body;
  EXPECT_EQ(process_.calls, (std::vector<std::string>{"kill db-0"}));
  auto missing = call(*run, "GET", "/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto bad = call(*run, "POST", "/nodes/db-1/restart", "{wipe");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto metrics = call(*run, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  expect_prometheus_text(metrics->body);

  // Once stopped, nothing answers.
  (*server)->stop();
  EXPECT_FALSE(call(*run, "GET", "/nodes", {}, std::chrono::seconds(5)));
}

TEST_F(ServerTest, ListensOnLoopbackOnly) {
  auto server = ControlServer::start(backend(false), {dir_});
  ASSERT_TRUE(server) << server.error().message;
  const uint16_t port = (*server)->port();
  // 0100007F is 127.0.0.1 in /proc/net/tcp's byte order.
  EXPECT_EQ(listeners_on(port), (std::vector<std::string>{"0100007F"}));

  auto others = non_loopback_ipv4();
  if (others.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this machine";
  for (const auto& address : others) {
    RunAddress r{dir_, address, port, (*server)->token()};
    auto res = call(r, "GET", "/nodes", {}, std::chrono::seconds(5));
    EXPECT_FALSE(res) << "answered on " << address;
  }
  // The same request on loopback is answered: the refusals above were not a broken server.
  RunAddress lo{dir_, "127.0.0.1", port, (*server)->token()};
  auto res = call(lo, "GET", "/nodes");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, FindRunPicksTheRunWhoseServerAnswers) {
  const fs::path live = dir_ / "live", dead = dir_ / "dead";
  fs::create_directories(live);
  fs::create_directories(dead);
  auto server = ControlServer::start(backend(false), {live});
  ASSERT_TRUE(server);
  {
    auto stale = ControlServer::start(backend(false), {dead});
    ASSERT_TRUE(stale);
  }  // stopped: its control.json (newer) stays, nothing answers there
  auto found = find_run(dir_);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->run_dir, live);
  (*server)->stop();
  auto none = find_run(dir_);
  EXPECT_FALSE(none);
  EXPECT_NE(none.error().message.find("2 run directories"), std::string::npos)
      << none.error().message;
}

}  // namespace
}  // namespace fl::control
