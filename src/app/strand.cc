// strand: the command-line client. Talks the Kafka protocol through Strand's client library.
//
//   strand [--bootstrap HOST:PORT] topics create NAME [--partitions N] [--config k=v ...]
//   strand topics list | topics describe NAME | topics delete NAME
//   strand topics reassign NAME (--replicas ID,ID... | --cancel) [--partition P]... [--wait]
//   strand topics reassignments
//   strand brokers decommission ID [--dry-run] [--wait]
//   strand produce TOPIC [--key-separator SEP] [--acks all|1|0] [--partition N]  < lines
//   strand consume TOPIC [--from-beginning | --offset N] [--partition N] [--max-messages N]
//                        [--print-key] [--key-separator SEP] [--idle-timeout-ms MS]
//   strand perf produce TOPIC --records N --record-size B [--acks all|1] [--batch-size B]
//                             [--linger-ms MS] [--throughput RECORDS_PER_S]
//   strand perf consume TOPIC --records N
//   strand groups list | groups describe GROUP... | groups delete GROUP...
//   strand groups reset-offsets GROUP (--topic TOPIC[:P,P...]... | --all-topics)
//          (--to-earliest | --to-latest | --to-offset N | --shift-by N
//           | --to-datetime YYYY-MM-DDTHH:mm:SS[.sss][Z|±hh:mm]) [--execute]
//
// Exit codes: 0 ok, 1 a request failed, 2 bad usage. Errors go to stderr in one line.
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/groups_command.h"
#include "app/reassign_command.h"
#include "app/strand_perf.h"
#include "broker/protocol/compression.h"
#include "broker/protocol/list_offsets.h"
#include "client/client.h"
#include "client/producer.h"
#include "io/uv/uv_env.h"

