// Simulator speed (figures go to docs/benchmarks.md, "## Simulator speed"):
//   1. raw events/s: a chain of plain callbacks through SimWorld's queue;
//   2. timer events/s: many nodes whose coroutines ping-pong on short random sleeps (each event is
//      a coroutine resumption through SimClock::sleep);
//   3. simulated seconds per real second for an idle 3-node world in which each node runs a 10 ms
//      heartbeat and a 150-300 ms election-like timer.
// Usage: bench_sim [events_millions (default 5)] [idle_simulated_s (default 3600)]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "io/task_scope.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"

namespace {

using strand::io::Duration;
using strand::io::Instant;
using strand::sim::EventKind;
using strand::sim::kNoNode;
using strand::sim::NodeId;
using strand::sim::SimNode;
using strand::sim::SimWorld;

std::string node_name(std::uint32_t index) {
  std::string name = "n";  // not "n" + ...: GCC 12 warns falsely (-Wrestrict) on that at -O3
  name += std::to_string(index);
  return name;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Chain {
  SimWorld* world;
  std::uint64_t left;
  void operator()() const {
    if (left == 0) return;
    world->schedule_after(Duration::ns(1 + static_cast<std::int64_t>(left % 7)), kNoNode,
                          EventKind::kOther, Chain{world, left - 1});
  }
};

void bench_raw_events(std::uint64_t events) {
  SimWorld world(1);
  constexpr std::uint64_t kChains = 64;  // a queue of 64 pending events, like a small cluster
  for (std::uint64_t c = 0; c < kChains; ++c) {
    world.schedule(world.now(), kNoNode, Chain{&world, events / kChains});
  }
  const auto start = std::chrono::steady_clock::now();
  world.run_until([] { return false; }, Duration::s(1'000'000), events * 2);
  const double real_s = seconds_since(start);
  std::printf("raw callbacks:  %llu events in %.3f s = %.2f M events/s\n",
              static_cast<unsigned long long>(world.events_run()), real_s,
              static_cast<double>(world.events_run()) / real_s / 1e6);
}

strand::io::Task<void> ping_pong(strand::io::Env* env) {
  for (;;) {
    const auto pause = Duration::us(env->rng().between(1, 1000));
    co_await env->clock().sleep(pause);
  }
}

void bench_timer_events(std::uint64_t events) {
  SimWorld world(2);
  std::vector<std::unique_ptr<SimNode>> nodes;
  constexpr std::uint32_t kNodes = 100;
  constexpr int kTasksPerNode = 4;
  for (std::uint32_t i = 0; i < kNodes; ++i) {
    nodes.push_back(std::make_unique<SimNode>(world, NodeId{i}, node_name(i)));
    for (int t = 0; t < kTasksPerNode; ++t) {
      nodes.back()->env().executor().root().spawn(ping_pong(&nodes.back()->env()));
    }
  }
  const std::uint64_t before = world.events_run();
  const auto start = std::chrono::steady_clock::now();
  world.run_until([] { return false; }, Duration::s(1'000'000), events);
  const double real_s = seconds_since(start);
  const std::uint64_t run = world.events_run() - before;
  std::printf("timer wake-ups: %llu events in %.3f s = %.2f M events/s (%u nodes x %d tasks)\n",
              static_cast<unsigned long long>(run), real_s,
              static_cast<double>(run) / real_s / 1e6, kNodes, kTasksPerNode);
}

strand::io::Task<void> heartbeat(strand::io::Env* env, std::uint64_t* beats) {
  for (;;) {
    co_await env->clock().sleep(Duration::ms(10));
    *beats += 1;
  }
}

strand::io::Task<void> election_timer(strand::io::Env* env, std::uint64_t* elections) {
  for (;;) {
    const auto timeout = Duration::ms(env->rng().between(150, 300));
    co_await env->clock().sleep(timeout);
    *elections += 1;
  }
}

void bench_idle_cluster(std::int64_t simulated_s) {
  SimWorld world(3);
  std::uint64_t beats = 0;
  std::uint64_t elections = 0;
  std::vector<std::unique_ptr<SimNode>> nodes;
  for (std::uint32_t i = 0; i < 3; ++i) {
    nodes.push_back(std::make_unique<SimNode>(world, NodeId{i}, node_name(i)));
    nodes.back()->set_clock_drift_ppm(static_cast<std::int64_t>(i) * 100 - 100);
    strand::io::Env& env = nodes.back()->env();
    env.executor().root().spawn(heartbeat(&env, &beats));
    env.executor().root().spawn(election_timer(&env, &elections));
  }
  const auto start = std::chrono::steady_clock::now();
  world.run_until(Instant{} + Duration::s(simulated_s));
  const double real_s = seconds_since(start);
  std::printf("idle 3 nodes:   %lld simulated s in %.3f s real = %.0f simulated s per real s "
              "(%llu events, %llu heartbeats, %llu election timeouts)\n",
              static_cast<long long>(simulated_s), real_s,
              static_cast<double>(simulated_s) / real_s,
              static_cast<unsigned long long>(world.events_run()),
              static_cast<unsigned long long>(beats), static_cast<unsigned long long>(elections));
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t events_millions = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5;
  const std::int64_t idle_s = argc > 2 ? std::strtoll(argv[2], nullptr, 10) : 3600;
  if (events_millions == 0 || idle_s <= 0) {
    std::fprintf(stderr, "usage: bench_sim [events_millions > 0] [idle_simulated_s > 0]\n");
    return 2;
  }
  bench_raw_events(events_millions * 1'000'000);
  bench_timer_events(events_millions * 1'000'000);
  bench_idle_cluster(idle_s);
  return 0;
}
