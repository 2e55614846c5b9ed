// idempotent_once_in_order: judges the idempotent producers (broker_history.h).
//
// An idempotent producer sends a batch again when its answer is lost, times out or names a moved
// leader, so without the broker's sequence checks the same records would be stored twice. The
// checker asks, for each such producer: is every record it sent (acknowledged or not) at one
// offset in everything readers saw, and do its acknowledged records of each partition have offsets
// in the order it sent them? Offsets at or beyond a bit flip's taint are not judged (a restart
// may legitimately rewrite them, see "Bit flips").
#include <map>
#include <string>
#include <utility>

#include "sim/broker_history.h"

namespace strand::sim {

CheckVerdict check_idempotent(const BrokerHistory& history) {
  CheckFailures failures;
  std::uint32_t producers = 0;
  std::uint64_t retried = 0;
  std::uint64_t acked = 0;
  for (const ProducerHistory& producer : history.producers) {
    if (!producer.idempotent) continue;
    producers += 1;
    retried += producer.batches_retried;
  }
  auto label = [](const RecordId& id) {
    return "p" + std::to_string(id.producer) + "s" + std::to_string(id.seq);
  };
  auto at = [](const PartitionKey& tp, std::int64_t offset) {
    return partition_label(tp) + "@" + std::to_string(offset);
  };
  // Stored once: every reader saw each record at one place.
  std::map<RecordId, std::pair<PartitionKey, std::int64_t>> where;
  for (const Observation& seen : history.observations) {
    if (!seen.id || seen.id->producer >= history.producers.size()) continue;
    if (!history.producers[seen.id->producer].idempotent) continue;
    if (history.tainted(seen.tp, seen.offset)) continue;
    auto [it, fresh] = where.try_emplace(*seen.id, seen.tp, seen.offset);
    if (fresh || it->second == std::pair(seen.tp, seen.offset)) continue;
    failures.add(label(*seen.id) + " stored twice: at " + at(it->second.first, it->second.second) +
                 " and at " + at(seen.tp, seen.offset));
  }
  // In send order: acknowledged offsets rise with the producer's sequence, per partition.
  for (std::uint32_t p = 0; p < history.producers.size(); ++p) {
    const ProducerHistory& producer = history.producers[p];
    if (!producer.idempotent) continue;
    std::map<PartitionKey, std::pair<std::uint64_t, std::int64_t>> last;  // seq, offset
    for (std::uint64_t seq = 0; seq < producer.attempts.size(); ++seq) {
      const ProduceAttempt& attempt = producer.attempts[seq];
      if (attempt.outcome != ProduceOutcome::kAcked) continue;
      const PartitionKey tp{attempt.topic, attempt.partition};
      if (history.tainted(tp, attempt.offset)) continue;
      acked += 1;
      auto [it, fresh] = last.try_emplace(tp, seq, attempt.offset);
      if (fresh) continue;
      if (attempt.offset <= it->second.second) {
        failures.add(label(RecordId{p, seq}) + " acknowledged at " + at(tp, attempt.offset) +
                     ", not after " + label(RecordId{p, it->second.first}) + " at " +
                     at(tp, it->second.second));
      }
      it->second = {seq, attempt.offset};
    }
  }
  return failures.verdict("idempotent_once_in_order",
                          std::to_string(producers) + " idempotent producers, " +
                              std::to_string(retried) + " batches retried; " +
                              std::to_string(where.size()) +
                              " of their records read, each at "
                              "one offset; " +
                              std::to_string(acked) + " acknowledged in send order",
                          "idempotent records stored twice or out of order");
}

}  // namespace strand::sim
