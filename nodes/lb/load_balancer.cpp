#include "nodes/lb/load_balancer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <set>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/common/client_command.h"
#include "nodes/common/node_flags.h"
#include "nodes/common/upstream.h"
#include "nodes/lb/latency.h"
#include "nodes/lb/requests.h"

#ifndef FL_VERSION
#define FL_VERSION "0"
#endif

namespace fl::lb {

using nodes::CommandContext;
using nodes::iequals;
using nodes::Upstream;
using nodes::UpstreamReply;

result<BackendSpec> parse_backend(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Error(errc::invalid_argument,
                 fmt::format("--backend '{}': {} (want ID,HOST:PORT)", text, why));
  };
  const size_t comma = text.find(',');
  if (comma == std::string_view::npos) return bad("missing ','");
  BackendSpec b;
  b.id = std::string(text.substr(0, comma));
  if (b.id.empty()) return bad("empty id");
  for (char c : b.id) {
    if (c <= ' ' || c > '~' || c == ',') return bad("the id has spaces or special characters");
  }
  auto address = nodes::parse_host_port(text.substr(comma + 1));
  if (!address) return bad(address.error().message);
  b.host = std::move(address->host);
  b.port = address->port;
  return b;
}

const std::vector<std::string>& known_bugs() {
  static const std::vector<std::string> bugs = {"retry-writes"};
  return bugs;
}

result<void> validate(const LbOptions& o) {
  const auto bad = [](std::string msg) { return Error(errc::invalid_argument, std::move(msg)); };
  if (o.backends.empty()) return bad("at least one --backend is required");
  if (o.backends.size() > kMaxBackends) {
    return bad(fmt::format("at most {} backends", kMaxBackends));
  }
  std::set<std::string> ids;
  for (const BackendSpec& b : o.backends) {
    if (!ids.insert(b.id).second) return bad(fmt::format("backend id '{}' given twice", b.id));
  }
  if (o.vnodes <= 0 || o.vnodes > 10000) return bad("--vnodes must be in 1..10000");
  if (o.health.interval <= Duration::zero()) return bad("--health-interval must be positive");
  if (o.health.timeout <= Duration::zero()) return bad("--health-timeout must be positive");
  if (o.health.fall < 1) return bad("--fall must be at least 1");
  if (o.health.rise < 1) return bad("--rise must be at least 1");
  if (o.health.passive_failures < 0) return bad("--passive-failures must not be negative");
  if (o.timeout <= Duration::zero()) return bad("--timeout must be positive");
  if (o.connections < 1 || o.connections > 1024) return bad("--connections must be in 1..1024");
  return {};
}

namespace {

constexpr std::string_view kNoBackend = "CLUSTERDOWN no healthy backend";

// One forwarded command, from the client's request to the reply relayed. Pooled: its buffers
// keep their capacity from one request to the next.
struct Request {
  nodes::DeferredReply reply;
  std::string command;  // RESP-encoded, sent as is on every attempt
  std::string key;      // routing key (key-hash retries need it after argv is gone)
  bool has_key = false;
  bool read_only = false;
  RetryState retry;
  Duration timeout{};
  size_t backend = 0;  // of the current attempt
  size_t lane = 0;     // which of a backend's connections the client's commands use
  Time started{};      // of the current attempt
};

struct Backend {
  BackendSpec spec;
  // Forwarded requests: one single-connection Upstream per lane. A client connection always
  // uses the same lane, so its commands to this backend stay in order on one connection (a
  // pipelined SET then GET of a key is executed in that order).
  std::vector<std::unique_ptr<Upstream>> lanes;
  std::unique_ptr<Upstream> checks;  // active health checks, on their own connection
  uint64_t requests = 0;             // attempts sent to it
  uint64_t errors = 0;               // attempts that ended not_sent or lost (link errors)
  uint64_t timeouts = 0;             // attempts that timed out
  LatencyHistogram latency;          // of attempts answered, in microseconds
};

}  // namespace

