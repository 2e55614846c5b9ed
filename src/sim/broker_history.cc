#include "sim/broker_history.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "io/random.h"

namespace strand::sim {

namespace {

std::string id_label(const RecordId& id) {
  return "p" + std::to_string(id.producer) + "s" + std::to_string(id.seq);
}

std::string at_label(const PartitionKey& tp, std::int64_t offset) {
  return partition_label(tp) + "@" + std::to_string(offset);
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return {};
  return value;
}

// "p<producer>s<seq>|..." -> the pair.
std::optional<RecordId> parse_id(std::string_view value) {
  const std::size_t bar = value.find('|');
  if (bar == std::string_view::npos || value.empty() || value[0] != 'p') return {};
  const std::string_view head = value.substr(1, bar - 1);
  const std::size_t s = head.find('s');
  if (s == std::string_view::npos) return {};
  const std::optional<std::uint64_t> producer = parse_number(head.substr(0, s));
  const std::optional<std::uint64_t> seq = parse_number(head.substr(s + 1));
  if (!producer || !seq || *producer > 0xffff'fffful) return {};
  return RecordId{static_cast<std::uint32_t>(*producer), *seq};
}

const ProduceAttempt* find_attempt(const BrokerHistory& history, const RecordId& id) {
  if (id.producer >= history.producers.size()) return nullptr;
  const std::vector<ProduceAttempt>& attempts = history.producers[id.producer].attempts;
  return id.seq < attempts.size() ? &attempts[id.seq] : nullptr;
}

bool crashed_between(const BrokerHistory& history, io::Instant from, io::Instant to) {
  return std::any_of(history.broker_crashes.begin(), history.broker_crashes.end(),
                     [&](io::Instant crash) { return crash >= from && crash <= to; });
}

// One offset of one partition, as a hash key (the checkers only look offsets up, never walk them
// in order).
struct OffsetKey {
  PartitionKey tp;
  std::int64_t offset = 0;
  friend bool operator==(const OffsetKey&, const OffsetKey&) = default;
};
struct OffsetKeyHash {
  std::size_t operator()(const OffsetKey& key) const {
    return io::mix64((std::uint64_t{key.tp.topic} << 32) ^
                     static_cast<std::uint32_t>(key.tp.partition) ^
                     io::mix64(static_cast<std::uint64_t>(key.offset)));
  }
};
struct RecordIdHash {
  std::size_t operator()(const RecordId& id) const {
    return io::mix64((std::uint64_t{id.producer} << 40) ^ io::mix64(id.seq));
  }
};

// The final read-back's record at each offset (the last read wins).
using FinalLog = std::unordered_map<OffsetKey, std::optional<RecordId>, OffsetKeyHash>;

FinalLog final_log(const BrokerHistory& history) {
  FinalLog log;
  log.reserve(history.observations.size());
  for (const Observation& seen : history.observations) {
    if (seen.reader == kReadback) log[OffsetKey{seen.tp, seen.offset}] = seen.id;
  }
  return log;
}

// (a) Every acks=all acknowledgement is in the final log at its offset; acks=1 ones may be lost
// only to a crash after they were sent.
CheckVerdict check_acked_durable(const BrokerHistory& history, const FinalLog& log) {
  CheckFailures failures;
  std::uint64_t checked = 0;
  std::uint64_t acks1_lost = 0;
  std::uint64_t excused = 0;
  std::uint64_t removed = 0;  // below the final log start: retention_correct judges them
  for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
    const std::vector<ProduceAttempt>& attempts = history.producers[p].attempts;
    for (std::uint64_t seq = 0; seq < attempts.size(); ++seq) {
      const ProduceAttempt& attempt = attempts[seq];
      if (attempt.outcome != ProduceOutcome::kAcked) continue;
      const PartitionKey tp{attempt.topic, attempt.partition};
      auto found = log.find(OffsetKey{tp, attempt.offset});
      const RecordId id{p, seq};
      if (found != log.end() && found->second == id) {
        checked += 1;
        continue;
      }
      if (history.tainted(tp, attempt.offset)) {
        excused += 1;
        continue;
      }
      if (found == log.end() && history.below_log_start(tp, attempt.offset)) {
        removed += 1;
        continue;
      }
      const bool crash_after = crashed_between(history, attempt.sent_at, history.run_end);
      if (attempt.acks == 1 && (crash_after || history.replicated)) {
        acks1_lost += 1;
        continue;
      }
      std::string instead = found == log.end() ? "nothing"
                            : found->second    ? id_label(*found->second)
                                               : "an unnamed record";
      failures.add((attempt.acks == 1 ? "acks=1 " : "acks=all ") + id_label(id) + " at " +
                   at_label(tp, attempt.offset) + " lost" +
                   (crash_after ? "" : " without a crash") + ", found " + instead);
    }
  }
  return failures.verdict(
      "no_lost_acknowledged_write",
      std::to_string(checked) + " acknowledged records at their offsets, " +
          std::to_string(acks1_lost) + " acks=1 lost to failures, " + std::to_string(excused) +
          " excused by bit flips" +
          (history.retention.limited() ? ", " + std::to_string(removed) + " below the log start"
                                       : ""),
      "acknowledged records lost");
}

// (b) Every reader saw at each offset the record the final read-back has there.
CheckVerdict check_same_record(const BrokerHistory& history, const FinalLog& log) {
  CheckFailures failures;
  std::uint64_t compared = 0;
  for (const Observation& seen : history.observations) {
    if (seen.reader == kReadback) continue;
    auto found = log.find(OffsetKey{seen.tp, seen.offset});
    if (found != log.end() && found->second == seen.id) {
      compared += 1;
      continue;
    }
    if (history.tainted(seen.tp, seen.offset)) continue;
    if (found == log.end() && history.below_log_start(seen.tp, seen.offset)) continue;
    failures.add("consumer " + std::to_string(seen.reader) + " saw " +
                 (seen.id ? id_label(*seen.id) : "an unnamed record") + " at " +
                 at_label(seen.tp, seen.offset) + ", the final log has " +
                 (found == log.end() ? "nothing"
                  : found->second    ? id_label(*found->second)
                                     : "an unnamed record"));
  }
  return failures.verdict("same_record_at_same_offset",
                          std::to_string(compared) + " consumed records match the final log",
                          "records differ between readers");
}

// (c) Within a session a reader's offsets are dense and strictly increasing.
CheckVerdict check_monotonic(const BrokerHistory& history) {
  std::map<std::tuple<std::uint32_t, std::uint64_t, PartitionKey>, std::int64_t> next;
  for (const SessionStart& start : history.sessions) {
    next[{start.reader, start.session, start.tp}] = start.offset;
  }
  CheckFailures failures;
  for (const Observation& seen : history.observations) {
    auto expected = next.find({seen.reader, seen.session, seen.tp});
    auto who = [&seen] {
      return seen.reader == kReadback ? std::string("read-back")
                                      : "consumer " + std::to_string(seen.reader);
    };
    if (expected == next.end()) {
      failures.add(who() + " read " + at_label(seen.tp, seen.offset) + " outside any session");
      continue;
    }
    const bool ordered =
        history.replicated ? seen.offset >= expected->second : seen.offset == expected->second;
    if (!ordered) {
      failures.add(who() + " session " + std::to_string(seen.session) + " expected " +
                   at_label(seen.tp, expected->second) + ", got offset " +
                   std::to_string(seen.offset));
    }
    expected->second = std::max(expected->second, seen.offset + 1);
  }
  if (history.replicated) {
    return failures.verdict("polls_monotonic",
                            std::to_string(history.sessions.size()) +
                                " reader sessions, offsets strictly increasing (gaps allowed: "
                                "control batches)",
                            "non-monotonic reads");
  }
  return failures.verdict(
      "polls_monotonic_and_dense",
      std::to_string(history.sessions.size()) + " reader sessions, offsets dense and increasing",
      "non-dense or non-monotonic reads");
}

// (d) Every record served is one a producer sent, byte for byte, on the partition it went to;
// and never one whose send was refused.
CheckVerdict check_no_corrupt(const BrokerHistory& history) {
  CheckFailures failures;
  for (const Observation& seen : history.observations) {
    auto where = [&seen] { return at_label(seen.tp, seen.offset); };
    if (!seen.id) {
      failures.add("phantom record at " + where());
      continue;
    }
    const ProduceAttempt* attempt = find_attempt(history, *seen.id);
    if (attempt == nullptr) {
      failures.add("record " + id_label(*seen.id) + " at " + where() + " was never produced");
    } else if (!seen.intact) {
      failures.add("record " + id_label(*seen.id) + " at " + where() +
                   " differs from what was sent");
    } else if (attempt->outcome == ProduceOutcome::kRefused) {
      failures.add("record " + id_label(*seen.id) + " at " + where() + " was refused by send()");
    } else if (attempt->partition >= 0 && attempt->partition != seen.tp.partition) {
      failures.add("record " + id_label(*seen.id) + " at " + where() + " was sent to partition " +
                   std::to_string(attempt->partition));
    }
  }
  if (history.served_corrupt > 0) {
    failures.add(std::to_string(history.served_corrupt) +
                 " fetches failed the client's checks: " + history.served_corrupt_detail);
  }
  return failures.verdict(
      "no_corrupt_or_phantom_record",
      std::to_string(history.observations.size()) + " records read, every one intact and produced",
      "corrupt or phantom records");
}

// A record lives at one offset: every reader and its acknowledgement agree where.
CheckVerdict check_one_offset(const BrokerHistory& history) {
  std::unordered_map<RecordId, std::pair<PartitionKey, std::int64_t>, RecordIdHash> where;
  where.reserve(history.observations.size());
  CheckFailures failures;
  for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
    const std::vector<ProduceAttempt>& attempts = history.producers[p].attempts;
    for (std::uint64_t seq = 0; seq < attempts.size(); ++seq) {
      const ProduceAttempt& attempt = attempts[seq];
      if (attempt.outcome != ProduceOutcome::kAcked) continue;
      where[RecordId{p, seq}] = {PartitionKey{attempt.topic, attempt.partition}, attempt.offset};
    }
  }
  for (const Observation& seen : history.observations) {
    if (!seen.id) continue;
    auto [it, fresh] = where.try_emplace(*seen.id, seen.tp, seen.offset);
    if (fresh || it->second == std::pair(seen.tp, seen.offset)) continue;
    // A bit flip that destroyed the first copy lets an idempotent producer's retry write it again.
    if (history.tainted(seen.tp, seen.offset) ||
        history.tainted(it->second.first, it->second.second)) {
      continue;
    }
    failures.add(id_label(*seen.id) + " at " + at_label(seen.tp, seen.offset) + " and at " +
                 at_label(it->second.first, it->second.second));
  }
  return failures.verdict("one_offset_per_record",
                          std::to_string(where.size()) + " records, each at one offset",
                          "records at two offsets");
}

// (e) Two acknowledgements share an offset only when the earlier was acks=1 and a crash after its
// send lost it (in a cluster: when one of them was acks=1, which any failover may lose).
CheckVerdict check_acks_unique(const BrokerHistory& history) {
  using At = std::pair<PartitionKey, std::int64_t>;
  // Every acknowledgement, then sorted stably by offset: the groups of one offset come in offset
  // order and each holds its records in send order, as a map of vectors would, without a node per
  // offset.
  std::vector<std::pair<At, RecordId>> acked;
  for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
    const std::vector<ProduceAttempt>& attempts = history.producers[p].attempts;
    for (std::uint64_t seq = 0; seq < attempts.size(); ++seq) {
      const ProduceAttempt& attempt = attempts[seq];
      if (attempt.outcome != ProduceOutcome::kAcked) continue;
      acked.emplace_back(At{PartitionKey{attempt.topic, attempt.partition}, attempt.offset},
                         RecordId{p, seq});
    }
  }
  std::stable_sort(acked.begin(), acked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CheckFailures failures;
  std::uint64_t offsets_count = 0;
  std::uint64_t reused = 0;
  std::vector<RecordId> ids;
  for (std::size_t group = 0; group < acked.size();) {
    const At at = acked[group].first;
    ids.clear();
    for (; group < acked.size() && acked[group].first == at; ++group) {
      ids.push_back(acked[group].second);
    }
    offsets_count += 1;
    if (ids.size() < 2) continue;
    std::sort(ids.begin(), ids.end(), [&](const RecordId& a, const RecordId& b) {
      return find_attempt(history, a)->completed_at < find_attempt(history, b)->completed_at;
    });
    for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
      const ProduceAttempt& earlier = *find_attempt(history, ids[i]);
      const ProduceAttempt& later = *find_attempt(history, ids[i + 1]);
      // In a cluster a deposed leader may still acknowledge acks=1 records (at offsets the new
      // leader reuses) after the new leader acknowledged its own: either of the two may be the
      // lost acks=1 one. (no_lost_acknowledged_write checks that the acks=all one survived.)
      const bool lost =
          history.replicated
              ? earlier.acks == 1 || later.acks == 1
              : earlier.acks == 1 && crashed_between(history, earlier.sent_at, later.completed_at);
      if (lost || history.tainted(at.first, at.second)) {
        reused += 1;
        continue;
      }
      failures.add(id_label(ids[i]) + " and " + id_label(ids[i + 1]) + " both acknowledged at " +
                   at_label(at.first, at.second));
    }
  }
  return failures.verdict("acknowledged_offsets_unique",
                          std::to_string(offsets_count) + " acknowledged offsets, " +
                              std::to_string(reused) + " reused after a loss",
                          "offsets acknowledged twice");
}

