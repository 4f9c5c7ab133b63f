#include <fmt/core.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/exit_codes.h"
#include "common/units.h"
#include "harness/check/linearizable.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/history/compact.h"

namespace fl::cli {
namespace {

constexpr std::string_view kUsage =
    R"usage(Usage: faultline check FILE... --model M [--format jsonl|edn|jepsen-log]
                       [--budget 60s] [--memory-budget 4GiB] [--json] [--stats]

Checks each history for linearizability under model M (register, cas-register, kv, kv-append,
set, fifo-queue), splitting it per key. Prints one line per file,
  FILE: valid|invalid|unknown (N ops, T ms)
and for a violation the key, the op no linearization explains, the longest linearizable prefix
and the smallest failing window. --format defaults to detection from each file's first line and
extension. Exit code: the worst verdict (0 valid, 1 invalid, 2 unknown; invalid outranks
unknown), or 3 when a file cannot be read or parsed.
)usage";

struct FileResult {
  std::string file;
  int exit = kExitOk;
  std::string text;   // what to print (stdout)
  std::string json;   // --json object
  std::string error;  // unreadable input (stderr)
};

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

FileResult check_file(const std::string& file, std::optional<history::Format> format,
                      const check::LinearizableOptions& opts) {
  FileResult fr;
  fr.file = file;
  auto started = std::chrono::steady_clock::now();
  auto fmt_used = format ? *format : history::detect_format(file);
  auto h = history::read_compact(file, fmt_used);
  auto fail = [&](const std::string& msg) {
    fr.exit = kExitHarness;
    fr.error = msg;
    fr.json = fmt::format("{{\"file\":{},\"error\":{}}}", json_quote(file), json_quote(msg));
    return fr;
  };
  if (!h) return fail(h.error().message);
  auto r = check::check_linearizable(*h, opts);
  if (!r) return fail(file + ": " + r.error().message);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  fr.exit = static_cast<int>(r->verdict);
  fr.text =
      fmt::format("{}: {} ({} ops, {:.1f} ms)\n", file, check::to_string(r->verdict), r->ops, ms);
  if (r->verdict == check::Verdict::unknown) {
    fr.text += fmt::format("  {}\n", r->reason);
  } else if (r->verdict == check::Verdict::invalid) {
    const std::string& key = h->keys[r->key];
    fr.text += fmt::format("  key: {} ({} of {} keys not linearizable)\n",
                           key.empty() ? "(none)" : "'" + key + "'", r->keys_invalid, r->keys);
    if (r->failing_op != history::kNoPosition) {
      fr.text += fmt::format("  no linearization explains: {}\n",
                             check::describe_op(*h, {r->failing_op, false, false}));
      fr.text += fmt::format("  longest linearizable prefix: {} ops completed, up to time {}\n",
                             r->prefix_ops, r->prefix_end_time);
      fr.text += fmt::format("  smallest failing window: {} ops, {}\n", r->window.size(),
                             r->window_from_start ? "from the initial (absent) state"
                                                  : "not linearizable from any starting state");
      for (const auto& op : r->window) {
        fr.text += fmt::format("    {}\n", check::describe_op(*h, op));
      }
    }
    if (!r->reason.empty()) fr.text += fmt::format("  ({})\n", r->reason);
  }
  std::string details = check::report_json(*h, *r);
  // {"file":..., "format":..., "model":..., "ms":..., <details without its braces>}
  fr.json =
      fmt::format("{{\"file\":{},\"format\":\"{}\",\"model\":{},\"ms\":{:.3f},{}", json_quote(file),
                  history::to_string(fmt_used), json_quote(opts.model), ms, details.substr(1));
  return fr;
}

}  // namespace

