// report.html's checks section: each check's verdict, summary and evidence (the fields of its
// details that matter for its kind, then all of them as bounded pretty JSON), the violation
// timeline of an invalid linearizable check, and the gates.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness/report/html_sections.h"

namespace fl::report {

namespace json = boost::json;

namespace {

// Bounds that keep the page readable and small whatever a checker reported.
constexpr size_t kMaxTableRows = 20;
constexpr size_t kMaxJsonChars = 48 * 1024;
constexpr size_t kMaxCellChars = 120;
constexpr size_t kMaxTimelineOps = 200;

// ---- formatting of evidence values ----

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

// `extra` more decimals than usual, to tell close times apart.
std::string duration_text(double ns, int extra = 0) {
  double a = std::fabs(ns);
  if (a < 1e3) return fmt::format("{:.0f} ns", ns);
  if (a < 1e6) return fmt::format("{:.{}f} µs", ns / 1e3, std::min(1 + extra, 3));
  if (a < 1e9) return fmt::format("{:.{}f} ms", ns / 1e6, std::min(2 + extra, 6));
  return fmt::format("{:.{}f} s", ns / 1e9, std::min(3 + extra, 9));
}

std::string number_text(double x) {
  if (std::isnan(x)) return "n/a";
  if (x == std::floor(x) && std::fabs(x) < 1e15) return fmt::format("{:.0f}", x);
  return fmt::format("{:.4g}", x);
}

std::string clip(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  s.resize(cut);
  return s + "…";
}

// A field's value as text, by what its name says it holds: `*_ns` and `ns` durations, `*_ms`
// milliseconds, `time`-like fields nanoseconds on the run's clock, ratios as percentages.
std::string value_text(std::string_view name, const json::value& v);

std::string object_inline(const json::object& o) {
  std::string s;
  for (const auto& [k, v] : o) {
    if (!s.empty()) s += ", ";
    s += std::string(k) + " " + value_text(k, v);
  }
  return s;
}

std::string value_text(std::string_view name, const json::value& v) {
  if (v.is_null()) return "—";
  if (v.is_bool()) return v.get_bool() ? "yes" : "no";
  if (v.is_string()) return std::string(v.get_string());
  if (auto x = as_number(v)) {
    if (name == "ns" || ends_with(name, "_ns")) return duration_text(*x);
    if (ends_with(name, "_ms") || name == "p50" || name == "p99" || name == "max" ||
        name == "mean") {
      if (ends_with(name, "_ms")) return duration_text(*x * 1e6);
    }
    if (name == "time" || name == "from" || name == "end_time" || name == "known_time") {
      return fmt::format("{:.3f} s", *x / 1e9);
    }
    if (name.find("ratio") != std::string_view::npos && *x >= 0 && *x <= 1) {
      return fmt::format("{:.2f}%", *x * 100);
    }
    return number_text(*x);
  }
  if (v.is_object() && name == "longest_unavailable") {
    const auto& o = v.get_object();
    const auto* ns = o.if_contains("ns");
    const auto* from = o.if_contains("from");
    const auto* recovered = o.if_contains("recovered");
    if (ns && from && as_number(*ns) && as_number(*from)) {
      bool back = recovered && recovered->is_bool() && recovered->get_bool();
      return fmt::format("{} from {:.3f} s{}", duration_text(*as_number(*ns)),
                         *as_number(*from) / 1e9, back ? "" : ", not recovered");
    }
  }
  if (v.is_object() && name == "latency_ns") {
    // perf: the quantiles people read first.
    std::string out;
    for (std::string_view q : {"p50", "p90", "p99", "p999", "max"}) {
      if (const auto* e = v.get_object().if_contains(q); e && as_number(*e)) {
        out += (out.empty() ? "" : ", ") + std::string(q) + " " + duration_text(*as_number(*e));
      }
    }
    if (!out.empty()) return out;
  }
  if (v.is_object() && v.get_object().contains("latency_ns")) {
    // perf's overall: counts and latency (the throughput is a fact of its own).
    const auto& o = v.get_object();
    std::string out;
    for (std::string_view c : {"ok", "fail", "info"}) {
      if (const auto* e = o.if_contains(c)) out += std::string(c) + " " + value_text(c, *e) + ", ";
    }
    return out + "latency " + value_text("latency_ns", o.at("latency_ns"));
  }
  if (v.is_object()) {
    // Nested quantiles of a duration field keep the parent's unit.
    const auto& o = v.get_object();
    if (ends_with(name, "_ns") || ends_with(name, "_ms")) {
      double scale = ends_with(name, "_ms") ? 1e6 : 1;
      std::string s;
      for (const auto& [k, e] : o) {
        if (!s.empty()) s += ", ";
        auto x = as_number(e);
        s += std::string(k) + " " +
             (x && k != "count" ? duration_text(*x * scale) : value_text(k, e));
      }
      return clip(s, kMaxCellChars);
    }
    return clip(object_inline(o), kMaxCellChars);
  }
  return clip(json::serialize(v), kMaxCellChars);
}

std::string label_of(std::string_view field) {
  std::string s(field);
  for (std::string_view suffix : {"_ns", "_ms"}) {
    if (ends_with(s, suffix)) s.resize(s.size() - suffix.size());
  }
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

// Pretty JSON, stopping once `budget` characters are written.
void pretty(std::string& out, const json::value& v, int indent, size_t budget) {
  if (out.size() > budget) return;
  std::string pad(static_cast<size_t>(indent) * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [k, e] : v.get_object()) {
      if (out.size() > budget) return;
      if (!first) out += ",\n";
      first = false;
      out += pad + "  " + json::serialize(json::value(k)) + ": ";
      pretty(out, e, indent + 1, budget);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    const auto& a = v.get_array();
    bool flat = std::all_of(a.begin(), a.end(),
                            [](const json::value& e) { return !e.is_object() && !e.is_array(); });
    if (flat) {
      out += json::serialize(v);
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      if (out.size() > budget) return;
      if (i) out += ",\n";
      out += pad + "  ";
      pretty(out, a[i], indent + 1, budget);
    }
    out += "\n" + pad + "]";
  } else {
    out += json::serialize(v);
  }
}

// ---- per-kind evidence ----

struct TableSpec {
  std::string_view field;
  std::string_view caption;
};

struct EvidenceSpec {
  std::string_view kind;
  std::vector<std::string_view> facts;
  std::vector<TableSpec> tables;
};

const std::vector<EvidenceSpec>& evidence_specs() {
  static const std::vector<EvidenceSpec> specs = {
      {"linearizable",
       {"key", "ops", "keys", "keys_invalid", "keys_unknown", "search_steps", "elapsed_ms",
        "reason"},
       {}},
      {"set-full",
       {"attempted", "acknowledged", "stable", "stale", "lost", "unexpected", "never_read",
        "unconfirmed", "max_stale_ns", "visible_latency_ns", "reason"},
       {{"lost_elements", "Lost elements"},
        {"unexpected_elements", "Unexpected elements"},
        {"stale_elements", "Stale elements"}}},
      {"counter",
       {"keys", "reads", "adds", "bad", "reason"},
       {{"bad_reads", "Reads out of their bounds"}, {"finals", "Each key at the end"}}},
      {"total-queue",
       {"attempted", "acknowledged", "dequeued", "lost", "maybe_taken", "duplicated", "unexpected",
        "recovered", "undrained_keys", "undrained_values", "reason"},
       {{"lost_elements", "Lost values"},
        {"duplicated_elements", "Duplicated values"},
        {"unexpected_elements", "Unexpected values"}}},
      {"log",
       {"topics", "attempted", "acknowledged", "consumed", "replay_complete", "lost", "unexpected",
        "mismatched", "not_replayed", "reordered", "maybe_redelivered", "redelivered",
        "log_duplicates", "unconsumed", "recovered", "unseen", "reason"},
       {{"lost_items", "Lost entries"},
        {"unexpected_items", "Unexpected entries"},
        {"mismatched_items", "Mismatched entries"},
        {"not_replayed_items", "Consumed but not replayed"},
        {"reordered_items", "Reordered entries"}}},
      {"staleness",
       {"reads", "judged", "unjudged", "stale", "stale_ratio", "staleness_ms", "max_stale_ratio",
        "max_staleness_ms", "reason"},
       {{"stalest", "Stalest reads"}}},
      {"convergence",
       {"shards_compared", "shards_diverged", "digests_skipped", "caches",
        "cached_entries_compared", "cached_entries_mismatched", "unreadable", "quiet_ms",
        "deadline_ms", "rounds", "reason"},
       {{"diverged", "Diverged shards"},
        {"mismatches", "Cache entries that differ from the DB"},
        {"errors", "Nodes or entries that could not be read"}}},
      {"stat",
       {"group", "stat", "aggregate", "value", "min", "max", "values", "missing", "reason"},
       {}},
      {"availability",
       {"ok", "fail", "info", "ok_ratio", "longest_unavailable", "reason"},
       {{"recoveries", "Recovery after events"}}},
      {"failover",
       {"failover_median_ns", "failover_max_ns", "keyless_ops", "reason"},
       {{"failovers", "Failovers"}, {"shards", "Per shard"}}},
      {"perf", {"throughput", "overall", "span_ns", "reason"}, {{"by_f", "Per operation"}}},
  };
  return specs;
}

const EvidenceSpec* spec_of(std::string_view kind) {
  for (const auto& s : evidence_specs()) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

std::string facts_html(const json::object& d, const EvidenceSpec* spec) {
  std::string out;
  auto add = [&](std::string_view field, const json::value& v) {
    out += fmt::format("<div><dt>{}</dt><dd>{}</dd></div>", html_escape(label_of(field)),
                       html_escape(value_text(field, v)));
  };
  if (spec) {
    for (auto field : spec->facts) {
      if (const auto* v = d.if_contains(field)) add(field, *v);
    }
  } else {
    // A checker this page does not know: its top-level scalars.
    for (const auto& [k, v] : d) {
      if (k != "verdict" && !v.is_object() && !v.is_array()) add(k, v);
    }
  }
  return out.empty() ? "" : "<dl class=\"facts\">" + out + "</dl>";
}

// An array of objects (or an object of objects, keyed by the first column) as a table of its
// first kMaxTableRows rows.
std::string table_html(std::string_view caption, std::string_view field, const json::value& v) {
  std::vector<std::pair<std::string, const json::object*>> rows;
  size_t total = 0;
  std::string key_column;
  if (v.is_array()) {
    total = v.get_array().size();
    for (const auto& e : v.get_array()) {
      if (rows.size() == kMaxTableRows) break;
      if (e.is_object()) rows.emplace_back("", &e.get_object());
    }
  } else if (v.is_object()) {
    total = v.get_object().size();
    key_column = "f";
    for (const auto& [k, e] : v.get_object()) {
      if (rows.size() == kMaxTableRows) break;
      if (e.is_object()) rows.emplace_back(std::string(k), &e.get_object());
    }
  }
  if (rows.empty()) return "";
  std::vector<std::string> columns;
  for (const auto& [k, o] : rows) {
    for (const auto& [c, e] : *o) {
      if (std::find(columns.begin(), columns.end(), std::string(c)) == columns.end()) {
        columns.emplace_back(c);
      }
    }
  }
  std::string out =
      fmt::format("<table class=\"evidence\" data-field=\"{}\"><caption>{} ({})</caption><tr>",
                  html_escape(field), html_escape(caption), total);
  if (!key_column.empty()) out += "<th>" + key_column + "</th>";
  for (const auto& c : columns) out += "<th>" + html_escape(label_of(c)) + "</th>";
  out += "</tr>";
  for (const auto& [k, o] : rows) {
    out += "<tr>";
    if (!key_column.empty()) out += "<td>" + html_escape(k) + "</td>";
    for (const auto& c : columns) {
      const auto* e = o->if_contains(c);
      out += "<td>" + (e ? html_escape(value_text(c, *e)) : std::string()) + "</td>";
    }
    out += "</tr>";
  }
  out += "</table>";
  if (total > rows.size()) {
    out += fmt::format("<p class=\"more\">{} more in the JSON below (results.json has all).</p>",
                       total - rows.size());
  }
  return out;
}

std::string json_html(const json::value& v, size_t source_size) {
  std::string text;
  pretty(text, v, 0, kMaxJsonChars);
  std::string note;
  if (text.size() > kMaxJsonChars) {
    text = clip(std::move(text), kMaxJsonChars);
    note = fmt::format(" — the first {} KB; results.json has all {} KB", kMaxJsonChars / 1024,
                       (source_size + 1023) / 1024);
  }
  return fmt::format(
      "<details class=\"evidence-json\"><summary>All evidence (JSON{})</summary><pre>{}</pre>"
      "</details>",
      html_escape(note), html_escape(text));
}

// ---- the violation timeline ----

struct TimelineOp {
  std::string process;  // lane label
  std::optional<int64_t> process_number;
  std::string f, label, type, text;
  std::string result;      // "185", "ok", "fail", "info", "?" (still running)
  json::value arg, value;  // of the invocation and of the completion
  int64_t invoke_time = 0;
  std::optional<int64_t> completion_time;
  int64_t index = -1;
  bool pending = false, optional = false, failing = false;
};

int64_t int_of(const json::value* v, int64_t fallback = 0) {
  if (!v) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return fallback;
}

std::string str_of(const json::value* v) {
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

std::optional<TimelineOp> timeline_op(const json::object& e, int64_t failing_index) {
  const auto* inv = e.if_contains("invoke");
  if (!inv || !inv->is_object()) return std::nullopt;
  const auto& i = inv->get_object();
  TimelineOp op;
  const auto* p = i.if_contains("process");
  op.process = str_of(p);
  if (p && (p->is_int64() || p->is_uint64())) op.process_number = int_of(p);
  op.f = str_of(i.if_contains("f"));
  op.invoke_time = int_of(i.if_contains("time"));
  op.index = int_of(i.if_contains("index"), -1);
  if (const auto* t = e.if_contains("text")) op.text = str_of(t);
  if (const auto* v = e.if_contains("pending")) op.pending = v->is_bool() && v->get_bool();
  if (const auto* v = e.if_contains("optional")) op.optional = v->is_bool() && v->get_bool();
  op.failing = op.index >= 0 && op.index == failing_index;
  std::string arg = str_of(i.if_contains("value"));
  if (const auto* a = i.if_contains("value")) op.arg = *a;
  std::string result = "?";
  op.type = "info";
  const auto* comp = e.if_contains("completion");
  if (comp && comp->is_object()) {
    const auto& c = comp->get_object();
    op.type = str_of(c.if_contains("type"));
    if (!op.pending) op.completion_time = int_of(c.if_contains("time"));
    std::string value = str_of(c.if_contains("value"));
    if (const auto* cv = c.if_contains("value")) op.value = *cv;
    if (op.type == "ok") {
      result = !value.empty() && value != arg ? value : "ok";
    } else {
      result = op.type;
    }
  }
  if (op.type != "ok" && op.type != "fail") op.type = "info";
  if (op.pending) result = "?";
  op.result = result;
  op.label = op.f + (arg.empty() ? "" : " " + arg) + " → " + result;
  return op;
}

std::string time_offset_text(int64_t ns, int extra = 0) {
  if (ns == 0) return "0";
  return (ns > 0 ? "+" : "−") + duration_text(static_cast<double>(std::llabs(ns)), extra);
}

struct Timeline {
  std::vector<TimelineOp> ops;
  size_t left_out = 0;
  size_t window_size = 0;
  bool from_start = false;
  std::string key, failing_label, failing_process, model;
  std::optional<int64_t> failing_time, prefix_end;
  int64_t prefix_ops = 0;
  int64_t start = 0;  // the window's first invocation (of ops not optional)
};

std::optional<Timeline> read_timeline(const CheckOutcome& c) {
  if (c.kind != "linearizable") return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(c.details_json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& d = v.get_object();
  const auto* w = d.if_contains("failing_window");
  if (!w || !w->is_object()) return std::nullopt;
  const auto* ops = w->get_object().if_contains("ops");
  if (!ops || !ops->is_array() || ops->get_array().empty()) return std::nullopt;
  Timeline t;
  t.model = c.model;
  t.key = str_of(d.if_contains("key"));
  if (const auto* fs = w->get_object().if_contains("from_start")) {
    t.from_start = fs->is_bool() && fs->get_bool();
  }
  int64_t failing_index = -1;
  if (const auto* f = d.if_contains("failing_op"); f && f->is_object()) {
    const auto& fo = f->get_object();
    if (const auto* i = fo.if_contains("invoke"); i && i->is_object()) {
      failing_index = int_of(i->get_object().if_contains("index"), -1);
      t.failing_time = int_of(i->get_object().if_contains("time"));
    }
    if (const auto* cp = fo.if_contains("completion"); cp && cp->is_object()) {
      t.failing_time = int_of(cp->get_object().if_contains("time"));
    }
  }
  if (const auto* p = d.if_contains("linearizable_prefix"); p && p->is_object()) {
    t.prefix_ops = int_of(p->get_object().if_contains("ops"));
    if (const auto* e = p->get_object().if_contains("end_time"); e && !e->is_null()) {
      t.prefix_end = int_of(e);
    }
  }
  for (const auto& e : ops->get_array()) {
    if (!e.is_object()) continue;
    if (auto op = timeline_op(e.get_object(), failing_index)) t.ops.push_back(std::move(*op));
  }
  if (t.ops.empty()) return std::nullopt;
  t.window_size = t.ops.size();
  for (const auto& op : t.ops) {
    if (op.failing) {
      t.failing_label = op.label;
      t.failing_process = op.process;
      if (!t.failing_time) t.failing_time = op.completion_time.value_or(op.invoke_time);
    }
  }
  // Too many to read: keep the ones invoked last (closest to the illegal point) and the failing
  // one.
  if (t.ops.size() > kMaxTimelineOps) {
    std::vector<size_t> order(t.ops.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (t.ops[a].failing != t.ops[b].failing) return t.ops[a].failing;
      return t.ops[a].invoke_time > t.ops[b].invoke_time;
    });
    std::vector<bool> keep(t.ops.size(), false);
    for (size_t i = 0; i < kMaxTimelineOps; ++i) keep[order[i]] = true;
    std::vector<TimelineOp> kept;
    for (size_t i = 0; i < t.ops.size(); ++i) {
      if (keep[i]) kept.push_back(std::move(t.ops[i]));
    }
    t.left_out = t.ops.size() - kept.size();
    t.ops = std::move(kept);
  }
  std::optional<int64_t> start;
  for (const auto& op : t.ops) {
    if (!op.optional) start = std::min(start.value_or(op.invoke_time), op.invoke_time);
  }
  if (!start) {
    for (const auto& op : t.ops) start = std::min(start.value_or(op.invoke_time), op.invoke_time);
  }
  t.start = *start;
  return t;
}

// Approximate advance of the 11px monospace font the labels use.
constexpr double kCharWidth = 6.7;

std::string process_lane_label(const std::string& p) { return "process " + p; }

size_t text_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;  // code points, not bytes
  return n;
}

// The longest of an operation's labels that fits `width` (the full one, without the argument,
// the result only), or "".
std::string fitting_label(const TimelineOp& op, double width) {
  for (const std::string& s : {op.label, op.f + " → " + op.result, "→ " + op.result, op.result}) {
    if (static_cast<double>(text_length(s)) * kCharWidth <= width) return s;
  }
  return "";
}

std::string render_timeline(const Timeline& t) {
  // Lanes: one per process, in process order.
  std::vector<std::string> lanes;
  for (const auto& op : t.ops) {
    if (std::find(lanes.begin(), lanes.end(), op.process) == lanes.end()) {
      lanes.push_back(op.process);
    }
  }
  std::map<std::string, std::optional<int64_t>> numbers;
  for (const auto& op : t.ops) numbers[op.process] = op.process_number;
  std::stable_sort(lanes.begin(), lanes.end(), [&](const std::string& a, const std::string& b) {
    auto na = numbers[a], nb = numbers[b];
    if (na && nb) return *na < *nb;
    if (na || nb) return na.has_value();
    return a < b;
  });
  auto lane_of = [&](const std::string& p) {
    return static_cast<size_t>(std::find(lanes.begin(), lanes.end(), p) - lanes.begin());
  };

  // The x axis is the order of events (as in Porcupine's view): every distinct invocation or
  // completion time is one slot, so short operations stay readable next to long pauses; the
  // axis labels give the time since the window's start, and long pauses are marked.
  std::vector<int64_t> times;
  for (const auto& op : t.ops) {
    times.push_back(op.invoke_time);
    if (op.completion_time) times.push_back(*op.completion_time);
  }
  if (t.failing_time) times.push_back(*t.failing_time);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  auto slot_of = [&](int64_t time) {
    return static_cast<size_t>(std::lower_bound(times.begin(), times.end(), time) - times.begin());
  };

  const TimelineOp* failing = nullptr;
  for (const auto& op : t.ops) {
    if (op.failing) failing = &op;
  }
  const double left = 96, top = 34, lane_h = 30, bar_h = 18;
  const size_t n = times.size();
  const double slot_w = std::clamp(880.0 / static_cast<double>(n), 12.0, 110.0);
  const double plot_left = left + slot_w / 2;
  auto x_of_slot = [&](size_t s) { return plot_left + slot_w * static_cast<double>(s); };
  const double right_edge = x_of_slot(n - 1) + slot_w * 1.5;
  // The failing operation's label goes right of the illegal point when its bar is too short.
  double failing_label_end = 0;
  if (failing && t.failing_time) {
    failing_label_end = x_of_slot(slot_of(*t.failing_time)) + 8 +
                        static_cast<double>(text_length(failing->label)) * kCharWidth;
  }
  // A wide timeline scrolls, starting at its right end (the illegal point): lane labels are
  // repeated on the right.
  const bool wide = right_edge > 1150;
  const double right_labels = std::max(right_edge, failing_label_end) + 16;
  const double plot_width = wide ? right_labels + 90 : std::max(right_edge, failing_label_end) + 16;
  const double lanes_bottom = top + lane_h * static_cast<double>(lanes.size());
  const double axis_y = lanes_bottom + 8;
  const double legend_y = axis_y + 46;
  const double legend_width = 860;
  const double width = std::max(plot_width, left + legend_width);
  const double height = legend_y + (t.left_out ? 40 : 24);

  std::string s = fmt::format(
      "<svg class=\"violation-timeline\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" font-family=\"sans-serif\" font-size=\"11\" "
      "direction=\"ltr\" role=\"img\"{2}>",
      width, height, wide ? " data-scroll=\"end\"" : "");
  s += fmt::format("<title>Failing window of key '{}': {} operations on {} processes{}</title>",
                   html_escape(t.key), t.window_size, lanes.size(),
                   t.left_out ? fmt::format(" ({} earliest not drawn)", t.left_out) : "");

  // Lanes.
  s += "<g class=\"lanes\">";
  for (size_t i = 0; i < lanes.size(); ++i) {
    double y = top + lane_h * static_cast<double>(i);
    bool failing_lane = failing && lanes[i] == failing->process;
    std::string style = failing_lane ? " font-weight=\"bold\" fill=\"#b71c1c\"" : "";
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>", left, y,
        right_edge - left, lane_h, i % 2 ? "#ffffff" : "#f4f6f8");
    s += fmt::format(
        "<text class=\"lane-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" "
        "dominant-baseline=\"middle\"{}>{}</text>",
        left - 8, y + lane_h / 2, style, html_escape(process_lane_label(lanes[i])));
    if (wide) {
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" dominant-baseline=\"middle\"{}>{}</text>",
                       right_labels, y + lane_h / 2, style,
                       html_escape(process_lane_label(lanes[i])));
    }
  }
  s += "</g>";

  // Long pauses between consecutive events: dotted lines with the pause's length.
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < n; ++i) gaps.push_back(times[i] - times[i - 1]);
  std::vector<int64_t> sorted_gaps = gaps;
  std::sort(sorted_gaps.begin(), sorted_gaps.end());
  int64_t median_gap = sorted_gaps.empty() ? 0 : sorted_gaps[sorted_gaps.size() / 2];
  s += "<g class=\"pauses\">";
  for (size_t i = 0; i < gaps.size(); ++i) {
    if (gaps[i] < 1'000'000 || gaps[i] < 10 * median_gap) continue;
    double x = (x_of_slot(i) + x_of_slot(i + 1)) / 2;
    s += fmt::format(
        "<g class=\"pause\"><line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
        "stroke=\"#9aa5b1\" stroke-dasharray=\"2 3\"/><text x=\"{0:.1f}\" y=\"{3:.1f}\" "
        "text-anchor=\"middle\" fill=\"#52606d\" font-size=\"10\">{4} pause</text>"
        "<title>No event of the window for {4}</title></g>",
        x, top, axis_y + 20, axis_y + 31, duration_text(static_cast<double>(gaps[i])));
  }
  s += "</g>";

