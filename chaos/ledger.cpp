#include "chaos/ledger.h"

#include <fmt/core.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "chaos/netns.h"
#include "common/file_io.h"

namespace fl::chaos {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string sanitize(std::string_view id) {
  std::string s(id);
  for (char& c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (s.empty() || s[0] == '.') s.insert(0, "_");
  return s;
}

std::optional<LedgerEntry::Kind> parse_kind(std::string_view s) {
  for (auto k : {LedgerEntry::Kind::netns, LedgerEntry::Kind::link, LedgerEntry::Kind::nft_table,
                 LedgerEntry::Kind::pgroup}) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

// Fields 5 (pgrp) and 22 (starttime) of /proc/<pid>/stat.
struct ProcStat {
  int pgrp = 0;
  char state = '?';
  uint64_t start_time = 0;
};

std::optional<ProcStat> read_stat(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  ProcStat st;
  std::string field;
  // Field 3 is state, 4 ppid, 5 pgrp, ..., 22 starttime.
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3) st.state = field.empty() ? '?' : field[0];
    if (i == 5) st.pgrp = std::atoi(field.c_str());
    if (i == 22) {
      st.start_time = std::strtoull(field.c_str(), nullptr, 10);
      return st;
    }
  }
  return std::nullopt;
}

std::vector<int> all_pids() {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
      pids.push_back(std::atoi(name.c_str()));
    }
  }
  return pids;
}

// Lines of `ip netns list` are "<name>" or "<name> (id: N)".
std::vector<std::string> list_namespaces() {
  std::vector<std::string> names;
  auto out = run_tool({"ip", "netns", "list"});
  if (!out) return names;
  std::istringstream in(*out);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    names.push_back(line.substr(0, sp));
  }
  return names;
}

// Interface names from `ip -o link show`: "<n>: <name>[@peer]: <...>".
std::vector<std::string> list_links() {
  std::vector<std::string> names;
  auto out = run_tool({"ip", "-o", "link", "show"});
  if (!out) return names;
  std::istringstream in(*out);
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(": ");
    if (a == std::string::npos) continue;
    auto b = line.find_first_of(":@", a + 2);
    names.push_back(line.substr(a + 2, b - a - 2));
  }
  return names;
}

// "<family> <name>" of every table from `nft list tables` ("table inet faultline_1a2b3c").
result<std::vector<std::string>> list_tables() {
  auto out = run_tool({"nft", "list", "tables"});
  if (!out) return out.error();
  std::vector<std::string> names;
  std::istringstream in(*out);
  std::string word, family, name;
  while (in >> word >> family >> name) {
    if (word == "table") names.push_back(family + " " + name);
  }
  return names;
}

bool is_gone(const Error& e) {
  const std::string& m = e.message;
  return m.find("No such file") != std::string::npos ||
         m.find("Cannot find device") != std::string::npos ||
         m.find("does not exist") != std::string::npos || m.find("not found") != std::string::npos;
}

void kill_group(int pgid, uint64_t start_time, SweepReport& report) {
  auto leader = read_stat(pgid);
  bool ours = false;
  if (leader) {
    ours = leader->start_time == start_time && leader->pgrp == pgid;
  } else {
    // The leader is gone; while any member of its group lives the kernel does not reuse the pid
    // as a group id, so members that started after the leader are its descendants.
    ours = true;
    bool any = false;
    for (int pid : all_pids()) {
      auto st = read_stat(pid);
      if (!st || st->pgrp != pgid) continue;
      any = true;
      if (st->start_time < start_time) ours = false;
    }
    ours = ours && any;
  }
  if (!ours) return;
  ::kill(-pgid, SIGCONT);
  if (::kill(-pgid, SIGKILL) == 0) {
    report.removed.push_back(fmt::format("pgroup {} (resumed and killed)", pgid));
  }
}

void delete_netns(const std::string& name, SweepReport& report) {
  // Processes left inside would keep the namespace alive after its name is gone.
  if (auto pids = run_tool({"ip", "netns", "pids", name})) {
    std::istringstream in(*pids);
    int pid = 0;
    while (in >> pid) ::kill(pid, SIGKILL);
  }
  auto r = run_tool({"ip", "netns", "delete", name});
  if (r) {
    report.removed.push_back("netns " + name);
  } else if (!is_gone(r.error())) {
    report.errors.push_back(r.error().message);
  }
}

void delete_link(const std::string& name, SweepReport& report) {
  auto r = run_tool({"ip", "link", "delete", name});
  if (r) {
    report.removed.push_back("link " + name);
  } else if (!is_gone(r.error())) {
    report.errors.push_back(r.error().message);
  }
}

