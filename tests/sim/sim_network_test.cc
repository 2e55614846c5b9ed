// SimNetwork: partitions, faults at their configured rates, exact bytes through all of it, resets,
// backpressure, and bad input coming back as error values.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/sim_network.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"
#include "sim_test_support.h"

namespace strand::sim {
namespace {

using io::Duration;
using io::ErrorKind;
using test_support::bytes_of;
using test_support::open_pipe;
using test_support::pattern;
using test_support::Pipe;
using test_support::read_n;
using test_support::read_until_error;
using test_support::write_all;

struct TwoNodes {
  explicit TwoNodes(std::uint64_t seed) : world(seed) {}
  SimWorld world;
  SimNode a{world, NodeId{0}, "a"};
  SimNode b{world, NodeId{1}, "b"};
  SimNetwork& net() { return world.network(); }

  Pipe pipe(std::uint16_t port) {
    io::Result<io::Result<Pipe>> opened =
        world.run_task(a, open_pipe(&a.env(), &b.env(), b.address(port)));
    STRAND_ASSERT(opened.ok() && opened->ok(), "the test pipe opens");
    return std::move(**opened);
  }
};

// A reader task on `node` that collects everything until the connection ends.
struct Collector {
  std::string data;
  io::Error end{ErrorKind::kIoError, ""};
  bool ended = false;
  void start(SimNode& node, io::Connection* connection) {
    node.env().executor().root().spawn(read_until_error(connection, &data, &end, &ended));
  }
};

TEST(SimNetwork, DeliversBytesBetweenNodes) {
  TwoNodes nodes(1);
  Pipe pipe = nodes.pipe(9000);
  EXPECT_EQ(pipe.client->peer(), nodes.b.address(9000));
  EXPECT_EQ(pipe.server->peer().host, "a");
  const std::string message = pattern(100'000, 1);
  Collector collector;
  collector.start(nodes.b, pipe.server.get());
  auto written = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), message, 7000));
  ASSERT_TRUE(written.ok() && written->ok());
  pipe.client->close();
  ASSERT_TRUE(nodes.world.run_until([&] { return collector.ended; }, Duration::s(5)));
  EXPECT_EQ(collector.data, message);
  EXPECT_EQ(collector.end.kind, ErrorKind::kClosed);
}

TEST(SimNetwork, PartitionStopsTrafficUntilItHeals) {
  TwoNodes nodes(2);
  Pipe pipe = nodes.pipe(9000);
  Collector collector;
  collector.start(nodes.b, pipe.server.get());
  nodes.net().isolate(nodes.a.id());
  EXPECT_TRUE(nodes.net().blocked(nodes.a.id(), nodes.b.id()));
  EXPECT_TRUE(nodes.net().blocked(nodes.b.id(), nodes.a.id()));
  auto written = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), "hello", 100));
  ASSERT_TRUE(written.ok() && written->ok());  // handed to the transport: not yet delivered
  nodes.world.run_for(Duration::s(3));
  EXPECT_EQ(collector.data, "");
  EXPECT_GT(nodes.net().link_stats(nodes.a.id(), nodes.b.id()).packets_blocked, 0u);
  nodes.net().heal();
  ASSERT_TRUE(nodes.world.run_until([&] { return collector.data.size() == 5; }, Duration::s(6)));
  EXPECT_EQ(collector.data, "hello");
  EXPECT_FALSE(collector.ended);
}

