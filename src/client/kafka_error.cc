#include "client/kafka_error.h"

#include <array>
#include <string>

#include "broker/protocol/error_code.h"
#include "io/assert.h"

namespace strand::client {

namespace {

using protocol::ErrorCode;

// Kafka's Errors enum, codes 0 to 89, by code.
constexpr std::array<std::string_view, 90> kErrorNames = {
    "NONE",
    "OFFSET_OUT_OF_RANGE",
    "CORRUPT_MESSAGE",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "INVALID_FETCH_SIZE",
    "LEADER_NOT_AVAILABLE",
    "NOT_LEADER_OR_FOLLOWER",
    "REQUEST_TIMED_OUT",
    "BROKER_NOT_AVAILABLE",
    "REPLICA_NOT_AVAILABLE",
    "MESSAGE_TOO_LARGE",
    "STALE_CONTROLLER_EPOCH",
    "OFFSET_METADATA_TOO_LARGE",
    "NETWORK_EXCEPTION",
    "COORDINATOR_LOAD_IN_PROGRESS",
    "COORDINATOR_NOT_AVAILABLE",
    "NOT_COORDINATOR",
    "INVALID_TOPIC_EXCEPTION",
    "RECORD_LIST_TOO_LARGE",
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "INVALID_REQUIRED_ACKS",
    "ILLEGAL_GENERATION",
    "INCONSISTENT_GROUP_PROTOCOL",
    "INVALID_GROUP_ID",
    "UNKNOWN_MEMBER_ID",
    "INVALID_SESSION_TIMEOUT",
    "REBALANCE_IN_PROGRESS",
    "INVALID_COMMIT_OFFSET_SIZE",
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "CLUSTER_AUTHORIZATION_FAILED",
    "INVALID_TIMESTAMP",
    "UNSUPPORTED_SASL_MECHANISM",
    "ILLEGAL_SASL_STATE",
    "UNSUPPORTED_VERSION",
    "TOPIC_ALREADY_EXISTS",
    "INVALID_PARTITIONS",
    "INVALID_REPLICATION_FACTOR",
    "INVALID_REPLICA_ASSIGNMENT",
    "INVALID_CONFIG",
    "NOT_CONTROLLER",
    "INVALID_REQUEST",
    "UNSUPPORTED_FOR_MESSAGE_FORMAT",
    "POLICY_VIOLATION",
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "DUPLICATE_SEQUENCE_NUMBER",
    "INVALID_PRODUCER_EPOCH",
    "INVALID_TXN_STATE",
    "INVALID_PRODUCER_ID_MAPPING",
    "INVALID_TRANSACTION_TIMEOUT",
    "CONCURRENT_TRANSACTIONS",
    "TRANSACTION_COORDINATOR_FENCED",
    "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    "SECURITY_DISABLED",
    "OPERATION_NOT_ATTEMPTED",
    "KAFKA_STORAGE_ERROR",
    "LOG_DIR_NOT_FOUND",
    "SASL_AUTHENTICATION_FAILED",
    "UNKNOWN_PRODUCER_ID",
    "REASSIGNMENT_IN_PROGRESS",
    "DELEGATION_TOKEN_AUTH_DISABLED",
    "DELEGATION_TOKEN_NOT_FOUND",
    "DELEGATION_TOKEN_OWNER_MISMATCH",
    "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
    "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
    "DELEGATION_TOKEN_EXPIRED",
    "INVALID_PRINCIPAL_TYPE",
    "NON_EMPTY_GROUP",
    "GROUP_ID_NOT_FOUND",
    "FETCH_SESSION_ID_NOT_FOUND",
    "INVALID_FETCH_SESSION_EPOCH",
    "LISTENER_NOT_FOUND",
    "TOPIC_DELETION_DISABLED",
    "FENCED_LEADER_EPOCH",
    "UNKNOWN_LEADER_EPOCH",
    "UNSUPPORTED_COMPRESSION_TYPE",
    "STALE_BROKER_EPOCH",
    "OFFSET_NOT_AVAILABLE",
    "MEMBER_ID_REQUIRED",
    "PREFERRED_LEADER_NOT_AVAILABLE",
    "GROUP_MAX_SIZE_REACHED",
    "FENCED_INSTANCE_ID",
    "ELIGIBLE_LEADERS_NOT_AVAILABLE",
    "ELECTION_NOT_NEEDED",
    "NO_REASSIGNMENT_IN_PROGRESS",
    "GROUP_SUBSCRIBED_TO_TOPIC",
    "INVALID_RECORD",
    "UNSTABLE_OFFSET_COMMIT",
    "THROTTLING_QUOTA_EXCEEDED",
};

io::ErrorKind kind_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kGroupIdNotFound:
      return io::ErrorKind::kNotFound;
    case ErrorCode::kTopicAlreadyExists:
      return io::ErrorKind::kExists;
    case ErrorCode::kOffsetOutOfRange:
      return io::ErrorKind::kOutOfRange;
    case ErrorCode::kRequestTimedOut:
      return io::ErrorKind::kTimeout;
    case ErrorCode::kCorruptMessage:
      return io::ErrorKind::kCorrupt;
    case ErrorCode::kInvalidTopicException:
    case ErrorCode::kInvalidPartitions:
    case ErrorCode::kInvalidReplicationFactor:
    case ErrorCode::kInvalidReplicaAssignment:
    case ErrorCode::kInvalidConfig:
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kInvalidGroupId:
    case ErrorCode::kInvalidRequiredAcks:
    case ErrorCode::kInvalidRecord:
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
    case ErrorCode::kPolicyViolation:
    case ErrorCode::kUnsupportedVersion:
      return io::ErrorKind::kInvalid;
    default:
      return io::ErrorKind::kIoError;
  }
}

}  // namespace

