// The client side of the control API, for `faultline ctl`: finds a running `faultline up` by its
// run directory (control.json, control.token) and sends it one request.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace fl::control {

// Where a run's control API listens and the token it wants.
struct RunAddress {
  std::filesystem::path run_dir;
  std::string host;
  uint16_t port = 0;
  std::string token;
};

struct ClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Reads <run_dir>/control.json and control.token. errc::not_found when the run has no control
// API (it was not started by `faultline up`, or predates it).
result<RunAddress> read_run(const std::filesystem::path& run_dir);

// Sends one request (the body, if any, as JSON) and reads the response, all within `timeout`.
// errc::io_error when nothing answers (the `up` has ended); errc::timeout when it is too slow.
result<ClientResponse> call(const RunAddress& run, std::string_view method, std::string_view target,
                            std::string_view body = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(120));

// The newest run directory under `runs_root` (by modification time) with a control.json whose
// server answers GET /nodes with the token. errc::not_found, naming what was tried, when none
// does.
result<RunAddress> find_run(const std::filesystem::path& runs_root);

}  // namespace fl::control