namespace {

using strand::client::Client;
using strand::client::Delivery;
using strand::client::Producer;
using strand::client::ProducerRecord;
namespace io = strand::io;
namespace client = strand::client;
namespace protocol = strand::protocol;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

enum class Command {
  kTopicsCreate,
  kTopicsList,
  kTopicsDescribe,
  kTopicsDelete,
  kTopicsReassign,
  kTopicsReassignments,
  kBrokersDecommission,
  kProduce,
  kConsume,
  kPerfProduce,
  kPerfConsume,
  kGroups
};

struct Options {
  Command command = Command::kTopicsList;
  io::Address bootstrap;
  std::string topic;
  std::int32_t partitions = -1;
  std::int16_t replication_factor = -1;
  std::map<std::string, std::string> configs;
  std::optional<std::string> key_separator;
  std::int16_t acks = -1;
  protocol::Compression compression = protocol::Compression::kNone;
  std::optional<std::int32_t> partition;
  bool from_beginning = false;
  std::optional<std::int64_t> offset;
  std::optional<std::int64_t> max_messages;
  bool print_key = false;
  std::int64_t idle_timeout_ms = 5000;
  std::int64_t records = 0;
  std::int64_t record_size = 100;
  std::uint32_t batch_size = 16 * 1024;
  std::int64_t linger_ms = 5;
  std::int64_t throughput = -1;  // records/s for perf produce; -1: as fast as possible
  strand::app::GroupsOptions groups;
  strand::app::ReassignOptions reassign;
  strand::app::DecommissionOptions decommission;
};

int failed(const std::string& what, const io::Error& error) {
  std::fprintf(stderr, "strand: %s: %s\n", what.c_str(), error.to_string().c_str());
  return kExitFailed;
}

int usage(const std::string& message) {
  std::fprintf(stderr, "strand: %s (see strand --help)\n", message.c_str());
  return kExitUsage;
}

// ---- stdin -----------------------------------------------------------------------------------

// Lines from stdin, read in large chunks. The event loop stops while read() blocks, so the
// producer flushes first whenever no input is waiting (an interactive terminal).
class StdinLines {
 public:
  bool input_waiting() const {
    if (start_ < buffer_.size() && buffer_.find('\n', start_) != std::string::npos) return true;
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    return eof_ || ::poll(&fd, 1, 0) > 0;
  }
  // False at the end of input. A last line without a newline still counts.
  bool next(std::string& line) {
    for (;;) {
      const std::size_t newline = buffer_.find('\n', start_);
      if (newline != std::string::npos) {
        line.assign(buffer_, start_, newline - start_);
        start_ = newline + 1;
        return true;
      }
      if (eof_) {
        if (start_ >= buffer_.size()) return false;
        line.assign(buffer_, start_);
        start_ = buffer_.size();
        return true;
      }
      buffer_.erase(0, start_);
      start_ = 0;
      char chunk[64 * 1024];
      const ssize_t got = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (got <= 0) {
        eof_ = true;
      } else {
        buffer_.append(chunk, static_cast<std::size_t>(got));
      }
    }
  }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  bool eof_ = false;
};

// ---- topics ----------------------------------------------------------------------------------

io::Task<int> topics_command(Client& client, const Options& options) {
  const std::string topic = options.topic;
  if (options.command == Command::kTopicsCreate) {
    std::map<std::string, std::string> configs = options.configs;
    io::Result<void> created = co_await client.create_topic(
        topic, options.partitions, std::move(configs), options.replication_factor);
    if (!created) co_return failed("cannot create topic " + topic, created.error());
    std::printf("Created topic %s.\n", topic.c_str());
  } else if (options.command == Command::kTopicsDelete) {
    io::Result<void> deleted = co_await client.delete_topic(topic);
    if (!deleted) co_return failed("cannot delete topic " + topic, deleted.error());
    std::printf("Deleted topic %s.\n", topic.c_str());
  } else if (options.command == Command::kTopicsList) {
    io::Result<std::vector<std::string>> names = co_await client.list_topics();
    if (!names) co_return failed("cannot list topics", names.error());
    for (const std::string& name : *names) std::printf("%s\n", name.c_str());
  } else {
    io::Result<client::TopicDescription> described = co_await client.describe_topic(topic);
    if (!described) co_return failed("cannot describe topic " + topic, described.error());
    std::printf("Topic: %s\tPartitions: %zu%s\n", described->name.c_str(),
                described->partitions.size(), described->is_internal ? "\tInternal" : "");
    for (const client::PartitionDescription& partition : described->partitions) {
      std::printf("\tPartition: %d\tLeader: %d\tStartOffset: %lld\tEndOffset: %lld\n",
                  partition.partition, partition.leader_id,
                  static_cast<long long>(partition.log_start_offset),
                  static_cast<long long>(partition.log_end_offset));
    }
  }
  co_return kExitOk;
}

// ---- produce ---------------------------------------------------------------------------------

// Pops the deliveries that are done from the front; the first failure, if any.
std::optional<io::Error> settle(std::deque<Delivery>& pending) {
  while (!pending.empty() && pending.front().done()) {
    io::Result<client::RecordMetadata> result = pending.front().result();
    pending.pop_front();
    if (!result) return result.error();
  }
  return std::nullopt;
}

io::Task<int> produce_command(Client& client, const Options& options) {
  client::ProducerOptions producer_options;
  producer_options.acks = options.acks;
  producer_options.compression = options.compression;
  Producer producer(client, producer_options);
  StdinLines input;
  std::deque<Delivery> pending;
  std::string line;
  for (std::int64_t number = 1;; ++number) {
    if (!input.input_waiting()) {
      io::Result<void> flushed = co_await producer.flush();
      if (!flushed) co_return failed("produce to " + options.topic, flushed.error());
    }
    if (!input.next(line)) break;
    ProducerRecord record;
    record.topic = options.topic;
    record.partition = options.partition;
    if (options.key_separator) {
      const std::size_t at = line.find(*options.key_separator);
      if (at == std::string::npos) {
        co_return usage("line " + std::to_string(number) + " has no key separator '" +
                        *options.key_separator + "'");
      }
      record.key = line.substr(0, at);
      record.value = line.substr(at + options.key_separator->size());
    } else {
      record.value = line;
    }
    std::optional<io::Result<Delivery>> queued = producer.try_send(record);
    if (!queued) {
      io::Result<Delivery> sent = co_await producer.send(std::move(record));
      queued.emplace(std::move(sent));
    }
    if (!*queued) co_return failed("produce to " + options.topic, queued->error());
    pending.push_back(**queued);
    std::optional<io::Error> error = settle(pending);
    if (error) co_return failed("produce to " + options.topic, *error);
  }
  io::Result<void> flushed = co_await producer.flush();
  if (!flushed) co_return failed("produce to " + options.topic, flushed.error());
  std::optional<io::Error> error = settle(pending);
  if (error) co_return failed("produce to " + options.topic, *error);
  co_return kExitOk;
}

// ---- consume ---------------------------------------------------------------------------------

// The partitions to read and where each starts.
io::Task<io::Result<std::vector<client::FetchPosition>>> start_positions(Client& client,
                                                                         const Options& options) {
  const std::string topic = options.topic;
  io::Result<client::TopicDescription> described = co_await client.describe_topic(topic);
  if (!described) co_return std::move(described).error();
  std::vector<client::FetchPosition> positions;
  for (const client::PartitionDescription& partition : described->partitions) {
    if (options.partition && partition.partition != *options.partition) continue;
    std::int64_t start = partition.log_end_offset;
    if (options.from_beginning) start = partition.log_start_offset;
    if (options.offset) start = *options.offset;
    positions.push_back({partition.partition, start});
  }
  if (positions.empty()) {
    co_return io::Error{
        io::ErrorKind::kNotFound,
        "topic " + topic + " has no partition " + std::to_string(options.partition.value_or(-1))};
  }
  co_return std::move(positions);
}

void print_record(const strand::protocol::Record& r, const Options& options) {
  if (options.print_key) {
    const std::string& key = r.key ? *r.key : std::string("null");
    std::fwrite(key.data(), 1, key.size(), stdout);
    const std::string separator = options.key_separator.value_or("\t");
    std::fwrite(separator.data(), 1, separator.size(), stdout);
  }
  const std::string& value = r.value ? *r.value : std::string("null");
  std::fwrite(value.data(), 1, value.size(), stdout);
  std::fputc('\n', stdout);
}

io::Task<int> consume_command(io::Env& env, Client& client, const Options& options) {
  io::Result<std::vector<client::FetchPosition>> positions =
      co_await start_positions(client, options);
  if (!positions) co_return failed("consume from " + options.topic, positions.error());
  const io::Duration idle_timeout = io::Duration::ms(options.idle_timeout_ms);
  io::Instant last_data = env.clock().now();
  std::int64_t consumed = 0;
  for (;;) {
    client::FetchLimits limits;
    limits.max_wait = io::Duration::ms(500);
    if (options.idle_timeout_ms >= 0) {
      const io::Duration left = last_data + idle_timeout - env.clock().now();
      limits.max_wait = std::clamp(left, io::Duration::ms(0), limits.max_wait);
    }
    std::vector<client::FetchPosition> wanted = *positions;
    io::Result<std::vector<client::FetchedRecords>> fetched =
        co_await client.fetch_many(options.topic, std::move(wanted), limits);
    if (!fetched) co_return failed("consume from " + options.topic, fetched.error());
    bool any = false;
    for (std::size_t i = 0; i < fetched->size(); ++i) {
      const client::FetchedRecords& partition = (*fetched)[i];
      (*positions)[i].offset = partition.next_offset;
      for (const strand::protocol::Record& record : partition.records) {
        print_record(record, options);
        any = true;
        consumed += 1;
        if (options.max_messages && consumed >= *options.max_messages) {
          std::fflush(stdout);
          co_return kExitOk;
        }
      }
    }
    std::fflush(stdout);
    const io::Instant now = env.clock().now();
    if (any) last_data = now;
    if (options.idle_timeout_ms >= 0 && now - last_data >= idle_timeout) co_return kExitOk;
  }
}

// ---- perf ------------------------------------------------------------------------------------

io::Task<int> perf_command(io::Env& env, Client& client, const Options& options) {
  if (options.command == Command::kPerfProduce) {
    strand::app::PerfProduceOptions perf;
    perf.topic = options.topic;
    perf.records = options.records;
    perf.record_size_bytes = options.record_size;
    perf.throughput = options.throughput;
    perf.producer.acks = options.acks;
    perf.producer.compression = options.compression;
    perf.producer.batch_size_bytes = options.batch_size;
    perf.producer.linger = io::Duration::ms(options.linger_ms);
    io::Result<std::string> summary = co_await strand::app::perf_produce(env, client, perf);
    if (!summary) co_return failed("perf produce to " + options.topic, summary.error());
    std::printf("%s\n", summary->c_str());
    co_return kExitOk;
  }
  Options from_start = options;
  from_start.from_beginning = true;
  io::Result<std::vector<client::FetchPosition>> positions =
      co_await start_positions(client, from_start);
  if (!positions) co_return failed("perf consume from " + options.topic, positions.error());
  strand::app::PerfConsumeOptions perf;
  perf.topic = options.topic;
  perf.records = options.records;
  perf.idle_timeout = io::Duration::ms(options.idle_timeout_ms);
  io::Result<std::string> summary =
      co_await strand::app::perf_consume(env, client, perf, std::move(*positions));
  if (!summary) co_return failed("perf consume from " + options.topic, summary.error());
  std::printf("%s\n", summary->c_str());
  co_return kExitOk;
}

io::Task<int> run(io::Env* env, const Options* options) {
  const io::Address bootstrap = options->bootstrap;
  const client::ClientOptions client_options;
  io::Result<std::unique_ptr<Client>> connected =
      co_await Client::connect(*env, bootstrap, client_options);
  if (!connected) co_return failed("cannot connect to " + bootstrap.to_string(), connected.error());
  Client& client = **connected;
  int status = kExitOk;
  switch (options->command) {
    case Command::kProduce:
      status = co_await produce_command(client, *options);
      break;
    case Command::kConsume:
      status = co_await consume_command(*env, client, *options);
      break;
    case Command::kPerfProduce:
    case Command::kPerfConsume:
      status = co_await perf_command(*env, client, *options);
      break;
    case Command::kGroups:
      status = co_await strand::app::groups_command(client, options->groups);
      break;
    case Command::kTopicsReassign:
      status = co_await strand::app::reassign_command(*env, client, options->reassign);
      break;
    case Command::kTopicsReassignments:
      status = co_await strand::app::reassignments_command(client);
      break;
    case Command::kBrokersDecommission:
      status = co_await strand::app::decommission_command(*env, client, options->decommission);
      break;
    default:
      status = co_await topics_command(client, *options);
      break;
  }
  co_return status;
}

// ---- command line ----------------------------------------------------------------------------

// HOST:PORT with HOST an IP literal or a name resolved here (io::Network takes literals only).
// Errors: kInvalid (not HOST:PORT), kNotFound (the name does not resolve).
io::Result<io::Address> resolve(const std::string& text) {
  io::Result<io::Address> parsed = io::parse_address(text);
  if (!parsed) return parsed;
  in6_addr scratch;
  if (inet_pton(AF_INET, parsed->host.c_str(), &scratch) == 1 ||
      inet_pton(AF_INET6, parsed->host.c_str(), &scratch) == 1) {
    return parsed;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int status = getaddrinfo(parsed->host.c_str(), nullptr, &hints, &found);
  if (status != 0 || found == nullptr) {
    return io::Error{io::ErrorKind::kNotFound,
                     "cannot resolve " + parsed->host + ": " + gai_strerror(status)};
  }
  char host[INET6_ADDRSTRLEN] = {};
  const void* raw =
      found->ai_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr);
  inet_ntop(found->ai_family, raw, host, sizeof host);
  freeaddrinfo(found);
  return io::Address{host, parsed->port};
}

// The command line's raw values, parsed into Options once CLI11 is done.
class CommandLine {
 public:
  CommandLine() {
    app_.require_subcommand(1);
    app_.add_option("--bootstrap,--bootstrap-server", bootstrap_, "HOST:PORT of a broker")
        ->capture_default_str();
    add_topics();
    add_brokers();
    add_produce();
    add_consume();
    add_perf();
    add_groups();
  }

