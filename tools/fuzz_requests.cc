// Fuzz driver for the request decoders: any byte string yields a decoded request or a decode
// error, never a crash, a hang or an allocation out of proportion to the input.
//
//   fuzz_requests [--iterations N] [--seed S]   random inputs: noise, and valid requests mangled
//   fuzz_requests FILE...                        replay inputs (e.g. a crash a fuzzer found)
//
// LLVMFuzzerTestOneInput is the libFuzzer entry point, for builds with clang -fsanitize=fuzzer;
// the main below runs without it. Exit codes: 0 ok, 1 an input broke a rule, 2 bad usage.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include "broker/protocol/alter_partition_reassignments.h"
#include "broker/protocol/api.h"
#include "broker/protocol/api_versions.h"
#include "broker/protocol/create_partitions.h"
#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_groups.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/describe_cluster.h"
#include "broker/protocol/describe_configs.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/fetch.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/list_offsets.h"
#include "broker/protocol/list_partition_reassignments.h"
#include "broker/protocol/metadata.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_delete.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/produce.h"
#include "broker/protocol/sync_group.h"
#include "io/random.h"

namespace {

// The largest single allocation while decoding the current input.
std::size_t g_allocation_max = 0;
bool g_tracking = false;

using namespace strand::protocol;

// Decodes the body of a request the broker would accept; returns whether it decoded.
bool decode_body(const RequestHeader& header, std::span<const std::byte> bytes) {
  Reader body(bytes);
  const std::int16_t v = header.api_version;
  switch (static_cast<ApiKey>(header.api_key)) {
    case ApiKey::kApiVersions:
      (void)read_api_versions_request(body, v);
      break;
    case ApiKey::kMetadata:
      (void)read_metadata_request(body, v);
      break;
    case ApiKey::kProduce: {
      ProduceRequest request = read_produce_request(body, v);
      for (const TopicProduceData& topic : request.topic_data) {
        for (const PartitionProduceData& data : topic.partition_data) {
          // The records are a view, and it must lie inside the frame.
          const bool inside = data.records.empty() || (data.records.data() >= bytes.data() &&
                                                       data.records.data() + data.records.size() <=
                                                           bytes.data() + bytes.size());
          if (!inside) {
            std::fprintf(stderr, "fuzz_requests: a records view points outside the frame\n");
            std::abort();
          }
        }
      }
      break;
    }
    case ApiKey::kFetch:
      (void)read_fetch_request(body, v);
      break;
    case ApiKey::kListOffsets:
      (void)read_list_offsets_request(body, v);
      break;
    case ApiKey::kCreateTopics:
      (void)read_create_topics_request(body, v);
      break;
    case ApiKey::kDeleteTopics:
      (void)read_delete_topics_request(body, v);
      break;
    case ApiKey::kCreatePartitions:
      (void)read_create_partitions_request(body, v);
      break;
    case ApiKey::kDescribeConfigs:
      (void)read_describe_configs_request(body, v);
      break;
    case ApiKey::kDescribeCluster:
      (void)read_describe_cluster_request(body, v);
      break;
    case ApiKey::kAlterPartitionReassignments:
      (void)read_alter_partition_reassignments_request(body, v);
      break;
    case ApiKey::kListPartitionReassignments:
      (void)read_list_partition_reassignments_request(body, v);
      break;
    case ApiKey::kFindCoordinator:
      (void)read_find_coordinator_request(body, v);
      break;
    case ApiKey::kJoinGroup:
      (void)read_join_group_request(body, v);
      break;
    case ApiKey::kSyncGroup:
      (void)read_sync_group_request(body, v);
      break;
    case ApiKey::kHeartbeat:
      (void)read_heartbeat_request(body, v);
      break;
    case ApiKey::kLeaveGroup:
      (void)read_leave_group_request(body, v);
      break;
    case ApiKey::kOffsetCommit:
      (void)read_offset_commit_request(body, v);
      break;
    case ApiKey::kOffsetFetch:
      (void)read_offset_fetch_request(body, v);
      break;
    case ApiKey::kListGroups:
      (void)read_list_groups_request(body, v);
      break;
    case ApiKey::kDescribeGroups:
      (void)read_describe_groups_request(body, v);
      break;
    case ApiKey::kDeleteGroups:
      (void)read_delete_groups_request(body, v);
      break;
    case ApiKey::kOffsetDelete:
      (void)read_offset_delete_request(body, v);
      break;
    default:
      return false;
  }
  return body.ok();
}

}  // namespace

// Out of line, so the compiler does not see free() meet a pointer from operator new.
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (g_tracking && size > g_allocation_max) g_allocation_max = size;
  void* memory = std::malloc(size == 0 ? 1 : size);
  if (memory == nullptr) throw std::bad_alloc();
  return memory;
}
[[gnu::noinline]] void operator delete(void* memory) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  g_allocation_max = 0;
  g_tracking = true;
  Reader reader(bytes);
  RequestHeader header = read_request_header(reader);
  std::optional<ApiRange> range = find_api(header.api_key);
  if (reader.ok() && range && header.api_version >= range->min_version &&
      header.api_version <= range->max_version) {
    (void)decode_body(header, reader.rest());
  }
  g_tracking = false;
  // Decoded structures are a small multiple of the input; anything more is a length believed.
  if (g_allocation_max > 64 * size + 4096) {
    std::fprintf(stderr, "fuzz_requests: a %zu-byte input made a %zu-byte allocation\n", size,
                 g_allocation_max);
    std::abort();
  }
  return 0;
}

namespace {

void append_i16(std::vector<std::uint8_t>& out, std::int16_t value) {
  out.push_back(static_cast<std::uint8_t>(static_cast<std::uint16_t>(value) >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

// A request header for a random implemented API and version, then noise.
std::vector<std::uint8_t> random_input(strand::io::Random& random) {
  std::vector<std::uint8_t> input;
  std::span<const ApiRange> apis = implemented_apis();
  const ApiRange& api = apis[random.uniform(apis.size())];
  append_i16(input, static_cast<std::int16_t>(api.key));
  append_i16(input, static_cast<std::int16_t>(
                        api.min_version + random.uniform(api.max_version - api.min_version + 1)));
  for (int i = 0; i < 4; ++i) input.push_back(static_cast<std::uint8_t>(random.uniform(256)));
  append_i16(input, static_cast<std::int16_t>(random.uniform(4)));  // client id length
  for (int i = 0; i < 3; ++i) input.push_back('c');
  const std::uint64_t length = random.uniform(random.chance(0.9) ? 64 : 4096);
  for (std::uint64_t i = 0; i < length; ++i) {
    // Mostly small values: lengths and counts that are near the truth reach deeper.
    const bool small = random.chance(0.7);
    input.push_back(static_cast<std::uint8_t>(small ? random.uniform(4) : random.uniform(256)));
  }
  return input;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t iterations = 100'000;
  std::uint64_t seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--iterations" || arg == "--seed") && i + 1 < argc) {
      (arg == "--iterations" ? iterations : seed) = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg.starts_with("--")) {
      std::fprintf(stderr, "fuzz_requests: unknown flag %s\n", arg.c_str());
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  for (const std::string& path : files) {
    std::ifstream file(path, std::ios::binary);
    std::vector<std::uint8_t> input((std::istreambuf_iterator<char>(file)), {});
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  if (!files.empty()) return 0;
  strand::io::SeededRandom random(seed);
  for (std::uint64_t i = 0; i < iterations; ++i) {
    std::vector<std::uint8_t> input = random_input(random);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("fuzz_requests: %llu inputs (seed %llu), no rule broken\n",
              static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(seed));
  return 0;
}
