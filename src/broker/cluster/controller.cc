#include "broker/cluster/controller.h"

#include <flatbuffers/flatbuffers.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "broker/cluster/controller_requests_generated.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/record_batch.h"
#include "broker/protocol/topic_name.h"
#include "io/timed_wait.h"

namespace strand::cluster {

namespace {

using protocol::ErrorCode;

constexpr std::int32_t kPartitionsPerTopicMax = 1 << 16;
constexpr std::uint32_t kApplyReadBytes = 1u << 20;
constexpr io::Duration kAppendTimeout = io::Duration::s(10);
constexpr io::Duration kRetryPause = io::Duration::ms(50);
// How often the quorum's leader looks for registered brokers that do not follow its log yet.
constexpr io::Duration kLearnersCheck = io::Duration::ms(200);

ControllerAnswer refuse(ErrorCode code, std::string message) {
  return ControllerAnswer{code, std::move(message), -1};
}

io::Error corrupt(std::string what) {
  return io::Error{io::ErrorKind::kCorrupt, "controller request: " + std::move(what)};
}

std::string string_of(const flatbuffers::String* text) {
  return text == nullptr ? std::string{} : text->str();
}

// The offset after the last batch in `batches` (whole batches, as PartitionLog::read returns).
std::int64_t end_of_batches(std::span<const std::byte> batches, std::int64_t from) {
  std::int64_t next = from;
  for (std::size_t rounds = 0; !batches.empty(); ++rounds) {
    STRAND_ASSERT(rounds < (1u << 24), "each round consumes a batch");
    io::Result<std::uint32_t> size = protocol::RecordBatchView::peek_size(batches);
    if (!size || *size > batches.size() || *size < protocol::kBatchHeaderBytes) break;
    const auto base = protocol::load_be<std::int64_t>(batches.data());
    const auto delta =
        protocol::load_be<std::int32_t>(batches.data() + protocol::batch_field::kLastOffsetDelta);
    next = base + delta + 1;
    batches = batches.subspan(*size);
  }
  return next;
}

ErrorCode code_for(raft::ReplicaError error) {
  switch (error) {
    case raft::ReplicaError::kNotLeader:
    case raft::ReplicaError::kLost:
      return ErrorCode::kNotController;
    case raft::ReplicaError::kTimeout:
    case raft::ReplicaError::kBackpressure:
      return ErrorCode::kRequestTimedOut;
    default:
      return ErrorCode::kUnknownServerError;
  }
}

}  // namespace

// ---- wire form ------------------------------------------------------------------------------

std::vector<std::byte> encode_request(const ControllerRequest& request) {
  flatbuffers::FlatBufferBuilder builder(256);
  fb::Request type = fb::Request::NONE;
  flatbuffers::Offset<void> body;
  if (const auto* create = std::get_if<CreateTopicRequest>(&request)) {
    std::vector<flatbuffers::Offset<fb::ConfigEntry>> configs;
    for (const auto& [key, value] : create->configs) {
      configs.push_back(
          fb::CreateConfigEntry(builder, builder.CreateString(key), builder.CreateString(value)));
    }
    std::vector<flatbuffers::Offset<fb::ReplicaList>> assignments;
    for (const std::vector<raft::NodeId>& replicas : create->assignments) {
      assignments.push_back(fb::CreateReplicaList(builder, builder.CreateVector(replicas)));
    }
    body = fb::CreateCreateTopic(builder, builder.CreateString(create->name), create->partitions,
                                 create->replication, builder.CreateVector(configs),
                                 create->validate_only, builder.CreateVector(assignments))
               .Union();
    type = fb::Request::CreateTopic;
  } else if (const auto* remove = std::get_if<DeleteTopicRequest>(&request)) {
    body = fb::CreateDeleteTopic(builder, builder.CreateString(remove->name)).Union();
    type = fb::Request::DeleteTopic;
  } else if (const auto* grow = std::get_if<CreatePartitionsRequest>(&request)) {
    body = fb::CreateCreatePartitions(builder, builder.CreateString(grow->name), grow->count,
                                      grow->validate_only)
               .Union();
    type = fb::Request::CreatePartitions;
  } else if (const auto* move = std::get_if<ReassignRequest>(&request)) {
    const std::vector<raft::NodeId> none;
    body = fb::CreateReassign(builder, builder.CreateString(move->topic), move->partition,
                              !move->replicas, builder.CreateVector(move->replicas.value_or(none)))
               .Union();
    type = fb::Request::Reassign;
  } else if (std::holds_alternative<BarrierRequest>(request)) {
    body = fb::CreateBarrier(builder).Union();
    type = fb::Request::Barrier;
  } else {
    const std::vector<std::byte> record = encode_record(std::get<MetadataRecord>(request));
    const auto* data = reinterpret_cast<const std::uint8_t*>(record.data());
    body = fb::CreateProposeRecord(builder, builder.CreateVector(data, record.size())).Union();
    type = fb::Request::ProposeRecord;
  }
  builder.Finish(fb::CreateControllerRequest(builder, type, body));
  const auto* data = reinterpret_cast<const std::byte*>(builder.GetBufferPointer());
  return std::vector<std::byte>(data, data + builder.GetSize());
}

io::Result<ControllerRequest> decode_request(std::span<const std::byte> bytes) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!verifier.VerifyBuffer<fb::ControllerRequest>(nullptr)) return corrupt("fails verification");
  const fb::ControllerRequest* root = flatbuffers::GetRoot<fb::ControllerRequest>(data);
  // The verifier accepts a union type whose table is absent.
  if (root->request() == nullptr) return corrupt("no request");
  switch (root->request_type()) {
    case fb::Request::CreateTopic: {
      const fb::CreateTopic* in = root->request_as_CreateTopic();
      CreateTopicRequest out;
      out.name = string_of(in->name());
      out.partitions = in->partitions();
      out.replication = in->replication();
      out.validate_only = in->validate_only();
      if (in->configs() != nullptr) {
        for (const fb::ConfigEntry* entry : *in->configs()) {
          out.configs[string_of(entry->key())] = string_of(entry->value());
        }
      }
      if (in->assignments() != nullptr) {
        for (const fb::ReplicaList* list : *in->assignments()) {
          std::vector<raft::NodeId>& replicas = out.assignments.emplace_back();
          if (list->nodes() != nullptr)
            replicas.assign(list->nodes()->begin(), list->nodes()->end());
        }
      }
      return ControllerRequest{std::move(out)};
    }
    case fb::Request::DeleteTopic:
      return ControllerRequest{
          DeleteTopicRequest{string_of(root->request_as_DeleteTopic()->name())}};
    case fb::Request::CreatePartitions: {
      const fb::CreatePartitions* in = root->request_as_CreatePartitions();
      return ControllerRequest{
          CreatePartitionsRequest{string_of(in->name()), in->count(), in->validate_only()}};
    }
    case fb::Request::Reassign: {
      const fb::Reassign* in = root->request_as_Reassign();
      ReassignRequest out;
      out.topic = string_of(in->topic());
      out.partition = in->partition();
      if (!in->cancel()) {
        out.replicas.emplace();
        if (in->replicas() != nullptr) {
          out.replicas->assign(in->replicas()->begin(), in->replicas()->end());
        }
      }
      return ControllerRequest{std::move(out)};
    }
    case fb::Request::Barrier:
      return ControllerRequest{BarrierRequest{}};
    case fb::Request::ProposeRecord: {
      const flatbuffers::Vector<std::uint8_t>* record = root->request_as_ProposeRecord()->record();
      if (record == nullptr) return corrupt("no record");
      io::Result<MetadataRecord> decoded = decode_record(
          std::span(reinterpret_cast<const std::byte*>(record->data()), record->size()));
      if (!decoded) return std::move(decoded).error();
      return ControllerRequest{std::move(*decoded)};
    }
    default:
      return corrupt("unknown request type");
  }
}

