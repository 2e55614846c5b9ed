#include "io/assert.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace strand {

namespace {

AssertHook g_hook = nullptr;

}  // namespace

void set_assert_hook(AssertHook hook) { g_hook = hook; }

void assert_failed(const char* condition, const char* why, std::source_location where) {
  std::fprintf(stderr, "assertion failed: %s (%s) at %s:%u in %s\n", condition, why,
               where.file_name(), static_cast<unsigned>(where.line()), where.function_name());
  std::fflush(stderr);
  // Once: an assertion failing inside the hook aborts at once.
  if (AssertHook hook = std::exchange(g_hook, nullptr)) hook();
  std::abort();
}

}  // namespace strand