std::string_view error_code_name(std::int16_t code) {
  if (code == -1) return "UNKNOWN_SERVER_ERROR";
  if (code >= 0 && static_cast<std::size_t>(code) < kErrorNames.size()) return kErrorNames[code];
  return "UNKNOWN_ERROR_CODE";
}

io::Error kafka_error(std::int16_t code, std::string_view context) {
  STRAND_ASSERT(code != 0, "NONE is not an error");
  std::string message(error_code_name(code));
  if (message == "UNKNOWN_ERROR_CODE") message += " " + std::to_string(code);
  if (!context.empty()) message += ": " + std::string(context);
  return io::Error{kind_for(static_cast<ErrorCode>(code)), std::move(message)};
}

bool has_kafka_code(const io::Error& error, std::int16_t code) {
  const std::string_view name = error_code_name(code);
  const std::string_view message = error.message;
  if (message.substr(0, name.size()) != name) return false;
  return message.size() == name.size() || message[name.size()] == ':';
}

bool is_retriable(const io::Error& error) {
  switch (error.kind) {
    case io::ErrorKind::kClosed:
    case io::ErrorKind::kTimeout:
    case io::ErrorKind::kRefused:
    case io::ErrorKind::kUnavailable:
      return true;
    default:
      break;
  }
  constexpr std::int16_t kFencedLeaderEpoch = 74;
  constexpr std::int16_t kUnknownLeaderEpoch = 75;
  constexpr std::int16_t kRetriable[] = {
      static_cast<std::int16_t>(ErrorCode::kCorruptMessage),
      static_cast<std::int16_t>(ErrorCode::kUnknownTopicOrPartition),
      static_cast<std::int16_t>(ErrorCode::kLeaderNotAvailable),
      static_cast<std::int16_t>(ErrorCode::kNotLeaderOrFollower),
      static_cast<std::int16_t>(ErrorCode::kRequestTimedOut),
      static_cast<std::int16_t>(ErrorCode::kNetworkException),
      static_cast<std::int16_t>(ErrorCode::kNotEnoughReplicas),
      static_cast<std::int16_t>(ErrorCode::kNotEnoughReplicasAfterAppend),
      static_cast<std::int16_t>(ErrorCode::kKafkaStorageError),
      kFencedLeaderEpoch,
      kUnknownLeaderEpoch,
  };
  for (std::int16_t code : kRetriable) {
    if (has_kafka_code(error, code)) return true;
  }
  return false;
}

}  // namespace strand::client
