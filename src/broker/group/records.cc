#include "broker/group/records.h"

#include <span>

#include "broker/protocol/codec.h"

namespace strand::group {

namespace {

constexpr std::int16_t kOffsetKeyVersion = 1;
constexpr std::int16_t kGroupKeyVersion = 2;
constexpr std::int16_t kOffsetValueVersion = 3;
constexpr std::int16_t kGroupValueVersion = 3;
constexpr std::size_t kMemberBytesMin = 2 + 2 + 2 + 4 + 4 + 4;

std::string as_string(const std::vector<std::byte>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

io::Error corrupt(std::string what) {
  return io::Error{io::ErrorKind::kCorrupt, "__consumer_offsets record: " + std::move(what)};
}

// The decoded value, or the reader's error; trailing bytes are an error too.
template <typename T>
io::Result<T> finish(const protocol::Reader& reader, T value) {
  if (!reader.ok()) return corrupt(reader.error_message());
  if (reader.remaining() != 0) return corrupt(std::to_string(reader.remaining()) + " extra bytes");
  return value;
}

// Appends the UTF-16 code units of `code_point` to the running hash.
void hash_code_point(std::uint32_t code_point, std::uint32_t& hash) {
  if (code_point >= 0x10000) {
    const std::uint32_t v = code_point - 0x10000;
    hash = hash * 31 + (0xd800 + (v >> 10));
    hash = hash * 31 + (0xdc00 + (v & 0x3ff));
  } else {
    hash = hash * 31 + code_point;
  }
}

// The length of the UTF-8 sequence that starts with `lead`, and its payload bits; 0 if invalid.
int sequence_length(std::uint8_t lead, std::uint32_t& bits) {
  if (lead < 0x80) {
    bits = lead;
    return 1;
  }
  if ((lead & 0xe0) == 0xc0) {
    bits = lead & 0x1f;
    return 2;
  }
  if ((lead & 0xf0) == 0xe0) {
    bits = lead & 0x0f;
    return 3;
  }
  if ((lead & 0xf8) == 0xf0) {
    bits = lead & 0x07;
    return 4;
  }
  return 0;
}

}  // namespace

std::int32_t java_string_hash(std::string_view text) {
  constexpr std::uint32_t kReplacement = 0xfffd;
  std::uint32_t hash = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint32_t code_point = 0;
    const int length = sequence_length(static_cast<std::uint8_t>(text[i]), code_point);
    bool valid = length > 0 && i + static_cast<std::size_t>(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      const auto next = static_cast<std::uint8_t>(text[i + static_cast<std::size_t>(k)]);
      valid = (next & 0xc0) == 0x80;
      code_point = (code_point << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are malformed for Java too.
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && code_point >= kMinForLength[length] && code_point <= 0x10ffff &&
            (code_point < 0xd800 || code_point > 0xdfff);
    if (!valid) {
      hash_code_point(kReplacement, hash);
      i += 1;
      continue;
    }
    hash_code_point(code_point, hash);
    i += static_cast<std::size_t>(length);
  }
  return static_cast<std::int32_t>(hash);
}

std::int32_t offsets_partition_for(std::string_view group_id, std::int32_t partitions) {
  STRAND_ASSERT(partitions > 0, "__consumer_offsets has partitions");
  return (java_string_hash(group_id) & 0x7fffffff) % partitions;
}

std::string encode_key(const RecordKey& key) {
  protocol::Writer writer;
  if (const OffsetKey* offset = std::get_if<OffsetKey>(&key)) {
    writer.write_i16(kOffsetKeyVersion);
    writer.write_string(offset->group);
    writer.write_string(offset->topic);
    writer.write_i32(offset->partition);
  } else {
    writer.write_i16(kGroupKeyVersion);
    writer.write_string(std::get<GroupKey>(key).group);
  }
  return as_string(writer.bytes());
}

std::string encode_offset_value(const OffsetValue& value) {
  protocol::Writer writer;
  writer.write_i16(kOffsetValueVersion);
  writer.write_i64(value.offset);
  writer.write_i32(value.leader_epoch);
  writer.write_string(value.metadata);
  writer.write_i64(value.commit_timestamp_ms);
  return as_string(writer.bytes());
}

std::string encode_group_value(const GroupValue& value) {
  protocol::Writer writer;
  writer.write_i16(kGroupValueVersion);
  writer.write_string(value.protocol_type);
  writer.write_i32(value.generation);
  writer.write_nullable_string(value.protocol);
  writer.write_nullable_string(value.leader);
  writer.write_i64(value.current_state_timestamp_ms);
  writer.write_array_length(static_cast<std::int32_t>(value.members.size()));
  for (const MemberValue& member : value.members) {
    writer.write_string(member.member_id);
    writer.write_nullable_string(member.group_instance_id);
    writer.write_string(member.client_id);
    writer.write_string(member.client_host);
    writer.write_i32(member.rebalance_timeout_ms);
    writer.write_i32(member.session_timeout_ms);
    writer.write_bytes(member.subscription);
    writer.write_bytes(member.assignment);
  }
  return as_string(writer.bytes());
}

io::Result<RecordKey> decode_key(std::string_view bytes) {
  protocol::Reader reader(as_bytes(bytes));
  const std::int16_t version = reader.read_i16();
  if (reader.ok() && (version == 0 || version == 1)) {
    OffsetKey key;
    key.group = reader.read_string();
    key.topic = reader.read_string();
    key.partition = reader.read_i32();
    return finish<RecordKey>(reader, key);
  }
  if (reader.ok() && version == 2) {
    GroupKey key{reader.read_string()};
    return finish<RecordKey>(reader, key);
  }
  if (!reader.ok()) return corrupt(reader.error_message());
  return corrupt("unknown key version " + std::to_string(version));
}

io::Result<OffsetValue> decode_offset_value(std::string_view bytes) {
  protocol::Reader reader(as_bytes(bytes));
  const std::int16_t version = reader.read_i16();
  if (reader.ok() && (version < 0 || version > 3)) {
    return corrupt("unknown offset value version " + std::to_string(version));
  }
  OffsetValue value;
  value.offset = reader.read_i64();
  if (version >= 3) value.leader_epoch = reader.read_i32();
  value.metadata = reader.read_string();
  value.commit_timestamp_ms = reader.read_i64();
  if (version == 1) (void)reader.read_i64();  // expire timestamp: retention is the broker's now
  return finish(reader, std::move(value));
}

namespace {

MemberValue read_member(protocol::Reader& reader, std::int16_t version) {
  MemberValue member;
  member.member_id = reader.read_string();
  if (version >= 3) member.group_instance_id = reader.read_nullable_string();
  member.client_id = reader.read_string();
  member.client_host = reader.read_string();
  if (version >= 1) member.rebalance_timeout_ms = reader.read_i32();
  member.session_timeout_ms = reader.read_i32();
  if (version == 0) member.rebalance_timeout_ms = member.session_timeout_ms;
  member.subscription = reader.read_bytes();
  member.assignment = reader.read_bytes();
  return member;
}

}  // namespace

io::Result<GroupValue> decode_group_value(std::string_view bytes) {
  protocol::Reader reader(as_bytes(bytes));
  const std::int16_t version = reader.read_i16();
  if (reader.ok() && (version < 0 || version > 3)) {
    return corrupt("unknown group value version " + std::to_string(version));
  }
  GroupValue value;
  value.protocol_type = reader.read_string();
  value.generation = reader.read_i32();
  value.protocol = reader.read_nullable_string();
  value.leader = reader.read_nullable_string();
  if (version >= 2) value.current_state_timestamp_ms = reader.read_i64();
  const std::int32_t count = reader.read_required_array_length(kMemberBytesMin, "members");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    value.members.push_back(read_member(reader, version));
  }
  return finish(reader, std::move(value));
}

}  // namespace strand::group
