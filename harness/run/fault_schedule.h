// The [[fault]] schedule of `faultline run`: a thread beside the load that injects each fault at
// its `at` (counted from the start of the main phase), resolves its target when it fires, heals
// it after its `duration`, and records every step in events.jsonl and, as nemesis ops, in the
// history. stop() ends it and heals what is still active.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "chaos/process_faults.h"
#include "harness/history/history.h"
#include "harness/plan/plan.h"

namespace fl::run {

struct FaultScheduleHooks {
  // Appends an event to events.jsonl: type and a serialized JSON object of fields
  // (Session::event). Required.
  std::function<void(std::string_view type, std::string fields_json)> event;
  // The run's clock, ns since it began (Session::now); events and nemesis ops use it. Required.
  std::function<int64_t()> now;
  // Where nemesis ops go; may be null.
  history::Writer* history = nullptr;
  // The nodes as they are now (address, running or not), for role selectors. Required.
  std::function<std::vector<chaos::NodeAddress>()> nodes;
  // Asks a node ROLE. Required.
  chaos::RoleQuery ask;
};

class FaultSchedule {
 public:
  // `control` must outlive the schedule. Random targets draw from Rng(seed).fork("faults").
  FaultSchedule(std::vector<plan::FaultSpec> faults, std::vector<plan::Instance> instances,
                chaos::ProcessControl& control, uint64_t seed, FaultScheduleHooks hooks);
  // Stops (as stop()).
  ~FaultSchedule();
  FaultSchedule(const FaultSchedule&) = delete;
  FaultSchedule& operator=(const FaultSchedule&) = delete;

  // Starts the schedule's thread; each fault fires at origin + at. Call once.
  void start(std::chrono::steady_clock::time_point origin);

  // Ends the schedule: faults not yet fired never fire, and every fault still active is healed
  // now: paused nodes are resumed, killed or terminated nodes whose fault has a `duration` are
  // started again (their heal was due anyway); a kill or terminate without `duration` stays down.
  // Waits for an action in progress to finish. Idempotent and thread-safe.
  void stop();

  // Counts, for tests and the summary: nodes faulted, heals done, faults skipped.
  struct Counts {
    int injected = 0;
    int healed = 0;
    int skipped = 0;
    int errors = 0;
  };
  Counts counts() const;

 private:
  struct Step {
    std::chrono::steady_clock::time_point when;
    size_t seq;    // ties keep insertion order
    size_t fault;  // index into faults_
    bool heal;     // false: inject the fault; true: heal it on `node`
    std::string node;
  };

  void loop();
  void fire(size_t fault);
  void heal_now(const Step& step, std::string_view why);
  void nemesis(std::string_view f, std::vector<std::string> nodes, std::string error);
  std::string fields(size_t fault, std::string_view node, std::string detail) const;

  std::vector<plan::FaultSpec> faults_;
  std::vector<plan::Instance> instances_;
  chaos::ProcessControl& control_;
  Rng rng_;
  FaultScheduleHooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Step> steps_;  // pending, unordered; the earliest is found on each wake
  std::vector<Step> held_;   // heals with no time of their own (pause without duration)
  size_t seq_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  Counts counts_;
  std::thread thread_;
  std::mutex stop_mu_;  // serializes stop()
};

}  // namespace fl::run
