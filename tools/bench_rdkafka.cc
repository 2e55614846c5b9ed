// A load generator on librdkafka (the C client behind confluent-kafka and kcat), so that Strand's
// throughput is measured with a client that is not ours.
//
//   bench_rdkafka produce BROKER TOPIC --records N --record-size B [--acks all|1] [--linger-ms L]
//                 [--rate R]
//   bench_rdkafka consume BROKER TOPIC --records N [--partitions P]
//
// --rate paces produce at R records/s (0, the default, sends as fast as the client queue takes
// them), to measure latency below the peak rather than queueing at it.
// Prints one line: records/s, MB/s and, for produce, delivery latency p50/p99/p99.9 in ms.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTopicWaitS = 30;  // creating 1,000 partitions takes seconds

struct Options {
  std::string mode, broker, topic, acks = "all";
  long records = 100'000, record_size = 1024, linger_ms = 5, partitions = 1;
  double rate = 0;  // records/s; 0 = unpaced
};

struct Delivery {
  std::vector<double> latencies_ms;
  long failed = 0;
};

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* delivery = static_cast<Delivery*>(opaque);
  auto* sent = static_cast<Clock::time_point*>(message->_private);
  if (message->err) {
    delivery->failed += 1;
  } else {
    delivery->latencies_ms.push_back(elapsed_ms(*sent));
  }
  delete sent;
}

rd_kafka_conf_t* base_config(const Options& options) {
  rd_kafka_conf_t* config = rd_kafka_conf_new();
  char error[512];
  auto set = [&](const char* key, const std::string& value) {
    if (rd_kafka_conf_set(config, key, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "bench_rdkafka: %s\n", error);
      std::exit(2);
    }
  };
  set("bootstrap.servers", options.broker);
  if (options.mode == "produce") {
    set("acks", options.acks);
    set("linger.ms", std::to_string(options.linger_ms));
    set("batch.size", "1000000");
    set("queue.buffering.max.messages", "1000000");
  } else {
    set("group.id", "bench-rdkafka");
    set("enable.auto.commit", "false");
    set("fetch.max.bytes", "52428800");
  }
  return config;
}

// Asks for the topic's metadata (which auto-creates it) until it has partitions, so that neither
// the connection nor the creation is inside the measurement. False after kTopicWaitS.
bool wait_for_topic(rd_kafka_t* client, const std::string& name) {
  rd_kafka_topic_t* topic = rd_kafka_topic_new(client, name.c_str(), nullptr);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(kTopicWaitS);
  bool ready = false;
  while (!ready && Clock::now() < deadline) {
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(client, 0, topic, &metadata, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
              metadata->topics[0].partition_cnt > 0;
      rd_kafka_metadata_destroy(metadata);
    }
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_topic_destroy(topic);
  return ready;
}

int produce(const Options& options) {
  Delivery delivery;
  rd_kafka_conf_t* config = base_config(options);
  rd_kafka_conf_set_dr_msg_cb(config, on_delivery);
  rd_kafka_conf_set_opaque(config, &delivery);
  char error[512];
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, config, error, sizeof error);
  if (producer == nullptr) {
    std::fprintf(stderr, "bench_rdkafka: %s\n", error);
    return 1;
  }
  if (!wait_for_topic(producer, options.topic)) {
    std::fprintf(stderr, "bench_rdkafka: topic %s has no partitions after %d s\n",
                 options.topic.c_str(), kTopicWaitS);
    return 1;
  }
  std::vector<char> payload(static_cast<std::size_t>(options.record_size), 'x');
  const Clock::time_point start = Clock::now();
  for (long i = 0; i < options.records; ++i) {
    if (options.rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(i / options.rate)));
    }
    auto* sent = new Clock::time_point(Clock::now());
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(options.topic.c_str()),
                                                  RD_KAFKA_V_VALUE(payload.data(), payload.size()),
                                                  RD_KAFKA_V_OPAQUE(sent), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "bench_rdkafka: produce: %s\n", rd_kafka_err2str(err));
        return 1;
      }
      rd_kafka_poll(producer, 1);
    }
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 120'000);
  const double seconds = elapsed_ms(start) / 1000.0;
  rd_kafka_destroy(producer);
  std::vector<double>& latencies = delivery.latencies_ms;
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    return latencies.empty() ? 0.0
                             : latencies[static_cast<std::size_t>(p * (latencies.size() - 1))];
  };
  std::printf(
      "produce %ld records of %ld B, acks=%s, linger %ld ms: %.0f records/s, %.1f MB/s, latency ms "
      "p50 %.2f p99 %.2f p99.9 %.2f, %ld failed\n",
      options.records, options.record_size, options.acks.c_str(), options.linger_ms,
      latencies.size() / seconds, latencies.size() * options.record_size / seconds / 1e6,
      percentile(0.5), percentile(0.99), percentile(0.999), delivery.failed);
  return delivery.failed == 0 ? 0 : 1;
}

int consume(const Options& options) {
  char error[512];
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, base_config(options), error, sizeof error);
  if (consumer == nullptr) {
    std::fprintf(stderr, "bench_rdkafka: %s\n", error);
    return 1;
  }
  rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(1);
  for (long p = 0; p < options.partitions; ++p) {
    rd_kafka_topic_partition_list_add(partitions, options.topic.c_str(), static_cast<int>(p))
        ->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(consumer, partitions);
  rd_kafka_topic_partition_list_destroy(partitions);
  long records = 0, bytes = 0;
  Clock::time_point start{};
  while (records < options.records) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 5000);
    if (message == nullptr) {
      std::fprintf(stderr, "bench_rdkafka: no record for 5 s after %ld\n", records);
      break;
    }
    if (!message->err) {
      if (records == 0) start = Clock::now();
      records += 1;
      bytes += static_cast<long>(message->len);
    }
    rd_kafka_message_destroy(message);
  }
  const double seconds = elapsed_ms(start) / 1000.0;
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  std::printf("consume %ld records: %.0f records/s, %.1f MB/s\n", records, records / seconds,
              bytes / seconds / 1e6);
  return records >= options.records ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_rdkafka produce|consume BROKER TOPIC [flags]\n");
    return 2;
  }
  Options options;
  options.mode = argv[1];
  options.broker = argv[2];
  options.topic = argv[3];
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--records")
      options.records = std::atol(value);
    else if (flag == "--record-size")
      options.record_size = std::atol(value);
    else if (flag == "--acks")
      options.acks = value;
    else if (flag == "--linger-ms")
      options.linger_ms = std::atol(value);
    else if (flag == "--partitions")
      options.partitions = std::atol(value);
    else if (flag == "--rate")
      options.rate = std::atof(value);
    else {
      std::fprintf(stderr, "bench_rdkafka: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (options.mode == "produce") return produce(options);
  if (options.mode == "consume") return consume(options);
  std::fprintf(stderr, "bench_rdkafka: mode must be produce or consume\n");
  return 2;
}
