// Produce: validate each partition's batch, append them in request order, answer per acks.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/protocol/init_producer_id.h"
#include "broker/protocol/produce.h"
#include "broker/protocol/record_batch.h"
#include "broker/protocol/topic_name.h"
#include "broker/server/kafka_api.h"
#include "broker/server/response.h"
#include "io/task_scope.h"

namespace strand::server {

namespace {

using protocol::ErrorCode;

struct PartitionAppend {
  std::shared_ptr<cluster::Partition> partition;
  std::vector<std::byte> batch;
  protocol::PartitionProduceResponse* out = nullptr;
};

void set_error(protocol::PartitionProduceResponse& out, ErrorCode code, std::string message) {
  out.error_code = static_cast<std::int16_t>(code);
  out.error_message = std::move(message);
}

// Kafka's rule from Produce v3 on: exactly one v2 batch per partition. Returns the error to
// answer, or kNone.
ErrorCode check_records(std::span<const std::byte> records, bool records_null,
                        std::int32_t message_max_bytes, std::string& message) {
  if (records_null || records.empty()) {
    message = "no records";
    return ErrorCode::kInvalidRecord;
  }
  if (records.size() > static_cast<std::size_t>(message_max_bytes)) {
    message = "batch of " + std::to_string(records.size()) + " bytes exceeds message.max.bytes " +
              std::to_string(message_max_bytes);
    return ErrorCode::kMessageTooLarge;
  }
  io::Result<std::uint32_t> size = protocol::RecordBatchView::peek_size(records);
  if (!size) {
    message = size.error().message;
    return ErrorCode::kCorruptMessage;
  }
  if (*size != records.size()) {
    message = "produce requests must hold exactly one record batch per partition";
    return ErrorCode::kInvalidRecord;
  }
  return ErrorCode::kNone;
}

io::Task<void> run_append(PartitionAppend& append, cluster::Acks acks, io::Duration timeout) {
  cluster::Partition::Produced produced =
      co_await append.partition->produce(std::move(append.batch), acks, timeout);
  if (produced.refused != ErrorCode::kNone) {
    set_error(*append.out, produced.refused, "refused by the idempotent producer's sequence");
  } else if (produced.appended) {
    append.out->base_offset = produced.appended->base_offset;
    append.out->log_start_offset = append.partition->log_start_offset();
  } else {
    set_error(*append.out, error_code_for(produced.appended.error()),
              produced.appended.error().message);
  }
}

}  // namespace

io::Task<HandlerResult> KafkaApi::produce(const Header& header, protocol::Reader& body,
                                          ConnectionContext& context) {
  protocol::ProduceRequest request = protocol::read_produce_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::ProduceResponse response;
  const bool acks_valid = request.acks == 0 || request.acks == 1 || request.acks == -1;
  const bool transactional = request.transactional_id.has_value();
  std::vector<PartitionAppend> appends;
  // Reserve first: appends point into the response.
  std::size_t partitions_count = 0;
  for (const protocol::TopicProduceData& topic : request.topic_data) {
    partitions_count += topic.partition_data.size();
  }
  appends.reserve(partitions_count);
  response.responses.reserve(request.topic_data.size());
  for (const protocol::TopicProduceData& topic : request.topic_data) {
    protocol::TopicProduceResponse& topic_out = response.responses.emplace_back();
    topic_out.name = topic.name;
    topic_out.partition_responses.reserve(topic.partition_data.size());
    for (const protocol::PartitionProduceData& data : topic.partition_data) {
      protocol::PartitionProduceResponse& out = topic_out.partition_responses.emplace_back();
      out.index = data.index;
      std::string message;
      std::shared_ptr<cluster::Partition> partition =
          partitions_.find(storage::TopicPartition{topic.name, data.index});
      if (!acks_valid) {
        set_error(out, ErrorCode::kInvalidRequiredAcks, "acks must be 0, 1 or -1");
      } else if (transactional) {
        set_error(out, ErrorCode::kInvalidRequest, "transactions are not supported yet");
      } else if (protocol::is_internal_topic(topic.name)) {
        // Only the group coordinator writes there (Kafka refuses clients the same way).
        set_error(out, ErrorCode::kInvalidTopicException,
                  "cannot append to internal topic " + topic.name);
      } else if (!partition) {
        const storage::TopicPartition tp{topic.name, data.index};
        set_error(out, partitions_.missing_partition_error(tp),
                  "topic or partition " + topic.name + "-" + std::to_string(data.index) +
                      " is not served here");
      } else if (ErrorCode writable = partition->check_writable(
                     static_cast<cluster::Acks>(request.acks), config_.min_insync_replicas);
                 writable != ErrorCode::kNone) {
        set_error(out, writable,
                  writable == ErrorCode::kNotEnoughReplicas
                      ? "too few replicas of " + topic.name + "-" + std::to_string(data.index) +
                            " answer for acks=all"
                      : "not the leader of " + topic.name + "-" + std::to_string(data.index));
      } else if (ErrorCode code = check_records(data.records, data.records_null,
                                                config_.message_max_bytes, message);
                 code != ErrorCode::kNone) {
        set_error(out, code, message);
      } else if (data.records.size() > partitions_.topic_log_config(topic.name).segment_bytes) {
        set_error(out, ErrorCode::kRecordListTooLarge,
                  "batch of " + std::to_string(data.records.size()) +
                      " bytes is larger than the topic's segment.bytes");
      } else {
        appends.push_back(PartitionAppend{
            std::move(partition), {data.records.begin(), data.records.end()}, &out});
      }
    }
  }
  const auto acks = static_cast<cluster::Acks>(request.acks);
  const io::Duration timeout = io::Duration::ms(std::clamp(request.timeout_ms, 1, 300'000));
  {
    io::TaskScope running;
    {
      // Issue the appends in request order (each queues its batch before it first suspends);
      // waiting for them, and for the sync, happens after the next request may start.
      io::Mutex::Guard ordered = co_await context.ordering.lock();
      for (PartitionAppend& append : appends) running.spawn(run_append(append, acks, timeout));
    }
    co_await running.join();
  }
  bool refused = false;
  for (const protocol::TopicProduceResponse& topic : response.responses) {
    for (const protocol::PartitionProduceResponse& out : topic.partition_responses) {
      if (out.error_code != 0) {
        refused = true;
        spdlog::debug("produce to {}-{} refused: {}", topic.name, out.index,
                      out.error_message.value_or(""));
      }
    }
  }
  // acks=0 gets no answer, so (as Kafka does) a refusal closes the connection: that is the only
  // way the producer learns it must refresh its metadata (e.g. NOT_LEADER_OR_FOLLOWER after a
  // leader moved), instead of sending to a follower forever.
  if (request.acks == 0) co_return HandlerResult{std::nullopt, refused};
  co_return encode(header, response, protocol::write_produce_response);
}

}  // namespace strand::server

namespace strand::server {

// Idempotent producers only: a transactional id is refused (transactions are not supported), and
// a producer asking for its epoch to be bumped (v3+) gets a fresh id instead, which serves the same
// purpose (its sequences start again).
io::Task<HandlerResult> KafkaApi::init_producer_id(const Header& header, protocol::Reader& body) {
  protocol::InitProducerIdRequest request =
      protocol::read_init_producer_id_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::InitProducerIdResponse response;
  if (request.transactional_id) {
    response.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidRequest);
  } else {
    io::Result<std::int64_t> id = co_await producer_ids_.next();
    if (id) {
      response.producer_id = *id;
      response.producer_epoch = 0;
    } else {
      spdlog::error("InitProducerId: {}", id.error().to_string());
      response.error_code = static_cast<std::int16_t>(ErrorCode::kKafkaStorageError);
    }
  }
  co_return encode(header, response, protocol::write_init_producer_id_response);
}

}  // namespace strand::server