// (f) After the heal every producer is acknowledged again within the bound (an acks=0 producer:
// a record it sent after the heal is in the final log), every consumer has read to the end, and
// the read-back finished.
CheckVerdict check_liveness(const BrokerHistory& history, const CheckLimits& limits,
                            const FinalLog& log) {
  CheckFailures failures;
  std::unordered_set<RecordId, RecordIdHash> in_log;
  in_log.reserve(log.size());
  for (const auto& [at, id] : log) {
    if (id) in_log.insert(*id);
  }
  io::Duration slowest;
  for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
    const ProducerHistory& producer = history.producers[p];
    std::optional<io::Instant> first;
    bool landed = false;
    bool sent_after_heal = false;
    bool checkable = false;  // acks=0: sent after the heal to a partition read back to its end
    for (std::uint64_t seq = 0; seq < producer.attempts.size(); ++seq) {
      const ProduceAttempt& attempt = producer.attempts[seq];
      if (attempt.outcome == ProduceOutcome::kAcked && attempt.completed_at >= history.fault_end) {
        first = first ? std::min(*first, attempt.completed_at) : attempt.completed_at;
      }
      if (attempt.sent_at < history.fault_end || attempt.outcome != ProduceOutcome::kSent) continue;
      sent_after_heal = true;
      auto readback = history.readback.find(PartitionKey{attempt.topic, attempt.partition});
      if (readback == history.readback.end() || readback->second.stuck_at) continue;
      checkable = true;
      if (in_log.contains(RecordId{p, seq})) landed = true;
    }
    const std::string who = "producer " + std::to_string(p);
    if (producer.acks == 0) {
      if (!sent_after_heal) failures.add(who + " (acks=0): nothing sent after the heal");
      if (checkable && !landed) {
        failures.add(who + " (acks=0): nothing sent after the heal reached the log");
      }
    } else if (!first) {
      failures.add(who + ": no acknowledgement after the heal");
    } else if (*first - history.fault_end > limits.liveness_bound) {
      failures.add(who + ": first acknowledgement " +
                   std::to_string((*first - history.fault_end).count_ms()) + " ms after the heal");
    } else {
      slowest = std::max(slowest, *first - history.fault_end);
    }
  }
  for (std::uint32_t c = 0; c < history.consumers.size(); ++c) {
    const ConsumerHistory& consumer = history.consumers[c];
    for (const auto& [tp, readback] : history.readback) {
      if (tp.topic != consumer.topic || history.taint.contains(tp)) continue;
      auto position = consumer.positions.find(tp.partition);
      const std::int64_t at = position == consumer.positions.end() ? -1 : position->second;
      if (at < readback.end) {
        failures.add("consumer " + std::to_string(c) + " stopped at " + at_label(tp, at) +
                     ", the log ends at " + std::to_string(readback.end));
      }
    }
  }
  if (!history.readback_done) failures.add("the final read-back did not finish");
  for (const auto& [tp, readback] : history.readback) {
    if (!readback.error.empty() && !history.taint.contains(tp)) {
      failures.add("read-back of " + partition_label(tp) + ": " + readback.error);
    }
  }
  return failures.verdict("liveness_after_heal",
                          "producers acknowledged within " + std::to_string(slowest.count_ms()) +
                              " ms of the heal, consumers at the end, read-back complete",
                          "liveness failures");
}

