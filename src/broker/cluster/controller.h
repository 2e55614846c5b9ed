// The controller: every broker of a cluster runs one. It keeps the replica of the metadata log
// (Raft group 0 over the brokers in controller.quorum.voters), applies what commits to its
// MetadataImage in log order, and, on the quorum's leader, turns requests (create or delete a
// topic, add partitions, a broker registering, a partition leader reporting) into metadata records.
//
// Requests are served one at a time on the leader: it first applies everything its log holds
// (entries of earlier terms commit with the leader's first entry), checks the request against that
// image, appends the record with acks=all and answers once it applied it, so an answer is never
// contradicted by a record that was checked against a stale image. Other brokers forward their
// requests to the leader over the inter-broker RPC (kControllerMethod) and, on an answer, wait
// until their own image has applied the record too, so the broker that answers a client's
// CreateTopics already knows the topic.
//
// Broker liveness: every broker follows the metadata log (voters vote, the others are learners),
// so the quorum's leader hears from each one with every Raft heartbeat. It fences a broker it has
// not heard from within broker.session.timeout.ms (BrokerFenceRecord) and unfences it when it
// hears from it again; Metadata leaves fenced brokers out and placement gives them no replicas.
//
// The metadata log has no retention (and no snapshots yet): a restarted broker replays it whole.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker/cluster/metadata.h"
#include "broker/config.h"
#include "broker/protocol/error_code.h"
#include "broker/raft/replica.h"
#include "broker/raft/rpc_transport.h"
#include "broker/rpc/rpc_client.h"
#include "broker/rpc/rpc_server.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::cluster {

inline constexpr rpc::Method kControllerMethod = 0x0200;

struct CreateTopicRequest {
  std::string name;
  std::int32_t partitions = -1;   // -1: num.partitions
  std::int16_t replication = -1;  // -1: default.replication.factor
  std::map<std::string, std::string> configs;
  bool validate_only = false;
  std::vector<std::vector<raft::NodeId>> assignments;  // explicit replica sets, or none
};

struct DeleteTopicRequest {
  std::string name;
};

struct CreatePartitionsRequest {
  std::string name;
  std::int32_t count = 0;
  bool validate_only = false;
};

// Kafka's AlterPartitionReassignments for one partition: move it to `replicas` (the first the
// preferred leader), or cancel its reassignment (nullopt).
struct ReassignRequest {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::vector<raft::NodeId>> replicas;
};

// Asks for nothing but the leader's applied offset: a broker that waits until its own image has
// applied that far has seen every decision made before it asked (a read barrier).
struct BarrierRequest {};

// A broker registration, a leader report or a finished reassignment, appended as it is once
// checked.
using ControllerRequest =
    std::variant<CreateTopicRequest, DeleteTopicRequest, CreatePartitionsRequest, ReassignRequest,
                 BarrierRequest, MetadataRecord>;

struct ControllerAnswer {
  protocol::ErrorCode code = protocol::ErrorCode::kNone;
  std::string message;
  std::int64_t offset = -1;  // where the record is in the metadata log (when one was appended)

  bool ok() const { return code == protocol::ErrorCode::kNone; }
};

// The wire form of requests and answers (controller_requests.fbs). Decoding errors: kCorrupt.
std::vector<std::byte> encode_request(const ControllerRequest& request);
io::Result<ControllerRequest> decode_request(std::span<const std::byte> bytes);
std::vector<std::byte> encode_answer(const ControllerAnswer& answer);
io::Result<ControllerAnswer> decode_answer(std::span<const std::byte> bytes);

// The Raft timing of a broker's replicas (raft.heartbeat.interval.ms is the tick, the election
// timeout a whole number of ticks), over a log with `log` settings.
raft::ReplicaOptions replica_options(const BrokerConfig& config, const storage::LogConfig& log,
                                     io::Condition* high_watermark_moved);

