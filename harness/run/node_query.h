// A blocking RESP connection for the harness's questions to nodes at the end of a run (INFO,
// DIGEST, CACHE.KEYS / CACHE.PEEK, GET): one thread, a deadline on every wait, commands
// pipelined in batches. Not for load: the load generator has its own client.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/resp/resp.h"

namespace fl::run {

class NodeConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to host:port (IPv4) before `deadline`.
  static result<NodeConnection> open(const std::string& host, uint16_t port,
                                     Clock::time_point deadline);
  NodeConnection(NodeConnection&& other) noexcept;
  NodeConnection& operator=(NodeConnection&& other) noexcept;
  NodeConnection(const NodeConnection&) = delete;
  NodeConnection& operator=(const NodeConnection&) = delete;
  ~NodeConnection();

  // Sends every command, then reads one reply per command, all before `deadline`. An error
  // (timeout, closed connection, protocol error) leaves the connection unusable.
  result<std::vector<resp::Value>> call_many(const std::vector<std::vector<std::string>>& commands,
                                             Clock::time_point deadline);
  result<resp::Value> call(const std::vector<std::string>& argv, Clock::time_point deadline);

  const std::string& address() const { return address_; }

 private:
  NodeConnection(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
  int fd_ = -1;
  std::string address_;
  resp::Parser parser_;
};

}  // namespace fl::run
