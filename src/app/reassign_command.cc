#include "app/reassign_command.h"

#include <algorithm>
#include <cstdio>

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

}  // namespace

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
  const io::Instant deadline = env.clock().now() + io::Duration::ms(options.wait_timeout_ms);
  for (;;) {
    io::Result<std::vector<client::Reassignment>> moving = co_await client.list_reassignments();
    if (!moving) co_return failed("cannot list reassignments", moving.error());
    const bool busy = std::any_of(moving->begin(), moving->end(), [&](const auto& move) {
      return move.topic == options.topic &&
             std::find(partitions.begin(), partitions.end(), move.partition) != partitions.end();
    });
    if (!busy) break;
    if (env.clock().now() >= deadline) {
      std::fprintf(stderr, "strand: the moves of %s are not done after %lld ms\n",
                   options.topic.c_str(), static_cast<long long>(options.wait_timeout_ms));
      co_return 1;
    }
    co_await env.clock().sleep(kPollInterval);
  }
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
