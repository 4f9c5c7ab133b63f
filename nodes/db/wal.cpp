#include "nodes/db/wal.h"

namespace fl::db {

std::string_view to_string(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::always:
      return "always";
    case FsyncPolicy::everysec:
      return "everysec";
    case FsyncPolicy::never:
      return "never";
  }
  return "?";
}

result<FsyncPolicy> parse_fsync_policy(std::string_view s) {
  if (s == "always") return FsyncPolicy::always;
  if (s == "everysec") return FsyncPolicy::everysec;
  if (s == "never") return FsyncPolicy::never;
  return Error(errc::invalid_argument,
               "fsync policy must be always, everysec or never, got '" + std::string(s) + "'");
}

Wal::Wal(std::filesystem::path dir, FsyncPolicy policy) : dir_(std::move(dir)), policy_(policy) {}

Wal::~Wal() = default;

result<std::unique_ptr<Wal>> Wal::open(const std::filesystem::path& dir, FsyncPolicy policy,
                                       WalRecovery& recovered) {
  std::unique_ptr<Wal> wal(new Wal(dir, policy));
  recovered = WalRecovery{};
  return wal;
}

void Wal::append(const WalRecord& r) { last_index_ = r.index; }
void Wal::truncate_after(uint64_t index) { last_index_ = std::min(last_index_, index); }
void Wal::save_meta(std::string_view bytes) { meta_ = bytes; }
result<void> Wal::sync() { return {}; }
result<void> Wal::write_snapshot(const WalSnapshot& s) {
  snapshot_index_ = s.index;
  last_index_ = std::max(last_index_, s.index);
  return {};
}
result<void> Wal::status() const { return {}; }
WalStats Wal::stats() const { return {}; }

}  // namespace fl::db
