#include "harness/check/total_queue.h"

#include <fmt/core.h>

#include <boost/json.hpp>
#include <map>
#include <unordered_map>

#include "harness/check/paired.h"

namespace fl::check {
namespace {

namespace json = boost::json;
using history::Type;
using history::Value;

struct Enqueue {
  const Value* value = nullptr;
  Type outcome = Type::info;
  int64_t index = -1;
};

struct Dequeued {
  const Value* value = nullptr;
  size_t times = 0;
  int64_t first_index = -1;
};

struct KeyState {
  std::vector<std::string> order;  // enqueued texts in history order, for stable listings
  std::unordered_map<std::string, Enqueue> enqueued;
  std::vector<std::string> dequeue_order;
  std::unordered_map<std::string, Dequeued> dequeued;
  size_t info_dequeues = 0;
  bool any_dequeue = false;
  int64_t last_dequeue_ret = INT64_MIN;
  bool last_dequeue_empty = false;
};

TotalQueueReport unknown(TotalQueueReport r, std::string reason) {
  r.verdict = Verdict::unknown;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

TotalQueueReport check_total_queue(const Input& in, const TotalQueueOptions& opts) {
  TotalQueueReport r;
  auto paired = pair_ops(in.history);
  if (!paired) return unknown(std::move(r), "malformed history: " + paired.error().message);
  std::map<std::string_view, KeyState> keys;
  for (const auto& p : *paired) {
    KeyState& k = keys[p.key()];
    if (p.f() == "enqueue") {
      std::string text = history::to_string(p.in());
      auto [it, fresh] =
          k.enqueued.try_emplace(text, Enqueue{&p.in(), p.outcome(), p.invoke_index()});
      if (!fresh) {
        return unknown(std::move(r),
                       fmt::format("value {} of key '{}' is enqueued twice (op index {} and {}); "
                                   "total-queue needs unique values",
                                   text, p.key(), it->second.index, p.invoke_index()));
      }
      k.order.push_back(std::move(text));
    } else if (p.f() == "dequeue") {
      if (p.outcome() == Type::info) ++k.info_dequeues;
      if (!p.ok()) continue;
      k.any_dequeue = true;
      if (p.ret() >= k.last_dequeue_ret) {
        k.last_dequeue_ret = p.ret();
        k.last_dequeue_empty = p.out().is_null();
      }
      if (p.out().is_null()) {
        ++r.empty;
        continue;
      }
      ++r.dequeued;
      std::string text = history::to_string(p.out());
      auto [it, fresh] = k.dequeued.try_emplace(text, Dequeued{&p.out(), 0, p.completion_index()});
      if (fresh) k.dequeue_order.push_back(std::move(text));
      ++it->second.times;
    } else {
      return unknown(std::move(r),
                     fmt::format("op index {} has f '{}'; total-queue knows only enqueue and "
                                 "dequeue",
                                 p.invoke_index(), p.f()));
    }
  }

  size_t certainly_lost = 0;
  for (const auto& [key, k] : keys) {
    ++r.keys;
    r.attempted += k.enqueued.size();
    size_t lost_here = 0;
    std::vector<QueueElement> lost_shown;
    for (const auto& text : k.order) {
      const Enqueue& e = k.enqueued.at(text);
      const bool out = k.dequeued.count(text) > 0;
      if (e.outcome == Type::ok) ++r.acknowledged;
      if (e.outcome == Type::info && out) ++r.recovered;
      if (e.outcome == Type::ok && !out) {
        ++lost_here;
        if (lost_shown.size() < opts.max_listed) {
          lost_shown.push_back({std::string(key), *e.value, e.index, 0});
        }
      }
    }
    for (const auto& text : k.dequeue_order) {
      const Dequeued& d = k.dequeued.at(text);
      auto e = k.enqueued.find(text);
      if (e == k.enqueued.end() || e->second.outcome == Type::fail) {
        ++r.unexpected;
        if (r.unexpected_elements.size() < opts.max_listed) {
          r.unexpected_elements.push_back({std::string(key), *d.value, d.first_index, d.times});
        }
      }
      if (d.times > 1) {
        ++r.duplicated;
        if (r.duplicated_elements.size() < opts.max_listed) {
          r.duplicated_elements.push_back({std::string(key), *d.value, d.first_index, d.times});
        }
      }
    }
    if (lost_here == 0) continue;
    if (!k.any_dequeue || !k.last_dequeue_empty) {
      // Not drained: the missing values may still be in the queue.
      ++r.undrained_keys;
      r.undrained_values += lost_here;
      continue;
    }
    r.lost += lost_here;
    const size_t maybe = std::min(lost_here, k.info_dequeues);
    r.maybe_taken += maybe;
    certainly_lost += lost_here - maybe;
    for (auto& e : lost_shown) {
      if (r.lost_elements.size() < opts.max_listed) r.lost_elements.push_back(std::move(e));
    }
  }

  if (r.unexpected > 0 || certainly_lost > 0) {
    r.verdict = Verdict::invalid;
  } else if (r.undrained_values > 0) {
    r.verdict = Verdict::unknown;
    r.reason = fmt::format(
        "{} acknowledged values were never dequeued from {} keys whose queues "
        "were not drained (the last dequeue did not find them empty)",
        r.undrained_values, r.undrained_keys);
  } else if (r.lost > 0) {
    r.verdict = Verdict::unknown;
    r.reason = fmt::format(
        "{} acknowledged values were never dequeued, and as many dequeues "
        "ended with an unknown outcome (info) and may have taken them",
        r.lost);
  } else if (r.attempted == 0) {
    r.verdict = Verdict::unknown;
    r.reason = "nothing was enqueued";
  } else {
    r.verdict = Verdict::valid;
  }
  return r;
}

std::string report_json(const TotalQueueReport& r) {
  auto elements = [](const std::vector<QueueElement>& list, bool with_times) {
    json::array out;
    for (const auto& e : list) {
      json::object o{{"key", e.key}, {"index", e.index}};
      o["element"] = json::parse(history::to_string(e.element));
      if (with_times) o["times"] = e.times;
      out.push_back(std::move(o));
    }
    return out;
  };
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  o["keys"] = r.keys;
  o["attempted"] = r.attempted;
  o["acknowledged"] = r.acknowledged;
  o["dequeued"] = r.dequeued;
  o["empty_dequeues"] = r.empty;
  o["recovered"] = r.recovered;
  o["lost"] = r.lost;
  o["maybe_taken"] = r.maybe_taken;
  o["duplicated"] = r.duplicated;
  o["unexpected"] = r.unexpected;
  o["undrained_keys"] = r.undrained_keys;
  o["undrained_values"] = r.undrained_values;
  o["lost_elements"] = elements(r.lost_elements, false);
  o["duplicated_elements"] = elements(r.duplicated_elements, true);
  o["unexpected_elements"] = elements(r.unexpected_elements, true);
  return json::serialize(o);
}

namespace {

class TotalQueueChecker final : public Checker {
 public:
  Result check(const Input& in) override {
    TotalQueueReport r = check_total_queue(in, TotalQueueOptions{});
    Result out;
    out.name = "total-queue";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown && !r.reason.empty()) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else {
      out.summary = fmt::format(
          "{}: {} values on {} keys: {} acknowledged, {} lost, {} duplicated, {} unexpected, {} "
          "recovered",
          to_string(r.verdict), r.attempted, r.keys, r.acknowledged, r.lost, r.duplicated,
          r.unexpected, r.recovered);
    }
    out.details_json = report_json(r);
    return out;
  }
};

}  // namespace

result<std::unique_ptr<Checker>> make_total_queue_checker(const plan::CheckSpec&) {
  return std::make_unique<TotalQueueChecker>();
}

}  // namespace fl::check