  // The exit code when parsing ends the run (help, bad usage), else nullopt.
  std::optional<int> parse(int argc, char** argv) {
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
      if (error.get_exit_code() == 0) return app_.exit(error);  // --help
      return usage(error.what());
    }
    return finish();
  }

  const Options& options() const { return options_; }

 private:
  void add_topics() {
    CLI::App* topics = app_.add_subcommand("topics", "create, list, describe or delete topics");
    topics->require_subcommand(1);
    CLI::App* create = command(topics, "create", "create a topic", Command::kTopicsCreate);
    create->add_option("name", options_.topic, "topic name")->required();
    create->add_option("--partitions", options_.partitions, "partitions (default: the broker's)");
    create->add_option("--replication-factor", options_.replication_factor,
                       "replicas per partition (default: the broker's)");
    create->add_option("--config", configs_, "topic config as key=value (repeatable)");
    command(topics, "list", "list topic names", Command::kTopicsList);
    command(topics, "describe", "partitions, leaders and offsets", Command::kTopicsDescribe)
        ->add_option("name", options_.topic, "topic name")
        ->required();
    command(topics, "delete", "delete a topic", Command::kTopicsDelete)
        ->add_option("name", options_.topic, "topic name")
        ->required();
    strand::app::ReassignOptions& move = options_.reassign;
    CLI::App* reassign = command(topics, "reassign", "move partitions to other brokers",
                                 Command::kTopicsReassign);
    reassign->add_option("name", move.topic, "topic name")->required();
    reassign->add_option("--partition", move.partitions, "partition (repeatable; default: all)");
    CLI::Option* replicas =
        reassign->add_option("--replicas", move.replicas, "target broker ids, leader first")
            ->delimiter(',');
    CLI::Option* cancel =
        reassign->add_flag("--cancel", move.cancel, "cancel the moves in progress");
    replicas->excludes(cancel);
    reassign->add_flag("--wait", move.wait, "wait until the moves are done");
    reassign->add_option("--wait-timeout-ms", move.wait_timeout_ms, "how long --wait waits")
        ->capture_default_str();
    command(topics, "reassignments", "list the moves in progress", Command::kTopicsReassignments);
  }

