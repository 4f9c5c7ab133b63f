#include "chaos/resp_clock_control.h"

#include "chaos/ledger.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/resp/resp.h"
#include "harness/plan/faketime.h"
#include "harness/plan/plan.h"

namespace fl::chaos {
namespace {

using Steady = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool wait_for(int fd, short events, Steady::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// Sends one command to host:port and reads one reply, all before `timeout` passes.
result<resp::Value> resp_call(const supervisor::Endpoint& at,
                              std::initializer_list<std::string_view> argv,
                              std::chrono::milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  const std::string where = fmt::format("{}:{}", at.host, at.port);
  const auto failed = [&](std::string_view what, int err) {
    return Error(errc::io_error, fmt::format("{}: {}: {}", where, what, std::strerror(err)));
  };
  const auto timed_out = [&](std::string_view what) {
    return Error(errc::timeout, fmt::format("{}: {} within {} ms", where, what, timeout.count()));
  };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(at.port);
  if (::inet_pton(AF_INET, at.host.c_str(), &addr.sin_addr) != 1) {
    return Error(errc::invalid_argument, fmt::format("'{}' is not an IPv4 address", at.host));
  }
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return failed("socket", errno);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return failed("connect", errno);
    if (!wait_for(s.fd, POLLOUT, deadline)) return timed_out("no connection");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return failed("connect", err);
  }
  std::string request;
  resp::Writer(request).command(argv);
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_for(s.fd, POLLOUT, deadline)) return timed_out("could not send");
    } else if (n < 0 && errno != EINTR) {
      return failed("send", errno);
    }
  }
  resp::Parser parser;
  resp::Value reply;
  for (;;) {
    const auto st = parser.next(reply);
    if (st == resp::Status::ok) return reply;
    if (st == resp::Status::error) {
      return Error(errc::protocol_error, fmt::format("{}: {}", where, parser.error()));
    }
    if (!wait_for(s.fd, POLLIN, deadline)) return timed_out("no reply");
    auto buf = parser.prepare(4096);
    const ssize_t n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n == 0) return Error(errc::io_error, fmt::format("{}: connection closed", where));
    if (n < 0) {
      parser.commit(0);
      if (errno == EAGAIN || errno == EINTR) continue;
      return failed("recv", errno);
    }
    parser.commit(static_cast<size_t>(n));
  }
}

int64_t timespec_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

result<void> write_atomically(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << '\n';
    out.flush();
    if (!out) {
      return Error(errc::io_error, fmt::format("cannot write {}: {}", tmp.string(),
                                               std::strerror(errno)));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    return Error(errc::io_error,
                 fmt::format("cannot rename {} to {}: {}", tmp.string(), file.string(),
                             ec.message()));
  }
  return {};
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
  auto reply = resp_call(*at, argv, timeout_);
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
  return write_atomically(target->file, faketime_setting(offset, rate, now, started));
}

result<void> FaketimeClockControl::reset(std::string_view id) {
  auto target = lookup_(id);
  if (!target) return target.error();
  return write_atomically(target->file, "+0 x1");
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
