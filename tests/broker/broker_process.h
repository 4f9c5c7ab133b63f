// Test support for tests of the real faultline-broker: the process (started with --port 0; the
// port is read from its "ready on" line), a blocking RESP client with timeouts, and a scratch
// directory. Every wait polls a condition under a generous deadline; the process is SIGKILLed
// in the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/resp/resp.h"

namespace fl::brokertest {

using namespace std::chrono_literals;

// Polls `cond` every 10 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 30s);

struct ScratchDir {
  ScratchDir();
  ~ScratchDir();
  std::filesystem::path path;
};

class RespClient {
 public:
  explicit RespClient(uint16_t port, std::chrono::milliseconds timeout = 5s);
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // One command and its reply; nullopt when the node is unreachable or silent past the timeout.
  std::optional<resp::Value> call(const std::vector<std::string>& argv);
  // Sends commands without waiting (pipelining); read() takes replies one by one.
  bool send(const std::vector<std::vector<std::string>>& commands);
  std::optional<resp::Value> read(std::chrono::milliseconds timeout);

 private:
  bool connect();
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  resp::Parser parser_;
};

class BrokerProcess {
 public:
  // `args` are the flags after the program name, without --port and --dir.
  BrokerProcess(std::filesystem::path dir, std::vector<std::string> args);
  ~BrokerProcess();
  // Starts it and waits until it is ready; returns false (with the log tail in `why`) if not.
  bool start(std::string* why = nullptr);
  // Sends `sig` and reaps it.
  void kill(int sig = 9);
  uint16_t port() const { return port_; }
  std::string log() const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path log_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int starts_ = 0;
};

}  // namespace fl::brokertest
