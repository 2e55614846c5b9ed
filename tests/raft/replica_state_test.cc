// A replica's state files and how it opens: hard state and leader epoch checkpoint round-trip,
// damaged files are kCorrupt (never trusted), term starts a crash cut off are dropped, and a
// checkpoint that disagrees with the log refuses to open. A single-voter replica leads alone.
#include "broker/raft/replica_state.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/raft/replica.h"
#include "broker/storage/atomic_file.h"
#include "io/task_scope.h"
#include "replica_cluster.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"

namespace strand::raft::testing {
namespace {

using io::Duration;

constexpr char kDir[] = "data/t-0";

class NullTransport final : public Transport {
 public:
  void send(GroupId /*group*/, Message /*message*/) override {}
};

struct Single {
  sim::SimWorld world{1};
  sim::SimNode node{world, sim::NodeId{1}, "solo"};

  template <typename T>
  T run(io::Task<T> task) {
    io::Result<T> result = world.run_task(node, std::move(task), Duration::s(600));
    STRAND_ASSERT(result.ok(), "the task finishes");
    return std::move(*result);
  }
};

io::Task<io::Result<void>> state_round_trip(io::Env* env) {
  io::FileSystem& fs = env->fs();
  io::Result<void> made = co_await fs.make_dirs(kDir);
  EXPECT_TRUE(made.ok());
  io::Result<std::optional<HardState>> missing = co_await read_hard_state(fs, kDir);
  EXPECT_TRUE(missing.ok() && !*missing);
  io::Result<void> written = co_await write_hard_state(fs, kDir, HardState{7, 2});
  EXPECT_TRUE(written.ok());
  io::Result<std::optional<HardState>> read = co_await read_hard_state(fs, kDir);
  EXPECT_TRUE(read.ok() && *read && **read == (HardState{7, 2}));
  EpochCheckpoint checkpoint{{{0, -1}, {3, 10}, {5, 42}}, Configuration{{1, 2, 3}, {4}}};
  io::Result<void> stored = co_await write_epoch_checkpoint(fs, kDir, checkpoint);
  EXPECT_TRUE(stored.ok());
  io::Result<std::optional<EpochCheckpoint>> back = co_await read_epoch_checkpoint(fs, kDir);
  EXPECT_TRUE(back.ok() && *back);
  if (back.ok() && *back) {
    EXPECT_EQ((*back)->epochs, checkpoint.epochs);
    EXPECT_EQ((*back)->configuration, checkpoint.configuration);
  }
  co_return io::ok();
}

TEST(RaftReplicaState, FilesRoundTrip) {
  Single single;
  io::Result<void> done = single.run(state_round_trip(&single.node.env()));
  EXPECT_TRUE(done.ok());
}

io::Task<io::Result<void>> damaged_files_are_corrupt(io::Env* env) {
  io::FileSystem& fs = env->fs();
  io::Result<void> made = co_await fs.make_dirs(kDir);
  EXPECT_TRUE(made.ok());
  io::Result<void> written = co_await write_hard_state(fs, kDir, HardState{7, 2});
  EXPECT_TRUE(written.ok());
  EpochCheckpoint checkpoint{{{0, -1}, {3, 10}}, Configuration{{1, 2, 3}, {}}};
  io::Result<void> stored = co_await write_epoch_checkpoint(fs, kDir, checkpoint);
  EXPECT_TRUE(stored.ok());
  for (const char* name : {kHardStateFileName, kEpochCheckpointFileName}) {
    const std::string path = io::join_path(kDir, name);
    io::Result<std::optional<std::vector<std::byte>>> bytes =
        co_await storage::read_small_file(fs, path, 1 << 20);
    EXPECT_TRUE(bytes.ok() && *bytes);
    std::vector<std::byte> damaged = **bytes;
    damaged[damaged.size() / 2] ^= std::byte{0x10};
    io::Result<void> overwritten = co_await storage::write_file_atomically(fs, path, damaged);
    EXPECT_TRUE(overwritten.ok());
  }
  io::Result<std::optional<HardState>> hard = co_await read_hard_state(fs, kDir);
  EXPECT_TRUE(!hard.ok() && hard.error().kind == io::ErrorKind::kCorrupt);
  io::Result<std::optional<EpochCheckpoint>> epochs = co_await read_epoch_checkpoint(fs, kDir);
  EXPECT_TRUE(!epochs.ok() && epochs.error().kind == io::ErrorKind::kCorrupt);
  co_return io::ok();
}

TEST(RaftReplicaState, DamagedFilesAreCorrupt) {
  Single single;
  io::Result<void> done = single.run(damaged_files_are_corrupt(&single.node.env()));
  EXPECT_TRUE(done.ok());
}

// Opens a single-voter replica, lets it lead, proposes `count` batches with acks=all, stops.
io::Task<io::Result<std::vector<ProposeOutcome>>> lead_alone(io::Env* env, int count,
                                                             Duration linger = Duration::ns(0)) {
  NullTransport transport;
  ReplicaOptions options;
  options.raft.self = 1;
  Configuration bootstrap{{1}, {}};
  io::Result<std::unique_ptr<Replica>> opened =
      co_await Replica::open(*env, kDir, kTestGroup, bootstrap, options, transport);
  if (!opened) co_return std::move(opened).error();
  std::unique_ptr<Replica> replica = std::move(*opened);
  std::vector<ProposeOutcome> outcomes;
  io::TaskScope scope;  // last: destroyed first
  scope.spawn(replica->run());
  for (int i = 0; i < count; ++i) {
    std::vector<std::byte> batch = make_batch(static_cast<std::uint64_t>(i));
    ProposeOutcome outcome =
        co_await replica->propose(std::move(batch), Acks::kAll, Duration::s(10));
    for (int waits = 0; waits < 100 && outcome.error == ReplicaError::kNotLeader; ++waits) {
      co_await env->clock().sleep(Duration::ms(100));
      std::vector<std::byte> again = make_batch(static_cast<std::uint64_t>(i));
      ProposeOutcome retried =
          co_await replica->propose(std::move(again), Acks::kAll, Duration::s(10));
      outcome = retried;
    }
    outcomes.push_back(outcome);
  }
  co_await env->clock().sleep(linger);
  replica->stop();
  co_await scope.join();
  co_return std::move(outcomes);
}

TEST(RaftReplicaState, SingleVoterLeadsAndCommits) {
  Single single;
  io::Result<std::vector<ProposeOutcome>> outcomes = single.run(lead_alone(&single.node.env(), 5));
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  ASSERT_EQ(outcomes->size(), 5u);
  for (std::size_t i = 0; i < outcomes->size(); ++i) {
    EXPECT_TRUE((*outcomes)[i].ok()) << replica_error_name((*outcomes)[i].error);
    // Offset 0 is term 1's leader-change entry.
    EXPECT_EQ((*outcomes)[i].base_offset, static_cast<Offset>(i) + 1);
  }
  // Reopened, it leads again in a new term and keeps its log.
  io::Result<std::vector<ProposeOutcome>> again = single.run(lead_alone(&single.node.env(), 1));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE(again->front().ok());
  EXPECT_EQ(again->front().base_offset, 7);
  EXPECT_EQ(again->front().term, 2);
}

// The high watermark a replica starts with, before it hears from anyone.
io::Task<io::Result<Offset>> high_watermark_on_open(io::Env* env) {
  NullTransport transport;
  ReplicaOptions options;
  options.raft.self = 1;
  Configuration bootstrap{{1}, {}};
  io::Result<std::unique_ptr<Replica>> opened =
      co_await Replica::open(*env, kDir, kTestGroup, bootstrap, options, transport);
  if (!opened) co_return std::move(opened).error();
  co_return (*opened)->high_watermark();
}

TEST(RaftReplicaState, HighWatermarkCheckpointSurvivesRestart) {
  Single single;
  // Nothing checkpointed yet: a restart starts from the log start.
  ASSERT_TRUE(single.run(lead_alone(&single.node.env(), 3)).ok());
  io::Result<Offset> before = single.run(high_watermark_on_open(&single.node.env()));
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before, 0);
  // Lingering past the checkpoint interval records it: [0 t1][1..3][4 t2][5..7].
  ASSERT_TRUE(single.run(lead_alone(&single.node.env(), 3, Duration::s(6))).ok());
  io::Result<Offset> after = single.run(high_watermark_on_open(&single.node.env()));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 8);
}

