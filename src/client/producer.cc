#include "client/producer.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "broker/protocol/error_code.h"
#include "broker/protocol/produce.h"
#include "broker/protocol/record_batch.h"
#include "client/partitioner.h"
#include "io/timed_wait.h"

namespace strand::client {

namespace {

using protocol::ErrorCode;

constexpr std::int16_t kProduceVersion = 8;

// A record's framing beside its key, value and headers (length, attributes, deltas, counts),
// about what Kafka's own estimate allows.
constexpr std::uint64_t kRecordOverheadBytes = 21;

std::uint64_t estimate_size(const ProducerRecord& record) {
  std::uint64_t size = kRecordOverheadBytes;
  if (record.key) size += record.key->size();
  if (record.value) size += record.value->size();
  for (const protocol::RecordHeader& header : record.headers) {
    size += 2 + header.key.size() + (header.value ? header.value->size() : 0);
  }
  return size;
}

constexpr std::int16_t code(ErrorCode error) { return static_cast<std::int16_t>(error); }

}  // namespace

io::Result<RecordMetadata> Delivery::result() const {
  STRAND_ASSERT(done(), "result() of a delivery still in flight");
  const io::Result<std::int64_t>& base_offset = *outcome_->base_offset;
  if (!base_offset) return base_offset.error();
  const std::int64_t offset = *base_offset < 0 ? -1 : *base_offset + index_;
  return RecordMetadata{outcome_->partition, offset};
}

io::Task<io::Result<RecordMetadata>> Delivery::wait_for(
    std::shared_ptr<detail::BatchOutcome> outcome, std::int32_t index) {
  STRAND_ASSERT(outcome != nullptr, "waiting for a delivery that no producer made");
  if (!outcome->base_offset) co_await outcome->done.wait();
  const Delivery delivery(std::move(outcome), index);
  co_return delivery.result();
}

Producer::Producer(Client& client, ProducerOptions options)
    : client_(client),
      env_(client.env()),
      options_(std::move(options)),
      signals_(std::make_shared<Signals>()) {
  STRAND_ASSERT(options_.acks == 0 || options_.acks == 1 || options_.acks == -1,
                "acks is 0, 1 or -1");
  STRAND_ASSERT(options_.batch_size_bytes > 0, "a batch holds at least one record");
  STRAND_ASSERT(options_.in_flight_requests_max > 0, "at least one request may be in flight");
  STRAND_ASSERT(
      !options_.enable_idempotence || (options_.acks == -1 && options_.in_flight_requests_max <= 5),
      "an idempotent producer uses acks=all and at most 5 requests in flight");
  last_metadata_ask_ = env_.clock().now() - options_.retry_backoff;
  last_identity_ask_ = last_metadata_ask_;
  tasks_.spawn(run_sender());
}

Producer::~Producer() {
  tasks_.cancel();
  std::vector<std::shared_ptr<detail::BatchOutcome>> orphans;
  for (auto& [tp, queue] : queues_) {
    for (PendingBatch& batch : queue) orphans.push_back(batch.outcome);
  }
  for (auto& [id, outcomes] : in_flight_) {
    orphans.insert(orphans.end(), outcomes.begin(), outcomes.end());
  }
  if (orphans.empty()) return;
  const io::Instant now = env_.clock().now();
  for (std::shared_ptr<detail::BatchOutcome>& outcome : orphans) {
    if (outcome->base_offset) continue;
    outcome->base_offset.emplace(
        io::Error{io::ErrorKind::kCancelled, "the producer was destroyed before an answer came"});
    outcome->completed_at = now;
  }
  env_.executor().post([orphans] {
    for (const std::shared_ptr<detail::BatchOutcome>& outcome : orphans) outcome->done.set();
  });
}

std::optional<io::Result<Delivery>> Producer::try_send(ProducerRecord& record) {
  auto topic = topics_.find(record.topic);
  if (topic == topics_.end()) return std::nullopt;
  const std::uint64_t size_bytes = estimate_size(record);
  if (buffered_bytes_ > 0 && buffered_bytes_ + size_bytes > options_.buffer_bytes_max) {
    return std::nullopt;
  }
  io::Result<std::int32_t> partition = choose_partition(record, topic->second, size_bytes);
  if (!partition) return std::move(partition).error();
  return append(std::move(record), *partition, size_bytes);
}

io::Task<io::Result<Delivery>> Producer::send(ProducerRecord record) {
  std::optional<io::Result<Delivery>> queued = try_send(record);
  if (queued) co_return std::move(*queued);
  if (!topics_.contains(record.topic)) {
    io::Result<TopicState*> loaded = co_await load_topic(record.topic);
    if (!loaded) co_return std::move(loaded).error();
  }
  const std::uint64_t size_bytes = estimate_size(record);
  if (buffered_bytes_ > 0 && buffered_bytes_ + size_bytes > options_.buffer_bytes_max) {
    io::Result<void> room = co_await wait_for_space(size_bytes);
    if (!room) co_return std::move(room).error();
  }
  // No suspension from here on: the partition is chosen against the queues as they are now.
  io::Result<std::int32_t> partition =
      choose_partition(record, topics_.at(record.topic), size_bytes);
  if (!partition) co_return std::move(partition).error();
  co_return append(std::move(record), *partition, size_bytes);
}

io::Task<io::Result<RecordMetadata>> Producer::produce(ProducerRecord record) {
  io::Result<Delivery> delivery = co_await send(std::move(record));
  if (!delivery) co_return std::move(delivery).error();
  io::Result<RecordMetadata> metadata = co_await delivery->wait();
  co_return std::move(metadata);
}

io::Task<io::Result<void>> Producer::flush() {
  urgent_ += 1;
  wake_sender();
  const io::Instant deadline =
      env_.clock().now() + options_.delivery_timeout + client_.options().request_timeout;
  io::Result<void> result = io::ok();
  while (batches_pending_ > 0) {
    const io::Instant now = env_.clock().now();
    if (now >= deadline) {
      result = io::Error{io::ErrorKind::kTimeout, std::to_string(batches_pending_) +
                                                      " batches still unanswered after flush"};
      break;
    }
    const bool notified =
        co_await io::wait_notified(signals_->progress, env_.clock(), deadline - now);
    (void)notified;
  }
  urgent_ -= 1;
  co_return result;
}

io::Task<io::Result<Producer::TopicState*>> Producer::load_topic(std::string topic) {
  const io::Instant deadline = env_.clock().now() + options_.max_block;
  // A topic just auto-created may have no leaders yet; ask again until max_block.
  for (;;) {
    io::Result<std::int32_t> count =
        co_await client_.partitions_count(topic, options_.allow_auto_topic_creation);
    if (count) {
      TopicState& state = topics_[topic];
      state.partitions_count = *count;
      co_return &state;
    }
    const bool transient = has_kafka_code(count.error(), code(ErrorCode::kLeaderNotAvailable));
    if (!transient || env_.clock().now() + options_.retry_backoff >= deadline) {
      co_return std::move(count).error();
    }
    co_await env_.clock().sleep(options_.retry_backoff);
  }
}

io::Task<io::Result<void>> Producer::wait_for_space(std::uint64_t size_bytes) {
  const io::Instant deadline = env_.clock().now() + options_.max_block;
  // While someone waits for room, lingering only keeps the buffer full: send at once.
  urgent_ += 1;
  wake_sender();
  io::Result<void> result = io::ok();
  while (buffered_bytes_ > 0 && buffered_bytes_ + size_bytes > options_.buffer_bytes_max) {
    const io::Instant now = env_.clock().now();
    if (now >= deadline) {
      result = io::Error{io::ErrorKind::kTimeout,
                         "no room in the producer's buffer within max_block (" +
                             std::to_string(buffered_bytes_) + " bytes waiting)"};
      break;
    }
    const bool notified =
        co_await io::wait_notified(signals_->progress, env_.clock(), deadline - now);
    (void)notified;
  }
  urgent_ -= 1;
  co_return result;
}

bool Producer::has_room(const TopicPartition& tp, std::uint64_t size_bytes) const {
  auto queue = queues_.find(tp);
  if (queue == queues_.end() || queue->second.empty()) return false;
  const PendingBatch& open = queue->second.back();
  return !open.closed &&
         protocol::kBatchHeaderBytes + open.records_bytes + size_bytes <= options_.batch_size_bytes;
}

io::Result<std::int32_t> Producer::choose_partition(const ProducerRecord& record, TopicState& topic,
                                                    std::uint64_t size_bytes) {
  const std::int32_t count = topic.partitions_count;
  STRAND_ASSERT(count > 0, "a known topic has partitions");
  if (record.partition) {
    if (*record.partition < 0 || *record.partition >= count) {
      return io::Error{io::ErrorKind::kInvalid, "partition " + std::to_string(*record.partition) +
                                                    " of topic '" + record.topic + "', which has " +
                                                    std::to_string(count)};
    }
    return *record.partition;
  }
  if (record.key) {
    const auto* bytes = reinterpret_cast<const std::byte*>(record.key->data());
    return partition_for_key(std::span<const std::byte>(bytes, record.key->size()), count);
  }
  if (options_.keyless == KeylessPlacement::kRoundRobin) {
    const auto partition = static_cast<std::int32_t>(topic.round_robin_next % count);
    topic.round_robin_next += 1;
    return partition;
  }
  const std::int32_t current = topic.sticky_partition;
  if (current >= 0 && current < count &&
      has_room(TopicPartition{record.topic, current}, size_bytes)) {
    return current;
  }
  // Move on to another partition, chosen at random among the others.
  std::int32_t next = 0;
  if (current < 0 || current >= count) {
    next = static_cast<std::int32_t>(env_.rng().uniform(static_cast<std::uint64_t>(count)));
  } else if (count > 1) {
    next = static_cast<std::int32_t>(env_.rng().uniform(static_cast<std::uint64_t>(count - 1)));
    if (next >= current) next += 1;
  }
  topic.sticky_partition = next;
  return next;
}

Delivery Producer::append(ProducerRecord record, std::int32_t partition, std::uint64_t size_bytes) {
  std::deque<PendingBatch>& queue = queues_[TopicPartition{record.topic, partition}];
  bool wake = false;
  if (queue.empty() || queue.back().closed ||
      (!queue.back().records.empty() &&
       protocol::kBatchHeaderBytes + queue.back().records_bytes + size_bytes >
           options_.batch_size_bytes)) {
    if (!queue.empty()) queue.back().closed = true;
    PendingBatch& fresh = queue.emplace_back();
    fresh.created_at = env_.clock().now();
    fresh.outcome = std::make_shared<detail::BatchOutcome>();
    fresh.outcome->partition = partition;
    batches_pending_ += 1;
    wake = true;  // the sender learns the new linger deadline
  }
  PendingBatch& batch = queue.back();
  protocol::Record& out = batch.records.emplace_back();
  out.key = std::move(record.key);
  out.value = std::move(record.value);
  out.headers = std::move(record.headers);
  out.timestamp_ms = record.timestamp_ms ? *record.timestamp_ms : env_.clock().wall_ms();
  batch.records_bytes += size_bytes;
  buffered_bytes_ += size_bytes;
  if (protocol::kBatchHeaderBytes + batch.records_bytes >= options_.batch_size_bytes) {
    batch.closed = true;
    wake = true;
  }
  if (wake) wake_sender();
  return Delivery(batch.outcome, static_cast<std::int32_t>(batch.records.size() - 1));
}

void Producer::wake_sender() {
  if (signals_->sender_posted) return;
  signals_->sender_posted = true;
  env_.executor().post([signals = signals_] {
    signals->sender_posted = false;
    signals->sender.notify_all();
  });
}

// At most one batch per partition per request (Kafka's rule), the oldest first; a request to a
// broker only while it has fewer than in_flight_requests_max, and at most request_bytes_max.
Producer::Drained Producer::drain(io::Instant now) {
  Drained out;
  std::map<std::int32_t, std::uint64_t> request_bytes;
  for (auto& [tp, queue] : queues_) {
    if (queue.empty()) continue;
    PendingBatch& front = queue.front();
    const io::Instant due = front.created_at + options_.linger;
    if (!front.closed && queue.size() == 1 && urgent_ == 0 && now < due) {
      out.next_deadline = out.next_deadline ? std::min(*out.next_deadline, due) : due;
      continue;
    }
    if (now < front.retry_at) {
      out.next_deadline =
          out.next_deadline ? std::min(*out.next_deadline, front.retry_at) : front.retry_at;
      continue;
    }
    const bool expired = now - front.created_at >= options_.delivery_timeout;
    if (options_.enable_idempotence) {
      const IdempotentGate gate = idempotent_gate(tp, front);
      if (gate == IdempotentGate::kWait) continue;  // a finished request wakes the sender
      if (gate == IdempotentGate::kNoIdentity) {
        if (expired) {
          out.expired.push_back(OutgoingBatch{tp, std::move(front)});
          queue.pop_front();
        } else {
          out.identity_missing = true;
        }
        continue;
      }
    }
    const std::optional<std::int32_t> leader = client_.cached_leader(tp);
    if (!leader) {
      if (expired) {
        out.expired.push_back(OutgoingBatch{tp, std::move(front)});
        queue.pop_front();
      } else {
        out.leaders_missing = true;
      }
      continue;
    }
    if (!out.by_leader.contains(*leader) &&
        requests_in_flight_[*leader] >= options_.in_flight_requests_max) {
      continue;  // a finished request wakes the sender
    }
    const std::uint64_t size = protocol::kBatchHeaderBytes + front.records_bytes;
    std::uint64_t& bytes = request_bytes[*leader];
    if (bytes > 0 && bytes + size > options_.request_bytes_max) continue;  // the next request
    bytes += size;
    if (options_.enable_idempotence) assign_sequence(tp, front);
    out.by_leader[*leader].push_back(OutgoingBatch{tp, std::move(front)});
    queue.pop_front();
  }
  return out;
}

// Runs for the producer's life: drains what is ready, sends it, and sleeps until the next
// linger deadline or a wake-up.
io::Task<void> Producer::run_sender() {
  for (;;) {
    const io::Instant now = env_.clock().now();
    Drained drained = drain(now);
    if (!drained.expired.empty()) {
      const io::Result<BatchResults> expired = kafka_error(code(ErrorCode::kLeaderNotAvailable),
                                                           "no leader within the delivery timeout");
      complete(drained.expired, expired);
    }
    for (auto& [leader, batches] : drained.by_leader) {
      requests_in_flight_[leader] += 1;
      tasks_.spawn(send_request(leader, std::move(batches)));
    }
    if (!drained.by_leader.empty()) continue;
    const io::Instant next_ask = last_metadata_ask_ + options_.retry_backoff;
    if (drained.leaders_missing && now >= next_ask) {
      last_metadata_ask_ = now;
      co_await refresh_metadata();
      continue;
    }
    const io::Instant next_identity_ask = last_identity_ask_ + options_.retry_backoff;
    if (drained.identity_missing && now >= next_identity_ask) {
      last_identity_ask_ = now;
      co_await refresh_identity();
      continue;
    }
    std::optional<io::Instant> deadline = drained.next_deadline;
    if (drained.leaders_missing) deadline = deadline ? std::min(*deadline, next_ask) : next_ask;
    if (drained.identity_missing) {
      deadline = deadline ? std::min(*deadline, next_identity_ask) : next_identity_ask;
    }
    if (deadline) {
      const bool notified =
          co_await io::wait_notified(signals_->sender, env_.clock(), *deadline - now);
      (void)notified;
    } else {
      co_await signals_->sender.wait();
    }
  }
}

io::Task<void> Producer::refresh_metadata() {
  std::vector<std::string> names;
  for (const auto& [name, state] : topics_) names.push_back(name);
  // Errors need no handling here: batches that still find no leader expire.
  io::Result<ClusterMetadata> refreshed =
      co_await client_.metadata(std::move(names), options_.allow_auto_topic_creation);
  (void)refreshed;
}

io::Task<void> Producer::refresh_identity() {
  // A failure needs no handling here: batches wait for an id until their delivery timeout.
  io::Result<ProducerIdentity> identity = co_await client_.init_producer_id();
  if (!identity) co_return;
  identity_ = *identity;
  identity_generation_ += 1;
  stats_.producer_ids += 1;
}

Producer::IdempotentGate Producer::idempotent_gate(const TopicPartition& tp,
                                                   const PendingBatch& front) const {
  auto found = sequences_.find(tp);
  const Sequences* sequences = found == sequences_.end() ? nullptr : &found->second;
  const std::uint32_t in_flight = sequences == nullptr ? 0 : sequences->in_flight;
  // A retry goes out alone, so that the batches after it can't overtake it.
  if (front.base_sequence >= 0)
    return in_flight == 0 ? IdempotentGate::kReady : IdempotentGate::kWait;
  if (!identity_) return IdempotentGate::kNoIdentity;
  // While a batch is being retried, or batches of an earlier producer id are in flight, one
  // batch at a time.
  if (in_flight > 0 &&
      (sequences->retrying > 0 || sequences->in_flight_generation != identity_generation_)) {
    return IdempotentGate::kWait;
  }
  return IdempotentGate::kReady;
}

void Producer::assign_sequence(const TopicPartition& tp, PendingBatch& batch) {
  Sequences& sequences = sequences_[tp];
  if (batch.base_sequence < 0) {
    STRAND_ASSERT(identity_.has_value(), "a fresh idempotent batch goes out with a producer id");
    if (sequences.identity_generation != identity_generation_) {
      sequences.identity_generation = identity_generation_;
      sequences.next_sequence = 0;
    }
    batch.producer_id = identity_->id;
    batch.producer_epoch = identity_->epoch;
    batch.identity_generation = identity_generation_;
    batch.base_sequence = sequences.next_sequence;
    // Sequences wrap to 0 after the largest int32, as Kafka's do.
    const std::int64_t next =
        std::int64_t{sequences.next_sequence} + static_cast<std::int64_t>(batch.records.size());
    sequences.next_sequence = static_cast<std::int32_t>(
        next % (std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1));
    sequences.unfinished.insert({batch.identity_generation, batch.base_sequence});
  }
  sequences.in_flight += 1;
  sequences.in_flight_generation = batch.identity_generation;
}

bool Producer::requeue(OutgoingBatch& outgoing, const io::Error& error, io::Instant now) {
  PendingBatch& batch = outgoing.batch;
  if (now - batch.created_at >= options_.delivery_timeout) return false;
  Sequences& sequences = sequences_[outgoing.tp];
  const std::pair<std::uint64_t, std::int32_t> key{batch.identity_generation, batch.base_sequence};
  bool retriable = is_retriable(error);
  if (!retriable && has_kafka_code(error, code(ErrorCode::kOutOfOrderSequenceNumber))) {
    // Behind an earlier batch that failed and is being sent again: the gap closes when it lands.
    retriable = !sequences.unfinished.empty() && *sequences.unfinished.begin() != key;
  }
  if (!retriable) return false;
  batch.closed = true;
  batch.retry_at = now + options_.retry_backoff;
  if (!batch.retried) {
    batch.retried = true;
    sequences.retrying += 1;
  }
  stats_.batches_retried += 1;
  // Retries go first, in the order of their producer ids and sequences.
  std::deque<PendingBatch>& queue = queues_[outgoing.tp];
  auto at = std::find_if(queue.begin(), queue.end(), [&](const PendingBatch& queued) {
    return queued.base_sequence < 0 ||
           std::pair(queued.identity_generation, queued.base_sequence) > key;
  });
  queue.insert(at, std::move(batch));
  return true;
}

void Producer::finish_sequence(const OutgoingBatch& outgoing, bool failed) {
  const PendingBatch& batch = outgoing.batch;
  Sequences& sequences = sequences_[outgoing.tp];
  sequences.unfinished.erase({batch.identity_generation, batch.base_sequence});
  if (batch.retried) {
    STRAND_ASSERT(sequences.retrying > 0, "a retried batch was counted");
    sequences.retrying -= 1;
  }
  // A batch that failed for good leaves a gap at the broker: new batches need a new producer id.
  if (failed && batch.identity_generation == identity_generation_) identity_.reset();
}

io::Task<void> Producer::send_request(std::int32_t node_id, std::vector<OutgoingBatch> batches) {
  const std::uint64_t request_id = next_request_id_++;
  std::vector<std::shared_ptr<detail::BatchOutcome>>& outcomes = in_flight_[request_id];
  for (const OutgoingBatch& batch : batches) {
    outcomes.push_back(batch.batch.outcome);
    stats_.records_sent += batch.batch.records.size();
  }
  stats_.batches_sent += batches.size();
  stats_.requests_sent += 1;
  io::Result<BatchResults> results = co_await exchange(node_id, batches);
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const io::Error* failed = !results         ? &results.error()
                              : !(*results)[i] ? &(*results)[i].error()
                                               : nullptr;
    if (failed != nullptr && Client::leader_may_have_moved(*failed)) {
      client_.forget_leader(batches[i].tp);
    }
  }
  in_flight_.erase(request_id);
  STRAND_ASSERT(requests_in_flight_[node_id] > 0, "a finished request was counted");
  requests_in_flight_[node_id] -= 1;
  if (!options_.enable_idempotence) {
    complete(batches, results);
    co_return;
  }
  // Idempotent: batches that failed with a retriable error go back to their queues.
  const io::Instant now = env_.clock().now();
  std::vector<OutgoingBatch> finished;
  BatchResults finished_results;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    Sequences& sequences = sequences_[batches[i].tp];
    STRAND_ASSERT(sequences.in_flight > 0, "a batch in flight was counted");
    sequences.in_flight -= 1;
    io::Result<std::int64_t> result = results ? (*results)[i] : results.error();
    if (!result && requeue(batches[i], result.error(), now)) continue;
    finished.push_back(std::move(batches[i]));
    finished_results.push_back(std::move(result));
  }
  complete(finished, finished_results);
}

