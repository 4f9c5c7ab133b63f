// libfaketime for external [[node]]s with `faketime = true`: where the library is, and the
// environment that puts a program under it with a clock the harness changes at run time by
// rewriting one file (chaos::FaketimeClockControl writes it).
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace fl::plan {

struct NodeSpec;

// The file, in the node's directory <run>/nodes/<id>/, that holds the node's libfaketime
// setting (FAKETIME_TIMESTAMP_FILE). Beside data/, so a wiped restart keeps it.
inline constexpr std::string_view kFaketimeFileName = "faketime.rc";

// libfaketime.so.1 where Debian's libfaketime package installs it, or nullopt when absent.
std::optional<std::filesystem::path> find_libfaketime();

// Adds to spec.env: LD_PRELOAD=`library` (before any LD_PRELOAD the plan gave),
// FAKETIME_TIMESTAMP_FILE={dir}/../faketime.rc and FAKETIME_NO_CACHE=1 (each change applies at
// the program's next clock reading), unless the plan set those two itself.
void add_faketime_env(NodeSpec& spec, const std::filesystem::path& library);

}  // namespace fl::plan
