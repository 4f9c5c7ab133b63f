#include "harness/check/counter.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "harness/check/paired.h"

namespace fl::check {
namespace {

namespace json = boost::json;
using history::Type;
using history::Value;

// Sums of int64 increments: wide enough that no history can overflow them.
__extension__ typedef __int128 Wide;

struct Add {
  int64_t time;  // sort key: completion (for acknowledged sums) or invoke (for attempted sums)
  int64_t delta;
};

// Sums of the positive and the negative parts of adds up to a time, by binary search over adds
// sorted by that time.
class PrefixSums {
 public:
  explicit PrefixSums(std::vector<Add> adds) : adds_(std::move(adds)) {
    std::sort(adds_.begin(), adds_.end(), [](auto& a, auto& b) { return a.time < b.time; });
    pos_.assign(1, 0);
    neg_.assign(1, 0);
    for (const auto& a : adds_) {
      pos_.push_back(pos_.back() + std::max<Wide>(a.delta, 0));
      neg_.push_back(neg_.back() + std::min<Wide>(a.delta, 0));
    }
  }
  // Adds with time < t (strict) or <= t.
  size_t count_before(int64_t t, bool inclusive) const {
    auto it = inclusive ? std::upper_bound(adds_.begin(), adds_.end(), t,
                                           [](int64_t v, const Add& a) { return v < a.time; })
                        : std::lower_bound(adds_.begin(), adds_.end(), t,
                                           [](const Add& a, int64_t v) { return a.time < v; });
    return static_cast<size_t>(it - adds_.begin());
  }
  Wide pos(size_t n) const { return pos_[n]; }
  Wide neg(size_t n) const { return neg_[n]; }

