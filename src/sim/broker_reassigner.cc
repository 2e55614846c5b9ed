// The broker scenario's operator: moves partitions between brokers during the fault phase
// (AlterPartitionReassignments through src/client, as kafka-reassign-partitions would), and after
// the heal waits for every move to finish; and the auditor that waits for every broker to be
// listed (unfenced) again.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "sim/broker_clients.h"

namespace strand::sim {

namespace {

using io::Duration;

constexpr std::uint64_t kRoundsMax = std::uint64_t{1} << 32;  // guards loops against bugs only

// `count` distinct brokers of `brokers`, in random order: the first is the preferred leader.
std::vector<std::int32_t> pick_replicas(io::Random& random, std::uint32_t brokers,
                                        std::uint32_t count) {
  std::vector<std::int32_t> all;
  for (std::uint32_t i = 0; i < brokers; ++i) all.push_back(static_cast<std::int32_t>(i + 1));
  for (std::size_t i = all.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(random.between(0, static_cast<std::int64_t>(i) - 1));
    std::swap(all[i - 1], all[j]);
  }
  all.resize(count);
  return all;
}

}  // namespace

io::Task<void> run_reassigner(io::Env* env, BrokerRun* run) {
  const BrokerWorkloadOptions& options = *run->options;
  const Duration every = options.reassign_every;
  std::string name = "reassigner";
  std::unique_ptr<client::Client> client =
      co_await connect_sim_client(env, run, std::move(name), run->history.fault_end);
  if (!client) co_return;
  const std::uint32_t replication = std::min<std::uint32_t>(3, options.nodes_count);
  for (std::uint64_t round = 0; round < kRoundsMax; ++round) {
    const Duration gap =
        Duration::ns(env->rng().between(every.count_ns() / 2, every.count_ns() * 3 / 2));
    co_await env->clock().sleep(gap);
    if (run->world->now() >= run->history.fault_end) break;
    const auto topic = static_cast<std::uint32_t>(
        env->rng().between(0, static_cast<std::int64_t>(options.topics_count) - 1));
    const auto partition =
        static_cast<std::int32_t>(env->rng().between(0, options.partitions_count - 1));
    // Now and then a cancel, mostly a move (to a set of the same size: the checks read back
    // replication-factor-many replicas).
    std::optional<std::vector<std::int32_t>> replicas;
    if (!env->rng().chance(0.15))
      replicas = pick_replicas(env->rng(), options.nodes_count, replication);
    run->reassignments.asked += 1;
    io::Result<void> asked =
        co_await client->reassign_partition(topic_name(topic), partition, std::move(replicas));
    if (asked) run->reassignments.accepted += 1;
  }
}

io::Task<void> await_reassignments(io::Env* env, BrokerRun* run, io::Duration bound) {
  const io::Instant deadline = run->world->now() + bound;
  std::string name = "reassignment-auditor";
  std::unique_ptr<client::Client> client =
      co_await connect_sim_client(env, run, std::move(name), deadline);
  if (!client) co_return;
  for (std::uint64_t round = 0; round < kRoundsMax && run->world->now() < deadline; ++round) {
    io::Result<std::vector<client::Reassignment>> moving = co_await client->list_reassignments();
    if (moving) {
      run->reassignments.left = moving->size();
      if (moving->empty()) {
        run->reassignments.all_done = true;
        co_return;
      }
    }
    co_await env->clock().sleep(Duration::ms(250));
  }
}

io::Task<void> await_brokers_listed(io::Env* env, BrokerRun* run, io::Duration bound) {
  const io::Instant begin = run->world->now();
  const io::Instant deadline = begin + bound;
  std::string name = "fencing-auditor";
  std::unique_ptr<client::Client> client =
      co_await connect_sim_client(env, run, std::move(name), deadline);
  if (!client) co_return;
  for (std::uint64_t round = 0; round < kRoundsMax && run->world->now() < deadline; ++round) {
    io::Result<client::ClusterMetadata> metadata =
        co_await client->metadata(std::vector<std::string>{}, false);
    if (metadata) {
      run->fencing.listed = metadata->brokers.size();
      if (metadata->brokers.size() == run->options->nodes_count) {
        run->fencing.all_listed = true;
        run->fencing.listed_after = run->world->now() - begin;
        co_return;
      }
    }
    co_await env->clock().sleep(Duration::ms(250));
  }
}

}  // namespace strand::sim
