#include "programs.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::testing {
namespace {

using io::Error;
using io::ErrorKind;
using io::Result;
using io::Task;

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::uint32_t load_u32(const std::byte* p) {
  std::uint32_t value = 0;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

Task<Result<std::string>> read_frame(io::Connection& connection, std::uint32_t bytes_max) {
  std::byte header[4];
  Result<void> got_header = co_await io::read_exact(connection, header);
  if (!got_header) co_return std::move(got_header).error();
  const std::uint32_t length = load_u32(header);
  if (length > bytes_max) co_return Error{ErrorKind::kCorrupt, "frame longer than allowed"};
  std::string payload(length, '\0');
  Result<void> got_payload =
      co_await io::read_exact(connection, std::as_writable_bytes(std::span(payload)));
  if (!got_payload) co_return std::move(got_payload).error();
  co_return payload;
}

std::string frame_of(const std::string& payload) {
  std::string frame(4, '\0');
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::memcpy(frame.data(), &length, sizeof(length));
  return frame + payload;
}

Task<void> echo_connection(std::unique_ptr<io::Connection> connection, std::uint32_t bytes_max) {
  for (;;) {
    Result<std::string> frame = co_await read_frame(*connection, bytes_max);
    if (!frame) break;  // the client closed: the normal end
    const std::string reply = frame_of(*frame);
    Result<void> sent = co_await connection->write(as_bytes(reply));
    if (!sent) break;
  }
  connection->close();
}

Task<void> accept_loop(io::Env* server, io::Listener* listener, std::uint32_t bytes_max) {
  for (;;) {
    Result<std::unique_ptr<io::Connection>> accepted = co_await listener->accept();
    if (!accepted) co_return;  // closed
    server->executor().root().spawn(echo_connection(std::move(*accepted), bytes_max));
  }
}

Task<void> echo_client(io::Env* client, EchoOptions options, std::uint32_t client_index,
                       EchoReport* report, Result<void>* failure, io::Latch* done) {
  Result<std::unique_ptr<io::Connection>> connected =
      co_await client->net().connect(options.address);
  if (!connected) {
    *failure = std::move(connected).error();
    done->count_down();
    co_return;
  }
  io::Connection& connection = **connected;
  const std::uint64_t seed = options.seed * 1000 + client_index;
  for (std::uint32_t i = 0; i < options.frames_per_client; ++i) {
    const std::string payload = make_record(seed, i, options.frame_bytes_max);
    const std::string frame = frame_of(payload);
    Result<void> sent = co_await connection.write(as_bytes(frame));
    if (!sent) {
      *failure = std::move(sent).error();
      break;
    }
    Result<std::string> echoed = co_await read_frame(connection, options.frame_bytes_max);
    if (!echoed) {
      *failure = std::move(echoed).error();
      break;
    }
    if (*echoed != payload) report->mismatches += 1;
    report->frames_echoed += 1;
    report->bytes_echoed += payload.size();
  }
  connection.close();
  done->count_down();
}

Task<Result<EchoReport>> run_framed_echo_impl(io::Env& server, io::Env& client,
                                              EchoOptions options) {
  Result<std::unique_ptr<io::Listener>> listening = server.net().listen(options.address);
  if (!listening) co_return std::move(listening).error();
  std::unique_ptr<io::Listener> listener = std::move(*listening);
  options.address = listener->address();  // the real port when asked for port 0
  // The accept loop lives in its own scope so that it ends with this program.
  io::TaskScope accepting;
  accepting.spawn(accept_loop(&server, listener.get(), options.frame_bytes_max));

  EchoReport report;
  Result<void> failure = io::ok();
  io::Latch done(options.clients_count);
  io::TaskScope clients;
  for (std::uint32_t c = 0; c < options.clients_count; ++c) {
    clients.spawn(echo_client(&client, options, c, &report, &failure, &done));
  }
  co_await done.wait();
  // The last client released the latch from inside its own frame: wait for every client frame to
  // finish before `clients` goes out of scope, or its destructor would destroy a running frame.
  co_await clients.join();
  listener->close();
  co_await accepting.join();
  if (!failure) co_return std::move(failure).error();
  co_return report;
}

Error mismatch(const std::string& what) { return Error{ErrorKind::kCorrupt, what}; }

// Appends every record, then syncs once (group commit), and returns the concatenation.
Task<Result<std::string>> append_records(io::File& file, const FileWriterOptions& options) {
  std::string expected;
  for (std::uint32_t i = 0; i < options.records_count; ++i) {
    const std::string record = make_record(options.seed, i, options.record_bytes_max);
    Result<void> appended = co_await file.append(as_bytes(record));
    if (!appended) co_return std::move(appended).error();
    expected += record;
    if (file.size() != expected.size()) co_return mismatch("size() does not follow appends");
  }
  Result<void> synced = co_await file.sync();
  if (!synced) co_return std::move(synced).error();
  co_return expected;
}

Task<Result<std::string>> read_all(io::File& file) {
  std::string content(file.size(), '\0');
  std::size_t filled = 0;
  while (filled < content.size()) {
    const std::size_t chunk = std::min<std::size_t>(content.size() - filled, 777);
    auto target = std::as_writable_bytes(std::span(content.data() + filled, chunk));
    Result<std::size_t> got = co_await file.read_at(filled, target);
    if (!got) co_return std::move(got).error();
    if (*got == 0) co_return mismatch("read_at hit end of file before size()");
    filled += *got;
  }
  std::byte past_end[8];
  Result<std::size_t> tail = co_await file.read_at(content.size(), past_end);
  if (!tail) co_return std::move(tail).error();
  if (*tail != 0) co_return mismatch("read_at past the end returned bytes");
  // read_bytes: the whole file in one buffer, and a read running past the end comes back short.
  Result<std::vector<std::byte>> whole = co_await file.read_bytes(0, content.size());
  if (!whole) co_return std::move(whole).error();
  if (whole->size() != content.size() ||
      !std::equal(whole->begin(), whole->end(), as_bytes(content).begin())) {
    co_return mismatch("read_bytes of the whole file differs from read_at");
  }
  const std::size_t from = content.size() / 3;
  Result<std::vector<std::byte>> past = co_await file.read_bytes(from, content.size());
  if (!past) co_return std::move(past).error();
  if (past->size() != content.size() - from) {
    co_return mismatch("read_bytes past the end must stop at the end");
  }
  co_return content;
}

Task<Result<void>> check_errors(io::Env& env, const std::string& directory) {
  io::FileSystem& fs = env.fs();
  Result<std::unique_ptr<io::File>> missing =
      co_await fs.open(io::join_path(directory, "no-such-file"), io::OpenMode::kReadOnly);
  if (missing || missing.error().kind != ErrorKind::kNotFound || missing.error().message.empty()) {
    co_return mismatch("opening a missing file must fail with not_found and a message");
  }
  Result<std::unique_ptr<io::File>> no_parent =
      co_await fs.open(io::join_path(directory, "no-dir/file"), io::OpenMode::kCreate);
  if (no_parent || no_parent.error().kind != ErrorKind::kNotFound) {
    co_return mismatch("creating a file in a missing directory must fail with not_found");
  }
  Result<std::vector<std::string>> no_list = co_await fs.list(io::join_path(directory, "nope"));
  if (no_list || no_list.error().kind != ErrorKind::kNotFound) {
    co_return mismatch("listing a missing directory must fail with not_found");
  }
  co_return io::ok();
}

Task<Result<std::uint64_t>> rewrite_and_rename(io::Env& env, const std::string& directory,
                                               const std::string& path, std::string expected) {
  io::FileSystem& fs = env.fs();
  Result<std::unique_ptr<io::File>> opened = co_await fs.open(path, io::OpenMode::kReadWrite);
  if (!opened) co_return std::move(opened).error();
  io::File& file = **opened;
  const std::string patch = "PATCHED";
  Result<void> patched = co_await file.write_at(3, as_bytes(patch));
  if (!patched) co_return std::move(patched).error();
  expected.replace(3, patch.size(), patch);
  const std::uint64_t half = expected.size() / 2;
  Result<void> truncated = co_await file.truncate(half);
  if (!truncated) co_return std::move(truncated).error();
  expected.resize(half);
  Result<void> synced = co_await file.sync();
  if (!synced) co_return std::move(synced).error();
  Result<std::string> content = co_await read_all(file);
  if (!content) co_return std::move(content).error();
  if (*content != expected) co_return mismatch("write_at + truncate lost or altered bytes");
  Result<void> closed = co_await file.close();
  if (!closed) co_return std::move(closed).error();

  const std::string renamed = io::join_path(directory, "renamed.dat");
  Result<void> moved = co_await fs.rename(path, renamed);
  if (!moved) co_return std::move(moved).error();
  Result<void> dir_synced = co_await fs.sync_dir(directory);
  if (!dir_synced) co_return std::move(dir_synced).error();
  Result<std::vector<std::string>> names = co_await fs.list(directory);
  if (!names) co_return std::move(names).error();
  if (*names != std::vector<std::string>{"renamed.dat"}) co_return mismatch("rename not listed");
  Result<void> removed = co_await fs.remove(renamed);
  if (!removed) co_return std::move(removed).error();
  Result<bool> still_there = co_await fs.exists(renamed);
  if (!still_there) co_return std::move(still_there).error();
  if (*still_there) co_return mismatch("removed file still exists");
  co_return half;
}

Task<Result<std::uint64_t>> run_file_writer_impl(io::Env& env, FileWriterOptions options) {
  io::FileSystem& fs = env.fs();
  Result<void> made = co_await fs.make_dirs(options.directory);
  if (!made) co_return std::move(made).error();
  const std::string path = io::join_path(options.directory, "writer.dat");
  Result<std::unique_ptr<io::File>> created = co_await fs.open(path, io::OpenMode::kTruncate);
  if (!created) co_return std::move(created).error();
  Result<std::string> expected = co_await append_records(**created, options);
  if (!expected) co_return std::move(expected).error();
  Result<void> closed = co_await (*created)->close();
  if (!closed) co_return std::move(closed).error();

  Result<std::unique_ptr<io::File>> reopened = co_await fs.open(path, io::OpenMode::kReadOnly);
  if (!reopened) co_return std::move(reopened).error();
  if ((*reopened)->size() != expected->size()) co_return mismatch("reopened size differs");
  Result<std::string> content = co_await read_all(**reopened);
  if (!content) co_return std::move(content).error();
  if (*content != *expected) co_return mismatch("reopened content differs");
  Result<void> closed_again = co_await (*reopened)->close();
  if (!closed_again) co_return std::move(closed_again).error();

  Result<void> errors_ok = co_await check_errors(env, options.directory);
  if (!errors_ok) co_return std::move(errors_ok).error();
  Result<std::uint64_t> rewritten =
      co_await rewrite_and_rename(env, options.directory, path, std::move(*expected));
  if (!rewritten) co_return std::move(rewritten).error();
  co_return content->size() + *rewritten;
}

}  // namespace

std::string make_record(std::uint64_t seed, std::uint32_t index, std::uint32_t bytes_max) {
  io::SeededRandom random(io::mix64(seed) ^ io::mix64(index + 1));
  const auto length = static_cast<std::size_t>(random.between(1, bytes_max));
  std::string record(length, '\0');
  for (char& c : record) c = static_cast<char>('a' + random.uniform(26));
  return record;
}

Task<Result<EchoReport>> run_framed_echo(io::Env& server, io::Env& client, EchoOptions options) {
  return run_framed_echo_impl(server, client, std::move(options));
}

Task<Result<std::uint64_t>> run_file_writer(io::Env& env, FileWriterOptions options) {
  return run_file_writer_impl(env, std::move(options));
}

}  // namespace strand::testing