std::vector<std::byte> encode_answer(const ControllerAnswer& answer) {
  flatbuffers::FlatBufferBuilder builder(128);
  builder.Finish(fb::CreateControllerAnswer(builder, static_cast<std::int16_t>(answer.code),
                                            builder.CreateString(answer.message), answer.offset));
  const auto* data = reinterpret_cast<const std::byte*>(builder.GetBufferPointer());
  return std::vector<std::byte>(data, data + builder.GetSize());
}

io::Result<ControllerAnswer> decode_answer(std::span<const std::byte> bytes) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!verifier.VerifyBuffer<fb::ControllerAnswer>(nullptr)) return corrupt("bad answer");
  const fb::ControllerAnswer* root = flatbuffers::GetRoot<fb::ControllerAnswer>(data);
  return ControllerAnswer{static_cast<ErrorCode>(root->error_code()), string_of(root->message()),
                          root->offset()};
}

// ---- the controller -------------------------------------------------------------------------

raft::ReplicaOptions replica_options(const BrokerConfig& config, const storage::LogConfig& log,
                                     io::Condition* high_watermark_moved) {
  raft::ReplicaOptions options;
  options.raft.self = config.node_id;
  options.tick_interval = io::Duration::ms(config.raft_heartbeat_interval_ms);
  options.raft.heartbeat_interval_ticks = 1;
  options.raft.election_timeout_ticks = static_cast<std::int32_t>(std::max<std::int64_t>(
      2, config.raft_election_timeout_ms / config.raft_heartbeat_interval_ms));
  // An idle group heartbeats about twice per election timeout: a follower still hears from its
  // leader in time after one lost heartbeat (and pre-vote turns away a campaign if it did not).
  const std::int32_t timeout = options.raft.election_timeout_ticks;
  options.raft.idle_heartbeat_interval_ticks = timeout >= 4 ? (timeout + 1) / 2 : 0;
  options.log = log;
  options.high_watermark_moved = high_watermark_moved;
  return options;
}

