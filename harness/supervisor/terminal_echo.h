// Writes node output lines to the terminal on a thread of its own, so a slow or stuck terminal
// never blocks the supervisor (and the nodes write to their files, never to us).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace fl::supervisor {

class TerminalEcho {
 public:
  // `fd` is not owned. At most `max_pending` bytes wait to be written; lines beyond that are
  // dropped and replaced by one note saying how many were skipped.
  TerminalEcho(int fd, size_t max_pending = 1 << 20);
  // Flushes what is pending for up to about a second, then gives up.
  ~TerminalEcho();
  TerminalEcho(const TerminalEcho&) = delete;
  TerminalEcho& operator=(const TerminalEcho&) = delete;

  // Queues one complete line (with its '\n'). Never blocks on the terminal.
  void push(std::string line);

 private:
  void run();
  bool write_all(const std::string& s);

  int fd_;
  size_t max_pending_;
  int wake_[2] = {-1, -1};  // pipe that interrupts a poll() for writability
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t pending_ = 0;
  size_t skipped_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace fl::supervisor
