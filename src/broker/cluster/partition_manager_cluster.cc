// The partition manager of a cluster: replicas follow the controller's metadata image.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/cluster/controller.h"
#include "broker/cluster/partition_manager.h"
#include "broker/raft/replica_state.h"
#include "io/timed_wait.h"

namespace strand::cluster {

namespace {

constexpr io::Duration kReconcileEvery = io::Duration::s(1);
constexpr std::int64_t kNotReconciled = -2;  // below every applied offset, -1 included
constexpr io::Duration kReportEvery = io::Duration::ms(200);
constexpr std::size_t kReportsInFlight = 64;
constexpr io::Duration kCatchUpTimeout = io::Duration::s(5);
// One configuration change waits this long to commit before the next round tries again.
constexpr io::Duration kChangeTimeout = io::Duration::s(2);

bool contains(const std::vector<raft::NodeId>& nodes, raft::NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

// The next single-server change that moves `now` toward `target` led by `self`: members first
// join (as learners, then voters), then the others leave; the leader itself leaves last, by
// handing leadership to the target's preferred leader. Nothing once `now` is `target`.
struct NextStep {
  enum class Kind { kNone, kChange, kTransfer } kind = Kind::kNone;
  raft::ConfigChange change;
  raft::NodeId transfer_to = raft::kNoNode;
};

const char* change_name(raft::ConfigChangeKind kind) {
  switch (kind) {
    case raft::ConfigChangeKind::kAddLearner:
      return "add learner";
    case raft::ConfigChangeKind::kPromoteLearner:
      return "promote";
    case raft::ConfigChangeKind::kRemoveNode:
      return "remove";
  }
  return "?";
}

NextStep next_step(const raft::Configuration& now, const std::vector<raft::NodeId>& target,
                   raft::NodeId self) {
  using raft::ConfigChangeKind;
  NextStep step;
  step.kind = NextStep::Kind::kChange;
  for (raft::NodeId node : target) {
    if (!now.contains(node)) {
      step.change = raft::ConfigChange{ConfigChangeKind::kAddLearner, node};
      return step;
    }
  }
  for (raft::NodeId node : target) {
    if (now.is_learner(node)) {
      step.change = raft::ConfigChange{ConfigChangeKind::kPromoteLearner, node};
      return step;
    }
  }
  for (const std::vector<raft::NodeId>* members : {&now.voters, &now.learners}) {
    for (raft::NodeId node : *members) {
      if (node != self && !contains(target, node)) {
        step.change = raft::ConfigChange{ConfigChangeKind::kRemoveNode, node};
        return step;
      }
    }
  }
  if (!contains(target, self)) {
    step.kind = NextStep::Kind::kTransfer;
    step.transfer_to = target.front();
    return step;
  }
  step.kind = NextStep::Kind::kNone;
  return step;
}

// Deletes a replica's state but leaves its directory with the rejoin marker, written first: if
// the partition comes back here (a stale image after a restart, or a later reassignment), the
// replica opened there knows it lost its log and must not vote until it caught up
// (RaftCore::rejoining()). Other brokers may still count it in a stale configuration.
io::Task<io::Result<void>> clear_replica_directory(io::FileSystem& fs,
                                                   const std::string& directory) {
  io::Result<std::vector<std::string>> names = co_await fs.list(directory);
  if (!names) {
    if (names.error().kind == io::ErrorKind::kNotFound) co_return io::ok();
    co_return std::move(names).error();
  }
  io::Result<void> marked = co_await raft::write_rejoin_marker(fs, directory);
  if (!marked) co_return marked;
  for (const std::string& name : *names) {
    if (name == raft::kRejoinMarkerFileName) continue;
    io::Result<void> removed = co_await fs.remove(io::join_path(directory, name));
    if (!removed) co_return removed;
  }
  co_return co_await fs.sync_dir(directory);
}

// Whether the image records this replica's current leadership (a LeaderRecord of its term).
bool leadership_recorded(const raft::Replica& replica,
                         const MetadataImage::PartitionState& partition) {
  return partition.leader_epoch == static_cast<std::int32_t>(replica.term());
}

// Whether the leader `core` may hand leadership to `voter`: another voter it heard from lately
// that holds its whole log, so the transfer completes at once.
bool ready_to_lead(const raft::RaftCore& core, raft::NodeId voter) {
  if (voter == core.self()) return false;
  const std::vector<raft::NodeId> active = core.active_voters();
  const raft::Progress* progress = core.progress(voter);
  return std::find(active.begin(), active.end(), voter) != active.end() && progress != nullptr &&
         progress->match_offset() >= core.last_offset();
}

}  // namespace

void PartitionManager::use_cluster(Controller& controller, raft::Transport& transport,
                                   raft::GroupRegistry& registry) {
  controller_ = &controller;
  transport_ = &transport;
  registry_ = &registry;
  controller.on_applied([this] {
    rebuild_catalog();
    image_changed_.notify_all();
  });
  rebuild_catalog();
}

void PartitionManager::rebuild_catalog() {
  TopicCatalog catalog;
  for (const auto& [name, topic] : controller_->image().topics()) {
    if (topic.partitions.empty()) continue;
    catalog.add(TopicInfo{name, static_cast<std::int32_t>(topic.partitions.size()), topic.configs,
                          topic.id_high, topic.id_low});
  }
  catalog_ = std::move(catalog);
}

protocol::ErrorCode PartitionManager::missing_partition_error(
    const storage::TopicPartition& tp) const {
  const TopicInfo* topic = catalog_.find(tp.topic);
  if (clustered() && topic && tp.partition >= 0 && tp.partition < topic->partitions) {
    return protocol::ErrorCode::kNotLeaderOrFollower;
  }
  return protocol::ErrorCode::kUnknownTopicOrPartition;
}

std::string PartitionManager::replica_directory(const storage::TopicPartition& tp,
                                                std::uint64_t group) const {
  // The group in the name: a topic deleted and created again under the same name while this
  // broker was down must not find the old replica's files.
  return io::join_path(config_.data_dir,
                       storage::partition_directory_name(tp) + "." + std::to_string(group));
}

void PartitionManager::start_cluster() {
  cluster_tasks_.spawn(reconcile_loop());
  cluster_tasks_.spawn(report_leaders_loop());
  cluster_tasks_.spawn(reassign_loop());
  if (config_.auto_leader_rebalance_enable) cluster_tasks_.spawn(rebalance_loop());
  cluster_tasks_.spawn(tick_loop());
}

// One timer for every replica here: a replica's run() only wakes when a tick gives it work.
io::Task<void> PartitionManager::tick_loop() {
  const io::Duration interval = io::Duration::ms(config_.raft_heartbeat_interval_ms);
  io::Instant next = env_.clock().now() + interval;
  while (!closing_) {
    const io::Instant now = env_.clock().now();
    // Behind (a long stall): skip the missed ticks rather than run them back to back.
    if (next < now) next = now;
    co_await env_.clock().sleep(next - now);
    next = next + interval;
    // Ticks wake replicas inline; none of them changes replicas_ before it first suspends.
    for (auto& [group, hosted] : replicas_) hosted.replica->tick();
  }
}

io::Task<void> PartitionManager::reconcile_loop() {
  while (!closing_) {
    // Only when the image changed since the last complete pass, or that pass left work behind (a
    // replica that did not open, a deletion waiting for the image to catch up): walking thousands
    // of replicas every second was a fifth of an idle broker's CPU.
    if (controller_->image().applied_offset() != reconciled_offset_ ||
        repairs_requested_ != repairs_seen_) {
      co_await reconcile();
    }
    if (closing_) break;
    (void)co_await io::wait_notified(image_changed_, env_.clock(), kReconcileEvery);
  }
}

std::vector<std::uint64_t> PartitionManager::replicas_gone() const {
  const MetadataImage& image = controller_->image();
  const raft::NodeId self = config_.node_id;
  std::vector<std::uint64_t> gone;
  for (const auto& [group, hosted] : replicas_) {
    std::optional<MetadataImage::Located> located = image.locate(group);
    bool here = false;
    if (located) {
      const auto& replicas =
          located->topic->partitions.at(static_cast<std::size_t>(located->partition))
              .assignment.replicas;
      here = std::find(replicas.begin(), replicas.end(), self) != replicas.end();
    }
    if (!here) gone.push_back(group);
  }
  return gone;
}

io::Task<void> PartitionManager::reconcile() {
  // Deleting a replica on a stale image (a broker that restarted applies the metadata log only
  // as far as it knew it committed) could delete a voter of the partition's current
  // configuration: only an image that holds everything the quorum committed decides that.
  const std::int64_t seen = controller_->image().applied_offset();
  bool complete = true;
  bool may_delete = false;
  if (!replicas_gone().empty()) {
    may_delete = co_await controller_->catch_up(kCatchUpTimeout);
    complete = may_delete;
  }
  io::Mutex::Guard guard = co_await changing_.lock();
  const MetadataImage& image = controller_->image();
  const raft::NodeId self = config_.node_id;
  // Replicas whose partition went away (or moved off this broker).
  std::vector<std::uint64_t> gone;
  if (may_delete) gone = replicas_gone();
  for (std::uint64_t group : gone) {
    if (closing_) co_return;
    co_await remove_replica(group, true);
  }
  // Replicas that met a corrupt batch: closed here (close() marks them for repair) and opened
  // again below, cutting the log at the batch and rejoining.
  if (repairs_requested_ != repairs_seen_) {
    repairs_seen_ = repairs_requested_;
    std::vector<std::uint64_t> repairing;
    for (const auto& [group, hosted] : replicas_) {
      if (hosted.replica->needs_repair()) repairing.push_back(group);
    }
    for (std::uint64_t group : repairing) {
      if (closing_) co_return;
      spdlog::warn("replica of group {} closes to repair a corrupt batch", group);
      co_await remove_replica(group, false);
    }
  }
  // Replicas placed here that are not open yet (copied: the image may change while opening).
  struct Wanted {
    storage::TopicPartition tp;
    std::uint64_t group;
    std::vector<std::int32_t> replicas;
    storage::LogConfig log;
  };
  std::vector<Wanted> wanted;
  for (const auto& [name, topic] : image.topics()) {
    for (const MetadataImage::PartitionState& partition : topic.partitions) {
      const PartitionAssignment& assignment = partition.assignment;
      if (replicas_.contains(assignment.group)) continue;
      if (std::find(assignment.replicas.begin(), assignment.replicas.end(), self) ==
          assignment.replicas.end()) {
        continue;
      }
      storage::LogConfig log = config_.log;
      for (const auto& [key, value] : topic.configs) {
        (void)apply_topic_config(log, key, value);  // checked by the controller
      }
      wanted.push_back(Wanted{
          {name, assignment.partition}, assignment.group, partition.bootstrap_voters(), log});
    }
  }
  for (Wanted& want : wanted) {
    if (closing_) co_return;
    io::Result<void> opened =
        co_await open_replica(want.tp, want.group, std::move(want.replicas), want.log);
    if (!opened) {
      spdlog::error("opening replica {}-{}: {}", want.tp.topic, want.tp.partition,
                    opened.error().to_string());
      complete = false;
    }
  }
  reconciled_offset_ = complete ? seen : kNotReconciled;
}

io::Task<io::Result<void>> PartitionManager::open_replica(storage::TopicPartition tp,
                                                          std::uint64_t group,
                                                          std::vector<std::int32_t> replicas,
                                                          storage::LogConfig log) {
  raft::ReplicaOptions options = replica_options(config_, log, &data_arrived_);
  options.external_ticks = true;  // tick_loop()
  options.role_changes = &role_changes_;
  options.repairs_requested = &repairs_requested_;
  options.repair_requested = &image_changed_;
#ifdef STRAND_PLANTED_BUGS
  options.raft.test_only_skip_log_up_to_date_check =
      config_.planted_bug == "vote_without_log_check";
  options.raft.test_only_keep_diverged_entries =
      config_.planted_bug == "no_truncate_diverged_follower";
  options.raft.test_only_commit_without_majority = config_.planted_bug == "commit_without_majority";
  options.test_only_repair_without_rejoin = config_.planted_bug == "repair_without_rejoin";
#endif
  raft::Configuration bootstrap;
  bootstrap.voters = std::move(replicas);
  std::sort(bootstrap.voters.begin(), bootstrap.voters.end());
  io::Result<std::unique_ptr<raft::Replica>> opened = co_await raft::Replica::open(
      env_, replica_directory(tp, group), group, std::move(bootstrap), options, *transport_);
  if (!opened) co_return std::move(opened).error();
  if (std::optional<raft::Offset> cut = (*opened)->repaired_from()) {
    spdlog::warn(
        "replica of {}-{} lost its log from offset {} (a corrupt batch): rejoining, it "
        "takes the entries again from the leader",
        tp.topic, tp.partition, *cut);
  }
  Hosted hosted;
  hosted.tp = tp;
  hosted.replica = std::move(*opened);
  hosted.scope = std::make_unique<io::TaskScope>();
  registry_->add(*hosted.replica);
  hosted.scope->spawn(hosted.replica->run());
  partitions_[tp] = std::make_shared<Partition>(env_, tp, *hosted.replica, data_arrived_);
  partitions_[tp]->set_planted_bug(config_.planted_bug);
  partitions_[tp]->set_producer_expiration_ms(config_.producer_id_expiration_ms);
  partitions_[tp]->watch_log_start();
  replicas_.emplace(group, std::move(hosted));
  spdlog::debug("replica of {}-{} (group {}) open", tp.topic, tp.partition, group);
  co_return io::ok();
}

io::Task<void> PartitionManager::remove_replica(std::uint64_t group, bool delete_files) {
  auto it = replicas_.find(group);
  if (it == replicas_.end()) co_return;
  Hosted hosted = std::move(it->second);
  replicas_.erase(it);
  auto found = partitions_.find(hosted.tp);
  if (found != partitions_.end() && found->second->replica() == hosted.replica.get()) {
    std::shared_ptr<Partition> partition = found->second;
    partitions_.erase(found);
    co_await partition->quiesce();
  }
  registry_->remove(group);
  hosted.replica->stop();
  co_await hosted.scope->join();
  io::Result<void> closed = co_await hosted.replica->close();
  if (!closed) {
    spdlog::warn("closing {}-{}: {}", hosted.tp.topic, hosted.tp.partition,
                 closed.error().to_string());
  }
  hosted.scope.reset();
  hosted.replica.reset();
  data_arrived_.notify_all();  // fetches waiting on it re-check and fail
  if (!delete_files) co_return;
  io::Result<void> removed =
      co_await clear_replica_directory(env_.fs(), replica_directory(hosted.tp, group));
  if (!removed) {
    spdlog::error("removing {}-{}: {}", hosted.tp.topic, hosted.tp.partition,
                  removed.error().to_string());
  } else {
    spdlog::info("removed the replica of {}-{}", hosted.tp.topic, hosted.tp.partition);
  }
}

// Kafka moves leadership off a fenced broker; here the fenced broker hands each partition it
// leads to a live voter holding its whole log (one it still hears from, that the image does not
// fence), when it learns of its fencing (the controller hears nothing from it, yet it may still
// hear the metadata log).
void PartitionManager::resign_fenced_leaderships() {
  const MetadataImage& image = controller_->image();
  for (auto& [group, hosted] : replicas_) {
    raft::Replica& replica = *hosted.replica;
    if (replica.role() != raft::Role::kLeader || replica.failed()) continue;
    const raft::RaftCore& core = replica.core();
    if (core.transfer_target()) continue;
    for (raft::NodeId voter : core.active_voters()) {
      if (image.fenced(voter) || !ready_to_lead(core, voter)) continue;
      const raft::ReplicaError error = replica.transfer_leadership(voter);
      spdlog::info("{}-{}: this broker is fenced; leadership to {}: {}", hosted.tp.topic,
                   hosted.tp.partition, voter, raft::replica_error_name(error));
      break;
    }
  }
}

io::Task<void> PartitionManager::report_leaders_loop() {
  // Walks the replicas only when one changed role, leader or term, or a report failed: an idle
  // broker with thousands of replicas then does nothing here.
  std::uint64_t scanned_changes = 0;
  bool retry = true;
  while (!closing_) {
    co_await env_.clock().sleep(kReportEvery);
    if (controller_->image().fenced(config_.node_id)) resign_fenced_leaderships();
    if (!retry && scanned_changes == role_changes_) continue;
    scanned_changes = role_changes_;
    retry = false;
    std::vector<LeaderRecord> reports;
    for (auto& [group, hosted] : replicas_) {
      const raft::Replica& replica = *hosted.replica;
      if (replica.role() != raft::Role::kLeader || replica.term() <= hosted.reported_term) continue;
      const MetadataImage::PartitionState* known = controller_->image().partition(group);
      if (known == nullptr) {
        retry = true;  // not applied here yet
        continue;
      }
      if (known->leader == config_.node_id && known->leader_epoch >= replica.term()) {
        hosted.reported_term = replica.term();
        continue;
      }
      reports.push_back(LeaderRecord{group, config_.node_id, replica.term()});
    }
    // Many at once: each report waits until this broker applied its record, which it hears of
    // with the metadata leader's next heartbeat (a tick), so one at a time 3,000 new partitions
    // took five minutes to be recorded (at a tenth of a core all along).
    for (std::size_t at = 0; at < reports.size(); at += kReportsInFlight) {
      if (closing_) co_return;
      io::TaskScope chunk;
      for (std::size_t i = at; i < std::min(reports.size(), at + kReportsInFlight); ++i) {
        chunk.spawn(report_leadership(reports[i].group, reports[i].epoch, &retry));
      }
      co_await chunk.join();
    }
  }
}

io::Task<void> PartitionManager::report_leadership(std::uint64_t group, std::int32_t term,
                                                   bool* failed) {
  MetadataRecord record = LeaderRecord{group, config_.node_id, term};
  ControllerAnswer answer = co_await controller_->submit(std::move(record), io::Duration::s(5));
  auto it = replicas_.find(group);
  if (answer.ok() && it != replicas_.end()) {
    it->second.reported_term = std::max(it->second.reported_term, term);
  } else if (!answer.ok()) {
    spdlog::debug("reporting leadership of group {}: {}", group, answer.message);
    *failed = true;
  }
}

// Kafka's auto.leader.rebalance.enable: every leader.imbalance.check.interval, a partition led by
// another broker than its preferred replica (the first it lists) hands leadership back to it once
// the preferred replica is an active voter holding the whole log, so leaders spread again after a
// broker came back. Not while the partition moves, nor before the image records this leadership.
io::Task<void> PartitionManager::rebalance_loop() {
  const io::Duration interval = io::Duration::ms(config_.leader_imbalance_check_interval_ms);
  while (!closing_) {
    co_await env_.clock().sleep(interval);
    for (auto& [group, hosted] : replicas_) {
      if (closing_) co_return;
      raft::Replica& replica = *hosted.replica;
      if (replica.role() != raft::Role::kLeader || replica.failed()) continue;
      const MetadataImage::PartitionState* partition = controller_->image().partition(group);
      if (partition == nullptr || partition->reassigning() ||
          partition->assignment.replicas.empty() || !leadership_recorded(replica, *partition)) {
        continue;
      }
      const raft::NodeId preferred = partition->assignment.replicas.front();
      const raft::RaftCore& core = replica.core();
      if (!ready_to_lead(core, preferred)) continue;
      const raft::ReplicaError error = replica.transfer_leadership(preferred);
      spdlog::info("{}-{}: leadership back to preferred replica {}: {}", hosted.tp.topic,
                   hosted.tp.partition, preferred, raft::replica_error_name(error));
    }
  }
}

io::Task<void> PartitionManager::reassign_loop() {
  while (!closing_) {
    co_await env_.clock().sleep(kReportEvery);
    struct Work {
      std::uint64_t group;
      std::vector<raft::NodeId> target;
    };
    std::vector<Work> work;
    // Only the moving partitions: walking every replica here would cost an idle broker with
    // thousands of them more than all its heartbeats.
    for (GroupId group : controller_->image().reassigning()) {
      auto hosted = replicas_.find(group);
      if (hosted == replicas_.end() || hosted->second.replica->role() != raft::Role::kLeader) {
        continue;
      }
      const MetadataImage::PartitionState* partition = controller_->image().partition(group);
      STRAND_ASSERT(partition != nullptr && partition->reassigning(),
                    "the image lists only partitions that move");
      work.push_back(Work{group, partition->target});
    }
    for (Work& item : work) {
      if (closing_) co_return;
      co_await step_reassignment(item.group, std::move(item.target));
    }
  }
}

io::Task<void> PartitionManager::step_reassignment(std::uint64_t group,
                                                   std::vector<raft::NodeId> target) {
  std::int32_t epoch = -1;
  {
    // Held across the change so that reconcile() does not close the replica under it.
    io::Mutex::Guard guard = co_await changing_.lock();
    auto it = replicas_.find(group);
    if (closing_ || it == replicas_.end()) co_return;
    raft::Replica& replica = *it->second.replica;
    if (replica.role() != raft::Role::kLeader || replica.failed()) co_return;
    // Only a leader the image knows of changes the configuration or reports it done: a deposed
    // leader that still thinks it leads (cut off, or its replica failed) sees a configuration its
    // successor may have changed since, and its report would have brokers delete replicas the
    // group still counts (sim-scenarios/regressions.txt, cluster-learners.toml seed 188).
    const MetadataImage::PartitionState* partition = controller_->image().partition(group);
    if (partition == nullptr || !leadership_recorded(replica, *partition)) co_return;
    epoch = partition->leader_epoch;
    const raft::RaftCore& core = replica.core();
    const NextStep step = next_step(core.configuration(), target, config_.node_id);
    if (step.kind == NextStep::Kind::kChange) {
      raft::ProposeOutcome outcome =
          co_await replica.change_configuration(step.change, kChangeTimeout);
      spdlog::info("reassigning group {}: {} node {}: {}", group, change_name(step.change.kind),
                   step.change.node, raft::replica_error_name(outcome.error));
      co_return;
    }
    if (step.kind == NextStep::Kind::kTransfer) {
      const raft::ReplicaError error = replica.transfer_leadership(step.transfer_to);
      spdlog::info("reassigning group {}: leadership to node {}: {}", group, step.transfer_to,
                   raft::replica_error_name(error));
      co_return;
    }
    // The configuration is the target; once that is committed the replicas outside it may go.
    if (core.configuration_history().pending(core.commit_index())) co_return;
  }
  MetadataRecord record = ReassignDoneRecord{group, std::move(target), epoch};
  ControllerAnswer answer = co_await controller_->submit(std::move(record), io::Duration::s(5));
  spdlog::info("reassignment of group {} done: {}", group,
               answer.ok() ? std::string("recorded") : answer.message);
}

}  // namespace strand::cluster
