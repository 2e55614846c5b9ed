#include "sim/sim_file_system.h"

#include <utility>

#include "io/assert.h"

namespace strand::sim {
namespace {

using io::Error;
using io::ErrorKind;
using io::Result;
using io::Task;

// Sleeps a duration drawn from `range` on the node's clock. REQUIRES: !range.zero().
Task<void> pause(io::Clock* clock, io::Random* random, SimDiskStats* stats, LatencyRange range) {
  STRAND_ASSERT(range.min.count_ns() >= 0, "latency is not negative");
  STRAND_ASSERT(range.min <= range.max, "a latency range has min <= max");
  const std::int64_t duration_ns = random->between(range.min.count_ns(), range.max.count_ns());
  stats->slow_ops_count += 1;
  co_await clock->sleep(io::Duration::ns(duration_ns));
}

Error op_error(ErrorKind kind, const std::string& path, std::string_view op,
               std::string_view what) {
  std::string message = path;
  message += ": ";
  message += op;
  message += ": ";
  message += what;
  return Error{kind, std::move(message)};
}

Error injected_error(const SimDisk& disk, const std::string& path, std::string_view op) {
  return op_error(ErrorKind::kIoError, path, op, "injected I/O error on " + disk.label());
}

bool inject(io::Random& random, double probability) {
  return probability > 0.0 && random.chance(probability);
}

// A handle on one inode, valid in the incarnation it was opened in.
class SimFile final : public io::File {
 public:
  SimFile(SimDisk& disk, io::Clock& clock, io::Random& random, std::string path, InodeId inode,
          bool writable)
      : disk_(disk),
        clock_(clock),
        random_(random),
        path_(std::move(path)),
        inode_(inode),
        writable_(writable),
        incarnation_(disk.incarnation()),
        size_(disk.size(inode)) {}
  SimFile(const SimFile&) = delete;
  SimFile& operator=(const SimFile&) = delete;
  ~SimFile() override { release(); }

  Task<Result<std::size_t>> read_at(std::uint64_t offset, std::span<std::byte> target) override;
  Task<Result<void>> append(std::span<const std::byte> bytes) override;
  Task<Result<void>> write_at(std::uint64_t offset, std::span<const std::byte> bytes) override;
  Task<Result<void>> sync() override;
  Task<Result<void>> truncate(std::uint64_t size_bytes) override;

  std::uint64_t size() const override {
    if (closed_ || crashed()) return size_;
    return disk_.size(inode_);
  }

  Task<Result<void>> close() override {
    release();
    co_return io::ok();
  }

  const std::string& path() const override { return path_; }

 private:
  bool crashed() const { return disk_.incarnation() != incarnation_; }

  // kClosed once closed or crashed. Checked after every injected latency too, because the disk
  // may have crashed while this operation slept.
  Result<void> check_usable(std::string_view op) const {
    if (closed_) return op_error(ErrorKind::kClosed, path_, op, "file is closed");
    if (crashed()) {
      return op_error(ErrorKind::kClosed, path_, op, "the disk crashed since the file was opened");
    }
    return io::ok();
  }

  Result<void> check_writable(std::string_view op) const {
    if (!writable_) return op_error(ErrorKind::kInvalid, path_, op, "opened read-only");
    return io::ok();
  }

  enum class Change : std::uint8_t { kAppend, kWriteAt, kTruncate };
  struct Mutation {
    Change change = Change::kAppend;
    std::uint64_t offset = 0;  // kWriteAt: where; kTruncate: the new size
    std::span<const std::byte> bytes;
  };
  static std::string_view name_of(Change change);
  // Applies one data change: the shared path of append, write_at and truncate.
  Task<Result<void>> mutate(Mutation mutation);

  void release() {
    if (closed_) return;
    closed_ = true;
    if (crashed()) return;  // the crash already dropped every handle's count
    size_ = disk_.size(inode_);
    disk_.release(inode_);
  }