  void add_brokers() {
    CLI::App* brokers = app_.add_subcommand("brokers", "manage the cluster's brokers");
    brokers->require_subcommand(1);
    strand::app::DecommissionOptions& out = options_.decommission;
    CLI::App* decommission = command(brokers, "decommission", "move every replica off a broker",
                                     Command::kBrokersDecommission);
    decommission->add_option("id", out.broker, "the broker's node id")->required();
    decommission->add_flag("--dry-run", out.dry_run, "print the moves, make none");
    decommission->add_flag("--wait", out.wait, "wait until the moves are done");
    decommission->add_option("--wait-timeout-ms", out.wait_timeout_ms, "how long --wait waits")
        ->capture_default_str();
  }

  void add_produce() {
    CLI::App* produce =
        command(&app_, "produce", "send the lines of stdin as records", Command::kProduce);
    produce->add_option("topic", options_.topic, "topic name")->required();
    key_separators_.push_back(produce->add_option("--key-separator", key_separator_,
                                                  "split each line into key and value at SEP"));
    produce->add_option("--acks", acks_, "all, 1 or 0")
        ->check(CLI::IsMember({"all", "-1", "1", "0"}));
    add_compression(produce);
    partitions_.push_back(
        produce->add_option("--partition", partition_, "send every record to this partition")
            ->check(CLI::NonNegativeNumber));
  }

