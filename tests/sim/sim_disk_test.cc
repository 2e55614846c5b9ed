// SimDisk and SimFileSystem: the io::FileSystem contract, crash semantics for data and names,
// and every injected fault (EIO, ENOSPC, bit flips, slow I/O, stale handles).
#include "sim/sim_disk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/task_scope.h"
#include "programs.h"
#include "sim/sim_file_system.h"
#include "sim_disk_test_support.h"

namespace strand::sim {
namespace {

using io::ErrorKind;
using io::OpenMode;
using testing::as_bytes;
using testing::DiskEnv;
using testing::InstantClock;
using testing::QueueClock;
using testing::run_now;
using testing::to_string;

class SimDiskTest : public ::testing::Test {
 protected:
  // The node restarts on the surviving disk: a new view, as SimNode builds after a crash.
  void crash(std::uint64_t seed) {
    io::SeededRandom crash_random(seed);
    disk_.crash(crash_random);
    disk_.check_invariants();
    fs_ = std::make_unique<SimFileSystem>(disk_, clock_, random_);
  }

  std::unique_ptr<io::File> open(const std::string& path, OpenMode mode) {
    io::Result<std::unique_ptr<io::File>> opened = run_now(fs_->open(path, mode));
    EXPECT_TRUE(opened.ok()) << path << ": " << (opened ? "" : opened.error().to_string());
    if (!opened) return nullptr;
    return std::move(*opened);
  }

  void append(io::File& file, const std::string& text) {
    io::Result<void> appended = run_now(file.append(as_bytes(text)));
    ASSERT_TRUE(appended.ok()) << appended.error().to_string();
  }

  void sync(io::File& file) {
    io::Result<void> synced = run_now(file.sync());
    ASSERT_TRUE(synced.ok()) << synced.error().to_string();
  }

  void sync_dir(const std::string& directory) {
    io::Result<void> synced = run_now(fs_->sync_dir(directory));
    ASSERT_TRUE(synced.ok()) << synced.error().to_string();
  }

  void rename(const std::string& from, const std::string& to) {
    io::Result<void> renamed = run_now(fs_->rename(from, to));
    ASSERT_TRUE(renamed.ok()) << renamed.error().to_string();
  }

  // A file whose data and name are both durable.
  void create_durable(const std::string& path, const std::string& text) {
    std::unique_ptr<io::File> file = open(path, OpenMode::kTruncate);
    ASSERT_NE(file, nullptr);
    append(*file, text);
    sync(*file);
    ASSERT_TRUE(run_now(file->close()).ok());
    sync_dir(io::parent_path(path));
  }

  bool exists(const std::string& path) {
    io::Result<bool> present = run_now(fs_->exists(path));
    EXPECT_TRUE(present.ok());
    return present.ok() && *present;
  }

  std::string current(const std::string& path) {
    io::Result<std::vector<std::byte>> bytes = disk_.current_bytes(path);
    EXPECT_TRUE(bytes.ok()) << path;
    return bytes ? to_string(*bytes) : std::string();
  }

  std::string durable(const std::string& path) {
    io::Result<std::vector<std::byte>> bytes = disk_.durable_bytes(path);
    EXPECT_TRUE(bytes.ok()) << path;
    return bytes ? to_string(*bytes) : std::string();
  }

