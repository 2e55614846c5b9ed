#include "sim/broker_workload.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "io/assert.h"
#include "sim/broker_clients.h"
#include "sim/broker_faults.h"
#include "sim/sim_node.h"

namespace strand::sim {

namespace {

using io::Duration;

constexpr Duration kSetupLimit = Duration::s(120);
constexpr Duration kWindDownLimit = Duration::s(60);
constexpr Duration kReadbackLimit = Duration::s(600);
constexpr std::uint32_t kBrokersMax = 9;

std::string numbered(const char* prefix, std::uint32_t index) {
  std::string name = prefix;
  name += std::to_string(index);
  return name;
}

// Broker `index`'s configuration: in a cluster node.id index + 1, a controller voter if among the
// first voters_count; its own disk holds "data".
BrokerConfig broker_config_for(const BrokerWorkloadOptions& options, std::uint32_t index) {
  BrokerConfig config;
  config.auto_create_topics = false;
  config.num_partitions = options.partitions_count;
  for (const auto& [key, value] : options.broker_config) {
    io::Result<void> applied = config.set(key, value);
    STRAND_ASSERT(applied.ok(), "validate() accepted every broker key");
  }
  if (options.racks_count > 0) {
    io::Result<void> rack =
        config.set("broker.rack", "r" + std::to_string(index % options.racks_count));
    STRAND_ASSERT(rack.ok(), "broker.rack takes any name");
  }
  config.listen = io::Address{broker_host(options, index), kBrokerPort};
  config.data_dir = "data";
  config.planted_bug = options.planted_bug;
  config.log.plant_bug(options.planted_bug);
  if (options.nodes_count > 1) {
    config.node_id = static_cast<std::int32_t>(index) + 1;
    config.cluster_id = "strand-sim-cluster";
    const std::uint32_t voters =
        options.voters_count == 0 ? options.nodes_count : options.voters_count;
    for (std::uint32_t i = 0; i < voters; ++i) {
      config.controller_voters[static_cast<std::int32_t>(i) + 1] =
          io::Address{broker_host(options, i), kBrokerRpcPort};
    }
    if (index >= voters)
      config.rpc_listen = io::Address{broker_host(options, index), kBrokerRpcPort};
  }
  return config;
}

void add_disk_stats(SimDiskStats& sum, const SimDiskStats& more) {
  sum.read_errors_count += more.read_errors_count;
  sum.write_errors_count += more.write_errors_count;
  sum.sync_errors_count += more.sync_errors_count;
  sum.no_space_errors_count += more.no_space_errors_count;
  sum.slow_ops_count += more.slow_ops_count;
  sum.bit_flips_count += more.bit_flips_count;
  sum.crashes_count += more.crashes_count;
  sum.files_dropped_count += more.files_dropped_count;
  sum.files_kept_count += more.files_kept_count;
  sum.files_torn_count += more.files_torn_count;
  sum.name_ops_lost_count += more.name_ops_lost_count;
}

// Counts outcomes into the report; what is still pending is unknown from now on.
void settle_outcomes(BrokerHistory& history, BrokerWorkloadReport& report) {
  for (ProducerHistory& producer : history.producers) {
    if (producer.idempotent) report.idempotent_producers += 1;
    report.batches_retried += producer.batches_retried;
    report.producer_ids += producer.producer_ids;
    for (ProduceAttempt& attempt : producer.attempts) {
      if (attempt.outcome == ProduceOutcome::kPending) attempt.outcome = ProduceOutcome::kUnknown;
      report.attempts += 1;
      switch (attempt.outcome) {
        case ProduceOutcome::kAcked:
          (attempt.acks == 1 ? report.acked_leader : report.acked_all) += 1;
          break;
        case ProduceOutcome::kSent:
          report.sent_no_ack += 1;
          break;
        case ProduceOutcome::kFailed:
          report.failed += 1;
          break;
        case ProduceOutcome::kRefused:
          report.refused += 1;
          break;
        default:
          report.unknown += 1;
          break;
      }
    }
  }
  for (const Observation& seen : history.observations) {
    (seen.reader == kReadback ? report.read_back : report.consumed) += 1;
  }
  for (const ConsumerHistory& consumer : history.consumers) {
    report.fetch_errors += consumer.fetch_errors;
  }
  report.tainted_partitions = history.taint.size();
  for (const auto& [tp, readback] : history.readback) {
    if (readback.stuck_at) report.readback_stuck += 1;
  }
  const GroupHistory& group = history.group;
  report.group_members = group.members_count;
  report.group_joins = group.joins;
  report.group_join_failures = group.join_failures;
  report.group_member_crashes = group.member_crashes;
  report.group_deliveries = group.deliveries.size();
  for (const GroupCommit& commit : group.commits) {
    if (commit.acknowledged()) report.group_commits += 1;
  }
}

struct Nodes {
  std::vector<std::unique_ptr<SimNode>> brokers;
  std::vector<std::unique_ptr<SimNode>> producers;
  std::vector<std::unique_ptr<SimNode>> consumers;
  std::unique_ptr<SimNode> auditor;               // creates the topics, then reads everything back
  std::vector<std::unique_ptr<SimNode>> members;  // consumer-group members