TEST(SimNetwork, OneWayPartitionBlocksOnlyThatDirection) {
  TwoNodes nodes(3);
  Pipe pipe = nodes.pipe(9000);
  Collector at_a;
  Collector at_b;
  at_a.start(nodes.a, pipe.client.get());
  at_b.start(nodes.b, pipe.server.get());
  nodes.net().block(nodes.a.id(), nodes.b.id());
  EXPECT_FALSE(nodes.net().blocked(nodes.b.id(), nodes.a.id()));
  auto from_a = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), "from a", 100));
  auto from_b = nodes.world.run_task(nodes.b, write_all(pipe.server.get(), "from b", 100));
  ASSERT_TRUE(from_a.ok() && from_b.ok());
  nodes.world.run_for(Duration::s(2));
  EXPECT_EQ(at_a.data, "from b");  // b -> a still flows
  EXPECT_EQ(at_b.data, "");        // a -> b is blocked
  nodes.net().unblock(nodes.a.id(), nodes.b.id());
  ASSERT_TRUE(nodes.world.run_until([&] { return at_b.data.size() == 6; }, Duration::s(6)));
  EXPECT_EQ(at_b.data, "from a");
}

TEST(SimNetwork, LongPartitionResetsBothEndsAfterTheUserTimeout) {
  TwoNodes nodes(4);
  Pipe pipe = nodes.pipe(9000);
  Collector at_a;
  Collector at_b;
  at_a.start(nodes.a, pipe.client.get());
  at_b.start(nodes.b, pipe.server.get());
  nodes.net().isolate(nodes.b.id());
  auto written = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), "lost", 100));
  ASSERT_TRUE(written.ok() && written->ok());
  ASSERT_TRUE(nodes.world.run_until([&] { return at_a.ended && at_b.ended; }, Duration::s(60)));
  EXPECT_EQ(at_a.end.kind, ErrorKind::kClosed);
  EXPECT_EQ(at_b.end.kind, ErrorKind::kClosed);
  EXPECT_GE(nodes.world.now() - io::Instant{}, nodes.net().transport().user_timeout);
  auto again = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), "x", 1));
  ASSERT_TRUE(again.ok());
  ASSERT_FALSE(again->ok());
  EXPECT_EQ(again->error().kind, ErrorKind::kClosed);
}

io::Task<io::Result<void>> write_in_pieces(io::Connection* connection, std::string data,
                                           std::vector<std::size_t> sizes) {
  std::size_t done = 0;
  for (std::size_t size : sizes) {
    io::Result<void> written = co_await connection->write(bytes_of(data).subspan(done, size));
    if (!written) co_return std::move(written).error();
    done += size;
  }
  co_return io::ok();
}

