// A minimal NATS JetStream load generator, so that Strand can be compared with a peer on the same
// machine. It speaks the NATS text protocol over one blocking TCP connection.
//
//   bench_nats publish HOST:PORT --records N --record-size B [--in-flight W] [--stream S]
//   bench_nats consume HOST:PORT --records N [--batch K] [--stream S]
//
// publish creates stream S (file storage, subject S.>) and publishes N messages of B bytes, each
// with a reply inbox so that it gets a JetStream PubAck; at most W are unacknowledged at a time.
// consume creates a durable pull consumer (no acks) on S and pulls N messages, two requests of K
// in flight. Prints one line: records/s, MB/s and, for publish, ack latency p50/p99/p99.9 in ms.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kReadTimeoutS = 10;

struct Options {
  std::string mode, host = "127.0.0.1", stream = "bench";
  int port = 4222;
  long records = 100'000, record_size = 1024, in_flight = 256, batch = 1000;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "bench_nats: %s\n", message.c_str());
  std::exit(1);
}

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// One connection: buffered writes, and a parser that hands each MSG/HMSG to a callback.
class Connection {
 public:
  // subject, payload (headers stripped), whether the message carried headers (a status).
  using OnMessage = std::function<void(std::string_view, std::string_view, bool)>;

  Connection(const std::string& host, int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd_ < 0 || inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) fail("bad address");
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      fail("connect " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{kReadTimeoutS, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    // Headers on: a pull consumer reports "no messages" and timeouts as header-only statuses.
    out_ +=
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}";
    out_ += "\r\nSUB " + inbox_ + "* 1\r\n";
  }
  ~Connection() { close(fd_); }

  // Replies to this connection go to inbox() + a token of the caller's choice.
  const std::string& inbox() const { return inbox_; }

  void publish(std::string_view subject, std::string_view reply, std::string_view payload) {
    out_ += "PUB ";
    out_ += subject;
    out_ += ' ';
    out_ += reply;
    out_ += ' ';
    out_ += std::to_string(payload.size());
    out_ += "\r\n";
    out_ += payload;
    out_ += "\r\n";
  }

  void flush() {
    std::size_t done = 0;
    while (done < out_.size()) {
      ssize_t n = write(fd_, out_.data() + done, out_.size() - done);
      if (n <= 0) fail(std::string("write: ") + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    out_.clear();
  }

  // Blocks for at least one read, then dispatches every complete message in the buffer.
  void read_some(const OnMessage& on_message) {
    char chunk[256 * 1024];
    ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n == 0) fail("server closed the connection");
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      fail("nothing from the server for " + std::to_string(kReadTimeoutS) + " s");
    }
    if (n < 0) fail(std::string("read: ") + std::strerror(errno));
    in_.append(chunk, static_cast<std::size_t>(n));
    std::size_t used = 0;
    while (parse_one(used, on_message)) {
    }
    in_.erase(0, used);
    if (!out_.empty()) flush();  // PONGs
  }

 private:
  // Parses one protocol line (and its payload) at `used`; false if it is not complete yet.
  bool parse_one(std::size_t& used, const OnMessage& on_message) {
    const std::size_t end = in_.find("\r\n", used);
    if (end == std::string::npos) return false;
    const std::string_view line(in_.data() + used, end - used);
    if (line.starts_with("MSG ") || line.starts_with("HMSG ")) {
      const bool headers = line[0] == 'H';
      std::vector<std::string_view> words;
      for (std::size_t at = 0; at < line.size();) {
        std::size_t next = std::min(line.find(' ', at), line.size());
        if (next > at) words.push_back(line.substr(at, next - at));
        at = next + 1;
      }
      if (words.size() < (headers ? 5u : 4u)) fail("bad line: " + std::string(line));
      const std::size_t total = std::strtoul(std::string(words.back()).c_str(), nullptr, 10);
      const std::size_t header_bytes =
          headers ? std::strtoul(std::string(words[words.size() - 2]).c_str(), nullptr, 10) : 0;
      if (in_.size() < end + 2 + total + 2) return false;
      const std::string_view body(in_.data() + end + 2, total);
      on_message(words[1], body.substr(header_bytes), headers);
      used = end + 2 + total + 2;
      return true;
    }
    if (line.starts_with("-ERR")) fail("server: " + std::string(line));
    if (line == "PING") out_ += "PONG\r\n";
    used = end + 2;  // INFO, PONG, +OK
    return true;
  }

  int fd_ = -1;
  std::string inbox_ = "_INBOX." + std::to_string(getpid()) + ".";
  std::string out_, in_;
};

// Sends a JetStream API request and waits for its reply; fails on an error reply.
std::string api_request(Connection& connection, const std::string& subject,
                        const std::string& json) {
  const std::string inbox = connection.inbox() + "api";
  connection.publish(subject, inbox, json);
  connection.flush();
  std::string reply;
  while (reply.empty()) {
    connection.read_some([&](std::string_view to, std::string_view payload, bool) {
      if (to == inbox) reply = payload;
    });
  }
  if (reply.find("\"error\"") != std::string::npos) fail(subject + ": " + reply);
  return reply;
}

