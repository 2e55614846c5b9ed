#include "broker/cluster/producer_state.h"

#include <limits>

#include "broker/protocol/byte_order.h"
#include "broker/protocol/record_batch.h"
#include "io/assert.h"

namespace strand::cluster {

namespace {

// Sequences wrap from INT32_MAX to 0 (Kafka's DefaultRecordBatch.incrementSequence).
std::int32_t next_sequence(std::int32_t sequence) {
  return sequence == std::numeric_limits<std::int32_t>::max() ? 0 : sequence + 1;
}

std::int32_t add_sequence(std::int32_t sequence, std::int32_t delta) {
  const std::int64_t sum = std::int64_t{sequence} + delta;
  const std::int64_t wrap = std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1;
  return static_cast<std::int32_t>(sum % wrap);
}

}  // namespace

ProducerBatch ProducerBatch::of(std::span<const std::byte> batch) {
  STRAND_ASSERT(batch.size() >= protocol::kBatchHeaderBytes, "a whole batch header");
  ProducerBatch out;
  out.id = protocol::load_be<std::int64_t>(batch.data() + protocol::batch_field::kProducerId);
  if (out.id < 0) return ProducerBatch{};
  out.epoch = protocol::load_be<std::int16_t>(batch.data() + protocol::batch_field::kProducerEpoch);
  out.first_sequence =
      protocol::load_be<std::int32_t>(batch.data() + protocol::batch_field::kBaseSequence);
  const auto delta =
      protocol::load_be<std::int32_t>(batch.data() + protocol::batch_field::kLastOffsetDelta);
  // A producer id without a sequence (-1) is not an idempotent batch either.
  if (out.first_sequence < 0 || delta < 0) return ProducerBatch{};
  out.last_sequence = add_sequence(out.first_sequence, delta);
  return out;
}

SequenceCheck ProducerStateTable::check(const ProducerBatch& batch) const {
  auto it = producers_.find(batch.id);
  if (it == producers_.end() || it->second.batches.empty()) return {};
  const Producer& producer = it->second;
  if (batch.epoch < producer.epoch) return {SequenceVerdict::kFencedEpoch, {}};
  if (batch.epoch > producer.epoch) {
    // A bumped epoch starts its sequences again (KIP-360).
    return batch.first_sequence == 0 ? SequenceCheck{}
                                     : SequenceCheck{SequenceVerdict::kOutOfOrder, {}};
  }
  for (const BatchSequences& seen : producer.batches) {
    if (seen.first_sequence == batch.first_sequence && seen.last_sequence == batch.last_sequence) {
      if (seen.base_offset < 0) return {SequenceVerdict::kInFlight, {}};
      return {SequenceVerdict::kDuplicate, seen};
    }
  }
  if (batch.first_sequence == next_sequence(producer.batches.back().last_sequence)) return {};
  return {SequenceVerdict::kOutOfOrder, {}};
}

void ProducerStateTable::begin(const ProducerBatch& batch) {
  Producer& producer = producers_[batch.id];
  if (batch.epoch != producer.epoch) {
    producer.epoch = batch.epoch;
    producer.batches.clear();
  }
  producer.batches.push_back(BatchSequences{batch.first_sequence, batch.last_sequence, -1, -1});
  while (producer.batches.size() > kBatchesKept) producer.batches.pop_front();
}

void ProducerStateTable::written(std::int64_t producer_id, std::int32_t first_sequence,
                                 std::int64_t base_offset, std::int64_t last_offset,
                                 std::int32_t leader_epoch) {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) return;
  for (BatchSequences& seen : it->second.batches) {
    if (seen.first_sequence == first_sequence && seen.base_offset < 0) {
      seen.base_offset = base_offset;
      seen.last_offset = last_offset;
      seen.leader_epoch = leader_epoch;
      return;
    }
  }
}

void ProducerStateTable::abandon(std::int64_t producer_id, std::int32_t first_sequence) {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) return;
  std::deque<BatchSequences>& batches = it->second.batches;
  for (auto seen = batches.begin(); seen != batches.end(); ++seen) {
    if (seen->first_sequence == first_sequence && seen->base_offset < 0) {
      batches.erase(seen);
      break;
    }
  }
  if (batches.empty()) producers_.erase(it);
}

void ProducerStateTable::replay(const ProducerBatch& batch, std::int64_t base_offset,
                                std::int64_t last_offset, std::int32_t leader_epoch) {
  begin(batch);
  written(batch.id, batch.first_sequence, base_offset, last_offset, leader_epoch);
}

}  // namespace strand::cluster