  std::vector<SimNode*> broker_nodes() const {
    std::vector<SimNode*> out;
    for (const auto& node : brokers) out.push_back(node.get());
    return out;
  }
  std::vector<SimNode*> clients() const {
    std::vector<SimNode*> out;
    for (const auto& node : producers) out.push_back(node.get());
    for (const auto& node : consumers) out.push_back(node.get());
    out.push_back(auditor.get());
    for (const auto& node : members) out.push_back(node.get());
    return out;
  }
  std::vector<SimNode*> member_nodes() const {
    std::vector<SimNode*> out;
    for (const auto& node : members) out.push_back(node.get());
    return out;
  }
};

Nodes make_nodes(SimWorld& world, BrokerRun& run) {
  const BrokerWorkloadOptions& options = *run.options;
  Nodes nodes;
  BrokerRun* shared = &run;
  std::uint32_t next_id = 0;
  for (std::uint32_t i = 0; i < options.nodes_count; ++i) {
    nodes.brokers.push_back(std::make_unique<SimNode>(
        world, NodeId{next_id++}, broker_host(options, i),
        [shared, i](io::Env& env) { return run_broker(&env, shared, i); }));
  }
  for (std::uint32_t i = 0; i < options.producers_count; ++i) {
    nodes.producers.push_back(
        std::make_unique<SimNode>(world, NodeId{next_id++}, numbered("producer", i)));
  }
  for (std::uint32_t i = 0; i < options.consumers_count; ++i) {
    nodes.consumers.push_back(
        std::make_unique<SimNode>(world, NodeId{next_id++}, numbered("consumer", i)));
  }
  nodes.auditor = std::make_unique<SimNode>(world, NodeId{next_id++}, "auditor");
  for (std::uint32_t i = 0; i < options.group_members_count; ++i) {
    nodes.members.push_back(std::make_unique<SimNode>(
        world, NodeId{next_id++}, numbered("member", i),
        [shared, i](io::Env& env) { return run_group_member(&env, shared, i); }));
  }
  return nodes;
}

bool sets_retention(const BrokerWorkloadOptions& options) {
  return std::any_of(
      options.broker_config.begin(), options.broker_config.end(), [](const auto& entry) {
        return entry.first == "log.retention.ms" || entry.first == "log.retention.bytes";
      });
}

// Every broker has the same log settings; broker 0's stand for all.
RetentionLimits retention_limits(const BrokerWorkloadOptions& options, const BrokerConfig& config) {
  RetentionLimits limits;
  limits.set = sets_retention(options);
  limits.retention_ms = config.log.retention_ms;
  limits.retention_bytes = config.log.retention_bytes;
  limits.segment_bytes = config.log.segment_bytes;
  limits.batch_bytes_max = options.batch_bytes;
  return limits;
}

void prepare_history(const BrokerWorkloadOptions& options, BrokerHistory& history) {
  history.producers.resize(options.producers_count);
  for (std::uint32_t i = 0; i < options.producers_count; ++i) {
    history.producers[i].acks = options.acks[i % options.acks.size()];
    history.producers[i].idempotent =
        !options.idempotent.empty() && options.idempotent[i % options.idempotent.size()];
  }
  history.consumers.resize(options.consumers_count);
  for (std::uint32_t i = 0; i < options.consumers_count; ++i) {
    history.consumers[i].topic = i % options.topics_count;
    history.consumers[i].tail = i + options.tail_consumers_count >= options.consumers_count;
  }
  history.group.topic = 0;
  history.group.members_count = options.group_members_count;
}

// The fault and heal phases, the wind-down and the read-back. False if the event budget ran out.
bool run_phases(SimWorld& world, BrokerRun& run, Nodes& nodes, BrokerFaultCounts& counts) {
  const BrokerWorkloadOptions& options = *run.options;
  BrokerHistory& history = run.history;
  const io::Instant begin = world.now();
  history.fault_end = begin + (options.duration - options.quiet);
  history.run_end = begin + options.duration;
  history.producers_stop = history.run_end - options.drain;
  for (std::uint32_t i = 0; i < nodes.producers.size(); ++i) {
    io::Env& env = nodes.producers[i]->env();
    env.executor().root().spawn(run_producer(&env, &run, i));
  }
  for (std::uint32_t i = 0; i < nodes.consumers.size(); ++i) {
    io::Env& env = nodes.consumers[i]->env();
    env.executor().root().spawn(run_consumer(&env, &run, i));
  }
  if (options.reassign_every > io::Duration{}) {
    io::Env& env = nodes.auditor->env();
    env.executor().root().spawn(run_reassigner(&env, &run));
  }
  BrokerFaultInjector faults(run, nodes.broker_nodes(), nodes.clients(), counts);
  faults.set_group_members(nodes.member_nodes());
  faults.start();
  const std::uint64_t budget = options.events_max;
  bool within = world.run_until(history.run_end, budget);
  within = within && !world.budget_exhausted();
  if (within) {
    world.run_until([&] { return run.tasks_running == 0; }, kWindDownLimit, budget);
  }
  within = within && !world.budget_exhausted();
  if (within && options.reassign_every > io::Duration{}) {
    io::Result<void> awaited = world.run_task(
        *nodes.auditor, await_reassignments(&nodes.auditor->env(), &run, options.liveness_bound),
        options.liveness_bound + io::Duration::s(10));
    (void)awaited;  // run.reassignments.all_done says whether they finished
  }
  if (within && options.nodes_count > 1) {
    io::Result<void> listed = world.run_task(
        *nodes.auditor, await_brokers_listed(&nodes.auditor->env(), &run, options.liveness_bound),
        options.liveness_bound + io::Duration::s(10));
    (void)listed;  // run.fencing.all_listed says whether every broker was listed in time
  }
  if (within) {
    io::Result<void> read =
        world.run_task(*nodes.auditor, read_back(&nodes.auditor->env(), &run), kReadbackLimit);
    (void)read;  // readback_done says whether it finished
    if (run.history.replicated) sample_replica_logs(run);
  }
  return within && !world.budget_exhausted();
}

}  // namespace

bool BrokerWorkloadReport::ok() const {
  return !checks.empty() &&
         std::all_of(checks.begin(), checks.end(), [](const CheckVerdict& c) { return c.ok; });
}

bool planted_bugs_available() {
#ifdef STRAND_PLANTED_BUGS
  return true;
#else
  return false;
#endif
}

const std::vector<std::string_view>& planted_bugs_known() {
  static const std::vector<std::string_view> known = {
      "ack_before_sync",
      "skip_sync",
      "follower_reads_beyond_hw",
      "vote_without_log_check",
      "retention_deletes_active_segment",
      "no_truncate_diverged_follower",
      "commit_without_majority",
      "idempotent_duplicates_written",
      "repair_without_rejoin",
  };
  return known;
}

const std::vector<std::string_view>& partition_shape_names() {
  static const std::vector<std::string_view> names = {"isolate", "one_way", "clients",
                                                      "split",   "bridge",  "rack"};
  STRAND_ASSERT(names.size() == kPartitionShapesCount, "a name for every shape");
  return names;
}

namespace {

// Why `shape` can't partition this cluster, or nullopt.
std::optional<std::string> shape_unfit(PartitionShape shape, const BrokerWorkloadOptions& options) {
  switch (shape) {
    case PartitionShape::kSplit:
    case PartitionShape::kBridge:
      if (options.nodes_count < 3) return "needs at least 3 brokers";
      break;
    case PartitionShape::kRack:
      if (std::min(options.racks_count, options.nodes_count) < 2) {
        return "needs [world] racks >= 2 and at least 2 brokers";
      }
      break;
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace

std::vector<PartitionShape> partition_shapes_for(const BrokerWorkloadOptions& options) {
  if (!options.faults.partition_shapes.empty()) return options.faults.partition_shapes;
  std::vector<PartitionShape> shapes;
  for (std::size_t i = 0; i < kPartitionShapesCount; ++i) {
    const auto shape = static_cast<PartitionShape>(i);
    if (!shape_unfit(shape, options)) shapes.push_back(shape);
  }
  return shapes;
}

std::optional<std::string> validate(const BrokerWorkloadOptions& options) {
  if (options.nodes_count < 1 || options.nodes_count > kBrokersMax) {
    return "[world] nodes = " + std::to_string(options.nodes_count) +
           ": broker scenarios run 1 to " + std::to_string(kBrokersMax) + " brokers";
  }
  if (options.quiet > options.duration) return "[world] quiet_s must not exceed duration_s";
  if (options.drain >= options.quiet)
    return "[workload] drain_s must be shorter than [world] quiet_s";
  if (options.topics_count == 0 || options.partitions_count <= 0) {
    return "[workload] topics and partitions must be at least 1";
  }
  if (options.acks.empty())
    return "[workload] acks must name at least one of \"all\", \"1\", \"0\"";
  if (options.voters_count > options.nodes_count) {
    return "[world] voters = " + std::to_string(options.voters_count) +
           " is more than nodes = " + std::to_string(options.nodes_count);
  }
  if (options.reassign_every > io::Duration{} && options.nodes_count < 2) {
    return "[workload] reassign_every_s moves partitions between brokers: it needs [world] "
           "nodes >= 2";
  }
  if (!options.idempotent.empty()) {
    if (options.idempotent.size() != options.acks.size()) {
      return "[workload] idempotent must have as many entries as acks";
    }
    for (std::size_t i = 0; i < options.acks.size(); ++i) {
      if (options.idempotent[i] && options.acks[i] != -1) {
        return "[workload] idempotent: an idempotent producer uses acks \"all\" (entry " +
               std::to_string(i) + ")";
      }
    }
  }
  if (options.record_bytes_min > options.record_bytes_max) {
    return "[workload] record_bytes_min must not exceed record_bytes_max";
  }
  if (options.records_per_s <= 0) return "[workload] records_per_s must be positive";
  if (options.tail_consumers_count > options.consumers_count) {
    return "[workload] tail_consumers must not exceed consumers";
  }
  for (PartitionShape shape : options.faults.partition_shapes) {
    if (std::optional<std::string> unfit = shape_unfit(shape, options)) {
      return "[faults] partition_shapes: \"" +
             std::string(partition_shape_names()[static_cast<std::size_t>(shape)]) + "\" " + *unfit;
    }
  }
  BrokerConfig scratch;
  for (const auto& [key, value] : options.broker_config) {
    if (key == "broker.rack" && options.racks_count > 0) {
      return "[broker] broker.rack: [world] racks sets this one";
    }
    if (key == "listeners" || key == "log.dirs" || key == "log.dir" || key == "node.id" ||
        key == "broker.id" || key == "advertised.host.name") {
      return "[broker] " + key + ": the simulator sets this one";
    }
    io::Result<void> applied = scratch.set(key, value);
    if (!applied) return "[broker] " + key + ": " + applied.error().message;
  }
  if (!options.planted_bug.empty()) {
    if (!planted_bugs_available()) {
      return "planted_bug needs a build with -Dsim_planted_bugs=true";
    }
    const std::vector<std::string_view>& known = planted_bugs_known();
    if (std::find(known.begin(), known.end(), options.planted_bug) == known.end()) {
      std::string names;
      for (std::string_view name : known) names += (names.empty() ? "" : ", ") + std::string(name);
      return "planted_bug '" + options.planted_bug + "' is unknown (known: " + names + ")";
    }
  }
  return std::nullopt;
}

BrokerWorkloadReport run_broker_workload(std::uint64_t seed, const BrokerWorkloadOptions& options) {
  const std::optional<std::string> invalid = validate(options);
  STRAND_ASSERT(!invalid, "run_broker_workload wants valid options (see validate())");
  BrokerWorkloadReport report;
  report.seed = seed;
  SimWorld world(seed);
  world.set_buggify(options.faults.buggify);
  BrokerRun run;
  run.world = &world;
  run.options = &options;
  for (std::uint32_t i = 0; i < options.nodes_count; ++i) {
    run.broker_configs.push_back(broker_config_for(options, i));
    run.bootstrap.push_back(run.broker_configs.back().listen);
  }
  run.live_brokers.assign(options.nodes_count, nullptr);
  run.stop_requests.assign(options.nodes_count, nullptr);
  run.stopped.assign(options.nodes_count, false);
  run.history.replicated = options.nodes_count > 1;
  prepare_history(options, run.history);
  run.history.retention = retention_limits(options, run.broker_configs.front());
  Nodes nodes = make_nodes(world, run);
  io::Result<io::Result<void>> created =
      world.run_task(*nodes.auditor, create_topics(&nodes.auditor->env(), &run), kSetupLimit);
  bool within = false;
  if (created.ok() && created->ok()) {
    within = run_phases(world, run, nodes, report.faults);
  } else {
    report.checks.push_back(
        {"setup", false,
         "topics not created: " +
             (created.ok() ? created->error().to_string() : created.error().to_string())});
  }
  for (const auto& broker : nodes.brokers) {
    run.history.broker_wall_ms_max =
        std::max(run.history.broker_wall_ms_max, broker->wall_ms_max());
  }
  report.events_run = world.events_run();
  report.trace_hash = world.trace_hash();
  report.simulated_s = (world.now() - io::Instant{}).seconds();
  report.faults.broker_start_failures = run.broker_start_failures;
  report.faults.clean_stops = run.clean_stops;
  report.faults.clean_stop_failures += run.clean_stop_failures;
  report.reassignments_asked = run.reassignments.asked;
  report.reassignments_accepted = run.reassignments.accepted;
  for (const auto& broker : nodes.brokers)
    add_disk_stats(report.faults.disk, broker->disk().stats());
  report.faults.network = world.network().total_stats();
  settle_outcomes(run.history, report);
  if (report.checks.empty()) {
    report.checks = check_history(
        run.history,
        CheckLimits{options.acked_min, options.liveness_bound, options.group_liveness_bound});
    if (options.reassign_every > io::Duration{}) {
      report.checks.push_back(
          {"reassignments_done", run.reassignments.all_done,
           std::to_string(run.reassignments.accepted) + " of " +
               std::to_string(run.reassignments.asked) + " moves accepted; " +
               (run.reassignments.all_done
                    ? std::string("none left after the heal")
                    : std::to_string(run.reassignments.left) + " still moving after " +
                          std::to_string(options.liveness_bound.count_ms()) + " ms")});
    }
    if (options.nodes_count > 1) {
      std::string fenced;
      for (std::int32_t node : run.fencing.ever_fenced) {
        fenced += (fenced.empty() ? "" : ",") + std::to_string(node);
      }
      report.checks.push_back(
          {"brokers_unfenced", run.fencing.all_listed,
           "brokers ever fenced: " + (fenced.empty() ? std::string("none") : fenced) + "; " +
               (run.fencing.all_listed
                    ? "all " + std::to_string(options.nodes_count) + " listed " +
                          std::to_string(run.fencing.listed_after.count_ms()) +
                          " ms after the wind-down"
                    : "Metadata listed " + std::to_string(run.fencing.listed) + " of " +
                          std::to_string(options.nodes_count) + " brokers after " +
                          std::to_string(options.liveness_bound.count_ms()) + " ms")});
    }
    report.checks.push_back({"event_budget", within,
                             std::to_string(report.events_run) + " events, budget " +
                                 std::to_string(options.events_max)});
  }
  // Clients first, then the broker, all before the world: their frames go first.
  nodes.producers.clear();
  nodes.consumers.clear();
  nodes.auditor.reset();
  nodes.members.clear();
  nodes.brokers.clear();
  return report;
}

BrokerWorkloadOptions randomize_faults(const BrokerWorkloadOptions& base, std::uint64_t seed) {
  io::SeededRandom random(io::mix64(seed ^ 0xb40c'e000ull));
  BrokerWorkloadOptions options = base;
  BrokerFaultOptions& f = options.faults;
  options.link.loss = random.chance(0.4) ? random.unit() * 0.05 : 0.0;
  options.link.duplicate = random.chance(0.4) ? random.unit() * 0.05 : 0.0;
  options.link.reorder = random.chance(0.4) ? random.unit() * 0.10 : 0.0;
  auto every = [&](double p, std::int64_t low_ms, std::int64_t high_ms) {
    return random.chance(p) ? Duration::ms(random.between(low_ms, high_ms)) : Duration{};
  };
  f.crash_every = every(0.7, 2'000, 15'000);
  f.crash_downtime = Duration::ms(random.between(10, 4'000));
  f.partition_every = every(0.5, 2'000, 15'000);
  f.partition_length = Duration::ms(random.between(200, 8'000));
  // A cluster scenario that partitions (cluster-partitions.toml) keeps partitioning in every mix.
  if (options.nodes_count > 1 && f.partition_every == Duration{} &&
      base.faults.partition_every > Duration{}) {
    f.partition_every = base.faults.partition_every;
  }
  f.disk_read_error = random.chance(0.3) ? random.unit() * 0.01 : 0.0;
  f.disk_write_error = random.chance(0.3) ? random.unit() * 0.005 : 0.0;
  f.disk_sync_error = random.chance(0.2) ? random.unit() * 0.002 : 0.0;
  f.disk_latency_max = random.chance(0.5) ? Duration::us(random.between(100, 20'000)) : Duration{};
  f.no_space_every = every(0.25, 3'000, 20'000);
  f.no_space_length = Duration::ms(random.between(100, 3'000));
  f.bit_flip_every = every(0.2, 2'000, 20'000);
  // A cluster scenario that flips bits (cluster-bit-flips.toml) keeps flipping in every mix.
  if (options.nodes_count > 1 && f.bit_flip_every == Duration{} &&
      base.faults.bit_flip_every > Duration{}) {
    f.bit_flip_every = base.faults.bit_flip_every;
  }
  f.crash_all_fraction = options.nodes_count > 1 && random.chance(0.5) ? random.unit() * 0.4 : 0.0;
  f.isolate_leader_fraction = random.unit();
  f.clock_drift_ppm_max = random.chance(0.5) ? random.between(0, 50'000) : 0;
  f.wall_jump_every = every(0.4, 2'000, 20'000);
  f.wall_jump_max = Duration::s(random.between(1, 300));
  f.buggify = true;
  // Small segments make rolls, index lookups and multi-segment reads common (and, where the
  // scenario sets a retention limit, removals that retention_correct judges).
  if (random.chance(0.5)) {
    const std::int64_t segment_bytes = random.between(4 * 1024, 256 * 1024);
    options.broker_config.emplace_back("log.segment.bytes", std::to_string(segment_bytes));
  }
  // Drawn after everything above, so that each seed's earlier choices stay what they were.
  f.pause_every = every(0.4, 2'000, 15'000);
  f.pause_length_max = Duration::ms(random.between(50, 6'000));
  const bool sets_rack =
      std::any_of(base.broker_config.begin(), base.broker_config.end(),
                  [](const auto& entry) { return entry.first == "broker.rack"; });
  if (options.nodes_count > 1 && base.racks_count == 0 && !sets_rack && random.chance(0.5)) {
    options.racks_count = static_cast<std::uint32_t>(random.between(2, 3));
  }
  // Often a few shapes only, so that each one gets runs of its own.
  if (base.faults.partition_shapes.empty() && random.chance(0.5)) {
    const std::vector<PartitionShape> fit = partition_shapes_for(options);
    for (PartitionShape shape : fit) {
      if (random.chance(0.5)) f.partition_shapes.push_back(shape);
    }
    if (f.partition_shapes.empty()) f.partition_shapes.push_back(fit[random.uniform(fit.size())]);
  }
  // Drawn last, as above. A roll power-cycles every broker in turn after a clean stop.
  f.rolling_restart_every = every(0.3, 5'000, 20'000);
  f.rolling_restart_pause = Duration::ms(random.between(0, 5'000));
  return options;
}

}  // namespace strand::sim
