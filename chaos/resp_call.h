// One RESP command to a node and its reply, on a blocking socket with a deadline on connect,
// send and reply: the fault injectors' questions (ROLE, CLOCK), asked from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/resp/resp.h"

namespace fl::chaos {

// Connects to host:port (IPv4), sends `argv`, reads one reply, all before `timeout` passes.
// Errors name host:port: invalid_argument (not an IPv4 address), io_error (refused, closed),
// timeout, protocol_error (a malformed reply). An error reply is a reply, not an error.
result<resp::Value> resp_call(const std::string& host, uint16_t port,
                              std::initializer_list<std::string_view> argv,
                              std::chrono::milliseconds timeout);

}  // namespace fl::chaos