Controller::Controller(io::Env& env, const BrokerConfig& config, raft::Transport& transport)
    : env_(env), config_(config), transport_(transport) {
  for (const auto& [node, address] : config_.controller_voters) {
    if (node != config_.node_id) clients_[node] = std::make_unique<rpc::RpcClient>(env_, address);
  }
}

Controller::~Controller() = default;

io::Task<io::Result<void>> Controller::open() {
  storage::LogConfig log = config_.log;
  log.retention_ms = -1;  // the metadata log is the cluster's history: kept whole
  log.retention_bytes = -1;
  raft::ReplicaOptions options = replica_options(config_, log, &high_watermark_moved_);
  raft::Configuration voters;
  for (const auto& [node, address] : config_.controller_voters) voters.voters.push_back(node);
  io::Result<void> made = co_await env_.fs().make_dirs(config_.data_dir);
  if (!made) co_return std::move(made).error();
  const std::string directory = io::join_path(config_.data_dir, std::string(kMetadataTopic) + "-0");
  io::Result<std::unique_ptr<raft::Replica>> opened = co_await raft::Replica::open(
      env_, directory, kMetadataGroup, std::move(voters), options, transport_);
  if (!opened) co_return with_context(std::move(opened).error(), "metadata log");
  replica_ = std::move(*opened);
  applied_next_ = replica_->log().log_start_offset();
  const bool applied = co_await apply_committed();
  if (!applied) co_return io::Error{io::ErrorKind::kCorrupt, "metadata log does not read back"};
  incarnation_ = env_.rng().next_u64();
  spdlog::info("metadata log: applied up to offset {} ({} brokers, {} topics)",
               image_.applied_offset(), image_.brokers().size(), image_.topics().size());
  co_return io::ok();
}

void Controller::serve_on(rpc::RpcServer& server, raft::GroupRegistry& registry) {
  registry.add(*replica_);
  server.add_method(kControllerMethod,
                    [this](std::span<const std::byte> payload) { return handle_rpc(payload); });
}

io::Task<void> Controller::run() {
  tasks_.spawn(replica_->run());
  tasks_.spawn(apply_loop());
  tasks_.spawn(register_loop());
  tasks_.spawn(learners_loop());
  tasks_.spawn(liveness_loop());
  co_await tasks_.join();
}

void Controller::stop() {
  stopping_ = true;
  if (replica_) replica_->stop();
  high_watermark_moved_.notify_all();
  applied_.notify_all();
  tasks_.cancel();
}

io::Task<io::Result<void>> Controller::close() {
  if (!replica_) co_return io::ok();
  co_return co_await replica_->close();
}

raft::NodeId Controller::leader() const { return replica_ ? replica_->leader() : raft::kNoNode; }

bool Controller::registered() const {
  auto it = image_.brokers().find(config_.node_id);
  return it != image_.brokers().end() && it->second.incarnation == incarnation_;
}