struct LoadBalancer::Impl {
  Impl(LbOptions o, nodes::RespServer& s, const nodes::ServerStats& st)
      : options(std::move(o)),
        server(s),
        stats(st),
        chooser(ids_of(options.backends), options.policy, options.vnodes),
        health(options.backends.size(), options.health, Clock::now()),
        in_flight(options.backends.size(), 0),
        started(Clock::now()) {
    for (const BackendSpec& spec : options.backends) {
      auto b = std::make_unique<Backend>();
      b->spec = spec;
      nodes::UpstreamOptions data;
      data.connections = 1;
      data.timeout = options.timeout;
      data.connect_timeout = std::min<Duration>(options.timeout, std::chrono::milliseconds(500));
      data.client_name = options.id;
      for (int lane = 0; lane < options.connections; ++lane) {
        b->lanes.push_back(std::make_unique<Upstream>(server.io(), spec.host, spec.port, data));
      }
      nodes::UpstreamOptions checks;
      checks.connections = 1;
      checks.max_in_flight = 4;
      checks.timeout = options.health.timeout;
      checks.connect_timeout = options.health.timeout;
      checks.client_name = options.id + "-health";
      b->checks = std::make_unique<Upstream>(server.io(), spec.host, spec.port, checks);
      backends.push_back(std::move(b));
    }
  }

  static std::vector<std::string> ids_of(const std::vector<BackendSpec>& specs) {
    std::vector<std::string> ids;
    for (const auto& s : specs) ids.push_back(s.id);
    return ids;
  }

  // ---- forwarding ----

  void forward(CommandContext& ctx) {
    const std::span<const std::string_view> argv = ctx.argv;
    if (chooser.healthy_count() == 0) return ctx.out.error(kNoBackend);
    Request* r = acquire();
    r->command.clear();
    resp::Writer(r->command).command(argv);
    const auto key = routing_key(argv);
    r->has_key = key.has_value();
    if (key) r->key.assign(*key);
    r->read_only = classify(argv[0]) == CommandClass::read_only;
    r->retry = {};
    r->timeout = options.timeout + std::chrono::milliseconds(block_millis(argv));
    r->lane = static_cast<size_t>(ctx.session.id % static_cast<uint64_t>(options.connections));
    r->reply = ctx.defer();
    ++requests;
    send(r);
  }

  // Sends `r` to the backend the policy picks among those not tried yet.
  void send(Request* r) {
    const std::optional<std::string_view> key =
        r->has_key ? std::optional<std::string_view>(r->key) : std::nullopt;
    const auto b = chooser.choose(key, in_flight, r->retry.tried);
    if (!b) return finish(r, when_no_backend(r->retry));
    Backend& be = *backends[*b];
    r->backend = *b;
    r->started = Clock::now();
    ++in_flight[*b];
    ++be.requests;
    be.lanes[r->lane]->call_encoded(
        r->command, [this, r](UpstreamReply&& reply) { on_reply(r, std::move(reply)); },
        r->timeout);
  }

