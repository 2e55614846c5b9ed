// Echo throughput of UvEnv against the machine's single-stream TCP loopback limit. A benchmark,
// never a pass/fail test: figures go to docs/benchmarks.md.
//
//   bench_echo [seconds per case, default 3] [only the echo cases whose name contains this]
//
// (a) loopback: one TCP connection over 127.0.0.1 with plain blocking sockets, one thread writing
//     256 KiB buffers and one reading them. This is the most one stream can carry here.
// (b) UvEnv echo: a framed echo server ([u32 length][payload], echoed as is) on its own UvEnv and
//     thread, one client on another UvEnv and thread, frames of 1 KiB and 64 KiB, sent
//     - pipelined: a writer task sends frames back to back while a reader task checks the echoes;
//     - 5 in flight: the same, but the writer waits while 5 frames are unanswered;
//     - request/response: one frame in flight at a time.
// MB/s counts payload bytes echoed (each crosses the loopback twice) per second, MB = 10^6 bytes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/sync.h"
#include "io/task_scope.h"
#include "io/uv/uv_env.h"

namespace strand::bench {
namespace {

using io::Result;
using io::Task;

constexpr std::size_t kLoopbackChunkBytes = 256 << 10;

// ---- (a) the loopback limit ----

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// Returns a connected (client, server) pair of blocking TCP sockets over 127.0.0.1.
std::pair<int, int> loopback_pair() {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), size) < 0) die("bind");
  if (listen(listener, 1) < 0) die("listen");
  if (getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) < 0) die("getsockname");
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(client, reinterpret_cast<sockaddr*>(&address), size) < 0) die("connect");
  const int server = accept(listener, nullptr, nullptr);
  if (server < 0) die("accept");
  close(listener);
  return {client, server};
}

double loopback_mb_per_s(double seconds) {
  const auto [writer_fd, reader_fd] = loopback_pair();
  std::uint64_t received = 0;
  const auto start = std::chrono::steady_clock::now();
  std::thread reader([fd = reader_fd, &received] {
    std::vector<char> buffer(kLoopbackChunkBytes);
    for (;;) {
      const ssize_t got = read(fd, buffer.data(), buffer.size());
      if (got <= 0) return;
      received += static_cast<std::uint64_t>(got);
    }
  });
  const std::vector<char> buffer(kLoopbackChunkBytes, 'x');
  const auto deadline = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t put = write(writer_fd, buffer.data() + done, buffer.size() - done);
      if (put <= 0) die("write");
      done += static_cast<std::size_t>(put);
    }
  }
  shutdown(writer_fd, SHUT_WR);
  reader.join();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  close(writer_fd);
  close(reader_fd);
  return static_cast<double>(received) / elapsed.count() / 1e6;
}

// ---- (b) UvEnv echo ----

std::span<const std::byte> bytes_of(const std::vector<std::byte>& data) { return data; }

Task<void> echo_connection(std::unique_ptr<io::Connection> connection) {
  std::vector<std::byte> frame(4);
  for (;;) {
    Result<void> header = co_await io::read_exact(*connection, std::span(frame).first(4));
    if (!header) break;
    std::uint32_t length = 0;
    std::memcpy(&length, frame.data(), sizeof(length));
    frame.resize(4 + length);
    Result<void> payload = co_await io::read_exact(*connection, std::span(frame).subspan(4));
    if (!payload) break;
    Result<void> sent = co_await connection->write(bytes_of(frame));
    if (!sent) break;
  }
  connection->close();
}

Task<void> accept_loop(io::Env* env, io::Listener* listener) {
  for (;;) {
    Result<std::unique_ptr<io::Connection>> accepted = co_await listener->accept();
    if (!accepted) co_return;
    env->executor().root().spawn(echo_connection(std::move(*accepted)));
  }
}

struct Server {
  io::UvEnv* env;
  io::Address address;
};

void serve(std::promise<Server>* ready) {
  io::UvEnv env(1);
  Result<std::unique_ptr<io::Listener>> listener = env.net().listen({"127.0.0.1", 0});
  if (!listener) {
    std::fprintf(stderr, "bench_echo: %s\n", listener.error().to_string().c_str());
    std::exit(1);
  }
  env.executor().root().spawn(accept_loop(&env, listener->get()));
  ready->set_value(Server{&env, (*listener)->address()});
  env.run_until_stopped();
  (*listener)->close();
}

std::vector<std::byte> make_frame(std::uint32_t payload_bytes) {
  std::vector<std::byte> frame(4 + payload_bytes);
  std::memcpy(frame.data(), &payload_bytes, sizeof(payload_bytes));
  for (std::uint32_t i = 0; i < payload_bytes; ++i) frame[4 + i] = std::byte(i * 131 % 251);
  return frame;
}

struct Tally {
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_echoed = 0;
  std::uint64_t mismatches = 0;
  bool writer_done = false;
  bool failed = false;
};

// Reads one echo into `echo` and compares it with `frame`.
Task<Result<void>> read_echo(io::Connection* connection, const std::vector<std::byte>* frame,
                             std::vector<std::byte>* echo, Tally* tally) {
  Result<void> got = co_await io::read_exact(*connection, *echo);
  if (!got) co_return std::move(got).error();
  if (std::memcmp(echo->data(), frame->data(), frame->size()) != 0) tally->mismatches += 1;
  tally->frames_echoed += 1;
  co_return io::ok();
}

