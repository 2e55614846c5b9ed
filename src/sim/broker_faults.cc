#include "sim/broker_faults.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <utility>

#include "broker/protocol/byte_order.h"

namespace strand::sim {

namespace {

using io::Duration;

constexpr std::uint64_t kStreamFaults = 0xb40c'e4fa;
constexpr std::uint64_t kNoSpaceSlackBytesMax = 64 * 1024;
constexpr std::size_t kBatchHeaderPrefixBytes = 12;  // baseOffset i64, batchLength i32
constexpr Duration kLeaderSampleEvery = Duration::ms(250);
constexpr Duration kCleanStopLimit = Duration::s(5);  // then the roll kills the broker
constexpr Duration kCleanStopPoll = Duration::ms(50);

// "data/t0-2/00000000000000000042.log" -> (t0-2, 42): the partition and the segment's base offset.
std::optional<std::pair<PartitionKey, std::int64_t>> parse_segment_path(const std::string& path) {
  const std::size_t name_at = path.rfind('/');
  if (name_at == std::string::npos || name_at == 0) return {};
  const std::size_t dir_at = path.rfind('/', name_at - 1);
  std::string dir = path.substr(dir_at == std::string::npos ? 0 : dir_at + 1,
                                name_at - (dir_at == std::string::npos ? 0 : dir_at + 1));
  const std::string name = path.substr(name_at + 1);
  // A cluster's replica directories end in ".<raft group>".
  const std::size_t group_dot = dir.find('.');
  if (group_dot != std::string::npos) dir = dir.substr(0, group_dot);
  const std::size_t dash = dir.rfind('-');
  if (dir.size() < 2 || dir[0] != 't' || dash == std::string::npos) return {};
  std::uint32_t topic = 0;
  std::int32_t partition = 0;
  std::int64_t base = 0;
  const char* end = dir.data() + dir.size();
  if (std::from_chars(dir.data() + 1, dir.data() + dash, topic).ptr != dir.data() + dash) return {};
  if (std::from_chars(dir.data() + dash + 1, end, partition).ptr != end) return {};
  const std::size_t dot = name.find('.');
  if (dot == std::string::npos || name.substr(dot) != ".log") return {};
  if (std::from_chars(name.data(), name.data() + dot, base).ptr != name.data() + dot) return {};
  return std::pair(PartitionKey{topic, partition}, base);
}

// The base offset of the batch that holds byte `position` of a segment's bytes (as written, before
// the flip); the segment's base offset if the batches don't parse that far.
std::int64_t batch_holding(const std::vector<std::byte>& bytes, std::uint64_t position,
                           std::int64_t segment_base) {
  std::uint64_t at = 0;
  for (std::uint64_t batches = 0; at + kBatchHeaderPrefixBytes <= bytes.size(); ++batches) {
    STRAND_ASSERT(batches <= bytes.size(), "every batch is at least a header long");
    const auto base = protocol::load_be<std::int64_t>(bytes.data() + at);
    const auto length = protocol::load_be<std::int32_t>(bytes.data() + at + 8);
    if (length <= 0) break;
    const std::uint64_t end = at + kBatchHeaderPrefixBytes + static_cast<std::uint64_t>(length);
    if (position < end) return base;
    at = end;
  }
  return segment_base;
}

}  // namespace

BrokerFaultInjector::BrokerFaultInjector(BrokerRun& run, std::vector<SimNode*> brokers,
                                         std::vector<SimNode*> clients, BrokerFaultCounts& counts)
    : run_(run),
      world_(*run.world),
      options_(run.options->faults),
      brokers_(std::move(brokers)),
      clients_(std::move(clients)),
      counts_(counts),
      random_(run.world->derive_seed(kStreamFaults, 0)),
      member_random_(run.world->derive_seed(kStreamFaults, 1)),
      pause_random_(run.world->derive_seed(kStreamFaults, 2)),
      at_boot_(brokers_.size()) {
  STRAND_ASSERT(!brokers_.empty(), "a broker scenario has brokers");
  const std::vector<PartitionShape> shapes = partition_shapes_for(*run.options);
  auto chosen = [&](PartitionShape shape) {
    return std::find(shapes.begin(), shapes.end(), shape) != shapes.end();
  };
  if (chosen(PartitionShape::kIsolate)) kinds_.push_back(Kind::kIsolate);
  if (chosen(PartitionShape::kClients)) kinds_.push_back(Kind::kClients);
  if (chosen(PartitionShape::kOneWay)) {
    kinds_.push_back(Kind::kClientOneWay);
    if (brokers_.size() > 1) kinds_.push_back(Kind::kBrokerOneWay);
  }
  if (chosen(PartitionShape::kSplit)) kinds_.push_back(Kind::kSplit);
  if (chosen(PartitionShape::kBridge)) kinds_.push_back(Kind::kBridge);
  if (chosen(PartitionShape::kRack)) kinds_.push_back(Kind::kRack);
  STRAND_ASSERT(!kinds_.empty(), "validate() leaves a shape to pick");
}

void BrokerFaultInjector::at(Duration delay, std::function<void()> step) {
  world_.schedule_after(delay, kNoNode, EventKind::kControl, std::move(step));
}

Duration BrokerFaultInjector::next_gap(Duration every) {
  return every / 2 + Duration::ns(random_.between(0, every.count_ns()));
}

bool BrokerFaultInjector::faulting() const { return world_.now() < run_.history.fault_end; }

void BrokerFaultInjector::remember_boot(std::size_t broker) {
  at_boot_[broker] = brokers_[broker]->disk().stats();
}

bool BrokerFaultInjector::disk_failed_since_boot(std::size_t broker) const {
  const SimDiskStats& now = brokers_[broker]->disk().stats();
  const SimDiskStats& then = at_boot_[broker];
  return now.write_errors_count != then.write_errors_count ||
         now.sync_errors_count != then.sync_errors_count ||
         now.no_space_errors_count != then.no_space_errors_count;
}

// One broker at random; draws nothing from the stream for a single broker, so single-broker
// seeds replay as they did before clusters.
std::size_t BrokerFaultInjector::pick_broker() {
  return brokers_.size() == 1 ? 0 : random_.uniform(brokers_.size());
}

bool BrokerFaultInjector::all_up() const {
  return std::all_of(brokers_.begin(), brokers_.end(), [](SimNode* node) { return node->up(); });
}

void BrokerFaultInjector::set_disk_faults(SimDisk& disk) {
  SimDiskFaults& faults = disk.faults();
  faults.read_error_probability = options_.disk_read_error;
  faults.write_error_probability = options_.disk_write_error;
  faults.sync_error_probability = options_.disk_sync_error;
  if (options_.disk_latency_max > Duration{}) {
    const LatencyRange range{Duration{}, options_.disk_latency_max};
    faults.read_latency = range;
    faults.write_latency = range;
    faults.sync_latency = range;
  }
}

// Disk faults move to another broker when the faulty one is power-cycled (a failed disk stays
// failed until its broker restarts, so only one broker's disk is ever broken).
void BrokerFaultInjector::move_disk_faults() {
  if (brokers_.size() < 2 || !faulting() || no_space_now_) return;
  disk_broker().disk().faults() = SimDiskFaults{};
  disk_broker_ = random_.uniform(brokers_.size());
  set_disk_faults(disk_broker().disk());
}

void BrokerFaultInjector::sample() {
  if (run_.history.replicated) sample_leaders(run_);
  if (run_.history.retention.limited()) {
    std::int64_t wall_ms_max = INT64_MIN;
    for (const SimNode* broker : brokers_)
      wall_ms_max = std::max(wall_ms_max, broker->wall_ms_max());
    sample_log_starts(run_, wall_ms_max);
  }
}

void BrokerFaultInjector::start() {
  for (std::size_t i = 0; i < brokers_.size(); ++i) remember_boot(i);
  std::vector<SimNode*> everyone = clients_;
  everyone.insert(everyone.end(), brokers_.begin(), brokers_.end());
  for (SimNode* node : everyone) {
    const std::int64_t drift = options_.clock_drift_ppm_max;
    if (drift > 0) node->set_clock_drift_ppm(random_.between(-drift, drift));
  }
  disk_broker_ = pick_broker();
  flip_broker_ = disk_broker_;
  set_disk_faults(disk_broker().disk());
  world_.network().set_all_links(run_.options->link);
  const std::pair<Duration, void (BrokerFaultInjector::*)()> classes[] = {
      {options_.crash_every, &BrokerFaultInjector::crash},
      {options_.partition_every, &BrokerFaultInjector::partition},
      {options_.no_space_every, &BrokerFaultInjector::no_space},
      {options_.bit_flip_every, &BrokerFaultInjector::bit_flip},
      {options_.wall_jump_every, &BrokerFaultInjector::wall_jump},
  };
  for (const auto& [every, step] : classes) {
    if (every > Duration{}) at(next_gap(every), [this, step = step] { (this->*step)(); });
  }
  world_.schedule(std::max(world_.now(), run_.history.fault_end), kNoNode, EventKind::kControl,
                  [this] { heal(); });
  if (run_.history.replicated || run_.history.retention.limited()) {
    at(kLeaderSampleEvery, [this] { sample_periodically(); });
  }
  if (options_.pause_every > Duration{}) {
    at(options_.pause_every / 2 +
           Duration::ns(pause_random_.between(0, options_.pause_every.count_ns())),
       [this] { pause(); });
  }
  if (options_.rolling_restart_every > Duration{}) {
    at(next_gap(options_.rolling_restart_every), [this] { rolling_restart(); });
  }
  if (!members_.empty() && options_.member_crash_every > Duration{}) {
    at(options_.member_crash_every / 2 +
           Duration::ns(member_random_.between(0, options_.member_crash_every.count_ns())),
       [this] { member_crash(); });
  }
}

// One member's machine stops without a LeaveGroup (the coordinator notices at the session
// timeout) and comes back later as a new member; the heal brings back any still down.
void BrokerFaultInjector::member_crash() {
  if (!faulting()) return;
  const Duration every = options_.member_crash_every;
  at(every / 2 + Duration::ns(member_random_.between(0, every.count_ns())),
     [this] { member_crash(); });
  SimNode* member = members_[member_random_.uniform(members_.size())];
  if (!member->up()) return;
  member->crash();
  counts_.member_crashes += 1;
  run_.history.group.member_crashes += 1;
  const Duration downtime =
      Duration::ns(member_random_.between(0, options_.member_downtime.count_ns()));
  at(downtime, [member] {
    if (!member->up()) member->restart();
  });
}

void BrokerFaultInjector::sample_periodically() {
  sample();
  if (world_.now() < run_.history.run_end) {
    at(kLeaderSampleEvery, [this] { sample_periodically(); });
  }
}

void BrokerFaultInjector::crash() {
  if (!faulting()) return;
  sample();
  if (brokers_.size() > 1 && random_.chance(options_.crash_all_fraction)) {
    crash_all();
  } else if (all_up()) {
    const std::size_t victim = pick_broker();
    brokers_[victim]->crash();
    run_.history.broker_crashes.push_back(world_.now());
    counts_.crashes += 1;
    at(options_.crash_downtime, [this, victim] {
      restart(victim);
      if (victim == disk_broker_) move_disk_faults();
    });
  }
  at(next_gap(options_.crash_every), [this] { crash(); });
}

// A power failure of every machine at once (a data centre outage): each disk drops, keeps or
// tears its unsynced writes; they come back one by one.
void BrokerFaultInjector::crash_all() {
  bool any = false;
  for (std::size_t i = 0; i < brokers_.size(); ++i) {
    if (!brokers_[i]->up()) continue;
    brokers_[i]->crash();
    any = true;
    const Duration stagger = Duration::ms(random_.between(0, 500));
    at(options_.crash_downtime + stagger, [this, i] { restart(i); });
  }
  if (!any) return;
  run_.history.broker_crashes.push_back(world_.now());
  counts_.crashes_all += 1;
}

void BrokerFaultInjector::restart(std::size_t broker) {
  if (brokers_[broker]->up()) return;
  brokers_[broker]->restart();
  remember_boot(broker);
}

void BrokerFaultInjector::isolate_one() {
  std::optional<std::uint32_t> leader;
  if (brokers_.size() > 1 && random_.chance(options_.isolate_leader_fraction)) {
    leader = some_partition_leader(run_, random_.uniform(1u << 30));
    if (leader) counts_.leader_isolations += 1;
  }
  const std::size_t victim = leader ? *leader : pick_broker();
  world_.network().isolate(brokers_[victim]->id());
}

void BrokerFaultInjector::partition() {
  if (!faulting()) return;
  sample();
  Kind kind = kinds_[random_.uniform(kinds_.size())];
  const NodeId broker = brokers_[pick_broker()]->id();
  if (clients_.empty() && kind < Kind::kSplit) kind = Kind::kIsolate;
  PartitionShape shape = PartitionShape::kIsolate;
  switch (kind) {
    case Kind::kIsolate:
      isolate_one();
      break;
    case Kind::kClients:
      shape = PartitionShape::kClients;
      cut_clients(broker);
      break;
    case Kind::kClientOneWay:
      shape = PartitionShape::kOneWay;
      client_one_way(broker);
      break;
    case Kind::kBrokerOneWay:
      shape = PartitionShape::kOneWay;
      broker_one_way();
      break;
    case Kind::kSplit:
      shape = PartitionShape::kSplit;
      split_brokers();
      break;
    case Kind::kBridge:
      shape = PartitionShape::kBridge;
      bridge();
      break;
    case Kind::kRack:
      shape = PartitionShape::kRack;
      isolate_rack();
      break;
  }
  counts_.partitions += 1;
  counts_.partitions_by_shape[static_cast<std::size_t>(shape)] += 1;
  at(options_.partition_length, [this] {
    world_.network().heal();
    sample();
  });
  at(options_.partition_length + next_gap(options_.partition_every), [this] { partition(); });
}

void BrokerFaultInjector::cut_clients(NodeId broker) {
  std::vector<NodeId> cut;
  for (SimNode* client : clients_) {
    if (random_.chance(0.5)) cut.push_back(client->id());
  }
  if (cut.empty()) cut.push_back(clients_[random_.uniform(clients_.size())]->id());
  const NodeId broker_side[] = {broker};
  world_.network().split(cut, broker_side);
}

void BrokerFaultInjector::client_one_way(NodeId broker) {
  const NodeId client = clients_[random_.uniform(clients_.size())]->id();
  if (random_.chance(0.5)) {
    world_.network().block(broker, client);
  } else {
    world_.network().block(client, broker);
  }
}

// An asymmetric partition between two replicas.
void BrokerFaultInjector::broker_one_way() {
  const std::size_t from = random_.uniform(brokers_.size());
  const std::size_t to = (from + 1 + random_.uniform(brokers_.size() - 1)) % brokers_.size();
  world_.network().block(brokers_[from]->id(), brokers_[to]->id());
}

std::vector<std::size_t> BrokerFaultInjector::shuffled_brokers() {
  std::vector<std::size_t> order(brokers_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random_.uniform(i)]);
  return order;
}