  // Operations, each labelled inside its bar as far as it fits (the <title> has everything).
  std::string failing_svg;
  for (const auto& op : t.ops) {
    size_t li = lane_of(op.process);
    double x1 = x_of_slot(slot_of(op.invoke_time)) + 1;
    double x2 = op.completion_time ? x_of_slot(slot_of(*op.completion_time)) - 1 : right_edge;
    if (x2 - x1 < 4) x2 = x1 + 4;
    double y = top + lane_h * static_cast<double>(li) + (lane_h - bar_h) / 2;
    const char* fill = op.type == "ok" ? "#dce8fa" : op.type == "fail" ? "#e9e9e9" : "#fff1c2";
    const char* stroke = op.type == "ok" ? "#3867b0" : op.type == "fail" ? "#7b8794" : "#a07800";
    if (op.failing) {
      fill = "#fdd9d5";
      stroke = "#c62828";
    }
    std::string classes = "op";
    if (op.pending) classes += " pending";
    if (op.optional) classes += " optional";
    if (op.failing) classes += " failing";
    std::string g = fmt::format(
        "<g class=\"{}\" data-process=\"{}\" data-type=\"{}\" data-index=\"{}\"{}>", classes,
        html_escape(op.process), op.type, op.index,
        // Inline, so that a page's rules for other charts' `.op` cannot fade or colour these.
        op.optional ? " style=\"opacity:0.45\"" : " style=\"opacity:1\"");
    g += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" rx=\"3\" "
        "fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>",
        x1, y, x2 - x1, bar_h, fill, stroke, op.failing ? 2.5 : 1,
        op.pending ? " stroke-dasharray=\"5 3\" fill-opacity=\"0.5\"" : "");
    std::string label = fitting_label(op, x2 - x1 - 8);
    double label_x = x1 + 4;
    if (op.failing && label != op.label) {
      label = op.label;  // right of the bar, past the illegal point
      label_x = x2 + 8;
    }
    if (!label.empty()) {
      g += fmt::format(
          "<text x=\"{:.1f}\" y=\"{:.1f}\" dominant-baseline=\"middle\" "
          "font-family=\"monospace\"{}>{}</text>",
          label_x, y + bar_h / 2,
          op.failing ? " font-weight=\"bold\" fill=\"#b71c1c\"" : " fill=\"#1f2933\"",
          html_escape(label));
    }
    std::string when = op.completion_time
                           ? fmt::format("{} .. {}", time_offset_text(op.invoke_time - t.start),
                                         time_offset_text(*op.completion_time - t.start))
                           : fmt::format("from {}, still running at the illegal point",
                                         time_offset_text(op.invoke_time - t.start));
    g += fmt::format("<title>{}{}: {} ({}){}</title></g>",
                     op.failing ? "The failing operation. " : "",
                     html_escape(process_lane_label(op.process)), html_escape(op.label), when,
                     op.text.empty() ? "" : "\n" + html_escape(op.text));
    // The failing operation is drawn last, above the others.
    if (op.failing) {
      failing_svg = std::move(g);
    } else {
      s += g;
    }
  }
  s += failing_svg;

