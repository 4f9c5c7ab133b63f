// Upstream throughput: calls kept `window` in flight over one connection, against a RespServer
// (pipelined mode) on another thread, or against any RESP server named by
// UPSTREAM_BENCH_PORT (e.g. redis-server, for a side-by-side figure). Each iteration is 10000
// GETs; items/s is calls per second.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "common/resp/resp.h"
#include "nodes/common/resp_server.h"
#include "nodes/common/upstream.h"

namespace fl::nodes {
namespace {

class BenchServer {
 public:
  BenchServer() {
    table_.add("get", 2, [](CommandContext& c) { c.out.bulk("0123456789abcdef"); });
    table_.add("client", -2, [](CommandContext& c) { c.out.simple("OK"); });
    if (const char* p = std::getenv("UPSTREAM_BENCH_PORT")) {
      port_ = static_cast<uint16_t>(std::atoi(p));
      return;
    }
    ServerOptions o;
    o.port = 0;
    o.handle_signals = false;
    o.pipeline_deferred = true;
    server_ = std::make_unique<RespServer>(o, table_, stats_);
    port_ = server_->listen().value();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~BenchServer() {
    if (server_) server_->post_stop();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  CommandTable table_;
  ServerStats stats_;
  std::unique_ptr<RespServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

void BM_UpstreamGet(benchmark::State& state) {
  static BenchServer server;
  const auto window = static_cast<size_t>(state.range(0));
  constexpr size_t kCalls = 10000;
  boost::asio::io_context io;
  UpstreamOptions o;
  o.max_in_flight = window + 1;
  Upstream up(io, "127.0.0.1", server.port(), o);
  size_t issued = 0, done = 0, failed = 0;
  std::function<void()> issue;
  const std::string key = "key:000123";
  issue = [&] {
    while (issued < kCalls && issued - done < window) {
      ++issued;
      up.call({"GET", key}, [&](UpstreamReply&& r) {
        ++done;
        if (!r.ok()) ++failed;
        issue();
      });
    }
  };
  for (auto _ : state) {
    issued = done = 0;
    issue();
    while (done < kCalls) io.run_one();
  }
  if (failed) state.SkipWithError("calls failed");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kCalls));
}
BENCHMARK(BM_UpstreamGet)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fl::nodes