// A minority of 1 .. (n - 1) / 2 brokers, chosen at random, from the rest; each client lands on a
// random side.
void BrokerFaultInjector::split_brokers() {
  const std::vector<std::size_t> order = shuffled_brokers();
  const std::size_t minority = 1 + random_.uniform((brokers_.size() - 1) / 2);
  std::vector<NodeId> sides[2];
  for (std::size_t i = 0; i < order.size(); ++i) {
    sides[i < minority ? 0 : 1].push_back(brokers_[order[i]]->id());
  }
  for (SimNode* client : clients_) sides[random_.uniform(2)].push_back(client->id());
  world_.network().split(sides[0], sides[1]);
}

// Jepsen's bridge: the brokers but one in two halves that cannot see each other, and the one
// seeing both; each client lands in a random half.
void BrokerFaultInjector::bridge() {
  const std::vector<std::size_t> order = shuffled_brokers();
  const std::size_t half = (order.size() - 1) / 2;
  std::vector<NodeId> sides[2];
  for (std::size_t i = 1; i < order.size(); ++i) {
    sides[i <= half ? 0 : 1].push_back(brokers_[order[i]]->id());
  }
  for (SimNode* client : clients_) sides[random_.uniform(2)].push_back(client->id());
  world_.network().split(sides[0], sides[1]);
}

