#include "broker/storage/partition_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/storage/segment.h"
#include "storage_env.h"

namespace strand::storage {
namespace {

using protocol::BatchOrigin;
using testing::ManualClock;
using testing::run;
using testing::StorageEnv;

std::vector<std::byte> make_batch(int records, std::int64_t timestamp_ms, const std::string& tag) {
  std::vector<protocol::Record> list;
  for (int i = 0; i < records; ++i) {
    list.push_back(protocol::Record{
        tag + "-k" + std::to_string(i), tag + "-v" + std::to_string(i), {}, timestamp_ms + i, 0});
  }
  return protocol::build_batch(list);
}

// Every batch in `bytes`, as (base offset, first record value).
std::vector<std::pair<std::int64_t, std::string>> batches_in(const std::vector<std::byte>& bytes) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::span<const std::byte> rest = std::span(bytes).subspan(at);
    const std::uint32_t size = protocol::RecordBatchView::peek_size(rest).value();
    auto batch = protocol::RecordBatchView::parse(rest.first(size), BatchOrigin::kLog);
    EXPECT_TRUE(batch.ok());
    auto records = protocol::read_records(*batch);
    EXPECT_TRUE(records.ok());
    out.emplace_back(batch->base_offset(), *(*records)[0].value);
    at += size;
  }
  return out;
}

class PartitionLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> open_log(LogConfig config = {}) {
    env_ = std::make_unique<StorageEnv>(disk_, clock_, 7);
    auto log = run(PartitionLog::open(*env_, "data/topic-0", config));
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().to_string());
    return log.ok() ? std::move(*log) : nullptr;
  }
  void crash(std::unique_ptr<PartitionLog>& log, std::uint64_t seed) {
    log.reset();  // the process dies: no close, no index, no marker
    io::SeededRandom random(seed);
    disk_.crash(random);
  }
  AppendResult append(PartitionLog& log, int records, const std::string& tag) {
    auto result =
        run(log.append(make_batch(records, clock_.wall_ms(), tag), 1, BatchOrigin::kClient));
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().to_string());
    return result.ok() ? *result : AppendResult{-1, -1};
  }

  sim::SimDisk disk_;
  ManualClock clock_;
  std::unique_ptr<StorageEnv> env_;
};

TEST_F(PartitionLogTest, AssignsDenseOffsetsAndReadsWholeBatchesBack) {
  auto log = open_log();
  EXPECT_EQ(append(*log, 3, "a").base_offset, 0);
  EXPECT_EQ(append(*log, 2, "b").base_offset, 3);
  AppendResult c = append(*log, 1, "c");
  EXPECT_EQ(c.base_offset, 5);
  EXPECT_EQ(c.last_offset, 5);
  EXPECT_EQ(log->next_offset(), 6);

  auto all = run(log->read(0, 1 << 20));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(batches_in(*all), (std::vector<std::pair<std::int64_t, std::string>>{
                                  {0, "a-v0"}, {3, "b-v0"}, {5, "c-v0"}}));
  auto from_middle = run(log->read(4, 1 << 20));  // offset 4 sits inside batch b
  ASSERT_TRUE(from_middle.ok());
  EXPECT_EQ(batches_in(*from_middle).front().first, 3);
  auto tiny = run(log->read(0, 1));  // always at least one whole batch
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(batches_in(*tiny).size(), 1u);
  auto at_end = run(log->read(6, 1 << 20));
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());
  auto beyond = run(log->read(7, 1 << 20));
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().kind, io::ErrorKind::kOutOfRange);
  auto upto = run(log->read(0, 1 << 20, 3));  // stop below offset 3 (a high watermark)
  ASSERT_TRUE(upto.ok());
  EXPECT_EQ(batches_in(*upto).size(), 1u);
}

