// Runs a task that never really parks (simulated disks without latency, instant clocks) to the
// end on the caller's stack, and returns its result. Asserts that it did finish.
#pragma once

#include <optional>
#include <utility>

#include "io/assert.h"
#include "io/task.h"
#include "io/task_scope.h"

namespace strand::testing {

template <typename T>
io::Task<void> store_result(io::Task<T> task, std::optional<T>* out) {
  T value = co_await task;
  out->emplace(std::move(value));
}

template <typename T>
T run_inline(io::Task<T> task) {
  std::optional<T> out;
  io::TaskScope scope;
  scope.spawn(store_result(std::move(task), &out));
  STRAND_ASSERT(out.has_value(), "the task completed without parking");
  return std::move(*out);
}

}  // namespace strand::testing
