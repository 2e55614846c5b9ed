// retention_correct: judges the records that retention removed (broker_history.h, "Retention").
//
// The broker deletes whole closed segments, oldest first: one whose largest timestamp is more than
// retention.ms older than the broker's wall clock, or one whose removal leaves at least
// retention.bytes of log. The history knows neither segment boundaries nor the brokers' clocks at
// each pass, so the checker uses bounds that hold whatever they were:
// - time: a removed record's timestamp is at most its segment's largest, so it is older than
//   retention.ms by the largest wall clock any broker had before the removal: before the first
//   sample of the brokers' log starts (every 250 ms) that is above it, or before the end;
// - size: what was left after the removal lies at higher offsets, and each offset holds at most
//   one record that some producer sent (no retries: an attempt is appended at most once) or a Raft
//   control batch (in a cluster). So at most the bytes of every attempt that may sit in the
//   partition above the record (not known to be at a lower offset), each as if alone in its batch,
//   plus a control batch allowance per term, can have followed it.
// A record with neither bound is a retention bug (or an unrelated loss). An acks=1 record that a
// crash or a failover may have lost (no_lost_acknowledged_write excuses those) is not judged: its
// offset may have been reused by a record retention legally removed.
//
// Never the active segment: a partition written to after the heal is not empty at the end.
//
// Liveness, by size only: a read-back holding more than retention.bytes plus one whole segment
// means retention left a removable segment in place through the drain. (Not by time: producers' and
// brokers' wall clocks jump, so a segment's largest timestamp may lie far in the brokers' future.)
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/broker_history.h"

namespace strand::sim {

namespace {

// A record alone in its batch: the v2 batch header (61 bytes) and the record's varints,
// attributes and header key, rounded up.
constexpr std::uint64_t kRecordOverheadMaxBytes = 128;
// A Raft control batch (a leader's first entry, a configuration) per term of a partition, rounded
// up, and the partition's first entries.
constexpr std::uint64_t kControlBytesPerTerm = 512;
constexpr std::uint64_t kControlBytesBase = 4096;

std::string at_label(const PartitionKey& tp, std::int64_t offset) {
  return partition_label(tp) + "@" + std::to_string(offset);
}

std::uint64_t stored_bytes_max(const ProduceAttempt& attempt, std::uint32_t producer,
                               std::uint64_t seq) {
  return attempt.value_bytes + (attempt.key ? attempt.key->size() : 0) +
         record_header_value(producer, seq).size() + kRecordOverheadMaxBytes;
}

std::uint64_t stored_bytes_min(const ProduceAttempt& attempt) {
  return attempt.value_bytes + (attempt.key ? attempt.key->size() : 0);
}

bool may_be_lost(const BrokerHistory& history, const ProduceAttempt& attempt) {
  if (attempt.acks != 1) return false;
  if (history.replicated) return true;
  return std::any_of(history.broker_crashes.begin(), history.broker_crashes.end(),
                     [&](io::Instant crash) { return crash >= attempt.sent_at; });
}

// The highest term any broker was seen leading `tp` in, or holding in its log at the end.
std::int64_t max_term(const BrokerHistory& history, const PartitionKey& tp) {
  std::int64_t term = 0;
  for (const auto& [key, node] : history.leaders) {
    if (key.first == tp) term = std::max<std::int64_t>(term, key.second);
  }
  auto logs = history.replica_logs.find(tp);
  if (logs != history.replica_logs.end()) {
    for (const ReplicaLog& log : logs->second) {
      for (const auto& [offset, run_term] : log.term_runs) {
        term = std::max<std::int64_t>(term, run_term);
      }
    }
  }
  return term;
}

// Per partition: what may lie in it, for the size bound.
struct PartitionBytes {
  std::uint64_t total = 0;  // every attempt that may be in the partition
  // Attempts known to sit at an offset (acknowledged or read there): offset -> their bytes.
  std::map<std::int64_t, std::uint64_t> known;
  std::map<std::int64_t, std::uint64_t> known_below;  // prefix sums of `known`, inclusive