  // Where the linearizable prefix ends, and the illegal point.
  if (t.prefix_end && *t.prefix_end >= times.front() && *t.prefix_end <= times.back() &&
      (!t.failing_time || *t.prefix_end < *t.failing_time)) {
    double x = x_of_slot(slot_of(*t.prefix_end));
    s += fmt::format(
        "<g class=\"prefix-end\"><line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" "
        "y2=\"{2:.1f}\" stroke=\"#2e7d32\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\" fill=\"#2e7d32\">linearizable "
        "up to here ◂</text><title>The longest linearizable prefix of key '{5}' ends here "
        "({6} operations completed)</title></g>",
        x, top - 16, lanes_bottom, x - 3, top - 20, html_escape(t.key), t.prefix_ops);
  }
  if (t.failing_time) {
    double x = x_of_slot(slot_of(*t.failing_time));
    s += fmt::format(
        "<g class=\"illegal-point\"><line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" "
        "y2=\"{2:.1f}\" stroke=\"#c62828\" stroke-width=\"2.5\"/><text x=\"{3:.1f}\" "
        "y=\"{4:.1f}\" fill=\"#c62828\" font-weight=\"bold\">▸ illegal point</text>"
        "<title>Illegal point: when {5}'s {6} completed, no order of the window's operations "
        "that respects real time is a legal run of the {7} model.</title></g>",
        x, top - 16, lanes_bottom + 4, x + 3, top - 20,
        html_escape(process_lane_label(failing ? failing->process : "?")),
        html_escape(failing ? failing->label : "operation"),
        html_escape(t.model.empty() ? "sequential" : t.model));
  }