// Whatever the packet faults (short of a partition) and however the writes were cut, the reader
// sees a prefix of the bytes written, intact and in order: all of them, unless retransmission gave
// up (heavy loss can exhaust the user timeout, as with TCP) and both ends were reset.
RC_GTEST_PROP(SimNetworkProperty, ReaderSeesExactlyTheBytesWritten, ()) {
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  LinkConfig faulty;
  faulty.loss = *rc::gen::inRange(0, 40) / 100.0;
  faulty.duplicate = *rc::gen::inRange(0, 50) / 100.0;
  faulty.reorder = *rc::gen::inRange(0, 50) / 100.0;
  faulty.latency_jitter_mean = Duration::us(*rc::gen::inRange(0, 2000));
  const auto sizes = *rc::gen::resize(
      30, rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 40'000)));
  std::size_t total = 0;
  for (std::size_t size : sizes) total += size;

  TwoNodes nodes(seed);
  Pipe pipe = nodes.pipe(9000);  // opened before the faults start, so it surely opens
  nodes.net().set_all_links(faulty);
  Collector collector;
  collector.start(nodes.b, pipe.server.get());
  const std::string message = pattern(total, seed);
  auto written =
      nodes.world.run_task(nodes.a, write_in_pieces(pipe.client.get(), message, sizes));
  RC_ASSERT(written.ok());
  const bool write_ok_or_reset = written->ok() || written->error().kind == ErrorKind::kClosed;
  RC_ASSERT(write_ok_or_reset);  // (RC_ASSERT's decomposition would not short-circuit ||)
  RC_ASSERT(nodes.world.run_until(
      [&] { return collector.data.size() >= total || collector.ended; }, Duration::s(600)));
  RC_ASSERT(message.starts_with(collector.data));
  if (collector.ended) {
    RC_ASSERT(collector.end.kind == ErrorKind::kClosed);
    RC_TAG("reset after the user timeout");
  } else {
    RC_ASSERT(collector.data == message);
  }
}

// Within `sigmas` standard deviations of a binomial(n, p).
void expect_rate(std::uint64_t hits, std::uint64_t n, double p, const char* what) {
  const double mean = static_cast<double>(n) * p;
  const double sigma = std::sqrt(static_cast<double>(n) * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(hits), mean, 5 * sigma) << what << ": " << hits << " of " << n;
}

TEST(SimNetwork, FaultsHappenAtTheConfiguredRatesAndBytesStayExact) {
  TwoNodes nodes(5);
  LinkConfig faulty;
  faulty.loss = 0.10;
  faulty.duplicate = 0.05;
  faulty.reorder = 0.10;
  nodes.net().set_all_links(faulty);
  Pipe pipe = nodes.pipe(9000);
  const std::string message = pattern(20'000 * 50, 6);  // 20,000 writes of 50 bytes
  Collector collector;
  collector.start(nodes.b, pipe.server.get());
  auto written = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), message, 50));
  ASSERT_TRUE(written.ok() && written->ok());
  ASSERT_TRUE(nodes.world.run_until([&] { return collector.data.size() == message.size(); },
                                    Duration::s(600)));
  EXPECT_TRUE(collector.data == message);
  EXPECT_FALSE(collector.ended);

  const LinkStats ab = nodes.net().link_stats(nodes.a.id(), nodes.b.id());
  EXPECT_GE(ab.chunks_sent, 20'000u);
  EXPECT_EQ(ab.packets_blocked, 0u);
  expect_rate(ab.packets_lost, ab.packets_sent, 0.10, "lost");
  const std::uint64_t kept = ab.packets_sent - ab.packets_lost;
  expect_rate(ab.packets_duplicated, kept, 0.05, "duplicated");
  expect_rate(ab.packets_reordered, kept, 0.10, "reordered");
  EXPECT_GT(ab.chunks_retransmitted, 1000u);
  EXPECT_GT(ab.chunks_duplicates_discarded, 500u);
  const LinkStats ba = nodes.net().link_stats(nodes.b.id(), nodes.a.id());  // the acks
  expect_rate(ba.packets_lost, ba.packets_sent, 0.10, "acks lost");
}

TEST(SimNetwork, ConnectAcrossABlockedLinkTimesOut) {
  TwoNodes nodes(6);
  io::Result<std::unique_ptr<io::Listener>> listening = nodes.b.env().net().listen({"b", 9000});
  ASSERT_TRUE(listening.ok());
  nodes.net().block(nodes.a.id(), nodes.b.id());
  const io::Instant start = nodes.world.now();
  auto connected = nodes.world.run_task(nodes.a, nodes.a.env().net().connect({"b", 9000}));
  ASSERT_TRUE(connected.ok());
  ASSERT_FALSE(connected->ok());
  EXPECT_EQ(connected->error().kind, ErrorKind::kTimeout);
  EXPECT_NE(connected->error().message.find("b:9000"), std::string::npos);
  EXPECT_EQ(nodes.world.now() - start, nodes.net().transport().connect_timeout);
  (*listening)->close();
}

TEST(SimNetwork, ConnectThroughLossStillSucceeds) {
  TwoNodes nodes(7);
  LinkConfig lossy;
  lossy.loss = 0.3;
  nodes.net().set_all_links(lossy);
  for (std::uint16_t port = 9000; port < 9010; ++port) {
    auto opened = nodes.world.run_task(nodes.a, open_pipe(&nodes.a.env(), &nodes.b.env(),
                                                          nodes.b.address(port)));
    ASSERT_TRUE(opened.ok());
    // 30% loss each way: a connect may still time out after its retries, never hang.
    if (!opened->ok()) {
      EXPECT_EQ(opened->error().kind, ErrorKind::kTimeout);
    }
  }
}

