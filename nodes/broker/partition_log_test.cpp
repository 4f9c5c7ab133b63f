#include "nodes/broker/partition_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace fl::broker {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("fl-broker-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::unique_ptr<PartitionLog> open_log(const fs::path& dir, LogRecovery* rec = nullptr,
                                       LogOptions o = {}) {
  auto log = PartitionLog::open(dir, o, rec);
  EXPECT_TRUE(log.has_value()) << (log ? "" : log.error().message);
  return log ? std::move(*log) : nullptr;
}

uint64_t add(PartitionLog& log, std::string_view key, std::string_view v) {
  std::vector<std::string_view> f = {"key", key, "v", v};
  auto off = log.append(f);
  EXPECT_TRUE(off.has_value());
  return off ? *off : UINT64_MAX;
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& de : fs::directory_iterator(dir)) out.push_back(de.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(PartitionLog, EntryKeepsFieldsAsGivenAndFindsKey) {
  std::vector<std::string_view> f = {"v", "1", "key", "k9", "key", "other"};
  Entry e = make_entry(7, f);
  EXPECT_EQ(e.fields,
            "*6\r\n$1\r\nv\r\n$1\r\n1\r\n$3\r\nkey\r\n$2\r\nk9\r\n$3\r\nkey\r\n$5\r\nother\r\n");
  EXPECT_TRUE(e.has_key);
  EXPECT_EQ(e.key, "k9");
  std::vector<std::string_view> nokey = {"v", "key"};
  EXPECT_FALSE(make_entry(0, nokey).has_key);
}

TEST(PartitionLog, AppendsAndRecoversOffsets) {
  TempDir d;
  {
    auto log = open_log(d.path());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(add(*log, "k" + std::to_string(i), "x"), uint64_t(i));
    ASSERT_TRUE(log->sync().has_value());
    EXPECT_EQ(log->fsyncs(), 1u);
    EXPECT_FALSE(log->dirty());
  }
  LogRecovery rec;
  auto log = open_log(d.path(), &rec);
  EXPECT_EQ(rec.entries, 5u);
  EXPECT_EQ(rec.torn_bytes, 0u);
  ASSERT_EQ(log->entries().size(), 5u);
  EXPECT_EQ(log->entries()[3].key, "k3");
  EXPECT_EQ(log->next_offset(), 5u);
  EXPECT_EQ(add(*log, "z", "y"), 5u);
}

TEST(PartitionLog, RecoveryCutsATornTail) {
  TempDir d;
  {
    auto log = open_log(d.path());
    for (int i = 0; i < 3; ++i) add(*log, "k", std::to_string(i));
  }
  const fs::path seg = segments(d.path()).back();
  const auto full = fs::file_size(seg);
  // A write torn in the middle of the third record.
  fs::resize_file(seg, full - 5);
  LogRecovery rec;
  {
    auto log = open_log(d.path(), &rec);
    EXPECT_EQ(rec.entries, 2u);
    EXPECT_GT(rec.torn_bytes, 0u);
    EXPECT_FALSE(rec.torn_reason.empty());
    EXPECT_EQ(log->next_offset(), 2u);
    // The cut is made durable, so the next append lands on a clean tail.
    EXPECT_EQ(add(*log, "k", "again"), 2u);
  }
  auto log = open_log(d.path(), &rec);
  EXPECT_EQ(rec.torn_bytes, 0u);
  ASSERT_EQ(log->entries().size(), 3u);
  EXPECT_NE(log->entries()[2].fields.find("again"), std::string::npos);
}

TEST(PartitionLog, RecoveryCutsAGarbageTail) {
  TempDir d;
  {
    auto log = open_log(d.path());
    add(*log, "a", "1");
  }
  {
    std::ofstream f(segments(d.path()).back(), std::ios::app | std::ios::binary);
    f << std::string("\x10\x00\x00\x00garbage-garbage-garbage", 27);
  }
  LogRecovery rec;
  auto log = open_log(d.path(), &rec);
  EXPECT_EQ(rec.entries, 1u);
  EXPECT_EQ(rec.torn_bytes, 27u);
}

TEST(PartitionLog, DamageInAnOlderSegmentIsAnError) {
  TempDir d;
  LogOptions small;
  small.segment_bytes = 100;
  {
    auto log = open_log(d.path(), nullptr, small);
    for (int i = 0; i < 10; ++i) add(*log, "k", std::to_string(i));
    EXPECT_GT(log->segments(), 2u);
  }
  {
    auto log = open_log(d.path(), nullptr, small);
    EXPECT_EQ(log->entries().size(), 10u);
  }
  const fs::path first = segments(d.path()).front();
  fs::resize_file(first, fs::file_size(first) - 3);
  auto log = PartitionLog::open(d.path(), small);
  ASSERT_FALSE(log.has_value());
  EXPECT_NE(log.error().message.find("not the newest"), std::string::npos);
}

TEST(PartitionLog, CompactionKeepsTheLastEntryPerKeyWithGaps) {
  TempDir d;
  LogOptions small;
  small.segment_bytes = 120;
  {
    auto log = open_log(d.path(), nullptr, small);
    add(*log, "a", "1");  // 0
    add(*log, "b", "1");  // 1
    add(*log, "a", "2");  // 2
    std::vector<std::string_view> nokey = {"v", "free"};
    ASSERT_TRUE(log->append(nokey).has_value());  // 3
    add(*log, "c", "1");                          // 4
    add(*log, "a", "3");                          // 5
    add(*log, "b", "2");                          // 6
    auto r = log->compact();
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->before, 7u);
    EXPECT_EQ(r->after, 4u);
    EXPECT_LT(r->bytes_after, r->bytes_before);
    std::vector<uint64_t> offsets;
    for (const Entry& e : log->entries()) offsets.push_back(e.offset);
    EXPECT_EQ(offsets, (std::vector<uint64_t>{3, 4, 5, 6}));
    EXPECT_EQ(log->find(2), nullptr);
    EXPECT_EQ(log->segments(), 1u);
    EXPECT_EQ(add(*log, "a", "4"), 7u);
  }
  auto log = open_log(d.path(), nullptr, small);
  std::vector<uint64_t> offsets;
  for (const Entry& e : log->entries()) offsets.push_back(e.offset);
  EXPECT_EQ(offsets, (std::vector<uint64_t>{3, 4, 5, 6, 7}));
  EXPECT_NE(log->find(5)->fields.find("$1\r\n3"), std::string::npos);
  EXPECT_EQ(log->next_offset(), 8u);
}