  SimDisk& disk_;
  io::Clock& clock_;
  io::Random& random_;
  std::string path_;
  InodeId inode_;
  bool writable_;
  std::uint64_t incarnation_;
  std::uint64_t size_;  // the size when this handle last saw the disk
  bool closed_ = false;
};

Task<Result<std::size_t>> SimFile::read_at(std::uint64_t offset, std::span<std::byte> target) {
  const LatencyRange latency = disk_.faults().read_latency;
  if (!latency.zero()) co_await pause(&clock_, &random_, &disk_.stats(), latency);
  Result<void> usable = check_usable("read_at");
  if (!usable) co_return std::move(usable).error();
  if (inject(random_, disk_.faults().read_error_probability)) {
    disk_.stats().read_errors_count += 1;
    co_return injected_error(disk_, path_, "read_at " + std::to_string(offset));
  }
  const std::size_t count = disk_.read(inode_, offset, target);
  co_return count;
}

std::string_view SimFile::name_of(Change change) {
  switch (change) {
    case Change::kAppend:
      return "append";
    case Change::kWriteAt:
      return "write_at";
    case Change::kTruncate:
      return "truncate";
  }
  return "write";
}

Task<Result<void>> SimFile::append(std::span<const std::byte> bytes) {
  Result<void> appended = co_await mutate(Mutation{Change::kAppend, 0, bytes});
  co_return appended;
}

Task<Result<void>> SimFile::write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
  Result<void> written = co_await mutate(Mutation{Change::kWriteAt, offset, bytes});
  co_return written;
}

Task<Result<void>> SimFile::truncate(std::uint64_t size_bytes) {
  Result<void> truncated = co_await mutate(Mutation{Change::kTruncate, size_bytes, {}});
  co_return truncated;
}

Task<Result<void>> SimFile::mutate(Mutation mutation) {
  const std::string_view op = name_of(mutation.change);
  const LatencyRange latency = disk_.faults().write_latency;
  if (!latency.zero()) co_await pause(&clock_, &random_, &disk_.stats(), latency);
  Result<void> usable = check_usable(op);
  if (!usable) co_return usable;
  Result<void> writable = check_writable(op);
  if (!writable) co_return writable;
  if (inject(random_, disk_.faults().write_error_probability)) {
    disk_.stats().write_errors_count += 1;
    co_return injected_error(disk_, path_, op);
  }
  Result<void> done = io::ok();
  switch (mutation.change) {
    case Change::kAppend:
      // The offset is taken when the write lands, after any latency, so appends never overlap.
      done = disk_.write(inode_, disk_.size(inode_), mutation.bytes);
      break;
    case Change::kWriteAt:
      done = disk_.write(inode_, mutation.offset, mutation.bytes);
      break;
    case Change::kTruncate:
      done = disk_.truncate(inode_, mutation.offset);
      break;
  }
  if (!done) co_return io::with_context(std::move(done).error(), path_ + ": " + std::string(op));
  size_ = disk_.size(inode_);
  co_return io::ok();
}

Task<Result<void>> SimFile::sync() {
  const LatencyRange latency = disk_.faults().sync_latency;
  if (!latency.zero()) co_await pause(&clock_, &random_, &disk_.stats(), latency);
  Result<void> usable = check_usable("sync");
  if (!usable) co_return usable;
  // A forced failure is consumed first, so "fail the next N syncs" draws no randomness.
  if (disk_.take_forced_sync_failure() || inject(random_, disk_.faults().sync_error_probability)) {
    disk_.stats().sync_errors_count += 1;
    co_return injected_error(disk_, path_, "sync");
  }
  disk_.sync(inode_);
  co_return io::ok();
}

}  // namespace

SimFileSystem::SimFileSystem(SimDisk& disk, io::Clock& clock, io::Random& random)
    : disk_(disk), clock_(clock), random_(random), incarnation_(disk.incarnation()) {}

Task<void> SimFileSystem::metadata_pause() {
  co_await pause(&clock_, &random_, &disk_.stats(), disk_.faults().metadata_latency);
}

Result<void> SimFileSystem::check_fresh(std::string_view op, const std::string& path) const {
  if (!stale()) return io::ok();
  return op_error(ErrorKind::kClosed, path, op,
                  "the disk crashed since this file system view was made");
}

Task<Result<std::unique_ptr<io::File>>> SimFileSystem::open(const std::string& path,
                                                            io::OpenMode mode) {
  return open_copy(path, mode);
}

