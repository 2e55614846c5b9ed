// `strand perf`: throughput and latency through Strand's client, the figures Kafka's
// producer-perf-test and consumer-perf-test print. Timing uses the io clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/producer.h"

namespace strand::app {

struct PerfProduceOptions {
  std::string topic;
  std::int64_t records = 0;
  std::int64_t record_size_bytes = 0;
  std::int64_t throughput = -1;  // records per second; -1: as fast as acknowledgements allow
  client::ProducerOptions producer;
};

// Sends `records` keyless records of random letters and returns the one-line summary: records/s,
// MB/s, latency p50/p99/p99.9/max in ms (send() to acknowledgement), requests and batches.
// Errors: the first record's failure, or the producer's.
io::Task<io::Result<std::string>> perf_produce(io::Env& env, client::Client& client,
                                               PerfProduceOptions options);

struct PerfConsumeOptions {
  std::string topic;
  std::int64_t records = 0;
  io::Duration idle_timeout;  // fail when no record came for this long
};

// Reads from `from` until `records` have come back and returns the one-line summary: records,
// MB, records/s, MB/s, seconds. Errors: fetch errors, kTimeout when the records run out.
io::Task<io::Result<std::string>> perf_consume(io::Env& env, client::Client& client,
                                               PerfConsumeOptions options,
                                               std::vector<client::FetchPosition> from);

}  // namespace strand::app