  // At most this many bytes of records can ever have followed `offset` in the log.
  std::uint64_t after(std::int64_t offset, std::uint64_t control) const {
    auto it = known_below.upper_bound(offset);
    const std::uint64_t before = it == known_below.begin() ? 0 : std::prev(it)->second;
    return total - std::min(total, before) + control;
  }
};

std::map<PartitionKey, PartitionBytes> partition_bytes(const BrokerHistory& history) {
  // Where each record is known to be (the highest offset, should checkers disagree elsewhere).
  std::map<RecordId, std::pair<PartitionKey, std::int64_t>> where;
  auto note = [&](const RecordId& id, const PartitionKey& tp, std::int64_t offset) {
    auto [it, fresh] = where.try_emplace(id, tp, offset);
    if (!fresh && it->second.first == tp) it->second.second = std::max(it->second.second, offset);
  };
  for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
    const std::vector<ProduceAttempt>& attempts = history.producers[p].attempts;
    for (std::uint64_t seq = 0; seq < attempts.size(); ++seq) {
      const ProduceAttempt& a = attempts[seq];
      if (a.outcome == ProduceOutcome::kAcked) note({p, seq}, {a.topic, a.partition}, a.offset);
    }
  }
  for (const Observation& seen : history.observations) {
    if (seen.id) note(*seen.id, seen.tp, seen.offset);
  }
  std::map<PartitionKey, PartitionBytes> out;
  for (const auto& [tp, readback] : history.readback) {
    PartitionBytes& bytes = out[tp];
    for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
      const std::vector<ProduceAttempt>& attempts = history.producers[p].attempts;
      for (std::uint64_t seq = 0; seq < attempts.size(); ++seq) {
        const ProduceAttempt& a = attempts[seq];
        if (a.outcome == ProduceOutcome::kRefused || a.topic != tp.topic) continue;
        if (a.partition >= 0 && a.partition != tp.partition) continue;
        const std::uint64_t size = stored_bytes_max(a, p, seq);
        bytes.total += size;
        auto known = where.find(RecordId{p, seq});
        if (known != where.end() && known->second.first == tp) {
          bytes.known[known->second.second] += size;
        }
      }
    }
    std::uint64_t sum = 0;
    for (const auto& [offset, size] : bytes.known) {
      sum += size;
      bytes.known_below[offset] = sum;
    }
  }
  return out;
}

// The largest wall clock any broker had when `offset` was already removed: at the first sampled
// rise of the log start above it, else at the end of the run.
std::int64_t removed_by_wall_ms(const BrokerHistory& history, const PartitionKey& tp,
                                std::int64_t offset) {
  auto rises = history.log_start_rises.find(tp);
  if (rises == history.log_start_rises.end()) return history.broker_wall_ms_max;
  auto first = std::upper_bound(
      rises->second.begin(), rises->second.end(), offset,
      [](std::int64_t value, const LogStartRise& rise) { return value < rise.start; });
  if (first == rises->second.end()) return history.broker_wall_ms_max;
  return std::min(first->wall_ms_max, history.broker_wall_ms_max);
}

struct RetentionTally {
  std::uint64_t judged = 0;
  std::uint64_t by_time = 0;
  std::uint64_t by_size = 0;
  std::uint64_t excused = 0;  // acks=1 records a loss may explain, or tainted by a bit flip
  std::map<PartitionKey, std::uint64_t> removed_bytes;  // of the judged records, at least
};

// A segment holds at most segment.bytes and the batch that filled it.
std::uint64_t segment_bytes_max(const RetentionLimits& limits) {
  return limits.segment_bytes + limits.batch_bytes_max + kRecordOverheadMaxBytes * 16;
}

// (a) Each acknowledged record below its partition's final log start was legally deletable.
void judge_removed(const BrokerHistory& history, CheckFailures& failures, RetentionTally& tally) {
  const RetentionLimits& limits = history.retention;
  const std::map<PartitionKey, PartitionBytes> bytes = partition_bytes(history);
  for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
    const std::vector<ProduceAttempt>& attempts = history.producers[p].attempts;
    for (std::uint64_t seq = 0; seq < attempts.size(); ++seq) {
      const ProduceAttempt& a = attempts[seq];
      const PartitionKey tp{a.topic, a.partition};
      if (a.outcome != ProduceOutcome::kAcked || !history.below_log_start(tp, a.offset)) continue;
      if (history.tainted(tp, a.offset) || may_be_lost(history, a)) {
        tally.excused += 1;
        continue;
      }
      tally.judged += 1;
      tally.removed_bytes[tp] += stored_bytes_min(a);
      const std::int64_t age_ms = removed_by_wall_ms(history, tp, a.offset) - a.timestamp_ms;
      if (limits.retention_ms >= 0 && age_ms > limits.retention_ms) {
        tally.by_time += 1;
        continue;
      }
      // A single broker's log holds only what producers sent (no Raft there).
      const std::uint64_t terms = static_cast<std::uint64_t>(max_term(history, tp) + 1);
      const std::uint64_t control =
          history.replicated ? kControlBytesBase + kControlBytesPerTerm * terms : 0;
      const std::uint64_t after = bytes.at(tp).after(a.offset, control);
      if (limits.retention_bytes >= 0 &&
          after >= static_cast<std::uint64_t>(limits.retention_bytes)) {
        tally.by_size += 1;
        continue;
      }
      failures.add("p" + std::to_string(p) + "s" + std::to_string(seq) + " at " +
                   at_label(tp, a.offset) + " is below the log start " +
                   std::to_string(history.readback.at(tp).start) + ": its timestamp is " +
                   std::to_string(age_ms) + " ms older than the brokers' latest wall clock" +
                   " (retention.ms " + std::to_string(limits.retention_ms) + ") and at most " +
                   std::to_string(after) + " bytes followed it (retention.bytes " +
                   std::to_string(limits.retention_bytes) + ")");
    }
  }
}

