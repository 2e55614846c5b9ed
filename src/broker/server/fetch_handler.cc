// Fetch (long polling up to max_wait_ms until min_bytes are there) and ListOffsets.
#include <algorithm>

#include "broker/protocol/fetch.h"
#include "broker/protocol/list_offsets.h"
#include "broker/protocol/record_batch.h"
#include "broker/server/kafka_api.h"
#include "broker/server/response.h"
#include "io/timed_wait.h"

namespace strand::server {

namespace {

using protocol::ErrorCode;

// Kafka caps a consumer's wait too (fetch.max.wait.ms is a client setting; the broker bounds it).
constexpr std::int32_t kFetchWaitMsMax = 30'000;

// A replicated partition's leader checks that the fetch is meant for its leadership (KIP-320):
// a client that knows a newer epoch gets UNKNOWN_LEADER_EPOCH, one that knows an older epoch
// FENCED_LEADER_EPOCH; both refresh their metadata. A leader cut off from its quorum (a newer
// leader may exist) does not answer OFFSET_OUT_OF_RANGE for an offset beyond its log, which a
// consumer would take as a reason to reset its position: NOT_LEADER_OR_FOLLOWER instead.
ErrorCode check_fetch_leadership(const cluster::Partition& partition,
                                 const protocol::FetchPartition& wanted) {
  const raft::Replica* replica = partition.replica();
  if (replica == nullptr) return ErrorCode::kNone;
  if (wanted.current_leader_epoch >= 0 && wanted.current_leader_epoch < partition.leader_epoch()) {
    return ErrorCode::kFencedLeaderEpoch;
  }
  if (wanted.current_leader_epoch > partition.leader_epoch()) return ErrorCode::kUnknownLeaderEpoch;
  if (wanted.fetch_offset > partition.log_end_offset() && !replica->quorum_reachable()) {
    return ErrorCode::kNotLeaderOrFollower;
  }
  return ErrorCode::kNone;
}

// One pass over the requested partitions. Returns the bytes gathered; sets `error_seen` if some
// partition answered with an error (which makes Kafka answer at once).
io::Task<std::int64_t> gather(cluster::PartitionManager& partitions,
                              const protocol::FetchRequest& request, bool reads_control_records,
                              protocol::FetchResponse& response, bool& error_seen) {
  std::int64_t bytes_left = std::max<std::int32_t>(request.max_bytes, 0);
  std::int64_t gathered = 0;
  response.responses.clear();
  for (const protocol::FetchTopic& topic : request.topics) {
    protocol::FetchableTopicResponse& topic_out = response.responses.emplace_back();
    topic_out.topic = topic.topic;
    for (const protocol::FetchPartition& wanted : topic.partitions) {
      protocol::FetchPartitionData& out = topic_out.partitions.emplace_back();
      out.partition_index = wanted.partition;
      std::shared_ptr<cluster::Partition> partition =
          partitions.find(storage::TopicPartition{topic.topic, wanted.partition});
      if (!partition) {
        out.error_code = static_cast<std::int16_t>(partitions.missing_partition_error(
            storage::TopicPartition{topic.topic, wanted.partition}));
        error_seen = true;
        continue;
      }
      if (io::Result<void> leading = partition->check_leader(); !leading) {
        out.error_code = static_cast<std::int16_t>(error_code_for(leading.error()));
        error_seen = true;
        continue;
      }
      if (ErrorCode stale = check_fetch_leadership(*partition, wanted); stale != ErrorCode::kNone) {
        out.error_code = static_cast<std::int16_t>(stale);
        error_seen = true;
        continue;
      }
      out.high_watermark = partition->high_watermark();
      out.last_stable_offset = out.high_watermark;  // no transactions yet: LSO = HW
      out.log_start_offset = partition->log_start_offset();
      // The first batch goes out even when it is larger than the limits (KIP-74), so a consumer
      // can always make progress; after that the response budget rules.
      const std::int64_t budget =
          gathered == 0 ? std::max<std::int64_t>(wanted.partition_max_bytes, 1)
                        : std::min<std::int64_t>(wanted.partition_max_bytes, bytes_left);
      if (budget <= 0 || wanted.fetch_offset == out.high_watermark) continue;
      io::Result<std::vector<std::byte>> bytes = co_await partition->read(
          wanted.fetch_offset, static_cast<std::uint32_t>(std::min<std::int64_t>(budget, 1 << 30)));
      if (!bytes) {
        out.error_code = static_cast<std::int16_t>(error_code_for(bytes.error()));
        if (bytes.error().kind == io::ErrorKind::kCorrupt) {
          out.error_code = static_cast<std::int16_t>(ErrorCode::kKafkaStorageError);
        }
        error_seen = true;
        continue;
      }
      // Raft's own control batches keep their offsets, and their records only for clients that
      // skip them (ConnectionContext::reads_control_records).
      if (partition->replica() && !reads_control_records) {
        protocol::strip_control_records(*bytes);
      }
      gathered += static_cast<std::int64_t>(bytes->size());
      bytes_left -= static_cast<std::int64_t>(bytes->size());
      out.records = std::move(*bytes);
    }
  }
  co_return gathered;
}

}  // namespace

io::Task<HandlerResult> KafkaApi::fetch(const Header& header, protocol::Reader& body,
                                        const ConnectionContext& context) {
  protocol::FetchRequest request = protocol::read_fetch_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::FetchResponse response;
  response.session_id = 0;  // sessionless: every request names all its partitions
  const io::Instant start = env_.clock().now();
  const io::Duration max_wait =
      io::Duration::ms(std::clamp(request.max_wait_ms, 0, kFetchWaitMsMax));
  for (std::uint64_t rounds = 0;; ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "each round waits or ends the fetch");
    bool error_seen = false;
    const std::int64_t gathered =
        co_await gather(partitions_, request, context.reads_control_records, response, error_seen);
    const io::Duration waited = env_.clock().now() - start;
    if (error_seen || gathered >= request.min_bytes || waited >= max_wait || stopping_) break;
    (void)co_await io::wait_notified(partitions_.data_arrived(), env_.clock(), max_wait - waited);
  }
  co_return encode(header, response, protocol::write_fetch_response);
}

