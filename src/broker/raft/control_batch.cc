#include "broker/raft/control_batch.h"

#include <string>

#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/record_batch.h"

namespace strand::raft {

namespace {

constexpr std::int16_t kControlBit = 0x20;
constexpr std::size_t kControlKeyBytes = 4;

io::Error corrupt(std::string message) {
  return io::Error{io::ErrorKind::kCorrupt, std::move(message)};
}

std::string control_key(std::int16_t type) {
  std::string key(kControlKeyBytes, '\0');
  auto* p = reinterpret_cast<std::byte*>(key.data());
  protocol::store_be<std::int16_t>(p, 0);  // version
  protocol::store_be<std::int16_t>(p + 2, type);
  return key;
}

void put_ids(std::string& out, const std::vector<NodeId>& ids) {
  std::byte buffer[4];
  protocol::store_be<std::uint32_t>(buffer, static_cast<std::uint32_t>(ids.size()));
  out.append(reinterpret_cast<const char*>(buffer), 4);
  for (NodeId id : ids) {
    protocol::store_be<std::int32_t>(buffer, id);
    out.append(reinterpret_cast<const char*>(buffer), 4);
  }
}

// u32 voter count, voters i32..., u32 learner count, learners i32..., big-endian.
std::string encode_configuration(const Configuration& configuration) {
  std::string out;
  put_ids(out, configuration.voters);
  put_ids(out, configuration.learners);
  return out;
}

bool take_ids(std::span<const std::byte>& in, std::vector<NodeId>& ids) {
  if (in.size() < 4) return false;
  const auto count = protocol::load_be<std::uint32_t>(in.data());
  in = in.subspan(4);
  if (count > kConfigurationMembersMax || in.size() < std::size_t{count} * 4) return false;
  for (std::uint32_t i = 0; i < count; ++i) {
    ids.push_back(protocol::load_be<std::int32_t>(in.data()));
    in = in.subspan(4);
  }
  return true;
}

io::Result<Configuration> decode_configuration(const std::optional<std::string>& value) {
  if (!value) return corrupt("configuration record has no value");
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(value->data()), value->size());
  Configuration configuration;
  if (!take_ids(in, configuration.voters) || !take_ids(in, configuration.learners) || !in.empty() ||
      !configuration.valid()) {
    return corrupt("malformed configuration record");
  }
  return configuration;
}

// Fills kind and configuration of `entry` from the one control record of `view`.
io::Result<void> read_control(const protocol::RecordBatchView& view, Entry& entry) {
  io::Result<std::vector<protocol::Record>> records = protocol::read_records(view, 1 << 20);
  if (!records) return std::move(records).error();
  if (records->size() != 1 || !(*records)[0].key || (*records)[0].key->size() != kControlKeyBytes) {
    return corrupt("control batch without one control record");
  }
  const auto* key = reinterpret_cast<const std::byte*>((*records)[0].key->data());
  const auto type = protocol::load_be<std::int16_t>(key + 2);
  if (type == kControlTypeLeaderChange) {
    entry.meta.kind = EntryKind::kLeaderChange;
    return io::ok();
  }
  if (type != kControlTypeConfiguration) {
    return corrupt("unknown control type " + std::to_string(type));
  }
  io::Result<Configuration> configuration = decode_configuration((*records)[0].value);
  if (!configuration) return std::move(configuration).error();
  entry.meta.kind = EntryKind::kConfiguration;
  entry.configuration = std::move(*configuration);
  return io::ok();
}

}  // namespace

std::vector<std::byte> build_control_batch(const Entry& entry, std::int64_t timestamp_ms) {
  STRAND_ASSERT(entry.meta.kind != EntryKind::kData, "data entries carry their own batch");
  STRAND_ASSERT(entry.meta.base_offset == entry.meta.last_offset, "a control entry is one offset");
  const bool is_configuration = entry.meta.kind == EntryKind::kConfiguration;
  STRAND_ASSERT(is_configuration == entry.configuration.has_value(),
                "configuration entries, and only they, carry a configuration");
  protocol::Record record;
  record.key = control_key(is_configuration ? kControlTypeConfiguration : kControlTypeLeaderChange);
  record.value = is_configuration ? encode_configuration(*entry.configuration) : std::string();
  record.timestamp_ms = timestamp_ms;
  const protocol::Record records[] = {record};
  std::vector<std::byte> batch = protocol::build_batch(records);
  std::byte* h = batch.data();
  const auto attributes = protocol::load_be<std::int16_t>(h + protocol::batch_field::kAttributes);
  protocol::store_be<std::int16_t>(h + protocol::batch_field::kAttributes,
                                   static_cast<std::int16_t>(attributes | kControlBit));
  protocol::store_be<std::uint32_t>(h + protocol::batch_field::kCrc,
                                    protocol::compute_batch_crc(batch));
  protocol::set_base_offset(batch, entry.meta.base_offset);
  protocol::set_partition_leader_epoch(batch, entry.meta.term);
  return batch;
}

io::Result<Entry> entry_from_batch(std::span<const std::byte> batch) {
  io::Result<protocol::RecordBatchView> view =
      protocol::RecordBatchView::parse(batch, protocol::BatchOrigin::kLog);
  if (!view) return std::move(view).error();
  Entry entry;
  entry.meta.base_offset = view->base_offset();
  entry.meta.last_offset = view->last_offset();
  entry.meta.term = view->partition_leader_epoch();
  if (entry.meta.base_offset < 0 || entry.meta.term < 1) {
    return corrupt("batch at offset " + std::to_string(entry.meta.base_offset) + " of term " +
                   std::to_string(entry.meta.term) + " is not a Raft entry");
  }
  if (view->control()) {
    io::Result<void> control = read_control(*view, entry);
    if (!control) return std::move(control).error();
    if (entry.meta.base_offset != entry.meta.last_offset) {
      return corrupt("control entry spans more than one offset");
    }
  }
  entry.payload.assign(batch.begin(), batch.end());
  return entry;
}

io::Result<std::vector<Entry>> entries_from_batches(std::span<const std::byte> bytes,
                                                    std::size_t entries_max) {
  std::vector<Entry> entries;
  while (!bytes.empty()) {
    if (entries.size() >= entries_max) return corrupt("too many entries");
    io::Result<std::span<const std::byte>> batch = protocol::next_batch(bytes);
    if (!batch && batch.error().kind == io::ErrorKind::kOutOfRange) {
      return corrupt("truncated batch");
    }
    if (!batch) return std::move(batch).error();
    io::Result<Entry> entry = entry_from_batch(*batch);
    if (!entry) return std::move(entry).error();
    entries.push_back(std::move(*entry));
  }
  return entries;
}

}  // namespace strand::raft