  void on_reply(Request* r, UpstreamReply&& reply) {
    const size_t b = r->backend;
    Backend& be = *backends[b];
    --in_flight[b];
    if (reply.status == UpstreamReply::Status::ok) {
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - r->started);
      be.latency.record(static_cast<uint64_t>(us.count()));
      health.on_request(b, true);
      r->reply.complete(std::move(reply.bytes));
      release(r);
      return;
    }
    Failure failure = Failure::not_sent;
    switch (reply.status) {
      case UpstreamReply::Status::timeout:
        failure = Failure::timeout;
        ++be.timeouts;
        break;
      case UpstreamReply::Status::lost:
        failure = Failure::lost;
        ++be.errors;
        break;
      default:
        ++be.errors;
        break;
    }
    // A call not sent because the backend cannot be reached is a broken link too; one not sent
    // for a full queue says nothing about the backend's health.
    if (failure != Failure::not_sent || !be.lanes[r->lane]->connected()) {
      health.on_request(b, false);
    }
    sync_health();
    const Verdict v = after_failure(r->retry, b, failure, r->read_only, options.bug_retry_writes);
    if (v != Verdict::retry) return finish(r, v);
    ++retries;
    send(r);
  }

  void finish(Request* r, Verdict v) {
    std::string bytes;
    if (v == Verdict::timeout) {
      resp::Writer(bytes).error("TIMEOUT no reply from the backend in time, or its link broke");
    } else {
      resp::Writer(bytes).error(kNoBackend);
    }
    r->reply.complete(std::move(bytes));
    release(r);
  }

  Request* acquire() {
    if (free.empty()) {
      pool.push_back(std::make_unique<Request>());
      return pool.back().get();
    }
    Request* r = free.back();
    free.pop_back();
    return r;
  }
  void release(Request* r) {
    r->reply = {};
    free.push_back(r);
  }

  // ---- health ----

  void tick() {
    probes.clear();
    health.tick(Clock::now(), probes);
    for (const HealthMonitor::Probe& p : probes) {
      backends[p.backend]->checks->call(
          {"PING"},
          [this, p](UpstreamReply&& reply) {
            const bool ok = reply.ok() && !reply.bytes.empty() && reply.bytes[0] != '-';
            health.on_probe(p.backend, p.id, ok);
            sync_health();
          },
          options.health.timeout);
    }
    sync_health();
  }

  // Applies health changes to the routing.
  void sync_health() {
    if (health.generation() == seen_generation) return;
    seen_generation = health.generation();
    std::vector<bool> healthy(backends.size());
    for (size_t i = 0; i < backends.size(); ++i) {
      healthy[i] = health.up(i);
      if (healthy[i] != chooser.healthy(i)) {
        if (healthy[i]) {
          log::info("lb {}: backend {} ({}) is up", options.id, backends[i]->spec.id,
                    backends[i]->checks->address());
        } else {
          log::warn("lb {}: backend {} ({}) is down ({} checks)", options.id, backends[i]->spec.id,
                    backends[i]->checks->address(),
                    health.down_reason(i) == DownReason::passive ? "passive" : "active");
        }
      }
    }
    chooser.set_healthy(healthy);
  }

  // ---- local commands ----

  void info(CommandContext& ctx) {
    static constexpr std::string_view kSections[] = {"server", "clients", "stats", "lb",
                                                     "backends"};
    bool want[std::size(kSections)] = {};
    if (ctx.argv.size() == 1) std::fill(std::begin(want), std::end(want), true);
    for (size_t i = 1; i < ctx.argv.size(); ++i) {
      const std::string_view a = ctx.argv[i];
      for (size_t s = 0; s < std::size(kSections); ++s) {
        if (iequals(a, "all") || iequals(a, "default") || iequals(a, "everything") ||
            iequals(a, kSections[s])) {
          want[s] = true;
        }
      }
    }
    std::string text;
    auto out = std::back_inserter(text);
    auto section = [&](size_t s, std::string_view title) {
      if (!want[s]) return false;
      if (!text.empty()) text += "\r\n";
      fmt::format_to(out, "# {}\r\n", title);
      return true;
    };
    const auto uptime_s =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
    if (section(0, "Server")) {
      fmt::format_to(out,
                     "redis_version:7.0.0\r\nfaultline_version:{}\r\nnode_kind:lb\r\nid:{}\r\n"
                     "process_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n",
                     FL_VERSION, options.id, ::getpid(), stats.tcp_port, uptime_s);
    }
    if (section(1, "Clients")) {
      fmt::format_to(out, "connected_clients:{}\r\n", stats.connected_clients);
    }
    if (section(2, "Stats")) {
      fmt::format_to(out,
                     "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
                     "rejected_connections:{}\r\n",
                     stats.total_connections_received, stats.total_commands_processed,
                     stats.rejected_connections);
    }
    if (section(3, "LB")) {
      fmt::format_to(out,
                     "policy:{}\r\nbackends:{}\r\nbackends_up:{}\r\nrequests:{}\r\nretries:{}\r\n"
                     "ring_changes:{}\r\nring_moved_ratio:{:.6f}\r\n",
                     to_string(options.policy), backends.size(), chooser.healthy_count(), requests,
                     retries, chooser.ring_changes(), chooser.ring_moved_ratio());
    }
    if (section(4, "Backends")) {
      for (size_t i = 0; i < backends.size(); ++i) {
        const Backend& b = *backends[i];
        fmt::format_to(out,
                       "backend_{}:addr={}:{},state={},requests={},errors={},timeouts={},"
                       "in_flight={},ejections={},latency_p50_us={},latency_p99_us={}\r\n",
                       b.spec.id, b.spec.host, b.spec.port, health.up(i) ? "up" : "down",
                       b.requests, b.errors, b.timeouts, in_flight[i], health.ejections(i),
                       b.latency.quantile(0.5), b.latency.quantile(0.99));
      }
    }
    ctx.out.bulk(text);
  }

  void route(CommandContext& ctx) {
    if (options.policy != Policy::key_hash) {
      return ctx.out.error(fmt::format("ERR LB.ROUTE needs the key-hash policy (this LB runs {})",
                                       to_string(options.policy)));
    }
    const auto b = chooser.route(ctx.argv[1]);
    if (!b) return ctx.out.error(kNoBackend);
    ctx.out.bulk(backends[*b]->spec.id);
  }

  static void command(CommandContext& c) {
    if (c.argv.size() == 1 || iequals(c.argv[1], "docs") || iequals(c.argv[1], "info")) {
      // redis-cli asks for command docs on connect; an empty answer makes it use its own.
      return c.out.array_header(0);
    }
    if (iequals(c.argv[1], "count")) return c.out.integer(0);
    c.out.error(fmt::format("ERR unknown subcommand '{}'. Try COMMAND HELP.", c.argv[1]));
  }

  LbOptions options;
  nodes::RespServer& server;
  const nodes::ServerStats& stats;
  BackendChooser chooser;
  HealthMonitor health;
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<size_t> in_flight;  // per backend: forwarded attempts waiting for a reply
  std::vector<std::unique_ptr<Request>> pool;
  std::vector<Request*> free;
  std::vector<HealthMonitor::Probe> probes;
  uint64_t seen_generation = 0;
  uint64_t requests = 0;  // commands forwarded
  uint64_t retries = 0;   // attempts after the first
  Time started;
};