io::Task<HandlerResult> KafkaApi::list_offsets(const Header& header, protocol::Reader& body) {
  protocol::ListOffsetsRequest request =
      protocol::read_list_offsets_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::ListOffsetsResponse response;
  for (const protocol::ListOffsetsTopic& topic : request.topics) {
    protocol::ListOffsetsTopicResponse& topic_out = response.topics.emplace_back();
    topic_out.name = topic.name;
    for (const protocol::ListOffsetsPartition& wanted : topic.partitions) {
      protocol::ListOffsetsPartitionResponse& out = topic_out.partitions.emplace_back();
      out.partition_index = wanted.partition_index;
      std::shared_ptr<cluster::Partition> partition =
          partitions_.find(storage::TopicPartition{topic.name, wanted.partition_index});
      if (!partition) {
        out.error_code = static_cast<std::int16_t>(partitions_.missing_partition_error(
            storage::TopicPartition{topic.name, wanted.partition_index}));
        continue;
      }
      if (io::Result<void> leading = partition->check_leader(); !leading) {
        out.error_code = static_cast<std::int16_t>(error_code_for(leading.error()));
        continue;
      }
      out.leader_epoch = partition->leader_epoch();
      if (wanted.timestamp == protocol::kEarliestTimestamp) {
        out.offset = partition->log_start_offset();
      } else if (wanted.timestamp == protocol::kLatestTimestamp) {
        out.offset = partition->high_watermark();
      } else if (wanted.timestamp < 0) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::kUnsupportedVersion);
      } else {
        io::Result<std::optional<cluster::Partition::TimestampedOffset>> found =
            co_await partition->offset_for_timestamp(wanted.timestamp);
        if (!found) {
          out.error_code = static_cast<std::int16_t>(error_code_for(found.error()));
        } else if (*found) {
          out.offset = (*found)->offset;
          out.timestamp = (*found)->timestamp;
        }
      }
    }
  }
  co_return encode(header, response, protocol::write_list_offsets_response);
}

}  // namespace strand::server