void delete_table(const std::string& family_and_name, SweepReport& report) {
  auto sp = family_and_name.find(' ');
  if (sp == std::string::npos) return;
  auto r = run_tool(
      {"nft", "delete", "table", family_and_name.substr(0, sp), family_and_name.substr(sp + 1)});
  if (r) {
    report.removed.push_back("nft table " + family_and_name);
  } else if (!is_gone(r.error())) {
    report.errors.push_back(r.error().message);
  }
}

void undo(const LedgerEntry& e, SweepReport& report) {
  switch (e.kind) {
    case LedgerEntry::Kind::pgroup:
      kill_group(e.pgid, e.start_time, report);
      break;
    case LedgerEntry::Kind::netns:
      delete_netns(e.name, report);
      break;
    case LedgerEntry::Kind::link:
      delete_link(e.name, report);
      break;
    case LedgerEntry::Kind::nft_table:
      delete_table(e.name, report);
      break;
  }
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The run tag in a name faultline gives (fl-<tag>-<n>, flv-<tag>-<n>, flbr-<tag>,
// "<family> faultline_<tag>"); "" for other names.
std::string tag_of(std::string_view name) {
  if (auto sp = name.find(' '); sp != std::string_view::npos) name.remove_prefix(sp + 1);
  for (std::string_view p : {"fl-", "flv-", "flbr-", "faultline_"}) {
    if (starts_with(name, p)) {
      name.remove_prefix(p.size());
      return std::string(name.substr(0, name.find('-')));
    }
  }
  return "";
}

}  // namespace

fs::path state_dir() {
  if (const char* d = std::getenv("FAULTLINE_STATE_DIR"); d && *d) return d;
  if (::geteuid() == 0) return "/run/faultline";
  return fmt::format("/tmp/faultline-{}", ::geteuid());
}

std::string_view to_string(LedgerEntry::Kind k) {
  switch (k) {
    case LedgerEntry::Kind::netns:
      return "netns";
    case LedgerEntry::Kind::link:
      return "link";
    case LedgerEntry::Kind::nft_table:
      return "nft_table";
    case LedgerEntry::Kind::pgroup:
      return "pgroup";
  }
  return "?";
}

std::string describe(const LedgerEntry& e) {
  if (e.kind == LedgerEntry::Kind::pgroup) return fmt::format("pgroup {}", e.pgid);
  return fmt::format("{} {}", to_string(e.kind), e.name);
}

std::optional<uint64_t> process_start_time(int pid) {
  if (pid <= 0) return std::nullopt;
  auto st = read_stat(pid);
  if (!st) return std::nullopt;
  return st->start_time;
}

bool process_alive(int pid, uint64_t start_time) {
  auto st = read_stat(pid);
  // A zombie has exited: its owner role is over even before it is reaped.
  return st && st->start_time == start_time && st->state != 'Z';
}

Ledger::Ledger(std::string run_id, fs::path run_dir, fs::path path)
    : run_id_(std::move(run_id)), run_dir_(std::move(run_dir)), path_(std::move(path)) {
  owner_pid_ = static_cast<int>(::getpid());
  owner_start_ = process_start_time(owner_pid_).value_or(0);
}

Ledger::~Ledger() { close(); }

result<std::unique_ptr<Ledger>> Ledger::open(std::string run_id, fs::path run_dir) {
  fs::path dir = state_dir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error(errc::io_error,
                 fmt::format("cannot create the state directory {}: {} (set FAULTLINE_STATE_DIR)",
                             dir.string(), ec.message()));
  }
  fs::path path = dir / (sanitize(run_id) + ".json");
  std::unique_ptr<Ledger> l(new Ledger(std::move(run_id), std::move(run_dir), std::move(path)));
  if (l->owner_start_ == 0) {
    // Without it the ledger would look like a dead run's, and another run would sweep ours.
    return Error(errc::io_error, "cannot read this process's start time from /proc");
  }
  std::lock_guard lock(l->mu_);
  if (auto r = l->write_locked(); !r) return r.error();
  return l;
}

result<void> Ledger::write_locked() {
  json::object o;
  o["run_id"] = run_id_;
  o["run_dir"] = run_dir_.string();
  o["owner_pid"] = owner_pid_;
  o["owner_start_time"] = owner_start_;
  json::array entries;
  for (const auto& e : entries_) {
    json::object j;
    j["kind"] = to_string(e.kind);
    if (e.kind == LedgerEntry::Kind::pgroup) {
      j["pgid"] = e.pgid;
      j["start_time"] = e.start_time;
    } else {
      j["name"] = e.name;
    }
    entries.push_back(std::move(j));
  }
  o["entries"] = std::move(entries);
  return common::replace_file(path_, json::serialize(o) + "\n");
}

result<void> Ledger::add(const LedgerEntry& e) {
  std::lock_guard lock(mu_);
  if (closed_) return Error(errc::cancelled, "ledger closed");
  for (const auto& x : entries_) {
    if (x == e) return {};
  }
  entries_.push_back(e);
  return write_locked();
}