  SimDisk disk_{"test-disk"};
  InstantClock clock_;
  io::SeededRandom random_{42};
  std::unique_ptr<SimFileSystem> fs_ = std::make_unique<SimFileSystem>(disk_, clock_, random_);
};

// ---- The io::FileSystem contract ----------------------------------------------------------------

TEST(SimDiskProgram, FileWriterProgramPasses) {
  SimDisk disk("program-disk");
  DiskEnv env(disk, 7);
  io::Result<std::uint64_t> verified = run_now(strand::testing::run_file_writer(
      env, strand::testing::FileWriterOptions{"data/writer", 200, 1000, 7}));
  ASSERT_TRUE(verified.ok()) << verified.error().to_string();
  EXPECT_GT(*verified, 0u);
  EXPECT_EQ(env.instant_clock().sleeps_count(), 0u);  // no latency configured: nothing sleeps
  disk.check_invariants();
}

TEST(SimDiskProgram, FileWriterProgramPassesWithSlowIo) {
  SimDisk disk("slow-disk");
  const LatencyRange slow{io::Duration::us(50), io::Duration::ms(3)};
  disk.faults().read_latency = slow;
  disk.faults().write_latency = slow;
  disk.faults().sync_latency = slow;
  disk.faults().metadata_latency = slow;
  DiskEnv env(disk, 8);
  io::Result<std::uint64_t> verified = run_now(strand::testing::run_file_writer(
      env, strand::testing::FileWriterOptions{"a/b/c", 50, 3000, 8}));
  ASSERT_TRUE(verified.ok()) << verified.error().to_string();
  EXPECT_GT(env.instant_clock().sleeps_count(), 50u);
  EXPECT_EQ(disk.stats().slow_ops_count, env.instant_clock().sleeps_count());
  EXPECT_GE(env.instant_clock().now().ns(), io::Duration::us(50).count_ns() * 50);
}

TEST_F(SimDiskTest, PathsAreNormalisedAndTheRootAlwaysExists) {
  EXPECT_TRUE(exists("."));
  EXPECT_TRUE(exists(""));
  EXPECT_TRUE(exists("/"));
  ASSERT_TRUE(run_now(fs_->make_dirs("data//topic-0/")).ok());
  EXPECT_TRUE(exists("data/topic-0"));
  EXPECT_TRUE(exists("./data/topic-0//"));
  std::unique_ptr<io::File> file = open("data//topic-0/000.log", OpenMode::kCreate);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->path(), "data/topic-0/000.log");
  io::Result<std::vector<std::string>> root = run_now(fs_->list("."));
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, std::vector<std::string>{"data"});
  io::Result<std::vector<std::string>> names = run_now(fs_->list("data/topic-0/"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"000.log"});
  io::Result<bool> dotdot = run_now(fs_->exists("data/../x"));
  ASSERT_FALSE(dotdot.ok());
  EXPECT_EQ(dotdot.error().kind, ErrorKind::kInvalid);
}

TEST_F(SimDiskTest, OpenModesFailWithTheDocumentedKinds) {
  io::Result<std::unique_ptr<io::File>> missing = run_now(fs_->open("nope", OpenMode::kReadOnly));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  io::Result<std::unique_ptr<io::File>> no_dir = run_now(fs_->open("no/file", OpenMode::kCreate));
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.error().kind, ErrorKind::kNotFound);

  create_durable("f", "hello");
  io::Result<std::unique_ptr<io::File>> again = run_now(fs_->open("f", OpenMode::kCreateNew));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kExists);
  std::unique_ptr<io::File> kept = open("f", OpenMode::kCreate);
  EXPECT_EQ(kept->size(), 5u);
  std::unique_ptr<io::File> emptied = open("f", OpenMode::kTruncate);
  EXPECT_EQ(emptied->size(), 0u);
  EXPECT_EQ(durable("f"), "hello");  // emptying is a data change, durable after sync()

  ASSERT_TRUE(run_now(fs_->make_dirs("d")).ok());
  io::Result<std::unique_ptr<io::File>> directory = run_now(fs_->open("d", OpenMode::kReadOnly));
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().kind, ErrorKind::kInvalid);
  io::Result<void> over_file = run_now(fs_->make_dirs("f/sub"));
  ASSERT_FALSE(over_file.ok());
  EXPECT_EQ(over_file.error().kind, ErrorKind::kExists);
  io::Result<std::vector<std::string>> no_list = run_now(fs_->list("d/none"));
  ASSERT_FALSE(no_list.ok());
  EXPECT_EQ(no_list.error().kind, ErrorKind::kNotFound);

  std::unique_ptr<io::File> reader = open("f", OpenMode::kReadOnly);
  io::Result<void> refused = run_now(reader->append(as_bytes(std::string("x"))));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kInvalid);
}