// (g) At most one leader per term per partition, among the leaders the sampler saw.
CheckVerdict check_one_leader_per_term(const BrokerHistory& history) {
  CheckFailures failures;
  for (const std::string& conflict : history.leader_conflicts) failures.add(conflict);
  return failures.verdict("one_leader_per_term",
                          std::to_string(history.leaders.size()) +
                              " (partition, term) leaders in " +
                              std::to_string(history.leader_samples) + " samples",
                          "terms with two leaders");
}

std::int32_t term_of(const ReplicaLog& log, std::int64_t offset) {
  auto it =
      std::upper_bound(log.term_runs.begin(), log.term_runs.end(), offset,
                       [](std::int64_t value, const std::pair<std::int64_t, std::int32_t>& run) {
                         return value < run.first;
                       });
  return it == log.term_runs.begin() ? -1 : std::prev(it)->second;
}

// Raft's log matching, on the offsets two replicas both hold: once their terms differ at some
// offset they never agree again (two entries with one offset and term mean identical logs up to
// there), and up to the lower of their commit indexes they agree everywhere.
void match_logs(const PartitionKey& tp, const ReplicaLog& a, const ReplicaLog& b,
                CheckFailures& failures) {
  const std::int64_t from = std::max(a.log_start_offset, b.log_start_offset);
  const std::int64_t to = std::min(a.last_offset, b.last_offset);
  const std::int64_t committed = std::min(a.commit_index, b.commit_index);
  std::optional<std::int64_t> diverged;
  for (std::int64_t offset = from; offset <= to; ++offset) {
    const std::int32_t term_a = term_of(a, offset);
    const std::int32_t term_b = term_of(b, offset);
    auto pair = [&a, &b] {
      return "nodes " + std::to_string(a.node) + " and " + std::to_string(b.node);
    };
    if (term_a != term_b && offset <= committed) {
      failures.add(pair() + " differ at committed " + at_label(tp, offset) + " (terms " +
                   std::to_string(term_a) + " and " + std::to_string(term_b) + ")");
      return;
    }
    if (term_a != term_b && !diverged) diverged = offset;
    if (term_a == term_b && diverged) {
      failures.add(pair() + " agree on term " + std::to_string(term_a) + " at " +
                   at_label(tp, offset) + " after differing at offset " +
                   std::to_string(*diverged));
      return;
    }
  }
}

