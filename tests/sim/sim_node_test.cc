// SimNode: the shared io programs run unchanged on simulated nodes; crash and restart destroy the
// old incarnation for good; the same seed replays the same run.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "programs.h"
#include "sim/echo_workload.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"
#include "sim_test_support.h"

namespace strand::sim {
namespace {

using io::Duration;
using io::ErrorKind;

// ---- (a) the shared programs ----------------------------------------------------------------

testing::EchoOptions echo_options() {
  return {.address = {"n1", 9000}, .clients_count = 16, .frames_per_client = 50,
          .frame_bytes_max = 4096, .seed = 3};
}

TEST(SimPrograms, FramedEchoAcrossTwoNodes) {
  SimWorld world(1);
  SimNode server(world, NodeId{0}, "n1");
  SimNode client(world, NodeId{1}, "n2");
  auto report =
      world.run_task(client, testing::run_framed_echo(server.env(), client.env(), echo_options()));
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  ASSERT_TRUE(report->ok()) << report->error().to_string();
  EXPECT_EQ((*report)->mismatches, 0u);
  EXPECT_EQ((*report)->frames_echoed, 16u * 50u);
}

TEST(SimPrograms, FramedEchoThroughLossDuplicationAndReordering) {
  SimWorld world(2);
  LinkConfig faulty;
  faulty.latency_base = Duration::us(300);
  faulty.latency_jitter_mean = Duration::us(200);
  faulty.loss = 0.05;
  faulty.duplicate = 0.05;
  faulty.reorder = 0.10;
  world.network().set_all_links(faulty);
  SimNode server(world, NodeId{0}, "n1");
  SimNode client(world, NodeId{1}, "n2");
  auto report =
      world.run_task(client, testing::run_framed_echo(server.env(), client.env(), echo_options()));
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  ASSERT_TRUE(report->ok()) << report->error().to_string();
  EXPECT_EQ((*report)->mismatches, 0u);
  EXPECT_EQ((*report)->frames_echoed, 16u * 50u);
  const LinkStats stats = world.network().total_stats();
  EXPECT_GT(stats.packets_lost, 0u);
  EXPECT_GT(stats.packets_duplicated, 0u);
  EXPECT_GT(stats.packets_reordered, 0u);
  EXPECT_GT(stats.chunks_retransmitted, 0u);
}

TEST(SimPrograms, FileWriterOnASimulatedDisk) {
  SimWorld world(3);
  SimNode node(world, NodeId{0}, "n1");
  auto verified = world.run_task(node, testing::run_file_writer(node.env(), {.directory = "data/w"}));
  ASSERT_TRUE(verified.ok()) << verified.error().to_string();
  ASSERT_TRUE(verified->ok()) << verified->error().to_string();
  EXPECT_GT(**verified, 0u);
}

// ---- (c) crash and restart ------------------------------------------------------------------

struct Probe {
  int* destroyed;
  explicit Probe(int* counter) : destroyed(counter) {}
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;
  ~Probe() { *destroyed += 1; }
};

struct Ticks {
  std::vector<std::uint64_t> per_boot = std::vector<std::uint64_t>(8, 0);
  std::size_t boots = 0;
  int frames_destroyed = 0;
};

io::Task<void> tick_forever(io::Env* env, std::uint64_t* counter, int* destroyed) {
  Probe probe(destroyed);
  for (;;) {
    co_await env->clock().sleep(Duration::ms(10));
    *counter += 1;
  }
}

TEST(SimNodeCrash, OldIncarnationNeverRunsAgain) {
  SimWorld world(4);
  Ticks ticks;
  SimNode node(world, NodeId{0}, "n1", [&ticks](io::Env& env) {
    std::uint64_t* counter = &ticks.per_boot[ticks.boots++];
    return tick_forever(&env, counter, &ticks.frames_destroyed);
  });
  world.run_for(Duration::ms(1005));
  EXPECT_EQ(ticks.per_boot[0], 100u);
  // A post queued before the crash must not run either.
  bool posted_ran = false;
  node.env().executor().post([&posted_ran] { posted_ran = true; });
  node.crash();
  EXPECT_FALSE(node.up());
  EXPECT_EQ(ticks.frames_destroyed, 1);  // the suspended frame is gone, its sleep unregistered
  world.run_for(Duration::s(1));
  EXPECT_EQ(ticks.per_boot[0], 100u);
  EXPECT_FALSE(posted_ran);
  node.restart();
  world.run_for(Duration::ms(2005));
  EXPECT_EQ(ticks.per_boot[0], 100u);  // never again
  EXPECT_EQ(ticks.per_boot[1], 200u);
  EXPECT_EQ(node.boots_count(), 2u);
  node.crash();
  node.restart();
  world.run_for(Duration::ms(505));
  EXPECT_EQ(ticks.per_boot[0], 100u);
  EXPECT_EQ(ticks.per_boot[1], 200u);
  EXPECT_EQ(ticks.per_boot[2], 50u);
  EXPECT_EQ(ticks.frames_destroyed, 2);
}

TEST(SimNodeCrash, CrashBeforeBootNeverBoots) {
  SimWorld world(5);
  Ticks ticks;
  SimNode node(world, NodeId{0}, "n1", [&ticks](io::Env& env) {
    std::uint64_t* counter = &ticks.per_boot[ticks.boots++];
    return tick_forever(&env, counter, &ticks.frames_destroyed);
  });
  node.crash();  // the boot event is still queued
  world.run_for(Duration::s(1));
  EXPECT_EQ(ticks.boots, 0u);
}

io::Task<void> read_with_probe(io::Connection* connection, int* destroyed, bool* returned) {
  Probe probe(destroyed);
  std::byte buffer[16];
  io::Result<std::size_t> got = co_await connection->read_some(buffer);
  (void)got;
  *returned = true;
}

TEST(SimNodeCrash, PendingReadsAreDestroyedAndPeersSeeClosed) {
  SimWorld world(6);
  SimNode a(world, NodeId{0}, "a");
  SimNode b(world, NodeId{1}, "b");
  auto opened = world.run_task(a, test_support::open_pipe(&a.env(), &b.env(), b.address(9000)));
  ASSERT_TRUE(opened.ok() && opened->ok());
  test_support::Pipe pipe = std::move(**opened);
  int destroyed = 0;
  bool returned_at_b = false;
  b.env().executor().root().spawn(read_with_probe(pipe.server.get(), &destroyed, &returned_at_b));
  std::string at_a;
  io::Error end{ErrorKind::kIoError, ""};
  bool ended = false;
  a.env().executor().root().spawn(
      test_support::read_until_error(pipe.client.get(), &at_a, &end, &ended));
  world.run_for(Duration::ms(10));
  b.crash();
  EXPECT_EQ(destroyed, 1);
  EXPECT_FALSE(returned_at_b);
  ASSERT_TRUE(world.run_until([&] { return ended; }, Duration::s(1)));
  EXPECT_EQ(end.kind, ErrorKind::kClosed);
  // The crashed node's handles are dead; using them reports kClosed, it does not crash.
  pipe.server.reset();
  pipe.listener.reset();
  b.restart();
  auto again = world.run_task(a, test_support::open_pipe(&a.env(), &b.env(), b.address(9000)));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->ok()) << again->error().to_string();
  EXPECT_FALSE(returned_at_b);
}

TEST(SimNodeCrash, ConnectToACrashedNodeTimesOut) {
  SimWorld world(7);
  SimNode a(world, NodeId{0}, "a");
  SimNode b(world, NodeId{1}, "b");
  b.crash();
  auto connected = world.run_task(a, a.env().net().connect({"b", 9000}));
  ASSERT_TRUE(connected.ok());
  ASSERT_FALSE(connected->ok());
  EXPECT_EQ(connected->error().kind, ErrorKind::kTimeout);
}

io::Task<io::Result<void>> write_synced(io::Env* env, std::string path, std::string text,
                                        bool sync) {
  io::Result<std::unique_ptr<io::File>> file = co_await env->fs().open(path, io::OpenMode::kCreate);
  if (!file) co_return std::move(file).error();
  io::Result<void> appended = co_await (*file)->append(test_support::bytes_of(text));
  if (!appended) co_return std::move(appended).error();
  if (sync) {
    io::Result<void> synced = co_await (*file)->sync();
    if (!synced) co_return std::move(synced).error();
    io::Result<void> dir_synced = co_await env->fs().sync_dir(".");
    if (!dir_synced) co_return std::move(dir_synced).error();
  }
  co_return co_await (*file)->close();
}

TEST(SimNodeCrash, SyncedDataSurvivesOnTheSameDisk) {
  SimWorld world(8);
  SimNode node(world, NodeId{0}, "n1");
  auto written = world.run_task(node, write_synced(&node.env(), "kept.dat", "durable", true));
  ASSERT_TRUE(written.ok() && written->ok());
  node.crash();
  node.restart();
  auto bytes = node.disk().current_bytes("kept.dat");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 7u);
}

