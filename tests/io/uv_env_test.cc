// UvEnv: the shared io programs (tests/io/programs.h) run unchanged on libuv, plus what only the
// libuv implementation can get wrong: timers against the real clock, cancelled frames with
// requests still inside libuv, errno mapping, backpressure.
#include "io/uv/uv_env.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/sync.h"
#include "io/task_scope.h"
#include "programs.h"

namespace strand::io {
namespace {

// A fresh directory under the system's temp dir, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strand-uv-XXXXXX").string();
    const char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

const Address kAnyLocalPort{"127.0.0.1", 0};

TEST(UvEnv, FramedEchoWithManyClientsAndLargeFrames) {
  UvEnv env(1);
  Result<testing::EchoReport> report = env.run(testing::run_framed_echo(
      env, env,
      {.address = kAnyLocalPort, .clients_count = 32, .frames_per_client = 100,
       .frame_bytes_max = 64 << 10, .seed = 7}));
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->mismatches, 0u);
  EXPECT_EQ(report->frames_echoed, 32u * 100u);
  EXPECT_GT(report->bytes_echoed, 0u);
}

TEST(UvEnv, FileWriterProgramPasses) {
  TempDir temp;
  UvEnv env(1);
  Result<std::uint64_t> verified = env.run(testing::run_file_writer(
      env, {.directory = join_path(temp.path(), "data/nested"), .records_count = 300}));
  ASSERT_TRUE(verified.ok()) << verified.error().to_string();
  EXPECT_GT(*verified, 0u);
}

Task<void> sleep_and_log(Env* env, Duration duration, std::vector<int>* log, int id,
                         Duration* slept) {
  const Instant start = env->clock().now();
  co_await env->clock().sleep(duration);
  *slept = env->clock().now() - start;
  log->push_back(id);
}

Task<void> sleep_twice_concurrently(Env* env, std::vector<int>* log, Duration* slept_long,
                                    Duration* slept_short) {
  TaskScope scope;
  scope.spawn(sleep_and_log(env, Duration::ms(20), log, 20, slept_long));
  scope.spawn(sleep_and_log(env, Duration::ms(5), log, 5, slept_short));
  co_await scope.join();
}

TEST(UvEnv, SleepsFinishInDeadlineOrderAndLastAtLeastTheirDuration) {
  UvEnv env(1);
  std::vector<int> log;
  Duration slept_long;
  Duration slept_short;
  env.run(sleep_twice_concurrently(&env, &log, &slept_long, &slept_short));
  EXPECT_EQ(log, (std::vector<int>{5, 20}));
  EXPECT_GE(slept_long, Duration::ms(20));
  EXPECT_GE(slept_short, Duration::ms(5));
}

Task<void> zero_sleep_lets_posts_run(Env* env, std::vector<int>* log) {
  env->executor().post([log] { log->push_back(1); });
  co_await env->clock().sleep(Duration::ms(0));
  log->push_back(2);
}

TEST(UvEnv, ZeroSleepYieldsToReadyWork) {
  UvEnv env(1);
  std::vector<int> log;
  env.run(zero_sleep_lets_posts_run(&env, &log));
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
}

TEST(UvEnv, WallClockIsUnixMilliseconds) {
  UvEnv env(1);
  const std::int64_t year_2020_ms = 1'577'836'800'000;
  EXPECT_GT(env.clock().wall_ms(), year_2020_ms);
}

Task<void> post_in_order(Env* env, std::vector<int>* log, Event* done) {
  for (int i = 0; i < 100; ++i) env->executor().post([log, i] { log->push_back(i); });
  env->executor().post([done] { done->set(); });
  co_await done->wait();
}

TEST(UvEnv, PostRunsCallbacksInFifoOrderLater) {
  UvEnv env(1);
  std::vector<int> log;
  Event done;
  env.run(post_in_order(&env, &log, &done));
  ASSERT_EQ(log.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(log[static_cast<std::size_t>(i)], i);
}

TEST(UvEnv, GivenSeedDrivesRandomAndBuggifyIsOff) {
  UvEnv env(42);
  SeededRandom expected(42);
  EXPECT_EQ(env.seed(), 42u);
  EXPECT_EQ(env.rng().next_u64(), expected.next_u64());
  EXPECT_FALSE(env.rng().buggify());
  UvEnv from_os;
  EXPECT_FALSE(from_os.rng().buggify());
}

// ---- Network ----

Task<Result<void>> connect_to_closed_port(Env* env, Address address, Error* error) {
  Result<std::unique_ptr<Connection>> connected = co_await env->net().connect(address);
  if (connected) co_return Error{ErrorKind::kInvalid, "connected to a closed port"};
  *error = std::move(connected).error();
  co_return ok();
}

TEST(UvEnv, ConnectWithNobodyListeningIsRefused) {
  UvEnv env(1);
  Address address;
  {
    Result<std::unique_ptr<Listener>> listener = env.net().listen(kAnyLocalPort);
    ASSERT_TRUE(listener.ok()) << listener.error().to_string();
    address = (*listener)->address();
  }
  // The closed listener's port is free again (nothing else should grab it this quickly).
  Error error{ErrorKind::kIoError, ""};
  Result<void> ran = env.run(connect_to_closed_port(&env, address, &error));
  ASSERT_TRUE(ran.ok()) << ran.error().to_string();
  EXPECT_EQ(error.kind, ErrorKind::kRefused) << error.to_string();
  EXPECT_NE(error.message.find(address.to_string()), std::string::npos) << error.message;
}

TEST(UvEnv, ListenOnAPortInUseIsExists) {
  UvEnv env(1);
  Result<std::unique_ptr<Listener>> first = env.net().listen(kAnyLocalPort);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_NE((*first)->address().port, 0);
  Result<std::unique_ptr<Listener>> second = env.net().listen((*first)->address());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kExists) << second.error().to_string();
}

TEST(UvEnv, ListenOnABadAddressIsInvalid) {
  UvEnv env(1);
  Result<std::unique_ptr<Listener>> not_numeric = env.net().listen({"localhost", 0});
  ASSERT_FALSE(not_numeric.ok());
  EXPECT_EQ(not_numeric.error().kind, ErrorKind::kInvalid);
  Result<std::unique_ptr<Listener>> not_ours = env.net().listen({"192.0.2.1", 0});
  ASSERT_FALSE(not_ours.ok());
  EXPECT_EQ(not_ours.error().kind, ErrorKind::kInvalid) << not_ours.error().to_string();
}

struct Pair {
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Connection> client;
  std::unique_ptr<Connection> server;
};

Task<Result<Pair>> connect_pair(Env* env) {
  Result<std::unique_ptr<Listener>> listening = env->net().listen(kAnyLocalPort);
  if (!listening) co_return std::move(listening).error();
  Pair pair;
  pair.listener = std::move(*listening);
  const Address address = pair.listener->address();
  Result<std::unique_ptr<Connection>> client = co_await env->net().connect(address);
  if (!client) co_return std::move(client).error();
  pair.client = std::move(*client);
  Result<std::unique_ptr<Connection>> server = co_await pair.listener->accept();
  if (!server) co_return std::move(server).error();
  pair.server = std::move(*server);
  co_return pair;
}

Task<Result<std::string>> read_until_closed(Connection* connection) {
  std::string received;
  std::byte chunk[100];
  for (int reads = 0; reads < 1000; ++reads) {
    Result<std::size_t> got = co_await connection->read_some(chunk);
    if (!got) {
      if (got.error().kind != ErrorKind::kClosed) co_return std::move(got).error();
      co_return received;
    }
    received.append(reinterpret_cast<const char*>(chunk), *got);
  }
  co_return Error{ErrorKind::kInvalid, "no end of stream after 1000 reads"};
}

Task<Result<std::string>> write_close_then_read(Env* env) {
  Result<Pair> pair = co_await connect_pair(env);
  if (!pair) co_return std::move(pair).error();
  const std::string hello = "hello, strand";
  Result<void> sent = co_await pair->client->write(as_bytes(hello));
  if (!sent) co_return std::move(sent).error();
  pair->client->close();
  pair->client->close();  // idempotent
  Result<std::string> received = co_await read_until_closed(pair->server.get());
  co_return received;
}

TEST(UvEnv, ReadAfterThePeerClosedDeliversItsBytesThenClosed) {
  UvEnv env(1);
  Result<std::string> received = env.run(write_close_then_read(&env));
  ASSERT_TRUE(received.ok()) << received.error().to_string();
  EXPECT_EQ(*received, "hello, strand");
}

Task<void> read_expecting_closed(Connection* connection, Result<std::size_t>* out) {
  std::byte chunk[16];
  *out = co_await connection->read_some(chunk);
}

Task<Result<void>> close_with_a_read_pending(Env* env, Result<std::size_t>* read_result) {
  Result<Pair> pair = co_await connect_pair(env);
  if (!pair) co_return std::move(pair).error();
  TaskScope reader;
  reader.spawn(read_expecting_closed(pair->server.get(), read_result));
  pair->server->close();  // the parked read completes with kClosed
  co_await reader.join();
  const std::string late = "late";
  Result<void> sent = co_await pair->server->write(as_bytes(late));
  if (sent || sent.error().kind != ErrorKind::kClosed) {
    co_return Error{ErrorKind::kInvalid, "write after close must fail with kClosed"};
  }
  co_return ok();
}

TEST(UvEnv, CloseCompletesAPendingReadWithClosed) {
  UvEnv env(1);
  Result<std::size_t> read_result = std::size_t{0};
  Result<void> ran = env.run(close_with_a_read_pending(&env, &read_result));
  ASSERT_TRUE(ran.ok()) << ran.error().to_string();
  ASSERT_FALSE(read_result.ok());
  EXPECT_EQ(read_result.error().kind, ErrorKind::kClosed);
}

Task<void> write_all(Connection* connection, const std::string* data, Result<void>* out) {
  *out = co_await connection->write(as_bytes(*data));
}

// The writer sends far more than the receive buffer and the kernel's socket buffers hold (a few
// MiB on loopback); it must park until the reader drains, and every byte must arrive in order.
Task<Result<void>> write_more_than_buffers_hold(Env* env) {
  Result<Pair> pair = co_await connect_pair(env);
  if (!pair) co_return std::move(pair).error();
  std::string data(48 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7) % 26);
  Result<void> written = Error{ErrorKind::kIoError, "not finished"};
  TaskScope writer;
  writer.spawn(write_all(pair->client.get(), &data, &written));
  co_await env->clock().sleep(Duration::ms(50));  // nobody reads: the receiver stops reading
  if (writer.active_count() != 1) co_return Error{ErrorKind::kInvalid, "the writer never parked"};
  std::string received(data.size(), '\0');
  const std::span<std::byte> target = std::as_writable_bytes(std::span(received));
  Result<void> read = co_await read_exact(*pair->server, target);
  if (!read) co_return std::move(read).error();
  co_await writer.join();
  if (!written) co_return std::move(written).error();
  if (received != data) co_return Error{ErrorKind::kCorrupt, "bytes changed on the way"};
  co_return ok();
}

