// The control API over HTTP/1.1 (Boost.Beast), for `faultline up`. It listens on 127.0.0.1 only,
// on a port the kernel picks, and answers only requests carrying the run's token: 32 random
// bytes in hex, written to <run>/control.token (created 0600, never readable by others), with the
// address in <run>/control.json. Requests are read on the server's own thread and handled on
// worker threads, so a slow restart does not hold up `GET /nodes`. docs/control-api.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "harness/control/api.h"

namespace fl::control {

struct ServerOptions {
  // Where control.token and control.json are written. Required; must exist.
  std::filesystem::path run_dir;
  // The address to bind. Tests only: anything but loopback defeats the point.
  std::string host = "127.0.0.1";
  // Threads handling requests (process verbs block). Default 2.
  int workers = 2;
};

// A new token: 32 bytes from the kernel's random source, as 64 lowercase hex digits.
result<std::string> random_token();

// Writes `token` to `path` with mode 0600, failing if the file exists (O_EXCL: never an
// existing file of someone else's, never a moment of wider permissions).
result<void> write_token_file(const std::filesystem::path& path, const std::string& token);

class ControlServer {
 public:
  // Binds, writes control.token and control.json, and starts serving. Fails if the run
  // directory already holds a control.token or the bind fails.
  static result<std::unique_ptr<ControlServer>> start(Backend backend, ServerOptions options);
  // Stops (as stop()).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& host() const;
  uint16_t port() const;
  // "http://127.0.0.1:PORT"
  std::string url() const;
  const std::string& token() const;

  // Closes the listener and every connection, waits for requests in progress, joins the threads.
  // Idempotent. control.json and control.token stay in the run directory as a record.
  void stop();

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::control