TEST(PartitionLog, ACompactedSegmentSupersedesOlderOnesLeftByACrash) {
  TempDir d;
  fs::path compacted;
  {
    auto log = open_log(d.path());
    add(*log, "a", "1");
    add(*log, "a", "2");
    ASSERT_TRUE(log->compact().has_value());
    compacted = segments(d.path()).back();
  }
  // Pretend the crash came after the rename but before the old segment was removed: put an
  // old-looking segment with a lower seq back.
  {
    auto other = TempDir();
    auto log = open_log(other.path());
    add(*log, "a", "1");
    add(*log, "a", "2");
    add(*log, "a", "3");
    fs::copy_file(segments(other.path()).front(), d.path() / "seg-0000000000000001.log");
  }
  // And an unfinished compaction's temp file.
  std::ofstream(d.path() / "seg-00000000000000ff.log.tmp") << "junk";
  auto log = open_log(d.path());
  ASSERT_EQ(log->entries().size(), 1u);
  EXPECT_EQ(log->entries()[0].offset, 1u);
  EXPECT_EQ(segments(d.path()), std::vector<fs::path>{compacted});
}

TEST(PartitionLog, BufferedAppendsAreLostUntilWritten) {
  TempDir d;
  {
    auto log = open_log(d.path());
    add(*log, "a", "1");
    std::vector<std::string_view> f = {"key", "b", "v", "2"};
    ASSERT_EQ(*log->append(f, /*write_now=*/false), 1u);
    // Not visible until written: a reader must not see what a process kill can take away.
    EXPECT_EQ(log->entries().size(), 1u);
    EXPECT_EQ(log->find(1), nullptr);
    EXPECT_EQ(log->next_offset(), 2u);
  }
  {
    auto log = open_log(d.path());
    EXPECT_EQ(log->entries().size(), 1u);  // never written: lost
    std::vector<std::string_view> f = {"key", "b", "v", "2"};
    ASSERT_TRUE(log->append(f, false).has_value());
    ASSERT_TRUE(log->write_buffered().has_value());
    ASSERT_NE(log->find(1), nullptr);
    EXPECT_EQ(log->find(1)->key, "b");
  }
  EXPECT_EQ(open_log(d.path())->entries().size(), 2u);
}

}  // namespace
}  // namespace fl::broker
