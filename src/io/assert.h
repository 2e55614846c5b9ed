// Invariant checks that stay on in every build type. The simulator runs release builds, and a
// crash on a broken invariant is safer than running on in a corrupt state.
#pragma once

#include <source_location>

namespace strand {

// Prints the failed condition, the reason and the source location to stderr, then aborts.
[[noreturn]] void assert_failed(const char* condition, const char* why, std::source_location where);

// Runs once, after the message and before the abort: a program that knows how to reproduce the
// failure says so (strand-sim prints the replay command and its trace). Null clears it.
using AssertHook = void (*)();
void set_assert_hook(AssertHook hook);

}  // namespace strand

// STRAND_ASSERT(cond, "why"): `cond` must hold unless there is a bug. Never use it on input from
// the network or the disk; those get error values.
#define STRAND_ASSERT(cond, why)                                            \
  do {                                                                      \
    if (!(cond)) [[unlikely]]                                               \
      ::strand::assert_failed(#cond, why, std::source_location::current()); \
  } while (false)
