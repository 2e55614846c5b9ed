#include "app/strand_perf.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>
#include <utility>

namespace strand::app {

namespace {

constexpr double kBytesPerMegabyte = 1024.0 * 1024.0;  // as Kafka's perf tools count

double percentile_ms(const std::vector<std::int64_t>& sorted_ns, double fraction) {
  if (sorted_ns.empty()) return 0;
  const auto at = static_cast<std::size_t>(fraction * static_cast<double>(sorted_ns.size() - 1));
  return static_cast<double>(sorted_ns[at]) / 1e6;
}

struct Sent {
  client::Delivery delivery;
  io::Instant at;
};

// Moves the finished deliveries at the front into `latencies_ns`; keeps the first error.
void settle(std::deque<Sent>& pending, std::vector<std::int64_t>& latencies_ns,
            std::optional<io::Error>& first_error) {
  while (!pending.empty() && pending.front().delivery.done()) {
    const Sent& front = pending.front();
    io::Result<client::RecordMetadata> result = front.delivery.result();
    if (!result && !first_error) first_error = result.error();
    latencies_ns.push_back((front.delivery.completed_at() - front.at).count_ns());
    pending.pop_front();
  }
}

std::string produce_summary(const PerfProduceOptions& options, double seconds,
                            std::vector<std::int64_t>& latencies_ns,
                            const client::ProducerStats& stats) {
  std::sort(latencies_ns.begin(), latencies_ns.end());
  const auto records = static_cast<double>(options.records);
  const double megabytes =
      records * static_cast<double>(options.record_size_bytes) / kBytesPerMegabyte;
  char line[512];
  std::snprintf(line, sizeof line,
                "%lld records sent, %.1f records/s (%.2f MB/s), latency p50 %.2f ms, p99 %.2f ms, "
                "p99.9 %.2f ms, max %.2f ms; %llu requests, %llu batches",
                static_cast<long long>(options.records), records / seconds, megabytes / seconds,
                percentile_ms(latencies_ns, 0.5), percentile_ms(latencies_ns, 0.99),
                percentile_ms(latencies_ns, 0.999), percentile_ms(latencies_ns, 1.0),
                static_cast<unsigned long long>(stats.requests_sent),
                static_cast<unsigned long long>(stats.batches_sent));
  return line;
}

}  // namespace

io::Task<io::Result<std::string>> perf_produce(io::Env& env, client::Client& client,
                                               PerfProduceOptions options) {
  client::Producer producer(client, options.producer);
  std::string payload(static_cast<std::size_t>(options.record_size_bytes), 'x');
  for (char& c : payload) c = static_cast<char>('a' + env.rng().uniform(26));
  std::deque<Sent> pending;
  std::vector<std::int64_t> latencies_ns;
  latencies_ns.reserve(static_cast<std::size_t>(options.records));
  std::optional<io::Error> first_error;
  const io::Instant start = env.clock().now();
  for (std::int64_t i = 0; i < options.records && !first_error; ++i) {
    if (options.throughput > 0) {  // hold back to the asked rate, sleeping when 1 ms ahead
      const io::Instant due = start + io::Duration::ns(i * 1'000'000'000 / options.throughput);
      const io::Duration ahead = due - env.clock().now();
      if (ahead >= io::Duration::ms(1)) co_await env.clock().sleep(ahead);
    }
    client::ProducerRecord record;
    record.topic = options.topic;
    record.value = payload;
    const io::Instant at = env.clock().now();
    std::optional<io::Result<client::Delivery>> queued = producer.try_send(record);
    if (!queued) {
      io::Result<client::Delivery> sent = co_await producer.send(std::move(record));
      queued.emplace(std::move(sent));
    }
    if (!*queued) co_return std::move(*queued).error();
    pending.push_back(Sent{**queued, at});
    settle(pending, latencies_ns, first_error);
  }
  io::Result<void> flushed = co_await producer.flush();
  if (!flushed) co_return std::move(flushed).error();
  settle(pending, latencies_ns, first_error);
  const double seconds = (env.clock().now() - start).seconds();
  if (first_error) co_return std::move(*first_error);
  co_return produce_summary(options, seconds, latencies_ns, producer.stats());
}

io::Task<io::Result<std::string>> perf_consume(io::Env& env, client::Client& client,
                                               PerfConsumeOptions options,
                                               std::vector<client::FetchPosition> from) {
  const io::Instant start = env.clock().now();
  io::Instant last_data = start;
  std::int64_t consumed = 0;
  std::uint64_t bytes = 0;
  while (consumed < options.records) {
    client::FetchLimits limits;
    limits.max_wait = io::Duration::ms(100);
    std::vector<client::FetchPosition> wanted = from;
    io::Result<std::vector<client::FetchedRecords>> fetched =
        co_await client.fetch_many(options.topic, std::move(wanted), limits);
    if (!fetched) co_return std::move(fetched).error();
    std::int64_t got = 0;
    for (std::size_t i = 0; i < fetched->size(); ++i) {
      const client::FetchedRecords& partition = (*fetched)[i];
      from[i].offset = partition.next_offset;
      for (const protocol::Record& record : partition.records) {
        bytes += (record.key ? record.key->size() : 0) + (record.value ? record.value->size() : 0);
      }
      got += static_cast<std::int64_t>(partition.records.size());
    }
    consumed += got;
    const io::Instant now = env.clock().now();
    if (got > 0) last_data = now;
    if (now - last_data >= options.idle_timeout) {
      co_return io::Error{io::ErrorKind::kTimeout,
                          "only " + std::to_string(consumed) + " of " +
                              std::to_string(options.records) + " records before " +
                              std::to_string(options.idle_timeout.count_ms()) + " ms idle"};
    }
  }
  const double seconds = (env.clock().now() - start).seconds();
  const double megabytes = static_cast<double>(bytes) / kBytesPerMegabyte;
  char line[256];
  std::snprintf(line, sizeof line,
                "%lld records consumed, %.2f MB, %.1f records/s, %.2f MB/s, %.3f s",
                static_cast<long long>(consumed), megabytes,
                static_cast<double>(consumed) / seconds, megabytes / seconds, seconds);
  co_return std::string(line);
}

}  // namespace strand::app