// ---- (d) process pauses ---------------------------------------------------------------------

// Notes the node's monotonic time after each 10 ms sleep.
io::Task<void> note_wakes(io::Env* env, std::vector<io::Instant>* wakes) {
  for (;;) {
    co_await env->clock().sleep(Duration::ms(10));
    wakes->push_back(env->clock().now());
  }
}

TEST(SimNodePause, TimersFireOnlyAfterTheResumeWhileOtherNodesRun) {
  SimWorld world(9);
  std::vector<io::Instant> paused_wakes;
  std::vector<io::Instant> other_wakes;
  SimNode paused(world, NodeId{0}, "paused");
  SimNode other(world, NodeId{1}, "other");
  paused.env().executor().root().spawn(note_wakes(&paused.env(), &paused_wakes));
  other.env().executor().root().spawn(note_wakes(&other.env(), &other_wakes));
  world.run_for(Duration::ms(105));
  ASSERT_EQ(paused_wakes.size(), 10u);
  const io::Instant paused_at = paused.clock().now();
  paused.pause(Duration::ms(500));
  EXPECT_TRUE(paused.paused());
  world.run_for(Duration::ms(490));
  EXPECT_EQ(paused_wakes.size(), 10u);  // its timer was due 485 ms ago
  EXPECT_EQ(other_wakes.size(), 59u);
  world.run_for(Duration::ms(20));
  EXPECT_FALSE(paused.paused());
  ASSERT_GE(paused_wakes.size(), 11u);
  // The late timer fires at the resume, and the node sees the whole pause as a jump in time.
  EXPECT_EQ(paused_wakes[10] - paused_at, Duration::ms(500));
  EXPECT_EQ(paused_wakes[10] - paused_wakes[9], Duration::ms(505));
  EXPECT_EQ(paused_wakes.size(), 12u);  // then it ticks as before: at 605 and 615 ms
}

