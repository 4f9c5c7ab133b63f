// report.html: the time binning (bounded, extremes kept) and the page made from a synthetic run
// directory (the contract's element ids, fault windows, no external URL).
#include "harness/report/html.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "harness/report/run_data.h"
#include "harness/report/svg.h"

namespace fl::report {
namespace {

namespace fs = std::filesystem;

size_t count_of(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(OpBinner, StaysBoundedAndKeepsEveryBinsExtremes) {
  OpBinner::Options o;
  o.max_bins = 64;
  o.initial_width = 1'000'000;  // 1 ms: a 60 s stream forces many doublings
  o.sample_per_cell = 4;
  o.shards = 3;
  OpBinner b(o);
  const uint16_t read = b.kind("read"), write = b.kind("write");
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> latency(100'000, 2'000'000);
  // Planted extremes at known times: the slowest and the fastest operation of the stream.
  const OpPoint slowest{31'234'567'890, 9'000'000'000}, fastest{44'000'000'000, 1};
  const int64_t n = 200'000;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = i * 300'000;  // 60 s
    const auto f = i % 3 == 0 ? write : read;
    const auto outcome = i % 97 == 0 ? Outcome::fail : Outcome::ok;
    b.add(f, outcome, {t, latency(rng)}, static_cast<int>(i % 3), outcome == Outcome::ok);
    if (i == n / 2) b.add(read, Outcome::ok, slowest, 0, true);
    if (i == n / 3) b.add(write, Outcome::info, fastest, 1, false);
  }
  ASSERT_LE(b.bins().size(), o.max_bins);
  ASSERT_GT(b.bins().size(), o.max_bins / 4);  // not collapsed into a handful
  EXPECT_EQ(b.total(), n + 2);
  int64_t counted = 0, shard_total = 0, completed = 0;
  bool saw_slowest = false, saw_fastest = false;
  for (size_t i = 0; i < b.bins().size(); ++i) {
    const Bin& bin = b.bins()[i];
    for (const auto& c : bin.cells) {
      counted += c.count;
      EXPECT_LE(c.sample.size(), o.sample_per_cell);
      if (c.count == 0) continue;
      // The extremes are the cell's own: every sampled point lies between them.
      for (const auto& p : c.sample) {
        EXPECT_GE(p.latency, c.min.latency);
        EXPECT_LE(p.latency, c.max.latency);
        EXPECT_EQ(static_cast<size_t>(p.time / b.width()), i);
      }
      if (c.max.time == slowest.time && c.max.latency == slowest.latency) saw_slowest = true;
      if (c.min.time == fastest.time && c.min.latency == fastest.latency) saw_fastest = true;
    }
    for (auto s : bin.shard_total) shard_total += s;
    for (auto c : bin.completed) completed += c;
  }
  EXPECT_EQ(counted, n + 2);
  EXPECT_EQ(shard_total, n + 2);
  EXPECT_EQ(completed, n + 2);  // the slowest completes at 40.2 s, still inside the bins
  EXPECT_TRUE(saw_slowest);
  EXPECT_TRUE(saw_fastest);
  EXPECT_EQ(b.max_latency().latency, slowest.latency);
  EXPECT_EQ(b.count(write, Outcome::info), 1);
}

TEST(OpBinner, CellExtremesAreExactPerBin) {
  OpBinner::Options o;
  o.max_bins = 8;
  o.initial_width = 100;
  o.sample_per_cell = 2;
  OpBinner b(o);
  const auto f = b.kind("read");
  // Bin width ends at 100 << k; check against a brute-force minimum and maximum per bin.
  std::mt19937_64 rng(3);
  std::vector<OpPoint> all;
  for (int i = 0; i < 5000; ++i) {
    OpPoint p{static_cast<int64_t>(rng() % 100'000), static_cast<int64_t>(rng() % 1'000'000)};
    all.push_back(p);
    b.add(f, Outcome::ok, p, -1, true);
  }
  ASSERT_LE(b.bins().size(), 8u);
  for (size_t i = 0; i < b.bins().size(); ++i) {
    int64_t lo = INT64_MAX, hi = -1;
    for (const auto& p : all) {
      if (static_cast<size_t>(p.time / b.width()) != i) continue;
      lo = std::min(lo, p.latency);
      hi = std::max(hi, p.latency);
    }
    // Bins past the last invocation hold only completions.
    if (b.bins()[i].cells.empty()) {
      EXPECT_EQ(hi, -1) << "bin " << i;
      continue;
    }
    const Cell& c = b.bins()[i].cells[0];
    EXPECT_EQ(c.min.latency, lo) << "bin " << i;
    EXPECT_EQ(c.max.latency, hi) << "bin " << i;
  }
}

TEST(LatencyHistogram, QuantilesWithinABucket) {
  LatencyHistogram h;
  for (int64_t i = 1; i <= 100'000; ++i) h.add(i * 1000);  // 1 µs .. 100 ms, uniform
  EXPECT_NEAR(h.quantile(0.5), 50'000'000, 50'000'000 * 0.05);
  EXPECT_NEAR(h.quantile(0.99), 99'000'000, 99'000'000 * 0.05);
  EXPECT_LE(h.quantile(1.0), 100'000'000);
}

TEST(Svg, NiceTicks) {
  std::vector<double> v;
  for (const auto& t : svg::linear_ticks(0, 19.5, 5)) v.push_back(t.value);
  EXPECT_EQ(v, (std::vector<double>{0, 5, 10, 15}));
  v.clear();
  for (const auto& t : svg::log_ticks(0.01, 1000, "ms")) {
    if (t.major) v.push_back(t.value);
  }
  ASSERT_EQ(v.size(), 6u);  // 10µs .. 1s, every power of ten labelled
  EXPECT_EQ(svg::log_ticks(0.01, 1000, "ms").front().label, "10µs");
  EXPECT_EQ(svg::duration_label(3141.6), "3.14s");
  EXPECT_EQ(svg::duration_label(0.444), "444µs");
  auto s = svg::nice_log(0.23, 870);
  EXPECT_DOUBLE_EQ(s.lo, 0.1);
  EXPECT_DOUBLE_EQ(s.hi, 1000);
  svg::Chart::Options o;
  o.id = "c";
  o.title = "t <&>";
  svg::Chart c(o, {0, 10, false}, s);
  EXPECT_DOUBLE_EQ(c.px(0), c.plot_left());
  EXPECT_DOUBLE_EQ(c.py(1000), c.plot_top());
  c.band(2, 3, "fault-window", "a \"title\"", "kill");
  const std::string out = c.finish();
  EXPECT_EQ(out.rfind(R"(<svg id="c")", 0), 0u);
  EXPECT_NE(out.find("<title>t &lt;&amp;&gt;</title>"), std::string::npos);
  EXPECT_NE(out.find("<title>a &quot;title&quot;</title>"), std::string::npos);
}

// A run directory like `faultline run` leaves: 3 db shards of 2 nodes, a kill and a partition,
// keyed register ops with a burst of failures during the kill.
struct SyntheticRun {
  fs::path dir;
  explicit SyntheticRun(std::string_view name, bool with_results = true) {
    dir = fs::path(::testing::TempDir()) / fmt::format("report-{}-{}", name, ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream cluster(dir / "cluster.json");
    cluster << R"({"plan":"synthetic","nodes":[)";
    for (int s = 0; s < 3; ++s) {
      for (int r = 0; r < 2; ++r) {
        cluster << fmt::format(R"({}{{"id":"db-s{}-r{}","kind":"db","group":"db","shard":{}}})",
                               s + r == 0 ? "" : ",", s, r, s);
      }
    }
    cluster << "]}";
    std::ofstream events(dir / "events.jsonl");
    for (int s = 0; s < 3; ++s) {
      for (int r = 0; r < 2; ++r) {
        events << fmt::format(R"({{"time":1000,"type":"node.spawned","node":"db-s{}-r{}"}})"
                              "\n",
                              s, r);
        events << fmt::format(R"({{"time":2000000,"type":"node.ready","node":"db-s{}-r{}"}})"
                              "\n",
                              s, r);
      }
    }
    events << R"({"time":3000000,"type":"phase.main","duration_ns":10000000000})"
              "\n";
    events
        << R"({"time":2000000000,"type":"fault.start","node":"db-s0-r0","nodes":["db-s0-r0"],"detail":"kill db:shard=0:master","fault":0,"action":"kill","target":"db:shard=0:master","shard":0})"
           "\n";
    events
        << R"({"time":2000100000,"type":"node.exited","node":"db-s0-r0","expected":false,"detail":"killed by signal 9"})"
           "\n";
    events << R"({"time":4000000000,"type":"node.spawned","node":"db-s0-r0"})"
              "\n";
    events << R"({"time":4100000000,"type":"node.ready","node":"db-s0-r0"})"
              "\n";
    events
        << R"({"time":4100000001,"type":"fault.end","node":"db-s0-r0","nodes":["db-s0-r0"],"detail":"restart ready again","fault":0,"action":"kill","target":"db:shard=0:master"})"
           "\n";
    events
        << R"({"time":6000000000,"type":"fault.start","detail":"partition isolate: 2 cut links","fault":1,"action":"partition","target":"db-s1-r1","nodes":["db-s1-r0","db-s1-r1"],"cuts":[["db-s1-r0","db-s1-r1"],["db-s1-r1","db-s1-r0"]]})"
           "\n";
    events
        << R"({"time":8000000000,"type":"fault.end","detail":"heal after 2s","fault":1,"action":"partition","target":"db-s1-r1","nodes":["db-s1-r0","db-s1-r1"],"handle":1})"
           "\n";
    events << R"({"time":10000000000,"type":"run.stop","reason":"done"})"
              "\n";
    std::ofstream history(dir / "history.jsonl");
    int64_t index = 0;
    for (int64_t i = 0; i < 20'000; ++i) {
      const int64_t t = 5'000'000 + i * 495'000;  // ~10 s
      const int64_t p = i % 8;
      const char* f = i % 2 ? "read" : "write";
      const bool down = t > 2'000'000'000 && t < 4'100'000'000 && i % 3 == 0;
      const int64_t lat = down ? 500'000'000 : 200'000 + (i * 7919) % 3'000'000;
      history << fmt::format(
          R"({{"index":{},"time":{},"process":{},"type":"invoke","f":"{}","key":"register:k{}","value":null}})"
          "\n",
          index++, t, p, f, i % 50);
      history << fmt::format(
          R"({{"index":{},"time":{},"process":{},"type":"{}","f":"{}","key":"register:k{}","value":1{}}})"
          "\n",
          index++, t + lat, p, down ? "fail" : "ok", f, i % 50,
          down ? R"(,"error":"connection refused")" : "");
    }
    // A nemesis line and a line the fast scanner declines (escaped key) both read fine.
    history
        << R"({"index":40000,"time":2000000000,"process":"nemesis","type":"info","f":"kill","value":"db-s0-r0"})"
           "\n";
    history
        << R"({"index":40001,"time":9000000000,"process":99,"type":"invoke","f":"cas","key":"we\"ird","value":[1,2]})"
           "\n";
    history
        << R"({"index":40002,"time":9001000000,"process":99,"type":"ok","f":"cas","key":"we\"ird","value":[1,2]})"
           "\n";
    if (with_results) {
      RunReport r;
      r.faultline_version = "0.1.0";
      r.plan = "synthetic";
      r.plan_file = "plans/synthetic.toml";
      r.seed = 42;
      r.run_dir = dir.string();
      r.started_at = "2026-11-28T10:00:00Z";
      r.planned_seconds = 10;
      r.elapsed_seconds = 10;
      r.workload = "register";
      r.mode = "open";
      r.target_rate = 2000;
      r.concurrency = 8;
      r.phases.push_back({"main", 19000, 1000, 0, 0, 1990, {1, 2, 3, 500, 501}});
      r.checks.push_back({"linearizable", "register", "valid", "valid: 20000 ops", "{}", 0.1, ""});
      r.verdict = "valid";
      r.exit_code = 0;
      r.history_ops = 40003;
      std::ofstream results(dir / "results.json");
      results << results_json(r);
    }
  }
  ~SyntheticRun() { fs::remove_all(dir); }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RunData, LoadsFaultsNodeStatesAndShards) {
  SyntheticRun run("load");
  auto d = load_run(run.dir);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->warnings.empty()) << d->warnings.front();
  EXPECT_EQ(d->shards, 3);
  ASSERT_EQ(d->faults.size(), 2u);
  EXPECT_EQ(d->faults[0].action, "kill");
  EXPECT_EQ(d->faults[0].end_ns, 4'100'000'001);
  EXPECT_EQ(d->faults[1].action, "partition");
  EXPECT_EQ(d->faults[1].end_ns, 8'000'000'000);
  EXPECT_EQ(d->end, 10'000'000'000);
  EXPECT_EQ(d->ops.total(), 20'001);
  EXPECT_EQ(d->ops.kinds().size(), 3u);  // write, read, cas
  EXPECT_GT(d->ops.keyed(), 0);
  // db-s0-r0: starting, up, down (killed), starting, up.
  const auto& n0 = d->nodes[0];
  ASSERT_EQ(n0.id, "db-s0-r0");
  std::vector<NodeSpan::State> states;
  for (const auto& s : n0.spans) states.push_back(s.state);
  using S = NodeSpan::State;
  EXPECT_EQ(states, (std::vector<S>{S::starting, S::up, S::down, S::starting, S::up}));
  // db-s1-r1 is cut from its only peer in the partition: cut for [6 s, 8 s).
  const auto& n3 = d->nodes[3];
  ASSERT_EQ(n3.id, "db-s1-r1");
  bool cut = false;
  for (const auto& s : n3.spans) {
    if (s.state == S::slow || s.state == S::cut) {
      cut = true;
      EXPECT_EQ(s.start, 6'000'000'000);
      EXPECT_EQ(s.end, 8'000'000'000);
    }
  }
  EXPECT_TRUE(cut);
}

TEST(HtmlReport, HasTheContractsElementsAndNoExternalUrl) {
  SyntheticRun run("page");
  auto w = write_html_report(run.dir);
  ASSERT_TRUE(w) << w.error().message;
  const std::string page = read_file(run.dir / "report.html");
  for (auto id : {R"(<section id="meta")", R"(<code id="replay")", R"(<svg id="plot-latency")",
                  R"(<svg id="plot-throughput")", R"(<svg id="plot-availability-nodes")",
                  R"(<svg id="plot-availability-shards")", R"(<section id="checks")"}) {
    EXPECT_NE(page.find(id), std::string::npos) << id;
  }
  EXPECT_NE(page.find("faultline run " + run.dir.string() + "/plan.toml --seed 42"),
            std::string::npos);
  // Two fault windows on each of the two time plots, each with a <title>.
  std::regex window(R"(<rect class="fault-window"[^>]*><title>fault #[01]: )");
  const auto windows =
      std::distance(std::sregex_iterator(page.begin(), page.end(), window), std::sregex_iterator());
  EXPECT_EQ(windows, 4);
  // Every <svg> of a plot carries a <title> as its first child.
  std::regex svg_open(R"(<svg id="[^"]+"[^>]*>)");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), svg_open);
       it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(page.compare(static_cast<size_t>(it->position() + it->length()), 7, "<title>"), 0)
        << it->str();
  }
  // Three shard rows.
  EXPECT_NE(page.find(">shard 2 "), std::string::npos);
  for (auto bad : {"http:", "https:", "//", "@import", "src=", "<link", "url(http"}) {
    EXPECT_EQ(page.find(bad), std::string::npos) << bad;
  }
  EXPECT_EQ(count_of(page, "<script"), 0u);
  EXPECT_LT(page.size(), 2u << 20);
}

TEST(HtmlReport, AKilledRunStillGetsAPage) {
  SyntheticRun run("killed", /*with_results=*/false);
  fs::remove(run.dir / "cluster.json");
  auto out = run.dir / "elsewhere.html";
  ASSERT_TRUE(write_html_report(run.dir, out));
  const std::string page = read_file(out);
  EXPECT_NE(page.find(R"(<section id="warnings")"), std::string::npos);
  EXPECT_NE(page.find("results.json is missing"), std::string::npos);
  EXPECT_NE(page.find(R"(<svg id="plot-latency")"), std::string::npos);
  EXPECT_NE(page.find(R"(<section id="checks")"), std::string::npos);
  EXPECT_FALSE(fs::exists(run.dir / "report.html"));
}

TEST(HtmlReport, NotADirectoryIsAnError) {
  EXPECT_FALSE(write_html_report("/nonexistent/run/dir"));
}

}  // namespace
}  // namespace fl::report
