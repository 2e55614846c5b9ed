// Storage benchmark: the partition log on the real disk through the libuv Env, as ratios of the
// machine's limits measured in the same run (raw sequential write, fdatasync rate).
//   bench_storage [--dir D] [--mib N] [--batch-kib K] [--recovery-mib R]
// Never pass/fail; the figures go to docs/benchmarks.md.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/protocol/batch_builder.h"
#include "broker/storage/partition_log.h"
#include "io/task_scope.h"
#include "io/uv/uv_env.h"

namespace {

using Clock = std::chrono::steady_clock;
using strand::io::Task;
using strand::storage::LogConfig;
using strand::storage::PartitionLog;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The disk's own limit: sequential 1 MiB writes and one fdatasync at the end.
double raw_write_mib_per_s(const std::string& path, std::uint64_t mib) {
  std::vector<char> chunk(1 << 20, 'x');
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) std::exit(2);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < mib; ++i) {
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) std::exit(2);
  }
  ::fdatasync(fd);
  const double elapsed = seconds_since(start);
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(mib) / elapsed;
}

// The disk's fsync limit: 4 KiB append + fdatasync, as fast as it goes, for about a second.
double raw_syncs_per_s(const std::string& path) {
  std::vector<char> block(4096, 'y');
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) std::exit(2);
  const auto start = Clock::now();
  int syncs = 0;
  while (seconds_since(start) < 1.0) {
    if (::write(fd, block.data(), block.size()) != 4096) std::exit(2);
    ::fdatasync(fd);
    syncs += 1;
  }
  const double elapsed = seconds_since(start);
  ::close(fd);
  ::unlink(path.c_str());
  return syncs / elapsed;
}

std::vector<std::byte> sample_batch(int records, int value_bytes) {
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  std::vector<strand::protocol::Record> list;
  for (int i = 0; i < records; ++i) {
    list.push_back({"key-" + std::to_string(i), std::string(value_bytes, 'v'), {}, now_ms, 0});
  }
  return strand::protocol::build_batch(list);
}

// About `kib` KiB: records of 1 KiB values.
std::vector<std::byte> batch_of_kib(int kib) { return sample_batch(kib, 1000); }

Task<double> append_throughput(PartitionLog* log, std::uint64_t mib, int batch_kib) {
  const std::vector<std::byte> batch = batch_of_kib(batch_kib);
  const std::uint64_t batches = (mib << 20) / batch.size();
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < batches; ++i) {
    auto appended = co_await log->append(batch, 0, strand::protocol::BatchOrigin::kClient);
    if (!appended) std::exit(2);
  }
  auto synced = co_await log->sync();
  if (!synced) std::exit(2);
  co_return static_cast<double>(batches * batch.size()) / (1 << 20) / seconds_since(start);
}

// One appender: append a batch, then wait for a sync covering it (acks=all on one node).
Task<void> durable_appender(PartitionLog* log, int count, int batch_kib, int* done) {
  const std::vector<std::byte> batch =
      batch_kib == 0 ? sample_batch(10, 100) : batch_of_kib(batch_kib);
  for (int i = 0; i < count; ++i) {
    auto appended = co_await log->append(batch, 0, strand::protocol::BatchOrigin::kClient);
    if (!appended) std::exit(2);
    auto synced = co_await log->sync();
    if (!synced) std::exit(2);
  }
  *done += 1;
}

// Appends per second; `batch_kib` 0 means small (~1 KiB) batches.
Task<double> durable_appends_per_s(strand::io::Env* env, PartitionLog* log, int appenders,
                                   int per_appender, int batch_kib) {
  int done = 0;
  const auto start = Clock::now();
  strand::io::TaskScope scope;
  for (int a = 0; a < appenders; ++a) {
    scope.spawn(durable_appender(log, per_appender, batch_kib, &done));
  }
  co_await scope.join();
  (void)env;
  co_return appenders* per_appender / seconds_since(start);
}

Task<double> read_throughput(PartitionLog* log) {
  const auto start = Clock::now();
  std::uint64_t bytes = 0;
  std::int64_t offset = log->log_start_offset();
  while (offset < log->next_offset()) {
    auto read = co_await log->read(offset, 1 << 20);
    if (!read || read->empty()) std::exit(2);
    bytes += read->size();
    // The last batch's last offset + 1: walk the batches' headers.
    std::size_t at = 0;
    while (at < read->size()) {
      auto view = strand::protocol::RecordBatchView::parse(
          std::span<const std::byte>(*read).subspan(
              at, strand::protocol::RecordBatchView::peek_size(
                      std::span<const std::byte>(*read).subspan(at))
                      .value()),
          strand::protocol::BatchOrigin::kLog);
      offset = view->last_offset() + 1;
      at += view->size_bytes();
    }
  }
  co_return static_cast<double>(bytes) / (1 << 20) / seconds_since(start);
}