TEST_F(PartitionLogTest, RefusesBadBatchesNamingTheFieldAndWritesNothing) {
  auto log = open_log();
  append(*log, 2, "ok");
  std::vector<std::byte> bad_crc = make_batch(2, 0, "x");
  bad_crc.back() ^= std::byte{1};
  std::vector<std::byte> bad_magic = make_batch(2, 0, "x");
  bad_magic[protocol::batch_field::kMagic] = std::byte{1};
  std::vector<std::byte> bad_length = make_batch(2, 0, "x");
  bad_length.pop_back();
  std::vector<std::byte> bad_count = make_batch(2, 0, "x");
  protocol::store_be<std::int32_t>(bad_count.data() + protocol::batch_field::kRecordsCount, 3);
  protocol::store_be<std::uint32_t>(bad_count.data() + protocol::batch_field::kCrc,
                                    protocol::compute_batch_crc(bad_count));
  const std::pair<std::vector<std::byte>, std::string> cases[] = {{bad_crc, "crc"},
                                                                  {bad_magic, "magic"},
                                                                  {bad_length, "batchLength"},
                                                                  {bad_count, "recordsCount"}};
  for (const auto& [bytes, field] : cases) {
    auto result = run(log->append(bytes, 1, BatchOrigin::kClient));
    ASSERT_FALSE(result.ok()) << field;
    EXPECT_EQ(result.error().kind, io::ErrorKind::kCorrupt);
    EXPECT_NE(result.error().message.find(field), std::string::npos) << result.error().message;
  }
  EXPECT_EQ(log->next_offset(), 2);
  EXPECT_EQ(log->size_bytes(), make_batch(2, 0, "ok").size());
}

TEST_F(PartitionLogTest, RollsBySizeAndReadsAcrossSegments) {
  auto log = open_log(LogConfig{.segment_bytes = 300, .index_interval_bytes = 64});
  for (int i = 0; i < 20; ++i) append(*log, 2, "r" + std::to_string(i));
  EXPECT_GT(log->segments_count(), 5u);
  std::int64_t offset = 0;
  for (int i = 0; i < 20; ++i, offset += 2) {
    auto bytes = run(log->read(offset + 1, 1));
    ASSERT_TRUE(bytes.ok());
    auto batches = batches_in(*bytes);
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0],
              (std::pair<std::int64_t, std::string>{offset, "r" + std::to_string(i) + "-v0"}));
  }
}

