#include "io/sync.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "io/task_scope.h"

namespace strand::io {
namespace {

Task<void> locked_section(Mutex* mutex, Event* gate, std::vector<std::string>* log,
                          std::string name) {
  Mutex::Guard guard = co_await mutex->lock();
  log->push_back(name + " in");
  co_await gate->wait();
  log->push_back(name + " out");
}

TEST(Mutex, SerialisesAcrossSuspensionsFifo) {
  Mutex mutex;
  Event gate;
  std::vector<std::string> log;
  TaskScope scope;
  scope.spawn(locked_section(&mutex, &gate, &log, "a"));
  scope.spawn(locked_section(&mutex, &gate, &log, "b"));
  scope.spawn(locked_section(&mutex, &gate, &log, "c"));
  EXPECT_EQ(log, (std::vector<std::string>{"a in"}));
  gate.set();  // each holder passes the gate at once now; the lock passes along in FIFO order
  EXPECT_EQ(log, (std::vector<std::string>{"a in", "a out", "b in", "b out", "c in", "c out"}));
  EXPECT_FALSE(mutex.locked());
}

TEST(Mutex, CancelledHolderReleasesLock) {
  Mutex mutex;
  Event gate;
  std::vector<std::string> log;
  TaskScope first;
  first.spawn(locked_section(&mutex, &gate, &log, "a"));
  TaskScope second;
  second.spawn(locked_section(&mutex, &gate, &log, "b"));
  first.cancel();  // a's guard is destroyed with its frame and hands the lock to b
  EXPECT_EQ(log, (std::vector<std::string>{"a in", "b in"}));
  gate.set();
  EXPECT_FALSE(mutex.locked());
}

// Records its destruction: a frame holding one is destroyed when its scope is cancelled.
struct Tombstone {
  std::vector<std::string>* log;
  std::string name;
  ~Tombstone() { log->push_back(name + " destroyed"); }
};

Task<void> waits_forever(Event* never, std::vector<std::string>* log, std::string name) {
  Tombstone tombstone{log, name};
  co_await never->wait();
}

// A scope's frames are destroyed before any waiter of a lock they held runs: the waiter in the
// same scope never runs (it is destroyed too), and one elsewhere runs once the scope is gone.
TEST(Mutex, CancelPassesLocksOnOnlyAfterEveryFrameIsDestroyed) {
  Mutex mutex;
  Event gate;
  Event never;
  std::vector<std::string> log;
  TaskScope dying;
  TaskScope living;
  dying.spawn(locked_section(&mutex, &gate, &log, "a"));
  dying.spawn(locked_section(&mutex, &gate, &log, "b"));  // same scope: must never get the lock
  living.spawn(locked_section(&mutex, &gate, &log, "c"));
  dying.spawn(waits_forever(&never, &log, "d"));
  dying.cancel();
  EXPECT_EQ(log, (std::vector<std::string>{"a in", "d destroyed", "c in"}));
  EXPECT_TRUE(mutex.locked());
  gate.set();
  EXPECT_FALSE(mutex.locked());
}

// With every waiter gone by the time the hand-off runs, the lock is simply free.
TEST(Mutex, CancelOfHolderAndAllWaitersLeavesLockFree) {
  Mutex mutex;
  Event gate;
  std::vector<std::string> log;
  TaskScope scope;
  scope.spawn(locked_section(&mutex, &gate, &log, "a"));
  scope.spawn(locked_section(&mutex, &gate, &log, "b"));
  scope.cancel();
  EXPECT_EQ(log, (std::vector<std::string>{"a in"}));
  EXPECT_FALSE(mutex.locked());
}

TEST(Latch, ReleasesAtZero) {
  Latch latch(2);
  std::vector<std::string> log;
  TaskScope scope;
  Event unused;
  scope.spawn([](Latch* l, std::vector<std::string>* out) -> Task<void> {
    co_await l->wait();
    out->push_back("released");
  }(&latch, &log));
  latch.count_down();
  EXPECT_TRUE(log.empty());
  latch.count_down();
  EXPECT_EQ(log, (std::vector<std::string>{"released"}));
}

Task<void> produce(Channel<int>* channel, int count, std::vector<std::string>* log) {
  for (int i = 0; i < count; ++i) {
    const bool sent = co_await channel->send(i);
    log->push_back(sent ? "sent " + std::to_string(i) : "refused " + std::to_string(i));
  }
}

Task<void> consume(Channel<int>* channel, std::vector<int>* got) {
  for (;;) {
    std::optional<int> item = co_await channel->receive();
    if (!item) co_return;
    got->push_back(*item);
  }
}

TEST(Channel, SenderParksWhenFullThatIsBackpressure) {
  Channel<int> channel(2);
  std::vector<std::string> log;
  TaskScope scope;
  scope.spawn(produce(&channel, 5, &log));
  EXPECT_EQ(log, (std::vector<std::string>{"sent 0", "sent 1"}));  // parked on the third
  EXPECT_EQ(channel.size(), 2u);
  std::optional<int> first = channel.try_receive();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, 0);
  EXPECT_EQ(log.size(), 3u);  // room for one more
}

TEST(Channel, DeliversInOrderAndEndsAfterClose) {
  Channel<int> channel(3);
  std::vector<std::string> log;
  std::vector<int> got;
  TaskScope scope;
  scope.spawn(consume(&channel, &got));
  scope.spawn(produce(&channel, 10, &log));
  channel.close();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(scope.active_count(), 0u);
  int refused = 42;
  EXPECT_FALSE(channel.try_send(refused));
}

}  // namespace
}  // namespace strand::io
