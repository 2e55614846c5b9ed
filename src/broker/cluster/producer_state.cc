#include "broker/cluster/producer_state.h"

#include <algorithm>
#include <limits>

#include "broker/protocol/byte_order.h"
#include "broker/protocol/crc32c.h"
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

constexpr std::uint32_t kSnapshotMagicV1 = 0x53505331;   // "SPS1": no producer timestamps
constexpr std::uint32_t kSnapshotMagic = 0x53505332;     // "SPS2"
constexpr std::size_t kSnapshotHeaderBytes = 4 + 8 + 4;  // magic, end, producer count
constexpr std::size_t kProducerBytesV1 = 8 + 2 + 1;      // id, epoch, batch count
constexpr std::size_t kProducerBytes = 8 + 2 + 1 + 8;    // ..., last timestamp
constexpr std::size_t kBatchBytes = 4 + 4 + 8 + 8 + 4;   // sequences, offsets, leader epoch

template <typename T>
void put(std::vector<std::byte>& out, T value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  protocol::store_be<T>(out.data() + at, value);
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
  out.max_timestamp =
      protocol::load_be<std::int64_t>(batch.data() + protocol::batch_field::kMaxTimestamp);
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
  producer.last_timestamp = std::max(producer.last_timestamp, batch.max_timestamp);
}

std::size_t ProducerStateTable::expire(std::int64_t now_ms, std::int64_t expiration_ms) {
  std::size_t expired = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    const Producer& producer = it->second;
    const bool writing = std::any_of(producer.batches.begin(), producer.batches.end(),
                                     [](const BatchSequences& b) { return b.base_offset < 0; });
    const bool known = producer.last_timestamp >= 0;
    if (!writing && known && now_ms - producer.last_timestamp >= expiration_ms) {
      it = producers_.erase(it);
      expired += 1;
    } else {
      ++it;
    }
  }
  return expired;
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

std::vector<std::byte> ProducerStateTable::encode(std::int64_t end) const {
  std::vector<std::int64_t> ids;
  ids.reserve(producers_.size());
  for (const auto& [id, producer] : producers_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // the same state gives the same bytes
  std::vector<std::byte> out;
  out.reserve(kSnapshotHeaderBytes + ids.size() * (kProducerBytes + kBatchesKept * kBatchBytes) +
              4);
  put<std::uint32_t>(out, kSnapshotMagic);
  put<std::int64_t>(out, end);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(ids.size()));
  for (std::int64_t id : ids) {
    const Producer& producer = producers_.at(id);
    STRAND_ASSERT(producer.batches.size() <= kBatchesKept, "at most kBatchesKept batches");
    put<std::int64_t>(out, id);
    put<std::int16_t>(out, producer.epoch);
    put<std::uint8_t>(out, static_cast<std::uint8_t>(producer.batches.size()));
    put<std::int64_t>(out, producer.last_timestamp);
    for (const BatchSequences& batch : producer.batches) {
      STRAND_ASSERT(batch.base_offset >= 0, "a snapshot holds written batches only");
      put<std::int32_t>(out, batch.first_sequence);
      put<std::int32_t>(out, batch.last_sequence);
      put<std::int64_t>(out, batch.base_offset);
      put<std::int64_t>(out, batch.last_offset);
      put<std::int32_t>(out, batch.leader_epoch);
    }
  }
  put<std::uint32_t>(out, protocol::crc32c(out));
  return out;
}

std::optional<ProducerStateTable::Decoded> ProducerStateTable::decode(
    std::span<const std::byte> bytes) {
  if (bytes.size() < kSnapshotHeaderBytes + 4) return std::nullopt;
  const std::span<const std::byte> body = bytes.first(bytes.size() - 4);
  if (protocol::crc32c(body) != protocol::load_be<std::uint32_t>(bytes.data() + body.size())) {
    return std::nullopt;
  }
  const auto magic = protocol::load_be<std::uint32_t>(body.data());
  if (magic != kSnapshotMagic && magic != kSnapshotMagicV1) return std::nullopt;
  const std::size_t producer_bytes = magic == kSnapshotMagic ? kProducerBytes : kProducerBytesV1;
  Decoded decoded;
  decoded.end = protocol::load_be<std::int64_t>(body.data() + 4);
  const auto count = protocol::load_be<std::uint32_t>(body.data() + 12);
  if (decoded.end < 0) return std::nullopt;
  std::size_t at = kSnapshotHeaderBytes;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (body.size() - at < producer_bytes) return std::nullopt;
    const auto id = protocol::load_be<std::int64_t>(body.data() + at);
    Producer producer;
    producer.epoch = protocol::load_be<std::int16_t>(body.data() + at + 8);
    const auto batches = protocol::load_be<std::uint8_t>(body.data() + at + 10);
    // A first-version snapshot knows no timestamps: -1 (kept until the producer writes again).
    if (magic == kSnapshotMagic) {
      producer.last_timestamp = protocol::load_be<std::int64_t>(body.data() + at + 11);
    }
    at += producer_bytes;
    if (id < 0 || batches == 0 || batches > kBatchesKept ||
        body.size() - at < batches * kBatchBytes || decoded.table.producers_.contains(id)) {
      return std::nullopt;
    }
    for (std::uint8_t b = 0; b < batches; ++b, at += kBatchBytes) {
      BatchSequences batch;
      batch.first_sequence = protocol::load_be<std::int32_t>(body.data() + at);
      batch.last_sequence = protocol::load_be<std::int32_t>(body.data() + at + 4);
      batch.base_offset = protocol::load_be<std::int64_t>(body.data() + at + 8);
      batch.last_offset = protocol::load_be<std::int64_t>(body.data() + at + 16);
      batch.leader_epoch = protocol::load_be<std::int32_t>(body.data() + at + 24);
      if (batch.base_offset < 0 || batch.last_offset < batch.base_offset ||
          batch.last_offset >= decoded.end) {
        return std::nullopt;
      }
      producer.batches.push_back(batch);
    }
    decoded.table.producers_.emplace(id, std::move(producer));
  }
  if (at != body.size()) return std::nullopt;
  return decoded;
}

}  // namespace strand::cluster