// (h) Log matching across the replicas of each partition at the end of the run.
CheckVerdict check_log_matching(const BrokerHistory& history) {
  CheckFailures failures;
  std::uint64_t pairs = 0;
  for (const auto& [tp, logs] : history.replica_logs) {
    for (std::size_t i = 0; i < logs.size(); ++i) {
      for (std::size_t j = i + 1; j < logs.size(); ++j) {
        pairs += 1;
        match_logs(tp, logs[i], logs[j], failures);
      }
    }
  }
  return failures.verdict("log_matching",
                          std::to_string(pairs) + " replica pairs in " +
                              std::to_string(history.replica_logs.size()) + " partitions match",
                          "replica pairs whose logs diverge");
}

CheckVerdict check_progress(const BrokerHistory& history, const CheckLimits& limits) {
  std::uint64_t acked = 0;
  for (const ProducerHistory& producer : history.producers) {
    for (const ProduceAttempt& attempt : producer.attempts) {
      if (attempt.outcome == ProduceOutcome::kAcked) acked += 1;
    }
  }
  return {"progress", acked >= limits.acked_min,
          std::to_string(acked) + " records acknowledged, at least " +
              std::to_string(limits.acked_min) + " expected"};
}

}  // namespace

std::string topic_name(std::uint32_t topic) {
  std::string name = "t";  // not "t" + ...: GCC 12 warns falsely (-Wrestrict) on that at -O3
  name += std::to_string(topic);
  return name;
}

