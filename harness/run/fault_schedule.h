// The [[fault]] schedule of `faultline run`: a thread beside the load that injects each fault at
// the times chaos::fire_times() drew for it before the run (counted from the start of the main
// phase), resolves its targets when it fires, heals it after its `duration`, and records every
// step in events.jsonl and, as nemesis ops, in the history. stop() ends it and heals everything
// still active: processes, links and clocks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "chaos/clock_control.h"
#include "chaos/link_control.h"
#include "chaos/process_faults.h"
#include "common/rng.h"
#include "harness/history/history.h"
#include "harness/plan/plan.h"

namespace fl::run {

// What the schedule acts through. `process` is required; `links` and `clock` may be null when the
// run has no such control (plan validation rejects link and partition faults on the direct
// backend; a fault that finds its control missing is recorded as fault.error). Each must outlive
// the schedule.
struct FaultControls {
  chaos::ProcessControl& process;
  chaos::LinkControl* links = nullptr;
  chaos::ClockControl* clock = nullptr;
};

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
  // Fault i's times come from chaos::fault_rng(seed, i); its draws when it fires (random(),
  // select, random-halves) from a fork of that. `main` is the main phase's length (the end of
  // every/rate windows without a stop).
  FaultSchedule(const plan::Plan& plan, FaultControls controls, uint64_t seed,
                std::chrono::nanoseconds main, FaultScheduleHooks hooks);
  // Stops (as stop()).
  ~FaultSchedule();
  FaultSchedule(const FaultSchedule&) = delete;
  FaultSchedule& operator=(const FaultSchedule&) = delete;

  // Starts the schedule's thread; each firing happens at origin + its time. Call once.
  void start(std::chrono::steady_clock::time_point origin);

  // Ends the schedule: firings not yet due never happen (fault.skipped), and everything still
  // active is healed now: paused nodes are resumed, killed or terminated nodes whose fault has a
  // `duration` are started again (their heal was due anyway), cuts and toxics are removed (and
  // LinkControl::heal_all() run), skewed clocks are reset. A kill or terminate without
  // `duration` stays down. Waits for an action in progress to finish. Idempotent, thread-safe.
  void stop();

  // Counts, for tests and the summary: injections (a node faulted, a partition or link fault
  // applied, a clock set), heals done, firings skipped, errors.
  struct Counts {
    int fired = 0;  // firings due so far (each then injected, skipped or failed)
    int injected = 0;
    int healed = 0;
    int skipped = 0;
    int errors = 0;
  };
  Counts counts() const;

 private:
  // One applied fault awaiting its heal: a node of a process fault, or a whole partition, link
  // or clock fault.
  struct Active {
    size_t fault = 0;
    std::vector<std::string> nodes;
    std::optional<uint64_t> handle;  // partition, link: the LinkControl handle
  };
  struct Step {
    std::chrono::steady_clock::time_point when;
    size_t seq;    // ties keep insertion order
    size_t fault;  // index into plan_.faults
    std::optional<Active> heal;  // empty: fire the fault; set: heal it
    std::chrono::nanoseconds at{0};  // a firing: its planned time from the main phase's start
  };

  void loop();
  void fire(size_t fault);
  void fire_process(size_t fault);
  void fire_links(size_t fault);
  void fire_clock(size_t fault);
  void applied(size_t fault, Active active);
  void heal_now(const Active& active, std::string_view why);
  void nemesis(std::string_view f, std::vector<std::string> nodes, std::string error);
  std::string fields(size_t fault, std::string_view node, std::string detail) const;
  void record_skip(size_t fault, std::string why);
  void record_error(size_t fault, std::string_view node, std::string message);

  // The instance ids (or "client") a selector names now, drawn with the fault's generator.
  chaos::Resolution resolve(size_t fault, const plan::Selector& s);
  // resolve() then the fault's select mode.
  chaos::Resolution targets(size_t fault);

  plan::Plan plan_;
  std::vector<plan::Instance> instances_;
  FaultControls controls_;
  uint64_t seed_;
  std::chrono::nanoseconds main_;
  std::vector<Rng> draws_;  // per fault
  FaultScheduleHooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Step> steps_;    // pending, unordered; the earliest is found on each wake
  std::vector<Active> held_;   // heals with no time of their own (healed by stop())
  std::vector<int> active_;    // per fault: injections not yet healed
  std::set<std::string> skewed_;  // nodes whose clock is set
  size_t seq_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  Counts counts_;
  std::chrono::nanoseconds firing_at_{0};  // the planned time of the firing in progress
  std::thread thread_;
  std::mutex stop_mu_;  // serializes stop()
};

}  // namespace fl::run