TEST(UvEnv, BackpressureParksTheWriterAndLosesNothing) {
  UvEnv env(1);
  Result<void> ran = env.run(write_more_than_buffers_hold(&env));
  ASSERT_TRUE(ran.ok()) << ran.error().to_string();
}

// ---- Cancellation: frames destroyed while libuv still holds their requests ----

Task<void> mark_after(Task<void> operation, int* resumed) {
  co_await operation;
  *resumed += 1;
}

Task<void> sleep_long(Env* env) { co_await env->clock().sleep(Duration::s(3600)); }

Task<void> read_forever(Connection* connection) {
  std::byte chunk[64 << 10];  // big enough for a direct read into this frame
  Result<std::size_t> got = co_await connection->read_some(chunk);
  (void)got;
}

Task<void> accept_forever(Listener* listener) {
  Result<std::unique_ptr<Connection>> accepted = co_await listener->accept();
  (void)accepted;
}

Task<void> write_forever(Connection* connection) {
  const std::string data(32 << 20, 'x');  // more than the kernel takes at once
  Result<void> sent = co_await connection->write(as_bytes(data));
  (void)sent;
}

Task<void> file_ops_forever(Env* env, std::string path) {
  Result<std::unique_ptr<File>> file = co_await env->fs().open(path, OpenMode::kCreate);
  if (!file) co_return;
  const std::string block(1 << 20, 'f');
  for (int i = 0; i < 1000; ++i) {
    Result<void> appended = co_await (*file)->append(as_bytes(block));
    if (!appended) co_return;
  }
}

