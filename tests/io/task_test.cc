#include "io/task.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::io {
namespace {

Task<int> add(int a, int b) { co_return a + b; }

Task<int> add_three(int a, int b, int c) {
  const int ab = co_await add(a, b);
  const int abc = co_await add(ab, c);
  co_return abc;
}

Task<void> record_sum(std::vector<int>* out, int a, int b, int c) {
  const int sum = co_await add_three(a, b, c);
  out->push_back(sum);
}

TEST(Task, IsLazyAndRunsWhenSpawned) {
  std::vector<int> out;
  Task<void> task = record_sum(&out, 1, 2, 3);
  EXPECT_TRUE(out.empty());  // lazy: nothing ran yet
  TaskScope scope;
  scope.spawn(std::move(task));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], 6);
  EXPECT_EQ(scope.active_count(), 0u);
}

Task<void> sum_of_many(std::int64_t count, std::int64_t* out) {
  std::int64_t total = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const int value = co_await add(static_cast<int>(i % 7), 1);
    total += value;
  }
  *out = total;
}

// A loop over tasks that finish without suspending must not grow the stack per iteration, even
// where the symmetric transfer back is not a tail call (debug and sanitizer builds): two million
// nested frames would overflow any thread's stack.
TEST(Task, TasksThatFinishAtOnceRunInConstantStack) {
  std::int64_t total = -1;
  TaskScope scope;
  scope.spawn(sum_of_many(2'000'000, &total));
  std::int64_t expected = 0;
  for (std::int64_t i = 0; i < 2'000'000; ++i) expected += i % 7 + 1;
  EXPECT_EQ(total, expected);
}

Task<void> wait_then_record(Event* event, std::vector<std::string>* log, std::string name) {
  log->push_back(name + " waits");
  co_await event->wait();
  log->push_back(name + " resumed");
}

TEST(TaskScope, ChildrenParkUntilReleasedInFifoOrder) {
  Event event;
  std::vector<std::string> log;
  TaskScope scope;
  scope.spawn(wait_then_record(&event, &log, "a"));
  scope.spawn(wait_then_record(&event, &log, "b"));
  EXPECT_EQ(scope.active_count(), 2u);
  event.set();
  EXPECT_EQ(log, (std::vector<std::string>{"a waits", "b waits", "a resumed", "b resumed"}));
  EXPECT_EQ(scope.active_count(), 0u);
}

struct DestructionProbe {
  int* destroyed;
  ~DestructionProbe() { *destroyed += 1; }
};

Task<void> hold_probe_then_wait(Event* event, int* destroyed, int* resumed) {
  DestructionProbe probe{destroyed};
  co_await event->wait();
  *resumed += 1;
}

Task<void> nest_probe(Event* event, int* destroyed, int* resumed) {
  DestructionProbe probe{destroyed};
  co_await hold_probe_then_wait(event, destroyed, resumed);
  *resumed += 1;
}

TEST(TaskScope, CancelDestroysSuspendedFramesAndTheyNeverResume) {
  Event event;
  int destroyed = 0;
  int resumed = 0;
  {
    TaskScope scope;
    scope.spawn(nest_probe(&event, &destroyed, &resumed));
    scope.spawn(hold_probe_then_wait(&event, &destroyed, &resumed));
    EXPECT_EQ(event.waiting_count(), 2u);
    scope.cancel();
    EXPECT_EQ(destroyed, 3);  // both frames of the nested task, and the single one
    EXPECT_EQ(event.waiting_count(), 0u);
    scope.spawn(hold_probe_then_wait(&event, &destroyed, &resumed));  // refused: cancelled
    EXPECT_EQ(scope.active_count(), 0u);
  }
  event.set();
  EXPECT_EQ(resumed, 0);
}

Task<void> join_and_mark(TaskScope* scope, bool* joined) {
  co_await scope->join();
  *joined = true;
}

TEST(TaskScope, JoinResumesWhenLastChildFinishes) {
  Event event;
  std::vector<std::string> log;
  TaskScope workers;
  workers.spawn(wait_then_record(&event, &log, "w1"));
  workers.spawn(wait_then_record(&event, &log, "w2"));
  bool joined = false;
  TaskScope outer;
  outer.spawn(join_and_mark(&workers, &joined));
  EXPECT_FALSE(joined);
  event.set();
  EXPECT_TRUE(joined);
}

}  // namespace
}  // namespace strand::io