TEST(SimNodePause, PacketsWaitForTheResume) {
  SimWorld world(10);
  SimNode a(world, NodeId{0}, "a");
  SimNode b(world, NodeId{1}, "b");
  auto opened = world.run_task(a, test_support::open_pipe(&a.env(), &b.env(), b.address(9000)));
  ASSERT_TRUE(opened.ok() && opened->ok());
  test_support::Pipe pipe = std::move(**opened);
  std::string at_b;
  io::Error end{ErrorKind::kIoError, ""};
  bool ended = false;
  b.env().executor().root().spawn(
      test_support::read_until_error(pipe.server.get(), &at_b, &end, &ended));
  world.run_for(Duration::ms(10));
  b.pause(Duration::s(2));
  auto written = world.run_task(a, test_support::write_all(pipe.client.get(), "hello", 5));
  ASSERT_TRUE(written.ok() && written->ok());
  world.run_for(Duration::ms(1900));
  EXPECT_EQ(at_b, "");
  world.run_for(Duration::ms(200));
  EXPECT_EQ(at_b, "hello");
  EXPECT_FALSE(ended);  // shorter than the transport's user timeout: the connection survives
}

TEST(SimNodePause, ACrashEndsThePause) {
  SimWorld world(11);
  Ticks ticks;
  SimNode node(world, NodeId{0}, "n1", [&ticks](io::Env& env) {
    std::uint64_t* counter = &ticks.per_boot[ticks.boots++];
    return tick_forever(&env, counter, &ticks.frames_destroyed);
  });
  world.run_for(Duration::ms(105));
  node.pause(Duration::s(10));
  world.run_for(Duration::ms(100));
  node.crash();
  EXPECT_FALSE(node.paused());
  EXPECT_EQ(ticks.frames_destroyed, 1);
  node.restart();
  EXPECT_FALSE(node.paused());
  world.run_for(Duration::ms(1005));
  EXPECT_EQ(ticks.per_boot[0], 10u);  // the held timer never fires
  EXPECT_EQ(ticks.per_boot[1], 100u);
  world.run_for(Duration::s(10));  // the old pause's resume finds nothing to resume
  EXPECT_EQ(ticks.per_boot[1], 1100u);
}

