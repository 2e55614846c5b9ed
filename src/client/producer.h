// A Kafka producer on io::Env: records are grouped per partition into batches that go out when
// they are full (batch size) or old enough (linger), one Produce request per leader carrying one
// batch for each of its partitions. Keyed records are placed by murmur2 exactly as the Java
// client places them; keyless ones stick to a partition until its batch fills (or go round-robin).
//
// Ordering: records to one partition are appended in the order send() accepted them (requests to
// a broker are pipelined on one connection, and the broker appends them in arrival order).
//
// Retries: a plain producer sends a batch once (a failed batch fails its records), since a retry
// could write it twice. An idempotent producer (enable.idempotence) first gets a producer id and
// epoch (InitProducerId); each batch carries them and a per-partition sequence number, so the
// broker answers a batch it already has with the offsets it got the first time. Such a producer
// retries a batch that failed with a retriable error (a lost connection, a timeout, a moved
// leader, OUT_OF_ORDER_SEQUENCE_NUMBER behind an earlier batch that failed) until its delivery
// timeout, in sequence order: while a partition has a batch being retried, it has one batch in
// flight at a time. A batch that fails for good leaves a gap in its partition's sequence, so the
// producer then asks for a new producer id before it sends new batches (as Java's does).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/protocol/batch_builder.h"
#include "client/client.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::client {

enum class KeylessPlacement : std::uint8_t {
  kSticky,      // fill one partition's batch, then move to another (Java's default since 3.3)
  kRoundRobin,  // each keyless record to the next partition
};

// Java's producer settings by their names.
struct ProducerOptions {
  std::int16_t acks = -1;                        // acks: -1 all voters, 1 leader, 0 no answer
  std::uint32_t batch_size_bytes = 16 * 1024;    // batch.size
  io::Duration linger = io::Duration::ms(5);     // linger.ms
  std::uint64_t buffer_bytes_max = 32 << 20;     // buffer.memory: records queued or in flight
  std::uint32_t request_bytes_max = 1 << 20;     // max.request.size (one batch always fits)
  std::uint32_t in_flight_requests_max = 5;      // max.in.flight.requests.per.connection
  io::Duration max_block = io::Duration::s(60);  // max.block.ms: send() waiting for buffer room
  // delivery.timeout.ms: a batch that found no leader for this long fails.
  io::Duration delivery_timeout = io::Duration::s(120);
  io::Duration retry_backoff = io::Duration::ms(100);  // retry.backoff.ms: between metadata asks
  // enable.idempotence: REQUIRES acks -1 and at most 5 requests in flight per connection (the
  // broker remembers the last five batches of each producer).
  bool enable_idempotence = false;
  KeylessPlacement keyless = KeylessPlacement::kSticky;
  bool allow_auto_topic_creation = true;                             // allow.auto.create.topics
  protocol::Compression compression = protocol::Compression::kNone;  // compression.type
};

struct ProducerRecord {
  std::string topic;
  std::optional<std::int32_t> partition;  // overrides the partitioner
  std::optional<std::string> key;         // null: keyless; an empty key is hashed like any other
  std::optional<std::string> value;
  std::vector<protocol::RecordHeader> headers;
  std::optional<std::int64_t> timestamp_ms;  // default: the wall clock at send()
};

struct RecordMetadata {
  std::int32_t partition = 0;
  std::int64_t offset = -1;  // -1 with acks=0
};

struct ProducerStats {
  std::uint64_t records_sent = 0;
  std::uint64_t batches_sent = 0;
  std::uint64_t requests_sent = 0;
  std::uint64_t batches_retried = 0;  // idempotent: batches sent again after a retriable error
  std::uint64_t producer_ids = 0;     // idempotent: producer ids InitProducerId gave
};

namespace detail {
// A batch's outcome, shared by the Deliveries of its records.
struct BatchOutcome {
  std::int32_t partition = 0;
  std::optional<io::Result<std::int64_t>> base_offset;  // set once, when the batch completes
  io::Instant completed_at;
  io::Event done;  // set from the executor after base_offset, never inline
};
}  // namespace detail