io::Task<io::Result<Producer::BatchResults>> Producer::exchange(
    std::int32_t node_id, const std::vector<OutgoingBatch>& batches) {
  protocol::ProduceRequest request;
  request.acks = options_.acks;
  request.timeout_ms = static_cast<std::int32_t>(client_.options().request_timeout.count_ms());
  std::vector<std::vector<std::byte>> encoded;
  encoded.reserve(batches.size());
  for (const OutgoingBatch& batch : batches) {
    protocol::BatchOptions batch_options;
    batch_options.compression = options_.compression;
    batch_options.producer_id = batch.batch.producer_id;
    batch_options.producer_epoch = batch.batch.producer_epoch;
    batch_options.base_sequence = batch.batch.base_sequence;
    encoded.push_back(protocol::build_batch(batch.batch.records, batch_options));
    // Batches come in partition order, so a topic's batches are adjacent.
    if (request.topic_data.empty() || request.topic_data.back().name != batch.tp.topic) {
      request.topic_data.emplace_back().name = batch.tp.topic;
    }
    request.topic_data.back().partition_data.push_back({batch.tp.partition, encoded.back(), false});
  }
  protocol::Writer writer;
  protocol::write_produce_request(writer, request, kProduceVersion);
  std::vector<std::byte> body = writer.take();
  encoded.clear();
  io::Result<std::shared_ptr<KafkaConnection>> connection = co_await client_.connection_to(node_id);
  if (!connection) co_return std::move(connection).error();
  if (options_.acks == 0) {
    io::Result<void> sent =
        co_await (*connection)->send(protocol::ApiKey::kProduce, kProduceVersion, std::move(body));
    if (!sent) co_return std::move(sent).error();
    co_return BatchResults(batches.size(), std::int64_t{-1});
  }
  io::Result<std::vector<std::byte>> answer =
      co_await client_.call(*connection, protocol::ApiKey::kProduce, kProduceVersion,
                            std::move(body), client_.options().request_timeout);
  if (!answer) co_return std::move(answer).error();
  protocol::Reader reader(*answer);
  const protocol::ProduceResponse response =
      protocol::read_produce_response(reader, kProduceVersion);
  if (!reader.ok()) co_return reader.status().error();
  BatchResults results;
  for (const OutgoingBatch& batch : batches) {
    const protocol::PartitionProduceResponse* found = nullptr;
    for (const protocol::TopicProduceResponse& topic : response.responses) {
      if (topic.name != batch.tp.topic) continue;
      for (const protocol::PartitionProduceResponse& partition : topic.partition_responses) {
        if (partition.index == batch.tp.partition) found = &partition;
      }
    }
    if (found == nullptr) {
      results.push_back(
          io::Error{io::ErrorKind::kCorrupt, "Produce did not answer for " + batch.tp.to_string()});
    } else if (found->error_code != 0) {
      std::string context = batch.tp.to_string();
      if (found->error_message) context += " (" + *found->error_message + ")";
      results.push_back(kafka_error(found->error_code, context));
    } else {
      results.push_back(found->base_offset);
    }
  }
  co_return std::move(results);
}