// ---- (b) determinism ------------------------------------------------------------------------

EchoWorkloadOptions faulty_workload() {
  EchoWorkloadOptions options;
  options.duration = Duration::s(40);
  options.quiet = Duration::s(20);
  options.link.loss = 0.02;
  options.link.duplicate = 0.01;
  options.link.reorder = 0.02;
  options.partition_every = Duration::s(5);
  options.partition_length = Duration::s(2);
  options.crash_every = Duration::s(6);
  options.crash_downtime = Duration::s(1);
  options.clock_drift_ppm_max = 1000;
  options.wall_jump_max = Duration::s(30);
  options.buggify = true;
  return options;
}

TEST(SimDeterminism, SameSeedSameTraceHash) {
  const EchoWorkloadReport first = run_echo_workload(11, faulty_workload());
  const EchoWorkloadReport second = run_echo_workload(11, faulty_workload());
  EXPECT_GT(first.crashes, 0u);
  EXPECT_GT(first.partitions, 0u);
  EXPECT_GT(first.network.packets_lost, 0u);
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  EXPECT_EQ(first.events_run, second.events_run);
  EXPECT_EQ(first.frames_verified, second.frames_verified);
  for (const EchoCheck& check : first.checks) EXPECT_TRUE(check.ok) << check.name << ": " << check.detail;
}

TEST(SimDeterminism, DifferentSeedsDifferentTraceHashes) {
  std::set<std::uint64_t> hashes;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const EchoWorkloadReport report = run_echo_workload(seed, faulty_workload());
    EXPECT_TRUE(report.ok()) << "seed " << seed;
    hashes.insert(report.trace_hash);
  }
  EXPECT_EQ(hashes.size(), 5u);
}

TEST(SimDeterminism, SharedProgramReplaysAcrossACrash) {
  auto run = [](std::uint64_t seed) {
    SimWorld world(seed);
    LinkConfig faulty;
    faulty.loss = 0.05;
    faulty.reorder = 0.05;
    world.network().set_all_links(faulty);
    SimNode server(world, NodeId{0}, "n1");
    SimNode client(world, NodeId{1}, "n2");
    SimNode bystander(world, NodeId{2}, "n3");
    bystander.crash();
    bystander.restart();
    auto report = world.run_task(
        client, testing::run_framed_echo(server.env(), client.env(), echo_options()));
    EXPECT_TRUE(report.ok() && report->ok());
    return std::pair(world.trace_hash(), world.events_run());
  };
  EXPECT_EQ(run(21), run(21));
  EXPECT_NE(run(21).first, run(22).first);
}

}  // namespace
}  // namespace strand::sim