std::string partition_label(const PartitionKey& tp) {
  return topic_name(tp.topic) + "-" + std::to_string(tp.partition);
}

bool BrokerHistory::tainted(const PartitionKey& tp, std::int64_t offset) const {
  auto it = taint.find(tp);
  return it != taint.end() && offset >= it->second;
}

bool BrokerHistory::below_log_start(const PartitionKey& tp, std::int64_t offset) const {
  if (!retention.limited()) return false;
  auto it = readback.find(tp);
  return it != readback.end() && offset < it->second.start;
}

namespace {

// "p<producer>s<seq>|", written into `buffer`.
constexpr std::size_t kIdPrefixBytesMax = 1 + 10 + 1 + 20 + 1;
std::string_view id_prefix(std::uint32_t producer, std::uint64_t seq,
                           std::array<char, kIdPrefixBytesMax>& buffer) {
  char* const begin = buffer.data();
  char* const end = buffer.data() + buffer.size();
  // Each number's bound leaves room for what follows it (the buffer fits the largest ids).
  char* at = begin;
  *at++ = 'p';
  at = std::to_chars(at, end - 22, producer).ptr;
  *at++ = 's';
  at = std::to_chars(at, end - 1, seq).ptr;
  *at++ = '|';
  return {begin, static_cast<std::size_t>(at - begin)};
}

// The filler after the prefix: 8-byte words of a mix64 chain seeded by the record's id.
class FillerWords {
 public:
  FillerWords(std::uint32_t producer, std::uint64_t seq)
      : word_(io::mix64((std::uint64_t{producer} << 40) ^ seq)) {}
  std::array<char, 8> next() {
    word_ = io::mix64(word_);
    std::array<char, 8> bytes;
    std::memcpy(bytes.data(), &word_, bytes.size());
    return bytes;
  }

