// Concurrent appenders share writes and syncs: the appends waiting while one write is in flight
// go out together in the next one, with dense offsets in arrival order.
#include <gtest/gtest.h>

#include <vector>

#include "broker/protocol/batch_builder.h"
#include "broker/storage/partition_log.h"
#include "io/wait_list.h"
#include "storage_env.h"

namespace strand::storage {
namespace {

// Sleeps park until release_all(); lets a test hold disk operations in flight.
class ParkingClock final : public io::Clock {
 public:
  io::Instant now() override { return io::Instant{}; }
  std::int64_t wall_ms() override { return 1'700'000'000'000; }
  io::Task<void> sleep(io::Duration) override { co_await Park{*this, {}}; }
  std::size_t release_all() {
    std::size_t released = 0;
    for (; !sleepers_.empty() && released < 100'000; ++released) sleepers_.pop_front().resume();
    return released;
  }

 private:
  struct Park {
    ParkingClock& clock;
    io::Waiter waiter;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> caller) {
      clock.sleepers_.push_back(waiter, caller);
    }
    void await_resume() const noexcept {}
  };
  io::WaitList sleepers_;
};

io::Task<void> append_and_sync(PartitionLog* log, int index, std::vector<std::int64_t>* offsets) {
  std::vector<protocol::Record> records{{"k" + std::to_string(index), "v", {}, 0, 0}};
  auto appended =
      co_await log->append(protocol::build_batch(records), 0, protocol::BatchOrigin::kClient);
  if (!appended) co_return;
  auto synced = co_await log->sync();
  if (!synced) co_return;
  (*offsets)[static_cast<std::size_t>(index)] = appended->base_offset;
}

TEST(GroupCommit, WaitingAppendsShareOneWriteAndOneSync) {
  sim::SimDisk disk;
  ParkingClock clock;
  testing::StorageEnv env(disk, clock, 1);
  std::unique_ptr<PartitionLog> log;
  {
    io::TaskScope opening;
    opening.spawn([](io::Env* e, std::unique_ptr<PartitionLog>* out) -> io::Task<void> {
      auto opened = co_await PartitionLog::open(*e, "p/t-0", LogConfig{});
      if (opened) *out = std::move(*opened);
    }(&env, &log));
    ASSERT_NE(log, nullptr);
  }
  disk.faults().write_latency = {io::Duration::ms(1), io::Duration::ms(1)};
  disk.faults().sync_latency = {io::Duration::ms(1), io::Duration::ms(1)};
  const std::uint64_t slow_before = disk.stats().slow_ops_count;
  constexpr int kAppenders = 20;
  std::vector<std::int64_t> offsets(kAppenders, -1);
  io::TaskScope appenders;
  for (int i = 0; i < kAppenders; ++i) appenders.spawn(append_and_sync(log.get(), i, &offsets));
  for (int rounds = 0; rounds < 100 && appenders.active_count() > 0; ++rounds) clock.release_all();
  ASSERT_EQ(appenders.active_count(), 0u);
  for (int i = 0; i < kAppenders; ++i) EXPECT_EQ(offsets[static_cast<std::size_t>(i)], i);
  // The first append writes alone; the 19 that queued behind it go in one write. Syncs likewise.
  const std::uint64_t slow_ops = disk.stats().slow_ops_count - slow_before;
  EXPECT_LE(slow_ops, 6u) << "writes + syncs for " << kAppenders << " appenders";
  EXPECT_EQ(log->next_offset(), kAppenders);
  EXPECT_EQ(log->synced_offset(), kAppenders);
}

}  // namespace
}  // namespace strand::storage
