#include "nodes/db/wal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace fl::db {
namespace {

namespace fs = std::filesystem;

// Bytes before the first record of a segment, and of a record's frame and entry fields.
constexpr size_t kMagic = 8;
constexpr size_t kEntryOverhead = 9 + 16;

std::string data_of(uint64_t i) { return "value-" + std::to_string(i) + std::string(i % 37, 'x'); }

WalRecord entry(uint64_t i, uint64_t term = 1) { return WalRecord{i, term, data_of(i)}; }

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& de : fs::directory_iterator(dir)) {
    if (de.path().extension() == ".log") out.push_back(de.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Expects records first..last with their data_of() payloads.
void expect_range(const std::vector<WalRecord>& recs, uint64_t first, uint64_t last) {
  ASSERT_EQ(recs.size(), last + 1 - first);
  for (uint64_t i = first; i <= last; ++i) {
    const WalRecord& r = recs[i - first];
    EXPECT_EQ(r.index, i);
    EXPECT_EQ(r.data, data_of(i)) << "index " << i;
  }
}

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "wal_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ / "wal";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Wal> open(WalRecovery& rec, FsyncPolicy p = FsyncPolicy::always,
                            const fs::path& dir = {}) {
    auto w = Wal::open(dir.empty() ? dir_ : dir, p, rec);
    EXPECT_TRUE(w) << (w ? "" : w.error().message);
    return w ? std::move(*w) : nullptr;
  }

  // A log of entries 1..n, synced and closed; returns the segment file.
  fs::path write_log(uint64_t n, const fs::path& dir) {
    WalRecovery rec;
    auto w = open(rec, FsyncPolicy::always, dir);
    for (uint64_t i = 1; i <= n; ++i) w->append(rec_of(i));
    EXPECT_TRUE(w->sync());
    return segments(dir).at(0);
  }
  static WalRecord rec_of(uint64_t i) { return entry(i); }

  // The byte offset at which entry i starts in a log written by write_log().
  static size_t offset_of(uint64_t i) {
    size_t off = kMagic;
    for (uint64_t j = 1; j < i; ++j) off += kEntryOverhead + data_of(j).size();
    return off;
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(WalTest, EmptyDirectoryOpensEmpty) {
  WalRecovery rec;
  auto w = open(rec);
  ASSERT_TRUE(w);
  EXPECT_FALSE(rec.snapshot);
  EXPECT_TRUE(rec.records.empty());
  EXPECT_EQ(rec.meta, "");
  EXPECT_EQ(rec.torn_bytes, 0u);
  EXPECT_EQ(w->last_index(), 0u);
  EXPECT_EQ(segments(dir_).size(), 1u);
}

TEST_F(WalTest, RoundTrip) {
  {
    WalRecovery rec;
    auto w = open(rec);
    for (uint64_t i = 1; i <= 100; ++i) w->append(WalRecord{i, i / 10 + 1, data_of(i)});
    w->append(WalRecord{101, 11, ""});
    w->save_meta("term=11 vote=b");
    ASSERT_TRUE(w->sync());
    EXPECT_EQ(w->last_index(), 101u);
    const WalStats st = w->stats();
    EXPECT_EQ(st.records, 102u);
    EXPECT_EQ(st.fsyncs, 1u);
    EXPECT_GT(st.bytes, 100 * kEntryOverhead);
  }
  WalRecovery rec;
  auto w = open(rec);
  ASSERT_EQ(rec.records.size(), 101u);
  expect_range({rec.records.begin(), rec.records.end() - 1}, 1, 100);
  EXPECT_EQ(rec.records[41].term, 5u);
  EXPECT_EQ(rec.records.back().data, "");
  EXPECT_EQ(rec.meta, "term=11 vote=b");
  EXPECT_EQ(rec.torn_bytes, 0u);
  EXPECT_EQ(rec.torn_reason, "");
  EXPECT_EQ(w->last_index(), 101u);
}

TEST_F(WalTest, SyncFsyncsOnlyUnderAlways) {
  for (FsyncPolicy p : {FsyncPolicy::always, FsyncPolicy::everysec, FsyncPolicy::never}) {
    WalRecovery rec;
    auto w = open(rec, p, root_ / std::string(to_string(p)));
    w->append(entry(1));
    ASSERT_TRUE(w->sync());
    EXPECT_EQ(w->stats().fsyncs, p == FsyncPolicy::always ? 1u : 0u) << to_string(p);
    // Nothing new: no second fsync.
    ASSERT_TRUE(w->sync());
    EXPECT_LE(w->stats().fsyncs, 1u);
  }
}

TEST_F(WalTest, EverysecFlusherSyncsInTheBackground) {
  WalRecovery rec;
  auto w = open(rec, FsyncPolicy::everysec);
  w->append(entry(1));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (w->stats().fsyncs == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(w->stats().fsyncs, 1u);
  EXPECT_EQ(w->stats().background_fsyncs, 1u);
}

// Appends and rotations race the flusher (run under TSan too); then everything is there.
TEST_F(WalTest, EverysecFlusherRacesAppendsAndRotation) {
  uint64_t last = 0;
  {
    WalRecovery rec;
    auto w = open(rec, FsyncPolicy::everysec);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (w->stats().background_fsyncs < 2 && std::chrono::steady_clock::now() < deadline) {
      w->append(entry(++last));
      if (last % 5000 == 0) {
        ASSERT_TRUE(w->write_snapshot(WalSnapshot{last - 100, 1, "s"}));
      }
      ASSERT_TRUE(w->sync());
    }
    EXPECT_GE(w->stats().background_fsyncs, 2u);
  }
  WalRecovery rec;
  auto w = open(rec);
  ASSERT_TRUE(rec.snapshot);
  const uint64_t first = rec.snapshot->index + 1;
  expect_range(rec.records, first, last);
}

TEST_F(WalTest, TornTailAtEveryOffsetRecoversToThePreviousRecord) {
  const fs::path golden = root_ / "golden";
  const fs::path seg = write_log(5, golden);
  const std::string bytes = slurp(seg);
  const size_t start = offset_of(5);
  ASSERT_EQ(bytes.size(), start + kEntryOverhead + data_of(5).size());
  for (size_t cut = start; cut < bytes.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    spit(dir_ / seg.filename(), bytes.substr(0, cut));
    {
      WalRecovery rec;
      auto w = open(rec);
      ASSERT_TRUE(w);
      expect_range(rec.records, 1, 4);
      EXPECT_EQ(rec.torn_bytes, cut - start);
      EXPECT_EQ(rec.torn_reason.empty(), cut == start) << rec.torn_reason;
      EXPECT_EQ(fs::file_size(dir_ / seg.filename()), start);
      EXPECT_EQ(w->last_index(), 4u);
      w->append(entry(5));
      w->append(entry(6));
      ASSERT_TRUE(w->sync());
    }
    WalRecovery rec;
    auto w = open(rec);
    expect_range(rec.records, 1, 6);
    EXPECT_EQ(rec.torn_bytes, 0u);
  }
}

TEST_F(WalTest, FlippedByteRecoversToTheLastGoodRecord) {
  const uint64_t n = 8;
  const fs::path golden = root_ / "golden";
  const fs::path seg = write_log(n, golden);
  const std::string bytes = slurp(seg);
  for (uint64_t bad = n - 2; bad <= n; ++bad) {
    const size_t start = offset_of(bad);
    const size_t end = bad == n ? bytes.size() : offset_of(bad + 1);
    for (size_t at = start; at < end; ++at) {
      SCOPED_TRACE("record " + std::to_string(bad) + " byte " + std::to_string(at));
      std::string corrupt = bytes;
      corrupt[at] = static_cast<char>(corrupt[at] ^ 0x5a);
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      spit(dir_ / seg.filename(), corrupt);
      {
        WalRecovery rec;
        auto w = open(rec);
        ASSERT_TRUE(w);
        expect_range(rec.records, 1, bad - 1);
        EXPECT_EQ(rec.torn_bytes, bytes.size() - start);
        EXPECT_FALSE(rec.torn_reason.empty());
        EXPECT_EQ(fs::file_size(dir_ / seg.filename()), start);
        for (uint64_t i = bad; i <= n; ++i) w->append(entry(i));
        ASSERT_TRUE(w->sync());
      }
      WalRecovery rec;
      auto w = open(rec);
      expect_range(rec.records, 1, n);
      EXPECT_EQ(rec.torn_bytes, 0u);
      EXPECT_EQ(rec.torn_reason, "");
    }
  }
}

TEST_F(WalTest, TornSegmentHeaderIsCut) {
  fs::create_directories(dir_);
  spit(dir_ / "wal-0000000000000001.log", "FLW");
  WalRecovery rec;
  auto w = open(rec);
  ASSERT_TRUE(w);
  EXPECT_EQ(rec.torn_bytes, 3u);
  w->append(entry(1));
  ASSERT_TRUE(w->sync());
  w.reset();
  w = open(rec);
  expect_range(rec.records, 1, 1);
}

TEST_F(WalTest, TruncateAfterThenAppend) {
  {
    WalRecovery rec;
    auto w = open(rec);
    for (uint64_t i = 1; i <= 10; ++i) w->append(entry(i));
    w->truncate_after(6);
    EXPECT_EQ(w->last_index(), 6u);
    w->append(WalRecord{7, 2, "seven"});
    w->append(WalRecord{8, 2, "eight"});
    ASSERT_TRUE(w->sync());
  }
  WalRecovery rec;
  auto w = open(rec);
  ASSERT_EQ(rec.records.size(), 8u);
  expect_range({rec.records.begin(), rec.records.begin() + 6}, 1, 6);
  EXPECT_EQ(rec.records[6].data, "seven");
  EXPECT_EQ(rec.records[7].data, "eight");
  EXPECT_EQ(rec.records[7].term, 2u);
  EXPECT_EQ(w->last_index(), 8u);
  // A truncation with nothing after it survives too.
  w->truncate_after(3);
  ASSERT_TRUE(w->sync());
  w.reset();
  w = open(rec);
  expect_range(rec.records, 1, 3);
  EXPECT_EQ(w->last_index(), 3u);
}

TEST_F(WalTest, AppendOutOfOrderFailsTheLog) {
  WalRecovery rec;
  auto w = open(rec);
  w->append(entry(1));
  w->append(entry(3));
  auto s = w->sync();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::internal));
  EXPECT_TRUE(w->stats().failed);
  w->append(entry(2));  // refused from now on
  EXPECT_FALSE(w->sync());
  w.reset();
  w = open(rec);
  expect_range(rec.records, 1, 1);
}

TEST_F(WalTest, MetaSurvivesRestartsAndCompaction) {
  {
    WalRecovery rec;
    auto w = open(rec);
    w->save_meta("term=1 vote=a");
    w->append(entry(1));
    w->save_meta("term=2 vote=");
    ASSERT_TRUE(w->sync());
  }
  WalRecovery rec;
  auto w = open(rec);
  EXPECT_EQ(rec.meta, "term=2 vote=");
  ASSERT_TRUE(w->write_snapshot(WalSnapshot{1, 1, "state"}));
  EXPECT_EQ(segments(dir_).size(), 1u);  // the old segment is gone, the meta with it
  w.reset();
  w = open(rec);
  EXPECT_EQ(rec.meta, "term=2 vote=");
  ASSERT_TRUE(rec.snapshot);
  EXPECT_EQ(rec.snapshot->data, "state");
}

TEST_F(WalTest, SnapshotCompactsOldSegments) {
  WalRecovery rec;
  auto w = open(rec);
  for (uint64_t i = 1; i <= 50; ++i) w->append(entry(i));
  ASSERT_TRUE(w->write_snapshot(WalSnapshot{30, 1, "upto30"}));
  // The first segment still holds 31..50.
  EXPECT_EQ(segments(dir_).size(), 2u);
  for (uint64_t i = 51; i <= 60; ++i) w->append(entry(i));
  ASSERT_TRUE(w->sync());
  w.reset();
  w = open(rec);
  ASSERT_TRUE(rec.snapshot);
  EXPECT_EQ(rec.snapshot->index, 30u);
  EXPECT_EQ(rec.snapshot->data, "upto30");
  expect_range(rec.records, 31, 60);

  const std::vector<fs::path> before = segments(dir_);
  ASSERT_TRUE(w->write_snapshot(WalSnapshot{60, 1, "upto60"}));
  const std::vector<fs::path> after = segments(dir_);
  ASSERT_EQ(after.size(), 1u);
  for (const fs::path& p : before) EXPECT_NE(p, after[0]);
  EXPECT_EQ(w->stats().segments, 1u);
  EXPECT_EQ(w->stats().snapshot_index, 60u);
  for (uint64_t i = 61; i <= 65; ++i) w->append(entry(i));
  ASSERT_TRUE(w->sync());
  w.reset();
  w = open(rec);
  ASSERT_TRUE(rec.snapshot);
  EXPECT_EQ(rec.snapshot->index, 60u);
  EXPECT_EQ(rec.snapshot->data, "upto60");
  expect_range(rec.records, 61, 65);
  EXPECT_EQ(w->last_index(), 65u);
  EXPECT_FALSE(fs::exists(dir_ / "snapshot.tmp"));
}

TEST_F(WalTest, SnapshotBeyondTheLogMovesLastIndex) {
  WalRecovery rec;
  auto w = open(rec);
  for (uint64_t i = 1; i <= 5; ++i) w->append(entry(i));
  ASSERT_TRUE(w->write_snapshot(WalSnapshot{100, 3, "from master"}));
  EXPECT_EQ(w->last_index(), 100u);
  w->append(entry(101));
  ASSERT_TRUE(w->sync());
  w.reset();
  w = open(rec);
  ASSERT_TRUE(rec.snapshot);
  EXPECT_EQ(rec.snapshot->term, 3u);
  expect_range(rec.records, 101, 101);
  EXPECT_EQ(segments(dir_).size(), 1u);
}

TEST_F(WalTest, RolledBackFollowerInstallsAnOlderSnapshot) {
  WalRecovery rec;
  auto w = open(rec);
  for (uint64_t i = 1; i <= 10; ++i) w->append(entry(i));
  ASSERT_TRUE(w->write_snapshot(WalSnapshot{8, 1, "local 8"}));
  ASSERT_TRUE(w->write_snapshot(WalSnapshot{5, 2, "master 5"}));
  w->truncate_after(5);
  w->append(WalRecord{6, 2, "new six"});
  ASSERT_TRUE(w->sync());
  w.reset();
  w = open(rec);
  ASSERT_TRUE(rec.snapshot);
  EXPECT_EQ(rec.snapshot->data, "master 5");
  ASSERT_EQ(rec.records.size(), 1u);
  EXPECT_EQ(rec.records[0].data, "new six");
}

TEST_F(WalTest, CorruptionInAnOlderSegmentFailsToOpenAndChangesNothing) {
  {
    WalRecovery rec;
    auto w = open(rec);
    for (uint64_t i = 1; i <= 10; ++i) w->append(entry(i));
    ASSERT_TRUE(w->write_snapshot(WalSnapshot{3, 1, "upto3"}));
    for (uint64_t i = 11; i <= 15; ++i) w->append(entry(i));
    ASSERT_TRUE(w->sync());
  }
  const std::vector<fs::path> segs = segments(dir_);
  ASSERT_EQ(segs.size(), 2u);
  const uint64_t second_size = fs::file_size(segs[1]);
  std::string first = slurp(segs[0]);
  first[offset_of(7) + 12] ^= 1;
  spit(segs[0], first);
  WalRecovery rec;
  auto w = Wal::open(dir_, FsyncPolicy::always, rec);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, make_error_code(errc::parse_error));
  EXPECT_NE(w.error().message.find("not the newest segment"), std::string::npos)
      << w.error().message;
  // Nothing was cut: the damage is left for a person to look at.
  EXPECT_EQ(segments(dir_).size(), 2u);
  EXPECT_EQ(fs::file_size(segs[1]), second_size);
  EXPECT_EQ(slurp(segs[0]), first);
}