io::Task<bool> Controller::apply_committed() {
  for (std::uint64_t rounds = 0; applied_next_ < replica_->high_watermark(); ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "each round applies a batch");
    const std::int64_t from = applied_next_;
    const std::int64_t upper = replica_->high_watermark();
    io::Result<std::vector<std::byte>> bytes =
        co_await replica_->log().read(from, kApplyReadBytes, upper);
    if (!bytes) {
      spdlog::error("metadata log: reading at {}: {}", from, bytes.error().to_string());
      co_return false;
    }
    if (bytes->empty()) break;
    io::Result<std::vector<OffsetRecord>> records = read_records(*bytes);
    if (!records) {
      spdlog::error("metadata log: at {}: {}", from, records.error().to_string());
      co_return false;
    }
    for (const OffsetRecord& record : *records) {
      if (record.offset < from || record.offset >= upper) continue;
      (void)image_.apply(record.record, record.offset);
      // Brokers outside the quorum are reached at the RPC address they registered.
      if (const auto* broker = std::get_if<BrokerRegistration>(&record.record);
          broker != nullptr && broker->node_id != config_.node_id &&
          !config_.controller_voters.contains(broker->node_id)) {
        transport_.learn_peer(broker->node_id, io::Address{broker->rpc_host, broker->rpc_port});
      }
    }
    applied_next_ = std::max(from + 1, end_of_batches(*bytes, from));
    if (on_applied_) on_applied_();
    applied_.notify_all();
  }
  co_return true;
}

io::Task<void> Controller::apply_loop() {
  while (!stopping_) {
    const bool ok = co_await apply_committed();
    if (!ok) {
      co_await env_.clock().sleep(io::Duration::s(1));
      continue;
    }
    if (applied_next_ >= replica_->high_watermark() && !stopping_) {
      co_await high_watermark_moved_.wait();
    }
  }
}

io::Task<bool> Controller::catch_up(io::Duration timeout) {
  ControllerAnswer answer = co_await submit(BarrierRequest{}, timeout);
  co_return answer.ok();
}

io::Task<bool> Controller::wait_applied(std::int64_t offset, io::Duration timeout) {
  const io::Instant deadline = env_.clock().now() + timeout;
  while (applied_next_ <= offset && !stopping_) {
    const io::Instant now = env_.clock().now();
    if (now >= deadline) co_return false;
    (void)co_await io::wait_notified(applied_, env_.clock(), deadline - now);
  }
  co_return applied_next_ > offset;
}

io::Task<void> Controller::register_loop() {
  BrokerRegistration self;
  self.node_id = config_.node_id;
  const io::Address kafka = config_.advertised();
  self.host = kafka.host;
  self.port = kafka.port;
  const io::Address rpc_address = config_.rpc_address();
  self.rpc_host = rpc_address.host;
  self.rpc_port = rpc_address.port;
  self.rack = config_.rack;
  self.incarnation = incarnation_;
  while (!stopping_ && !registered()) {
    MetadataRecord record = self;
    ControllerAnswer answer = co_await submit(std::move(record), io::Duration::s(10));
    if (answer.ok()) {
      spdlog::info("node {} registered with the controller quorum (leader {})", config_.node_id,
                   leader());
      break;
    }
    spdlog::debug("registering: {}", answer.message);
    co_await env_.clock().sleep(io::Duration::ms(200));
  }
}

// Adds each registered broker outside the quorum to the metadata log's Raft group as a learner,
// one change at a time: it then receives and applies the log (and never votes).
io::Task<void> Controller::learners_loop() {
  while (!stopping_) {
    co_await env_.clock().sleep(kLearnersCheck);
    if (stopping_ || replica_->role() != raft::Role::kLeader) continue;
    std::optional<raft::NodeId> missing;
    for (const auto& [node, broker] : image_.brokers()) {
      if (!replica_->core().configuration().contains(node)) {
        missing = node;
        break;
      }
    }
    if (!missing) continue;
    raft::ProposeOutcome added = co_await replica_->change_configuration(
        raft::ConfigChange{raft::ConfigChangeKind::kAddLearner, *missing}, kAppendTimeout);
    if (added.ok()) {
      spdlog::info("metadata log: broker {} follows it as a learner", *missing);
    } else {
      spdlog::debug("metadata log: adding learner {}: {}", *missing,
                    raft::replica_error_name(added.error));
    }
  }
}

bool Controller::heard_within_session(raft::NodeId node) const {
  const raft::RaftCore& core = replica_->core();
  const raft::Progress* progress = core.progress(node);
  if (progress == nullptr || progress->heard_at_tick < 0) return false;
  const std::int64_t ticks = core.ticks() - progress->heard_at_tick;
  return ticks * config_.raft_heartbeat_interval_ms <= config_.broker_session_timeout_ms;
}