Task<void> pipelined_writer(io::Env* env, io::Connection* connection,
                            const std::vector<std::byte>* frame, io::Instant deadline,
                            std::uint64_t in_flight_max, Tally* tally, io::Event* progress,
                            io::Event* echoed) {
  while (env->clock().now() < deadline) {
    if (tally->frames_sent - tally->frames_echoed >= in_flight_max) {
      echoed->reset();
      co_await echoed->wait();
      continue;
    }
    Result<void> sent = co_await connection->write(bytes_of(*frame));
    if (!sent) {
      tally->failed = true;
      break;
    }
    tally->frames_sent += 1;
    progress->set();
  }
  tally->writer_done = true;
  progress->set();
}

// Reads only echoes of frames already sent, so it never waits for one that will not come.
Task<void> pipelined_reader(io::Connection* connection, const std::vector<std::byte>* frame,
                            Tally* tally, io::Event* progress, io::Event* echoed) {
  std::vector<std::byte> echo(frame->size());
  while (!tally->failed) {
    if (tally->frames_echoed == tally->frames_sent) {
      if (tally->writer_done) co_return;
      progress->reset();
      co_await progress->wait();
      continue;
    }
    Result<void> got = co_await read_echo(connection, frame, &echo, tally);
    if (!got) {
      tally->failed = true;
      echoed->set();
      co_return;
    }
    echoed->set();
  }
}

Task<void> request_response(io::Env* env, io::Connection* connection,
                            const std::vector<std::byte>* frame, io::Instant deadline,
                            Tally* tally) {
  std::vector<std::byte> echo(frame->size());
  while (env->clock().now() < deadline) {
    Result<void> sent = co_await connection->write(bytes_of(*frame));
    if (!sent) break;
    tally->frames_sent += 1;
    Result<void> got = co_await read_echo(connection, frame, &echo, tally);
    if (!got) break;
  }
  tally->failed = tally->frames_echoed != tally->frames_sent;
  tally->writer_done = true;
}

struct CaseResult {
  double mb_per_s = 0;
  Tally tally;
};

Task<Result<CaseResult>> run_case(io::Env* env, io::Address address, std::uint32_t payload_bytes,
                                  std::uint64_t in_flight_max, double seconds) {
  Result<std::unique_ptr<io::Connection>> connected = co_await env->net().connect(address);
  if (!connected) co_return std::move(connected).error();
  io::Connection* connection = connected->get();
  const std::vector<std::byte> frame = make_frame(payload_bytes);
  CaseResult result;
  io::Event progress;
  io::Event echoed;
  const io::Instant start = env->clock().now();
  const io::Instant deadline = start + io::Duration::ns(static_cast<std::int64_t>(seconds * 1e9));
  io::TaskScope scope;
  if (in_flight_max > 1) {
    scope.spawn(pipelined_writer(env, connection, &frame, deadline, in_flight_max, &result.tally,
                                 &progress, &echoed));
    scope.spawn(pipelined_reader(connection, &frame, &result.tally, &progress, &echoed));
  } else {
    scope.spawn(request_response(env, connection, &frame, deadline, &result.tally));
  }
  co_await scope.join();
  const io::Duration elapsed = env->clock().now() - start;
  connection->close();
  const double payload_total = static_cast<double>(result.tally.frames_echoed) * payload_bytes;
  result.mb_per_s = payload_total / elapsed.seconds() / 1e6;
  co_return result;
}

struct Case {
  std::uint32_t payload_bytes;
  std::uint64_t in_flight_max;  // 1: request/response
  const char* name;
};

constexpr std::uint64_t kUnbounded = ~std::uint64_t{0};

// 5 in flight: Kafka's default max.in.flight.requests.per.connection.
constexpr Case kCases[] = {
    {1 << 10, kUnbounded, "pipelined, 1 KiB frames"},
    {64 << 10, kUnbounded, "pipelined, 64 KiB frames"},
    {1 << 10, 5, "5 in flight, 1 KiB frames"},
    {64 << 10, 5, "5 in flight, 64 KiB frames"},
    {1 << 10, 1, "request/response, 1 KiB frames"},
    {64 << 10, 1, "request/response, 64 KiB frames"},
};

// The machine is shared, so each case gets its own loopback baseline measured just before it.
int run(double seconds, const std::string& only) {
  std::promise<Server> ready;
  std::future<Server> server_future = ready.get_future();
  std::thread server_thread(serve, &ready);
  const Server server = server_future.get();
  io::UvEnv client(2);
  std::printf("%-34s %10s %10s %7s %10s\n", "UvEnv echo case", "echo MB/s", "loop MB/s", "ratio",
              "frames");
  int status = 0;
  for (const Case& c : kCases) {
    if (std::string(c.name).find(only) == std::string::npos) continue;
    const double loopback = loopback_mb_per_s(seconds);
    Result<CaseResult> result =
        client.run(run_case(&client, server.address, c.payload_bytes, c.in_flight_max, seconds));
    if (!result || result->tally.failed || result->tally.mismatches != 0) {
      std::printf("%-34s failed\n", c.name);
      status = 1;
      continue;
    }
    std::printf("%-34s %10.0f %10.0f %6.1f%% %10llu\n", c.name, result->mb_per_s, loopback,
                100.0 * result->mb_per_s / loopback,
                static_cast<unsigned long long>(result->tally.frames_echoed));
  }
  server.env->stop();
  server_thread.join();
  return status;
}

}  // namespace
}  // namespace strand::bench

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  if (seconds <= 0) {
    std::fprintf(stderr, "usage: bench_echo [seconds per case > 0] [case name filter]\n");
    return 2;
  }
  return strand::bench::run(seconds, argc > 2 ? argv[2] : "");
}
