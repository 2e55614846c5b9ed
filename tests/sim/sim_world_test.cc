// SimWorld's event queue, SimClock and SimRandom.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/task_scope.h"
#include "sim/sim_clock.h"
#include "sim/sim_node.h"
#include "sim/sim_random.h"
#include "sim/sim_world.h"

namespace strand::sim {
namespace {

using io::Duration;
using io::Instant;

Instant at_ms(std::int64_t ms) { return Instant{} + Duration::ms(ms); }

TEST(SimWorld, RunsEventsInTimeThenSequenceOrder) {
  SimWorld world(1);
  std::vector<int> order;
  world.schedule(at_ms(20), kNoNode, [&] { order.push_back(3); });
  world.schedule(at_ms(10), kNoNode, [&] { order.push_back(1); });
  world.schedule(at_ms(10), kNoNode, [&] { order.push_back(2); });  // same time: FIFO
  world.schedule(at_ms(5), kNoNode, [&] { order.push_back(0); });
  EXPECT_TRUE(world.run_until(at_ms(100)));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(world.now(), at_ms(100));
  EXPECT_EQ(world.events_run(), 4u);
}

TEST(SimWorld, TimeJumpsToTheNextEvent) {
  SimWorld world(1);
  Instant seen;
  world.schedule(at_ms(3'600'000), kNoNode, [&] { seen = world.now(); });
  EXPECT_TRUE(world.step());
  EXPECT_EQ(seen, at_ms(3'600'000));
  EXPECT_FALSE(world.step());
}

TEST(SimWorld, CancelledEventsNeverRun) {
  SimWorld world(1);
  int ran = 0;
  const EventId first = world.schedule(at_ms(1), kNoNode, [&] { ran += 1; });
  world.schedule(at_ms(2), kNoNode, [&] { ran += 10; });
  world.cancel(first);
  world.cancel(first);  // twice is fine
  EXPECT_EQ(world.events_pending(), 1u);
  EXPECT_TRUE(world.run_until(at_ms(10)));
  EXPECT_EQ(ran, 10);
  world.cancel(first);  // after it would have run: still fine
}

TEST(SimWorld, EventsMayScheduleEvents) {
  SimWorld world(1);
  int count = 0;
  std::function<void()> tick = [&] {
    count += 1;
    if (count < 100) world.schedule_after(Duration::ms(1), kNoNode, EventKind::kOther, tick);
  };
  world.schedule(world.now(), kNoNode, tick);
  EXPECT_TRUE(world.run_until(at_ms(1000)));
  EXPECT_EQ(count, 100);
}

TEST(SimWorld, EventBudgetIsReportedNotLooped) {
  SimWorld world(1);
  std::function<void()> forever = [&] {
    world.schedule(world.now(), kNoNode, forever);  // a zero-time livelock
  };
  world.schedule(world.now(), kNoNode, forever);
  EXPECT_FALSE(world.run_until(at_ms(1), 10'000));
  EXPECT_TRUE(world.budget_exhausted());
  EXPECT_EQ(world.events_run(), 10'000u);
  EXPECT_FALSE(world.run_until([] { return false; }, Duration::s(1), 500));
}

TEST(SimWorld, PredicateRunStopsAtTheLimitOrWhenIdle) {
  SimWorld world(1);
  bool flag = false;
  world.schedule(at_ms(50), kNoNode, [&] { flag = true; });
  EXPECT_FALSE(world.run_until([&] { return flag; }, Duration::ms(10)));
  EXPECT_EQ(world.now(), at_ms(10));
  EXPECT_TRUE(world.run_until([&] { return flag; }, Duration::ms(100)));
  EXPECT_EQ(world.now(), at_ms(50));
  EXPECT_FALSE(world.run_until([] { return false; }, Duration::s(1)));  // idle: nothing can change
}

std::uint64_t hash_of_random_schedule(std::uint64_t seed) {
  SimWorld world(seed);
  std::function<void()> hop = [&] {
    if (world.events_run() < 1000) {
      const auto delay = Duration::us(world.random().between(0, 1000));
      world.schedule_after(delay, kNoNode, EventKind::kOther, hop);
    }
  };
  for (int i = 0; i < 5; ++i) world.schedule(world.now(), kNoNode, hop);
  EXPECT_TRUE(world.run_until(at_ms(100'000)));
  return world.trace_hash();
}

TEST(SimWorld, TraceHashIsAFunctionOfTheSeed) {
  EXPECT_EQ(hash_of_random_schedule(7), hash_of_random_schedule(7));
  EXPECT_NE(hash_of_random_schedule(7), hash_of_random_schedule(8));
}

TEST(SimWorld, NodeEventsAreDroppedAfterTheNodeGoesDown) {
  SimWorld world(1);
  const NodeId node{3};
  world.add_node(node);
  int ran = 0;
  world.schedule(at_ms(5), node, [&] { ran += 1; });
  world.set_node_down(node);
  EXPECT_FALSE(world.schedule(at_ms(6), node, [&] { ran += 1; }).valid());
  world.set_node_up(node);
  world.schedule(at_ms(7), node, [&] { ran += 100; });
  EXPECT_TRUE(world.run_until(at_ms(10)));
  EXPECT_EQ(ran, 100);
  EXPECT_EQ(world.events_dropped(), 1u);
  world.remove_node(node);
}

TEST(SimWorld, APausedNodesEventsWaitForTheResumeAndKeepTheirOrder) {
  SimWorld world(1);
  const NodeId paused{1};
  const NodeId other{2};
  world.add_node(paused);
  world.add_node(other);
  std::vector<std::string> order;
  std::vector<Instant> times;
  auto record = [&](const char* what) {
    return [&order, &times, &world, what] {
      order.emplace_back(what);
      times.push_back(world.now());
    };
  };
  world.schedule(at_ms(5), paused, record("a"));
  world.schedule(at_ms(6), paused, record("b"));
  world.schedule(at_ms(7), other, record("other"));
  world.schedule(at_ms(30), paused, record("late"));  // not yet due at the resume
  world.pause_node(paused, Duration::ms(50));
  EXPECT_TRUE(world.node_paused(paused));
  EXPECT_TRUE(world.run_until(at_ms(10)));
  EXPECT_EQ(order, (std::vector<std::string>{"other"}));
  world.resume_node(paused);  // early: the pause's own resume at 50 ms then finds nothing to do
  EXPECT_FALSE(world.node_paused(paused));
  EXPECT_TRUE(world.run_until(at_ms(200)));
  EXPECT_EQ(order, (std::vector<std::string>{"other", "a", "b", "late"}));
  EXPECT_EQ(times, (std::vector<Instant>{at_ms(7), at_ms(10), at_ms(10), at_ms(30)}));
  world.remove_node(paused);
  world.remove_node(other);
}

// ---- SimClock -------------------------------------------------------------------------------

TEST(SimClock, OffsetAndDrift) {
  SimWorld world(1);
  world.add_node(NodeId{0});
  SimClock clock(world, NodeId{0},
                 SimClock::initial_state(world, Duration::s(100), 1000, Duration{}));  // +0.1%
  EXPECT_EQ(clock.now(), Instant{} + Duration::s(100));
  world.run_until(Instant{} + Duration::s(10));
  EXPECT_EQ(clock.now(), Instant{} + Duration::s(100) + Duration::ms(10'010));
  clock.set_drift_ppm(-2000);  // now 0.2% slow; continuous at the change
  EXPECT_EQ(clock.now(), Instant{} + Duration::s(100) + Duration::ms(10'010));
  world.run_until(Instant{} + Duration::s(20));
  EXPECT_EQ(clock.now(), Instant{} + Duration::s(100) + Duration::ms(10'010 + 9'980));
  world.remove_node(NodeId{0});
}

io::Task<void> sleep_and_record(io::Clock* clock, Duration duration, std::vector<Instant>* woke) {
  co_await clock->sleep(duration);
  woke->push_back(clock->now());
}

TEST(SimClock, SleepAccountsForDrift) {
  SimWorld world(1);
  world.add_node(NodeId{0});
  SimClock fast(world, NodeId{0}, SimClock::initial_state(world, Duration::s(1), 50'000, {}));
  std::vector<Instant> woke;
  io::TaskScope scope;
  const Instant start = fast.now();
  scope.spawn(sleep_and_record(&fast, Duration::ms(1050), &woke));
  world.run_until([&] { return !woke.empty(); }, Duration::s(5));
  ASSERT_EQ(woke.size(), 1u);
  EXPECT_GE(woke[0] - start, Duration::ms(1050));
  EXPECT_LT(woke[0] - start, Duration::ms(1050) + Duration::us(1));
  // 5% fast: 1050 ms of local time is 1000 ms of world time.
  EXPECT_EQ(world.now(), Instant{} + Duration::ms(1000));
  world.remove_node(NodeId{0});
}

TEST(SimClock, ZeroSleepYieldsThroughTheQueue) {
  SimWorld world(1);
  world.add_node(NodeId{0});
  SimClock clock(world, NodeId{0}, SimClock::initial_state(world, Duration::s(1), 0, {}));
  std::vector<Instant> woke;
  io::TaskScope scope;
  scope.spawn(sleep_and_record(&clock, Duration{}, &woke));
  scope.spawn(sleep_and_record(&clock, Duration::ms(-5), &woke));
  EXPECT_TRUE(woke.empty());  // both yielded
  EXPECT_EQ(world.events_pending(), 2u);
  world.run_until(world.now());
  EXPECT_EQ(woke.size(), 2u);
  world.remove_node(NodeId{0});
}

TEST(SimClock, DestroyingASleeperCancelsItsTimer) {
  SimWorld world(1);
  world.add_node(NodeId{0});
  SimClock clock(world, NodeId{0}, SimClock::initial_state(world, Duration::s(1), 0, {}));
  std::vector<Instant> woke;
  {
    io::TaskScope scope;
    scope.spawn(sleep_and_record(&clock, Duration::ms(10), &woke));
    EXPECT_EQ(world.events_pending(), 1u);
  }
  EXPECT_EQ(world.events_pending(), 0u);
  world.run_until(at_ms(100));
  EXPECT_TRUE(woke.empty());
  world.remove_node(NodeId{0});
}

TEST(SimClock, WallJumpsBothWaysButMonotonicNeverGoesBack) {
  SimWorld world(1);
  world.add_node(NodeId{0});
  SimClock clock(world, NodeId{0},
                 SimClock::initial_state(world, Duration::s(7), 0, Duration::ms(250)));
  EXPECT_EQ(clock.wall_ms(), SimClock::kWallEpochMs + 250);
  world.run_until(at_ms(1000));
  EXPECT_EQ(clock.wall_ms(), SimClock::kWallEpochMs + 1250);
  const Instant before = clock.now();
  clock.jump_wall(Duration::s(-60));
  EXPECT_EQ(clock.wall_ms(), SimClock::kWallEpochMs + 1250 - 60'000);
  EXPECT_EQ(clock.now(), before);
  clock.jump_wall(Duration::s(3600));
  EXPECT_EQ(clock.wall_ms(), SimClock::kWallEpochMs + 1250 - 60'000 + 3'600'000);
  Instant last = clock.now();
  for (int i = 0; i < 1000; ++i) {
    world.run_until(world.now() + Duration::us(world.random().between(0, 500)));
    if (i % 100 == 0) clock.set_drift_ppm(world.random().between(-50'000, 50'000));
    const Instant now = clock.now();
    EXPECT_GE(now, last);
    last = now;
  }
  world.remove_node(NodeId{0});
}

// ---- SimRandom and BUGGIFY --------------------------------------------------------------------

TEST(SimRandom, StreamsDeriveFromTheSeed) {
  SimWorld a(5);
  SimWorld b(5);
  SimRandom ra(a, a.derive_seed(1, 2));
  SimRandom rb(b, b.derive_seed(1, 2));
  SimRandom other(a, a.derive_seed(1, 3));
  EXPECT_EQ(ra.next_u64(), rb.next_u64());
  EXPECT_NE(ra.next_u64(), other.next_u64());
}

bool buggify_at_site_a(io::Random& random) { return random.buggify(); }
bool buggify_at_site_b(io::Random& random) { return random.buggify(); }

TEST(SimRandom, BuggifyIsOffUnlessSwitchedOn) {
  SimWorld world(1);
  SimRandom random(world, 1);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(buggify_at_site_a(random));
}

TEST(SimRandom, BuggifySitesAreEnabledPerSeedAndFireSometimes) {
  int seeds_enabled = 0;
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    SimWorld world(seed);
    world.set_buggify(true);
    SimRandom random(world, seed);
    int fired = 0;
    for (int i = 0; i < 200; ++i) fired += buggify_at_site_a(random) ? 1 : 0;
    if (fired > 0) {
      seeds_enabled += 1;
      EXPECT_GT(fired, 20);  // 25% of 200 when enabled
      EXPECT_LT(fired, 80);
    }
  }
  EXPECT_GT(seeds_enabled, 60);  // about 25% of 400 seeds
  EXPECT_LT(seeds_enabled, 140);
  // Two sites are independent: some seed enables exactly one of them.
  bool differ = false;
  for (std::uint64_t seed = 1; seed <= 100 && !differ; ++seed) {
    SimWorld world(seed);
    world.set_buggify(true);
    SimRandom random(world, seed);
    bool a = false;
    bool b = false;
    for (int i = 0; i < 64; ++i) {
      a = a || buggify_at_site_a(random);
      b = b || buggify_at_site_b(random);
    }
    differ = a != b;
  }
  EXPECT_TRUE(differ);
}

}  // namespace
}  // namespace strand::sim