TEST_F(SimDiskTest, RemovingANonEmptyDirectoryFails) {
  ASSERT_TRUE(run_now(fs_->make_dirs("d/e")).ok());
  io::Result<void> removed = run_now(fs_->remove("d"));
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().kind, ErrorKind::kIoError);
  EXPECT_NE(removed.error().message.find("directory not empty"), std::string::npos);
  EXPECT_TRUE(run_now(fs_->remove("d/e")).ok());
  EXPECT_TRUE(run_now(fs_->remove("d")).ok());
  EXPECT_FALSE(exists("d"));
  io::Result<void> again = run_now(fs_->remove("d"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kNotFound);
}

TEST_F(SimDiskTest, RenameOntoAnExistingFileReplacesIt) {
  create_durable("a", "new contents");
  create_durable("b", "old contents");
  rename("a", "b");
  EXPECT_FALSE(exists("a"));
  EXPECT_EQ(current("b"), "new contents");
  io::Result<std::vector<std::string>> names = run_now(fs_->list("."));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"b"});
  disk_.check_invariants();
}

TEST_F(SimDiskTest, RenamingADirectoryMovesWhatIsInIt) {
  ASSERT_TRUE(run_now(fs_->make_dirs("topic-0/sub")).ok());
  create_durable("topic-0/sub/x.log", "x");
  create_durable("topic-0/y.log", "y");
  rename("topic-0", "topic-0.deleted");
  EXPECT_FALSE(exists("topic-0"));
  EXPECT_EQ(current("topic-0.deleted/sub/x.log"), "x");
  EXPECT_EQ(current("topic-0.deleted/y.log"), "y");
  io::Result<void> into_itself = run_now(fs_->rename("topic-0.deleted", "topic-0.deleted/sub/z"));
  ASSERT_FALSE(into_itself.ok());
  EXPECT_EQ(into_itself.error().kind, ErrorKind::kInvalid);
  disk_.check_invariants();
}

TEST_F(SimDiskTest, RemovedFileStaysReadableThroughAnOpenHandle) {
  create_durable("f", "still here");
  std::unique_ptr<io::File> file = open("f", OpenMode::kReadOnly);
  ASSERT_TRUE(run_now(fs_->remove("f")).ok());
  EXPECT_FALSE(exists("f"));
  std::string buffer(10, '\0');
  io::Result<std::size_t> got =
      run_now(file->read_at(0, std::as_writable_bytes(std::span(buffer))));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(buffer, "still here");
  EXPECT_EQ(disk_.used_bytes(), 10u);
  ASSERT_TRUE(run_now(file->close()).ok());
  EXPECT_EQ(disk_.used_bytes(), 0u);
  disk_.check_invariants();
}

// ---- Crashes ------------------------------------------------------------------------------------

TEST_F(SimDiskTest, SyncedDataSurvivesACrashAndUnsyncedDataMayNot) {
  ASSERT_TRUE(run_now(fs_->make_dirs("d")).ok());
  create_durable("d/f", std::string(3000, 'a'));
  std::unique_ptr<io::File> file = open("d/f", OpenMode::kReadWrite);
  append(*file, std::string(2000, 'b'));
  EXPECT_EQ(disk_.unsynced_files_count(), 1u);
  crash(1);
  const std::string after = current("d/f");
  ASSERT_GE(after.size(), 3000u);
  ASSERT_LE(after.size(), 5000u);
  EXPECT_EQ(after.substr(0, 3000), std::string(3000, 'a'));
  EXPECT_EQ(durable("d/f"), after);
  EXPECT_EQ(disk_.unsynced_files_count(), 0u);
}

TEST_F(SimDiskTest, CrashAfterRenameAndSyncDirKeepsTheNewName) {
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    ASSERT_TRUE(run_now(fs_->make_dirs("meta")).ok());
    create_durable("meta/state.tmp", "term=" + std::to_string(seed));
    rename("meta/state.tmp", "meta/state");
    sync_dir("meta");
    crash(seed);
    EXPECT_FALSE(exists("meta/state.tmp")) << "seed " << seed;
    EXPECT_EQ(current("meta/state"), "term=" + std::to_string(seed)) << "seed " << seed;
  }
}