  // Time axis: offsets from the window's start at some slots, at least ~90 px apart.
  s += fmt::format(
      "<g class=\"axis\"><line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
      "stroke=\"#52606d\"/>",
      left, axis_y, right_edge, axis_y);
  size_t every = std::max<size_t>(1, static_cast<size_t>(std::ceil(90.0 / slot_w)));
  std::set<size_t> ticks;
  for (size_t i = 0; i < n; i += every) ticks.insert(i);
  std::optional<size_t> illegal_slot;
  if (t.failing_time) illegal_slot = slot_of(*t.failing_time);
  if (illegal_slot) {
    // The illegal point's own label wins over a regular one too close to it.
    size_t f = *illegal_slot;
    for (auto it = ticks.begin(); it != ticks.end();) {
      it = (*it != f && (*it > f ? *it - f : f - *it) < every) ? ticks.erase(it) : std::next(it);
    }
    ticks.insert(f);
  }
  // Enough decimals that neighbouring labels differ.
  int extra = 0;
  for (; extra < 6; ++extra) {
    std::string previous;
    bool distinct = true;
    for (size_t i : ticks) {
      std::string text = time_offset_text(times[i] - t.start, extra);
      distinct = distinct && text != previous;
      previous = std::move(text);
    }
    if (distinct) break;
  }
  for (size_t i : ticks) {
    double x = x_of_slot(i);
    bool illegal = illegal_slot && i == *illegal_slot;
    std::string text = time_offset_text(times[i] - t.start, extra);
    double half = static_cast<double>(text_length(text)) * 3.2;
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#52606d\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"{5}\"{6}>{7}</text>",
        x, axis_y, axis_y + 5, x - half < left ? x - 3 : x, axis_y + 17,
        x - half < left ? "start" : "middle",
        illegal ? " fill=\"#c62828\" font-weight=\"bold\"" : "", text);
  }
  s += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#52606d\">time<title>Time "
      "since the window's start. Operations are placed in the order of events, not to scale; "
      "long pauses are marked.</title></text></g>",
      left - 8, axis_y + 17);

  // Legend.
  struct Key {
    const char* text;
    const char* fill;
    const char* stroke;
    const char* extra;
  };
  const Key keys[] = {
      {"ok", "#dce8fa", "#3867b0", ""},
      {"fail", "#e9e9e9", "#7b8794", ""},
      {"info (outcome unknown)", "#fff1c2", "#a07800", ""},
      {"still running at the illegal point", "#dce8fa", "#3867b0",
       " stroke-dasharray=\"5 3\" fill-opacity=\"0.5\""},
      {"began before the window", "#dce8fa", "#3867b0", " opacity=\"0.45\""},
      {"the failing operation", "#fdd9d5", "#c62828", " stroke-width=\"2.5\""},
  };
  s += "<g class=\"legend\">";
  // At the end a wide timeline opens at.
  double lx = wide ? width - legend_width : left;
  for (const auto& k : keys) {
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"22\" height=\"12\" rx=\"2\" fill=\"{}\" "
        "stroke=\"{}\"{}/><text x=\"{:.1f}\" y=\"{:.1f}\" dominant-baseline=\"middle\">{}</text>",
        lx, legend_y, k.fill, k.stroke, k.extra, lx + 27, legend_y + 6, k.text);
    lx += 27 + static_cast<double>(std::string_view(k.text).size()) * 5.6 + 16;
  }
  s += "</g>";
  if (t.left_out) {
    s += fmt::format(
        "<text class=\"left-out\" x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#52606d\">{} earlier "
        "operations of the window are not drawn (listed in the evidence JSON)</text>",
        wide ? width - legend_width : left, legend_y + 28, t.left_out);
  }
  return s + "</svg>";
}

