// The broker scenario's consumer-group members (broker_clients.h, run_group_member).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/client.h"
#include "client/group_consumer.h"
#include "client/kafka_error.h"
#include "sim/broker_clients.h"

namespace strand::sim {

namespace {

using io::Duration;

constexpr std::uint64_t kRoundsMax = std::uint64_t{1} << 32;  // guards loops against bugs only
constexpr const char* kGroupId = "group-0";

io::Instant world_now(const BrokerRun* run) { return run->world->now(); }

Duration backoff(io::Env* env) { return Duration::ms(env->rng().between(50, 250)); }

// Counts a member among the running tasks while its frame lives (a crash destroys it).
class RunningTask {
 public:
  explicit RunningTask(BrokerRun* run) : run_(run) { run_->tasks_running += 1; }
  ~RunningTask() { run_->tasks_running -= 1; }
  RunningTask(const RunningTask&) = delete;
  RunningTask& operator=(const RunningTask&) = delete;

 private:
  BrokerRun* run_;
};

client::GroupConsumerOptions member_options(const BrokerWorkloadOptions& options,
                                            std::uint32_t topic) {
  client::GroupConsumerOptions out;
  out.group_id = kGroupId;
  out.topics.push_back(topic_name(topic));
  out.session_timeout = options.group_session_timeout;
  out.rebalance_timeout = options.group_session_timeout;
  out.heartbeat_interval = options.group_heartbeat_interval;
  out.fetch_limits = client::FetchLimits{1 << 20, 256 << 10, options.fetch_max_wait};
  return out;
}

// Commits the member's positions and records each partition's attempt and answer.
io::Task<void> commit_and_record(BrokerRun* run, std::uint32_t index,
                                 client::GroupConsumer* consumer) {
  GroupHistory& group = run->history.group;
  const io::Instant sent_at = world_now(run);
  const std::string member_id = consumer->member_id();
  const std::int32_t generation = consumer->generation();
  const std::map<client::TopicPartition, std::int64_t> positions = consumer->positions();
  const std::map<client::TopicPartition, std::int64_t> seen = consumer->high_watermarks();
  io::Result<std::vector<client::CommitOutcome>> outcomes = co_await consumer->commit();
  const io::Instant completed_at = world_now(run);
  for (const auto& [tp, offset] : positions) {
    GroupCommit& commit = group.commits.emplace_back();
    commit.member = index;
    commit.member_id = member_id;
    commit.generation = generation;
    commit.partition = tp.partition;
    commit.offset = offset;
    auto hw = seen.find(tp);
    commit.high_watermark_seen = hw == seen.end() ? -1 : hw->second;
    commit.sent_at = sent_at;
    commit.completed_at = completed_at;
    if (!outcomes) continue;
    for (const client::CommitOutcome& outcome : *outcomes) {
      if (outcome.tp != tp) continue;
      commit.answered = true;
      commit.error_code = outcome.error_code;
    }
  }
}

// Joins and fetches the starting offsets; false when either failed (after a pause).
io::Task<bool> settle(io::Env* env, BrokerRun* run, std::uint32_t index,
                      client::GroupConsumer* consumer) {
  GroupHistory& group = run->history.group;
  if (!consumer->active()) {
    io::Result<void> joined = co_await consumer->join();
    if (!joined) {
      group.join_failures += 1;
      if (group.last_join_error.empty()) group.last_join_error = joined.error().to_string();
      co_await env->clock().sleep(backoff(env));
      co_return false;
    }
    group.joins += 1;
  }
  const io::Instant sent_at = world_now(run);
  io::Result<std::map<client::TopicPartition, std::int64_t>> committed =
      co_await consumer->fetch_positions();
  if (!committed) {
    co_await env->clock().sleep(backoff(env));
    co_return false;
  }
  for (const auto& [tp, offset] : *committed) {
    group.offset_fetches.push_back(GroupOffsetFetch{index, consumer->member_id(),
                                                    consumer->generation(), tp.partition, offset,
                                                    sent_at, world_now(run)});
  }
  co_return true;
}

void record_deliveries(BrokerRun* run, std::uint32_t index, const client::GroupConsumer& consumer,
                       const std::vector<client::FetchedRecords>& fetched) {
  for (const client::FetchedRecords& partition : fetched) {
    for (const protocol::Record& record : partition.records) {
      run->history.group.deliveries.push_back(GroupDelivery{
          index, consumer.member_id(), consumer.generation(), partition.partition, record.offset});
    }
  }
}

io::Task<void> consume_in_group(io::Env* env, BrokerRun* run, std::uint32_t index,
                                client::Client* client) {
  const BrokerWorkloadOptions& options = *run->options;
  client::GroupConsumer consumer(*client, member_options(options, run->history.group.topic));
  io::Instant next_commit = world_now(run) + options.group_commit_interval;
  for (std::uint64_t round = 0; round < kRoundsMax && world_now(run) < run->history.run_end;
       ++round) {
    if (!consumer.active() || !consumer.positions_known()) {
      // What the member consumed in its last generation is committed before it rejoins (the
      // coordinator still accepts it while the rebalance is preparing).
      if (consumer.positions_known()) co_await commit_and_record(run, index, &consumer);
      const bool settled = co_await settle(env, run, index, &consumer);
      (void)settled;
      continue;
    }
    io::Result<std::vector<client::FetchedRecords>> fetched = co_await consumer.poll();
    if (fetched) {
      record_deliveries(run, index, consumer, *fetched);
    } else {
      co_await env->clock().sleep(backoff(env));
    }
    if (consumer.active() && world_now(run) >= next_commit) {
      co_await commit_and_record(run, index, &consumer);
      next_commit = world_now(run) + options.group_commit_interval;
    }
  }
  if (consumer.active() && consumer.positions_known()) {
    co_await commit_and_record(run, index, &consumer);
  }
  co_await consumer.leave();
  run->history.group.leaves += 1;
}

}  // namespace

io::Task<void> run_group_member(io::Env* env, BrokerRun* run, std::uint32_t index) {
  // Member nodes boot with the world; they start with the fault phase, once the topics exist.
  for (std::uint64_t wait = 0; wait < kRoundsMax && run->history.run_end == io::Instant{}; ++wait) {
    co_await env->clock().sleep(Duration::ms(100));
  }
  const RunningTask running(run);
  std::string name = "member-" + std::to_string(index);
  std::unique_ptr<client::Client> client =
      co_await connect_sim_client(env, run, std::move(name), run->history.run_end);
  if (client) co_await consume_in_group(env, run, index, client.get());
}

}  // namespace strand::sim