result<void> Ledger::remove(const LedgerEntry& e) {
  std::lock_guard lock(mu_);
  if (closed_) return {};
  auto it = std::find(entries_.begin(), entries_.end(), e);
  if (it == entries_.end()) return {};
  entries_.erase(it);
  return write_locked();
}

std::vector<LedgerEntry> Ledger::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

void Ledger::close() {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  std::error_code ec;
  fs::remove(path_, ec);
}

result<LedgerFile> read_ledger(const fs::path& path) {
  auto text = common::read_whole_file(path);
  if (!text) return text.error();
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  auto bad = [&](std::string_view why) {
    return Error(errc::parse_error, fmt::format("ledger {}: {}", path.string(), why));
  };
  if (ec || !v.is_object()) return bad(ec ? ec.message() : "not a JSON object");
  const auto& o = v.as_object();
  LedgerFile f;
  f.path = path;
  try {
    f.run_id = json::value_to<std::string>(o.at("run_id"));
    if (auto* d = o.if_contains("run_dir")) f.run_dir = json::value_to<std::string>(*d);
    f.owner_pid = json::value_to<int>(o.at("owner_pid"));
    f.owner_start_time = json::value_to<uint64_t>(o.at("owner_start_time"));
    for (const auto& ev : o.at("entries").as_array()) {
      const auto& eo = ev.as_object();
      auto kind = parse_kind(json::value_to<std::string>(eo.at("kind")));
      if (!kind) return bad("unknown entry kind");
      LedgerEntry e;
      e.kind = *kind;
      if (e.kind == LedgerEntry::Kind::pgroup) {
        e.pgid = json::value_to<int>(eo.at("pgid"));
        e.start_time = json::value_to<uint64_t>(eo.at("start_time"));
      } else {
        e.name = json::value_to<std::string>(eo.at("name"));
      }
      f.entries.push_back(std::move(e));
    }
  } catch (const std::exception& ex) {
    return bad(ex.what());
  }
  return f;
}

result<SweepReport> sweep_stale(bool all) {
  SweepReport report;
  fs::path dir = state_dir();
  std::set<std::string> live_tags;  // run tags of what live runs own, spared by the --all sweep
  std::vector<LedgerFile> stale;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& de : fs::directory_iterator(dir, ec)) {
      if (de.path().extension() != ".json") continue;
      auto f = read_ledger(de.path());
      if (!f) {
        // A file being written is renamed into place whole, so an unreadable one is garbage.
        report.errors.push_back(f.error().message);
        continue;
      }
      if (process_alive(f->owner_pid, f->owner_start_time)) {
        for (const auto& e : f->entries) {
          if (auto t = tag_of(e.name); !t.empty()) live_tags.insert(t);
        }
      } else {
        stale.push_back(std::move(*f));
      }
    }
  }
  for (const auto& f : stale) {
    // Processes first (resumed so they die now), then namespaces (their veths go with them),
    // then the root namespace's links and tables.
    for (auto kind : {LedgerEntry::Kind::pgroup, LedgerEntry::Kind::netns, LedgerEntry::Kind::link,
                      LedgerEntry::Kind::nft_table}) {
      for (const auto& e : f.entries) {
        if (e.kind == kind) undo(e, report);
      }
    }
    std::error_code rm;
    fs::remove(f.path, rm);
    report.removed.push_back(fmt::format("ledger {} (run {}; its owner, pid {}, has exited)",
                                         f.path.string(), f.run_id, f.owner_pid));
  }
  if (all) {
    for (const auto& ns : list_namespaces()) {
      if (starts_with(ns, "fl-") && !live_tags.count(tag_of(ns))) delete_netns(ns, report);
    }
    for (const auto& l : list_links()) {
      if ((starts_with(l, "flbr-") || starts_with(l, "flv-")) && !live_tags.count(tag_of(l))) {
        delete_link(l, report);
      }
    }
    if (auto tables = list_tables()) {
      for (const auto& t : *tables) {
        auto sp = t.find(' ');
        if (starts_with(t.substr(sp + 1), "faultline_") && !live_tags.count(tag_of(t))) {
          delete_table(t, report);
        }
      }
    } else {
      report.errors.push_back(tables.error().message);
    }
  }
  return report;
}

void sweep_stale_at_start() {
  auto r = sweep_stale(false);
  if (!r) {
    fmt::print(stderr, "faultline: cleaning up after dead runs: {}\n", r.error().message);
    return;
  }
  for (const auto& s : r->removed) {
    fmt::print(stderr, "faultline: removed what a dead run left: {}\n", s);
  }
  for (const auto& s : r->errors) fmt::print(stderr, "faultline: cleanup: {}\n", s);
}

}  // namespace fl::chaos