  void add_consume() {
    CLI::App* consume =
        command(&app_, "consume", "print records' values, one per line", Command::kConsume);
    consume->add_option("topic", options_.topic, "topic name")->required();
    CLI::Option* beginning =
        consume->add_flag("--from-beginning", options_.from_beginning, "start at the log start");
    partitions_.push_back(consume->add_option("--partition", partition_, "read one partition")
                              ->check(CLI::NonNegativeNumber));
    offset_ = consume->add_option("--offset", offset_value_, "start here (needs --partition)")
                  ->check(CLI::NonNegativeNumber)
                  ->needs(partitions_.back())
                  ->excludes(beginning);
    max_messages_ =
        consume->add_option("--max-messages", max_messages_value_, "exit after this many")
            ->check(CLI::PositiveNumber);
    consume->add_flag("--print-key", options_.print_key, "print key SEP value (SEP: tab)");
    key_separators_.push_back(
        consume->add_option("--key-separator", key_separator_, "SEP for --print-key"));
    consume
        ->add_option("--idle-timeout-ms", options_.idle_timeout_ms,
                     "exit after this long without records; -1 waits forever")
        ->capture_default_str();
  }

  void add_perf() {
    CLI::App* perf = app_.add_subcommand("perf", "throughput and latency");
    perf->require_subcommand(1);
    CLI::App* produce = command(perf, "produce", "send records", Command::kPerfProduce);
    produce->add_option("topic", options_.topic, "topic name")->required();
    produce->add_option("--records", options_.records, "how many")
        ->required()
        ->check(CLI::PositiveNumber);
    produce->add_option("--record-size", options_.record_size, "value bytes")
        ->required()
        ->check(CLI::NonNegativeNumber);
    produce->add_option("--acks", acks_, "all or 1")->check(CLI::IsMember({"all", "-1", "1"}));
    add_compression(produce);
    produce->add_option("--batch-size", options_.batch_size, "batch.size in bytes")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    produce->add_option("--linger-ms", options_.linger_ms, "linger.ms")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    produce->add_option("--throughput", options_.throughput, "records/s; -1: unthrottled")
        ->capture_default_str();
    CLI::App* consume = command(perf, "consume", "read from the start", Command::kPerfConsume);
    consume->add_option("topic", options_.topic, "topic name")->required();
    consume->add_option("--records", options_.records, "how many")
        ->required()
        ->check(CLI::PositiveNumber);
    perf_idle_ = consume->add_option("--idle-timeout-ms", options_.idle_timeout_ms,
                                     "fail after this long without records (default 10000)");
  }