// Fences the registered brokers the leader has not heard from within the session timeout, and
// unfences those it hears from again. A new leader knows nothing of the answers its predecessor
// heard, so it fences nobody until it has led for a whole session.
io::Task<void> Controller::liveness_loop() {
  const io::Duration session = io::Duration::ms(config_.broker_session_timeout_ms);
  const io::Duration every = std::clamp(
      session / 4, io::Duration::ms(config_.raft_heartbeat_interval_ms), io::Duration::s(1));
  while (!stopping_) {
    co_await env_.clock().sleep(every);
    if (stopping_) break;
    if (replica_->role() != raft::Role::kLeader) {
      leading_term_ = -1;
      continue;
    }
    const io::Instant now = env_.clock().now();
    if (replica_->term() != leading_term_) {
      leading_term_ = replica_->term();
      leading_since_ = now;
    }
    const bool judged_long_enough = now - leading_since_ >= session;
    std::vector<BrokerFenceRecord> changes;
    for (const auto& [node, broker] : image_.brokers()) {
      // A registration since the last look is word from the broker too (it unfenced it): a
      // restarted broker answers the metadata log's heartbeats only a moment after it.
      auto seen = incarnations_seen_.find(node);
      const bool registered_again =
          seen != incarnations_seen_.end() && seen->second != broker.incarnation;
      incarnations_seen_[node] = broker.incarnation;
      const bool alive = node == config_.node_id || registered_again || heard_within_session(node);
      if (alive && image_.fenced(node)) changes.push_back(BrokerFenceRecord{node, false});
      if (!alive && !image_.fenced(node) && judged_long_enough) {
        changes.push_back(BrokerFenceRecord{node, true});
      }
    }
    for (const BrokerFenceRecord& change : changes) {
      if (stopping_) break;
      if (change.fenced && heard_within_session(change.node_id)) continue;  // heard meanwhile
      ControllerAnswer answer = co_await lead(MetadataRecord{change});
      if (answer.ok() && answer.offset >= 0) {
        spdlog::info("broker {} {} (session timeout {} ms)", change.node_id,
                     change.fenced ? "fenced: not heard from within the session" : "unfenced",
                     config_.broker_session_timeout_ms);
      } else if (!answer.ok()) {
        spdlog::debug("fencing broker {}: {}", change.node_id, answer.message);
      }
    }
  }
}

io::Task<ControllerAnswer> Controller::submit(ControllerRequest request, io::Duration timeout) {
  const io::Instant deadline = env_.clock().now() + timeout;
  ControllerAnswer answer = refuse(ErrorCode::kRequestTimedOut, "no controller leader answered");
  while (!stopping_ && env_.clock().now() < deadline) {
    const raft::NodeId leader_now = leader();
    if (leader_now == config_.node_id) {
      answer = co_await lead(request);
    } else if (leader_now != raft::kNoNode) {
      answer = co_await forward(leader_now, request, deadline - env_.clock().now());
    } else if (!config_.controller_voter() && !clients_.empty()) {
      // A broker outside the quorum hears of its leader only once it follows the metadata log,
      // which takes its registration: it asks the voters in turn; the leader among them answers.
      auto voter =
          std::next(clients_.begin(), static_cast<std::ptrdiff_t>(next_voter_++ % clients_.size()));
      answer = co_await forward(voter->first, request, deadline - env_.clock().now());
    } else {
      answer = refuse(ErrorCode::kRequestTimedOut, "the controller quorum has no leader");
    }
    if (answer.code != ErrorCode::kNotController && answer.code != ErrorCode::kRequestTimedOut) {
      break;
    }
    co_await env_.clock().sleep(kRetryPause);
  }
  if (answer.ok() && answer.offset >= 0) {
    const io::Instant now = env_.clock().now();
    const io::Duration left = now < deadline ? deadline - now : io::Duration::ms(1);
    const bool applied = co_await wait_applied(answer.offset, left);
    if (!applied) {
      answer = refuse(ErrorCode::kRequestTimedOut,
                      "the change committed but this broker has not applied it yet");
    }
  }
  co_return std::move(answer);
}