// The promise of one record's outcome. Cheap to copy.
class Delivery {
 public:
  Delivery() = default;
  bool done() const { return outcome_ && outcome_->base_offset.has_value(); }
  // REQUIRES: done(). The record's partition and offset, or its batch's error.
  io::Result<RecordMetadata> result() const;
  // REQUIRES: done(). When the producer learned the outcome, on the io clock.
  io::Instant completed_at() const { return outcome_->completed_at; }
  // Completes with result() once the outcome is known (kCancelled if the producer is destroyed
  // first). REQUIRES: the Delivery came from Producer::send.
  io::Task<io::Result<RecordMetadata>> wait() const { return wait_for(outcome_, index_); }

 private:
  friend class Producer;
  Delivery(std::shared_ptr<detail::BatchOutcome> outcome, std::int32_t index)
      : outcome_(std::move(outcome)), index_(index) {}
  static io::Task<io::Result<RecordMetadata>> wait_for(
      std::shared_ptr<detail::BatchOutcome> outcome, std::int32_t index);

  std::shared_ptr<detail::BatchOutcome> outcome_;
  std::int32_t index_ = 0;
};

class Producer {
 public:
  // REQUIRES: `client` outlives the producer; options are legal (batch size > 0, acks 0/1/-1).
  Producer(Client& client, ProducerOptions options);
  // Fails every record not yet acknowledged with kCancelled (their waiters resume from the
  // executor). REQUIRES: no send(), produce() or flush() of this producer is suspended.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Places the record on a partition and queues it; returns once it is queued (waiting while
  // buffer_bytes_max are queued, at most max_block). The Delivery says later how it went.
  // Errors now: kafka_error of the topic's metadata (kNotFound for an unknown topic), kInvalid
  // (an explicit partition the topic lacks), kTimeout (no buffer room within max_block).
  io::Task<io::Result<Delivery>> send(ProducerRecord record);

  // send() without waiting: queues the record (moving from it) if its topic's partition count is
  // known and the buffer has room; nullopt (the record untouched) when send() would have to wait.
  // A loop of records should try this first: it costs no coroutine frame, and a debug build's
  // stack grows with every co_await that completes without suspending.
  std::optional<io::Result<Delivery>> try_send(ProducerRecord& record);

  // send() and wait for the outcome.
  io::Task<io::Result<RecordMetadata>> produce(ProducerRecord record);

  // Sends every queued record now (without lingering) and waits until none is queued or in
  // flight. Errors: kTimeout after delivery_timeout plus the request timeout.
  io::Task<io::Result<void>> flush();

  const ProducerStats& stats() const { return stats_; }
  const ProducerOptions& options() const { return options_; }

 private:
  struct PendingBatch {
    std::vector<protocol::Record> records;
    std::uint64_t records_bytes = 0;  // estimated, as buffer_bytes_max counts them
    io::Instant created_at;
    bool closed = false;  // full: takes no more records
    std::shared_ptr<detail::BatchOutcome> outcome;
    // Idempotent: set when the batch is first sent, kept for its retries.
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::uint64_t identity_generation = 0;  // which of the producer's ids it carries
    bool retried = false;                   // sent again at least once
    io::Instant retry_at;                   // not before this (retry.backoff.ms)
  };
  struct OutgoingBatch {
    TopicPartition tp;
    PendingBatch batch;
  };
  struct TopicState {
    std::int32_t partitions_count = 0;
    std::int32_t sticky_partition = -1;
    std::uint32_t round_robin_next = 0;
  };
  // Wake-ups go through the executor (never inline), so whoever is resumed can't destroy the
  // producer under the frame that woke it. Shared so a late post never touches a dead producer.
  struct Signals {
    io::Condition sender;    // new, full or expired batches; finished requests; urgency
    io::Condition progress;  // buffer room freed, batches finished (send() and flush() wait)
    bool sender_posted = false;
  };
  // An idempotent producer's sequence numbers and batches of one partition.
  struct Sequences {
    std::uint64_t identity_generation = 0;  // next_sequence counts for this producer id
    std::int32_t next_sequence = 0;
    std::uint32_t in_flight = 0;             // batches in requests in flight
    std::uint64_t in_flight_generation = 0;  // the producer id they carry
    std::uint32_t retrying = 0;              // batches sent again and not yet completed
    // Batches sent and not completed (in flight or queued again), by producer id and sequence.
    std::set<std::pair<std::uint64_t, std::int32_t>> unfinished;
  };
  struct Drained {
    std::map<std::int32_t, std::vector<OutgoingBatch>> by_leader;
    std::vector<OutgoingBatch> expired;  // no leader within delivery_timeout
    std::optional<io::Instant> next_deadline;
    bool leaders_missing = false;
    bool identity_missing = false;  // idempotent batches wait for a producer id
  };
  using BatchResults = std::vector<io::Result<std::int64_t>>;

