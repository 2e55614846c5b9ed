// One simulated machine: an io::Env built from the world (its clock, its Random, its network
// endpoint, its file system on its own SimDisk, its executor) and a boot function that starts its
// program. crash() kills the running incarnation: every suspended frame is destroyed, its pending
// events are dropped, its connections reset and its disk loses (or tears) unsynced data.
// restart() builds a fresh incarnation on the surviving disk and boots again. Nothing of an old
// incarnation ever runs after its crash. pause() stops the incarnation for a while without
// killing it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "io/env.h"
#include "io/task_scope.h"
#include "sim/sim_clock.h"
#include "sim/sim_disk.h"
#include "sim/sim_file_system.h"
#include "sim/sim_network.h"
#include "sim/sim_world.h"

namespace strand::sim {

// Starts a node's program. A plain function (or a non-capturing lambda returning a coroutine's
// Task): called once per boot, its task is spawned into the node's root scope.
using BootFunction = std::function<io::Task<void>(io::Env&)>;

class SimNode {
 public:
  // Registers the node with the world and the network (as host `name`) and boots it: the boot
  // function runs at the first event, so nodes created together can find each other. `boot` may
  // be empty (tests that drive the node through run_task).
  SimNode(SimWorld& world, NodeId id, std::string name, BootFunction boot = {});
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;
  ~SimNode();

  NodeId id() const { return id_; }
  const std::string& name() const { return name_; }
  io::Address address(std::uint16_t port) const { return io::Address{name_, port}; }
  bool up() const { return current_ != nullptr; }
  // Changes at every crash and restart.
  std::uint64_t incarnation() const { return world_.incarnation(id_); }
  std::uint64_t boots_count() const { return boots_count_; }

  // The running incarnation's Env and parts. REQUIRES: up().
  io::Env& env();
  SimClock& clock();
  SimFileSystem& fs();
  // The disk survives crashes.
  SimDisk& disk() { return disk_; }

  // REQUIRES: up(). Not from inside this node's own tasks (a crash is done to a node, from a
  // scenario step or a test).
  void crash();
  // REQUIRES: !up().
  void restart();

  // A process pause (a stop-the-world GC, SIGSTOP) of `length`: none of the node's timers, tasks,
  // disk completions or network handling run until it resumes; packets sent to it queue at its
  // machine unacknowledged (peers retransmit, and reset after the transport's user timeout) and
  // are handled after the resume. Its clocks keep moving, so it wakes to a jump in time. A crash
  // ends the pause. REQUIRES: up(), !paused(), not from inside this node's own tasks.
  void pause(io::Duration length) { world_.pause_node(id_, length); }
  // Ends a pause early; a no-op unless paused().
  void resume() { world_.resume_node(id_); }
  bool paused() const { return world_.node_paused(id_); }

  // The clock hardware; kept across restarts.
  void set_clock_drift_ppm(std::int64_t drift_ppm);
  void jump_wall(io::Duration delta);
  // The largest wall-clock time (ms) the node's programs may have read while it was up: wall time
  // only goes back at a jump, so its peaks are just before jumps and crashes, and now.
  std::int64_t wall_ms_max() const;

 private:
  struct Incarnation;

  void start_incarnation();
  void stop_incarnation();

  SimWorld& world_;
  NodeId id_;
  std::string name_;
  BootFunction boot_;
  SimDisk disk_;
  ClockState clock_state_;
  std::int64_t wall_ms_max_ = INT64_MIN;  // the peaks of incarnations and jumps gone by
  std::uint64_t boots_count_ = 0;
  std::unique_ptr<Incarnation> current_;
};

namespace detail {

template <typename T>
struct TaskOutcome {
  std::optional<T> value;
  bool done() const { return value.has_value(); }
};
template <>
struct TaskOutcome<void> {
  bool finished = false;
  bool done() const { return finished; }
};

template <typename T>
io::Task<void> capture_outcome(io::Task<T> task, std::shared_ptr<TaskOutcome<T>> outcome) {
  if constexpr (std::is_void_v<T>) {
    co_await task;
    outcome->finished = true;
  } else {
    T value = co_await task;
    outcome->value.emplace(std::move(value));
  }
}

io::Error run_task_failure(const SimWorld& world, bool crashed, io::Duration limit);

}  // namespace detail

template <typename T>
io::Result<T> SimWorld::run_task(SimNode& node, io::Task<T> task, io::Duration limit) {
  if (!node.up()) return io::Error{io::ErrorKind::kCancelled, "node " + node.name() + " is down"};
  // Shared with the frame: if the task outlives this call (limit reached), it writes nowhere bad.
  auto outcome = std::make_shared<detail::TaskOutcome<T>>();
  const std::uint64_t incarnation = node.incarnation();
  node.env().executor().root().spawn(detail::capture_outcome<T>(std::move(task), outcome));
  run_until([&] { return outcome->done() || node.incarnation() != incarnation; }, limit);
  if (!outcome->done()) {
    return detail::run_task_failure(*this, node.incarnation() != incarnation, limit);
  }
  if constexpr (std::is_void_v<T>) {
    return io::ok();
  } else {
    return std::move(*outcome->value);
  }
}

}  // namespace strand::sim
