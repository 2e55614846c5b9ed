#include "sim/echo_workload.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "io/assert.h"
#include "io/task_scope.h"
#include "sim/sim_node.h"

namespace strand::sim {
namespace {

using io::Duration;
using io::Error;
using io::Result;
using io::Task;

constexpr std::uint64_t kStreamFaults = 0xfa017;

struct ClientProgress {
  std::uint64_t verified = 0;
  io::Instant last_verified;  // world time of the last verified echo
};

// What the nodes' tasks record. Lives outside the nodes, so it survives their crashes.
struct EchoStats {
  SimWorld* world = nullptr;
  std::uint64_t frames_verified = 0;
  std::uint64_t bytes_verified = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t connects_failed = 0;
  std::uint64_t connections_broken = 0;
  std::vector<ClientProgress> clients;  // node_index * clients_per_node + client
};

struct NodeConfig {
  std::uint32_t node_index = 0;
  std::uint32_t nodes_count = 0;
  std::uint32_t clients_per_node = 0;
  std::uint32_t frame_bytes_max = 0;
  Duration think_time_max;
  std::uint16_t port = 0;
};

std::string node_name(std::uint32_t index) {
  std::string name = "n";  // not "n" + ...: GCC 12 warns falsely (-Wrestrict) on that at -O3
  name += std::to_string(index + 1);
  return name;
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string frame_of(const std::string& payload) {
  std::string frame(4, '\0');
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::memcpy(frame.data(), &length, sizeof(length));
  return frame + payload;
}

Task<Result<std::string>> read_frame(io::Connection& connection, std::uint32_t bytes_max) {
  std::byte header[4];
  Result<void> got_header = co_await io::read_exact(connection, header);
  if (!got_header) co_return std::move(got_header).error();
  std::uint32_t length = 0;
  std::memcpy(&length, header, sizeof(length));
  if (length > bytes_max) co_return Error{io::ErrorKind::kCorrupt, "frame longer than allowed"};
  std::string payload(length, '\0');
  Result<void> got_payload =
      co_await io::read_exact(connection, std::as_writable_bytes(std::span(payload)));
  if (!got_payload) co_return std::move(got_payload).error();
  co_return payload;
}

Task<void> serve_connection(std::unique_ptr<io::Connection> connection, std::uint32_t bytes_max) {
  for (;;) {
    Result<std::string> frame = co_await read_frame(*connection, bytes_max);
    if (!frame) break;
    const std::string reply = frame_of(*frame);
    Result<void> sent = co_await connection->write(as_bytes(reply));
    if (!sent) break;
  }
  connection->close();
}

std::string random_payload(io::Random& random, std::uint32_t bytes_max) {
  std::string payload(static_cast<std::size_t>(random.between(1, bytes_max)), '\0');
  for (std::size_t i = 0; i < payload.size(); i += 8) {
    const std::uint64_t word = random.next_u64();
    std::memcpy(payload.data() + i, &word, std::min<std::size_t>(8, payload.size() - i));
  }
  return payload;
}

// Sends frames and checks their echoes until the connection fails.
Task<void> exchange_frames(io::Env* env, EchoStats* stats, ClientProgress* progress,
                           io::Connection* connection, NodeConfig config) {
  for (;;) {
    const std::string payload = random_payload(env->rng(), config.frame_bytes_max);
    const std::string frame = frame_of(payload);
    Result<void> sent = co_await connection->write(as_bytes(frame));
    if (!sent) co_return;
    Result<std::string> echoed = co_await read_frame(*connection, config.frame_bytes_max);
    if (!echoed) co_return;
    if (*echoed != payload) {
      stats->mismatches += 1;
    } else {
      stats->frames_verified += 1;
      stats->bytes_verified += payload.size();
      progress->verified += 1;
      progress->last_verified = stats->world->now();
    }
    const auto think = env->rng().between(0, config.think_time_max.count_ns());
    co_await env->clock().sleep(Duration::ns(think));
  }
}

Task<void> run_client(io::Env* env, EchoStats* stats, NodeConfig config, std::uint32_t client) {
  const std::uint32_t others = std::max<std::uint32_t>(1, config.nodes_count - 1);
  const std::uint32_t target = (config.node_index + 1 + client % others) % config.nodes_count;
  const io::Address address{node_name(target), config.port};
  ClientProgress* progress = &stats->clients[config.node_index * config.clients_per_node + client];
  // Bounded by the run's event budget; the cap only guards against a bug.
  for (std::uint64_t attempt = 0; attempt < (1ull << 40); ++attempt) {
    Result<std::unique_ptr<io::Connection>> connected = co_await env->net().connect(address);
    if (!connected) {
      stats->connects_failed += 1;
      co_await env->clock().sleep(Duration::ms(env->rng().between(100, 500)));
      continue;
    }
    std::unique_ptr<io::Connection> connection = std::move(*connected);
    co_await exchange_frames(env, stats, progress, connection.get(), config);
    connection->close();
    stats->connections_broken += 1;
    co_await env->clock().sleep(Duration::ms(env->rng().between(10, 100)));
  }
}

Task<void> echo_node_main(io::Env* env, EchoStats* stats, NodeConfig config) {
  Result<std::unique_ptr<io::Listener>> listening = env->net().listen({"", config.port});
  STRAND_ASSERT(listening.ok(), "a (re)booted node can listen on its port");
  std::unique_ptr<io::Listener> listener = std::move(*listening);
  for (std::uint32_t c = 0; c < config.clients_per_node; ++c) {
    env->executor().root().spawn(run_client(env, stats, config, c));
  }
  for (;;) {
    Result<std::unique_ptr<io::Connection>> accepted = co_await listener->accept();
    if (!accepted) co_return;
    env->executor().root().spawn(serve_connection(std::move(*accepted), config.frame_bytes_max));
  }
}

// The scenario's fault schedule, run as world events (they belong to no node).
class FaultInjector {
 public:
  FaultInjector(SimWorld& world, std::vector<std::unique_ptr<SimNode>>& nodes,
                const EchoWorkloadOptions& options, EchoWorkloadReport& report)
      : world_(world), nodes_(nodes), options_(options), report_(report),
        random_(world.derive_seed(kStreamFaults, 0)),
        fault_end_(io::Instant{} + (options.duration - options.quiet)) {}

  io::Instant fault_end() const { return fault_end_; }

  void start() {
    for (auto& node : nodes_) {
      const std::int64_t drift = options_.clock_drift_ppm_max;
      if (drift > 0) node->set_clock_drift_ppm(random_.between(-drift, drift));
    }
    if (options_.partition_every > Duration{}) {
      at(next_gap(options_.partition_every), [this] { partition(); });
    }
    if (options_.crash_every > Duration{}) {
      at(next_gap(options_.crash_every), [this] { crash(); });
    }
    world_.schedule(std::max(world_.now(), fault_end_), kNoNode, EventKind::kControl,
                    [this] { end_faults(); });
  }

 private:
  void at(Duration delay, std::function<void()> step) {
    world_.schedule_after(delay, kNoNode, EventKind::kControl, std::move(step));
  }
  Duration next_gap(Duration every) {
    return every / 2 + Duration::ns(random_.between(0, every.count_ns()));
  }

  void partition() {
    if (world_.now() >= fault_end_ || nodes_.size() < 2) return;
    SimNetwork& net = world_.network();
    const auto count = static_cast<std::uint32_t>(nodes_.size());
    const std::uint64_t kind = random_.uniform(3);
    if (kind == 0) {
      net.isolate(nodes_[random_.uniform(count)]->id());
    } else if (kind == 1) {
      std::vector<NodeId> ids;
      for (auto& node : nodes_) ids.push_back(node->id());
      for (std::size_t i = ids.size() - 1; i > 0; --i) {
        std::swap(ids[i], ids[random_.uniform(i + 1)]);
      }
      const std::size_t cut = 1 + random_.uniform(ids.size() - 1);
      net.split(std::span(ids).first(cut), std::span(ids).subspan(cut));
    } else {
      const std::uint64_t from = random_.uniform(count);
      const std::uint64_t to = (from + 1 + random_.uniform(count - 1)) % count;
      net.block(nodes_[from]->id(), nodes_[to]->id());
    }
    report_.partitions += 1;
    at(options_.partition_length, [this] { world_.network().heal(); });
    at(options_.partition_length + next_gap(options_.partition_every), [this] { partition(); });
  }

  void crash() {
    if (world_.now() >= fault_end_) return;
    const std::size_t index = random_.uniform(nodes_.size());
    if (nodes_[index]->up()) {
      nodes_[index]->crash();
      report_.crashes += 1;
      at(options_.crash_downtime, [this, index] { restart(index); });
    }
    at(next_gap(options_.crash_every), [this] { crash(); });
  }

  void restart(std::size_t index) {
    SimNode& node = *nodes_[index];
    if (node.up()) return;
    const std::int64_t jump_ns = options_.wall_jump_max.count_ns();
    if (jump_ns > 0) node.jump_wall(Duration::ns(random_.between(-jump_ns, jump_ns)));
    node.restart();
  }

  void end_faults() {
    world_.network().heal();
    for (std::size_t i = 0; i < nodes_.size(); ++i) restart(i);
  }

  SimWorld& world_;
  std::vector<std::unique_ptr<SimNode>>& nodes_;
  const EchoWorkloadOptions& options_;
  EchoWorkloadReport& report_;
  io::SeededRandom random_;
  io::Instant fault_end_;
};

void add_checks(const EchoWorkloadOptions& options, const EchoStats& stats, io::Instant fault_end,
                bool within_budget, EchoWorkloadReport& report) {
  report.checks.push_back({"frames_intact", stats.mismatches == 0,
                           std::to_string(stats.mismatches) + " mismatched of " +
                               std::to_string(stats.frames_verified + stats.mismatches)});
  report.checks.push_back({"progress", stats.frames_verified >= options.frames_min,
                           std::to_string(stats.frames_verified) + " frames verified, at least " +
                               std::to_string(options.frames_min) + " expected"});
  std::string stalled;
  for (std::size_t i = 0; i < stats.clients.size(); ++i) {
    const ClientProgress& client = stats.clients[i];
    if (client.verified > 0 && client.last_verified >= fault_end) continue;
    if (!stalled.empty()) stalled += ' ';
    stalled += node_name(static_cast<std::uint32_t>(i / options.clients_per_node)) + "/c" +
               std::to_string(i % options.clients_per_node);
  }
  report.checks.push_back({"liveness_after_heal", stalled.empty(),
                           stalled.empty() ? "every client made progress after the faults ended"
                                           : "no progress after the faults ended: " + stalled});
  report.checks.push_back({"event_budget", within_budget,
                           std::to_string(report.events_run) + " events, budget " +
                               std::to_string(options.events_max)});
}

}  // namespace

bool EchoWorkloadReport::ok() const {
  return std::all_of(checks.begin(), checks.end(), [](const EchoCheck& c) { return c.ok; });
}

EchoWorkloadReport run_echo_workload(std::uint64_t seed, const EchoWorkloadOptions& options) {
  STRAND_ASSERT(options.nodes_count >= 1 && options.nodes_count <= 64, "1..64 nodes");
  STRAND_ASSERT(options.quiet <= options.duration, "the quiet phase is part of the run");
  EchoWorkloadReport report;
  report.seed = seed;
  SimWorld world(seed);
  world.set_buggify(options.buggify);
  world.network().set_all_links(options.link);
  EchoStats stats;
  stats.world = &world;
  stats.clients.resize(std::size_t{options.nodes_count} * options.clients_per_node);
  std::vector<std::unique_ptr<SimNode>> nodes;
  for (std::uint32_t i = 0; i < options.nodes_count; ++i) {
    const NodeConfig config{i, options.nodes_count, options.clients_per_node,
                            options.frame_bytes_max, options.think_time_max, options.port};
    nodes.push_back(std::make_unique<SimNode>(
        world, NodeId{i}, node_name(i),
        [&stats, config](io::Env& env) { return echo_node_main(&env, &stats, config); }));
  }
  FaultInjector faults(world, nodes, options, report);
  faults.start();
  const bool within_budget =
      world.run_until(io::Instant{} + options.duration, options.events_max);
  report.events_run = world.events_run();
  report.trace_hash = world.trace_hash();
  report.simulated_s = (world.now() - io::Instant{}).seconds();
  report.frames_verified = stats.frames_verified;
  report.bytes_verified = stats.bytes_verified;
  report.mismatches = stats.mismatches;
  report.connects_failed = stats.connects_failed;
  report.connections_broken = stats.connections_broken;
  report.network = world.network().total_stats();
  add_checks(options, stats, faults.fault_end(), within_budget, report);
  nodes.clear();  // before the world: their frames go first
  return report;
}

EchoWorkloadOptions randomize_faults(const EchoWorkloadOptions& base, std::uint64_t seed) {
  io::SeededRandom random(io::mix64(seed ^ 0x5a4d'0000ull));
  EchoWorkloadOptions options = base;
  options.link.loss = random.chance(0.5) ? random.unit() * 0.10 : 0.0;
  options.link.duplicate = random.chance(0.5) ? random.unit() * 0.05 : 0.0;
  options.link.reorder = random.chance(0.5) ? random.unit() * 0.10 : 0.0;
  options.partition_every =
      random.chance(0.6) ? Duration::ms(random.between(2'000, 15'000)) : Duration{};
  options.partition_length = Duration::ms(random.between(200, 12'000));
  options.crash_every =
      random.chance(0.6) ? Duration::ms(random.between(2'000, 20'000)) : Duration{};
  options.crash_downtime = Duration::ms(random.between(50, 5'000));
  options.clock_drift_ppm_max = random.chance(0.5) ? random.between(0, 50'000) : 0;
  options.wall_jump_max = random.chance(0.5) ? Duration::s(random.between(1, 120)) : Duration{};
  options.buggify = true;
  return options;
}

}  // namespace strand::sim