int check_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("file", po::value<std::vector<std::string>>()->required(), "history files")(
      "model,m", po::value<std::string>()->required(),
      "register | cas-register | kv | kv-append | set | fifo-queue")(
      "format,f", po::value<std::string>(), "jsonl | edn | jepsen-log (default: detect per file)")(
      "budget", po::value<std::string>()->default_value("60s"),
      "time budget per file; past it the verdict is unknown")(
      "memory-budget", po::value<std::string>()->default_value("4GiB"),
      "memory budget per file for the search caches")(
      "threads", po::value<unsigned>()->default_value(0), "worker threads (0: one per core)")(
      "json", "print one JSON object per file (one per line) instead of text")(
      "no-explain", "for a violation, skip the search for the failing window and prefix")(
      "no-split",
      "check a kv or kv-append map as one object instead of per key (slow; for "
      "comparisons)")("stats", "print the total time and peak RSS to stderr");
  po::positional_options_description positional;
  positional.add("file", -1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  check::LinearizableOptions opts;
  opts.model = (*vm)["model"].as<std::string>();
  if (!check::is_linearizable_model(opts.model)) {
    fmt::print(stderr,
               "faultline check: unknown model '{}' (register, cas-register, kv, kv-append, set, "
               "fifo-queue)\n",
               opts.model);
    return kExitHarness;
  }
  std::optional<history::Format> format;
  if (vm->count("format")) {
    format = history::parse_format((*vm)["format"].as<std::string>());
    if (!format) {
      fmt::print(stderr, "faultline check: unknown format '{}' (jsonl, edn, jepsen-log)\n",
                 (*vm)["format"].as<std::string>());
      return kExitHarness;
    }
  }
  auto budget = parse_duration((*vm)["budget"].as<std::string>());
  if (!budget) {
    fmt::print(stderr, "faultline check: --budget: {}\n", budget.error().message);
    return kExitHarness;
  }
  auto memory = parse_size((*vm)["memory-budget"].as<std::string>());
  if (!memory) {
    fmt::print(stderr, "faultline check: --memory-budget: {}\n", memory.error().message);
    return kExitHarness;
  }
  opts.time_budget = *budget;
  opts.memory_budget = *memory;
  unsigned threads = (*vm)["threads"].as<unsigned>();
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  bool json = vm->count("json") > 0;
  opts.explain = vm->count("no-explain") == 0;
  opts.split_keys = vm->count("no-split") == 0;

  auto started = std::chrono::steady_clock::now();
  const auto files = (*vm)["file"].as<std::vector<std::string>>();
  std::vector<FileResult> results(files.size());
  // Several files: one file per worker. One file: its keys spread over the workers.
  if (files.size() == 1) {
    opts.threads = threads;
    results[0] = check_file(files[0], format, opts);
  } else {
    opts.threads = 1;
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next.fetch_add(1)) < files.size();) {
        results[i] = check_file(files[i], format, opts);
      }
    };
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < std::min<size_t>(threads, files.size()); ++t) pool.emplace_back(work);
    work();
  }

  // The worst verdict decides (an invalid file outranks an unknown one); unreadable input, 3.
  check::Verdict worst = check::Verdict::valid;
  bool unreadable = false;
  for (const auto& r : results) {
    if (!r.error.empty()) fmt::print(stderr, "{}\n", r.error);
    if (json) {
      fmt::print("{}\n", r.json);
    } else {
      fmt::print("{}", r.text);
    }
    if (r.exit == kExitHarness)
      unreadable = true;
    else
      worst = check::worst(worst, static_cast<check::Verdict>(r.exit));
  }
  if (vm->count("stats")) {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    auto cpu_ms = [](const timeval& tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; };
    fmt::print(stderr, "faultline check: {} files, {:.1f} ms, cpu {:.1f} ms, peak RSS {} KiB\n",
               files.size(), ms, cpu_ms(ru.ru_utime) + cpu_ms(ru.ru_stime), ru.ru_maxrss);
  }
  return unreadable ? kExitHarness : static_cast<int>(worst);
}

}  // namespace fl::cli