TEST_F(SimDiskTest, CrashAfterRenameWithoutSyncDirShowsTheOldOrTheNewName) {
  std::uint32_t old_count = 0;
  std::uint32_t new_count = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    create_durable("old", "payload");
    rename("old", "new");
    crash(seed);
    const bool has_old = exists("old");
    const bool has_new = exists("new");
    ASSERT_NE(has_old, has_new) << "exactly one name survives; seed " << seed;
    EXPECT_EQ(current(has_old ? "old" : "new"), "payload") << "seed " << seed;
    old_count += has_old ? 1 : 0;
    new_count += has_new ? 1 : 0;
    if (has_new) {
      ASSERT_TRUE(run_now(fs_->remove("new")).ok());
    }
  }
  EXPECT_GT(old_count, 0u);
  EXPECT_GT(new_count, 0u);
}

TEST_F(SimDiskTest, UnsyncedCreationMayVanishButNeverHalfExists) {
  std::uint32_t vanished = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    std::unique_ptr<io::File> file = open("fresh-" + std::to_string(seed), OpenMode::kCreateNew);
    append(*file, "data");
    sync(*file);  // the data is durable, the name is not
    crash(seed);
    if (!exists("fresh-" + std::to_string(seed))) {
      vanished += 1;
      continue;
    }
    EXPECT_EQ(current("fresh-" + std::to_string(seed)), "data");
  }
  EXPECT_GT(vanished, 0u);
  EXPECT_LT(vanished, 100u);
}

TEST_F(SimDiskTest, HandlesFromBeforeACrashAnswerClosed) {
  create_durable("f", "abc");
  std::unique_ptr<io::File> file = open("f", OpenMode::kReadWrite);
  append(*file, "def");
  SimFileSystem& old_fs = *fs_;
  std::unique_ptr<SimFileSystem> keep_old_fs = std::move(fs_);
  crash(3);
  std::byte buffer[4];
  io::Result<std::size_t> read = run_now(file->read_at(0, buffer));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, ErrorKind::kClosed);
  EXPECT_EQ(run_now(file->append(as_bytes(std::string("x")))).error().kind, ErrorKind::kClosed);
  EXPECT_EQ(run_now(file->write_at(0, as_bytes(std::string("x")))).error().kind,
            ErrorKind::kClosed);
  EXPECT_EQ(run_now(file->truncate(0)).error().kind, ErrorKind::kClosed);
  EXPECT_EQ(run_now(file->sync()).error().kind, ErrorKind::kClosed);
  EXPECT_TRUE(old_fs.stale());
  EXPECT_EQ(run_now(old_fs.open("f", OpenMode::kReadOnly)).error().kind, ErrorKind::kClosed);
  EXPECT_EQ(run_now(old_fs.list(".")).error().kind, ErrorKind::kClosed);
  EXPECT_TRUE(run_now(file->close()).ok());  // closing is still fine, and idempotent
  file.reset();
  // The new incarnation sees the disk normally.
  std::unique_ptr<io::File> reopened = open("f", OpenMode::kReadOnly);
  ASSERT_NE(reopened, nullptr);
  EXPECT_GE(reopened->size(), 3u);
  disk_.check_invariants();
}

TEST_F(SimDiskTest, ClosedHandleAnswersClosed) {
  create_durable("f", "abc");
  std::unique_ptr<io::File> file = open("f", OpenMode::kReadWrite);
  ASSERT_TRUE(run_now(file->close()).ok());
  ASSERT_TRUE(run_now(file->close()).ok());
  EXPECT_EQ(run_now(file->sync()).error().kind, ErrorKind::kClosed);
  EXPECT_EQ(file->size(), 3u);
}

TEST_F(SimDiskTest, JournalIsCommittedOnItsOwnWhenFull) {
  for (std::size_t i = 0; i < SimDisk::kJournalOpsMax + 10; ++i) {
    ASSERT_TRUE(run_now(fs_->make_dirs("d" + std::to_string(i))).ok());
  }
  EXPECT_LT(disk_.pending_name_ops_count(), SimDisk::kJournalOpsMax);
  crash(1);
  EXPECT_TRUE(exists("d0"));
  EXPECT_TRUE(exists("d" + std::to_string(SimDisk::kJournalOpsMax - 1)));
}

// ---- Injected faults ----------------------------------------------------------------------------

