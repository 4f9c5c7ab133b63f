// `kv-mix`: GET and SET of `value_size`-byte values over the keys, for throughput and latency.
// Each SET writes a value unique across the run ("<n>:" padded with 'x'), and each GET records
// the <n> it read, so the history can still be checked as a key-value register.
#include <array>
#include <charconv>

#include "harness/load/workload.h"

namespace fl::load {

extern const std::array<std::string_view, 2> kKvMixOps;
const std::array<std::string_view, 2> kKvMixOps = {"get", "set"};

namespace {

constexpr std::array<double, 2> kDefaultMix = {9, 1};
constexpr size_t kGet = 0;

class KvMixWorkload final : public Workload {
 public:
  explicit KvMixWorkload(const plan::WorkloadSpec& spec)
      : prefix_(spec.key_prefix + "kv"),
        keys_(static_cast<uint64_t>(spec.keys)),
        value_size_(spec.value_size),
        mix_(kKvMixOps, kDefaultMix, spec.mix) {}

  // Performance runs keep what the keys hold: no setup.
  std::vector<Command> setup() const override { return {}; }

  Operation next(Rng& rng, KeyChooser& keys, int64_t, bool warmup) override {
    size_t which = mix_.next(rng);
    uint64_t k = keys.next(rng, which != kGet);
    Operation op;
    // Warm-up fills the caches of the keys the main phase uses.
    op.key = key_name(prefix_, k, false);
    op.key_index = k;
    op.warmup = warmup;
    if (which == kGet) {
      op.f = "get";
      op.read_only = true;
      op.command = {"GET", *op.key};
      return op;
    }
    int64_t v = next_value_++;
    op.f = "set";
    op.value = history::Value::of(v);
    std::string value = std::to_string(v);
    value += ':';
    if (value.size() < value_size_) value.resize(value_size_, 'x');
    op.command = {"SET", *op.key, std::move(value)};
    return op;
  }

  Interpretation interpret(const Operation& op, const resp::Value& reply) const override {
    if (reply.type == resp::Type::error) return {error_outcome(op, reply), {}};
    if (op.f == "get") {
      if (reply.type == resp::Type::null)
        return {{history::Type::ok, history::Value::null(), {}}, {}};
      if (reply.type == resp::Type::bulk_string) {
        // The number before ':'; a value some other writer put there reads as a string.
        auto colon = reply.str.find(':');
        if (colon != std::string::npos) {
          if (auto v = parse_int(std::string_view(reply.str).substr(0, colon))) {
            return {{history::Type::ok, history::Value::of(*v), {}}, {}};
          }
        }
        return {{history::Type::ok, history::Value::of(reply.str.substr(0, 64)), {}}, {}};
      }
      return {unexpected_reply(op, reply), {}};
    }
    if (reply.type == resp::Type::simple_string && reply.str == "OK") {
      return {{history::Type::ok, op.value, {}}, {}};
    }
    return {unexpected_reply(op, reply), {}};
  }

  // kv-mix is for performance: no final reads.
  std::optional<Operation> final_op(int64_t) override { return std::nullopt; }

 private:
  // The keys' names: the workload's key_prefix and "kv", then the key's index.
  std::string prefix_;
  uint64_t keys_;
  uint64_t value_size_;
  MixChooser mix_;
  int64_t next_value_ = 1;
};

}  // namespace

std::unique_ptr<Workload> make_kv_mix_workload(const plan::WorkloadSpec& spec) {
  return std::make_unique<KvMixWorkload>(spec);
}

}  // namespace fl::load