// What the failing operation had to come after: the window's operations that completed before
// it was invoked (real time orders them first), and for a read of a register, whether anything
// in the window writes the value it returned. Each an <li>.
std::string failing_context(const Timeline& t) {
  const TimelineOp* failing = nullptr;
  for (const auto& op : t.ops) {
    if (op.failing) failing = &op;
  }
  if (!failing) return "";
  std::vector<const TimelineOp*> before;
  for (const auto& op : t.ops) {
    if (!op.failing && op.completion_time && *op.completion_time < failing->invoke_time) {
      before.push_back(&op);
    }
  }
  std::sort(before.begin(), before.end(), [](const TimelineOp* a, const TimelineOp* b) {
    return *a->completion_time > *b->completion_time;
  });
  std::string s;
  if (!before.empty()) {
    constexpr size_t kNamed = 3;
    std::string names;
    for (size_t i = 0; i < before.size() && i < kNamed; ++i) {
      names += fmt::format("{}{}'s <code>{}</code>", i ? ", " : "",
                           html_escape(process_lane_label(before[i]->process)),
                           html_escape(before[i]->label));
    }
    s += fmt::format(
        "<li>It was invoked after {} of the window's operations had completed, so it must take "
        "effect after them: {}{}.</li>",
        before.size(), names,
        before.size() > kNamed ? fmt::format(" and {} more", before.size() - kNamed) : "");
  }
  bool register_like = t.model == "register" || t.model == "cas-register" || t.model == "kv";
  bool read = failing->f == "read" || failing->f == "get";
  if (register_like && read && failing->type == "ok" && !failing->value.is_null()) {
    bool written = false;
    for (const auto& op : t.ops) {
      if (op.f == "write" || op.f == "put" || op.f == "set") {
        written = written || op.arg == failing->value;
      } else if (op.f == "cas" && op.arg.is_array() && op.arg.get_array().size() == 2) {
        written = written || op.arg.get_array()[1] == failing->value;
      }
    }
    if (!written) {
      std::string v = html_escape(json::serialize(failing->value));
      s += fmt::format(
          "<li>No operation of the window writes {0}: the read can only have seen a {0} the "
          "register held before the window, and even starting from {0} the window's "
          "operations have no legal order.</li>",
          v);
    }
  }
  return s;
}

