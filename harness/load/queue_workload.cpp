// `queue`: each key is a Redis stream used as a queue with one consumer group. Enqueue appends a
// value unique across the run (XADD); dequeue takes the next undelivered entry for the group
// (XREADGROUP ... COUNT 1 ... >) and acknowledges it (XACK). The final phase drains every queue,
// for the total-queue checker (lost, duplicated and unexpected values).
#include <array>

#include "harness/load/workload.h"

namespace fl::load {

extern const std::array<std::string_view, 2> kQueueOps;
const std::array<std::string_view, 2> kQueueOps = {"enqueue", "dequeue"};

namespace {

constexpr std::array<double, 2> kDefaultMix = {1, 1};
constexpr size_t kEnqueue = 0;
constexpr std::string_view kGroup = "fl";
// A queue counts as drained after this many dequeues in a row that neither returned an entry
// nor found it empty (errors, timeouts): the final phase must end.
constexpr int kGiveUpAfter = 3;

class QueueWorkload final : public Workload {
 public:
  explicit QueueWorkload(const plan::WorkloadSpec& spec)
      : prefix_(spec.key_prefix + "q"),
        keys_(static_cast<uint64_t>(spec.keys)),
        mix_(kQueueOps, kDefaultMix, spec.mix),
        drain_(keys_) {}

  std::vector<Command> setup() const override {
    std::vector<Command> out;
    out.reserve(2 * keys_);
    for (bool warm : {false, true}) {
      for (uint64_t k = 0; k < keys_; ++k) {
        std::string key = key_name(prefix_, k, warm);
        out.push_back({"DEL", key});
        out.push_back({"XGROUP", "CREATE", key, std::string(kGroup), "$", "MKSTREAM"});
      }
    }
    return out;
  }

  Operation next(Rng& rng, KeyChooser& keys, int64_t process, bool warmup) override {
    size_t which = mix_.next(rng);
    uint64_t k = keys.next(rng, which == kEnqueue);
    if (which != kEnqueue) return dequeue(k, process, warmup);
    Operation op = keyed_operation(prefix_, k, warmup);
    int64_t v = next_value_++;
    op.f = "enqueue";
    op.value = history::Value::of(v);
    op.command = {"XADD", *op.key, "*", "v", std::to_string(v)};
    return op;
  }

  Interpretation interpret(const Operation& op, const resp::Value& reply) const override {
    if (reply.type == resp::Type::error) return {error_outcome(op, reply), {}};
    if (op.f == "enqueue") {
      if (reply.type == resp::Type::bulk_string) return {{history::Type::ok, op.value, {}}, {}};
      return {unexpected_reply(op, reply), {}};
    }
    // Nothing undelivered: the dequeue found the queue empty, an `ok` null as the fifo-queue
    // model and the total-queue checker's drain detection read it.
    if (reply.type == resp::Type::null ||
        (reply.type == resp::Type::array && reply.elements.empty())) {
      return {{history::Type::ok, history::Value::null(), {}}, {}};
    }
    // [[stream, [[entry-id, [field, value, ...]]]]]
    const resp::Value* entries = nullptr;
    if (reply.type == resp::Type::array && reply.elements[0].type == resp::Type::array &&
        reply.elements[0].elements.size() == 2 &&
        reply.elements[0].elements[1].type == resp::Type::array) {
      entries = &reply.elements[0].elements[1];
    }
    if (!entries) return {unexpected_reply(op, reply), {}};
    if (entries->elements.empty()) return {{history::Type::ok, history::Value::null(), {}}, {}};
    const resp::Value& entry = entries->elements[0];
    if (entry.type != resp::Type::array || entry.elements.size() != 2 ||
        entry.elements[0].type != resp::Type::bulk_string ||
        entry.elements[1].type != resp::Type::array || entry.elements[1].elements.size() < 2) {
      return {unexpected_reply(op, reply), {}};
    }
    // The entry is delivered (it is in the group's pending list) whatever XACK then answers.
    auto v = parse_int(entry.elements[1].elements[1].str);
    history::Value value =
        v ? history::Value::of(*v) : history::Value::of(entry.elements[1].elements[1].str);
    return {{history::Type::ok, std::move(value), {}},
            {"XACK", *op.key, std::string(kGroup), entry.elements[0].str}};
  }

  void completed(const Operation& op, const Outcome& outcome) override {
    if (!final_phase_ || op.f != "dequeue" || op.key_index >= keys_) return;
    Drain& d = drain_[op.key_index];
    if (outcome.type == history::Type::ok && outcome.value.is_null()) {
      d.done = true;  // found empty
    } else if (outcome.type == history::Type::ok) {
      d.misses = 0;
    } else if (++d.misses >= kGiveUpAfter) {
      d.done = true;
    }
  }

  std::optional<Operation> final_op(int64_t process) override {
    final_phase_ = true;
    for (uint64_t i = 0; i < keys_; ++i) {
      uint64_t k = (cursor_ + i) % keys_;
      if (!drain_[k].done) {
        cursor_ = k + 1;
        return dequeue(k, process, false);
      }
    }
    return std::nullopt;
  }

 private:
  struct Drain {
    bool done = false;
    int misses = 0;
  };

  Operation dequeue(uint64_t k, int64_t process, bool warmup) const {
    Operation op = keyed_operation(prefix_, k, warmup);
    op.f = "dequeue";
    op.command = {"XREADGROUP", "GROUP", std::string(kGroup), "c" + std::to_string(process),
                  "COUNT",      "1",     "STREAMS",           *op.key,
                  ">"};
    return op;
  }

  // The keys' names: the workload's key_prefix and "q", then the key's index.
  std::string prefix_;
  uint64_t keys_;
  MixChooser mix_;
  std::vector<Drain> drain_;
  int64_t next_value_ = 1;
  bool final_phase_ = false;
  uint64_t cursor_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_queue_workload(const plan::WorkloadSpec& spec) {
  return std::make_unique<QueueWorkload>(spec);
}

}  // namespace fl::load
