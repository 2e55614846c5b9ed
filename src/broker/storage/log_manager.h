// Owns the partition logs under one data directory (`<data>/<topic>-<partition>/`), opens them at
// startup, creates them on demand, and runs retention over all of them on an io timer (so virtual
// time drives it in the simulator).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "broker/storage/partition_log.h"
#include "io/env.h"
#include "io/sync.h"

namespace strand::storage {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// "<topic>-<partition>" (topics may hold '-', so the last one splits). nullopt if not of that form.
std::optional<TopicPartition> parse_partition_directory(const std::string& name);
std::string partition_directory_name(const TopicPartition& tp);

struct RetentionSummary {
  std::uint32_t partitions_checked = 0;
  std::uint32_t segments_removed = 0;
  std::uint64_t bytes_removed = 0;
};

class LogManager {
 public:
  LogManager(io::Env& env, std::string data_directory, LogConfig defaults);

  // Opens every partition directory found (recovering each as PartitionLog::open does).
  io::Task<io::Result<void>> open_all();

  // The log of `tp`, created with `config` (or the defaults) if it does not exist yet.
  io::Task<io::Result<PartitionLog*>> get_or_create(TopicPartition tp,
                                                    std::optional<LogConfig> config = {});
  PartitionLog* find(const TopicPartition& tp) const;

  // Closes the log and removes its directory (DeleteTopics).
  io::Task<io::Result<void>> remove(TopicPartition tp);

  io::Task<io::Result<RetentionSummary>> run_retention_once();
  // Runs retention every `interval` (log.retention.check.interval.ms) until cancelled, or for
  // `rounds_max` rounds. Errors are logged per partition and do not stop the loop.
  io::Task<void> run_retention_loop(io::Duration interval, std::uint64_t rounds_max);

  // Closes every log cleanly (indexes and clean-shutdown markers).
  io::Task<io::Result<void>> close_all();

  std::size_t partitions_count() const { return logs_.size(); }
  const std::map<TopicPartition, std::unique_ptr<PartitionLog>>& logs() const { return logs_; }

 private:
  io::Env& env_;
  std::string data_directory_;
  LogConfig defaults_;
  std::map<TopicPartition, std::unique_ptr<PartitionLog>> logs_;
  io::Mutex opening_;  // one open/create at a time, so two callers never open the same log twice
};

}  // namespace strand::storage
