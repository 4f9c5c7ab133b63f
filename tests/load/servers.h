// Real servers for load generator tests: redis-server and faultline-db as child processes on
// free ports, killed on destruction; and a fake RESP server that answers every command with one
// fixed reply (for MOVED tests).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fl::load::testing {

class ServerProcess {
 public:
  // redis-server on a port from the shared PortAllocator, persistence off; waits for PING.
  static std::unique_ptr<ServerProcess> redis();
  // FL_BIN_DIR/faultline-db --port 0; waits for its "ready on host:port" line.
  static std::unique_ptr<ServerProcess> faultline_db();
  ~ServerProcess();

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  void pause();   // SIGSTOP
  void resume();  // SIGCONT

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int out_fd_ = -1;  // the read end of the child's stdout, kept open so it never gets SIGPIPE
};

// A port on which nothing listens (held by the allocator, never bound).
uint16_t closed_port();

// Sends one command with a blocking socket and returns the raw reply bytes ("" on failure).
std::string raw_command(uint16_t port, const std::vector<std::string>& argv);

// A RESP server on 127.0.0.1:0 whose answer to each command is `handler(argv, own port)` (raw
// RESP bytes). The handler runs on the server's thread, one command at a time.
class ScriptedServer {
 public:
  using Handler = std::function<std::string(const std::vector<std::string>& argv, uint16_t port)>;
  explicit ScriptedServer(Handler handler);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;
  uint16_t port() const { return port_; }
  int64_t commands() const { return commands_.load(); }

 private:
  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> commands_{0};
  std::thread thread_;
};

// Answers every command it reads with `reply` (raw RESP bytes; "{port}" in it becomes its own
// port). Listens on 127.0.0.1:0.
class FixedReplyServer : public ScriptedServer {
 public:
  explicit FixedReplyServer(std::string reply);
};

}  // namespace fl::load::testing
