// One attempt of a network readiness probe (tcp, resp, http) against a node, bounded by a
// deadline. Log probes are event-driven and live in the supervisor's log follower.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>

#include "harness/plan/plan.h"

namespace fl::supervisor {

// True when the node answered as `probe` expects before `deadline`: tcp connects; resp answers
// "*1\r\n$4\r\nPING\r\n" with "+PONG"; http answers "GET probe.path" with a 2xx status. Refusals,
// resets, timeouts and wrong answers are all "false", never exceptions.
// REQUIRES: probe.kind is tcp, resp or http.
boost::asio::awaitable<bool> probe_once(const plan::ReadyProbe& probe,
                                        boost::asio::ip::tcp::endpoint endpoint,
                                        std::chrono::steady_clock::time_point deadline);

// Parses an HTTP status line ("HTTP/1.1 204 No Content"); 0 when it is not one.
int http_status(std::string_view status_line);

}  // namespace fl::supervisor