TEST(SimNetwork, ResetConnectionClosesBothEnds) {
  TwoNodes nodes(8);
  Pipe first = nodes.pipe(9000);
  Pipe second = nodes.pipe(9001);
  Collector c1;
  Collector s1;
  Collector c2;
  c1.start(nodes.a, first.client.get());
  s1.start(nodes.b, first.server.get());
  c2.start(nodes.a, second.client.get());
  EXPECT_EQ(nodes.net().connections_of(nodes.a.id()).size(), 2u);
  nodes.net().reset_connection(nodes.net().connections_of(nodes.a.id()).front());
  ASSERT_TRUE(nodes.world.run_until([&] { return c1.ended && s1.ended; }, Duration::s(1)));
  EXPECT_EQ(c1.end.kind, ErrorKind::kClosed);
  EXPECT_FALSE(c2.ended);
  nodes.net().reset_connections(nodes.b.id());
  ASSERT_TRUE(nodes.world.run_until([&] { return c2.ended; }, Duration::s(1)));
}

io::Task<void> write_then_flag(io::Connection* connection, std::string data, bool* done) {
  io::Result<void> written = co_await write_all(connection, std::move(data), 1 << 20);
  STRAND_ASSERT(written.ok(), "the write completes once the reader reads");
  *done = true;
}

TEST(SimNetwork, WriteParksWhileTheSendBufferIsFull) {
  TwoNodes nodes(9);
  Pipe pipe = nodes.pipe(9000);
  const std::size_t total = 4 * nodes.net().transport().receive_buffer_bytes +
                            4 * nodes.net().transport().send_buffer_bytes;
  bool write_done = false;
  nodes.a.env().executor().root().spawn(
      write_then_flag(pipe.client.get(), pattern(total, 9), &write_done));
  nodes.world.run_for(Duration::s(5));
  EXPECT_FALSE(write_done);  // nobody reads: the writer is held back
  auto read = nodes.world.run_task(nodes.b, read_n(pipe.server.get(), total));
  ASSERT_TRUE(read.ok() && read->ok());
  EXPECT_TRUE(**read == pattern(total, 9));
  ASSERT_TRUE(nodes.world.run_until([&] { return write_done; }, Duration::s(1)));
}

io::Task<void> write_pattern(io::Connection* connection, std::size_t count) {
  io::Result<void> written = co_await write_all(connection, pattern(count, 1), 65536);
  STRAND_ASSERT(written.ok(), "the pattern is written");
}

TEST(SimNetwork, BandwidthLimitsThroughput) {
  TwoNodes nodes(10);
  LinkConfig slow;
  slow.bandwidth_bytes_per_s = 1'000'000;
  nodes.net().set_link(nodes.a.id(), nodes.b.id(), slow);
  Pipe pipe = nodes.pipe(9000);
  const io::Instant start = nodes.world.now();
  nodes.a.env().executor().root().spawn(write_pattern(pipe.client.get(), 2'000'000));
  auto read = nodes.world.run_task(nodes.b, read_n(pipe.server.get(), 2'000'000));
  ASSERT_TRUE(read.ok() && read->ok());
  const double seconds = (nodes.world.now() - start).seconds();
  EXPECT_GT(seconds, 1.9);
  EXPECT_LT(seconds, 2.5);
}

TEST(SimNetwork, ClogDelaysPacketsUntilItEnds) {
  TwoNodes nodes(11);
  Pipe pipe = nodes.pipe(9000);
  Collector collector;
  collector.start(nodes.b, pipe.server.get());
  nodes.net().clog(nodes.a.id(), nodes.b.id(), Duration::ms(500));
  const io::Instant start = nodes.world.now();
  auto written = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), "late", 10));
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE(nodes.world.run_until([&] { return collector.data == "late"; }, Duration::s(2)));
  EXPECT_GE(nodes.world.now() - start, Duration::ms(500));
}

// ---- Bad input -----------------------------------------------------------------------------