class Controller {
 public:
  Controller(io::Env& env, const BrokerConfig& config, raft::Transport& transport);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Opens the metadata log's replica in <data_dir>/__cluster_metadata-0 and applies what it holds
  // up to its high watermark checkpoint. Errors: the replica's.
  io::Task<io::Result<void>> open();
  // Registers the metadata replica with `registry` and the request handler on `server`.
  void serve_on(rpc::RpcServer& server, raft::GroupRegistry& registry);
  // Runs the replica, applies what commits, and registers this broker, until stop().
  io::Task<void> run();
  void stop();
  // After run() ended: closes the metadata log cleanly.
  io::Task<io::Result<void>> close();

  const MetadataImage& image() const { return image_; }
  // Called after each applied record, before anything else runs (the partition manager keeps its
  // topic catalog in step with the image this way).
  void on_applied(std::function<void()> listener) { on_applied_ = std::move(listener); }
  // The controller quorum's leader as this broker knows it; kNoNode if none.
  raft::NodeId leader() const;
  // Whether this broker's registration is in the image.
  bool registered() const;

  // Has the leader do `request`, retrying through leader changes until `timeout`; then waits until
  // this broker's image has applied the answer's record. Errors are Kafka codes in the answer
  // (REQUEST_TIMED_OUT when no leader answered in time).
  io::Task<ControllerAnswer> submit(ControllerRequest request, io::Duration timeout);

  // Waits until this broker's image holds every record the controller quorum had committed when
  // this was called (a BarrierRequest); false after `timeout`. Decisions that would be unsafe on
  // a stale image (deleting a replica) wait for this.
  io::Task<bool> catch_up(io::Duration timeout);

  // Waits until the image has applied `offset`; false after `timeout`.
  io::Task<bool> wait_applied(std::int64_t offset, io::Duration timeout);

 private:
  io::Task<io::Result<std::vector<std::byte>>> handle_rpc(std::span<const std::byte> payload);
  // On the leader: checks `request` against the image and appends its record.
  io::Task<ControllerAnswer> lead(ControllerRequest request);
  io::Task<ControllerAnswer> forward(raft::NodeId leader, const ControllerRequest& request,
                                     io::Duration timeout);
  // Checks `request` against the image: a refusal with its Kafka code, or ok with the record to
  // append in `record` (none when there is nothing to change, or only validating).
  ControllerAnswer check(const ControllerRequest& request, std::optional<MetadataRecord>& record);
  ControllerAnswer check_reassign(const ReassignRequest& request,
                                  std::optional<MetadataRecord>& record) const;
  ControllerAnswer check_proposed(const MetadataRecord& proposed,
                                  std::optional<MetadataRecord>& record) const;
  io::Task<ControllerAnswer> append(const MetadataRecord& record);
  io::Task<void> apply_loop();
  io::Task<void> register_loop();
  io::Task<void> learners_loop();
  io::Task<void> liveness_loop();
  // On the leader: whether this broker heard from broker `node` within the session timeout.
  bool heard_within_session(raft::NodeId node) const;
  // Applies committed records from applied_next_; returns false if a read failed.
  io::Task<bool> apply_committed();

  io::Env& env_;
  const BrokerConfig& config_;
  raft::Transport& transport_;
  std::unique_ptr<raft::Replica> replica_;
  MetadataImage image_;
  std::int64_t applied_next_ = 0;  // the next metadata log offset to apply
  std::function<void()> on_applied_;
  io::Condition high_watermark_moved_;
  io::Condition applied_;
  io::Mutex leading_;  // requests are checked and appended one at a time
  std::map<raft::NodeId, std::unique_ptr<rpc::RpcClient>> clients_;  // to the other voters
  std::uint64_t incarnation_ = 0;
  std::size_t next_voter_ = 0;    // the voter a broker outside the quorum asks next
  raft::Term leading_term_ = -1;  // liveness_loop: the term this broker was last seen leading
  io::Instant leading_since_;     // when it was first seen leading in leading_term_
  std::map<raft::NodeId, std::uint64_t> incarnations_seen_;  // liveness_loop: at its last look
  bool stopping_ = false;
  io::TaskScope tasks_;  // last: destroyed first
};

}  // namespace strand::cluster
