#include "broker/storage/log_manager.h"

#include <gtest/gtest.h>

#include "broker/protocol/batch_builder.h"
#include "storage_env.h"

namespace strand::storage {
namespace {

using testing::ManualClock;
using testing::run;
using testing::StorageEnv;

std::vector<std::byte> one_record(std::int64_t timestamp_ms) {
  std::vector<protocol::Record> records{{"k", std::string(100, 'v'), {}, timestamp_ms, 0}};
  return protocol::build_batch(records);
}

TEST(PartitionDirectory, ParsesTopicsWithDashes) {
  EXPECT_EQ(parse_partition_directory("orders-eu-12"), (TopicPartition{"orders-eu", 12}));
  EXPECT_FALSE(parse_partition_directory("orders").has_value());
  EXPECT_FALSE(parse_partition_directory("orders-").has_value());
  EXPECT_FALSE(parse_partition_directory("orders-x").has_value());
  EXPECT_FALSE(parse_partition_directory("-3").has_value());
  EXPECT_EQ(partition_directory_name({"a-b", 3}), "a-b-3");
}

TEST(LogManager, ReopensEveryPartitionAndRunsRetentionOnATimer) {
  sim::SimDisk disk;
  ManualClock clock;
  LogConfig config{.segment_bytes = 400, .retention_ms = 10'000};
  {
    StorageEnv env(disk, clock, 1);
    LogManager manager(env, "data", config);
    ASSERT_TRUE(run(manager.open_all()).ok());
    for (int p = 0; p < 3; ++p) {
      auto log = run(manager.get_or_create({"events", p}));
      ASSERT_TRUE(log.ok());
      for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(
            run((*log)->append(one_record(clock.wall_ms()), 0, protocol::BatchOrigin::kClient))
                .ok());
      }
    }
    ASSERT_TRUE(run(manager.close_all()).ok());
  }
  StorageEnv env(disk, clock, 2);
  LogManager manager(env, "data", config);
  ASSERT_TRUE(run(manager.open_all()).ok());
  EXPECT_EQ(manager.partitions_count(), 3u);
  PartitionLog* log = manager.find({"events", 1});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->next_offset(), 8);
  const std::size_t segments_before = log->segments_count();
  // The loop sleeps through the clock: time passes, then retention runs for every partition.
  io::TaskScope scope;
  scope.spawn(manager.run_retention_loop(io::Duration::ms(60'000), 1));
  EXPECT_EQ(scope.active_count(), 0u);
  EXPECT_LT(log->segments_count(), segments_before);
  EXPECT_EQ(log->segments_count(), 1u);  // only the active segment is left
  EXPECT_GT(log->log_start_offset(), 0);
  ASSERT_TRUE(run(manager.remove({"events", 2})).ok());
  EXPECT_EQ(manager.find({"events", 2}), nullptr);
  auto exists = run(env.fs().exists("data/events-2"));
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
}

}  // namespace
}  // namespace strand::storage
