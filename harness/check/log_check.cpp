#include "harness/check/log_check.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "harness/check/paired.h"

namespace fl::check {
namespace {

namespace json = boost::json;
using history::Type;
using history::Value;

struct Produce {
  Type outcome = Type::info;
  std::string id;  // the ID the broker answered (ok only)
  int64_t index = -1;
};

struct Consumed {
  int64_t value = 0;
  size_t times = 0;
  int64_t index = -1;
};

struct Entry {
  std::string_view id;
  std::optional<int64_t> value;  // nullopt: not an integer (never produced by the workload)
  std::string text;              // the value as JSON, for a non-integer
};

struct Page {
  std::string start;
  int64_t count = 0;
  const Value* entries = nullptr;
  int64_t index = -1;
};

struct ConsumeOp {
  int64_t call = 0, ret = 0, index = -1;
  const Value* entries = nullptr;
};

struct Topic {
  std::vector<int64_t> order;  // produced values in history order
  std::unordered_map<int64_t, Produce> produced;
  std::unordered_map<std::string, Consumed> consumed;
  std::unordered_set<int64_t> consumed_values;
  std::vector<ConsumeOp> consumes;  // ok ones
  int64_t earliest_info_consume = history::kNever;
  std::vector<Page> pages;  // ok replay pages, in invoke order
  bool replay_failed = false;
};

std::optional<Entry> parse_entry(const Value& v) {
  if (v.kind != Value::Kind::list || v.list.size() != 3 ||
      v.list[0].kind != Value::Kind::string) {
    return std::nullopt;
  }
  Entry e{v.list[0].string, std::nullopt, {}};
  if (v.list[2].kind == Value::Kind::integer) {
    e.value = v.list[2].integer;
  } else {
    e.text = history::to_string(v.list[2]);
  }
  return e;
}

// "<partition>-<offset>"; nullopt for any other form.
std::optional<std::pair<int64_t, int64_t>> parse_id(std::string_view id) {
  auto dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  int64_t p = 0, o = 0;
  auto r1 = std::from_chars(id.data(), id.data() + dash, p);
  auto r2 = std::from_chars(id.data() + dash + 1, id.data() + id.size(), o);
  if (r1.ec != std::errc() || r1.ptr != id.data() + dash || r2.ec != std::errc() ||
      r2.ptr != id.data() + id.size()) {
    return std::nullopt;
  }
  return std::pair{p, o};
}

LogReport unknown(LogReport r, std::string reason) {
  r.verdict = Verdict::unknown;
  r.reason = std::move(reason);
  return r;
}

void list(std::vector<LogItem>& out, const LogOptions& opts, LogItem item) {
  if (out.size() < opts.max_listed) out.push_back(std::move(item));
}

}  // namespace

LogReport check_log(const Input& in, const LogOptions& opts) {
  LogReport r;
  auto paired = pair_ops(in.history);
  if (!paired) return unknown(std::move(r), "malformed history: " + paired.error().message);
  std::map<std::string_view, Topic> topics;
  for (const auto& p : *paired) {
    Topic& t = topics[p.key()];
    if (p.f() == "produce") {
      const Value& v = p.in();
      if (v.kind != Value::Kind::list || v.list.size() < 2 ||
          v.list[1].kind != Value::Kind::integer) {
        return unknown(std::move(r), fmt::format("produce at op index {} has value {}; expected "
                                                 "[key, integer]",
                                                 p.invoke_index(), history::to_string(v)));
      }
      const int64_t n = v.list[1].integer;
      Produce pr{p.outcome(), {}, p.invoke_index()};
      if (p.ok() && p.out().kind == Value::Kind::list && p.out().list.size() == 3 &&
          p.out().list[2].kind == Value::Kind::string) {
        pr.id = p.out().list[2].string;
      }
      if (!t.produced.try_emplace(n, std::move(pr)).second) {
        return unknown(std::move(r), fmt::format("value {} of topic '{}' is produced twice (op "
                                                 "index {}); log needs unique values",
                                                 n, p.key(), p.invoke_index()));
      }
      t.order.push_back(n);
    } else if (p.f() == "consume") {
      if (p.outcome() == Type::info) {
        t.earliest_info_consume = std::min(t.earliest_info_consume, p.call());
      }
      if (!p.ok()) continue;
      if (p.out().kind != Value::Kind::list) {
        return unknown(std::move(r), fmt::format("consume at op index {} returned {}; expected "
                                                 "a list of entries",
                                                 p.invoke_index(), history::to_string(p.out())));
      }
      t.consumes.push_back({p.call(), p.ret(), p.invoke_index(), &p.out()});
    } else if (p.f() == "replay") {
      if (!p.ok()) {
        t.replay_failed = true;
        continue;
      }
      const Value& v = p.in();
      if (v.kind != Value::Kind::list || v.list.size() != 2 ||
          v.list[0].kind != Value::Kind::string || v.list[1].kind != Value::Kind::integer ||
          p.out().kind != Value::Kind::list) {
        return unknown(std::move(r), fmt::format("replay at op index {} has value {}; expected "
                                                 "[start, count] and a list of entries",
                                                 p.invoke_index(), history::to_string(v)));
      }
      t.pages.push_back({v.list[0].string, v.list[1].integer, &p.out(), p.invoke_index()});
    } else {
      return unknown(std::move(r), fmt::format("op index {} has f '{}'; log knows produce, "
                                               "consume and replay",
                                               p.invoke_index(), p.f()));
    }
  }

  for (auto& [name, t] : topics) {
    ++r.topics;
    const std::string topic(name);
    // The replay: the chain of pages from "-", each starting after the last ID of the one
    // before, complete when its last page came back short.
    std::unordered_map<std::string_view, int64_t> replay;  // id -> value
    std::unordered_map<int64_t, std::string_view> replay_ids;  // value -> first id
    std::unordered_set<int64_t> unexpected_values;  // counted once each
    std::string expect = "-";
    bool complete = false;
    for (const Page& pg : t.pages) {
      if (complete || pg.start != expect) break;  // a second replay, or a broken chain
      for (const Value& ev : pg.entries->list) {
        auto e = parse_entry(ev);
        if (!e) return unknown(std::move(r), fmt::format("replay at op index {} returned a "
                                                         "malformed entry {}",
                                                         pg.index, history::to_string(ev)));
        ++r.replayed;
        if (!e->value) {
          ++r.unexpected;
          list(r.unexpected_items, opts, {topic, std::string(e->id), 0, pg.index, e->text});
          continue;
        }
        replay.emplace(e->id, *e->value);
        auto [it, fresh] = replay_ids.try_emplace(*e->value, e->id);
        if (!fresh) ++r.log_duplicates;
        auto pr = t.produced.find(*e->value);
        if (fresh && (pr == t.produced.end() || pr->second.outcome == Type::fail) &&
            unexpected_values.insert(*e->value).second) {
          ++r.unexpected;
          list(r.unexpected_items, opts, {topic, std::string(e->id), *e->value, pg.index, {}});
        }
      }
      if (!pg.entries->list.empty()) {
        expect = "(" + pg.entries->list.back().list[0].string;
      }
      complete = static_cast<int64_t>(pg.entries->list.size()) < pg.count;
    }
    if (!complete) r.replay_complete = false;

    // Consumes: deliveries, then the order of first deliveries per partition in real time.
    std::sort(t.consumes.begin(), t.consumes.end(),
              [](const ConsumeOp& a, const ConsumeOp& b) { return a.call < b.call; });
    std::vector<const ConsumeOp*> by_ret;
    by_ret.reserve(t.consumes.size());
    for (const auto& c : t.consumes) by_ret.push_back(&c);
    std::sort(by_ret.begin(), by_ret.end(),
              [](const ConsumeOp* a, const ConsumeOp* b) { return a->ret < b->ret; });
    std::unordered_map<int64_t, int64_t> floor;  // partition -> highest offset of ended consumes
    size_t ended = 0;
    for (const ConsumeOp& c : t.consumes) {
      while (ended < by_ret.size() && by_ret[ended]->ret < c.call) {
        for (const Value& ev : by_ret[ended]->entries->list) {
          if (ev.kind != Value::Kind::list || ev.list.empty()) continue;
          if (auto id = parse_id(ev.list[0].string)) {
            auto [it, fresh] = floor.try_emplace(id->first, id->second);
            if (!fresh) it->second = std::max(it->second, id->second);
          }
        }
        ++ended;
      }
      for (const Value& ev : c.entries->list) {
        auto e = parse_entry(ev);
        if (!e) return unknown(std::move(r), fmt::format("consume at op index {} returned a "
                                                         "malformed entry {}",
                                                         c.index, history::to_string(ev)));
        ++r.deliveries;
        if (!e->value) {
          ++r.unexpected;
          list(r.unexpected_items, opts, {topic, std::string(e->id), 0, c.index, e->text});
          continue;
        }
        auto [it, fresh] = t.consumed.try_emplace(std::string(e->id), Consumed{*e->value, 0, c.index});
        ++it->second.times;
        if (!fresh) {
          if (it->second.times == 2) ++r.redelivered;
          continue;
        }
        t.consumed_values.insert(*e->value);
        auto pr = t.produced.find(*e->value);
        if ((pr == t.produced.end() || pr->second.outcome == Type::fail) &&
            unexpected_values.insert(*e->value).second) {
          ++r.unexpected;
          list(r.unexpected_items, opts, {topic, std::string(e->id), *e->value, c.index, {}});
        }
        if (complete) {
          auto rp = replay.find(e->id);
          if (rp == replay.end() || rp->second != *e->value) {
            ++r.not_replayed;
            list(r.not_replayed_items, opts,
                 {topic, std::string(e->id), *e->value, c.index,
                  rp == replay.end() ? "not in the replay"
                                     : fmt::format("the replay holds {} there", rp->second)});
          }
        }
        auto id = parse_id(e->id);
        if (!id) continue;
        auto f = floor.find(id->first);
        if (f != floor.end() && id->second < f->second) {
          if (t.earliest_info_consume < c.ret) {
            ++r.maybe_redelivered;
          } else {
            ++r.reordered;
            list(r.reordered_items, opts,
                 {topic, std::string(e->id), *e->value, c.index,
                  fmt::format("first delivered after offset {} of partition {} had been",
                              f->second, id->first)});
          }
        }
      }
    }
    r.consumed += t.consumed.size();

    // Produces: lost, recovered, unconsumed, mismatched IDs.
    r.attempted += t.order.size();
    for (int64_t n : t.order) {
      const Produce& pr = t.produced.at(n);
      auto at = replay_ids.find(n);
      const bool in_replay = at != replay_ids.end();
      const bool seen = in_replay || t.consumed_values.count(n) > 0;
      if (pr.outcome == Type::info && seen) ++r.recovered;
      if (pr.outcome != Type::ok) continue;
      ++r.acknowledged;
      if (!seen) {
        if (complete) {
          ++r.lost;
          list(r.lost_items, opts, {topic, pr.id, n, pr.index, {}});
        } else {
          ++r.unseen;
        }
        continue;
      }
      if (in_replay && t.consumed_values.count(n) == 0) ++r.unconsumed;
      if (complete && !pr.id.empty()) {
        auto rp = replay.find(pr.id);
        if (rp == replay.end() || rp->second != n) {
          ++r.mismatched;
          list(r.mismatched_items, opts,
               {topic, pr.id, n, pr.index,
                rp != replay.end() ? fmt::format("the replay holds {} there", rp->second)
                : in_replay        ? fmt::format("the replay has it at {}", at->second)
                                   : std::string("not in the replay")});
        }
      }
    }
  }

  if (r.lost + r.unexpected + r.mismatched + r.not_replayed + r.reordered > 0) {
    r.verdict = Verdict::invalid;
  } else if (r.unseen > 0) {
    r.verdict = Verdict::unknown;
    r.reason = fmt::format("{} acknowledged values were not seen, and the replay did not reach the "
                           "end of the log (a page failed or never came back short)",
                           r.unseen);
  } else if (r.attempted == 0) {
    r.verdict = Verdict::unknown;
    r.reason = "nothing was produced";
  } else {
    r.verdict = Verdict::valid;
  }
  return r;
}

std::string report_json(const LogReport& r) {
  auto items = [](const std::vector<LogItem>& list) {
    json::array out;
    for (const auto& e : list) {
      json::object o{{"topic", e.topic}, {"id", e.id}, {"value", e.value}, {"index", e.index}};
      if (!e.why.empty()) o["why"] = e.why;
      out.push_back(std::move(o));
    }
    return out;
  };
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  o["topics"] = r.topics;
  o["attempted"] = r.attempted;
  o["acknowledged"] = r.acknowledged;
  o["consumed"] = r.consumed;
  o["deliveries"] = r.deliveries;
  o["replayed"] = r.replayed;
  o["replay_complete"] = r.replay_complete;
  o["recovered"] = r.recovered;
  o["unconsumed"] = r.unconsumed;
  o["redelivered"] = r.redelivered;
  o["log_duplicates"] = r.log_duplicates;
  o["lost"] = r.lost;
  o["unseen"] = r.unseen;
  o["unexpected"] = r.unexpected;
  o["mismatched"] = r.mismatched;
  o["not_replayed"] = r.not_replayed;
  o["reordered"] = r.reordered;
  o["maybe_redelivered"] = r.maybe_redelivered;
  o["lost_items"] = items(r.lost_items);
  o["unexpected_items"] = items(r.unexpected_items);
  o["mismatched_items"] = items(r.mismatched_items);
  o["not_replayed_items"] = items(r.not_replayed_items);
  o["reordered_items"] = items(r.reordered_items);
  return json::serialize(o);
}

namespace {

class LogChecker final : public Checker {
 public:
  Result check(const Input& in) override {
    LogReport r = check_log(in, LogOptions{});
    Result out;
    out.name = "log";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown && !r.reason.empty()) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else {
      out.summary = fmt::format(
          "{}: {} produced ({} acknowledged), {} consumed, {} replayed: {} lost, {} reordered, {} "
          "not replayed, {} mismatched, {} unexpected; {} redelivered, {} unconsumed",
          to_string(r.verdict), r.attempted, r.acknowledged, r.consumed, r.replayed, r.lost,
          r.reordered, r.not_replayed, r.mismatched, r.unexpected, r.redelivered, r.unconsumed);
    }
    out.details_json = report_json(r);
    return out;
  }
};

}  // namespace

result<std::unique_ptr<Checker>> make_log_checker(const plan::CheckSpec&) {
  return std::make_unique<LogChecker>();
}

}  // namespace fl::check