Task<void> connect_to(Env* env, Address address) {
  Result<std::unique_ptr<Connection>> connected = co_await env->net().connect(address);
  (void)connected;
}

Task<Result<void>> cancel_pending_operations(Env* env, std::string directory, int* resumed) {
  Result<Pair> pair = co_await connect_pair(env);
  if (!pair) co_return std::move(pair).error();
  {
    TaskScope scope;
    scope.spawn(mark_after(sleep_long(env), resumed));
    scope.spawn(mark_after(read_forever(pair->server.get()), resumed));
    scope.spawn(mark_after(accept_forever(pair->listener.get()), resumed));
    // The server writes to a client that never reads, and reads from a client that never writes.
    scope.spawn(mark_after(write_forever(pair->server.get()), resumed));
    scope.spawn(mark_after(file_ops_forever(env, join_path(directory, "f")), resumed));
    co_await env->clock().sleep(Duration::ms(20));  // everything is inside libuv now
    if (scope.active_count() != 5) co_return Error{ErrorKind::kInvalid, "an operation finished"};
    scope.cancel();
  }
  // Callbacks of the abandoned requests (the file append, the write once the client closes) arrive
  // now and must not resume anything.
  pair->client->close();
  co_await env->clock().sleep(Duration::ms(50));
  co_return ok();
}