Task<std::unique_ptr<PartitionLog>> open_log(strand::io::Env* env, std::string dir,
                                             LogConfig config) {
  auto opened = co_await PartitionLog::open(*env, dir, config);
  if (!opened) {
    std::fprintf(stderr, "open failed: %s\n", opened.error().to_string().c_str());
    std::exit(2);
  }
  co_return std::move(*opened);
}

Task<int> close_log(PartitionLog* log) {
  auto closed = co_await log->close();
  co_return closed ? 0 : 1;
}

}  // namespace

// A crashed segment of `mib` MiB: a log whose one segment holds all of it is dropped without a
// close, then opened again, which validates every batch of the segment. Milliseconds to open.
double crashed_segment_recovery_ms(strand::io::UvEnv& env, const std::string& dir,
                                   std::uint64_t mib) {
  const LogConfig config{.segment_bytes = (mib + 64) << 20};
  std::unique_ptr<PartitionLog> log = env.run(open_log(&env, dir, config));
  env.run(append_throughput(log.get(), mib, 64));
  if (log->segments_count() != 1) std::exit(2);
  log.reset();  // no close: the segment is not marked clean
  const auto start = Clock::now();
  log = env.run(open_log(&env, dir, config));
  const double elapsed_ms = seconds_since(start) * 1000;
  log.reset();
  return elapsed_ms;
}

int main(int argc, char** argv) {
  std::string dir = "bench-storage-data";
  std::uint64_t mib = 1024;
  std::uint64_t recovery_mib = 1024;
  int batch_kib = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--mib") == 0) mib = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--batch-kib") == 0) batch_kib = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--recovery-mib") == 0) {
      recovery_mib = std::strtoull(argv[i + 1], nullptr, 10);
    }
  }
  if (batch_kib < 1 || batch_kib > 1024) {
    std::fprintf(stderr, "bench_storage: --batch-kib must be in 1..1024\n");
    return 2;
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const double raw_mib = raw_write_mib_per_s(dir + "/raw", mib);
  const double raw_syncs = raw_syncs_per_s(dir + "/syncs");
  std::printf("raw sequential write: %.0f MiB/s; raw 4 KiB write+fdatasync: %.0f /s\n", raw_mib,
              raw_syncs);

  strand::io::UvEnv env(1);
  const LogConfig config{.segment_bytes = std::max<std::uint64_t>((mib << 20) / 10, 1 << 20)};
  std::unique_ptr<PartitionLog> log = env.run(open_log(&env, dir + "/t-0", config));
  const double append_mib = env.run(append_throughput(log.get(), mib, batch_kib));
  std::printf("log append (%d KiB batches, one sync at the end): %.0f MiB/s = %.2f x raw\n",
              batch_kib, append_mib, append_mib / raw_mib);
  const double read_mib = env.run(read_throughput(log.get()));
  std::printf("log read (1 MiB reads, CRC checked): %.0f MiB/s\n", read_mib);
  for (int appenders : {1, 16, 64}) {
    const double rate = env.run(durable_appends_per_s(&env, log.get(), appenders, 200, 0));
    std::printf(
        "durable appends, %d concurrent appenders (group commit): %.0f /s = %.2f x raw "
        "fsync rate\n",
        appenders, rate, rate / raw_syncs);
  }
  // Group commit with large batches: throughput of appenders that each wait for durability.
  const int big_per_appender = static_cast<int>(
      std::max<std::uint64_t>(1, ((mib << 10) / static_cast<std::uint64_t>(batch_kib)) / 8 / 4));
  const double big_rate =
      env.run(durable_appends_per_s(&env, log.get(), 8, big_per_appender, batch_kib));
  const double big_mib = big_rate * batch_kib / 1024;
  std::printf(
      "durable appends of %d KiB batches, 8 concurrent appenders: %.0f MiB/s = %.2f x raw "
      "write\n",
      batch_kib, big_mib, big_mib / raw_mib);
  const std::uint64_t segments = log->segments_count();
  const std::uint64_t log_bytes = log->size_bytes();
  if (env.run(close_log(log.get())) != 0) return 2;
  log.reset();
  auto start = Clock::now();
  log = env.run(open_log(&env, dir + "/t-0", config));
  const double clean_open_ms = seconds_since(start) * 1000;
  std::printf("clean open of %llu MiB in %llu segments: %.1f ms\n",
              static_cast<unsigned long long>(log_bytes >> 20),
              static_cast<unsigned long long>(segments), clean_open_ms);
  log.reset();  // no close: the next open scans the last segment
  start = Clock::now();
  log = env.run(open_log(&env, dir + "/t-0", config));
  std::printf("unclean open (scans the last segment): %.1f ms\n", seconds_since(start) * 1000);
  log.reset();
  std::filesystem::remove_all(dir + "/t-0");
  if (recovery_mib > 0) {
    const double recovery_ms = crashed_segment_recovery_ms(env, dir + "/t-1", recovery_mib);
    std::printf("recovery of a crashed %llu MiB segment (every batch CRC-checked): %.0f ms\n",
                static_cast<unsigned long long>(recovery_mib), recovery_ms);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
