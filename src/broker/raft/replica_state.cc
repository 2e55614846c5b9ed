#include "broker/raft/replica_state.h"

#include "broker/protocol/byte_order.h"
#include "broker/protocol/crc32c.h"
#include "broker/storage/atomic_file.h"

namespace strand::raft {

namespace {

constexpr std::uint32_t kHardStateMagic = 0x54535352;  // "RSST"
constexpr std::uint32_t kEpochsMagic = 0x48435045;     // "EPCH"
constexpr std::uint32_t kWatermarkMagic = 0x4b4d5748;  // "HWMK"
constexpr std::uint32_t kRejoinMagic = 0x4a4f4a52;     // "RJOJ"
constexpr std::uint32_t kRepairMagic = 0x52504152;     // "RAPR"
constexpr std::size_t kFileBytesMax = 16 + kEpochsMax * 12 + 2 * 4 * 1024 + 64;

io::Error corrupt(const std::string& path, const std::string& what) {
  return io::Error{io::ErrorKind::kCorrupt, path + ": " + what};
}

class Writer {
 public:
  template <typename T>
  void put(T value) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    protocol::store_be<T>(bytes_.data() + at, value);
  }
  void put_ids(const std::vector<NodeId>& ids) {
    put<std::uint32_t>(static_cast<std::uint32_t>(ids.size()));
    for (NodeId id : ids) put<std::int32_t>(id);
  }
  // Appends the CRC-32C of everything so far and hands the bytes over.
  std::vector<std::byte> finish() {
    put<std::uint32_t>(protocol::crc32c(bytes_));
    return std::move(bytes_);
  }

 private:
  std::vector<std::byte> bytes_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  // Checks and strips the trailing CRC.
  bool check_crc() {
    if (bytes_.size() < 4) return false;
    const auto stored = protocol::load_be<std::uint32_t>(bytes_.data() + bytes_.size() - 4);
    bytes_ = bytes_.first(bytes_.size() - 4);
    return stored == protocol::crc32c(bytes_);
  }
  template <typename T>
  bool get(T& value) {
    if (bytes_.size() < sizeof(T)) return false;
    value = protocol::load_be<T>(bytes_.data());
    bytes_ = bytes_.subspan(sizeof(T));
    return true;
  }
  bool get_ids(std::vector<NodeId>& ids) {
    std::uint32_t count = 0;
    if (!get(count) || count > 1024) return false;
    for (std::uint32_t i = 0; i < count; ++i) {
      NodeId id = 0;
      if (!get(id)) return false;
      ids.push_back(id);
    }
    return true;
  }
  bool done() const { return bytes_.empty(); }

 private:
  std::span<const std::byte> bytes_;
};

bool valid_epochs(const std::vector<TermStart>& epochs) {
  if (epochs.empty()) return false;
  for (std::size_t i = 1; i < epochs.size(); ++i) {
    if (epochs[i].term <= epochs[i - 1].term) return false;
    if (epochs[i].start_offset <= epochs[i - 1].start_offset) return false;
  }
  return epochs[0].term >= 0 && epochs[0].start_offset >= -1;
}

}  // namespace

io::Task<io::Result<void>> write_hard_state(io::FileSystem& fs, std::string directory,
                                            HardState state) {
  Writer writer;
  writer.put<std::uint32_t>(kHardStateMagic);
  writer.put<std::int32_t>(state.term);
  writer.put<std::int32_t>(state.voted_for);
  std::string path = io::join_path(directory, kHardStateFileName);
  std::vector<std::byte> bytes = writer.finish();
  co_return co_await storage::write_file_atomically(fs, std::move(path), std::move(bytes));
}