std::string timeline_caption(const Timeline& t, bool wide) {
  std::string s = fmt::format(
      "<div class=\"illegal-caption\"><p><strong>Why key '{}' is not linearizable</strong></p><ul>",
      html_escape(t.key));
  if (t.failing_time && !t.failing_label.empty()) {
    s += fmt::format(
        "<li>At the <strong>illegal point</strong> (the red line, {} after the window's start) "
        "{}'s <code>{}</code> completed, and no order of the window's operations that respects "
        "real time (each takes effect once, between its invocation and its completion) is a "
        "legal run of the {} model.</li>",
        time_offset_text(*t.failing_time - t.start),
        html_escape(process_lane_label(t.failing_process)), html_escape(t.failing_label),
        html_escape(t.model.empty() ? "sequential" : t.model));
  }
  s += failing_context(t);
  if (t.from_start) {
    s += fmt::format(
        "<li>These {} operations are the key's history up to that point, from its initial "
        "state (no smaller window that fails on its own was found).</li>",
        t.window_size);
  } else {
    s += fmt::format(
        "<li>These {} operations fail from <em>any</em> starting state: whatever the "
        "operations before them did, they alone are a contradiction.</li>",
        t.window_size);
  }
  s += fmt::format(
      "<li>The key's history is linearizable up to {} completed operations (the green "
      "line).</li></ul>",
      t.prefix_ops);
  s += "<p class=\"how\">Each bar runs from an operation's invocation to its completion; bars "
       "are placed in the order of events, not to scale (long pauses are marked). Dimmed "
       "operations began before the window and may have taken effect before it; dashed ones were "
       "still running at the illegal point (they may take effect later, or never). Hover a bar "
       "for its times.";
  if (wide) s += " The timeline opens at its end: scroll left for the earlier operations.";
  if (t.left_out) {
    s += fmt::format(" The {} earliest operations of the window are not drawn.", t.left_out);
  }
  return s + "</p></div>";
}