io::Task<ControllerAnswer> Controller::forward(raft::NodeId leader,
                                               const ControllerRequest& request,
                                               io::Duration timeout) {
  auto it = clients_.find(leader);
  if (it == clients_.end()) {
    co_return refuse(ErrorCode::kNotController, "leader " + std::to_string(leader) + " unknown");
  }
  const std::vector<std::byte> payload = encode_request(request);
  const io::Duration call_timeout = std::min(timeout, io::Duration::s(5));
  io::Result<std::vector<std::byte>> reply =
      co_await it->second->call(kControllerMethod, payload, call_timeout);
  if (!reply) {
    co_return refuse(ErrorCode::kRequestTimedOut,
                     "controller " + std::to_string(leader) + ": " + reply.error().to_string());
  }
  io::Result<ControllerAnswer> answer = decode_answer(*reply);
  if (!answer) co_return refuse(ErrorCode::kUnknownServerError, answer.error().to_string());
  co_return std::move(*answer);
}

io::Task<io::Result<std::vector<std::byte>>> Controller::handle_rpc(
    std::span<const std::byte> payload) {
  io::Result<ControllerRequest> request = decode_request(payload);
  if (!request) co_return std::move(request).error();
  // Fencing is the leader's own judgement, never a peer's request.
  if (const auto* record = std::get_if<MetadataRecord>(&*request);
      record != nullptr && std::holds_alternative<BrokerFenceRecord>(*record)) {
    co_return encode_answer(refuse(ErrorCode::kInvalidRequest, "brokers are fenced by the leader"));
  }
  ControllerAnswer answer = co_await lead(std::move(*request));
  co_return encode_answer(answer);
}

io::Task<ControllerAnswer> Controller::lead(ControllerRequest request) {
  io::Mutex::Guard guard = co_await leading_.lock();
  if (stopping_ || replica_->role() != raft::Role::kLeader) {
    co_return refuse(ErrorCode::kNotController, "not the controller leader");
  }
  // Everything in the log before this leader's first entry commits with it: apply it all, so
  // the checks below see every earlier decision.
  const std::int64_t log_end = replica_->log().next_offset();
  const bool caught_up = co_await wait_applied(log_end - 1, kAppendTimeout);
  if (!caught_up) co_return refuse(ErrorCode::kRequestTimedOut, "metadata log not applied yet");
  std::optional<MetadataRecord> record;
  ControllerAnswer checked = check(request, record);
  if (!checked.ok() || !record) co_return checked;
  ControllerAnswer appended = co_await append(*record);
  co_return appended;
}

io::Task<ControllerAnswer> Controller::append(const MetadataRecord& record) {
  std::vector<std::byte> batch = record_batch(record, env_.clock().wall_ms());
  raft::ProposeOutcome outcome =
      co_await replica_->propose(std::move(batch), raft::Acks::kAll, kAppendTimeout);
  if (!outcome.ok()) {
    co_return refuse(code_for(outcome.error),
                     std::string("metadata log: ") + raft::replica_error_name(outcome.error));
  }
  const bool applied = co_await wait_applied(outcome.last_offset, kAppendTimeout);
  if (!applied) co_return refuse(ErrorCode::kRequestTimedOut, "committed but not applied");
  co_return ControllerAnswer{ErrorCode::kNone, {}, outcome.last_offset};
}