TEST(UvEnv, CancelledScopeDestroysPendingOperationsWhichNeverResume) {
  TempDir temp;
  UvEnv env(1);
  int resumed = 0;
  Result<void> ran = env.run(cancel_pending_operations(&env, temp.path(), &resumed));
  ASSERT_TRUE(ran.ok()) << ran.error().to_string();
  EXPECT_EQ(resumed, 0);
}

// libuv reports a connect in a later loop iteration at the earliest, so cancelling right after
// the spawn always catches it in flight.
Task<Result<void>> cancel_a_connect_in_flight(Env* env, int* resumed) {
  Result<std::unique_ptr<Listener>> listening = env->net().listen(kAnyLocalPort);
  if (!listening) co_return std::move(listening).error();
  const Address address = (*listening)->address();
  {
    TaskScope scope;
    scope.spawn(mark_after(connect_to(env, address), resumed));
    if (scope.active_count() != 1) co_return Error{ErrorKind::kInvalid, "connect did not park"};
  }
  co_await env->clock().sleep(Duration::ms(20));
  co_return ok();
}

TEST(UvEnv, CancelledConnectNeverResumesAndClosesItsSocket) {
  UvEnv env(1);
  int resumed = 0;
  Result<void> ran = env.run(cancel_a_connect_in_flight(&env, &resumed));
  ASSERT_TRUE(ran.ok()) << ran.error().to_string();
  EXPECT_EQ(resumed, 0);
}

Task<void> park_forever_in_root(Env* env, std::string path) {
  Result<std::unique_ptr<Listener>> listener = env->net().listen(kAnyLocalPort);
  if (!listener) co_return;
  env->executor().root().spawn(sleep_long(env));
  env->executor().root().spawn(file_ops_forever(env, path));
  env->executor().root().spawn(accept_forever(listener->get()));
  co_await env->clock().sleep(Duration::s(3600));
}

TEST(UvEnv, DestructorCancelsRootTasksWithRequestsInFlight) {
  TempDir temp;
  std::atomic<bool> stopped{false};
  UvEnv env(1);
  env.executor().root().spawn(park_forever_in_root(&env, join_path(temp.path(), "g")));
  std::thread stopper([&env, &stopped] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    stopped = true;
    env.stop();
  });
  env.run_until_stopped();
  stopper.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_GE(env.executor().root().active_count(), 4u);
}

Task<void> stop_after_a_sleep(UvEnv* env, bool* slept) {
  co_await env->clock().sleep(Duration::ms(1));
  *slept = true;
  env->stop();
}

TEST(UvEnv, StopFromATaskEndsRunUntilStopped) {
  UvEnv env(1);
  bool slept = false;
  env.executor().root().spawn(stop_after_a_sleep(&env, &slept));
  env.run_until_stopped();
  EXPECT_TRUE(slept);
}

// ---- Files ----

Task<Result<std::unique_ptr<File>>> open_missing(Env* env, std::string path) {
  Result<std::unique_ptr<File>> opened = co_await env->fs().open(path, OpenMode::kReadOnly);
  co_return opened;
}

