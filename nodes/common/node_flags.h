// The command line the reference nodes share: --help and the listening server's flags (--host,
// --port, --max-clients, --idle-timeout, --max-bulk, --log-level), the checks of duration flags,
// the address forms of peer flags ("HOST:PORT", "ID,SHARD,HOST:PORT"), and the program shell
// (bad-flag and start-up errors, --dir, the ready line, serving until a signal). Each node
// declares its own flags with Boost.program_options next to these; this header does not include
// it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/units.h"

namespace boost::program_options {
class options_description;
}

namespace fl::nodes {

struct ServerOptions;
class RespServer;

// Exit status of a node program given bad flags, or unable to start (create --dir, listen, open
// its data).
inline constexpr int kExitBadUsage = 3;

// The shared server flags as given on the command line; the initial values are the defaults.
struct ServerFlags {
  std::string host = "127.0.0.1";
  // 0 picks a free port.
  int port = 6379;
  uint64_t max_clients = 10000;
  // A duration; 0 never closes idle clients.
  std::string idle_timeout = "0";
  // A size (e.g. 512MiB); nullopt for nodes that do not offer --max-bulk.
  std::optional<std::string> max_bulk;
  std::string log_level = "info";
};

// Adds --help, --host, --port, --max-clients, --idle-timeout, --max-bulk (when flags.max_bulk is
// set) and --log-level to `desc`, storing into `flags`, whose values are shown as defaults.
void add_server_flags(boost::program_options::options_description& desc, ServerFlags& flags);

// Parses argv against `desc`. Returns true when the node should run; false after printing
// "usage: USAGE" and `desc` to stdout for --help; an Error for an unknown or malformed flag.
// REQUIRES: `desc` has --help (add_server_flags adds it).
result<bool> parse_flags_or_help(int argc, char** argv,
                                 const boost::program_options::options_description& desc,
                                 std::string_view usage);

// Checks `flags`, fills `out`'s host, port, max_clients, idle_timeout and (when offered)
// max_bulk, sets the process's log level, and reads FAULTLINE_TEST_DELAY from the environment
// into reply_delay. Errors name the flag (or the variable).
result<void> apply_server_flags(const ServerFlags& flags, ServerOptions& out);

// The environment variable that slows every reply of a reference node down, for tests only (a
// "candidate built with a deliberate slowdown" in gating tests).
inline constexpr const char* kTestDelayEnv = "FAULTLINE_TEST_DELAY";

// The reply delay FAULTLINE_TEST_DELAY's value asks for: zero when unset (nullptr) or empty.
// Error: "FAULTLINE_TEST_DELAY 'TEXT': why" when it is not a duration.
result<Duration> test_delay(const char* value);

// The duration TEXT of --FLAG. Errors: "--FLAG: why" when it does not parse, "--FLAG must be
// positive" when it is zero and `zero_ok` is false.
result<Duration> duration_flag(std::string_view flag, std::string_view text, bool zero_ok = false);

// The same in whole milliseconds, which must be positive (so a duration under 1ms is rejected).
result<int64_t> milliseconds_flag(std::string_view flag, std::string_view text);

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// "HOST:PORT" with a non-empty host and a port in 1..65535. The error message is the reason
// alone ("address without host:port", "bad port"), for the caller to put in its flag's words.
result<HostPort> parse_host_port(std::string_view text);

// --FLAG's "HOST:PORT". Error: "--FLAG 'TEXT': why (want HOST:PORT)".
result<HostPort> host_port_flag(std::string_view flag, std::string_view text);

// A node of a sharded cluster as --FLAG gives it.
struct ShardMemberFlag {
  std::string id;
  int shard = 0;
  HostPort address;
};

// --FLAG's "ID,SHARD,HOST:PORT" (faultline-db's --member, faultline-cache's --db), with a
// non-empty id and a shard in 0..1000000. Error: "--FLAG 'TEXT': why (want ID,SHARD,HOST:PORT)".
result<ShardMemberFlag> shard_member_flag(std::string_view flag, std::string_view text);

// Prints "PROGRAM: message" and "Try 'PROGRAM --help'." to stderr; returns kExitBadUsage.
int report_bad_flags(std::string_view program, const Error& error);

// Prints "PROGRAM: message" to stderr; returns kExitBadUsage.
int report_start_failure(std::string_view program, const Error& error);

// Creates the --dir DIR and its parents; an empty `dir` is no directory and succeeds.
// Error: "cannot create --dir 'DIR': why".
result<void> create_dir_flag(const std::string& dir);

// Prints "PROGRAM ID ready on HOST:PORT" followed by `detail` (when not empty, after a space)
// to stdout, serves until the server stops (a signal, SHUTDOWN), then logs "PROGRAM ID stopped".
void serve_until_stopped(RespServer& server, std::string_view program, std::string_view id,
                         std::string_view host, uint16_t port, std::string_view detail = {});

}  // namespace fl::nodes
