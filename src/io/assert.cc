#include "io/assert.h"

#include <cstdio>
#include <cstdlib>

namespace strand {

void assert_failed(const char* condition, const char* why, std::source_location where) {
  std::fprintf(stderr, "assertion failed: %s (%s) at %s:%u in %s\n", condition, why,
               where.file_name(), static_cast<unsigned>(where.line()), where.function_name());
  std::fflush(stderr);
  std::abort();
}

}  // namespace strand