void Producer::complete(std::vector<OutgoingBatch>& batches,
                        const io::Result<BatchResults>& results) {
  STRAND_ASSERT(!results || results->size() == batches.size(), "one result per batch");
  const io::Instant now = env_.clock().now();
  std::vector<std::shared_ptr<detail::BatchOutcome>> outcomes;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    PendingBatch& batch = batches[i].batch;
    STRAND_ASSERT(!batch.outcome->base_offset, "a batch completes once");
    batch.outcome->base_offset.emplace(results ? (*results)[i] : results.error());
    if (batch.base_sequence >= 0)
      finish_sequence(batches[i], !batch.outcome->base_offset->ok());
    batch.outcome->completed_at = now;
    STRAND_ASSERT(buffered_bytes_ >= batch.records_bytes && batches_pending_ > 0,
                  "a completed batch was counted as buffered");
    buffered_bytes_ -= batch.records_bytes;
    batches_pending_ -= 1;
    outcomes.push_back(batch.outcome);
  }
  env_.executor().post([signals = signals_, outcomes = std::move(outcomes)] {
    for (const std::shared_ptr<detail::BatchOutcome>& outcome : outcomes) outcome->done.set();
    signals->progress.notify_all();
    signals->sender.notify_all();
  });
}

}  // namespace strand::client