TEST_F(PartitionLogTest, RollsByBrokerTimeNotByRecordTimestamps) {
  auto log = open_log(LogConfig{.roll_ms = 60'000});
  for (int i = 0; i < 5; ++i) {  // records stamped a year ago must not roll every append
    auto appended = run(log->append(make_batch(1, clock_.wall_ms() - 365ll * 24 * 3600 * 1000, "x"),
                                    0, BatchOrigin::kClient));
    ASSERT_TRUE(appended.ok());
  }
  EXPECT_EQ(log->segments_count(), 1u);
  clock_.advance_ms(61'000);
  append(*log, 1, "late");
  EXPECT_EQ(log->segments_count(), 2u);
}

TEST_F(PartitionLogTest, CleanCloseReopensFromIndexesWithoutScanning) {
  auto log = open_log(LogConfig{.segment_bytes = 400});
  for (int i = 0; i < 10; ++i) append(*log, 3, "c" + std::to_string(i));
  ASSERT_TRUE(run(log->close()).ok());
  log.reset();
  auto reopened = open_log(LogConfig{.segment_bytes = 400});
  EXPECT_TRUE(reopened->opened_clean());
  EXPECT_EQ(reopened->next_offset(), 30);
  auto bytes = run(reopened->read(27, 1 << 20));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(batches_in(*bytes).front().second, "c9-v0");
  // The marker is gone once opened: a crash now must be recovered by a scan.
  crash(reopened, 1);
  auto after_crash = open_log(LogConfig{.segment_bytes = 400});
  EXPECT_FALSE(after_crash->opened_clean());
  EXPECT_EQ(after_crash->next_offset(), 30);
}

// Counts the bytes read from .log files, so a test can show that a clean open reads no data.
class CountingFileSystem final : public io::FileSystem {
 public:
  explicit CountingFileSystem(io::FileSystem& target) : target_(target) {}
  std::uint64_t log_bytes_read() const { return log_bytes_read_; }

  io::Task<io::Result<std::unique_ptr<io::File>>> open(const std::string& path,
                                                       io::OpenMode mode) override {
    auto file = co_await target_.open(path, mode);
    if (!file) co_return std::move(file).error();
    const bool is_log = path.ends_with(".log");
    co_return std::unique_ptr<io::File>(
        new CountingFile(std::move(*file), is_log ? this : nullptr));
  }
  io::Task<io::Result<void>> rename(const std::string& a, const std::string& b) override {
    return target_.rename(a, b);
  }
  io::Task<io::Result<void>> remove(const std::string& path) override {
    return target_.remove(path);
  }
  io::Task<io::Result<std::vector<std::string>>> list(const std::string& d) override {
    return target_.list(d);
  }
  io::Task<io::Result<void>> make_dirs(const std::string& d) override {
    return target_.make_dirs(d);
  }
  io::Task<io::Result<void>> sync_dir(const std::string& d) override { return target_.sync_dir(d); }
  io::Task<io::Result<bool>> exists(const std::string& path) override {
    return target_.exists(path);
  }

 private:
  class CountingFile final : public io::File {
   public:
    CountingFile(std::unique_ptr<io::File> file, CountingFileSystem* counter)
        : file_(std::move(file)), counter_(counter) {}
    io::Task<io::Result<std::size_t>> read_at(std::uint64_t offset,
                                              std::span<std::byte> target) override {
      auto got = co_await file_->read_at(offset, target);
      if (got && counter_) counter_->log_bytes_read_ += *got;
      co_return got;
    }
    io::Task<io::Result<void>> append(std::span<const std::byte> b) override {
      return file_->append(b);
    }
    io::Task<io::Result<void>> write_at(std::uint64_t o, std::span<const std::byte> b) override {
      return file_->write_at(o, b);
    }
    io::Task<io::Result<void>> sync() override { return file_->sync(); }
    io::Task<io::Result<void>> truncate(std::uint64_t size) override {
      return file_->truncate(size);
    }
    std::uint64_t size() const override { return file_->size(); }
    io::Task<io::Result<void>> close() override { return file_->close(); }
    const std::string& path() const override { return file_->path(); }

   private:
    std::unique_ptr<io::File> file_;
    CountingFileSystem* counter_;
  };
  io::FileSystem& target_;
  std::uint64_t log_bytes_read_ = 0;
};

class CountingEnv final : public io::Env {
 public:
  explicit CountingEnv(io::Env& target) : target_(target), fs_(target.fs()) {}
  io::Clock& clock() override { return target_.clock(); }
  io::Network& net() override { return target_.net(); }
  io::FileSystem& fs() override { return fs_; }
  io::Random& rng() override { return target_.rng(); }
  io::Executor& executor() override { return target_.executor(); }
  CountingFileSystem& counting_fs() { return fs_; }

 private:
  io::Env& target_;
  CountingFileSystem fs_;
};

TEST_F(PartitionLogTest, CleanOpenReadsOnlyIndexesAndFirstHeadersNotData) {
  LogConfig config{.segment_bytes = 64 * 1024};
  auto log = open_log(config);
  const std::string payload(2000, 'p');
  for (int i = 0; i < 300; ++i) append(*log, 4, payload + std::to_string(i));
  const std::uint64_t data_bytes = log->size_bytes();
  const std::size_t segments = log->segments_count();
  ASSERT_GT(segments, 5u);
  ASSERT_TRUE(run(log->close()).ok());
  log.reset();

  env_ = std::make_unique<StorageEnv>(disk_, clock_, 8);
  CountingEnv counting(*env_);
  auto clean = run(PartitionLog::open(counting, "data/topic-0", config));
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE((*clean)->opened_clean());
  EXPECT_EQ((*clean)->next_offset(), 1200);
  // One batch header per segment (for log.roll.ms), nothing else of the data.
  EXPECT_EQ(counting.counting_fs().log_bytes_read(), segments * protocol::kBatchHeaderBytes);
  EXPECT_LT(counting.counting_fs().log_bytes_read() * 100, data_bytes);
  clean->reset();

  io::SeededRandom random(2);
  disk_.crash(random);
  env_ = std::make_unique<StorageEnv>(disk_, clock_, 9);
  CountingEnv after_crash(*env_);
  auto recovered = run(PartitionLog::open(after_crash, "data/topic-0", config));
  ASSERT_TRUE(recovered.ok());
  EXPECT_FALSE((*recovered)->opened_clean());
  // Unclean: the sealed segments are trusted, the last one is scanned whole.
  EXPECT_GT(after_crash.counting_fs().log_bytes_read(), segments * protocol::kBatchHeaderBytes);
}

TEST_F(PartitionLogTest, RecoversTornTailBatchKeepingEverythingSynced) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    disk_.~SimDisk();
    new (&disk_) sim::SimDisk();
    auto log = open_log();
    for (int i = 0; i < 5; ++i) append(*log, 4, "s" + std::to_string(i));
    ASSERT_TRUE(run(log->sync()).ok());
    const std::int64_t synced = log->next_offset();
    for (int i = 0; i < 5; ++i) append(*log, 4, "u" + std::to_string(i));
    crash(log, seed);
    auto recovered = open_log();
    ASSERT_NE(recovered, nullptr);
    EXPECT_GE(recovered->next_offset(), synced) << "seed " << seed;
    EXPECT_LE(recovered->next_offset(), 40) << "seed " << seed;
    EXPECT_EQ(recovered->next_offset() % 4, 0) << "whole batches only, seed " << seed;
    auto bytes = run(recovered->read(0, 1 << 20));
    ASSERT_TRUE(bytes.ok()) << bytes.error().to_string();
    auto batches = batches_in(*bytes);
    ASSERT_EQ(static_cast<std::int64_t>(batches.size()) * 4, recovered->next_offset());
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const std::string expected = (i < 5 ? "s" : "u") + std::to_string(i % 5) + "-v0";
      EXPECT_EQ(batches[i].second, expected) << "seed " << seed;
    }
    // The log accepts appends after recovery, continuing the offsets.
    const std::int64_t end = recovered->next_offset();
    EXPECT_EQ(append(*recovered, 1, "after").base_offset, end);
  }
}

