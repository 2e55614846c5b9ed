#include "broker/storage/log_manager.h"

#include <charconv>
#include <vector>

namespace strand::storage {

std::optional<TopicPartition> parse_partition_directory(const std::string& name) {
  const std::size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  std::int32_t partition = -1;
  const char* first = name.data() + dash + 1;
  const char* last = name.data() + name.size();
  auto [end, error] = std::from_chars(first, last, partition);
  if (error != std::errc{} || end != last || partition < 0) return std::nullopt;
  return TopicPartition{name.substr(0, dash), partition};
}

std::string partition_directory_name(const TopicPartition& tp) {
  return tp.topic + "-" + std::to_string(tp.partition);
}

LogManager::LogManager(io::Env& env, std::string data_directory, LogConfig defaults)
    : env_(env), data_directory_(std::move(data_directory)), defaults_(defaults) {}

io::Task<io::Result<void>> LogManager::open_all() {
  io::Result<void> made = co_await env_.fs().make_dirs(data_directory_);
  if (!made) co_return std::move(made).error();
  io::Result<std::vector<std::string>> names = co_await env_.fs().list(data_directory_);
  if (!names) co_return std::move(names).error();
  for (const std::string& name : *names) {
    std::optional<TopicPartition> tp = parse_partition_directory(name);
    if (!tp) continue;  // not a partition (a temp file, a marker)
    io::Result<PartitionLog*> log = co_await get_or_create(*tp);
    if (!log) co_return std::move(log).error();
  }
  co_return io::ok();
}

io::Task<io::Result<PartitionLog*>> LogManager::get_or_create(TopicPartition tp,
                                                              std::optional<LogConfig> config) {
  if (PartitionLog* existing = find(tp)) co_return existing;
  io::Mutex::Guard guard = co_await opening_.lock();
  if (PartitionLog* existing = find(tp)) co_return existing;  // opened while we waited
  const std::string directory = io::join_path(data_directory_, partition_directory_name(tp));
  io::Result<std::unique_ptr<PartitionLog>> opened =
      co_await PartitionLog::open(env_, directory, config.value_or(defaults_));
  if (!opened) co_return std::move(opened).error();
  PartitionLog* log = opened->get();
  logs_.emplace(std::move(tp), std::move(*opened));
  co_return log;
}

PartitionLog* LogManager::find(const TopicPartition& tp) const {
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second.get();
}

io::Task<io::Result<void>> LogManager::remove(TopicPartition tp) {
  auto it = logs_.find(tp);
  if (it == logs_.end()) co_return io::ok();
  std::unique_ptr<PartitionLog> log = std::move(it->second);
  logs_.erase(it);
  io::Result<void> closed = co_await log->close();
  if (!closed) co_return std::move(closed).error();
  const std::string directory = log->directory();
  log.reset();
  io::Result<std::vector<std::string>> names = co_await env_.fs().list(directory);
  if (!names) co_return std::move(names).error();
  for (const std::string& name : *names) {
    io::Result<void> removed = co_await env_.fs().remove(io::join_path(directory, name));
    if (!removed) co_return std::move(removed).error();
  }
  io::Result<void> removed_dir = co_await env_.fs().remove(directory);
  if (!removed_dir) co_return std::move(removed_dir).error();
  co_return co_await env_.fs().sync_dir(data_directory_);
}

io::Task<io::Result<RetentionSummary>> LogManager::run_retention_once() {
  RetentionSummary summary;
  std::vector<TopicPartition> partitions;
  for (const auto& [tp, log] : logs_) partitions.push_back(tp);
  for (const TopicPartition& tp : partitions) {
    PartitionLog* log = find(tp);  // may have been removed while we waited
    if (!log) continue;
    io::Result<RetentionResult> result = co_await log->apply_retention(env_.clock().wall_ms());
    if (!result) co_return with_context(std::move(result).error(), partition_directory_name(tp));
    summary.partitions_checked += 1;
    summary.segments_removed += result->segments_removed;
    summary.bytes_removed += result->bytes_removed;
  }
  co_return summary;
}

io::Task<void> LogManager::run_retention_loop(io::Duration interval, std::uint64_t rounds_max) {
  for (std::uint64_t round = 0; round < rounds_max; ++round) {
    co_await env_.clock().sleep(interval);
    io::Result<RetentionSummary> summary = co_await run_retention_once();
    (void)summary;  // a failing partition shows up in its own reads and appends
  }
}

io::Task<io::Result<void>> LogManager::close_all() {
  for (auto& [tp, log] : logs_) {
    io::Result<void> closed = co_await log->close();
    if (!closed) co_return with_context(std::move(closed).error(), partition_directory_name(tp));
  }
  logs_.clear();
  co_return io::ok();
}

}  // namespace strand::storage
