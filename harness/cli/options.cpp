#include "harness/cli/options.h"

#include "common/exit_codes.h"
#include "common/units.h"

#include <fmt/core.h>
#include <fmt/ostream.h>

#include <sstream>

namespace fl::cli {

std::optional<po::variables_map> parse_args(int argc, char** argv, std::string_view usage,
                                            const po::options_description& options,
                                            const po::positional_options_description& positional,
                                            int& exit_code) {
  po::options_description all = options;
  all.add_options()("help,h", "show this help");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::ostringstream text;
      text << all;
      fmt::print("{}\n{}", usage, text.str());
      exit_code = kExitOk;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "faultline {}: {}\nRun 'faultline {} --help' for usage.\n", argv[0],
               e.what(), argv[0]);
    exit_code = kExitHarness;
    return std::nullopt;
  }
  return vm;
}

bool read_seed_and_duration(const po::variables_map& vm, std::string_view command,
                            run::RunOptions& out) {
  if (vm.count("seed")) out.seed = vm["seed"].as<uint64_t>();
  if (vm.count("duration")) {
    auto d = parse_duration(vm["duration"].as<std::string>());
    if (!d) {
      fmt::print(stderr, "faultline {}: --duration: {}\n", command, d.error().message);
      return false;
    }
    out.duration = *d;
  }
  return true;
}

}  // namespace fl::cli