io::Task<io::Result<std::optional<HardState>>> read_hard_state(io::FileSystem& fs,
                                                               std::string directory) {
  std::string path = io::join_path(directory, kHardStateFileName);
  io::Result<std::optional<std::vector<std::byte>>> read =
      co_await storage::read_small_file(fs, path, 64);
  if (!read) co_return std::move(read).error();
  if (!*read) co_return std::optional<HardState>{};
  Reader reader(**read);
  std::uint32_t magic = 0;
  HardState state;
  const bool ok = reader.check_crc() && reader.get(magic) && magic == kHardStateMagic &&
                  reader.get(state.term) && reader.get(state.voted_for) && reader.done() &&
                  state.term >= 0;
  if (!ok) co_return corrupt(path, "bad hard state");
  co_return std::optional<HardState>{state};
}

io::Task<io::Result<void>> write_epoch_checkpoint(io::FileSystem& fs, std::string directory,
                                                  EpochCheckpoint checkpoint) {
  STRAND_ASSERT(valid_epochs(checkpoint.epochs), "epochs increase");
  STRAND_ASSERT(checkpoint.epochs.size() <= kEpochsMax, "epochs are bounded");
  Writer writer;
  writer.put<std::uint32_t>(kEpochsMagic);
  writer.put_ids(checkpoint.configuration.voters);
  writer.put_ids(checkpoint.configuration.learners);
  writer.put<std::uint32_t>(static_cast<std::uint32_t>(checkpoint.epochs.size()));
  for (const TermStart& epoch : checkpoint.epochs) {
    writer.put<std::int32_t>(epoch.term);
    writer.put<std::int64_t>(epoch.start_offset);
  }
  std::string path = io::join_path(directory, kEpochCheckpointFileName);
  std::vector<std::byte> bytes = writer.finish();
  co_return co_await storage::write_file_atomically(fs, std::move(path), std::move(bytes));
}

io::Task<io::Result<std::optional<EpochCheckpoint>>> read_epoch_checkpoint(io::FileSystem& fs,
                                                                           std::string directory) {
  std::string path = io::join_path(directory, kEpochCheckpointFileName);
  io::Result<std::optional<std::vector<std::byte>>> read =
      co_await storage::read_small_file(fs, path, kFileBytesMax);
  if (!read) co_return std::move(read).error();
  if (!*read) co_return std::optional<EpochCheckpoint>{};
  Reader reader(**read);
  std::uint32_t magic = 0;
  std::uint32_t count = 0;
  EpochCheckpoint checkpoint;
  bool ok = reader.check_crc() && reader.get(magic) && magic == kEpochsMagic &&
            reader.get_ids(checkpoint.configuration.voters) &&
            reader.get_ids(checkpoint.configuration.learners) && reader.get(count) &&
            count <= kEpochsMax;
  for (std::uint32_t i = 0; ok && i < count; ++i) {
    TermStart epoch;
    ok = reader.get(epoch.term) && reader.get(epoch.start_offset);
    checkpoint.epochs.push_back(epoch);
  }
  ok = ok && reader.done() && valid_epochs(checkpoint.epochs) && checkpoint.configuration.valid();
  if (!ok) co_return corrupt(path, "bad leader epoch checkpoint");
  co_return std::optional<EpochCheckpoint>{std::move(checkpoint)};
}

namespace {

io::Task<io::Result<void>> write_offset_file(io::FileSystem& fs, std::string path,
                                             std::uint32_t magic, Offset offset) {
  Writer writer;
  writer.put<std::uint32_t>(magic);
  writer.put<std::int64_t>(offset);
  std::vector<std::byte> bytes = writer.finish();
  co_return co_await storage::write_file_atomically(fs, std::move(path), std::move(bytes));
}

io::Task<io::Result<std::optional<Offset>>> read_offset_file(io::FileSystem& fs, std::string path,
                                                             std::uint32_t expected_magic,
                                                             const char* what) {
  io::Result<std::optional<std::vector<std::byte>>> read =
      co_await storage::read_small_file(fs, path, 64);
  if (!read) co_return std::move(read).error();
  if (!*read) co_return std::optional<Offset>{};
  Reader reader(**read);
  std::uint32_t magic = 0;
  Offset offset = 0;
  const bool ok = reader.check_crc() && reader.get(magic) && magic == expected_magic &&
                  reader.get(offset) && reader.done() && offset >= 0;
  if (!ok) co_return corrupt(path, what);
  co_return std::optional<Offset>{offset};
}

// Removes `name` from `directory` and syncs the directory; fine if it is not there.
io::Task<io::Result<void>> remove_durably(io::FileSystem& fs, std::string directory,
                                          const char* name) {
  io::Result<void> removed = co_await fs.remove(io::join_path(directory, name));
  if (!removed && removed.error().kind != io::ErrorKind::kNotFound) co_return removed;
  co_return co_await fs.sync_dir(directory);
}

}  // namespace

