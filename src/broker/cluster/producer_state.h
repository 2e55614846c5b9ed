// The sequence numbers of idempotent producers on one partition (Kafka's ProducerStateManager,
// without transactions). For each producer id: its epoch and its last five batches' sequence
// ranges and offsets, so that a retried batch is answered with the offsets it already has instead
// of being written twice, and a batch after a gap is refused (OUT_OF_ORDER_SEQUENCE_NUMBER) so
// that the producer does not leave a hole. A producer silent for producer.id.expiration.ms (by its
// batches' timestamps, as Kafka judges it) is forgotten. Rebuilt from the log (the tail the leader
// holds) when a partition is opened or a replica becomes leader. Pure data: the partition drives
// it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace strand::cluster {

// What a producer batch's header says about its producer. id < 0: not an idempotent batch.
struct ProducerBatch {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t first_sequence = -1;
  std::int32_t last_sequence = -1;
  std::int64_t max_timestamp = -1;  // the batch's (Kafka expires producers by it)
  // From a v2 batch header (at least kBatchHeaderBytes long; the caller validated it).
  static ProducerBatch of(std::span<const std::byte> batch);
};

struct BatchSequences {
  std::int32_t first_sequence = 0;
  std::int32_t last_sequence = 0;
  std::int64_t base_offset = -1;  // -1 while the batch is being written
  std::int64_t last_offset = -1;
  std::int32_t leader_epoch = -1;  // the epoch it was written in
};

enum class SequenceVerdict : std::uint8_t {
  kAppend,       // the next batch (or a producer we know nothing of): write it
  kDuplicate,    // written before: answer with `written`'s offsets
  kInFlight,     // the same batch is being written now: the producer retries later
  kOutOfOrder,   // a gap or an old batch we no longer remember
  kFencedEpoch,  // an epoch older than the producer's latest
};

struct SequenceCheck {
  SequenceVerdict verdict = SequenceVerdict::kAppend;
  BatchSequences written;  // kDuplicate
};

class ProducerStateTable {
 public:
  static constexpr std::size_t kBatchesKept = 5;  // max.in.flight.requests.per.connection

  SequenceCheck check(const ProducerBatch& batch) const;
  // Remembers an accepted batch before it is written (offsets -1); a newer epoch starts over.
  void begin(const ProducerBatch& batch);
  // The batch begun with `first_sequence` got these offsets.
  void written(std::int64_t producer_id, std::int32_t first_sequence, std::int64_t base_offset,
               std::int64_t last_offset, std::int32_t leader_epoch);
  // The batch begun with `first_sequence` was not written (refused before it reached the log).
  void abandon(std::int64_t producer_id, std::int32_t first_sequence);
  // A batch found in the log.
  void replay(const ProducerBatch& batch, std::int64_t base_offset, std::int64_t last_offset,
              std::int32_t leader_epoch);
  void clear() { producers_.clear(); }
  std::size_t size() const { return producers_.size(); }
  // Forgets producers whose last batch's max timestamp is `expiration_ms` or more before
  // `now_ms` and that have no batch being written (producer.id.expiration.ms): their next batch
  // is taken as a new producer's. Producers whose batches carry no timestamp stay. Returns how
  // many went.
  std::size_t expire(std::int64_t now_ms, std::int64_t expiration_ms);

  // The table as a snapshot file's contents: `end` (every batch below it folded in), then each
  // producer by id, then a CRC-32C of all of it. decode() gives nullopt for bytes that are not
  // such a snapshot (short, a bad CRC, out-of-range counts).
  std::vector<std::byte> encode(std::int64_t end) const;
  struct Decoded;
  static std::optional<Decoded> decode(std::span<const std::byte> bytes);

 private:
  struct Producer {
    std::int16_t epoch = -1;
    std::deque<BatchSequences> batches;  // oldest first, at most kBatchesKept
    std::int64_t last_timestamp = -1;    // the latest max timestamp of its batches
  };
  std::unordered_map<std::int64_t, Producer> producers_;
};

struct ProducerStateTable::Decoded {
  std::int64_t end = -1;
  ProducerStateTable table;
};

}  // namespace strand::cluster