// The bytes of the records a read-back holds at or above its start, at least.
std::map<PartitionKey, std::uint64_t> readback_bytes(const BrokerHistory& history) {
  std::map<PartitionKey, std::uint64_t> out;
  for (const Observation& seen : history.observations) {
    if (seen.reader != kReadback || !seen.id || !seen.intact) continue;
    if (history.below_log_start(seen.tp, seen.offset)) continue;
    out[seen.tp] += stored_bytes_min(history.producers[seen.id->producer].attempts[seen.id->seq]);
  }
  return out;
}

// (c) No read-back holds more than retention.bytes and a whole segment besides.
void judge_kept(const BrokerHistory& history, CheckFailures& failures) {
  const RetentionLimits& limits = history.retention;
  if (limits.retention_bytes < 0 || !history.readback_done) return;
  const std::uint64_t segment_max = segment_bytes_max(limits);
  const std::uint64_t allowed = static_cast<std::uint64_t>(limits.retention_bytes) + segment_max;
  for (const auto& [tp, held] : readback_bytes(history)) {
    const ReadbackPartition& readback = history.readback.at(tp);
    if (history.taint.contains(tp) || readback.stuck_at || !readback.error.empty()) continue;
    if (held > allowed) {
      failures.add(partition_label(tp) + " still holds at least " + std::to_string(held) +
                   " bytes from offset " + std::to_string(readback.start) + " (retention.bytes " +
                   std::to_string(limits.retention_bytes) + ", segments up to " +
                   std::to_string(segment_max) + ")");
    }
  }
}

// (b) Never the active segment: it holds the newest batch from the append that created or last
// rolled it on, so once a record was acknowledged after the heal (no disk faults, no crashes since)
// the partition keeps at least one record for good. A read-back that finds it empty means
// retention removed the segment being written.
void judge_active(const BrokerHistory& history, CheckFailures& failures) {
  std::set<PartitionKey> written;
  for (const ProducerHistory& producer : history.producers) {
    for (const ProduceAttempt& a : producer.attempts) {
      if (a.outcome == ProduceOutcome::kAcked && a.sent_at >= history.fault_end) {
        written.insert(PartitionKey{a.topic, a.partition});
      }
    }
  }
  for (const auto& [tp, readback] : history.readback) {
    if (history.taint.contains(tp) || !readback.error.empty() || readback.end < 0) continue;
    if (readback.start < readback.end || !written.contains(tp)) continue;
    failures.add(partition_label(tp) + " is empty at the end (log start " +
                 std::to_string(readback.start) + ", end " + std::to_string(readback.end) +
                 ") although records were acknowledged after the heal");
  }
}

}  // namespace

CheckVerdict check_retention(const BrokerHistory& history) {
  CheckFailures failures;
  RetentionTally tally;
  judge_removed(history, failures, tally);
  judge_active(history, failures);
  judge_kept(history, failures);
  std::int64_t offsets_removed = 0;
  std::uint64_t partitions_moved = 0;
  std::uint64_t segments_min = 0;  // each partition whose start moved lost at least one
  const std::uint64_t segment_max = segment_bytes_max(history.retention);
  for (const auto& [tp, readback] : history.readback) {
    offsets_removed += readback.start;
    if (readback.start <= 0) continue;
    partitions_moved += 1;
    auto removed = tally.removed_bytes.find(tp);
    const std::uint64_t bytes = removed == tally.removed_bytes.end() ? 0 : removed->second;
    segments_min += std::max<std::uint64_t>(1, (bytes + segment_max - 1) / segment_max);
  }
  return failures.verdict(
      "retention_correct",
      std::to_string(offsets_removed) + " offsets removed from " +
          std::to_string(partitions_moved) + " partitions (at least " +
          std::to_string(segments_min) + " segments); " + std::to_string(tally.judged) +
          " acknowledged records among them legally deletable (" + std::to_string(tally.by_time) +
          " by time, " + std::to_string(tally.by_size) + " by size), " +
          std::to_string(tally.excused) + " excused by possible losses",
      "retention failures");
}

}  // namespace strand::sim