 private:
  std::uint64_t word_;
};

// Whether `value` is record_value(producer, seq, size_bytes), compared piece by piece: readers
// check every record they fetch, and rebuilding each value would allocate it again.
bool is_record_value(std::string_view value, std::uint32_t producer, std::uint64_t seq,
                     std::uint32_t size_bytes) {
  std::array<char, kIdPrefixBytesMax> buffer;
  const std::string_view prefix = id_prefix(producer, seq, buffer);
  if (value.size() != std::max<std::size_t>(prefix.size(), size_bytes)) return false;
  if (value.substr(0, prefix.size()) != prefix) return false;
  FillerWords filler(producer, seq);
  for (std::size_t at = prefix.size(); at < value.size(); at += 8) {
    const std::array<char, 8> bytes = filler.next();
    const std::size_t count = std::min<std::size_t>(8, value.size() - at);
    if (std::memcmp(value.data() + at, bytes.data(), count) != 0) return false;
  }
  return true;
}

}  // namespace

std::string record_value(std::uint32_t producer, std::uint64_t seq, std::uint32_t size_bytes) {
  std::array<char, kIdPrefixBytesMax> buffer;
  std::string value(id_prefix(producer, seq, buffer));
  value.reserve(std::max<std::size_t>(value.size(), size_bytes));
  FillerWords filler(producer, seq);
  while (value.size() < size_bytes) {
    const std::array<char, 8> bytes = filler.next();
    value.append(bytes.data(), std::min<std::size_t>(8, size_bytes - value.size()));
  }
  return value;
}

std::string record_header_value(std::uint32_t producer, std::uint64_t seq) {
  std::string value = std::to_string(producer);
  value += '/';
  value += std::to_string(seq);
  return value;
}

Observation observe(const BrokerHistory& history, std::uint32_t reader, std::uint64_t session,
                    const PartitionKey& tp, const protocol::Record& record, io::Instant at) {
  Observation seen{reader, session, tp, record.offset, std::nullopt, false, at};
  if (!record.value) return seen;
  seen.id = parse_id(*record.value);
  if (!seen.id) return seen;
  const ProduceAttempt* attempt = find_attempt(history, *seen.id);
  if (attempt == nullptr || attempt->topic != tp.topic) return seen;
  // The one header the producer sent, compared without building a header list to compare with.
  const bool header_intact =
      record.headers.size() == 1 && record.headers[0].key == kRecordHeaderKey &&
      record.headers[0].value == record_header_value(seen.id->producer, seen.id->seq);
  seen.intact =
      record.key == attempt->key && header_intact &&
      is_record_value(*record.value, seen.id->producer, seen.id->seq, attempt->value_bytes);
  return seen;
}

std::vector<CheckVerdict> check_history(const BrokerHistory& history, const CheckLimits& limits) {
  std::vector<CheckVerdict> verdicts;
  const FinalLog log = final_log(history);
  verdicts.push_back(check_acked_durable(history, log));
  verdicts.push_back(check_same_record(history, log));
  verdicts.push_back(check_monotonic(history));
  verdicts.push_back(check_no_corrupt(history));
  verdicts.push_back(check_one_offset(history));
  verdicts.push_back(check_acks_unique(history));
  verdicts.push_back(check_liveness(history, limits, log));
  verdicts.push_back(check_progress(history, limits));
  if (history.replicated) verdicts.push_back(check_one_leader_per_term(history));
  if (history.replicated) verdicts.push_back(check_log_matching(history));
  if (history.retention.limited()) verdicts.push_back(check_retention(history));
  const bool idempotent = std::any_of(history.producers.begin(), history.producers.end(),
                                      [](const ProducerHistory& p) { return p.idempotent; });
  if (idempotent) verdicts.push_back(check_idempotent(history));
  if (history.group.members_count > 0) {
    for (CheckVerdict& verdict : check_group_history(history, limits)) {
      verdicts.push_back(std::move(verdict));
    }
  }
  return verdicts;
}

}  // namespace strand::sim
