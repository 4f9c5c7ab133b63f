// Test support for multi-process tests of the real faultline-db: processes started and killed
// by pid, a blocking RESP client with timeouts, and a cluster of nodes on allocated ports.
// Every wait polls a condition under a generous deadline; every process is SIGKILLed in the
// destructors.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/resp/resp.h"
#include "harness/supervisor/port_allocator.h"

namespace fl::dbtest {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kDeadline = 30s;

// Polls `cond` every 10 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = kDeadline);

// A temporary directory removed with everything in it.
struct ScratchDir {
  ScratchDir();
  ~ScratchDir();
  std::filesystem::path path;
};

// A blocking RESP connection. Every call has a timeout; a broken connection is reopened on the
// next call.
class RespClient {
 public:
  RespClient(std::string host, uint16_t port, std::chrono::milliseconds timeout = 3s);
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // The reply, or nullopt when the node could not be reached or did not answer in time.
  std::optional<resp::Value> call(const std::vector<std::string>& argv);

 private:
  bool connect();
  void close();
  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  resp::Parser parser_;
};

// One faultline-db process; stdout and stderr go to `log`.
class DbProcess {
 public:
  DbProcess(std::vector<std::string> args, std::filesystem::path log);
  ~DbProcess();
  void start();
  // Sends `sig` and reaps the process.
  void kill(int sig = 9);
  // Sends `sig` (e.g. SIGSTOP, SIGCONT) and leaves the process be.
  void signal(int sig);
  bool running() const { return pid_ > 0; }
  std::string log_tail() const;

 private:
  std::vector<std::string> args_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

// Runs faultline-db with `args` to its exit (at most 30 s, then SIGKILL) and returns its exit
// status; its stderr goes to `err`.
int run_db_to_exit(const std::vector<std::string>& args, std::string& err);

struct NodeSpec {
  std::string id;
  int shard = 0;
  uint16_t port = 0;
};

// S shards x R replicas (ids db-s{s}-r{r}) of the real binary, with data under a scratch dir.
class DbCluster {
 public:
  // `extra` is added to every node's command line (e.g. {"--replication", "quorum"}).
  DbCluster(int shards, int replicas, std::vector<std::string> extra = {});
  ~DbCluster();

  // Drops the --member flags: a standalone node. REQUIRES: one node, before start().
  void standalone();
  // Starts every node and waits until each answers PING.
  bool start();
  size_t size() const { return nodes_.size(); }
  const NodeSpec& spec(size_t i) const { return specs_[i]; }
  std::string address(size_t i) const;
  size_t index_of_address(const std::string& host_port) const;
  DbProcess& process(size_t i) { return *nodes_[i]; }
  // Starts node i again (same flags, same data directory) and waits for PING.
  bool restart(size_t i);
  bool wait_ping(size_t i);

  // A call to node i (its own persistent connection).
  std::optional<resp::Value> call(size_t i, const std::vector<std::string>& argv);
  // ROLE's first element from node i, or "" when it does not answer.
  std::string role(size_t i);
  // The index of the node of `shard` that says it is master, or nullopt.
  std::optional<size_t> master_of(int shard);
  // A call that starts at node `start` and follows -MOVED redirects (up to 5).
  std::optional<resp::Value> call_routed(size_t start, const std::vector<std::string>& argv);
  std::string logs() const;

 private:
  ScratchDir dir_;
  supervisor::PortAllocator ports_;
  std::vector<NodeSpec> specs_;
  std::vector<std::vector<std::string>> args_;
  std::vector<std::unique_ptr<DbProcess>> nodes_;
  std::vector<std::unique_ptr<RespClient>> clients_;
};

// True for a RESP error reply starting with `prefix` (e.g. "MOVED").
bool is_error(const std::optional<resp::Value>& v, std::string_view prefix);

}  // namespace fl::dbtest
