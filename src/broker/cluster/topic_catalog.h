// The topics a single-node broker has, with their partition counts and config overrides. A pure
// value: parse/serialize to the checkpoint file `<data>/topics.catalog` (written atomically by
// the partition manager). The replicated metadata log takes this role once the controller exists.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "broker/storage/partition_log.h"
#include "io/result.h"

namespace strand::cluster {

inline constexpr char kTopicCatalogName[] = "topics.catalog";

struct TopicInfo {
  std::string name;
  std::int32_t partitions = 0;
  std::map<std::string, std::string> configs;  // overrides only, Kafka's topic-level names
  std::uint64_t id_high = 0;                   // topic id (Kafka's UUID), from the broker's rng
  std::uint64_t id_low = 0;
};

class TopicCatalog {
 public:
  // Errors: kCorrupt naming the line that is wrong or a checksum mismatch.
  static io::Result<TopicCatalog> parse(std::span<const std::byte> bytes);
  std::vector<std::byte> serialize() const;

  const TopicInfo* find(const std::string& name) const;
  const std::map<std::string, TopicInfo>& topics() const { return topics_; }
  // REQUIRES: no topic of that name; partitions > 0.
  void add(TopicInfo topic);
  // REQUIRES: the topic exists.
  void remove(const std::string& name);
  // REQUIRES: the topic exists and `partitions` is larger than it has.
  void set_partitions(const std::string& name, std::int32_t partitions);

  // The topic's log config: `defaults` with its overrides applied (overrides were checked when
  // set).
  storage::LogConfig log_config(const TopicInfo& topic, const storage::LogConfig& defaults) const;

 private:
  std::map<std::string, TopicInfo> topics_;
};

}  // namespace strand::cluster