TEST_F(WalTest, CorruptSnapshotFailsToOpen) {
  {
    WalRecovery rec;
    auto w = open(rec);
    ASSERT_TRUE(w->write_snapshot(WalSnapshot{1, 1, "state bytes"}));
  }
  std::string snap = slurp(dir_ / "snapshot");
  snap[snap.size() - 6] ^= 1;
  spit(dir_ / "snapshot", snap);
  WalRecovery rec;
  auto w = Wal::open(dir_, FsyncPolicy::always, rec);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, make_error_code(errc::parse_error));
}

// Reads exactly one u64 from a pipe; false at EOF.
bool read_u64(int fd, uint64_t& v) {
  char buf[8];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  std::memcpy(&v, buf, sizeof v);
  return true;
}

// A child appends with fsync=always and reports each index after sync(); SIGKILL mid-stream;
// every acknowledged record must be there, intact. Three rounds continue the same log.
TEST_F(WalTest, EveryAcknowledgedRecordSurvivesSigkill) {
  uint64_t acked = 0;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      WalRecovery rec;
      auto w = Wal::open(dir_, FsyncPolicy::always, rec);
      if (!w) ::_exit(2);
      for (uint64_t i = (*w)->last_index() + 1;; ++i) {
        (*w)->append(entry(i));
        if (!(*w)->sync()) ::_exit(3);
        if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
      }
    }
    ::close(fds[1]);
    const uint64_t target = acked + 200 + static_cast<uint64_t>(round) * 37;
    uint64_t v = 0;
    while (acked < target && read_u64(fds[0], v)) acked = v;
    ASSERT_EQ(acked, target) << "the child stopped early";
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    while (read_u64(fds[0], v)) acked = v;  // acks sent before it died
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

    WalRecovery rec;
    auto w = open(rec);
    ASSERT_TRUE(w);
    ASSERT_GE(rec.records.size(), acked);
    expect_range({rec.records.begin(), rec.records.begin() + static_cast<ptrdiff_t>(acked)}, 1,
                 acked);
    // Anything beyond the acks is whole too (it was written, just not acknowledged).
    expect_range(rec.records, 1, rec.records.size());
    acked = rec.records.size();
  }
}

}  // namespace
}  // namespace fl::db
