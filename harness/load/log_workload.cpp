// `log`: one topic per workload on a broker (Redis-streams shaped, IDs `<partition>-<offset>`).
// Produce appends `key <k> v <n>` with n unique across the run (XADD); consume takes up to
// kConsumeCount undelivered entries for the workload's consumer group (XREADGROUP ... >) and
// acknowledges them (XACK). The final phase drains what is still unconsumed, then replays the
// whole topic from the start in pages (XRANGE topic - + COUNT n, then exclusive starts), for the
// `log` checker. History forms (docs/history-format.md): every op's key is the topic;
//   produce  invoke ["k3", 17]          ok ["k3", 17, "2-15"]   (message key, n, the reply ID)
//   consume  invoke null                ok [["2-15", "k3", 17], ...]   ([] when none)
//   replay   invoke ["-" | "(2-15", count]   ok [["0-0", "k1", 4], ...] (one page)
#include <array>

#include "harness/load/workload.h"

namespace fl::load {

extern const std::array<std::string_view, 2> kLogOps;
const std::array<std::string_view, 2> kLogOps = {"produce", "consume"};

namespace {

constexpr std::array<double, 2> kDefaultMix = {1, 1};
constexpr size_t kProduce = 0;
constexpr std::string_view kGroup = "fl";
constexpr int kConsumeCount = 10;
constexpr int kReplayCount = 500;
// The drain ends after this many consumes in a row that found nothing, or this many in a row
// that failed (errors, timeouts); a replay page is tried this many times before giving up.
constexpr int kDrainEmpties = 2;
constexpr int kGiveUpAfter = 5;

// One entry of an XREADGROUP / XRANGE reply as the history keeps it: [id, key, v], v an integer
// when it parses as one. nullopt for a malformed entry.
std::optional<history::Value> entry_value(const resp::Value& entry) {
  if (entry.type != resp::Type::array || entry.elements.size() != 2 ||
      entry.elements[0].type != resp::Type::bulk_string ||
      entry.elements[1].type != resp::Type::array) {
    return std::nullopt;
  }
  const auto& fields = entry.elements[1].elements;
  history::Value key = history::Value::null();
  history::Value v = history::Value::null();
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "key") key = history::Value::of(fields[i + 1].str);
    if (fields[i].str == "v") {
      auto n = parse_int(fields[i + 1].str);
      v = n ? history::Value::of(*n) : history::Value::of(fields[i + 1].str);
    }
  }
  return history::Value::of(
      std::vector<history::Value>{history::Value::of(entry.elements[0].str), key, v});
}

// The entries of a reply listing them ([[id, [f, v, ...]], ...]); nullopt if malformed.
std::optional<history::Value> entries_value(const resp::Value& list) {
  if (list.type != resp::Type::array) return std::nullopt;
  std::vector<history::Value> out;
  out.reserve(list.elements.size());
  for (const auto& e : list.elements) {
    auto v = entry_value(e);
    if (!v) return std::nullopt;
    out.push_back(std::move(*v));
  }
  return history::Value::of(std::move(out));
}

class LogWorkload final : public Workload {
 public:
  explicit LogWorkload(const plan::WorkloadSpec& spec)
      : topic_(spec.key_prefix + "log"),
        mix_(kLogOps, kDefaultMix, spec.mix) {}

  std::vector<Command> setup() const override {
    std::vector<Command> out;
    for (bool warm : {false, true}) {
      const std::string t = topic(warm);
      out.push_back({"DEL", t});
      out.push_back({"XGROUP", "CREATE", t, std::string(kGroup), "$", "MKSTREAM"});
    }
    return out;
  }

  Operation next(Rng& rng, KeyChooser& keys, int64_t process, bool warmup) override {
    size_t which = mix_.next(rng);
    if (which != kProduce) return consume(process, warmup);
    uint64_t k = keys.next(rng, true);
    Operation op = base(warmup);
    op.key_index = k;
    int64_t n = next_value_++;
    std::string mkey = "k" + std::to_string(k);
    op.f = "produce";
    op.value = history::Value::of(
        std::vector<history::Value>{history::Value::of(mkey), history::Value::of(n)});
    op.command = {"XADD", *op.key, "*", "key", mkey, "v", std::to_string(n)};
    return op;
  }