ControllerAnswer Controller::check(const ControllerRequest& request,
                                   std::optional<MetadataRecord>& record) {
  auto invalid = [](ErrorCode code, std::string message) {
    return refuse(code, std::move(message));
  };
  if (const auto* create = std::get_if<CreateTopicRequest>(&request)) {
    io::Result<void> valid_name = protocol::validate_topic_name(create->name);
    if (!valid_name) return invalid(ErrorCode::kInvalidTopicException, valid_name.error().message);
    if (image_.topic(create->name)) {
      return invalid(ErrorCode::kTopicAlreadyExists, "topic '" + create->name + "' already exists");
    }
    for (const auto& [existing, topic] : image_.topics()) {
      if (protocol::topic_names_collide(existing, create->name)) {
        return invalid(
            ErrorCode::kInvalidTopicException,
            "topic name '" + create->name + "' collides with '" + existing + "' ('.' and '_')");
      }
    }
    storage::LogConfig scratch = config_.log;
    for (const auto& [key, value] : create->configs) {
      io::Result<void> applied = apply_topic_config(scratch, key, value);
      if (!applied) return invalid(ErrorCode::kInvalidConfig, applied.error().message);
    }
    std::vector<std::vector<raft::NodeId>> replicas;
    if (!create->assignments.empty()) {
      const std::size_t width = create->assignments.front().size();
      for (const std::vector<raft::NodeId>& set : create->assignments) {
        std::set<raft::NodeId> distinct(set.begin(), set.end());
        bool known = !set.empty() && set.size() == width && distinct.size() == set.size();
        for (raft::NodeId node : set) known = known && image_.brokers().contains(node);
        if (!known) {
          return invalid(ErrorCode::kInvalidReplicaAssignment,
                         "every partition needs the same number of distinct, "
                         "registered brokers");
        }
      }
      if (create->assignments.size() > static_cast<std::size_t>(kPartitionsPerTopicMax)) {
        return invalid(ErrorCode::kInvalidPartitions, "too many partitions");
      }
      replicas = create->assignments;
    } else {
      const std::int32_t count =
          create->partitions == -1 ? config_.num_partitions : create->partitions;
      const std::int16_t factor =
          create->replication == -1 ? config_.default_replication_factor : create->replication;
      if (count <= 0 || count > kPartitionsPerTopicMax) {
        return invalid(ErrorCode::kInvalidPartitions, "the number of partitions must be in [1, " +
                                                          std::to_string(kPartitionsPerTopicMax) +
                                                          "]");
      }
      io::Result<std::vector<std::vector<raft::NodeId>>> placed =
          place_replicas(image_, 0, count, factor);
      if (!placed) return invalid(ErrorCode::kInvalidReplicationFactor, placed.error().message);
      replicas = std::move(*placed);
    }
    if (create->validate_only) return ControllerAnswer{};
    TopicRecord topic;
    topic.name = create->name;
    topic.id_high = env_.rng().next_u64();
    topic.id_low = env_.rng().next_u64();
    topic.configs = create->configs;
    GroupId group = image_.next_group();
    for (std::size_t index = 0; index < replicas.size(); ++index) {
      topic.partitions.push_back(
          PartitionAssignment{static_cast<std::int32_t>(index), group++, replicas[index]});
    }
    record = std::move(topic);
    return ControllerAnswer{};
  }
  if (const auto* remove = std::get_if<DeleteTopicRequest>(&request)) {
    if (!image_.topic(remove->name)) {
      return invalid(ErrorCode::kUnknownTopicOrPartition,
                     "topic '" + remove->name + "' does not exist");
    }
    record = RemoveTopicRecord{remove->name};
    return ControllerAnswer{};
  }
  if (const auto* grow = std::get_if<CreatePartitionsRequest>(&request)) {
    const MetadataImage::TopicState* topic = image_.topic(grow->name);
    if (!topic) {
      return invalid(ErrorCode::kUnknownTopicOrPartition,
                     "topic '" + grow->name + "' does not exist");
    }
    const auto before = static_cast<std::int32_t>(topic->partitions.size());
    if (grow->count <= before || grow->count > kPartitionsPerTopicMax) {
      return invalid(ErrorCode::kInvalidPartitions,
                     "topic '" + grow->name + "' has " + std::to_string(before) +
                         " partitions; the new count must be larger (and at most " +
                         std::to_string(kPartitionsPerTopicMax) + ")");
    }
    const auto factor = static_cast<std::int16_t>(
        topic->partitions.empty() ? 1 : topic->partitions.front().assignment.replicas.size());
    io::Result<std::vector<std::vector<raft::NodeId>>> placed =
        place_replicas(image_, before, grow->count - before, factor);
    if (!placed) return invalid(ErrorCode::kInvalidReplicationFactor, placed.error().message);
    if (grow->validate_only) return ControllerAnswer{};
    AddPartitionsRecord added;
    added.name = grow->name;
    GroupId group = image_.next_group();
    for (std::size_t i = 0; i < placed->size(); ++i) {
      added.partitions.push_back(PartitionAssignment{before + static_cast<std::int32_t>(i), group++,
                                                     std::move((*placed)[i])});
    }
    record = std::move(added);
    return ControllerAnswer{};
  }
  if (const auto* move = std::get_if<ReassignRequest>(&request)) {
    return check_reassign(*move, record);
  }
  if (std::holds_alternative<BarrierRequest>(request)) {
    // lead() applied the whole log first: this image holds every committed decision.
    return ControllerAnswer{ErrorCode::kNone, {}, image_.applied_offset()};
  }
  return check_proposed(std::get<MetadataRecord>(request), record);
}