  io::Task<io::Result<TopicState*>> load_topic(std::string topic);
  io::Result<std::int32_t> choose_partition(const ProducerRecord& record, TopicState& topic,
                                            std::uint64_t size_bytes);
  io::Task<io::Result<void>> wait_for_space(std::uint64_t size_bytes);
  Delivery append(ProducerRecord record, std::int32_t partition, std::uint64_t size_bytes);
  bool has_room(const TopicPartition& tp, std::uint64_t size_bytes) const;
  Drained drain(io::Instant now);
  io::Task<void> run_sender();
  io::Task<void> refresh_metadata();
  io::Task<void> refresh_identity();
  // Idempotent: whether the first batch of `tp` may go out now.
  enum class IdempotentGate : std::uint8_t { kReady, kWait, kNoIdentity };
  IdempotentGate idempotent_gate(const TopicPartition& tp, const PendingBatch& front) const;
  // Idempotent: gives a fresh batch its producer id and sequence, and counts it in flight.
  void assign_sequence(const TopicPartition& tp, PendingBatch& batch);
  // Idempotent: whether a batch that failed with `error` goes out again; if so, it is queued.
  bool requeue(OutgoingBatch& batch, const io::Error& error, io::Instant now);
  // Idempotent: a batch with a sequence completed (failed: with an error).
  void finish_sequence(const OutgoingBatch& batch, bool failed);
  io::Task<void> send_request(std::int32_t node_id, std::vector<OutgoingBatch> batches);
  io::Task<io::Result<BatchResults>> exchange(std::int32_t node_id,
                                              const std::vector<OutgoingBatch>& batches);
  void complete(std::vector<OutgoingBatch>& batches, const io::Result<BatchResults>& results);
  void wake_sender();

  Client& client_;
  io::Env& env_;
  ProducerOptions options_;
  std::map<std::string, TopicState> topics_;
  std::map<TopicPartition, std::deque<PendingBatch>> queues_;
  std::map<std::int32_t, std::uint32_t> requests_in_flight_;  // by broker
  // The outcomes of batches in requests in flight, by request: failed if the producer dies.
  std::map<std::uint64_t, std::vector<std::shared_ptr<detail::BatchOutcome>>> in_flight_;
  std::uint64_t next_request_id_ = 0;
  std::uint64_t buffered_bytes_ = 0;
  std::uint64_t batches_pending_ = 0;  // queued or in flight
  std::uint32_t urgent_ = 0;  // flush() or send() waiting for room: send batches without linger
  io::Instant last_metadata_ask_;
  // Idempotent: the producer id new batches carry; nullopt while none is held (at the start, and
  // after a batch failed for good).
  std::optional<ProducerIdentity> identity_;
  std::uint64_t identity_generation_ = 0;
  io::Instant last_identity_ask_;
  std::map<TopicPartition, Sequences> sequences_;
  ProducerStats stats_;
  std::shared_ptr<Signals> signals_;
  io::TaskScope tasks_;  // the sender and requests in flight; last: destroyed first
};

}  // namespace strand::client
