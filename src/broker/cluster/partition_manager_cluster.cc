// The partition manager of a cluster: replicas follow the controller's metadata image.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/cluster/controller.h"
#include "broker/cluster/partition_manager.h"
#include "io/timed_wait.h"

namespace strand::cluster {

namespace {

constexpr io::Duration kReconcileEvery = io::Duration::s(1);
constexpr io::Duration kReportEvery = io::Duration::ms(200);

io::Task<io::Result<void>> remove_directory(io::FileSystem& fs, const std::string& directory) {
  io::Result<std::vector<std::string>> names = co_await fs.list(directory);
  if (!names) {
    if (names.error().kind == io::ErrorKind::kNotFound) co_return io::ok();
    co_return std::move(names).error();
  }
  for (const std::string& name : *names) {
    io::Result<void> removed = co_await fs.remove(io::join_path(directory, name));
    if (!removed) co_return removed;
  }
  co_return co_await fs.remove(directory);
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
    co_await reconcile();
    if (closing_) break;
    (void)co_await io::wait_notified(image_changed_, env_.clock(), kReconcileEvery);
  }
}

io::Task<void> PartitionManager::reconcile() {
  io::Mutex::Guard guard = co_await changing_.lock();
  const MetadataImage& image = controller_->image();
  const raft::NodeId self = config_.node_id;
  // Replicas whose partition went away (or moved off this broker).
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
  for (std::uint64_t group : gone) {
    if (closing_) co_return;
    co_await remove_replica(group, true);
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
      wanted.push_back(
          Wanted{{name, assignment.partition}, assignment.group, assignment.replicas, log});
    }
  }
  for (Wanted& want : wanted) {
    if (closing_) co_return;
    io::Result<void> opened =
        co_await open_replica(want.tp, want.group, std::move(want.replicas), want.log);
    if (!opened) {
      spdlog::error("opening replica {}-{}: {}", want.tp.topic, want.tp.partition,
                    opened.error().to_string());
    }
  }
}

io::Task<io::Result<void>> PartitionManager::open_replica(storage::TopicPartition tp,
                                                          std::uint64_t group,
                                                          std::vector<std::int32_t> replicas,
                                                          storage::LogConfig log) {
  raft::ReplicaOptions options = replica_options(config_, log, &data_arrived_);
  options.external_ticks = true;  // tick_loop()
#ifdef STRAND_PLANTED_BUGS
  options.raft.test_only_skip_log_up_to_date_check =
      config_.planted_bug == "vote_without_log_check";
  options.raft.test_only_keep_diverged_entries =
      config_.planted_bug == "no_truncate_diverged_follower";
  options.raft.test_only_commit_without_majority = config_.planted_bug == "commit_without_majority";
#endif
  raft::Configuration bootstrap;
  bootstrap.voters = std::move(replicas);
  std::sort(bootstrap.voters.begin(), bootstrap.voters.end());
  io::Result<std::unique_ptr<raft::Replica>> opened = co_await raft::Replica::open(
      env_, replica_directory(tp, group), group, std::move(bootstrap), options, *transport_);
  if (!opened) co_return std::move(opened).error();
  Hosted hosted;
  hosted.tp = tp;
  hosted.replica = std::move(*opened);
  hosted.scope = std::make_unique<io::TaskScope>();
  registry_->add(*hosted.replica);
  hosted.scope->spawn(hosted.replica->run());
  partitions_[tp] = std::make_shared<Partition>(env_, tp, *hosted.replica, data_arrived_);
  partitions_[tp]->set_planted_bug(config_.planted_bug);
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
      co_await remove_directory(env_.fs(), replica_directory(hosted.tp, group));
  if (!removed) {
    spdlog::error("removing {}-{}: {}", hosted.tp.topic, hosted.tp.partition,
                  removed.error().to_string());
  } else {
    spdlog::info("removed the replica of {}-{}", hosted.tp.topic, hosted.tp.partition);
  }
}

io::Task<void> PartitionManager::report_leaders_loop() {
  while (!closing_) {
    co_await env_.clock().sleep(kReportEvery);
    std::vector<LeaderRecord> reports;
    for (auto& [group, hosted] : replicas_) {
      const raft::Replica& replica = *hosted.replica;
      if (replica.role() != raft::Role::kLeader || replica.term() <= hosted.reported_term) continue;
      std::optional<MetadataImage::Located> located = controller_->image().locate(group);
      if (!located) continue;
      const MetadataImage::PartitionState& known =
          located->topic->partitions.at(static_cast<std::size_t>(located->partition));
      if (known.leader == config_.node_id && known.leader_epoch >= replica.term()) {
        hosted.reported_term = replica.term();
        continue;
      }
      reports.push_back(LeaderRecord{group, config_.node_id, replica.term()});
    }
    for (const LeaderRecord& report : reports) {
      if (closing_) co_return;
      MetadataRecord record = report;
      ControllerAnswer answer = co_await controller_->submit(std::move(record), io::Duration::s(5));
      auto it = replicas_.find(report.group);
      if (answer.ok() && it != replicas_.end()) {
        it->second.reported_term = std::max(it->second.reported_term, report.epoch);
      } else if (!answer.ok()) {
        spdlog::debug("reporting leadership of group {}: {}", report.group, answer.message);
      }
    }
  }
}

}  // namespace strand::cluster