TEST_F(SimDiskTest, NoSpaceFailsCleanlyAndWorksAgainAfterSpaceIsFreed) {
  disk_.faults().capacity_bytes = 1000;
  create_durable("a", std::string(600, 'a'));
  std::unique_ptr<io::File> b = open("b", OpenMode::kCreate);
  append(*b, std::string(300, 'b'));
  io::Result<void> full = run_now(b->append(as_bytes(std::string(200, 'c'))));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind, ErrorKind::kNoSpace);
  EXPECT_NE(full.error().message.find("b"), std::string::npos);
  EXPECT_EQ(b->size(), 300u);
  EXPECT_EQ(current("b"), std::string(300, 'b'));
  io::Result<void> past_end = run_now(b->write_at(950, as_bytes(std::string(100, 'd'))));
  ASSERT_FALSE(past_end.ok());
  EXPECT_EQ(past_end.error().kind, ErrorKind::kNoSpace);
  EXPECT_EQ(disk_.used_bytes(), 900u);
  EXPECT_EQ(disk_.stats().no_space_errors_count, 2u);
  // Overwriting in place needs no space.
  ASSERT_TRUE(run_now(b->write_at(0, as_bytes(std::string(300, 'e')))).ok());

  ASSERT_TRUE(run_now(fs_->remove("a")).ok());
  EXPECT_EQ(disk_.used_bytes(), 300u);
  append(*b, std::string(200, 'c'));
  EXPECT_EQ(current("b"), std::string(300, 'e') + std::string(200, 'c'));
  disk_.check_invariants();
}

TEST_F(SimDiskTest, InjectedIoErrorsAreValuesWithMessages) {
  create_durable("f", "synced");
  std::unique_ptr<io::File> file = open("f", OpenMode::kReadWrite);
  disk_.faults().read_error_probability = 1.0;
  disk_.faults().write_error_probability = 1.0;
  disk_.faults().sync_error_probability = 1.0;

  std::byte buffer[6];
  io::Result<std::size_t> read = run_now(file->read_at(0, buffer));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, ErrorKind::kIoError);
  EXPECT_NE(read.error().message.find("f: read_at"), std::string::npos) << read.error().message;
  io::Result<void> appended = run_now(file->append(as_bytes(std::string("more"))));
  ASSERT_FALSE(appended.ok());
  EXPECT_NE(appended.error().message.find("append"), std::string::npos);
  EXPECT_EQ(current("f"), "synced");  // a failed write changes nothing

  disk_.faults().write_error_probability = 0.0;
  append(*file, "+more");
  io::Result<void> synced = run_now(file->sync());
  ASSERT_FALSE(synced.ok());
  EXPECT_EQ(synced.error().kind, ErrorKind::kIoError);
  EXPECT_NE(synced.error().message.find("f: sync"), std::string::npos);
  EXPECT_EQ(durable("f"), "synced");  // still unsynced
  EXPECT_EQ(disk_.unsynced_files_count(), 1u);
  io::Result<void> dir_synced = run_now(fs_->sync_dir("."));
  ASSERT_FALSE(dir_synced.ok());
  EXPECT_EQ(dir_synced.error().kind, ErrorKind::kIoError);

  EXPECT_EQ(disk_.stats().read_errors_count, 1u);
  EXPECT_EQ(disk_.stats().write_errors_count, 1u);
  EXPECT_EQ(disk_.stats().sync_errors_count, 2u);
  disk_.faults() = SimDiskFaults{};
  sync(*file);
  EXPECT_EQ(durable("f"), "synced+more");
}

TEST_F(SimDiskTest, FailNextSyncsFailsExactlyThatMany) {
  create_durable("f", "x");
  std::unique_ptr<io::File> file = open("f", OpenMode::kReadWrite);
  append(*file, "y");
  disk_.fail_next_syncs(2);
  EXPECT_FALSE(run_now(file->sync()).ok());
  EXPECT_FALSE(run_now(fs_->sync_dir(".")).ok());
  EXPECT_EQ(durable("f"), "x");
  sync(*file);
  EXPECT_EQ(durable("f"), "xy");
  EXPECT_EQ(disk_.stats().sync_errors_count, 2u);
}