std::string window_list(const Timeline& t) {
  std::string s = fmt::format(
      "<details class=\"window-ops\"{}><summary>The window's {} operations as text</summary><ol>",
      t.window_size <= 12 ? " open" : "", t.window_size);
  for (const auto& op : t.ops) {
    s += fmt::format("<li{}>{}</li>", op.failing ? " class=\"failing\"" : "",
                     html_escape(op.text.empty() ? op.label : op.text));
  }
  return s + "</ol></details>";
}

// ---- the section ----

constexpr std::string_view kStyle = R"(<style>
#checks .check, #checks .gate { border: 1px solid #d9dee3; border-radius: 6px; padding: 10px 14px; margin: 10px 0; }
#checks .check[data-verdict="invalid"], #checks .gate[data-passed="false"] { border-color: #e8a5a0; background: #fffafa; }
#checks h3 { margin: 0 0 6px; font-size: 16px; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
#checks .badge { display: inline-block; padding: 2px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: bold; text-transform: uppercase; }
#checks .badge.valid, #checks .badge.passed { background: #2e7d32; }
#checks .badge.invalid, #checks .badge.missed { background: #c62828; }
#checks .badge.unknown { background: #b26a00; }
#checks .badge.other { background: #616e7c; }
#checks .meta { color: #52606d; font-size: 13px; font-weight: normal; }
#checks .summary { margin: 4px 0 8px; }
#checks dl.facts { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0; font-size: 13px; }
#checks dl.facts div { display: flex; gap: 6px; }
#checks dl.facts dt { color: #52606d; }
#checks dl.facts dd { margin: 0; font-weight: 600; }
#checks table.evidence { border-collapse: collapse; font-size: 12px; margin: 8px 0; width: auto; }
#checks table.evidence caption { text-align: left; font-weight: 600; padding: 2px 0; }
#checks table.evidence th, #checks table.evidence td { border: 1px solid #d9dee3; padding: 2px 6px; text-align: left; white-space: normal; }
#checks table.evidence th { background: #f4f6f8; }
#checks .more { font-size: 12px; color: #52606d; margin: 0 0 8px; }
#checks details pre { max-height: 420px; overflow: auto; background: #f7f8fa; padding: 8px; font-size: 12px; }
#checks figure.violation { margin: 10px 0; }
#checks .timeline-scroll { overflow-x: auto; border: 1px solid #d9dee3; border-radius: 4px; background: #fff; }
#checks .timeline-scroll > svg { direction: ltr; display: block; }
#checks .timeline-scroll.from-end { direction: rtl; }
#checks .illegal-caption { max-width: 62em; font-size: 13px; }
#checks .illegal-caption p { margin: 6px 0; }
#checks .illegal-caption ul { margin: 4px 0; padding-left: 20px; }
#checks .illegal-caption .how { color: #52606d; }
#checks .window-ops li.failing { color: #b71c1c; font-weight: bold; }
#checks .window-ops ol { font-family: monospace; font-size: 12px; }
</style>
)";

