// counter: a `counter` workload increments each key (f "add", value = the increment, possibly
// negative) and reads it (f "read", value = the count; null reads as 0). Every ok read must lie
// within the bounds the adds allow: everything acknowledged before the read began has been
// applied, and nothing invoked after it ended can have been; any add in between (or of unknown
// outcome) may or may not count. Semantics in docs/checkers.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/check/checker.h"

namespace fl::check {

struct CounterOptions {
  // Most bad reads listed in the report (the count is always complete).
  size_t max_listed = 100;
};

struct CounterRead {
  std::string key;
  int64_t index = -1;  // the read's completion
  int64_t value = 0;
  int64_t lower = 0;  // the smallest value the adds allow
  int64_t upper = 0;  // the largest
};

struct CounterReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;  // why unknown
  size_t keys = 0;
  size_t reads = 0;  // ok reads checked
  size_t adds_ok = 0, adds_info = 0, adds_fail = 0;
  size_t bad = 0;                      // reads outside their bounds
  std::vector<CounterRead> bad_reads;  // the first `max_listed` of them, in history order
  // Per key: the last ok read's value and the bounds at the end of the history.
  struct Final {
    std::string key;
    std::optional<int64_t> last_read;
    int64_t lower = 0, upper = 0;
  };
  std::vector<Final> finals;
};

CounterReport check_counter(const Input& in, const CounterOptions& opts);
std::string report_json(const CounterReport& report);

// The [[check]] kind "counter".
result<std::unique_ptr<Checker>> make_counter_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