// Every broker of one rack (broker i is in rack i % racks) from the rest of the world; the clients
// stay on the side with more brokers (the rest, on a tie).
void BrokerFaultInjector::isolate_rack() {
  const std::size_t racks = std::min<std::size_t>(run_.options->racks_count, brokers_.size());
  STRAND_ASSERT(racks >= 2, "validate() allows the rack shape with two racks or more");
  const std::size_t rack = random_.uniform(racks);
  std::vector<NodeId> sides[2];
  for (std::size_t i = 0; i < brokers_.size(); ++i) {
    sides[i % racks == rack ? 0 : 1].push_back(brokers_[i]->id());
  }
  const std::size_t clients_side = sides[0].size() > sides[1].size() ? 0 : 1;
  for (SimNode* client : clients_) sides[clients_side].push_back(client->id());
  world_.network().split(sides[0], sides[1]);
}

// One broker's process stops for a while; its machine keeps receiving. One pause at a time.
void BrokerFaultInjector::pause() {
  if (!faulting()) return;
  sample();
  const Duration every = options_.pause_every;
  at(every / 2 + Duration::ns(pause_random_.between(0, every.count_ns())), [this] { pause(); });
  if (std::any_of(brokers_.begin(), brokers_.end(), [](SimNode* node) { return node->paused(); })) {
    return;
  }
  std::optional<std::uint32_t> leader;
  if (brokers_.size() > 1 && pause_random_.chance(0.5)) {
    leader = some_partition_leader(run_, pause_random_.uniform(1u << 30));
  }
  const std::size_t victim = leader ? *leader : pause_random_.uniform(brokers_.size());
  SimNode& node = *brokers_[victim];
  const Duration length =
      Duration::ns(pause_random_.between(0, options_.pause_length_max.count_ns()));
  if (!node.up()) return;
  node.pause(length);
  counts_.pauses += 1;
  if (leader) counts_.leader_pauses += 1;
}

