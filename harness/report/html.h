// report.html: one self-contained page per run directory (docs/report.md), made from the run
// directory's files alone, so `faultline report RUNDIR` can make it again at any time.
#pragma once

#include <filesystem>
#include <string>

#include "common/error.h"

namespace fl::report {

struct RunData;  // run_data.h

// The page for loaded run data: metadata, latency and throughput over time with fault windows,
// availability per node and per shard, checks and gates, phases and faults.
std::string render_html(const RunData& data);

// Loads `run_dir` (run_data.h) and writes its page to `out` (default `run_dir`/report.html),
// atomically. Errors: the directory does not exist, or the file cannot be written.
result<void> write_html_report(const std::filesystem::path& run_dir,
                               const std::filesystem::path& out = {});

}  // namespace fl::report