  Interpretation interpret(const Operation& op, const resp::Value& reply) const override {
    if (reply.type == resp::Type::error) return {error_outcome(op, reply), {}};
    if (op.f == "produce") {
      if (reply.type != resp::Type::bulk_string) return {unexpected_reply(op, reply), {}};
      history::Value v = op.value;
      v.list.push_back(history::Value::of(reply.str));
      return {{history::Type::ok, std::move(v), {}}, {}};
    }
    if (op.f == "replay") {
      auto v = entries_value(reply);
      if (!v) return {unexpected_reply(op, reply), {}};
      return {{history::Type::ok, std::move(*v), {}}, {}};
    }
    // consume: nil or [] when nothing is undelivered, else [[topic, [entries]]].
    if (reply.type == resp::Type::null ||
        (reply.type == resp::Type::array && reply.elements.empty())) {
      return {{history::Type::ok, history::Value::of(std::vector<history::Value>{}), {}}, {}};
    }
    if (reply.type != resp::Type::array || reply.elements[0].type != resp::Type::array ||
        reply.elements[0].elements.size() != 2) {
      return {unexpected_reply(op, reply), {}};
    }
    auto v = entries_value(reply.elements[0].elements[1]);
    if (!v) return {unexpected_reply(op, reply), {}};
    // Delivered (pending for the group) whatever XACK then answers.
    Command ack;
    if (!v->list.empty()) {
      ack = {"XACK", *op.key, std::string(kGroup)};
      for (const auto& e : v->list) ack.push_back(e.list[0].string);
    }
    return {{history::Type::ok, std::move(*v), {}}, std::move(ack)};
  }

  void completed(const Operation& op, const Outcome& outcome) override {
    if (!final_phase_) return;
    if (op.f == "consume") {
      if (outcome.type != history::Type::ok) {
        if (++drain_failures_ >= kGiveUpAfter) drained_ = true;
        return;
      }
      drain_failures_ = 0;
      if (!outcome.value.list.empty()) {
        drain_empties_ = 0;
      } else if (++drain_empties_ >= kDrainEmpties) {
        drained_ = true;
      }
    } else if (op.f == "replay") {
      page_in_flight_ = false;
      if (outcome.type != history::Type::ok) {
        if (++page_failures_ >= kGiveUpAfter) replay_done_ = true;
        return;
      }
      page_failures_ = 0;
      const auto& entries = outcome.value.list;
      if (!entries.empty()) replay_from_ = "(" + entries.back().list[0].string;
      if (entries.size() < static_cast<size_t>(kReplayCount)) replay_done_ = true;
    }
  }

  std::optional<Operation> final_op(int64_t process) override {
    final_phase_ = true;
    if (!drained_) return consume(process, false);
    // The replay is one chain of pages, each starting after the last: one page at a time. A
    // worker asking while a page is out ends (the one waiting on the page carries on).
    if (replay_done_ || page_in_flight_) return std::nullopt;
    page_in_flight_ = true;
    Operation op = base(false);
    op.f = "replay";
    op.read_only = true;
    op.value = history::Value::of(std::vector<history::Value>{history::Value::of(replay_from_),
                                                              history::Value::of(kReplayCount)});
    op.command = {"XRANGE", *op.key, replay_from_, "+", "COUNT", std::to_string(kReplayCount)};
    return op;
  }

 private:
  std::string topic(bool warmup) const { return warmup ? "warmup:" + topic_ : topic_; }

  Operation base(bool warmup) const {
    Operation op;
    op.key = topic(warmup);
    op.warmup = warmup;
    return op;
  }

  Operation consume(int64_t process, bool warmup) const {
    Operation op = base(warmup);
    op.f = "consume";
    op.command = {"XREADGROUP", "GROUP", std::string(kGroup), "c" + std::to_string(process),
                  "COUNT", std::to_string(kConsumeCount), "STREAMS", *op.key, ">"};
    return op;
  }

  std::string topic_;
  MixChooser mix_;
  int64_t next_value_ = 1;
  bool final_phase_ = false;
  bool drained_ = false;
  int drain_empties_ = 0;
  int drain_failures_ = 0;
  bool replay_done_ = false;
  bool page_in_flight_ = false;
  int page_failures_ = 0;
  std::string replay_from_ = "-";
};

}  // namespace

std::unique_ptr<Workload> make_log_workload(const plan::WorkloadSpec& spec) {
  return std::make_unique<LogWorkload>(spec);
}

}  // namespace fl::load