  void add_groups() {
    using strand::app::GroupsAction;
    CLI::App* groups = app_.add_subcommand(
        "groups", "list, describe or delete consumer groups, or reset their offsets");
    groups->require_subcommand(1);
    group_command(groups, "list", "list every group's id", GroupsAction::kList);
    group_command(groups, "describe", "state, members, and per partition offsets and lag",
                  GroupsAction::kDescribe)
        ->add_option("group", options_.groups.groups, "group ids")
        ->required();
    group_command(groups, "delete", "delete inactive groups and their offsets",
                  GroupsAction::kDelete)
        ->add_option("group", options_.groups.groups, "group ids")
        ->required();
    CLI::App* reset = group_command(groups, "reset-offsets",
                                    "plan (or --execute) new committed offsets of an inactive "
                                    "group",
                                    GroupsAction::kResetOffsets);
    reset->add_option("group", reset_group_, "group id")->required();
    CLI::Option* topic =
        reset->add_option("--topic", reset_topics_, "TOPIC or TOPIC:P,P,... (repeatable)");
    reset
        ->add_flag("--all-topics", options_.groups.all_topics,
                   "every partition the group has committed")
        ->excludes(topic);
    reset->add_flag("--to-earliest", reset_flags_.to_earliest, "the log start");
    reset->add_flag("--to-latest", reset_flags_.to_latest, "the log end (high watermark)");
    to_offset_ = reset->add_option("--to-offset", to_offset_value_, "this offset, clamped");
    to_datetime_ = reset->add_option("--to-datetime", to_datetime_value_,
                                     "the first offset at or after YYYY-MM-DDTHH:mm:SS[.sss]"
                                     "[Z|+hh:mm] (local time without a zone)");
    shift_by_ = reset->add_option("--shift-by", shift_by_value_,
                                  "the committed offset plus N (N may be negative), clamped");
    CLI::Option* execute =
        reset->add_flag("--execute", options_.groups.execute, "commit the new offsets");
    reset->add_flag("--dry-run", dry_run_, "only print the new offsets (the default)")
        ->excludes(execute);
  }

  CLI::App* group_command(CLI::App* parent, const std::string& name, const std::string& what,
                          strand::app::GroupsAction action) {
    CLI::App* sub = parent->add_subcommand(name, what);
    sub->final_callback([this, action] {
      options_.command = Command::kGroups;
      options_.groups.action = action;
    });
    return sub;
  }

  // The reset-offsets arguments CLI11 can't check: topics and exactly one strategy.
  std::optional<int> finish_groups() {
    if (options_.command != Command::kGroups ||
        options_.groups.action != strand::app::GroupsAction::kResetOffsets) {
      return std::nullopt;
    }
    options_.groups.groups = {reset_group_};
    for (const std::string& text : reset_topics_) {
      io::Result<client::TopicSelection> selection = client::parse_topic_selection(text);
      if (!selection) return usage(selection.error().message);
      options_.groups.topics.push_back(std::move(*selection));
    }
    if (options_.groups.topics.empty() && !options_.groups.all_topics) {
      return usage("reset-offsets needs --topic or --all-topics");
    }
    if (to_offset_->count() > 0) reset_flags_.to_offset = to_offset_value_;
    if (to_datetime_->count() > 0) reset_flags_.to_datetime = to_datetime_value_;
    if (shift_by_->count() > 0) reset_flags_.shift_by = shift_by_value_;
    io::Result<client::ResetSpec> spec = strand::app::reset_spec(reset_flags_);
    if (!spec) return usage(spec.error().message);
    options_.groups.reset = *spec;
    return std::nullopt;
  }

