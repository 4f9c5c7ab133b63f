#include "harness/plan/faketime.h"

#include <system_error>

#include "harness/plan/plan.h"

namespace fl::plan {

std::optional<std::filesystem::path> find_libfaketime() {
  static constexpr std::string_view kCandidates[] = {
      "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
      "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
      "/usr/lib/faketime/libfaketime.so.1",
      "/usr/local/lib/faketime/libfaketime.so.1",
  };
  for (std::string_view c : kCandidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(c, ec)) return std::filesystem::path(c);
  }
  return std::nullopt;
}

void add_faketime_env(NodeSpec& spec, const std::filesystem::path& library) {
  std::string preload = library.string();
  if (auto it = spec.env.find("LD_PRELOAD"); it != spec.env.end() && !it->second.empty()) {
    preload += ":" + it->second;
  }
  spec.env["LD_PRELOAD"] = preload;
  spec.env.emplace("FAKETIME_TIMESTAMP_FILE", "{dir}/../" + std::string(kFaketimeFileName));
  spec.env.emplace("FAKETIME_NO_CACHE", "1");
}

}  // namespace fl::plan