ControllerAnswer Controller::check_reassign(const ReassignRequest& request,
                                            std::optional<MetadataRecord>& record) const {
  const MetadataImage::TopicState* topic = image_.topic(request.topic);
  if (topic == nullptr || request.partition < 0 ||
      static_cast<std::size_t>(request.partition) >= topic->partitions.size()) {
    return refuse(ErrorCode::kUnknownTopicOrPartition,
                  request.topic + "-" + std::to_string(request.partition) + " does not exist");
  }
  const MetadataImage::PartitionState& partition =
      topic->partitions[static_cast<std::size_t>(request.partition)];
  if (!request.replicas) {
    if (!partition.reassigning()) {
      return refuse(ErrorCode::kNoReassignmentInProgress,
                    "no reassignment of " + request.topic + "-" +
                        std::to_string(request.partition) + " is in progress");
    }
    record = ReassignRecord{partition.assignment.group, partition.original};
    return ControllerAnswer{};
  }
  const std::vector<raft::NodeId>& target = *request.replicas;
  std::set<raft::NodeId> distinct(target.begin(), target.end());
  bool known = !target.empty() && distinct.size() == target.size();
  for (raft::NodeId node : target) known = known && image_.brokers().contains(node);
  if (!known) {
    return refuse(ErrorCode::kInvalidReplicaAssignment,
                  "a reassignment names one or more distinct, registered brokers");
  }
  const std::vector<raft::NodeId>& goal =
      partition.reassigning() ? partition.target : partition.assignment.replicas;
  if (goal != target) record = ReassignRecord{partition.assignment.group, target};
  return ControllerAnswer{};
}

ControllerAnswer Controller::check_proposed(const MetadataRecord& proposed,
                                            std::optional<MetadataRecord>& record) const {
  auto invalid = [](ErrorCode code, std::string message) {
    return refuse(code, std::move(message));
  };
  if (const auto* done = std::get_if<ReassignDoneRecord>(&proposed)) {
    std::optional<MetadataImage::Located> located = image_.locate(done->group);
    if (!located) {
      return invalid(ErrorCode::kUnknownTopicOrPartition, "no partition has that group");
    }
    const MetadataImage::PartitionState& partition =
        located->topic->partitions.at(static_cast<std::size_t>(located->partition));
    if (!partition.reassigning() || partition.target != done->replicas) {
      return invalid(ErrorCode::kInvalidReplicaAssignment,
                     "the partition's reassignment target is no longer that");
    }
    if (done->leader_epoch < partition.leader_epoch) {
      return invalid(ErrorCode::kFencedLeaderEpoch,
                     "leader epoch " + std::to_string(done->leader_epoch) + " is not the latest (" +
                         std::to_string(partition.leader_epoch) + ")");
    }
    record = proposed;
    return ControllerAnswer{};
  }
  if (const auto* leader = std::get_if<LeaderRecord>(&proposed)) {
    std::optional<MetadataImage::Located> located = image_.locate(leader->group);
    if (!located)
      return invalid(ErrorCode::kUnknownTopicOrPartition, "no partition has that group");
    const MetadataImage::PartitionState& partition =
        located->topic->partitions.at(static_cast<std::size_t>(located->partition));
    if (leader->epoch > partition.leader_epoch) record = proposed;
    return ControllerAnswer{};
  }
  if (const auto* broker = std::get_if<BrokerRegistration>(&proposed)) {
    if (broker->node_id < 0 || broker->rpc_port == 0 || broker->rpc_host.empty()) {
      return invalid(ErrorCode::kInvalidRequest, "broker " + std::to_string(broker->node_id) +
                                                     " registered without an RPC address");
    }
    auto it = image_.brokers().find(broker->node_id);
    if (it == image_.brokers().end() || it->second != *broker) record = proposed;
    return ControllerAnswer{};
  }
  if (const auto* fence = std::get_if<BrokerFenceRecord>(&proposed)) {
    if (!image_.brokers().contains(fence->node_id)) {
      return invalid(ErrorCode::kInvalidRequest,
                     "broker " + std::to_string(fence->node_id) + " is not registered");
    }
    if (image_.fenced(fence->node_id) != fence->fenced) record = proposed;
    return ControllerAnswer{};
  }
  return invalid(ErrorCode::kInvalidRequest, "that record kind is the controller's own");
}

}  // namespace strand::cluster