TEST(SimNetwork, BadAddressesAreErrorValues) {
  TwoNodes nodes(12);
  io::Network& net = nodes.a.env().net();
  auto no_node = nodes.world.run_task(nodes.a, net.connect({"nosuchnode", 9000}));
  ASSERT_TRUE(no_node.ok());
  ASSERT_FALSE(no_node->ok());
  EXPECT_EQ(no_node->error().kind, ErrorKind::kRefused);
  EXPECT_NE(no_node->error().message.find("nosuchnode"), std::string::npos);

  auto no_listener = nodes.world.run_task(nodes.a, net.connect({"b", 4444}));
  ASSERT_TRUE(no_listener.ok());
  ASSERT_FALSE(no_listener->ok());
  EXPECT_EQ(no_listener->error().kind, ErrorKind::kRefused);
  EXPECT_NE(no_listener->error().message.find("b:4444"), std::string::npos);

  auto port_zero = nodes.world.run_task(nodes.a, net.connect({"b", 0}));
  ASSERT_TRUE(port_zero.ok());
  EXPECT_EQ(port_zero->error().kind, ErrorKind::kInvalid);

  auto wrong_host = net.listen({"b", 9000});
  ASSERT_FALSE(wrong_host.ok());
  EXPECT_EQ(wrong_host.error().kind, ErrorKind::kInvalid);
  auto first = net.listen({"a", 9000});
  ASSERT_TRUE(first.ok());
  auto twice = net.listen({"", 9000});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().kind, ErrorKind::kExists);
  auto ephemeral = net.listen({"a", 0});
  ASSERT_TRUE(ephemeral.ok());
  EXPECT_NE((*ephemeral)->address().port, 0);
  (*first)->close();
  (*ephemeral)->close();
  // A closed listener's port is free again, and accept on it reports kClosed.
  auto accept_closed = nodes.world.run_task(nodes.a, (*first)->accept());
  ASSERT_TRUE(accept_closed.ok());
  EXPECT_EQ(accept_closed->error().kind, ErrorKind::kClosed);
  EXPECT_TRUE(net.listen({"a", 9000}).ok());
}

TEST(SimNetwork, ClosedConnectionsReportClosed) {
  TwoNodes nodes(13);
  Pipe pipe = nodes.pipe(9000);
  pipe.client->close();
  pipe.client->close();  // idempotent
  auto write_closed = nodes.world.run_task(nodes.a, write_all(pipe.client.get(), "x", 1));
  ASSERT_TRUE(write_closed.ok());
  ASSERT_FALSE(write_closed->ok());
  EXPECT_EQ(write_closed->error().kind, ErrorKind::kClosed);
  auto read_closed = nodes.world.run_task(nodes.a, read_n(pipe.client.get(), 1));
  ASSERT_TRUE(read_closed.ok());
  EXPECT_EQ(read_closed->error().kind, ErrorKind::kClosed);
  // The peer sees the close as kClosed after reading what was sent.
  auto peer_read = nodes.world.run_task(nodes.b, read_n(pipe.server.get(), 1));
  ASSERT_TRUE(peer_read.ok());
  EXPECT_EQ(peer_read->error().kind, ErrorKind::kClosed);
  // Writing to a peer that closed is accepted by the transport at first, then reset.
  auto first_write = nodes.world.run_task(nodes.b, write_all(pipe.server.get(), "y", 1));
  ASSERT_TRUE(first_write.ok() && first_write->ok());
  nodes.world.run_for(Duration::ms(100));
  auto later_write = nodes.world.run_task(nodes.b, write_all(pipe.server.get(), "z", 1));
  ASSERT_TRUE(later_write.ok());
  EXPECT_EQ(later_write->error().kind, ErrorKind::kClosed);
  EXPECT_EQ(nodes.net().connections_count(), 1u);  // the half that b still holds
  pipe.server.reset();
  EXPECT_EQ(nodes.net().connections_count(), 0u);
}

}  // namespace
}  // namespace strand::sim
