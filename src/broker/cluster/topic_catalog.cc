#include "broker/cluster/topic_catalog.h"

#include <charconv>
#include <cstdio>
#include <string_view>

#include "broker/config.h"
#include "broker/protocol/crc32c.h"

namespace strand::cluster {

namespace {

// Line format, one record per line, fields separated by single spaces (topic names, config keys
// and the values Strand accepts hold none):
//   topic <name> <partitions> <id-high-hex> <id-low-hex>
//   config <name> <key> <value>
//   end <crc32c-hex of everything before this line>
std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> fields;
  while (!line.empty() && fields.size() < 8) {
    const std::size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return fields;
}

template <typename Int>
bool parse_number(std::string_view text, Int& out, int base = 10) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out, base);
  return ec == std::errc{} && ptr == end;
}

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

io::Error corrupt(std::size_t line_number, std::string_view why) {
  return io::Error{io::ErrorKind::kCorrupt, std::string(kTopicCatalogName) + " line " +
                                                std::to_string(line_number) + ": " +
                                                std::string(why)};
}

}  // namespace

io::Result<TopicCatalog> TopicCatalog::parse(std::span<const std::byte> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  TopicCatalog catalog;
  std::size_t line_number = 0;
  std::size_t position = 0;
  bool ended = false;
  while (position < text.size() && !ended) {
    const std::size_t newline = text.find('\n', position);
    if (newline == std::string_view::npos) return corrupt(line_number + 1, "no line end");
    std::string_view line = text.substr(position, newline - position);
    line_number += 1;
    std::vector<std::string_view> fields = split(line);
    if (fields.size() == 5 && fields[0] == "topic") {
      TopicInfo topic;
      topic.name = std::string(fields[1]);
      if (!parse_number(fields[2], topic.partitions) || topic.partitions <= 0 ||
          !parse_number(fields[3], topic.id_high, 16) ||
          !parse_number(fields[4], topic.id_low, 16) || catalog.topics_.contains(topic.name)) {
        return corrupt(line_number, "bad topic line");
      }
      catalog.topics_.emplace(topic.name, std::move(topic));
    } else if (fields.size() == 4 && fields[0] == "config") {
      auto it = catalog.topics_.find(std::string(fields[1]));
      if (it == catalog.topics_.end()) return corrupt(line_number, "config of an unknown topic");
      storage::LogConfig scratch;
      if (!apply_topic_config(scratch, fields[2], fields[3])) {
        return corrupt(line_number, "bad topic config");
      }
      it->second.configs[std::string(fields[2])] = std::string(fields[3]);
    } else if (fields.size() == 2 && fields[0] == "end") {
      std::uint32_t crc = 0;
      const auto covered = bytes.subspan(0, position);
      if (!parse_number(fields[1], crc, 16) || crc != protocol::crc32c(covered)) {
        return corrupt(line_number, "checksum mismatch");
      }
      ended = true;
    } else {
      return corrupt(line_number, "unknown record");
    }
    position = newline + 1;
  }
  if (!ended || position != text.size()) return corrupt(line_number, "missing or early end line");
  return catalog;
}

std::vector<std::byte> TopicCatalog::serialize() const {
  std::string text;
  for (const auto& [name, topic] : topics_) {
    text += "topic " + name + " " + std::to_string(topic.partitions) + " " + hex64(topic.id_high) +
            " " + hex64(topic.id_low) + "\n";
    for (const auto& [key, value] : topic.configs) {
      text += "config " + name + " " + key + " " + value + "\n";
    }
  }
  std::vector<std::byte> out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", protocol::crc32c(out));
  const std::string end = std::string("end ") + crc + "\n";
  for (char c : end) out.push_back(static_cast<std::byte>(c));
  return out;
}

const TopicInfo* TopicCatalog::find(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

void TopicCatalog::add(TopicInfo topic) {
  STRAND_ASSERT(topic.partitions > 0, "a topic has at least one partition");
  const std::string name = topic.name;
  const bool added = topics_.emplace(name, std::move(topic)).second;
  STRAND_ASSERT(added, "topic names are unique");
}

void TopicCatalog::remove(const std::string& name) {
  const std::size_t removed = topics_.erase(name);
  STRAND_ASSERT(removed == 1, "removing a topic that exists");
}

void TopicCatalog::set_partitions(const std::string& name, std::int32_t partitions) {
  auto it = topics_.find(name);
  STRAND_ASSERT(it != topics_.end(), "growing a topic that exists");
  STRAND_ASSERT(partitions > it->second.partitions, "partition counts only grow");
  it->second.partitions = partitions;
}

storage::LogConfig TopicCatalog::log_config(const TopicInfo& topic,
                                            const storage::LogConfig& defaults) const {
  storage::LogConfig config = defaults;
  for (const auto& [key, value] : topic.configs) {
    io::Result<void> applied = apply_topic_config(config, key, value);
    STRAND_ASSERT(applied.ok(), "catalog configs were validated when set");
  }
  return config;
}

}  // namespace strand::cluster
