// Consumer-group administration through a Client, as kafka-consumer-groups does it: find a
// group's coordinator, list, describe and delete groups, read and (for an inactive group) commit
// its offsets. Every call but list_groups() goes to the group's coordinator, which in a cluster is
// the leader of the group's __consumer_offsets partition, usually not the bootstrap broker.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/consumer_protocol.h"  // decode_consumer_assignment, for users of this header
#include "io/result.h"
#include "io/task.h"

namespace strand::client {

struct GroupListing {
  std::string group_id;
  std::string protocol_type;  // "consumer" for Kafka consumers, "" for a group of offsets only
};

struct GroupMemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  // The partitions the member was assigned, decoded from the consumer protocol's assignment;
  // empty while the group is not Stable or when it speaks another protocol.
  std::vector<TopicPartition> assignment;
};

struct GroupDescription {
  std::string group_id;
  std::int32_t coordinator_id = -1;
  // Empty, PreparingRebalance, CompletingRebalance, Stable, or Dead for a group that does not
  // exist.
  std::string state;
  std::string protocol_type;
  std::string protocol;  // the assignor's name while Stable, else ""
  std::vector<GroupMemberDescription> members;
};

// Committed offsets by partition.
using GroupOffsets = std::map<TopicPartition, std::int64_t>;

// How many times a coordinator call is tried while the coordinator is loading, unavailable or
// moved (NOT_COORDINATOR), and how long to wait between tries.
inline constexpr int kCoordinatorAttemptsMax = 8;
inline constexpr io::Duration kCoordinatorBackoff = io::Duration::ms(200);

class GroupAdmin {
 public:
  // `client` must outlive this object.
  explicit GroupAdmin(Client& client) : client_(client) {}

  // The node id of `group`'s coordinator; retries COORDINATOR_NOT_AVAILABLE and
  // COORDINATOR_LOAD_IN_PROGRESS up to kCoordinatorAttemptsMax times. Errors: kafka_error of
  // the last answer, connection errors.
  io::Task<io::Result<std::int32_t>> find_coordinator(std::string group);

  // Every group of every broker in the metadata, sorted by id, each once. Errors: the first
  // broker that fails or answers an error, named.
  io::Task<io::Result<std::vector<GroupListing>>> list_groups();

  // A group's state and members. An unknown group is not an error: its state is "Dead".
  io::Task<io::Result<GroupDescription>> describe_group(std::string group);

  // Every offset the group has committed (OffsetFetch with topics null). Errors: kafka_error of
  // the group or of a partition.
  io::Task<io::Result<GroupOffsets>> committed_offsets(std::string group);

  // Commits `offsets` as an administrator (generation -1, no member id), which the coordinator
  // accepts only for an Empty or unknown group; for a group with members it answers
  // UNKNOWN_MEMBER_ID or REBALANCE_IN_PROGRESS, returned as the error, naming the partition.
  io::Task<io::Result<void>> commit_offsets(std::string group, GroupOffsets offsets);

  // Forgets the cached coordinator of `group`, so the next call asks FindCoordinator again (for
  // callers that learned it moved: NOT_COORDINATOR, a lost connection).
  void forget_coordinator(const std::string& group) { coordinators_.erase(group); }
  // A connection to broker `node_id`, asking for metadata first when the client has none (or
  // the broker is new to it). Errors: connection errors, kNotFound for an unknown broker.
  io::Task<io::Result<std::shared_ptr<KafkaConnection>>> connection_to(std::int32_t node_id);

  // Deletes an Empty group and its offsets. Errors: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND
  // (kNotFound), other kafka_errors.
  io::Task<io::Result<void>> delete_group(std::string group);

 private:
  template <typename Request, typename Response>
  io::Task<io::Result<Response>> call_coordinator(std::string group, protocol::ApiKey key,
                                                  std::int16_t version, const Request& request,
                                                  void (*write)(protocol::Writer&, const Request&,
                                                                std::int16_t),
                                                  Response (*read)(protocol::Reader&, std::int16_t),
                                                  std::int16_t (*group_error)(const Response&));
  // One request to `connection`, bounded by the client's request timeout.
  template <typename Request, typename Response>
  io::Task<io::Result<Response>> call_at(
      std::shared_ptr<KafkaConnection> connection, protocol::ApiKey key, std::int16_t version,
      const Request& request, void (*write)(protocol::Writer&, const Request&, std::int16_t),
      Response (*read)(protocol::Reader&, std::int16_t));

  Client& client_;
  bool metadata_known_ = false;  // whether the client has the brokers' addresses
  std::map<std::string, std::int32_t> coordinators_;  // by group, from FindCoordinator answers
};

// Whether a coordinator's answer `code` means: ask again, maybe elsewhere, after a short wait.
bool coordinator_may_have_moved(std::int16_t code);

}  // namespace strand::client