TEST_F(PartitionLogTest, NoSpaceFailsThatAppendCleanlyAndRecovers) {
  auto log = open_log();
  append(*log, 2, "first");
  disk_.faults().capacity_bytes = disk_.used_bytes() + 10;
  auto refused = run(log->append(make_batch(2, 0, "big"), 1, BatchOrigin::kClient));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, io::ErrorKind::kNoSpace);
  EXPECT_EQ(log->next_offset(), 2);
  auto still = run(log->read(0, 1 << 20));
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(batches_in(*still).size(), 1u);
  disk_.faults().capacity_bytes = sim::SimDiskFaults::kUnlimitedBytes;
  EXPECT_EQ(append(*log, 2, "again").base_offset, 2);
  EXPECT_TRUE(run(log->sync()).ok());
}

TEST_F(PartitionLogTest, NeverServesABatchWhoseCrcFails) {
  auto log = open_log();
  append(*log, 2, "a");
  append(*log, 2, "b");
  ASSERT_TRUE(run(log->sync()).ok());
  const std::uint64_t first_size = make_batch(2, clock_.wall_ms(), "a").size();
  ASSERT_TRUE(
      disk_.flip_bit("data/topic-0/" + segment_file_name(0, ".log"), first_size + 70, 3).ok());
  auto bad = run(log->read(2, 1 << 20));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, io::ErrorKind::kCorrupt);
  auto good = run(log->read(0, 1));  // the batch before the damage is still served
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(batches_in(*good).size(), 1u);
}

// Recovery cuts the log at a bad batch and reports the last intact batch behind it (a bound of
// what the log held: a crash tears unsynced sectors in any order, so this alone does not prove
// corruption); a log whose tail was simply cut short reports nothing.
TEST_F(PartitionLogTest, RecoveryReportsTheLastIntactBatchBehindACut) {
  auto log = open_log();
  for (int i = 0; i < 6; ++i) append(*log, 2, "c" + std::to_string(i));
  ASSERT_TRUE(run(log->sync()).ok());
  const std::uint64_t size = make_batch(2, clock_.wall_ms(), "c0").size();
  crash(log, 1);
  ASSERT_TRUE(
      disk_.flip_bit("data/topic-0/" + segment_file_name(0, ".log"), 2 * size + 40, 5).ok());
  auto recovered = open_log();
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(recovered->next_offset(), 4) << "cut at the corrupt batch [4, 5]";
  ASSERT_TRUE(recovered->lost_end().has_value());
  EXPECT_EQ(recovered->lost_end()->last_offset, 11) << "the last intact batch behind the cut";
  EXPECT_EQ(recovered->lost_end()->leader_epoch, 1);
  append(*recovered, 2, "d");
  ASSERT_TRUE(run(recovered->sync()).ok());
  crash(recovered, 2);
  ASSERT_TRUE(disk_.flip_bit("data/topic-0/" + segment_file_name(0, ".log"), 2 * size + 9, 0).ok())
      << "the batch length: now past the end of the file";
  recovered = open_log();
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(recovered->next_offset(), 4);
  EXPECT_FALSE(recovered->lost_end().has_value()) << "nothing intact behind it";
}

