// Crash properties of SimDisk, over random operation sequences and crash seeds, and determinism.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "sim/sim_disk.h"
#include "sim/sim_file_system.h"
#include "sim_disk_test_support.h"

namespace strand::sim {
namespace {

using io::OpenMode;
using testing::as_bytes;
using testing::InstantClock;
using testing::run_now;
using testing::to_string;

// What one file should hold: the synced bytes, the current bytes, and which byte positions were
// written (or cut, or zero-filled) since the last sync.
struct FileModel {
  std::string durable;
  std::string current;
  std::vector<bool> touched;

  void touch(std::uint64_t begin, std::uint64_t end) {
    if (touched.size() < end) touched.resize(end, false);
    for (std::uint64_t i = begin; i < end; ++i) touched[i] = true;
  }
  bool clean() const { return std::find(touched.begin(), touched.end(), true) == touched.end(); }
};

enum class DataOpKind : int { kAppend, kWriteAt, kTruncate, kSync };

// kind, file index, offset (or new size), length.
using DataOp = std::tuple<int, int, int, int>;

std::string fresh_bytes(std::uint32_t* counter, std::size_t length) {
  std::string bytes(length, '\0');
  for (char& c : bytes) {
    *counter += 1;
    c = static_cast<char>('A' + *counter % 53);  // never zero, so zeros always mean "never written"
  }
  return bytes;
}

// Applies one op to the file and to its model. Nothing fails: no faults are injected.
void apply_data_op(io::File& file, FileModel& model, const DataOp& op, std::uint32_t* counter) {
  const auto [kind, index, offset_raw, length_raw] = op;
  (void)index;
  const auto offset = static_cast<std::uint64_t>(offset_raw);
  const auto length = static_cast<std::size_t>(length_raw);
  switch (static_cast<DataOpKind>(kind)) {
    case DataOpKind::kAppend: {
      const std::string bytes = fresh_bytes(counter, length);
      RC_ASSERT(run_now(file.append(as_bytes(bytes))).ok());
      model.touch(model.current.size(), model.current.size() + length);
      model.current += bytes;
      return;
    }
    case DataOpKind::kWriteAt: {
      const std::string bytes = fresh_bytes(counter, length);
      RC_ASSERT(run_now(file.write_at(offset, as_bytes(bytes))).ok());
      model.touch(std::min<std::uint64_t>(offset, model.current.size()), offset + length);
      if (model.current.size() < offset + length) model.current.resize(offset + length, '\0');
      model.current.replace(offset, length, bytes);
      return;
    }
    case DataOpKind::kTruncate: {
      RC_ASSERT(run_now(file.truncate(offset)).ok());
      const std::uint64_t old_size = model.current.size();
      model.touch(std::min(offset, old_size), std::max(offset, old_size));
      model.current.resize(offset, '\0');
      return;
    }
    case DataOpKind::kSync:
      RC_ASSERT(run_now(file.sync()).ok());
      model.durable = model.current;
      model.touched.clear();
      return;
  }
}

// The crash invariant for one file, checked against what the disk holds after the crash.
void check_after_crash(const FileModel& model, const std::string& after) {
  const std::uint64_t durable_size = model.durable.size();
  const std::uint64_t current_size = model.current.size();
  RC_ASSERT(after.size() >= std::min(durable_size, current_size));
  RC_ASSERT(after.size() <= std::max(durable_size, current_size));
  if (model.clean()) RC_ASSERT(after == model.durable);
  for (std::uint64_t i = 0; i < after.size(); ++i) {
    const bool touched = i < model.touched.size() && model.touched[i];
    const bool is_new = i < current_size && after[i] == model.current[i];
    if (i < durable_size) {
      if (!touched) RC_ASSERT(after[i] == model.durable[i]);  // synced and not written since
      RC_ASSERT(after[i] == model.durable[i] || is_new);
    } else {
      RC_ASSERT(after[i] == '\0' || is_new);
    }
  }
}

// Invariant: after a crash every synced byte not written since is intact; any other byte is its
// synced value, its unsynced value, or zero past the synced length; the length lies between the
// synced and the current length.
RC_GTEST_PROP(SimDiskCrash, SyncedBytesSurviveAndUnsyncedBytesAreOldNewOrZero, ()) {
  const auto crash_seed = *rc::gen::arbitrary<std::uint64_t>();
  const auto ops = *rc::gen::container<std::vector<DataOp>>(
      rc::gen::tuple(rc::gen::inRange(0, 4), rc::gen::inRange(0, 2), rc::gen::inRange(0, 5000),
                     rc::gen::inRange(1, 1400)));
  SimDisk disk("crash-disk");
  InstantClock clock;
  io::SeededRandom random(1);
  SimFileSystem fs(disk, clock, random);
  RC_ASSERT(run_now(fs.make_dirs("d")).ok());
  const std::array<std::string, 2> paths{"d/f0", "d/f1"};
  std::array<std::unique_ptr<io::File>, 2> files;
  for (std::size_t i = 0; i < files.size(); ++i) {
    io::Result<std::unique_ptr<io::File>> opened = run_now(fs.open(paths[i], OpenMode::kCreate));
    RC_ASSERT(opened.ok());
    files[i] = std::move(*opened);
  }
  RC_ASSERT(run_now(fs.sync_dir("d")).ok());

  std::array<FileModel, 2> models;
  std::uint32_t counter = 0;
  for (const DataOp& op : ops) {
    const auto index = static_cast<std::size_t>(std::get<1>(op));
    apply_data_op(*files[index], models[index], op, &counter);
  }
  disk.check_invariants();
  io::SeededRandom crash_random(crash_seed);
  disk.crash(crash_random);
  disk.check_invariants();
  for (std::size_t i = 0; i < files.size(); ++i) {
    io::Result<std::vector<std::byte>> after = disk.current_bytes(paths[i]);
    RC_ASSERT(after.ok());
    RC_ASSERT(disk.durable_bytes(paths[i]).value() == *after);
    check_after_crash(models[i], to_string(*after));
  }
}

enum class NameOpKind : int { kCreate, kRename, kRemove, kMakeDirs, kSyncDir };

// kind, first path index, second path index.
using NameStep = std::tuple<int, int, int>;

// Invariant: the names (and the data they lead to) after a crash are exactly those at some moment
// since the last directory sync, never a mix that never existed.
RC_GTEST_PROP(SimDiskCrash, NamesAfterACrashAreAStateThatExisted, ()) {
  const auto crash_seed = *rc::gen::arbitrary<std::uint64_t>();
  const auto steps = *rc::gen::container<std::vector<NameStep>>(
      rc::gen::tuple(rc::gen::inRange(0, 5), rc::gen::inRange(0, 7), rc::gen::inRange(0, 7)));
  const std::array<std::string, 7> paths{"a", "b", "d", "d/a", "d/b", "e", "e/a"};
  SimDisk disk("names-disk");
  InstantClock clock;
  io::SeededRandom random(1);
  SimFileSystem fs(disk, clock, random);

  // The images a crash may produce: the one at the last sync_dir and every one since.
  std::vector<SimDiskImage> allowed{disk.current_image()};
  std::uint32_t created_count = 0;
  for (const auto& [kind, first, second] : steps) {
    const std::string& path = paths[static_cast<std::size_t>(first)];
    const std::string& other = paths[static_cast<std::size_t>(second)];
    bool changed = false;
    switch (static_cast<NameOpKind>(kind)) {
      case NameOpKind::kCreate: {
        io::Result<std::unique_ptr<io::File>> opened = run_now(fs.open(path, OpenMode::kCreateNew));
        if (!opened) break;
        // Distinct synced content per file, so the image also tells which file a name leads to.
        created_count += 1;
        const std::string content = "file#" + std::to_string(created_count);
        RC_ASSERT(run_now((*opened)->append(as_bytes(content))).ok());
        RC_ASSERT(run_now((*opened)->sync()).ok());
        changed = true;
        break;
      }
      case NameOpKind::kRename:
        changed = run_now(fs.rename(path, other)).ok();
        break;
      case NameOpKind::kRemove:
        changed = run_now(fs.remove(path)).ok();
        break;
      case NameOpKind::kMakeDirs:
        // make_dirs creates one directory at a time, and a crash may keep only the first ones:
        // record each step's image.
        for (std::size_t slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1)) {
          if (run_now(fs.make_dirs(path.substr(0, slash))).ok()) {
            allowed.push_back(disk.current_image());
          }
        }
        changed = run_now(fs.make_dirs(path)).ok();
        break;
      case NameOpKind::kSyncDir:
        RC_ASSERT(run_now(fs.sync_dir(".")).ok());
        allowed.assign(1, disk.current_image());
        break;
    }
    if (changed) allowed.push_back(disk.current_image());
  }
  disk.check_invariants();
  io::SeededRandom crash_random(crash_seed);
  disk.crash(crash_random);
  disk.check_invariants();
  const SimDiskImage after = disk.durable_image();
  RC_ASSERT(after == disk.current_image());
  RC_ASSERT(std::find(allowed.begin(), allowed.end(), after) != allowed.end());
}

// A mixed workload: synced prefixes, unsynced tails, unsynced renames and injected write errors.
SimDiskImage crash_image(std::uint64_t seed) {
  SimDisk disk("determinism-disk");
  disk.faults().write_error_probability = 0.1;
  InstantClock clock;
  io::SeededRandom random(seed);
  SimFileSystem fs(disk, clock, random);
  STRAND_ASSERT(run_now(fs.make_dirs("log")).ok(), "setup");
  std::vector<std::unique_ptr<io::File>> files;
  for (int i = 0; i < 24; ++i) {
    const std::string path = "log/" + std::to_string(i);
    io::Result<std::unique_ptr<io::File>> opened = run_now(fs.open(path, OpenMode::kCreate));
    STRAND_ASSERT(opened.ok(), "setup");
    for (int chunk = 0; chunk < 6; ++chunk) {
      const std::string bytes(700, static_cast<char>('a' + (i + chunk) % 26));
      io::Result<void> appended = run_now((*opened)->append(as_bytes(bytes)));
      (void)appended;  // some fail on purpose
      if (chunk == 2) STRAND_ASSERT(run_now((*opened)->sync()).ok(), "setup");
    }
    if (i == 11) STRAND_ASSERT(run_now(fs.sync_dir("log")).ok(), "setup");
    if (i % 5 == 0) (void)run_now(fs.rename(path, path + ".renamed"));
    files.push_back(std::move(*opened));
  }
  io::SeededRandom crash_random(seed);
  disk.crash(crash_random);
  return disk.durable_image();
}

TEST(SimDiskDeterminism, SameSeedGivesTheSameImageAndOtherSeedsDiffer) {
  const SimDiskImage first = crash_image(1);
  EXPECT_EQ(first, crash_image(1));
  EXPECT_NE(first, crash_image(2));
  EXPECT_NE(crash_image(2), crash_image(3));
  EXPECT_EQ(crash_image(3), crash_image(3));
}

TEST(SimDiskDeterminism, CrashesDropKeepAndTearUnsyncedData) {
  SimDiskStats total;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    SimDisk disk("outcomes-disk");
    InstantClock clock;
    io::SeededRandom random(seed);
    SimFileSystem fs(disk, clock, random);
    for (int i = 0; i < 5; ++i) {
      io::Result<std::unique_ptr<io::File>> opened =
          run_now(fs.open("f" + std::to_string(i), OpenMode::kCreate));
      ASSERT_TRUE(opened.ok());
      ASSERT_TRUE(run_now((*opened)->append(as_bytes(std::string(2000, 'x')))).ok());
    }
    ASSERT_TRUE(run_now(fs.sync_dir(".")).ok());  // names durable, data not
    io::SeededRandom crash_random(seed);
    disk.crash(crash_random);
    total.files_dropped_count += disk.stats().files_dropped_count;
    total.files_kept_count += disk.stats().files_kept_count;
    total.files_torn_count += disk.stats().files_torn_count;
  }
  EXPECT_GT(total.files_dropped_count, 0u);
  EXPECT_GT(total.files_kept_count, 0u);
  EXPECT_GT(total.files_torn_count, 0u);
}

}  // namespace
}  // namespace strand::sim