io::Task<io::Result<void>> write_high_watermark(io::FileSystem& fs, std::string directory,
                                                Offset high_watermark) {
  co_return co_await write_offset_file(fs, io::join_path(directory, kHighWatermarkFileName),
                                       kWatermarkMagic, high_watermark);
}

io::Task<io::Result<std::optional<Offset>>> read_high_watermark(io::FileSystem& fs,
                                                                std::string directory) {
  co_return co_await read_offset_file(fs, io::join_path(directory, kHighWatermarkFileName),
                                      kWatermarkMagic, "bad high watermark checkpoint");
}

io::Task<io::Result<void>> write_repair_marker(io::FileSystem& fs, std::string directory,
                                               Offset from) {
  co_return co_await write_offset_file(fs, io::join_path(directory, kRepairMarkerFileName),
                                       kRepairMagic, from);
}

io::Task<io::Result<std::optional<Offset>>> read_repair_marker(io::FileSystem& fs,
                                                               std::string directory) {
  co_return co_await read_offset_file(fs, io::join_path(directory, kRepairMarkerFileName),
                                      kRepairMagic, "bad repair marker");
}

io::Task<io::Result<void>> remove_repair_marker(io::FileSystem& fs, std::string directory) {
  co_return co_await remove_durably(fs, std::move(directory), kRepairMarkerFileName);
}

io::Task<io::Result<void>> write_rejoin_marker(io::FileSystem& fs, std::string directory,
                                               std::optional<OffsetAndTerm> floor) {
  Writer writer;
  writer.put<std::uint32_t>(kRejoinMagic);
  if (floor) {
    writer.put<std::int64_t>(floor->offset);
    writer.put<std::int64_t>(floor->term);
  }
  std::string path = io::join_path(directory, kRejoinMarkerFileName);
  std::vector<std::byte> bytes = writer.finish();
  co_return co_await storage::write_file_atomically(fs, std::move(path), std::move(bytes));
}

io::Task<io::Result<std::optional<RejoinMarker>>> read_rejoin_marker(io::FileSystem& fs,
                                                                     std::string directory) {
  std::string path = io::join_path(directory, kRejoinMarkerFileName);
  io::Result<std::optional<std::vector<std::byte>>> read =
      co_await storage::read_small_file(fs, path, 64);
  if (!read) co_return std::move(read).error();
  if (!*read) co_return std::optional<RejoinMarker>{};
  // Any content counts (even a damaged one, then without a floor): the name is what matters.
  RejoinMarker marker;
  Reader reader(**read);
  std::uint32_t magic = 0;
  OffsetAndTerm floor;
  if (reader.check_crc() && reader.get(magic) && magic == kRejoinMagic &&
      reader.get(floor.offset) && reader.get(floor.term) && reader.done() && floor.term >= 0) {
    marker.floor = floor;
  }
  co_return std::optional<RejoinMarker>{marker};
}

io::Task<io::Result<void>> remove_rejoin_marker(io::FileSystem& fs, std::string directory) {
  co_return co_await remove_durably(fs, std::move(directory), kRejoinMarkerFileName);
}

}  // namespace strand::raft