void BrokerFaultInjector::no_space() {
  if (!faulting()) return;
  sample();
  SimDisk& disk = disk_broker().disk();
  disk.faults().capacity_bytes = disk.used_bytes() + random_.uniform(kNoSpaceSlackBytesMax);
  no_space_now_ = true;
  counts_.no_space_episodes += 1;
  at(options_.no_space_length, [this] {
    disk_broker().disk().faults().capacity_bytes = SimDiskFaults::kUnlimitedBytes;
    no_space_now_ = false;
  });
  at(options_.no_space_length + next_gap(options_.no_space_every), [this] { no_space(); });
}

// Flips one bit of the synced bytes of a random segment file and, on a single broker, taints its
// partition from the batch that held the bit (broker_history.h says what that allows). In a
// cluster, one broker's disk corrupts data for the whole run (the fault the replicas must repair):
// the other replicas' copies are the truth.
void BrokerFaultInjector::bit_flip() {
  if (!faulting()) return;
  at(next_gap(options_.bit_flip_every), [this] { bit_flip(); });
  SimDisk& disk = brokers_[flip_broker_]->disk();
  std::vector<std::pair<std::string, std::pair<PartitionKey, std::int64_t>>> segments;
  for (const auto& [path, entry] : disk.current_image()) {
    if (entry.kind != EntryKind::kFile || entry.bytes.empty()) continue;
    if (auto parsed = parse_segment_path(path)) segments.emplace_back(path, *parsed);
  }
  if (segments.empty()) return;
  const auto& [path, where] = segments[random_.uniform(segments.size())];
  io::Result<std::vector<std::byte>> bytes = disk.current_bytes(path);
  if (!bytes || bytes->empty()) return;
  // Only synced bytes flip: try a random position, then lower ones, until one is durable.
  std::uint64_t position = random_.uniform(bytes->size());
  const auto bit = static_cast<unsigned>(random_.uniform(8));
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (disk.flip_bit(path, position, bit).ok()) {
      // Replicated, the batch is repaired from the other replicas: nothing may be lost.
      if (!run_.history.replicated) {
        const std::int64_t from = batch_holding(*bytes, position, where.second);
        auto [it, fresh] = run_.history.taint.try_emplace(where.first, from);
        if (!fresh) it->second = std::min(it->second, from);
      }
      counts_.bit_flips += 1;
      return;
    }
    if (position == 0) return;
    position /= 2;
  }
}