LoadBalancer::LoadBalancer(LbOptions options, nodes::RespServer& server,
                           const nodes::ServerStats& stats)
    : impl_(std::make_unique<Impl>(std::move(options), server, stats)) {}

LoadBalancer::~LoadBalancer() {
  // Pending calls are dropped without their callbacks when the Upstreams go.
  for (auto& b : impl_->backends) {
    b->lanes.clear();
    b->checks.reset();
  }
}

void LoadBalancer::start(nodes::CommandTable& table) {
  Impl* impl = impl_.get();
  table.add("ping", -1, [](CommandContext& c) {
    if (c.argv.size() > 2) return c.out.error("ERR wrong number of arguments for 'ping' command");
    if (c.argv.size() == 2) return c.out.bulk(c.argv[1]);
    c.out.simple("PONG");
  });
  table.add("quit", -1, [](CommandContext& c) {
    c.session.after = nodes::AfterReply::close;
    c.out.simple("OK");
  });
  table.add("info", -1, [impl](CommandContext& c) { impl->info(c); });
  table.add("client", -2, nodes::client_command);
  table.add("command", -1, [](CommandContext& c) { Impl::command(c); });
  table.add("lb.route", 2, [impl](CommandContext& c) { impl->route(c); });
  for (std::string_view name : {"subscribe", "psubscribe", "ssubscribe", "unsubscribe",
                                "punsubscribe", "sunsubscribe", "monitor"}) {
    table.add(name, -1, [](CommandContext& c) {
      c.out.error(
          fmt::format("ERR {} is not proxied by faultline-lb; connect to the broker", c.argv[0]));
    });
  }
  table.set_fallback([impl](CommandContext& c) { impl->forward(c); });

  const Duration shortest = std::min(impl->options.health.interval, impl->options.health.timeout);
  const Duration period = std::clamp<Duration>(shortest / 4, std::chrono::milliseconds(1),
                                               std::chrono::milliseconds(25));
  impl->server.every(period, [impl] { impl->tick(); });
  impl->server.on_stop([impl] {
    for (auto& b : impl->backends) {
      for (auto& lane : b->lanes) lane->close();
      b->checks->close();
    }
  });
}

}  // namespace fl::lb