Task<Result<std::unique_ptr<io::File>>> SimFileSystem::open_copy(std::string path,
                                                                 io::OpenMode mode) {
  if (!disk_.faults().metadata_latency.zero()) co_await metadata_pause();
  Result<void> fresh = check_fresh("open", path);
  if (!fresh) co_return std::move(fresh).error();
  Result<InodeId> opened = disk_.open(path, mode);
  if (!opened) co_return std::move(opened).error();
  Result<std::string> normalized = normalize_path(path);
  STRAND_ASSERT(normalized.ok(), "an opened path is valid");
  const bool writable = mode != io::OpenMode::kReadOnly;
  std::unique_ptr<io::File> file =
      std::make_unique<SimFile>(disk_, clock_, random_, std::move(*normalized), *opened, writable);
  co_return std::move(file);
}

Task<Result<void>> SimFileSystem::rename(const std::string& from, const std::string& to) {
  return rename_copy(from, to);
}

Task<Result<void>> SimFileSystem::rename_copy(std::string from, std::string to) {
  if (!disk_.faults().metadata_latency.zero()) co_await metadata_pause();
  Result<void> fresh = check_fresh("rename", from);
  if (!fresh) co_return fresh;
  Result<void> renamed = disk_.rename(from, to);
  co_return renamed;
}

Task<Result<void>> SimFileSystem::remove(const std::string& path) { return remove_copy(path); }

Task<Result<void>> SimFileSystem::remove_copy(std::string path) {
  if (!disk_.faults().metadata_latency.zero()) co_await metadata_pause();
  Result<void> fresh = check_fresh("remove", path);
  if (!fresh) co_return fresh;
  Result<void> removed = disk_.remove(path);
  co_return removed;
}

Task<Result<std::vector<std::string>>> SimFileSystem::list(const std::string& directory) {
  return list_copy(directory);
}

Task<Result<std::vector<std::string>>> SimFileSystem::list_copy(std::string directory) {
  if (!disk_.faults().metadata_latency.zero()) co_await metadata_pause();
  Result<void> fresh = check_fresh("list", directory);
  if (!fresh) co_return std::move(fresh).error();
  Result<std::vector<std::string>> names = disk_.list(directory);
  co_return names;
}

Task<Result<void>> SimFileSystem::make_dirs(const std::string& directory) {
  return make_dirs_copy(directory);
}

Task<Result<void>> SimFileSystem::make_dirs_copy(std::string directory) {
  if (!disk_.faults().metadata_latency.zero()) co_await metadata_pause();
  Result<void> fresh = check_fresh("make_dirs", directory);
  if (!fresh) co_return fresh;
  Result<void> made = disk_.make_dirs(directory);
  co_return made;
}

Task<Result<void>> SimFileSystem::sync_dir(const std::string& directory) {
  return sync_dir_copy(directory);
}

Task<Result<void>> SimFileSystem::sync_dir_copy(std::string directory) {
  const LatencyRange latency = disk_.faults().sync_latency;
  if (!latency.zero()) co_await pause(&clock_, &random_, &disk_.stats(), latency);
  Result<void> fresh = check_fresh("sync_dir", directory);
  if (!fresh) co_return fresh;
  Result<bool> present = disk_.exists(directory);
  if (!present) co_return std::move(present).error();
  if (disk_.take_forced_sync_failure() || inject(random_, disk_.faults().sync_error_probability)) {
    disk_.stats().sync_errors_count += 1;
    co_return injected_error(disk_, directory, "sync_dir");
  }
  Result<void> synced = disk_.sync_dir(directory);
  co_return synced;
}

Task<Result<bool>> SimFileSystem::exists(const std::string& path) { return exists_copy(path); }

Task<Result<bool>> SimFileSystem::exists_copy(std::string path) {
  if (!disk_.faults().metadata_latency.zero()) co_await metadata_pause();
  Result<void> fresh = check_fresh("exists", path);
  if (!fresh) co_return std::move(fresh).error();
  Result<bool> present = disk_.exists(path);
  co_return present;
}

}  // namespace strand::sim