void BrokerFaultInjector::wall_jump() {
  if (!faulting()) return;
  at(next_gap(options_.wall_jump_every), [this] { wall_jump(); });
  const std::int64_t jump_ns = options_.wall_jump_max.count_ns();
  if (jump_ns <= 0) return;
  const std::uint64_t index = random_.uniform(clients_.size() + brokers_.size());
  SimNode& node = index < clients_.size() ? *clients_[index] : *brokers_[index - clients_.size()];
  node.jump_wall(Duration::ns(random_.between(-jump_ns, jump_ns)));
  counts_.wall_jumps += 1;
}

// An operator's rolling restart: broker 0, 1, ... in turn, one at a time.
void BrokerFaultInjector::rolling_restart() {
  if (!faulting()) return;
  if (!rolling_ && all_up()) {
    rolling_ = true;
    counts_.rolling_restarts += 1;
    roll(0);
  }
  at(next_gap(options_.rolling_restart_every), [this] { rolling_restart(); });
}

void BrokerFaultInjector::roll(std::size_t broker) {
  if (broker >= brokers_.size() || !faulting()) {
    rolling_ = false;
    return;
  }
  SimNode& node = *brokers_[broker];
  if (!node.up() || run_.stop_requests[broker] == nullptr) {
    // Down (another fault) or not serving yet: the operator waits for it, then goes on.
    at(options_.rolling_restart_pause, [this, broker] { roll(broker); });
    return;
  }
  // SIGTERM, delivered on the broker's own machine.
  world_.schedule_after(Duration{}, node.id(), EventKind::kControl, [this, broker] {
    if (io::Event* stop = run_.stop_requests[broker]) stop->set();
  });
  roll_wait(broker, world_.now() + kCleanStopLimit);
}

