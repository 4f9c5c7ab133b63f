// Clock faults on real nodes. Reference nodes take theirs over RESP (`CLOCK SET <offset-ms>
// <rate>`, `CLOCK RESET`; nodes/common/clock.h). External programs a plan starts with
// `faketime = true` run under libfaketime, which reads the node's FAKETIME_TIMESTAMP_FILE at
// every clock call (FAKETIME_NO_CACHE): setting a skew rewrites that file. NodeClockControl picks
// the way for each node of a running cluster.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "chaos/clock_control.h"
#include "common/error.h"
#include "harness/supervisor/supervisor.h"

namespace fl::chaos {

// CLOCK SET / CLOCK RESET over RESP. The offset goes in whole milliseconds (rounded toward
// zero). Each call connects, sends one command and reads one reply within `timeout`; a refused
// connection, a timeout (a paused node) or an error reply fails the call.
class RespClockControl final : public ClockControl {
 public:
  // Where node `id` listens; an error for an id it does not know.
  using Lookup = std::function<result<supervisor::Endpoint>(std::string_view id)>;
  explicit RespClockControl(Lookup lookup,
                            std::chrono::milliseconds timeout = std::chrono::seconds(2));
  result<void> set(std::string_view id, std::chrono::nanoseconds offset, double rate) override;
  result<void> reset(std::string_view id) override;

 private:
  result<void> call(std::string_view id, std::initializer_list<std::string_view> argv);
  Lookup lookup_;
  std::chrono::milliseconds timeout_;
};

// The libfaketime setting ("+2.500000 x1", "-1.000000 x1.5") that makes a process whose
// libfaketime started at `process_start` read, from `now` on, now + offset advancing `rate`
// seconds per second. libfaketime scales time from its process's start, not from the change
// (FAKETIME_XRESET would, but then ignores offsets), so a rate other than 1 is folded into the
// offset: offset + (now - process_start) * (1 - rate). The decimal point is '.', as libfaketime
// reads it in the C locale.
std::string faketime_setting(std::chrono::nanoseconds offset, double rate,
                             std::chrono::system_clock::time_point now,
                             std::chrono::system_clock::time_point process_start);

// When process `pid` started, on the system clock (from /proc/<pid>/stat; to a clock tick,
// 10 ms). Errors when there is no such process.
result<std::chrono::system_clock::time_point> process_start_wall_time(int pid);

// Clock faults for programs under libfaketime: writes the node's faketime file atomically (a
// temporary file renamed over it). A rate other than 1 needs the node's process id (see
// faketime_setting) and holds for that process: a restarted process reads the same file from its
// own start, so set the skew again after a restart.
class FaketimeClockControl final : public ClockControl {
 public:
  struct Target {
    std::filesystem::path file;  // the FAKETIME_TIMESTAMP_FILE
    int pid = 0;                 // the running process; 0 when none
  };
  using Lookup = std::function<result<Target>(std::string_view id)>;
  explicit FaketimeClockControl(Lookup lookup) : lookup_(std::move(lookup)) {}
  result<void> set(std::string_view id, std::chrono::nanoseconds offset, double rate) override;
  // Writes "+0 x1": real time.
  result<void> reset(std::string_view id) override;

 private:
  Lookup lookup_;
};

// The clock of every node of a running cluster: reference nodes over RESP at the address the
// supervisor reports, external nodes with `faketime = true` through their faketime file
// (<run>/nodes/<id>/faketime.rc). Any other external node: errc::unsupported naming
// `faketime = true`. `plan` and `supervisor` must outlive it.
class NodeClockControl final : public ClockControl {
 public:
  NodeClockControl(const plan::Plan& plan, supervisor::Supervisor& supervisor,
                   std::chrono::milliseconds timeout = std::chrono::seconds(2));
  result<void> set(std::string_view id, std::chrono::nanoseconds offset, double rate) override;
  result<void> reset(std::string_view id) override;

 private:
  enum class Way { resp, faketime };
  result<Way> way(std::string_view id) const;
  const plan::Plan& plan_;
  supervisor::Supervisor& supervisor_;
  RespClockControl resp_;
  FaketimeClockControl faketime_;
};

// Whether clock faults can reach instance `id` of `plan`: a reference node, or an external node
// with faketime = true. The error (errc::unsupported) says what to change.
result<void> clock_reachable(const plan::Plan& plan, std::string_view id);

}  // namespace fl::chaos