// A replica repairing a corrupt batch opens its log with repair_from: the batch holding that
// offset and everything after it go, across segments, whatever was synced; later appends follow.
TEST_F(PartitionLogTest, RepairOpenCutsFromTheBatchHoldingTheOffset) {
  auto log = open_log(LogConfig{.segment_bytes = 300});
  for (int i = 0; i < 12; ++i) append(*log, 2, "r" + std::to_string(i));
  ASSERT_TRUE(run(log->close()).ok());
  log.reset();
  env_ = std::make_unique<StorageEnv>(disk_, clock_, 7);
  auto repaired = run(
      PartitionLog::open(*env_, "data/topic-0", LogConfig{.segment_bytes = 300}, std::int64_t{9}));
  ASSERT_TRUE(repaired.ok()) << repaired.error().to_string();
  EXPECT_EQ((*repaired)->next_offset(), 8) << "9 is inside batch [8, 9]";
  EXPECT_FALSE((*repaired)->lost_end().has_value());
  EXPECT_EQ(append(**repaired, 2, "again").base_offset, 8);
  crash(*repaired, 2);
  auto reopened = open_log(LogConfig{.segment_bytes = 300});
  auto kept = run(reopened->read(6, 1));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(batches_in(*kept).front().second, "r3-v0");
  EXPECT_LE(reopened->next_offset(), 10);
  if (reopened->next_offset() == 10) {
    auto again = run(reopened->read(8, 1));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(batches_in(*again).front().second, "again-v0");
  }
}

TEST_F(PartitionLogTest, ReadErrorFailsThatReadOnly) {
  auto log = open_log();
  append(*log, 2, "a");
  ASSERT_TRUE(run(log->sync()).ok());
  disk_.faults().read_error_probability = 1.0;
  auto failed = run(log->read(0, 1 << 20));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, io::ErrorKind::kIoError);
  EXPECT_FALSE(failed.error().message.empty());
  disk_.faults().read_error_probability = 0.0;
  auto again = run(log->read(0, 1 << 20));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(batches_in(*again).size(), 1u);
  EXPECT_EQ(append(*log, 1, "b").base_offset, 2);
}

TEST_F(PartitionLogTest, RebuildsAMissingOrDamagedIndex) {
  auto log = open_log(LogConfig{.segment_bytes = 300, .index_interval_bytes = 1});
  for (int i = 0; i < 12; ++i) append(*log, 2, "i" + std::to_string(i));
  ASSERT_TRUE(run(log->close()).ok());
  log.reset();
  const std::string index = "data/topic-0/" + segment_file_name(0, ".index");
  ASSERT_TRUE(disk_.flip_bit(index, 40, 0).ok());
  auto reopened = open_log(LogConfig{.segment_bytes = 300, .index_interval_bytes = 1});
  EXPECT_EQ(reopened->next_offset(), 24);
  for (std::int64_t offset = 0; offset < 24; offset += 2) {
    auto bytes = run(reopened->read(offset, 1));
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(batches_in(*bytes).front().first, offset);
  }
}

TEST_F(PartitionLogTest, TruncateSuffixDropsWholeBatchesAcrossSegments) {
  auto log = open_log(LogConfig{.segment_bytes = 300});
  for (int i = 0; i < 12; ++i) append(*log, 2, "t" + std::to_string(i));
  ASSERT_TRUE(run(log->truncate_suffix(9)).ok());  // 9 is inside batch [8, 9]
  EXPECT_EQ(log->next_offset(), 8);
  EXPECT_EQ(append(*log, 1, "new").base_offset, 8);
  auto bytes = run(log->read(8, 1 << 20));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(batches_in(*bytes).front().second, "new-v0");
  crash(log, 3);
  auto reopened = open_log(LogConfig{.segment_bytes = 300});
  EXPECT_EQ(reopened->next_offset(), 9);
}

