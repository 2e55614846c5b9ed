#include "sim/sim_node.h"

#include <algorithm>
#include <string>
#include <utility>

#include "io/assert.h"
#include "sim/sim_random.h"

namespace strand::sim {
namespace {

// Streams of world-derived seeds, so that adding one consumer does not shift another's numbers.
constexpr std::uint64_t kStreamNodeRandom = 1;
constexpr std::uint64_t kStreamClockOffset = 2;
constexpr std::int64_t kMonotonicOffsetMaxS = 1000;

class SimExecutor final : public io::Executor {
 public:
  SimExecutor(SimWorld& world, NodeId node) : world_(world), node_(node) {}

  void post(std::function<void()> callback) override {
    // Same time, later sequence: FIFO among posts, after the current event returns.
    world_.schedule(world_.now(), node_, EventKind::kPost, std::move(callback));
  }
  io::TaskScope& root() override { return root_; }

 private:
  SimWorld& world_;
  NodeId node_;
  io::TaskScope root_;
};

class SimEnv final : public io::Env {
 public:
  SimEnv(io::Clock& clock, io::Network& net, io::FileSystem& fs, io::Random& rng,
         io::Executor& executor)
      : clock_(clock), net_(net), fs_(fs), rng_(rng), executor_(executor) {}

  io::Clock& clock() override { return clock_; }
  io::Network& net() override { return net_; }
  io::FileSystem& fs() override { return fs_; }
  io::Random& rng() override { return rng_; }
  io::Executor& executor() override { return executor_; }

 private:
  io::Clock& clock_;
  io::Network& net_;
  io::FileSystem& fs_;
  io::Random& rng_;
  io::Executor& executor_;
};

}  // namespace

// Everything that dies with a crash. Member order matters: the executor (and its root scope) is
// destroyed first, while the clock, network endpoint and file system its frames use still exist.
struct SimNode::Incarnation {
  SimClock clock;
  SimRandom random;
  std::unique_ptr<io::Network> net;
  SimFileSystem fs;
  SimExecutor executor;
  SimEnv env;

  Incarnation(SimWorld& world, NodeId node, ClockState clock_state, std::uint64_t seed,
              SimDisk& disk)
      : clock(world, node, clock_state),
        random(world, seed),
        net(world.network().make_endpoint(node)),
        fs(disk, clock, random),
        executor(world, node),
        env(clock, *net, fs, random, executor) {}
};

namespace detail {

io::Error run_task_failure(const SimWorld& world, bool crashed, io::Duration limit) {
  if (crashed) return io::Error{io::ErrorKind::kCancelled, "the node crashed while the task ran"};
  if (world.budget_exhausted()) {
    return io::Error{io::ErrorKind::kTimeout, "the event budget ran out before the task finished"};
  }
  return io::Error{io::ErrorKind::kTimeout,
                   "the task did not finish within " + std::to_string(limit.count_ms()) +
                       " ms of virtual time (or the world went idle)"};
}

}  // namespace detail

SimNode::SimNode(SimWorld& world, NodeId id, std::string name, BootFunction boot)
    : world_(world), id_(id), name_(std::move(name)), boot_(std::move(boot)), disk_(name_) {
  world_.add_node(id_);
  world_.network().add_node(id_, name_);
  const auto offset_s = static_cast<std::int64_t>(
      world_.derive_seed(kStreamClockOffset, id_.value) % kMonotonicOffsetMaxS);
  clock_state_ = SimClock::initial_state(world_, io::Duration::s(1 + offset_s), 0, io::Duration{});
  start_incarnation();
}

SimNode::~SimNode() {
  if (up()) {
    world_.set_node_down(id_);
    stop_incarnation();
  }
  world_.network().remove_node(id_);
  world_.remove_node(id_);
}

io::Env& SimNode::env() {
  STRAND_ASSERT(up(), "a down node has no Env");
  return current_->env;
}

SimClock& SimNode::clock() {
  STRAND_ASSERT(up(), "a down node has no clock");
  return current_->clock;
}

SimFileSystem& SimNode::fs() {
  STRAND_ASSERT(up(), "a down node has no file system");
  return current_->fs;
}

void SimNode::start_incarnation() {
  STRAND_ASSERT(world_.node_up(id_), "the world knows the node is up");
  const std::uint64_t seed = world_.derive_seed(kStreamNodeRandom,
                                                (std::uint64_t{id_.value} << 32) ^ incarnation());
  current_ = std::make_unique<Incarnation>(world_, id_, clock_state_, seed, disk_);
  boots_count_ += 1;
  if (!boot_) return;
  // Posted, not spawned here: the program starts at an event of this incarnation, so a node
  // crashed before it booted never boots.
  current_->executor.post([this] { current_->executor.root().spawn(boot_(current_->env)); });
}

void SimNode::stop_incarnation() {
  STRAND_ASSERT(!world_.node_up(id_), "the world already drops the node's events");
  clock_state_ = current_->clock.state();
  wall_ms_max_ = std::max(wall_ms_max_, current_->clock.wall_ms_peek());
  // Connections first, silently: the frames that wait on them are destroyed next.
  world_.network().crash_node(id_);
  current_->executor.root().cancel();
  current_.reset();
}

void SimNode::crash() {
  STRAND_ASSERT(up(), "only a running node crashes");
  STRAND_ASSERT(world_.current_node() != id_, "a node is crashed from outside its own tasks");
  world_.set_node_down(id_);
  stop_incarnation();
  disk_.crash(world_.random());
}

void SimNode::restart() {
  STRAND_ASSERT(!up(), "only a crashed node restarts");
  world_.set_node_up(id_);
  start_incarnation();
}

void SimNode::set_clock_drift_ppm(std::int64_t drift_ppm) {
  if (up()) {
    current_->clock.set_drift_ppm(drift_ppm);
  } else {
    clock_state_.drift_ppm = drift_ppm;
  }
}

void SimNode::jump_wall(io::Duration delta) {
  if (up()) {
    wall_ms_max_ = std::max(wall_ms_max_, current_->clock.wall_ms_peek());
    current_->clock.jump_wall(delta);
  } else {
    clock_state_.wall_minus_local_ns += delta.count_ns();
  }
}

std::int64_t SimNode::wall_ms_max() const {
  return up() ? std::max(wall_ms_max_, current_->clock.wall_ms_peek()) : wall_ms_max_;
}

}  // namespace strand::sim
