// total-queue (after Jepsen's checker of that name): a `queue` workload enqueues unique values
// (f "enqueue", value = the element) and dequeues them (f "dequeue", value = the element taken,
// or null when the queue was empty); the history ends with dequeues that drain every queue. Each
// key is its own queue. Nothing acknowledged may be lost and nothing may come out that was never
// put in; duplicates are counted but allowed (at-least-once delivery). Order is not judged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/check/checker.h"

namespace fl::check {

struct TotalQueueOptions {
  // Most elements listed per outcome in the report (counts are always complete).
  size_t max_listed = 100;
};

struct QueueElement {
  std::string key;
  history::Value element;
  int64_t index = -1;  // lost: the enqueue's invoke; duplicated, unexpected: the first dequeue
  size_t times = 0;    // duplicated: how often it was dequeued
};

struct TotalQueueReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;  // why unknown
  size_t keys = 0;
  size_t attempted = 0;     // distinct values enqueued (ok, info or fail)
  size_t acknowledged = 0;  // enqueued ok
  size_t dequeued = 0;      // ok dequeues that returned a value
  size_t empty = 0;         // ok dequeues that found the queue empty
  size_t recovered = 0;     // enqueues of unknown outcome (info) that were dequeued
  size_t lost = 0;          // acknowledged, never dequeued
  size_t duplicated = 0;    // distinct values dequeued more than once
  size_t unexpected = 0;    // dequeued but never enqueued, or enqueued with a fail
  // Lost values that dequeues of unknown outcome (info) may have taken: per key, up to as many
  // lost values as that key has info dequeues. Only the rest are certainly lost.
  size_t maybe_taken = 0;
  // Keys whose last ok dequeue did not find the queue empty: lost values there may still be in
  // the queue, so they are not counted as lost (see undrained_values).
  size_t undrained_keys = 0;
  size_t undrained_values = 0;
  std::vector<QueueElement> lost_elements, duplicated_elements, unexpected_elements;
};

TotalQueueReport check_total_queue(const Input& in, const TotalQueueOptions& opts);
std::string report_json(const TotalQueueReport& report);

// The [[check]] kind "total-queue".
result<std::unique_ptr<Checker>> make_total_queue_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
