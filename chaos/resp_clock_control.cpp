#include "chaos/resp_clock_control.h"

#include <fmt/core.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "chaos/ledger.h"
#include "common/file_io.h"
#include "chaos/resp_call.h"
#include "common/resp/resp.h"
#include "harness/plan/faketime.h"
#include "harness/plan/plan.h"

namespace fl::chaos {
namespace {


int64_t timespec_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}


const plan::NodeSpec* group_of(const plan::Plan& plan, std::string_view id) {
  for (const plan::Instance& i : plan.instances()) {
    if (i.id != id) continue;
    for (const plan::NodeSpec& n : plan.nodes) {
      if (n.id == i.group) return &n;
    }
  }
  return nullptr;
}

}  // namespace

// ---- RESP ----

RespClockControl::RespClockControl(Lookup lookup, std::chrono::milliseconds timeout)
    : lookup_(std::move(lookup)), timeout_(timeout) {}

result<void> RespClockControl::call(std::string_view id,
                                    std::initializer_list<std::string_view> argv) {
  auto at = lookup_(id);
  if (!at) return at.error();
  auto reply = resp_call(at->host, at->port, argv, timeout_);
  if (!reply) {
    return Error(reply.error().code, fmt::format("CLOCK on {}: {}", id, reply.error().message));
  }
  if (reply->type == resp::Type::error) {
    return Error(errc::protocol_error, fmt::format("CLOCK on {}: -{}", id, reply->str));
  }
  if (reply->type != resp::Type::simple_string || reply->str != "OK") {
    return Error(errc::protocol_error, fmt::format("CLOCK on {}: expected +OK", id));
  }
  return {};
}

result<void> RespClockControl::set(std::string_view id, std::chrono::nanoseconds offset,
                                   double rate) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(offset).count();
  const std::string offset_text = std::to_string(ms);
  const std::string rate_text = fmt::format("{}", rate);
  return call(id, {"CLOCK", "SET", offset_text, rate_text});
}

result<void> RespClockControl::reset(std::string_view id) { return call(id, {"CLOCK", "RESET"}); }

// ---- libfaketime ----

std::string faketime_setting(std::chrono::nanoseconds offset, double rate,
                             std::chrono::system_clock::time_point now,
                             std::chrono::system_clock::time_point process_start) {
  double seconds = std::chrono::duration<double>(offset).count();
  if (rate != 1.0) {
    seconds += std::chrono::duration<double>(now - process_start).count() * (1.0 - rate);
  }
  std::string text = fmt::format("{:+.6f}", seconds);
  if (text == "-0.000000") text = "+0.000000";
  // Always with the rate: a setting without one keeps the rate libfaketime had before.
  return text + fmt::format(" x{}", rate);
}

result<std::chrono::system_clock::time_point> process_start_wall_time(int pid) {
  const auto ticks = process_start_time(pid);  // chaos/ledger.h: clock ticks since boot
  if (!ticks) return Error(errc::not_found, fmt::format("no process {}", pid));
  const int64_t hz = ::sysconf(_SC_CLK_TCK);
  const int64_t started_since_boot = static_cast<int64_t>(*ticks) * (1'000'000'000 / hz);
  const int64_t ago = timespec_ns(CLOCK_BOOTTIME) - started_since_boot;
  return std::chrono::system_clock::now() -
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::nanoseconds(ago));
}

result<void> FaketimeClockControl::set(std::string_view id, std::chrono::nanoseconds offset,
                                       double rate) {
  auto target = lookup_(id);
  if (!target) return target.error();
  const auto now = std::chrono::system_clock::now();
  auto started = now;
  if (rate != 1.0) {
    if (target->pid <= 0) {
      return Error(errc::unsupported,
                   fmt::format("clock rate on {}: libfaketime counts a rate from the process's "
                               "start, and {} has no running process",
                               id, id));
    }
    auto s = process_start_wall_time(target->pid);
    if (!s) return s.error();
    started = *s;
  }
  return fl::common::replace_file(target->file, faketime_setting(offset, rate, now, started) + "\n");
}

result<void> FaketimeClockControl::reset(std::string_view id) {
  auto target = lookup_(id);
  if (!target) return target.error();
  return fl::common::replace_file(target->file, "+0 x1\n");
}

// ---- a running cluster ----

result<void> clock_reachable(const plan::Plan& plan, std::string_view id) {
  const plan::NodeSpec* spec = group_of(plan, id);
  if (!spec) return Error(errc::not_found, fmt::format("no node '{}' in the plan", id));
  if (spec->kind != "external" || spec->faketime) return {};
  return Error(errc::unsupported,
               fmt::format("clock fault on {}: an external [[node]] takes clock faults only "
                           "under libfaketime; add faketime = true to [[node]] '{}'",
                           id, spec->id));
}

NodeClockControl::NodeClockControl(const plan::Plan& plan, supervisor::Supervisor& supervisor,
                                   std::chrono::milliseconds timeout)
    : plan_(plan),
      supervisor_(supervisor),
      resp_(
          [this](std::string_view id) -> result<supervisor::Endpoint> {
            for (const supervisor::NodeStatus& s : supervisor_.status()) {
              if (s.id == id) return supervisor::Endpoint{s.host, s.port};
            }
            return Error(errc::not_found, fmt::format("no node '{}'", id));
          },
          timeout),
      faketime_([this](std::string_view id) -> result<FaketimeClockControl::Target> {
        for (const supervisor::NodeStatus& s : supervisor_.status()) {
          if (s.id != id) continue;
          return FaketimeClockControl::Target{
              s.dir.parent_path() / std::string(plan::kFaketimeFileName), s.pid};
        }
        return Error(errc::not_found, fmt::format("no node '{}'", id));
      }) {}

result<NodeClockControl::Way> NodeClockControl::way(std::string_view id) const {
  if (auto ok = clock_reachable(plan_, id); !ok) return ok.error();
  return group_of(plan_, id)->kind == "external" ? Way::faketime : Way::resp;
}

result<void> NodeClockControl::set(std::string_view id, std::chrono::nanoseconds offset,
                                   double rate) {
  auto w = way(id);
  if (!w) return w.error();
  return *w == Way::resp ? resp_.set(id, offset, rate) : faketime_.set(id, offset, rate);
}

result<void> NodeClockControl::reset(std::string_view id) {
  auto w = way(id);
  if (!w) return w.error();
  return *w == Way::resp ? resp_.reset(id) : faketime_.reset(id);
}

}  // namespace fl::chaos
