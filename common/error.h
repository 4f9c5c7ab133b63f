// Errors are values: functions that can fail return fl::result<T>, which holds either a T or an
// fl::Error (an error_code in the faultline category plus a human-readable message).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <system_error>

namespace fl {

// The project's error conditions. Values are stable: they appear in logs and exit paths.
enum class errc {
  ok = 0,
  invalid_argument = 1,  // a value given by the user is malformed or out of range
  parse_error = 2,       // input text could not be parsed (plan, duration, history line)
  not_found = 3,         // a named thing (node, key, file) does not exist
  timeout = 4,           // a deadline passed before the operation completed
  io_error = 5,          // a file or socket operation failed
  protocol_error = 6,    // a peer sent bytes that violate the protocol
  process_failed = 7,    // a child process failed to start or exited unexpectedly
  not_ready = 8,         // a readiness probe did not pass in time
  unsupported = 9,       // the operation is not available here
  cancelled = 10,        // the operation was cancelled by shutdown
  limit_exceeded = 11,   // a configured limit (size, depth, count) was exceeded
  internal = 12,         // a bug: an invariant did not hold
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// An error with its context. `message` is complete and ready to print (it already names the
// file, key or peer involved); `code` is for programs that branch on the kind of failure.
struct Error {
  boost::system::error_code code;
  std::string message;

  Error() = default;
  Error(errc e, std::string msg) : code(make_error_code(e)), message(std::move(msg)) {}
  Error(boost::system::error_code c, std::string msg) : code(c), message(std::move(msg)) {}
};

// Lets result<T>::value() throw a meaningful exception when a caller insists on a value.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, Error>;

}  // namespace fl

template <>
struct boost::system::is_error_code_enum<fl::errc> : std::true_type {};