 private:
  std::vector<Add> adds_;
  std::vector<Wide> pos_, neg_;
};

struct KeyOps {
  std::vector<const PairedOp*> reads;
  std::vector<Add> acked;      // ok adds by completion time
  std::vector<Add> attempted;  // ok and info adds by invoke time
};

CounterReport unknown(CounterReport r, std::string reason) {
  r.verdict = Verdict::unknown;
  r.reason = std::move(reason);
  return r;
}

int64_t clamp64(Wide v) { return static_cast<int64_t>(std::clamp<Wide>(v, INT64_MIN, INT64_MAX)); }

}  // namespace

CounterReport check_counter(const Input& in, const CounterOptions& opts) {
  CounterReport r;
  auto paired = pair_ops(in.history);
  if (!paired) return unknown(std::move(r), "malformed history: " + paired.error().message);
  std::map<std::string_view, KeyOps> keys;
  for (const auto& p : *paired) {
    KeyOps& k = keys[p.key()];
    if (p.f() == "add") {
      if (p.in().kind != Value::Kind::integer) {
        return unknown(std::move(r), fmt::format("add at op index {} has value {}, not an integer",
                                                 p.invoke_index(), history::to_string(p.in())));
      }
      const int64_t delta = p.in().integer;
      switch (p.outcome()) {
        case Type::ok:
          ++r.adds_ok;
          k.acked.push_back({p.ret(), delta});
          k.attempted.push_back({p.call(), delta});
          break;
        case Type::info:
          ++r.adds_info;
          k.attempted.push_back({p.call(), delta});
          break;
        default:
          ++r.adds_fail;  // certainly not applied
          break;
      }
    } else if (p.f() == "read") {
      if (!p.ok()) continue;
      const Value& v = p.out();
      if (v.kind != Value::Kind::integer && !v.is_null()) {
        return unknown(std::move(r), fmt::format("read at op index {} returned {}, not an integer",
                                                 p.completion_index(), history::to_string(v)));
      }
      k.reads.push_back(&p);
    } else {
      return unknown(std::move(r),
                     fmt::format("op index {} has f '{}'; counter knows only add and read",
                                 p.invoke_index(), p.f()));
    }
  }

  for (auto& [key, k] : keys) {
    ++r.keys;
    const PrefixSums acked(std::move(k.acked));
    const PrefixSums attempted(std::move(k.attempted));
    auto bounds = [&](int64_t began, int64_t ended) {
      // Certainly applied: acknowledged before the read began. Possibly applied: attempted
      // (ok or info) before the read ended, less those. The possible ones widen the range by
      // their positive parts upward and their negative parts downward.
      const size_t sure = acked.count_before(began, false);
      const size_t maybe = attempted.count_before(ended, true);
      const Wide base = acked.pos(sure) + acked.neg(sure);
      const Wide up = attempted.pos(maybe) - acked.pos(sure);
      const Wide down = attempted.neg(maybe) - acked.neg(sure);
      return std::pair<Wide, Wide>(base + down, base + up);
    };
    std::optional<int64_t> last;
    int64_t last_ret = INT64_MIN;
    for (const PairedOp* p : k.reads) {
      ++r.reads;
      const int64_t value = p->out().is_null() ? 0 : p->out().integer;
      auto [lo, hi] = bounds(p->call(), p->ret());
      if (p->ret() >= last_ret) {
        last = value;
        last_ret = p->ret();
      }
      if (value >= lo && value <= hi) continue;
      ++r.bad;
      if (r.bad_reads.size() < opts.max_listed) {
        r.bad_reads.push_back(
            {std::string(key), p->completion_index(), value, clamp64(lo), clamp64(hi)});
      }
    }
    auto [lo, hi] = bounds(kNoReturn, kNoReturn);
    r.finals.push_back({std::string(key), last, clamp64(lo), clamp64(hi)});
  }
  if (r.bad > 0) {
    r.verdict = Verdict::invalid;
  } else if (r.reads == 0) {
    r.verdict = Verdict::unknown;
    r.reason = "no ok reads to check";
  } else {
    r.verdict = Verdict::valid;
  }
  return r;
}

std::string report_json(const CounterReport& r) {
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  o["keys"] = r.keys;
  o["reads"] = r.reads;
  o["adds"] = {{"ok", r.adds_ok}, {"info", r.adds_info}, {"fail", r.adds_fail}};
  o["bad"] = r.bad;
  json::array bad;
  for (const auto& b : r.bad_reads) {
    bad.push_back(json::object{{"key", b.key},
                               {"index", b.index},
                               {"value", b.value},
                               {"lower", b.lower},
                               {"upper", b.upper}});
  }
  o["bad_reads"] = std::move(bad);
  json::array finals;
  for (const auto& f : r.finals) {
    json::object e{{"key", f.key}, {"lower", f.lower}, {"upper", f.upper}};
    e["last_read"] = f.last_read ? json::value(*f.last_read) : json::value(nullptr);
    finals.push_back(std::move(e));
  }
  o["finals"] = std::move(finals);
  return json::serialize(o);
}

namespace {

class CounterChecker final : public Checker {
 public:
  Result check(const Input& in) override {
    CounterReport r = check_counter(in, CounterOptions{});
    Result out;
    out.name = "counter";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown && !r.reason.empty()) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else if (r.bad > 0) {
      const auto& b = r.bad_reads.front();
      out.summary = fmt::format(
          "invalid: {} of {} reads out of bounds; first: key '{}' read {} "
          "at index {}, allowed {}..{}",
          r.bad, r.reads, b.key, b.value, b.index, b.lower, b.upper);
    } else {
      out.summary = fmt::format(
          "valid: {} reads on {} keys within bounds ({} adds ok, {} info, "
          "{} fail)",
          r.reads, r.keys, r.adds_ok, r.adds_info, r.adds_fail);
    }
    out.details_json = report_json(r);
    return out;
  }
};

}  // namespace

result<std::unique_ptr<Checker>> make_counter_checker(const plan::CheckSpec&) {
  return std::make_unique<CounterChecker>();
}

}  // namespace fl::check