TEST(UvEnv, MissingFileIsNotFoundWithOperationAndPath) {
  TempDir temp;
  UvEnv env(1);
  const std::string path = join_path(temp.path(), "x.log");
  Result<std::unique_ptr<File>> opened = env.run(open_missing(&env, path));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(opened.error().message, "open " + path + ": no such file or directory");
}

Task<Result<void>> create_new_twice(Env* env, std::string path) {
  Result<std::unique_ptr<File>> first = co_await env->fs().open(path, OpenMode::kCreateNew);
  if (!first) co_return std::move(first).error();
  Result<std::unique_ptr<File>> second = co_await env->fs().open(path, OpenMode::kCreateNew);
  if (second) co_return Error{ErrorKind::kInvalid, "kCreateNew opened an existing file"};
  co_return std::move(second).error();
}

TEST(UvEnv, CreateNewOnAnExistingFileIsExists) {
  TempDir temp;
  UvEnv env(1);
  Result<void> result = env.run(create_new_twice(&env, join_path(temp.path(), "y")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kExists) << result.error().to_string();
}

Task<Result<std::vector<std::string>>> make_and_list(Env* env, std::string root) {
  for (const char* name : {"b", "a/x/y", "c"}) {
    Result<void> made = co_await env->fs().make_dirs(join_path(root, name));
    if (!made) co_return std::move(made).error();
  }
  Result<void> again = co_await env->fs().make_dirs(join_path(root, "a/x"));
  if (!again) co_return std::move(again).error();
  Result<std::vector<std::string>> names = co_await env->fs().list(root);
  co_return names;
}

TEST(UvEnv, MakeDirsCreatesParentsAndListIsSorted) {
  TempDir temp;
  UvEnv env(1);
  Result<std::vector<std::string>> names = env.run(make_and_list(&env, temp.path()));
  ASSERT_TRUE(names.ok()) << names.error().to_string();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
}

Task<Result<void>> use_after_close(Env* env, std::string directory) {
  const std::string path = join_path(directory, "closed.dat");
  Result<std::unique_ptr<File>> opened = co_await env->fs().open(path, OpenMode::kCreate);
  if (!opened) co_return std::move(opened).error();
  File& file = **opened;
  const std::string data = "0123456789";
  Result<void> appended = co_await file.append(as_bytes(data));
  if (!appended) co_return std::move(appended).error();
  Result<void> closed = co_await file.close();
  if (!closed) co_return std::move(closed).error();
  Result<void> closed_again = co_await file.close();
  if (!closed_again) co_return std::move(closed_again).error();
  Result<void> late = co_await file.append(as_bytes(data));
  if (late || late.error().kind != ErrorKind::kClosed) {
    co_return Error{ErrorKind::kInvalid, "append after close must be kClosed"};
  }
  if (file.size() != data.size()) co_return Error{ErrorKind::kInvalid, "size() moved"};
  co_return ok();
}

TEST(UvEnv, FileOperationsAfterCloseAreClosedAndCloseIsIdempotent) {
  TempDir temp;
  UvEnv env(1);
  Result<void> ran = env.run(use_after_close(&env, temp.path()));
  ASSERT_TRUE(ran.ok()) << ran.error().to_string();
}

Task<Result<bool>> remove_a_directory(Env* env, std::string directory) {
  const std::string inner = join_path(directory, "empty");
  Result<void> made = co_await env->fs().make_dirs(inner);
  if (!made) co_return std::move(made).error();
  Result<void> synced = co_await env->fs().sync_dir(directory);
  if (!synced) co_return std::move(synced).error();
  Result<void> removed = co_await env->fs().remove(inner);
  if (!removed) co_return std::move(removed).error();
  Result<void> missing = co_await env->fs().sync_dir(inner);
  if (missing || missing.error().kind != ErrorKind::kNotFound) {
    co_return Error{ErrorKind::kInvalid, "sync_dir of a missing directory must be kNotFound"};
  }
  Result<bool> still_there = co_await env->fs().exists(inner);
  co_return still_there;
}

TEST(UvEnv, RemoveTakesEmptyDirectoriesToo) {
  TempDir temp;
  UvEnv env(1);
  Result<bool> still_there = env.run(remove_a_directory(&env, temp.path()));
  ASSERT_TRUE(still_there.ok()) << still_there.error().to_string();
  EXPECT_FALSE(*still_there);
}

}  // namespace
}  // namespace strand::io