  CLI::App* command(CLI::App* parent, const std::string& name, const std::string& what,
                    Command which) {
    CLI::App* sub = parent->add_subcommand(name, what);
    sub->final_callback([this, which] { options_.command = which; });
    return sub;
  }

  void add_compression(CLI::App* produce) {
    produce
        ->add_option("--compression", compression_,
                     "codec of the batches: none, gzip, "
                     "snappy, lz4 or zstd")
        ->capture_default_str()
        ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  }

  // Checks what CLI11 can't and fills the optional values.
  std::optional<int> finish() {
    for (const std::string& config : configs_) {
      const std::size_t equals = config.find('=');
      if (equals == std::string::npos || equals == 0) {
        return usage("--config wants key=value, got '" + config + "'");
      }
      options_.configs[config.substr(0, equals)] = config.substr(equals + 1);
    }
    options_.acks = static_cast<std::int16_t>(acks_ == "all" ? -1 : std::stoi(acks_));
    for (protocol::Compression codec : {protocol::Compression::kNone, protocol::Compression::kGzip,
                                        protocol::Compression::kSnappy, protocol::Compression::kLz4,
                                        protocol::Compression::kZstd}) {
      if (compression_ == protocol::compression_name(codec)) options_.compression = codec;
    }
    for (CLI::Option* option : key_separators_) {
      if (option->count() == 0) continue;
      if (key_separator_.empty()) return usage("--key-separator must not be empty");
      options_.key_separator = key_separator_;
    }
    for (CLI::Option* option : partitions_) {
      if (option->count() > 0) options_.partition = partition_;
    }
    if (offset_->count() > 0) options_.offset = offset_value_;
    if (max_messages_->count() > 0) options_.max_messages = max_messages_value_;
    if (options_.command == Command::kPerfConsume && perf_idle_->count() == 0) {
      options_.idle_timeout_ms = 10'000;
    }
    if (std::optional<int> ended = finish_groups()) return ended;
    if (options_.command == Command::kTopicsReassign && !options_.reassign.cancel &&
        options_.reassign.replicas.empty()) {
      return usage("topics reassign needs --replicas or --cancel");
    }
    io::Result<io::Address> address = resolve(bootstrap_);
    if (!address && address.error().kind == io::ErrorKind::kInvalid) {
      return usage("--bootstrap: " + address.error().message);
    }
    if (!address) return failed("--bootstrap " + bootstrap_, address.error());
    options_.bootstrap = *address;
    return std::nullopt;
  }

  CLI::App app_{"strand: Strand's Kafka command-line client"};
  Options options_;
  std::string bootstrap_ = "127.0.0.1:9092";
  std::vector<std::string> configs_;
  std::string acks_ = "all";
  std::string compression_ = "none";
  std::string key_separator_;
  std::int32_t partition_ = 0;
  std::int64_t offset_value_ = 0;
  std::int64_t max_messages_value_ = 0;
  std::vector<CLI::Option*> key_separators_;
  std::vector<CLI::Option*> partitions_;
  CLI::Option* offset_ = nullptr;
  CLI::Option* max_messages_ = nullptr;
  CLI::Option* perf_idle_ = nullptr;
  std::string reset_group_;
  bool dry_run_ = false;
  std::vector<std::string> reset_topics_;
  strand::app::ResetFlags reset_flags_;
  std::int64_t to_offset_value_ = 0;
  std::string to_datetime_value_;
  std::int64_t shift_by_value_ = 0;
  CLI::Option* to_offset_ = nullptr;
  CLI::Option* to_datetime_ = nullptr;
  CLI::Option* shift_by_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  CommandLine command_line;
  std::optional<int> ended = command_line.parse(argc, argv);
  if (ended) return *ended;
  spdlog::set_default_logger(spdlog::stderr_color_mt("strand"));
  spdlog::set_level(spdlog::level::warn);
  io::UvEnv env;
  return env.run(run(&env, &command_line.options()));
}
