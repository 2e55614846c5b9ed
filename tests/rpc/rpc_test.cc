// Inter-broker RPC between simulated nodes: answers find their calls whatever order they finish
// in, errors and timeouts are values, a broken connection fails what was in flight and the next
// call reconnects, and a peer sending garbage loses only its own connection.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/protocol/byte_order.h"
#include "broker/rpc/rpc_client.h"
#include "broker/rpc/rpc_server.h"
#include "io/task_scope.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"

namespace strand::rpc {
namespace {

using io::Duration;

constexpr Method kEcho = 1;   // answers its payload
constexpr Method kSlow = 2;   // payload: u32 ms to wait, then answers it
constexpr Method kFails = 3;  // answers kNoSpace
constexpr std::uint16_t kPort = 9093;

std::vector<std::byte> bytes_of(const std::string& text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return {p, p + text.size()};
}

std::string text_of(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

io::Task<io::Result<std::vector<std::byte>>> echo(std::span<const std::byte> payload) {
  co_return std::vector<std::byte>(payload.begin(), payload.end());
}

io::Task<io::Result<std::vector<std::byte>>> slow(io::Env* env,
                                                  std::span<const std::byte> payload) {
  if (payload.size() != 4) co_return io::Error{io::ErrorKind::kInvalid, "want 4 bytes"};
  const auto wait_ms = protocol::load_be<std::uint32_t>(payload.data());
  co_await env->clock().sleep(Duration::ms(wait_ms));
  co_return std::vector<std::byte>(payload.begin(), payload.end());
}

io::Task<io::Result<std::vector<std::byte>>> fails(std::span<const std::byte> /*payload*/) {
  co_return io::Error{io::ErrorKind::kNoSpace, "disk full over here"};
}

// The server node's program: serve until crashed.
io::Task<void> run_server(io::Env& env) {
  RpcServer server(env);
  server.add_method(kEcho, echo);
  server.add_method(
      kSlow, [env = &env](std::span<const std::byte> payload) { return slow(env, payload); });
  server.add_method(kFails, fails);
  const io::Address address{"server", kPort};
  io::Result<void> listening = server.listen(address);
  STRAND_ASSERT(listening.ok(), "the rpc port is free");
  co_await server.run();
}

struct World {
  explicit World(std::uint64_t seed)
      : world(seed),
        server(world, sim::NodeId{0}, "server", run_server),
        client(world, sim::NodeId{1}, "client") {}
  sim::SimWorld world;
  sim::SimNode server;
  sim::SimNode client;
};

std::vector<std::byte> millis(std::uint32_t ms) {
  std::vector<std::byte> payload(4);
  protocol::store_be<std::uint32_t>(payload.data(), ms);
  return payload;
}

struct Outcome {
  std::uint32_t sent_ms = 0;
  std::optional<io::Result<std::vector<std::byte>>> result;
};

io::Task<void> slow_call(RpcClient* client, Outcome* outcome) {
  const std::vector<std::byte> payload = millis(outcome->sent_ms);
  io::Result<std::vector<std::byte>> answer =
      co_await client->call(kSlow, payload, Duration::s(10));
  outcome->result.emplace(std::move(answer));
}

io::Task<io::Result<void>> many_calls_out_of_order(io::Env* env) {
  RpcClient client(*env, io::Address{"server", kPort});
  std::vector<Outcome> outcomes(64);
  io::SeededRandom random(7);
  io::TaskScope calls;
  for (Outcome& outcome : outcomes) {
    outcome.sent_ms = static_cast<std::uint32_t>(random.uniform(50));
    calls.spawn(slow_call(&client, &outcome));
  }
  co_await calls.join();
  for (const Outcome& outcome : outcomes) {
    EXPECT_TRUE(outcome.result && outcome.result->ok());
    if (outcome.result && outcome.result->ok()) {
      EXPECT_EQ(**outcome.result, millis(outcome.sent_ms));
    }
  }
  co_return io::ok();
}

TEST(Rpc, ManyCallsInFlightEachGetTheirOwnAnswer) {
  World w(1);
  io::Result<io::Result<void>> done =
      w.world.run_task(w.client, many_calls_out_of_order(&w.client.env()), Duration::s(60));
  ASSERT_TRUE(done.ok() && done->ok());
}

io::Task<io::Result<void>> errors_and_timeouts(io::Env* env) {
  RpcClient client(*env, io::Address{"server", kPort});
  const std::vector<std::byte> hello = bytes_of("hello");
  io::Result<std::vector<std::byte>> failed = co_await client.call(kFails, hello, Duration::s(5));
  EXPECT_FALSE(failed.ok());
  if (!failed) {
    EXPECT_EQ(failed.error().kind, io::ErrorKind::kNoSpace);
    EXPECT_EQ(failed.error().message, "peer: disk full over here");
  }
  io::Result<std::vector<std::byte>> unknown = co_await client.call(77, hello, Duration::s(5));
  EXPECT_FALSE(unknown.ok());
  if (!unknown) {
    EXPECT_EQ(unknown.error().kind, io::ErrorKind::kInvalid);
  }
  const std::vector<std::byte> long_wait = millis(2'000);
  io::Result<std::vector<std::byte>> late =
      co_await client.call(kSlow, long_wait, Duration::ms(100));
  EXPECT_FALSE(late.ok());
  if (!late) {
    EXPECT_EQ(late.error().kind, io::ErrorKind::kTimeout);
  }
  // Calls go on (on a new connection: the old one was silent for the whole wait), and the late
  // answer, if it ever comes, is dropped.
  io::Result<std::vector<std::byte>> echoed = co_await client.call(kEcho, hello, Duration::s(5));
  EXPECT_TRUE(echoed.ok());
  if (echoed) {
    EXPECT_EQ(text_of(*echoed), "hello");
  }
  co_await env->clock().sleep(Duration::s(3));
  io::Result<std::vector<std::byte>> again = co_await client.call(kEcho, hello, Duration::s(5));
  EXPECT_TRUE(again.ok());
  co_return io::ok();
}

TEST(Rpc, ErrorsAndTimeoutsAreValuesAndCallsGoOnAfterThem) {
  World w(2);
  io::Result<io::Result<void>> done =
      w.world.run_task(w.client, errors_and_timeouts(&w.client.env()), Duration::s(60));
  ASSERT_TRUE(done.ok() && done->ok());
}

struct CrashProbe {
  RpcClient* client = nullptr;
  bool before_ok = false;
  std::optional<io::Error> during;  // the call in flight when the server crashed
  bool silent_link_dropped = false;
  std::optional<io::Error> down;  // a call while the server is down
  bool after_ok = false;
  bool finished = false;
};

io::Task<void> call_through_crash(io::Env* env, CrashProbe* probe) {
  RpcClient client(*env, io::Address{"server", kPort}, ClientOptions{Duration::ms(100)});
  const std::vector<std::byte> hello = bytes_of("hello");
  io::Result<std::vector<std::byte>> before = co_await client.call(kEcho, hello, Duration::s(5));
  probe->before_ok = before.ok();
  const std::vector<std::byte> long_wait = millis(5'000);
  io::Result<std::vector<std::byte>> during =
      co_await client.call(kSlow, long_wait, Duration::s(3));  // the server crashes meanwhile
  if (!during) probe->during = during.error();
  probe->silent_link_dropped = !client.connected();
  io::Result<std::vector<std::byte>> down = co_await client.call(kEcho, hello, Duration::s(3));
  if (!down) probe->down = down.error();
  for (int attempt = 0; attempt < 100 && !probe->after_ok; ++attempt) {
    io::Result<std::vector<std::byte>> after = co_await client.call(kEcho, hello, Duration::s(3));
    probe->after_ok = after.ok();
    if (!after) co_await env->clock().sleep(Duration::ms(200));
  }
  probe->finished = true;
}

TEST(Rpc, AConnectionBrokenByACrashFailsItsCallsAndTheNextCallReconnects) {
  World w(3);
  CrashProbe probe;
  w.client.env().executor().root().spawn(call_through_crash(&w.client.env(), &probe));
  w.world.run_for(Duration::s(1));
  ASSERT_TRUE(probe.before_ok);
  w.server.crash();
  w.world.run_for(Duration::s(15));
  ASSERT_FALSE(probe.finished) << "the server is still down";
  w.server.restart();
  ASSERT_TRUE(w.world.run_until([&] { return probe.finished; }, Duration::s(120)));
  ASSERT_TRUE(probe.during.has_value()) << "the call in flight fails, it does not hang";
  EXPECT_TRUE(probe.during->kind == io::ErrorKind::kClosed ||
              probe.during->kind == io::ErrorKind::kTimeout)
      << probe.during->to_string();
  EXPECT_TRUE(probe.silent_link_dropped);
  ASSERT_TRUE(probe.down.has_value()) << "a call to a crashed peer fails";
  EXPECT_TRUE(probe.after_ok) << "and once it is back, calls reach it again";
}

io::Task<io::Result<void>> garbage_then_call(io::Env* env) {
  const io::Address address{"server", kPort};
  io::Result<std::unique_ptr<io::Connection>> raw = co_await env->net().connect(address);
  if (!raw) co_return std::move(raw).error();
  // A frame claiming 1 GiB, then a response frame where calls go: both end that connection.
  std::vector<std::byte> huge(kFrameHeaderBytes);
  protocol::store_be<std::uint32_t>(huge.data(), 1u << 30);
  io::Result<void> written = co_await (*raw)->write(huge);
  if (!written) co_return std::move(written).error();
  std::array<std::byte, 1> one;
  io::Result<std::size_t> got = co_await (*raw)->read_some(one);
  EXPECT_FALSE(got.ok() && *got > 0) << "the server hangs up on a frame it cannot read";
  RpcClient client(*env, address);
  const std::vector<std::byte> hello = bytes_of("still here");
  io::Result<std::vector<std::byte>> echoed = co_await client.call(kEcho, hello, Duration::s(5));
  EXPECT_TRUE(echoed.ok());
  if (echoed) {
    EXPECT_EQ(text_of(*echoed), "still here");
  }
  co_return io::ok();
}

TEST(Rpc, GarbageEndsOnlyTheConnectionThatSentIt) {
  World w(4);
  io::Result<io::Result<void>> done =
      w.world.run_task(w.client, garbage_then_call(&w.client.env()), Duration::s(60));
  ASSERT_TRUE(done.ok() && done->ok());
}

TEST(Rpc, ErrorPayloadsThatDoNotVerifyAreCorrupt) {
  const std::vector<std::byte> junk = bytes_of("not a flatbuffer at all");
  EXPECT_EQ(decode_error(junk).kind, io::ErrorKind::kCorrupt);
  const io::Error original{io::ErrorKind::kOutOfRange, "offset 7 is gone"};
  const io::Error back = decode_error(encode_error(original));
  EXPECT_EQ(back.kind, io::ErrorKind::kOutOfRange);
  EXPECT_EQ(back.message, "peer: offset 7 is gone");
}

}  // namespace
}  // namespace strand::rpc
