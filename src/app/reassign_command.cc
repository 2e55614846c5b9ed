#include "app/reassign_command.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "client/decommission.h"

namespace strand::app {

namespace {

constexpr io::Duration kPollInterval = io::Duration::ms(500);

std::string join(const std::vector<std::int32_t>& ids) {
  std::string out;
  for (std::int32_t id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

int failed(const std::string& what, const io::Error& error) {
  std::fprintf(stderr, "strand: %s: %s\n", what.c_str(), error.to_string().c_str());
  return 1;
}

// Polls ListPartitionReassignments until none of `partitions` is moving. False (with a line on
// stderr) when a listing failed or `timeout` passed.
io::Task<bool> wait_for_moves(io::Env& env, client::Client& client,
                              std::set<client::TopicPartition> partitions, io::Duration timeout) {
  const io::Instant deadline = env.clock().now() + timeout;
  for (;;) {
    io::Result<std::vector<client::Reassignment>> moving = co_await client.list_reassignments();
    if (!moving) {
      failed("cannot list reassignments", moving.error());
      co_return false;
    }
    const bool busy = std::any_of(moving->begin(), moving->end(), [&](const auto& move) {
      return partitions.contains(client::TopicPartition{move.topic, move.partition});
    });
    if (!busy) co_return true;
    if (env.clock().now() >= deadline) {
      std::fprintf(stderr, "strand: the moves are not done after %lld ms\n",
                   static_cast<long long>(timeout.count_ms()));
      co_return false;
    }
    co_await env.clock().sleep(kPollInterval);
  }
}

// Every partition's replicas, and the brokers, from Metadata.
struct ClusterView {
  std::vector<client::PartitionReplicas> partitions;
  std::vector<std::int32_t> brokers;
};

io::Task<io::Result<ClusterView>> cluster_view(client::Client& client) {
  std::optional<std::vector<std::string>> all;
  io::Result<client::ClusterMetadata> metadata = co_await client.metadata(std::move(all));
  if (!metadata) co_return std::move(metadata).error();
  ClusterView view;
  for (const client::BrokerInfo& broker : metadata->brokers) view.brokers.push_back(broker.node_id);
  std::sort(view.brokers.begin(), view.brokers.end());
  for (const client::TopicMetadata& topic : metadata->topics) {
    if (topic.error_code != 0) continue;
    for (const client::PartitionMetadata& partition : topic.partitions) {
      view.partitions.push_back({topic.name, partition.partition, partition.replicas});
    }
  }
  co_return view;
}

}  // namespace

io::Task<int> decommission_command(io::Env& env, client::Client& client,
                                   const DecommissionOptions& options) {
  io::Result<ClusterView> view = co_await cluster_view(client);
  if (!view) co_return failed("cannot read the cluster's metadata", view.error());
  io::Result<std::vector<client::Reassignment>> moving = co_await client.list_reassignments();
  if (!moving) co_return failed("cannot list reassignments", moving.error());
  for (const client::Reassignment& move : *moving) {
    if (std::find(move.replicas.begin(), move.replicas.end(), options.broker) !=
        move.replicas.end()) {
      std::fprintf(stderr, "strand: %s-%d is being moved; decommission once it is done\n",
                   move.topic.c_str(), move.partition);
      co_return 1;
    }
  }
  io::Result<std::vector<client::PartitionMove>> plan =
      client::plan_decommission(view->partitions, view->brokers, options.broker);
  if (!plan)
    co_return failed("cannot decommission broker " + std::to_string(options.broker), plan.error());
  std::set<client::TopicPartition> planned;
  for (const client::PartitionMove& move : *plan) {
    std::printf("%s %s-%d from %s to %s\n", options.dry_run ? "Would move" : "Moving",
                move.topic.c_str(), move.partition, join(move.from).c_str(), join(move.to).c_str());
    planned.insert({move.topic, move.partition});
    if (options.dry_run) continue;
    std::optional<std::vector<std::int32_t>> to = move.to;
    io::Result<void> asked =
        co_await client.reassign_partition(move.topic, move.partition, std::move(to));
    if (!asked) {
      co_return failed("cannot move " + move.topic + "-" + std::to_string(move.partition),
                       asked.error());
    }
  }
  if (options.dry_run || !options.wait) co_return 0;
  const bool done = co_await wait_for_moves(env, client, std::move(planned),
                                            io::Duration::ms(options.wait_timeout_ms));
  if (!done) co_return 1;
  std::printf("Broker %d holds no replicas.\n", options.broker);
  co_return 0;
}

io::Task<int> reassign_command(io::Env& env, client::Client& client,
                               const ReassignOptions& options) {
  std::vector<std::int32_t> partitions = options.partitions;
  if (partitions.empty()) {
    io::Result<std::int32_t> count = co_await client.partitions_count(options.topic, false);
    if (!count) co_return failed("cannot find topic " + options.topic, count.error());
    for (std::int32_t p = 0; p < *count; ++p) partitions.push_back(p);
  }
  for (std::int32_t partition : partitions) {
    std::optional<std::vector<std::int32_t>> replicas;
    if (!options.cancel) replicas = options.replicas;
    io::Result<void> asked =
        co_await client.reassign_partition(options.topic, partition, std::move(replicas));
    const std::string where = options.topic + "-" + std::to_string(partition);
    if (!asked) {
      co_return failed(
          std::string("cannot ") + (options.cancel ? "cancel the move of " : "move ") + where,
          asked.error());
    }
    if (options.cancel) {
      std::printf("Cancelling the move of %s.\n", where.c_str());
    } else {
      std::printf("Moving %s to brokers %s.\n", where.c_str(), join(options.replicas).c_str());
    }
  }
  if (!options.wait) co_return 0;
  std::set<client::TopicPartition> moving;
  for (std::int32_t partition : partitions) moving.insert({options.topic, partition});
  const bool done = co_await wait_for_moves(env, client, std::move(moving),
                                            io::Duration::ms(options.wait_timeout_ms));
  if (!done) co_return 1;
  std::printf("Done.\n");
  co_return 0;
}

io::Task<int> reassignments_command(client::Client& client) {
  io::Result<std::vector<client::Reassignment>> moving = co_await client.list_reassignments();
  if (!moving) co_return failed("cannot list reassignments", moving.error());
  for (const client::Reassignment& move : *moving) {
    std::printf("%s\tPartition: %d\tReplicas: %s\tAdding: %s\tRemoving: %s\n", move.topic.c_str(),
                move.partition, join(move.replicas).c_str(), join(move.adding).c_str(),
                join(move.removing).c_str());
  }
  co_return 0;
}

}  // namespace strand::app