TEST_F(PartitionLogTest, RetentionDeletesWholeClosedSegmentsByTimeAndSize) {
  LogConfig config{.segment_bytes = 300, .retention_ms = 60'000};
  auto log = open_log(config);
  for (int i = 0; i < 6; ++i) append(*log, 2, "old" + std::to_string(i));
  clock_.advance_ms(120'000);
  for (int i = 0; i < 6; ++i) append(*log, 2, "new" + std::to_string(i));
  const std::size_t segments_before = log->segments_count();
  auto removed = run(log->apply_retention(clock_.wall_ms()));
  ASSERT_TRUE(removed.ok());
  EXPECT_GT(removed->segments_removed, 0u);
  EXPECT_EQ(log->segments_count(), segments_before - removed->segments_removed);
  EXPECT_GT(log->log_start_offset(), 0);
  EXPECT_LE(log->log_start_offset(), 12);  // nothing new was removed
  auto below = run(log->read(0, 1 << 20));
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().kind, io::ErrorKind::kOutOfRange);
  auto first = run(log->read(log->log_start_offset(), 1));
  ASSERT_TRUE(first.ok());

  auto sized =
      open_log(LogConfig{.segment_bytes = 300, .retention_ms = -1, .retention_bytes = 600});
  auto size_removed = run(sized->apply_retention(clock_.wall_ms()));
  ASSERT_TRUE(size_removed.ok());
  EXPECT_LE(sized->size_bytes() - sized->segments_count() * 0, sized->size_bytes());
  std::uint64_t closed_bytes = sized->size_bytes();
  EXPECT_LT(closed_bytes, 600u + 300u);  // at most the limit plus the active segment
}

// Records the start a hook was called with, and the log start from which the log still read.
io::Task<void> note_start_move(std::vector<std::int64_t>& seen,
                               std::vector<std::int64_t>& readable_from, PartitionLog& log,
                               std::int64_t new_start) {
  seen.push_back(new_start);
  io::Result<std::vector<std::byte>> bytes = co_await log.read(log.log_start_offset(), 1);
  readable_from.push_back(bytes.ok() && !bytes->empty() ? log.log_start_offset() : -1);
}

// The hook that keeps state derived from the log (the producer snapshot) sees every move of the
// log start before the batches below it go, and can still read them then.
TEST_F(PartitionLogTest, StartMoveHookSeesTheNewStartWhileTheOldBatchesAreReadable) {
  auto log = open_log(LogConfig{.segment_bytes = 300, .retention_ms = 60'000});
  std::vector<std::int64_t> seen;
  std::vector<std::int64_t> readable_from;
  PartitionLog* raw = log.get();
  log->set_before_start_moves([&seen, &readable_from, raw](std::int64_t start) {
    return note_start_move(seen, readable_from, *raw, start);
  });
  for (int i = 0; i < 6; ++i) append(*log, 2, "old" + std::to_string(i));
  clock_.advance_ms(120'000);
  for (int i = 0; i < 6; ++i) append(*log, 2, "new" + std::to_string(i));
  const std::int64_t start_before = log->log_start_offset();
  auto removed = run(log->apply_retention(clock_.wall_ms()));
  ASSERT_TRUE(removed.ok());
  ASSERT_GT(removed->segments_removed, 0u);
  ASSERT_EQ(seen.size(), 1u) << "one call for one retention pass";
  EXPECT_EQ(seen[0], log->log_start_offset()) << "the start retention moved to";
  EXPECT_EQ(readable_from[0], start_before) << "called before the segments went";

  auto nothing = run(log->apply_retention(clock_.wall_ms()));
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(seen.size(), 1u) << "no call when nothing goes";

  ASSERT_TRUE(run(log->advance_start_offset(log->log_start_offset() + 3)).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], log->log_start_offset());

  ASSERT_TRUE(run(log->truncate_fully_and_start_at(log->next_offset() + 100)).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], log->log_start_offset());
  EXPECT_GE(readable_from[2], 0) << "the old log was still there during the call";
}

TEST_F(PartitionLogTest, FindsOffsetByTimestamp) {
  auto log = open_log(LogConfig{.segment_bytes = 300, .index_interval_bytes = 1});
  for (int i = 0; i < 10; ++i) {
    clock_.advance_ms(1'000);
    append(*log, 3, "ts" + std::to_string(i));  // records at wall, wall + 1, wall + 2
  }
  const std::int64_t start = clock_.wall_ms() - 9'000;
  auto exact = run(log->offset_for_timestamp(start + 4'000 + 1));
  ASSERT_TRUE(exact.ok());
  ASSERT_TRUE(exact->has_value());
  EXPECT_EQ(**exact, 13);  // batch 4 holds offsets 12..14 at +0, +1, +2
  auto earliest = run(log->offset_for_timestamp(0));
  ASSERT_TRUE(earliest.ok());
  EXPECT_EQ(**earliest, 0);
  auto none = run(log->offset_for_timestamp(clock_.wall_ms() + 1'000'000));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// Inside a compressed batch the answer is the exact record too, not the batch's first.
TEST_F(PartitionLogTest, FindsOffsetByTimestampInsideCompressedBatches) {
  auto log = open_log();
  const std::int64_t start = clock_.wall_ms();
  for (protocol::Compression codec : {protocol::Compression::kGzip, protocol::Compression::kZstd}) {
    std::vector<protocol::Record> list;
    for (int i = 0; i < 4; ++i) {
      const std::int64_t at = start + 100 * static_cast<std::int64_t>(list.size()) +
                              (codec == protocol::Compression::kZstd ? 1'000 : 0);
      list.push_back(protocol::Record{"k", "v" + std::to_string(i), {}, at, 0});
    }
    protocol::BatchOptions options;
    options.compression = codec;
    auto appended = run(log->append(protocol::build_batch(list, options), 0, BatchOrigin::kClient));
    ASSERT_TRUE(appended.ok());
  }
  auto second = run(log->offset_for_timestamp(start + 150));  // gzip batch, records at +0..+300
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ(**second, 2);
  auto in_zstd = run(log->offset_for_timestamp(start + 1'201));  // zstd batch, +1000..+1300
  ASSERT_TRUE(in_zstd.ok() && in_zstd->has_value());
  EXPECT_EQ(**in_zstd, 7);
}

TEST_F(PartitionLogTest, FailedSyncFailsTheLogUntilReopened) {
  auto log = open_log();
  append(*log, 1, "a");
  disk_.fail_next_syncs(1);
  auto synced = run(log->sync());
  ASSERT_FALSE(synced.ok());
  EXPECT_EQ(synced.error().kind, io::ErrorKind::kIoError);
  EXPECT_TRUE(log->failed());
  auto refused = run(log->append(make_batch(1, 0, "b"), 1, BatchOrigin::kClient));
  ASSERT_FALSE(refused.ok());
  auto readable = run(log->read(0, 1 << 20));
  EXPECT_TRUE(readable.ok());
  crash(log, 5);
  auto reopened = open_log();
  EXPECT_FALSE(reopened->failed());
  const std::int64_t end = reopened->next_offset();
  EXPECT_EQ(append(*reopened, 1, "c").base_offset, end);
}

TEST_F(PartitionLogTest, TruncateFullyStartsEmptyAtOffsetDurably) {
  const LogConfig config{.segment_bytes = 300};
  auto log = open_log(config);
  for (int i = 0; i < 10; ++i) append(*log, 2, "old" + std::to_string(i));
  ASSERT_TRUE(run(log->sync()).ok());
  ASSERT_GT(log->segments_count(), 2u);
  auto same_end = run(log->truncate_fully_and_start_at(log->next_offset()));
  ASSERT_FALSE(same_end.ok());
  EXPECT_EQ(same_end.error().kind, io::ErrorKind::kInvalid);
  ASSERT_TRUE(run(log->truncate_fully_and_start_at(1000)).ok());
  EXPECT_EQ(log->log_start_offset(), 1000);
  EXPECT_EQ(log->next_offset(), 1000);
  EXPECT_EQ(log->high_watermark(), 1000);
  EXPECT_EQ(log->segments_count(), 1u);
  EXPECT_EQ(run(log->read(10, 1 << 20)).error().kind, io::ErrorKind::kOutOfRange);
  crash(log, 11);
  auto reopened = open_log(config);
  EXPECT_EQ(reopened->log_start_offset(), 1000);
  EXPECT_EQ(reopened->next_offset(), 1000);
  EXPECT_EQ(reopened->segments_count(), 1u);
  EXPECT_EQ(append(*reopened, 3, "new").base_offset, 1000);
  auto bytes = run(reopened->read(1000, 1 << 20));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(batches_in(*bytes),
            (std::vector<std::pair<std::int64_t, std::string>>{{1000, "new-v0"}}));
}

// Lets `budget` name operations through (open, rename, remove, sync_dir), then fails every one:
// the process died there. Open files keep working, as their writes were already issued.
class DyingFileSystem final : public io::FileSystem {
 public:
  explicit DyingFileSystem(io::FileSystem& target) : target_(target) {}
  std::optional<int> budget;

  io::Task<io::Result<std::unique_ptr<io::File>>> open(const std::string& path,
                                                       io::OpenMode mode) override {
    if (!spend()) co_return dead();
    co_return co_await target_.open(path, mode);
  }
  io::Task<io::Result<void>> rename(const std::string& a, const std::string& b) override {
    if (!spend()) co_return dead();
    co_return co_await target_.rename(a, b);
  }
  io::Task<io::Result<void>> remove(const std::string& path) override {
    if (!spend()) co_return dead();
    co_return co_await target_.remove(path);
  }
  io::Task<io::Result<std::vector<std::string>>> list(const std::string& d) override {
    return target_.list(d);
  }
  io::Task<io::Result<void>> make_dirs(const std::string& d) override {
    return target_.make_dirs(d);
  }
  io::Task<io::Result<void>> sync_dir(const std::string& d) override {
    if (!spend()) co_return dead();
    co_return co_await target_.sync_dir(d);
  }
  io::Task<io::Result<bool>> exists(const std::string& path) override {
    return target_.exists(path);
  }

 private:
  bool spend() {
    if (!budget) return true;
    if (*budget <= 0) return false;
    *budget -= 1;
    return true;
  }
  static io::Error dead() { return io::Error{io::ErrorKind::kIoError, "the process died"}; }
  io::FileSystem& target_;
};

class DyingEnv final : public io::Env {
 public:
  explicit DyingEnv(io::Env& target) : target_(target), fs_(target.fs()) {}
  io::Clock& clock() override { return target_.clock(); }
  io::Network& net() override { return target_.net(); }
  io::FileSystem& fs() override { return fs_; }
  io::Random& rng() override { return target_.rng(); }
  io::Executor& executor() override { return target_.executor(); }
  DyingFileSystem& dying_fs() { return fs_; }

 private:
  io::Env& target_;
  DyingFileSystem fs_;
};

// A crash at any point of truncate_fully_and_start_at reopens either the old log, whole, or an
// empty log at the new offset that appends there; never a mix, never an empty log elsewhere.
TEST(PartitionLogCrash, CrashDuringTruncateFullyReopensOldLogOrEmptyAtOffset) {
  const LogConfig config{.segment_bytes = 300};
  const std::string directory = "data/topic-0";
  int restarted_count = 0;
  int old_count = 0;
  for (int budget = 0; budget < 40; ++budget) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      const std::string where =
          "budget " + std::to_string(budget) + " crash seed " + std::to_string(seed);
      sim::SimDisk disk;
      ManualClock clock;
      StorageEnv base(disk, clock, seed);
      DyingEnv env(base);
      auto opened = run(PartitionLog::open(env, directory, config));
      ASSERT_TRUE(opened.ok()) << where;
      std::unique_ptr<PartitionLog> log = std::move(*opened);
      for (int i = 0; i < 8; ++i) {
        std::vector<std::byte> batch = make_batch(2, clock.wall_ms(), "o" + std::to_string(i));
        auto appended = run(log->append(std::move(batch), 1, BatchOrigin::kClient));
        ASSERT_TRUE(appended.ok()) << where;
      }
      ASSERT_TRUE(run(log->advance_start_offset(2)).ok()) << where;
      ASSERT_TRUE(run(log->sync()).ok()) << where;
      const std::int64_t old_end = log->next_offset();
      env.dying_fs().budget = budget;
      const bool done = run(log->truncate_fully_and_start_at(500)).ok();
      log.reset();
      io::SeededRandom random(seed);
      disk.crash(random);
      StorageEnv after(disk, clock, seed);
      auto reopened = run(PartitionLog::open(after, directory, config));
      ASSERT_TRUE(reopened.ok()) << where << ": " << reopened.error().to_string();
      PartitionLog& back = **reopened;
      if (back.log_start_offset() == 500) {
        restarted_count += 1;
        EXPECT_EQ(back.next_offset(), 500) << where;
        EXPECT_EQ(back.segments_count(), 1u) << where;
      } else {
        EXPECT_FALSE(done) << where << ": a finished restart was undone";
        old_count += 1;
        EXPECT_EQ(back.log_start_offset(), 2) << where;
        EXPECT_EQ(back.next_offset(), old_end) << where;
        auto bytes = run(back.read(2, 1 << 20));
        ASSERT_TRUE(bytes.ok()) << where;
        EXPECT_EQ(batches_in(*bytes).front().first, 2) << where;
      }
      std::vector<std::byte> batch = make_batch(1, clock.wall_ms(), "n");
      auto appended = run(back.append(std::move(batch), 1, BatchOrigin::kClient));
      ASSERT_TRUE(appended.ok()) << where;
      EXPECT_EQ(appended->base_offset, back.log_start_offset() == 500 ? 500 : old_end) << where;
    }
  }
  // Both outcomes are reached, so the test covers the crash points in between.
  EXPECT_GT(restarted_count, 0);
  EXPECT_GT(old_count, 0);
}

}  // namespace
}  // namespace strand::storage