// Runs to its end even after the heal began, so a broker a roll stopped always starts again.
void BrokerFaultInjector::roll_wait(std::size_t broker, io::Instant give_up) {
  SimNode& node = *brokers_[broker];
  if (node.up() && !run_.stopped[broker] && world_.now() < give_up) {
    at(kCleanStopPoll, [this, broker, give_up] { roll_wait(broker, give_up); });
    return;
  }
  if (node.up() && !run_.stopped[broker]) counts_.clean_stop_failures += 1;  // SIGKILL
  roll_restart(broker);
  at(options_.rolling_restart_pause, [this, broker] { roll(broker + 1); });
}

// The machine of a broker that stopped (or is killed now) starts it again. A clean stop synced
// everything, so the power cycle loses nothing.
void BrokerFaultInjector::roll_restart(std::size_t broker) {
  SimNode& node = *brokers_[broker];
  if (node.up()) {
    node.crash();
    run_.history.broker_crashes.push_back(world_.now());
  }
  restart(broker);
  run_.stopped[broker] = false;  // its node runs it again (a roll waiting on it is done)
  if (broker == disk_broker_) move_disk_faults();
}

void BrokerFaultInjector::heal() {
  sample();
  SimNetwork& net = world_.network();
  net.heal();
  LinkConfig clean;
  clean.latency_base = run_.options->link.latency_base;
  clean.latency_jitter_mean = run_.options->link.latency_jitter_mean;
  net.set_all_links(clean);
  no_space_now_ = false;
  for (SimNode* broker : brokers_) broker->resume();
  for (SimNode* member : members_) {
    if (!member->up()) member->restart();
  }
  for (std::size_t i = 0; i < brokers_.size(); ++i) {
    SimNode& broker = *brokers_[i];
    broker.disk().faults() = SimDiskFaults{};
    if (!broker.up()) {
      restart(i);
      continue;
    }
    if (disk_failed_since_boot(i)) {
      broker.crash();
      run_.history.broker_crashes.push_back(world_.now());
      counts_.heal_restarts += 1;
      restart(i);
    }
  }
}

}  // namespace strand::sim
