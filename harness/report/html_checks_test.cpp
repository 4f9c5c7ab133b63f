#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <regex>
#include <string>

#include "harness/report/html_sections.h"

namespace fl::report {
namespace {

namespace json = boost::json;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

json::object history_op(int64_t index, int64_t time, int64_t process, std::string_view type,
                        std::string_view f, json::value value, std::string_view key) {
  return {{"index", index}, {"time", time}, {"process", process},       {"type", type},
          {"f", f},         {"key", key},   {"value", std::move(value)}};
}

struct WindowOp {
  int64_t process;
  std::string f;
  json::value arg, result;
  int64_t invoke_ns, complete_ns;
  bool pending = false, optional = false;
  std::string type = "ok";
};

// A linearizable check's details as harness/check/linearizable.cpp report_json writes them, for
// `ops` of which the last is the failing one.
CheckOutcome invalid_register_check(const std::vector<WindowOp>& ops, std::string key = "k5") {
  json::array window;
  int64_t index = 100;
  json::object failing;
  for (const auto& o : ops) {
    json::object e;
    e["invoke"] = history_op(index, o.invoke_ns, o.process, "invoke", o.f, o.arg, key);
    e["completion"] = history_op(index + 1, o.complete_ns, o.process, o.type, o.f,
                                 o.f == "read" ? o.result : o.arg, key);
    e["pending"] = o.pending;
    e["optional"] = o.optional;
    e["text"] = "process " + std::to_string(o.process) + ": " + o.f;
    failing = {{"invoke", e["invoke"]}, {"completion", e["completion"]}};
    window.push_back(std::move(e));
    index += 2;
  }
  json::object d{{"verdict", "invalid"},
                 {"ops", 2010},
                 {"keys", 10},
                 {"keys_invalid", 2},
                 {"keys_unknown", 0},
                 {"elapsed_ms", 8.2},
                 {"search_steps", 2003},
                 {"cache_entries", 1965},
                 {"key", key},
                 {"failing_op", failing},
                 {"linearizable_prefix", {{"ops", 206}, {"end_time", ops.back().invoke_ns}}},
                 {"failing_window", {{"from_start", false}, {"ops", window}}}};
  CheckOutcome c;
  c.kind = "linearizable";
  c.model = "register";
  c.verdict = "invalid";
  c.summary = "invalid: key '" + key + "' is not linearizable";
  c.details_json = json::serialize(d);
  return c;
}

// A stale read: process 3 reads 201, process 1 writes 7 (still running), process 2 began a write
// before the window, then process 5 reads 185 with no write of 185 in between.
std::vector<WindowOp> stale_read_window() {
  return {
      {2, "write", 185, nullptr, 1'000'000, 900'000'000, false, true},
      {3, "read", nullptr, 201, 10'000'000, 10'200'000},
      {1, "write", 7, nullptr, 10'400'000, 2'000'000'000, true, false, "info"},
      {5, "read", nullptr, 185, 1'050'000'000, 1'050'600'000},
  };
}

TEST(ViolationTimeline, DrawsOneBarPerOpInALanePerProcessAndMarksTheIllegalPoint) {
  CheckOutcome c = invalid_register_check(stale_read_window());
  std::string svg = violation_timeline_svg(c);
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(svg.rfind("<svg class=\"violation-timeline\"", 0), 0u) << svg.substr(0, 200);
  EXPECT_NE(svg.find("<title>"), std::string::npos);
  EXPECT_EQ(count(svg, "<g class=\"op"), 4u);
  for (const char* p : {"1", "2", "3", "5"}) {
    EXPECT_NE(svg.find(std::string("data-process=\"") + p + "\""), std::string::npos) << p;
    EXPECT_NE(svg.find(std::string(">process ") + p + "</text>"), std::string::npos) << p;
  }
  EXPECT_EQ(count(svg, "class=\"lane-label\""), 4u);
  // The failing op, the pending one and the optional one are told apart.
  EXPECT_EQ(count(svg, "<g class=\"op failing\" data-process=\"5\" data-type=\"ok\""), 1u);
  EXPECT_EQ(count(svg, "<g class=\"op pending\" data-process=\"1\" data-type=\"info\""), 1u);
  EXPECT_EQ(count(svg, "<g class=\"op optional\" data-process=\"2\""), 1u);
  EXPECT_EQ(count(svg, "style=\"opacity:0.45\""), 1u);
  EXPECT_NE(svg.find("read → 185"), std::string::npos);
  EXPECT_NE(svg.find("read → 201"), std::string::npos);
  EXPECT_NE(svg.find("write 7 → ?"), std::string::npos);
  // Exactly one illegal point, with its explanation.
  EXPECT_EQ(count(svg, "<g class=\"illegal-point\">"), 1u);
  EXPECT_NE(svg.find("no order of the window's operations that respects real time is a legal "
                     "run of the register model"),
            std::string::npos);
  EXPECT_EQ(count(svg, "<g class=\"prefix-end\">"), 1u);
  // The long pause before the failing read is marked (from the optional write's completion at
  // 900 ms to the read's invocation); times are relative to the window's start (the first op
  // not begun before it, at 10 ms).
  EXPECT_NE(svg.find("150.00 ms pause"), std::string::npos);
  EXPECT_NE(svg.find("889.60 ms pause"), std::string::npos);
  EXPECT_NE(svg.find(">+1.041 s</text>"), std::string::npos) << "illegal point's axis label";
  // Self-contained: no URL of any kind.
  EXPECT_EQ(svg.find("http"), std::string::npos);
}

TEST(ViolationTimeline, IllegalPointIsAtTheFailingCompletionRightOfItsInvocation) {
  std::string svg = violation_timeline_svg(invalid_register_check(stale_read_window()));
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(svg, m, std::regex("<g class=\"illegal-point\"><line x1=\"([0-9.]+)\"")));
  double illegal_x = std::stod(m[1]);
  ASSERT_TRUE(std::regex_search(
      svg, m,
      std::regex("<g class=\"op failing\"[^>]*><rect x=\"([0-9.]+)\" y=\"[0-9.]+\" "
                 "width=\"([0-9.]+)\"")));
  double bar_x = std::stod(m[1]), bar_w = std::stod(m[2]);
  EXPECT_GT(illegal_x, bar_x);
  EXPECT_NEAR(illegal_x, bar_x + bar_w, 2.0);
}

TEST(ViolationTimeline, NoneForValidOrUnexplainedChecks) {
  CheckOutcome valid;
  valid.kind = "linearizable";
  valid.model = "register";
  valid.verdict = "valid";
  valid.details_json = R"({"verdict":"valid","ops":10,"keys":1})";
  EXPECT_EQ(violation_timeline_svg(valid), "");

  CheckOutcome no_window = valid;  // --no-explain, or a budget that ran out
  no_window.verdict = "invalid";
  no_window.details_json = R"({"verdict":"invalid","key":"k1"})";
  EXPECT_EQ(violation_timeline_svg(no_window), "");

  CheckOutcome other = invalid_register_check(stale_read_window());
  other.kind = "set-full";
  EXPECT_EQ(violation_timeline_svg(other), "");

  CheckOutcome broken = invalid_register_check(stale_read_window());
  broken.details_json = "{not json";
  EXPECT_EQ(violation_timeline_svg(broken), "");

  RunReport r;
  r.checks = {valid};
  std::string html = checks_section(r);
  EXPECT_EQ(html.find("violation-timeline"), std::string::npos);
  EXPECT_EQ(html.find("illegal-point"), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"check\""), 1u);
}

TEST(ViolationTimeline, HostileTextIsEscaped) {
  std::vector<WindowOp> ops = stale_read_window();
  ops[3].result = "</text><script>alert(1)</script>";
  CheckOutcome c = invalid_register_check(ops, "<script>alert('k')</script>");
  c.model = "<b>model</b>";
  std::string svg = violation_timeline_svg(c);
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;alert(&#39;k&#39;)&lt;/script&gt;"), std::string::npos);

  RunReport r;
  c.summary = "<script>document.write('x')</script>";
  c.workload = "\"><img src=x onerror=alert(1)>";
  r.checks = {c};
  GateOutcome g;
  g.text = "p99 < 5ms<script>";
  g.metric = "p99";
  g.summary = "<i>missed</i>";
  r.gates = {g};
  std::string html = checks_section(r);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_NE(html.find("p99 &lt; 5ms&lt;script&gt;"), std::string::npos);
}

TEST(ViolationTimeline, BoundsLargeWindowsAndSaysHowManyWereLeftOut) {
  std::vector<WindowOp> ops;
  for (int i = 0; i < 499; ++i) {
    ops.push_back({i % 40, "write", i, nullptr, i * 1000, i * 1000 + 500});
  }
  ops.push_back({7, "read", nullptr, 12345, 600'000, 601'000});
  std::string svg = violation_timeline_svg(invalid_register_check(ops));
  EXPECT_EQ(count(svg, "<g class=\"op"), 200u);
  EXPECT_EQ(count(svg, "<g class=\"op failing\""), 1u);
  EXPECT_NE(svg.find("300 earlier operations of the window are not drawn"), std::string::npos);
  EXPECT_NE(svg.find("<title>Failing window of key 'k5': 500 operations"), std::string::npos);
  EXPECT_EQ(count(svg, "<g class=\"illegal-point\">"), 1u);
  // Too wide for a page: it opens scrolled to its end, where the illegal point is.
  EXPECT_NE(svg.find("data-scroll=\"end\""), std::string::npos);
  RunReport r;
  r.checks = {invalid_register_check(ops)};
  EXPECT_NE(checks_section(r).find("<div class=\"timeline-scroll from-end\">"), std::string::npos);
  EXPECT_EQ(violation_timeline_svg(invalid_register_check(stale_read_window())).find("data-scroll"),
            std::string::npos);
}

TEST(ChecksSection, OneDivPerCheckInOrderThenGates) {
  RunReport r;
  r.checks.push_back(invalid_register_check(stale_read_window()));
  CheckOutcome avail;
  avail.kind = "availability";
  avail.verdict = "valid";
  avail.summary = "valid: 100.00% ok";
  avail.details_json =
      R"({"verdict":"valid","ok":2010,"fail":0,"info":0,"ok_ratio":1.0,)"
      R"("per_second":[{"second":0,"ok":10,"total":10,"ok_ratio":1.0}],)"
      R"("longest_unavailable":{"from":3000000000,"ns":30400000,"recovered":true},)"
      R"("recoveries":[{"time":3000000000,"type":"fault.start","node":"db-s0-r1",)"
      R"("recovered_after_ns":2540000}]})";
  r.checks.push_back(avail);
  CheckOutcome unknown;
  unknown.kind = "brand-new-checker";
  unknown.verdict = "unknown";
  unknown.summary = "unknown: the budget ran out";
  unknown.details_json = R"({"verdict":"unknown","widgets":3,"nested":{"a":1}})";
  r.checks.push_back(unknown);
  GateOutcome pass{"p99 < 5ms", "p99", 5, 1.2, true, "p99 1.2ms, limit < 5ms: passed"};
  GateOutcome miss{"throughput > 800/s", "throughput", 800, 200, false, "missed"};
  GateOutcome absent{"ingest/p99 < 5ms", "ingest/p99", 5, std::nan(""), false, "no such metric"};
  r.gates = {pass, miss, absent};

  std::string html = checks_section(r);
  EXPECT_EQ(html.rfind("<section id=\"checks\">", 0), 0u);
  EXPECT_EQ(count(html, "<div class=\"check\""), 3u);
  size_t a = html.find("id=\"check-1\" data-kind=\"linearizable\" data-verdict=\"invalid\"");
  size_t b = html.find("id=\"check-2\" data-kind=\"availability\" data-verdict=\"valid\"");
  size_t c = html.find("id=\"check-3\" data-kind=\"brand-new-checker\" data-verdict=\"unknown\"");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(html.find("<span class=\"badge invalid\">invalid</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge valid\">valid</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge unknown\">unknown</span>"), std::string::npos);
  // The timeline sits in the linearizable check, with its caption.
  size_t svg = html.find("<svg class=\"violation-timeline\"");
  EXPECT_GT(svg, a);
  EXPECT_LT(svg, b);
  EXPECT_NE(html.find("class=\"illegal-caption\""), std::string::npos);
  EXPECT_NE(html.find("<code>read → 185</code> completed"), std::string::npos);
  EXPECT_NE(html.find("It was invoked after 2 of the window's operations had completed, so it "
                      "must take effect after them: process 2's <code>write 185 → ok</code>, "
                      "process 3's <code>read → 201</code>."),
            std::string::npos);
  EXPECT_EQ(html.find("No operation of the window writes"), std::string::npos) << "p2 writes 185";
  // Evidence: the chosen facts, formatted by unit, a table, the whole JSON collapsed.
  EXPECT_NE(html.find("<dt>keys invalid</dt><dd>2</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dt>ok ratio</dt><dd>100.00%</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dd>30.40 ms from 3.000 s</dd>"), std::string::npos);
  EXPECT_NE(html.find("data-field=\"recoveries\"><caption>Recovery after events (1)"),
            std::string::npos);
  EXPECT_NE(html.find("<td>2.54 ms</td>"), std::string::npos);
  EXPECT_EQ(count(html, "<details class=\"evidence-json\">"), 3u);
  EXPECT_NE(html.find("&quot;per_second&quot;: ["), std::string::npos);
  // A checker this page does not know: its scalars.
  EXPECT_NE(html.find("<dt>widgets</dt><dd>3</dd>"), std::string::npos);
  // Gates.
  EXPECT_EQ(count(html, "<div class=\"gate\" data-passed=\"true\""), 1u);
  EXPECT_EQ(count(html, "<div class=\"gate\" data-passed=\"false\""), 2u);
  EXPECT_GT(html.find("<div class=\"gate\""), c);
  EXPECT_NE(html.find("no such metric in this run"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
}

TEST(ChecksSection, CaptionSaysWhenNothingInTheWindowWritesTheValueRead) {
  // tests/data/report-violation's window: one process reads 315, then 247.
  RunReport r;
  r.checks = {invalid_register_check(
      {{6, "read", nullptr, 315, 0, 661'000}, {6, "read", nullptr, 247, 60'034'000, 60'610'000}})};
  std::string html = checks_section(r);
  EXPECT_NE(
      html.find("so it must take effect after them: process 6's <code>read → 315</code>.</li>"),
      std::string::npos);
  EXPECT_NE(html.find("No operation of the window writes 247"), std::string::npos);
  EXPECT_NE(html.find("<details class=\"window-ops\" open>"), std::string::npos);
}

TEST(ChecksSection, EvidenceIsBounded) {
  json::array lost;
  for (int i = 0; i < 5000; ++i) {
    lost.push_back(json::object{{"key", "k" + std::to_string(i)},
                                {"element", i},
                                {"add_index", i * 2},
                                {"known_time", int64_t{1'000'000} * i},
                                {"read_index", i * 2 + 9}});
  }
  CheckOutcome c;
  c.kind = "set-full";
  c.verdict = "invalid";
  c.summary = "invalid: 5000 lost";
  c.details_json = json::serialize(
      json::object{{"verdict", "invalid"}, {"lost", 5000}, {"lost_elements", lost}});
  RunReport r;
  r.checks = {c};
  std::string html = checks_section(r);
  EXPECT_LT(html.size(), 80'000u);
  EXPECT_NE(html.find("<caption>Lost elements (5000)</caption>"), std::string::npos);
  EXPECT_EQ(count(html, "<tr>"), 21u);  // header + 20 rows
  EXPECT_NE(html.find("4980 more in the JSON below"), std::string::npos);
  EXPECT_NE(html.find("(JSON — the first 48 KB; results.json has all"), std::string::npos);

  c.details_json = "not json <b>";
  r.checks = {c};
  html = checks_section(r);
  EXPECT_NE(html.find("not json &lt;b&gt;"), std::string::npos);
}

// The violation fixture's results.json, as the linearizable checker wrote it in a real run: the
// timeline reads what the checker writes.
TEST(ChecksSection, RealViolationFixture) {
  auto r = read_results(std::string(FL_SOURCE_DIR) + "/tests/data/report-violation/results.json");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_FALSE(r->checks.empty());
  const CheckOutcome& lin = r->checks.front();
  ASSERT_EQ(lin.kind, "linearizable");
  ASSERT_EQ(lin.verdict, "invalid");
  std::string svg = violation_timeline_svg(lin);
  EXPECT_EQ(count(svg, "<g class=\"illegal-point\">"), 1u);
  EXPECT_EQ(count(svg, "<g class=\"op failing\""), 1u);
  EXPECT_GE(count(svg, "<g class=\"op"), 2u);
  std::string html = checks_section(*r);
  EXPECT_EQ(count(html, "<div class=\"check\""), r->checks.size());
  EXPECT_NE(html.find("No operation of the window writes"), std::string::npos);
}

TEST(ChecksSection, NoChecks) {
  RunReport r;
  std::string html = checks_section(r);
  EXPECT_NE(html.find("<section id=\"checks\">"), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"check\""), 0u);
  EXPECT_EQ(html.find("id=\"gates\""), std::string::npos);
}

}  // namespace
}  // namespace fl::report
