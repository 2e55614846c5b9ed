#include "io/uv/uv_file.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "io/uv/uv_error.h"

namespace strand::io::uv {
namespace {

// One request moves at most this much; bigger reads and writes are split.
constexpr std::size_t kRequestBytesMax = std::size_t{8} << 20;

Error closed_file(std::string_view operation, const std::string& path) {
  std::string message(operation);
  message += ' ';
  message += path;
  message += ": file is closed";
  return Error{ErrorKind::kClosed, std::move(message)};
}

}  // namespace

UvFile::UvFile(std::shared_ptr<FileCore> core, std::uint64_t size_bytes)
    : core_(std::move(core)), size_bytes_(size_bytes) {
  STRAND_ASSERT(core_->fd >= 0, "a UvFile starts with an open descriptor");
}

UvFile::~UvFile() {
  core_->abandoned = true;
  if (core_->fd >= 0 && core_->in_flight == 0) close_abandoned(*core_);
  // Otherwise the last in-flight request's callback closes it.
}

Task<Result<void>> UvFile::wait_turn(std::string_view operation) {
  // Each wake-up either finds the file idle or someone else's new request; bounded by how many
  // frames share this file, which is one owner plus abandoned requests.
  while (!closed_ && core_->in_flight > 0) {
    co_await FileIdle{*core_, {}};
  }
  if (closed_) co_return closed_file(operation, core_->path);
  co_return ok();
}

Task<Result<void>> UvFile::wait_write_turn(std::string_view operation) {
  // Bounded like wait_turn: one owner plus the writes of abandoned frames.
  while (!closed_ && core_->writes_in_flight > 0) {
    co_await WritesIdle{*core_, {}};
  }
  if (closed_) co_return closed_file(operation, core_->path);
  co_return ok();
}

Task<Result<std::size_t>> UvFile::read_at(std::uint64_t offset, std::span<std::byte> target) {
  std::size_t filled = 0;
  while (filled < target.size()) {
    Result<std::vector<std::byte>> got =
        co_await read_once(offset + filled, target.size() - filled);
    if (!got) co_return std::move(got).error();
    if (got->empty()) break;  // end of file
    std::memcpy(target.data() + filled, got->data(), got->size());
    filled += got->size();
  }
  co_return filled;
}

Task<Result<std::vector<std::byte>>> UvFile::read_bytes(std::uint64_t offset, std::size_t length) {
  Result<std::vector<std::byte>> first = co_await read_once(offset, length);
  if (!first) co_return std::move(first).error();
  std::vector<std::byte> bytes = std::move(*first);
  // A short read before the end of the file (or one capped at kRequestBytesMax): read on.
  for (std::uint64_t reads = 0; !bytes.empty() && bytes.size() < length; ++reads) {
    STRAND_ASSERT(reads <= length, "each read makes progress");
    Result<std::vector<std::byte>> more =
        co_await read_once(offset + bytes.size(), length - bytes.size());
    if (!more) co_return std::move(more).error();
    if (more->empty()) break;  // end of file
    bytes.insert(bytes.end(), more->begin(), more->end());
  }
  co_return std::move(bytes);
}

// One pread on the pool. Its thread reads into the request's own buffer (which must outlive a
// cancelled caller); that buffer is handed over rather than copied.
Task<Result<std::vector<std::byte>>> UvFile::read_once(std::uint64_t offset, std::size_t length) {
  if (closed_) co_return closed_file("read", core_->path);
  FsCall call(core_);
  call.request_bytes().resize(std::min(length, kRequestBytesMax));
  const uv_buf_t buffer = call.request_buffer();
  call.submitted(uv_fs_read(core_->loop, call.request(), core_->fd, &buffer, 1,
                            static_cast<std::int64_t>(offset), fs_callback));
  co_await call;
  if (call.result() < 0) co_return file_error(static_cast<int>(call.result()), "read", path());
  const auto count = static_cast<std::size_t>(call.result());
  STRAND_ASSERT(count <= length, "a read returns at most what was asked");
  std::vector<std::byte> bytes = std::move(call.bytes());
  bytes.resize(count);
  co_return std::move(bytes);
}

Task<Result<void>> UvFile::append(std::span<const std::byte> bytes) {
  // A failed append leaves size() alone, so the next append overwrites whatever part landed.
  Result<void> written = co_await write_fully(size_bytes_, bytes, "append");
  if (!written) co_return std::move(written).error();
  size_bytes_ += bytes.size();
  co_return ok();
}

Task<Result<void>> UvFile::write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
  Result<void> written = co_await write_fully(offset, bytes, "write");
  if (!written) co_return std::move(written).error();
  size_bytes_ = std::max<std::uint64_t>(size_bytes_, offset + bytes.size());
  co_return ok();
}