std::string badge(std::string_view verdict) {
  std::string cls = verdict == "valid" || verdict == "invalid" || verdict == "unknown" ||
                            verdict == "passed" || verdict == "missed"
                        ? std::string(verdict)
                        : "other";
  return fmt::format("<span class=\"badge {}\">{}</span>", cls, html_escape(verdict));
}

std::string check_html(const CheckOutcome& c, size_t number) {
  std::string s =
      fmt::format("<div class=\"check\" id=\"check-{}\" data-kind=\"{}\" data-verdict=\"{}\">",
                  number, html_escape(c.kind), html_escape(c.verdict));
  std::string meta;
  if (!c.workload.empty()) meta += "workload " + html_escape(c.workload) + " · ";
  meta += "took " + duration_text(c.seconds * 1e9);
  s += fmt::format("<h3>{} <span class=\"kind\">{}{}</span> <span class=\"meta\">{}</span></h3>",
                   badge(c.verdict), html_escape(c.kind),
                   c.model.empty() ? "" : " (" + html_escape(c.model) + ")", meta);
  s += "<p class=\"summary\">" + html_escape(c.summary) + "</p>";

  boost::system::error_code ec;
  json::value d = json::parse(c.details_json, ec);
  if (ec) {
    s += fmt::format(
        "<details class=\"evidence-json\"><summary>Evidence (not JSON)</summary><pre>{}</pre>"
        "</details>",
        html_escape(clip(c.details_json, kMaxJsonChars)));
    return s + "</div>";
  }
  if (d.is_object()) {
    const EvidenceSpec* spec = spec_of(c.kind);
    s += facts_html(d.get_object(), spec);
    if (spec) {
      for (const auto& t : spec->tables) {
        if (const auto* v = d.get_object().if_contains(t.field)) {
          s += table_html(t.caption, t.field, *v);
        }
      }
    }
  }
  if (c.verdict == "invalid") {
    if (auto t = read_timeline(c)) {
      // A wide timeline opens scrolled to its right end, where the illegal point is.
      std::string svg = render_timeline(*t);
      bool wide = svg.find("data-scroll=\"end\"") != std::string::npos;
      s += fmt::format(
          "<figure class=\"violation\"><div class=\"timeline-scroll{}\">{}</div><figcaption>{}"
          "</figcaption>{}</figure>",
          wide ? " from-end" : "", svg, timeline_caption(*t, wide), window_list(*t));
    }
  }
  if (!(d.is_object() && d.get_object().empty())) s += json_html(d, c.details_json.size());
  return s + "</div>";
}

std::string gate_html(const GateOutcome& g) {
  std::string measured =
      std::isnan(g.value) ? "no such metric in this run" : "measured " + number_text(g.value);
  return fmt::format(
      "<div class=\"gate\" data-passed=\"{}\" data-metric=\"{}\"><h3>{} <code>{}</code> "
      "<span class=\"meta\">{}</span></h3><p class=\"summary\">{}</p></div>",
      g.passed ? "true" : "false", html_escape(g.metric), badge(g.passed ? "passed" : "missed"),
      html_escape(g.text), html_escape(measured), html_escape(g.summary));
}

}  // namespace

std::string violation_timeline_svg(const CheckOutcome& c) {
  if (c.verdict != "invalid") return "";
  auto t = read_timeline(c);
  return t ? render_timeline(*t) : "";
}

std::string checks_section(const RunReport& r) {
  std::string s = "<section id=\"checks\">\n";
  s += kStyle;
  s += "<h2>Checks</h2>\n";
  if (r.checks.empty()) s += "<p class=\"none\">This run has no checks.</p>\n";
  for (size_t i = 0; i < r.checks.size(); ++i) s += check_html(r.checks[i], i + 1) + "\n";
  if (!r.gates.empty()) {
    s += "<h2 id=\"gates\">Gates</h2>\n";
    for (const auto& g : r.gates) s += gate_html(g) + "\n";
  }
  return s + "</section>\n";
}

}  // namespace fl::report
