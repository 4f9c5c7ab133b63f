// Argument parsing shared by the subcommands (Boost.Program_options).
#pragma once

#include "harness/run/run.h"

#include <boost/program_options.hpp>

#include <optional>
#include <string_view>

namespace fl::cli {

namespace po = boost::program_options;

// Parses a subcommand's arguments. On --help prints `usage` and `options` to stdout and sets
// `exit_code` to 0; on a bad argument prints the error and a hint to stderr and sets it to 3.
// Returns the parsed map only when the command should go on.
std::optional<po::variables_map> parse_args(int argc, char** argv, std::string_view usage,
                                            const po::options_description& options,
                                            const po::positional_options_description& positional,
                                            int& exit_code);

// `--seed N` and `--duration D` (run, sweep) into `out`. False, after printing why to stderr
// as "faultline COMMAND: --duration: ...", when the duration does not parse.
bool read_seed_and_duration(const po::variables_map& vm, std::string_view command,
                            run::RunOptions& out);

}  // namespace fl::cli