io::Task<io::Result<void>> rewrite_epochs(io::Env* env, std::vector<TermStart> epochs) {
  EpochCheckpoint checkpoint{std::move(epochs), Configuration{{1}, {}}};
  co_return co_await write_epoch_checkpoint(env->fs(), kDir, std::move(checkpoint));
}

TEST(RaftReplicaState, TermStartsBeyondTheLogAreDropped) {
  Single single;
  ASSERT_TRUE(single.run(lead_alone(&single.node.env(), 2)).ok());
  // The log is [0 leader-change t1][1][2]; a crash lost term 2's entries at 3.
  std::vector<TermStart> epochs{{0, -1}, {1, 0}, {2, 3}};
  ASSERT_TRUE(single.run(rewrite_epochs(&single.node.env(), epochs)).ok());
  io::Result<std::vector<ProposeOutcome>> again = single.run(lead_alone(&single.node.env(), 1));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE(again->front().ok());
}

TEST(RaftReplicaState, CheckpointDisagreeingWithTheLogRefusesToOpen) {
  Single single;
  // The log is [0 leader-change t1][1 t1][2 t1][3 leader-change t2][4 t2].
  ASSERT_TRUE(single.run(lead_alone(&single.node.env(), 2)).ok());
  ASSERT_TRUE(single.run(lead_alone(&single.node.env(), 1)).ok());
  std::vector<TermStart> epochs{{0, -1}, {1, 0}, {2, 2}};  // term 2 really starts at 3
  ASSERT_TRUE(single.run(rewrite_epochs(&single.node.env(), epochs)).ok());
  io::Result<std::vector<ProposeOutcome>> again = single.run(lead_alone(&single.node.env(), 1));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, io::ErrorKind::kCorrupt) << again.error().to_string();
  // Missing the tail's term is caught too.
  std::vector<TermStart> short_epochs{{0, -1}, {1, 0}};
  ASSERT_TRUE(single.run(rewrite_epochs(&single.node.env(), short_epochs)).ok());
  io::Result<std::vector<ProposeOutcome>> short_again =
      single.run(lead_alone(&single.node.env(), 1));
  ASSERT_FALSE(short_again.ok());
  EXPECT_EQ(short_again.error().kind, io::ErrorKind::kCorrupt);
}

}  // namespace
}  // namespace strand::raft::testing