std::uint32_t differing_bits(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  EXPECT_EQ(a.size(), b.size());
  std::uint32_t count = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    count += static_cast<std::uint32_t>(std::popcount(static_cast<unsigned>(a[i] ^ b[i])));
  }
  return count;
}

TEST_F(SimDiskTest, BitFlipChangesExactlyOneBit) {
  ASSERT_TRUE(run_now(fs_->make_dirs("d")).ok());
  create_durable("d/one", std::string(5000, 'x'));
  create_durable("d/two", std::string(700, 'y'));
  create_durable("d/empty", "");
  const SimDiskImage before = disk_.durable_image();
  io::SeededRandom random(9);
  std::optional<BitFlip> flip = disk_.flip_random_bit(random);
  ASSERT_TRUE(flip.has_value());
  const SimDiskImage after = disk_.durable_image();
  std::uint32_t changed = 0;
  for (const auto& [path, entry] : before) {
    changed += differing_bits(entry.bytes, after.at(path).bytes);
  }
  EXPECT_EQ(changed, 1u);
  EXPECT_EQ(differing_bits(before.at(flip->path).bytes, after.at(flip->path).bytes), 1u);
  EXPECT_EQ(current(flip->path), to_string(after.at(flip->path).bytes));  // reads see it
  EXPECT_EQ(disk_.stats().bit_flips_count, 1u);

  // A flip under unsynced data is shadowed until the data is synced over it.
  std::unique_ptr<io::File> two = open("d/two", OpenMode::kReadWrite);
  ASSERT_TRUE(run_now(two->write_at(0, as_bytes(std::string("z")))).ok());
  ASSERT_TRUE(disk_.flip_bit("d/two", 1, 0).ok());
  EXPECT_EQ(current("d/two"), "z" + std::string(699, 'y'));
  EXPECT_EQ(differing_bits(disk_.durable_bytes("d/two").value(), before.at("d/two").bytes), 1u);
  EXPECT_EQ(disk_.flip_bit("d/two", 700, 0).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(disk_.flip_bit("d/none", 0, 0).error().kind, ErrorKind::kNotFound);
  disk_.check_invariants();
}

io::Task<void> append_into(io::File* file, std::string text, std::optional<io::Result<void>>* out) {
  io::Result<void> appended = co_await file->append(as_bytes(text));
  out->emplace(std::move(appended));
}

TEST_F(SimDiskTest, SlowIoSleepsAndTakesEffectOnlyAfterItsLatency) {
  create_durable("f", "");
  disk_.faults().write_latency = LatencyRange{io::Duration::ms(1), io::Duration::ms(5)};
  QueueClock clock;
  SimFileSystem fs(disk_, clock, random_);
  io::Result<std::unique_ptr<io::File>> opened = run_now(fs.open("f", OpenMode::kReadWrite));
  ASSERT_TRUE(opened.ok());
  io::File& file = **opened;

  std::optional<io::Result<void>> result;
  io::TaskScope scope;
  scope.spawn(append_into(&file, "slow", &result));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(clock.parked_count(), 1u);
  EXPECT_EQ(current("f"), "");  // not yet
  EXPECT_EQ(clock.run_sleepers(), 1u);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok());
  EXPECT_EQ(current("f"), "slow");
  EXPECT_GE(clock.slept(), io::Duration::ms(1));
  EXPECT_LE(clock.slept(), io::Duration::ms(5));
  ASSERT_TRUE(run_now(file.sync()).ok());  // no sync latency: completes at once

  // Cancelled while sleeping: the frame is destroyed, never resumed, and nothing is written.
  result.reset();
  {
    io::TaskScope doomed;
    doomed.spawn(append_into(&file, "cancelled", &result));
    EXPECT_EQ(clock.parked_count(), 1u);
  }
  EXPECT_EQ(clock.parked_count(), 0u);
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(current("f"), "slow");

  // A crash while the write sleeps: it wakes up to kClosed and never lands.
  scope.spawn(append_into(&file, "lost", &result));
  crash(5);
  EXPECT_EQ(clock.run_sleepers(), 1u);
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().kind, ErrorKind::kClosed);
  EXPECT_EQ(current("f"), "slow");
}

}  // namespace
}  // namespace strand::sim
