#include "harness/check/set_full.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <unordered_map>

#include "harness/check/paired.h"

namespace fl::check {
namespace {

namespace json = boost::json;
using history::Type;
using history::Value;

struct Read {
  int64_t call = 0;
  int64_t ret = 0;
  int64_t index = 0;
  const std::vector<Value>* elements = nullptr;
};

struct Element {
  const Value* value = nullptr;
  bool added = false;
  Type outcome = Type::info;  // of the add
  int64_t add_call = 0;
  int64_t add_ret = kNoReturn;
  int64_t add_index = -1;
  std::vector<uint32_t> present;  // positions in the key's reads (sorted by call) that hold it
};

struct KeyState {
  std::vector<Read> reads;
  std::vector<Element> elements;
  std::unordered_map<std::string, uint32_t> by_text;  // history::to_string(value) -> element

  Element& element(const Value& v) {
    auto [it, fresh] = by_text.try_emplace(history::to_string(v), elements.size());
    if (fresh) {
      Element e;
      e.value = &v;
      elements.push_back(std::move(e));
    }
    return elements[it->second];
  }
};

class Clock {
 public:
  explicit Clock(std::chrono::nanoseconds budget)
      : start_(std::chrono::steady_clock::now()), budget_(budget) {}
  bool expired() const { return std::chrono::steady_clock::now() - start_ > budget_; }
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::nanoseconds budget_;
};

SetFullReport unknown(SetFullReport r, std::string reason, const Clock& clock) {
  r.verdict = Verdict::unknown;
  r.reason = std::move(reason);
  r.elapsed_ms = clock.elapsed_ms();
  return r;
}

}  // namespace

SetFullReport check_set_full(const Input& in, const SetFullOptions& opts) {
  Clock clock(opts.time_budget);
  SetFullReport r;
  auto paired = pair_ops(in.history);
  if (!paired) return unknown(std::move(r), "malformed history: " + paired.error().message, clock);

  // Memory: a position per element of every read, an entry per element added.
  uint64_t estimate = 0;
  for (const auto& p : *paired) {
    if (p.f() == "read" && p.ok() && p.out().kind == Value::Kind::list) {
      estimate += p.out().list.size() * sizeof(uint32_t);
    }
    estimate += sizeof(Element) + 64;
  }
  if (estimate > opts.memory_budget) {
    return unknown(std::move(r),
                   fmt::format("memory budget of {} bytes is too small for this history (needs "
                               "about {})",
                               opts.memory_budget, estimate),
                   clock);
  }

  std::map<std::string_view, KeyState> keys;
  for (const auto& p : *paired) {
    KeyState& k = keys[p.key()];
    if (p.f() == "add") {
      Element& e = k.element(p.in());
      if (e.added) {
        return unknown(
            std::move(r),
            fmt::format("element {} of key '{}' is added twice (op index {} and {}); "
                        "set-full needs unique elements",
                        history::to_string(p.in()), p.key(), e.add_index, p.invoke_index()),
            clock);
      }
      e.added = true;
      e.outcome = p.outcome();
      e.add_call = p.call();
      e.add_ret = p.ok() ? p.ret() : kNoReturn;
      e.add_index = p.invoke_index();
    } else if (p.f() == "read") {
      if (!p.ok()) continue;  // a failed or indeterminate read observed nothing
      const Value& v = p.out();
      static const std::vector<Value> kEmpty;
      if (v.kind != Value::Kind::list && !v.is_null()) {
        return unknown(std::move(r),
                       fmt::format("read at op index {} returned {}, not a list of elements",
                                   p.completion_index(), history::to_string(v)),
                       clock);
      }
      k.reads.push_back({p.call(), p.ret(), p.completion_index(), v.is_null() ? &kEmpty : &v.list});
    } else {
      return unknown(std::move(r),
                     fmt::format("op index {} has f '{}'; set-full knows only add and read",
                                 p.invoke_index(), p.f()),
                     clock);
    }
  }

  std::vector<int64_t> latencies;
  size_t work = 0;
  for (auto& [key, k] : keys) {
    if (k.elements.empty() && k.reads.empty()) continue;
    ++r.keys;
    r.reads += k.reads.size();
    std::stable_sort(k.reads.begin(), k.reads.end(),
                     [](const Read& a, const Read& b) { return a.call < b.call; });
    for (uint32_t i = 0; i < k.reads.size(); ++i) {
      for (const Value& v : *k.reads[i].elements) {
        Element& e = k.element(v);
        if (e.present.empty() || e.present.back() != i) e.present.push_back(i);
      }
      if (++work % 4096 == 0 && clock.expired()) {
        return unknown(std::move(r), "time budget exhausted", clock);
      }
    }

    const auto& reads = k.reads;
    const auto n = static_cast<uint32_t>(reads.size());
    for (const Element& e : k.elements) {
      if (++work % 4096 == 0 && clock.expired()) {
        return unknown(std::move(r), "time budget exhausted", clock);
      }
      SetElement shown{std::string(key), *e.value, e.add_index, 0, -1, 0};
      if (!e.added || e.outcome == Type::fail) {
        if (e.added) ++r.attempted;
        if (e.present.empty()) continue;
        ++r.unexpected;
        shown.read_index = reads[e.present.front()].index;
        if (r.unexpected_elements.size() < opts.max_listed) r.unexpected_elements.push_back(shown);
        continue;
      }
      ++r.attempted;
      if (e.outcome == Type::ok) ++r.acknowledged;
      // When the element was known to be in the set: its add's acknowledgement, or for an add of
      // unknown outcome the end of the first read that saw it.
      int64_t known = e.add_ret;
      if (e.outcome != Type::ok) {
        if (e.present.empty()) {
          ++r.unconfirmed;
          continue;
        }
        known = reads[e.present.front()].ret;
      }
      if (!e.present.empty()) {
        latencies.push_back(std::max<int64_t>(0, reads[e.present.front()].ret - e.add_call));
      }
      shown.known_time = known;
      // Reads that began after `known`: positions [first, n).
      const auto first = static_cast<uint32_t>(
          std::upper_bound(reads.begin(), reads.end(), known,
                           [](int64_t t, const Read& rd) { return t < rd.call; }) -
          reads.begin());
      if (first == n) {
        ++r.never_read;
        continue;
      }
      const auto& p = e.present;
      const auto from = std::lower_bound(p.begin(), p.end(), first);
      if (static_cast<uint32_t>(p.end() - from) == n - first) {
        ++r.stable;
        continue;
      }
      // The last read in [first, n) without the element. `p` is strictly increasing, so p[i] - i
      // never decreases; the trailing run of consecutive positions ending at n-1 is where it
      // equals n - p.size(), and the read just before that run is the last one missing it.
      uint32_t last_absent = n - 1;
      if (!p.empty() && p.back() == n - 1) {
        const auto len = static_cast<uint32_t>(p.size());
        size_t lo = 0, hi = p.size() - 1;
        while (lo < hi) {
          size_t mid = (lo + hi) / 2;
          if (p[mid] - mid == n - len) {
            hi = mid;
          } else {
            lo = mid + 1;
          }
        }
        last_absent = p[lo] - 1;
      }
      shown.read_index = reads[last_absent].index;
      shown.stale_ns = reads[last_absent].call - known;
      if (p.empty() || reads[last_absent].call > reads[p.back()].ret) {
        ++r.lost;
        if (r.lost_elements.size() < opts.max_listed) r.lost_elements.push_back(shown);
      } else {
        ++r.stale;
        r.max_stale_ns = std::max(r.max_stale_ns, shown.stale_ns);
        if (r.stale_elements.size() < opts.max_listed) r.stale_elements.push_back(shown);
      }
    }
  }
  r.visible_latency = quantiles(latencies);
  r.elapsed_ms = clock.elapsed_ms();
  if (r.lost > 0 || r.unexpected > 0) {
    r.verdict = Verdict::invalid;
  } else if (r.stable + r.stale == 0) {
    r.verdict = Verdict::unknown;
    r.reason = r.attempted == 0 ? "no elements were added"
                                : "no element was confirmed by a read that began after its add";
  } else {
    r.verdict = Verdict::valid;
  }
  return r;
}

std::string report_json(const SetFullReport& r) {
  auto elements = [](const std::vector<SetElement>& list) {
    json::array out;
    for (const auto& e : list) {
      json::object o;
      o["key"] = e.key;
      o["element"] = json::parse(history::to_string(e.element));
      o["add_index"] = e.add_index;
      o["known_time"] = e.known_time;
      o["read_index"] = e.read_index;
      if (e.stale_ns) o["stale_ns"] = e.stale_ns;
      out.push_back(std::move(o));
    }
    return out;
  };
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  o["keys"] = r.keys;
  o["reads"] = r.reads;
  o["attempted"] = r.attempted;
  o["acknowledged"] = r.acknowledged;
  o["stable"] = r.stable;
  o["stale"] = r.stale;
  o["lost"] = r.lost;
  o["never_read"] = r.never_read;
  o["unconfirmed"] = r.unconfirmed;
  o["unexpected"] = r.unexpected;
  o["lost_elements"] = elements(r.lost_elements);
  o["stale_elements"] = elements(r.stale_elements);
  o["unexpected_elements"] = elements(r.unexpected_elements);
  const Quantiles& q = r.visible_latency;
  o["visible_latency_ns"] = {{"count", q.count}, {"p50", q.p50}, {"p90", q.p90},  {"p99", q.p99},
                             {"p999", q.p999},   {"max", q.max}, {"mean", q.mean}};
  o["max_stale_ns"] = r.max_stale_ns;
  o["elapsed_ms"] = r.elapsed_ms;
  return json::serialize(o);
}

namespace {

class SetFullChecker final : public Checker {
 public:
  explicit SetFullChecker(SetFullOptions opts) : opts_(opts) {}

  Result check(const Input& in) override {
    SetFullReport r = check_set_full(in, opts_);
    Result out;
    out.name = "set-full";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown && !r.reason.empty()) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else {
      out.summary = fmt::format(
          "{}: {} elements on {} keys: {} stable, {} stale, {} lost, {} never read, {} "
          "unexpected; visible after {}",
          to_string(r.verdict), r.attempted, r.keys, r.stable, r.stale, r.lost, r.never_read,
          r.unexpected, brief(r.visible_latency));
    }
    out.details_json = report_json(r);
    return out;
  }

 private:
  SetFullOptions opts_;
};

}  // namespace

result<std::unique_ptr<Checker>> make_set_full_checker(const plan::CheckSpec& spec) {
  SetFullOptions opts;
  opts.time_budget = spec.time_budget;
  opts.memory_budget = spec.memory_budget;
  return std::make_unique<SetFullChecker>(opts);
}

}  // namespace fl::check