Task<Result<void>> UvFile::write_fully(std::uint64_t offset, std::span<const std::byte> bytes,
                                       std::string_view operation) {
  std::size_t done = 0;
  // Each pass writes at least one byte or fails, so this ends.
  while (done < bytes.size()) {
    Result<void> turn = co_await wait_write_turn(operation);
    if (!turn) co_return std::move(turn).error();
    const std::span<const std::byte> rest =
        bytes.subspan(done, std::min(bytes.size() - done, kRequestBytesMax));
    FsCall call(core_);
    call.mark_write();
    call.request_bytes().assign(rest.begin(), rest.end());  // the request owns its copy
    const uv_buf_t buffer = call.request_buffer();
    call.submitted(uv_fs_write(core_->loop, call.request(), core_->fd, &buffer, 1,
                               static_cast<std::int64_t>(offset + done), fs_callback));
    co_await call;
    if (call.result() < 0) co_return file_error(static_cast<int>(call.result()), operation, path());
    if (call.result() == 0) {
      const std::string what = std::string(operation) + " " + path() + ": wrote nothing";
      co_return Error{ErrorKind::kIoError, what};
    }
    done += static_cast<std::size_t>(call.result());
  }
  co_return ok();
}

Task<Result<void>> UvFile::sync() { return flush("sync", Flush::kData); }

Task<Result<void>> UvFile::sync_directory() { return flush("sync_dir", Flush::kDataAndMetadata); }

Task<Result<void>> UvFile::read_size() {
  Result<void> turn = co_await wait_turn("stat");
  if (!turn) co_return std::move(turn).error();
  FsCall call(core_);
  call.submitted(uv_fs_fstat(core_->loop, call.request(), core_->fd, fs_callback));
  co_await call;
  if (call.result() < 0) co_return file_error(static_cast<int>(call.result()), "stat", path());
  size_bytes_ = call.stat().st_size;
  co_return ok();
}

Task<Result<void>> UvFile::flush(std::string_view operation, Flush what) {
  if (closed_) co_return closed_file(operation, core_->path);
  FsCall call(core_);
  if (what == Flush::kData) {
    call.submitted(uv_fs_fdatasync(core_->loop, call.request(), core_->fd, fs_callback));
  } else {
    call.submitted(uv_fs_fsync(core_->loop, call.request(), core_->fd, fs_callback));
  }
  co_await call;
  if (call.result() < 0) co_return file_error(static_cast<int>(call.result()), operation, path());
  co_return ok();
}

Task<Result<void>> UvFile::truncate(std::uint64_t size_bytes) {
  Result<void> turn = co_await wait_write_turn("truncate");
  if (!turn) co_return std::move(turn).error();
  FsCall call(core_);
  call.mark_write();
  call.submitted(uv_fs_ftruncate(core_->loop, call.request(), core_->fd,
                                 static_cast<std::int64_t>(size_bytes), fs_callback));
  co_await call;
  if (call.result() < 0) co_return file_error(static_cast<int>(call.result()), "truncate", path());
  size_bytes_ = size_bytes;
  co_return ok();
}

Task<Result<void>> UvFile::close() {
  if (closed_) co_return ok();
  closed_ = true;  // from here on new requests fail with kClosed
  // Let requests already issued finish on the descriptor before it goes away. If this frame is
  // destroyed meanwhile, the destructor closes the descriptor instead.
  while (core_->in_flight > 0) {
    co_await FileIdle{*core_, {}};
  }
  FsCall call(core_);
  const uv_file fd = std::exchange(core_->fd, -1);
  call.submitted(uv_fs_close(core_->loop, call.request(), fd, fs_callback));
  co_await call;
  if (call.result() < 0) co_return file_error(static_cast<int>(call.result()), "close", path());
  co_return ok();
}

}  // namespace strand::io::uv