double percentile(const std::vector<double>& sorted, double p) {
  return sorted.empty() ? 0.0 : sorted[static_cast<std::size_t>(p * (sorted.size() - 1))];
}

int publish(const Options& options) {
  Connection connection(options.host, options.port);
  api_request(connection, "$JS.API.STREAM.CREATE." + options.stream,
              "{\"name\":\"" + options.stream + "\",\"subjects\":[\"" + options.stream +
                  ".>\"],\"storage\":\"file\",\"retention\":\"limits\"}");
  const std::string payload(static_cast<std::size_t>(options.record_size), 'x');
  const std::string subject = options.stream + ".data";
  std::vector<Clock::time_point> sent_at(static_cast<std::size_t>(options.records));
  std::vector<double> latencies_ms;
  latencies_ms.reserve(sent_at.size());
  long sent = 0;
  auto on_ack = [&](std::string_view inbox, std::string_view reply, bool headers) {
    if (headers || reply.find("\"error\"") != std::string_view::npos) {
      fail("publish refused: " + std::string(reply));
    }
    const std::string_view token = inbox.substr(inbox.rfind('.') + 1);
    long index = -1;
    std::from_chars(token.data(), token.data() + token.size(), index);
    if (index < 0 || index >= sent) fail("ack on an unknown inbox " + std::string(inbox));
    latencies_ms.push_back(elapsed_ms(sent_at[static_cast<std::size_t>(index)]));
  };
  const Clock::time_point start = Clock::now();
  while (static_cast<long>(latencies_ms.size()) < options.records) {
    const long acked = static_cast<long>(latencies_ms.size());
    while (sent < options.records && sent - acked < options.in_flight) {
      sent_at[static_cast<std::size_t>(sent)] = Clock::now();
      connection.publish(subject, connection.inbox() + std::to_string(sent), payload);
      sent += 1;
    }
    connection.flush();
    connection.read_some(on_ack);
  }
  const double seconds = elapsed_ms(start) / 1000.0;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf(
      "publish %ld records of %ld B, %ld in flight: %.0f records/s, %.1f MB/s, latency ms "
      "p50 %.2f p99 %.2f p99.9 %.2f\n",
      options.records, options.record_size, options.in_flight, options.records / seconds,
      options.records * options.record_size / seconds / 1e6, percentile(latencies_ms, 0.5),
      percentile(latencies_ms, 0.99), percentile(latencies_ms, 0.999));
  return 0;
}

int consume(const Options& options) {
  Connection connection(options.host, options.port);
  const std::string durable = "bench-" + std::to_string(getpid());  // a fresh one reads from 0
  api_request(connection, "$JS.API.CONSUMER.DURABLE.CREATE." + options.stream + "." + durable,
              "{\"stream_name\":\"" + options.stream + "\",\"config\":{\"durable_name\":\"" +
                  durable + "\",\"deliver_policy\":\"all\",\"ack_policy\":\"none\"}}");
  const std::string next = "$JS.API.CONSUMER.MSG.NEXT." + options.stream + "." + durable;
  const std::string pull =
      "{\"batch\":" + std::to_string(options.batch) + ",\"expires\":5000000000}";
  long records = 0, bytes = 0, requested = 0;
  auto on_message = [&](std::string_view, std::string_view payload, bool headers) {
    // A header-only message is a status: 404 or 408 once a pull outlives the stream's records.
    if (headers && payload.empty()) {
      fail("pull ended after " + std::to_string(records) + " records: fewer than --records?");
    }
    records += 1;
    bytes += static_cast<long>(payload.size());
  };
  const Clock::time_point start = Clock::now();
  while (records < options.records) {
    // Two pulls in flight, so the server never waits for the next request.
    while (requested < records + 2 * options.batch && requested < options.records) {
      connection.publish(next, connection.inbox() + "pull", pull);
      requested += options.batch;
    }
    connection.flush();
    connection.read_some(on_message);
  }
  const double seconds = elapsed_ms(start) / 1000.0;
  std::printf("consume %ld records: %.0f records/s, %.1f MB/s\n", records, records / seconds,
              bytes / seconds / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_nats publish|consume HOST:PORT [flags]\n");
    return 2;
  }
  Options options;
  options.mode = argv[1];
  const std::string address = argv[2];
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) fail("address must be HOST:PORT");
  options.host = address.substr(0, colon);
  options.port = std::atoi(address.c_str() + colon + 1);
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--records")
      options.records = std::atol(value);
    else if (flag == "--record-size")
      options.record_size = std::atol(value);
    else if (flag == "--in-flight")
      options.in_flight = std::atol(value);
    else if (flag == "--batch")
      options.batch = std::atol(value);
    else if (flag == "--stream")
      options.stream = value;
    else
      fail("unknown flag " + flag);
  }
  if (options.records <= 0 || options.record_size < 0 || options.in_flight <= 0 ||
      options.batch <= 0) {
    fail("--records, --in-flight and --batch must be positive");
  }
  if (options.mode == "publish") return publish(options);
  if (options.mode == "consume") return consume(options);
  fail("mode must be publish or consume");
}
