#include "app/sim_scenario.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strand::app {

namespace {

using io::Duration;
using sim::BrokerWorkloadOptions;
using sim::EchoWorkloadOptions;

std::string line_of(const toml::node& node) {
  const auto line = node.source().begin.line;
  return line > 0 ? " (line " + std::to_string(line) + ")" : "";
}

// Reads typed, range-checked keys from one table and remembers what it has not seen, so that a
// misspelt key is an error instead of a silently ignored setting.
class TableReader {
 public:
  TableReader(const toml::table& root, std::string section, std::string* error)
      : section_(std::move(section)), error_(error) {
    const toml::node* node = root.get(section_);
    if (node == nullptr) return;
    table_ = node->as_table();
    if (table_ == nullptr) fail("[" + section_ + "] must be a table" + line_of(*node));
  }

  void number(std::string_view key, double low, double high, double* out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    std::optional<double> value = node->value<double>();
    if (!value || *value < low || *value > high) {
      fail(where(key, *node) + " must be a number in [" + format(low) + ", " + format(high) + "]");
      return;
    }
    *out = *value;
  }

  template <typename T>
  void integer(std::string_view key, std::int64_t low, std::int64_t high, T* out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    std::optional<std::int64_t> value = node->value_exact<std::int64_t>();
    if (!value || *value < low || *value > high) {
      fail(where(key, *node) + " must be an integer in [" + std::to_string(low) + ", " +
           std::to_string(high) + "]");
      return;
    }
    *out = static_cast<T>(*value);
  }

  void seconds(std::string_view key, double high, Duration* out) { scaled(key, high, 1e9, out); }
  void millis(std::string_view key, double high, Duration* out) { scaled(key, high, 1e6, out); }
  void micros(std::string_view key, double high, Duration* out) { scaled(key, high, 1e3, out); }

  void boolean(std::string_view key, bool* out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    std::optional<bool> value = node->value_exact<bool>();
    if (!value) {
      fail(where(key, *node) + " must be true or false");
      return;
    }
    *out = *value;
  }

  void string(std::string_view key, std::string* out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    std::optional<std::string> value = node->value_exact<std::string>();
    if (!value) {
      fail(where(key, *node) + " must be a string");
      return;
    }
    *out = *value;
  }

  // A non-empty array of booleans.
  void booleans(std::string_view key, std::vector<bool>* out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    std::vector<bool> values;
    for (std::size_t i = 0; array != nullptr && i < array->size(); ++i) {
      std::optional<bool> value = (*array)[i].value_exact<bool>();
      if (!value) {
        array = nullptr;
        break;
      }
      values.push_back(*value);
    }
    if (array == nullptr || values.empty()) {
      fail(where(key, *node) + " must be a non-empty array of true and false");
      return;
    }
    *out = std::move(values);
  }

  // An array of strings, each one of `allowed`.
  void strings(std::string_view key, const std::set<std::string>& allowed,
               std::vector<std::string>* out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    std::vector<std::string> values;
    for (std::size_t i = 0; array != nullptr && i < array->size(); ++i) {
      std::optional<std::string> value = (*array)[i].value_exact<std::string>();
      if (!value || !allowed.contains(*value)) {
        array = nullptr;
        break;
      }
      values.push_back(*value);
    }
    if (array == nullptr || values.empty()) {
      std::string choices;
      for (const std::string& choice : allowed)
        choices += (choices.empty() ? "\"" : ", \"") + choice + "\"";
      fail(where(key, *node) + " must be a non-empty array of " + choices);
      return;
    }
    *out = std::move(values);
  }

  // Every key of the table as text (strings, integers and booleans), in file order of keys.
  void pairs(std::vector<std::pair<std::string, std::string>>* out) {
    if (table_ == nullptr) return;
    for (const auto& [key, node] : *table_) {
      seen_.insert(std::string(key.str()));
      std::string text;
      if (auto s = node.value_exact<std::string>()) {
        text = *s;
      } else if (auto i = node.value_exact<std::int64_t>()) {
        text = std::to_string(*i);
      } else if (auto b = node.value_exact<bool>()) {
        text = *b ? "true" : "false";
      } else {
        fail(where(key.str(), node) + " must be a string, an integer or a boolean");
        return;
      }
      out->emplace_back(std::string(key.str()), std::move(text));
    }
  }

  // Call after reading every known key.
  void reject_unknown() {
    if (table_ == nullptr) return;
    for (const auto& [key, node] : *table_) {
      if (!seen_.contains(std::string(key.str()))) {
        fail("unknown key " + where(key.str(), node));
        return;
      }
    }
  }

 private:
  const toml::node* find(std::string_view key) {
    seen_.insert(std::string(key));
    return table_ == nullptr ? nullptr : table_->get(key);
  }
  void scaled(std::string_view key, double high, double ns_per_unit, Duration* out) {
    double value = static_cast<double>(out->count_ns()) / ns_per_unit;
    number(key, 0, high, &value);
    *out = Duration::ns(static_cast<std::int64_t>(value * ns_per_unit));
  }
  std::string where(std::string_view key, const toml::node& node) const {
    return "[" + section_ + "] " + std::string(key) + line_of(node);
  }
  static std::string format(double value) {
    std::string text = std::to_string(value);
    while (text.size() > 1 && text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
    return text;
  }
  void fail(const std::string& message) {
    if (error_->empty()) *error_ = message;
  }

  std::string section_;
  std::string* error_;
  const toml::table* table_ = nullptr;
  std::set<std::string> seen_;
};

void read_network(const toml::table& root, sim::LinkConfig& link, std::string* error) {
  TableReader network(root, "network", error);
  network.micros("latency_base_us", 10'000'000, &link.latency_base);
  network.micros("latency_jitter_us", 10'000'000, &link.latency_jitter_mean);
  network.number("loss", 0, 0.9, &link.loss);
  network.number("duplicate", 0, 1, &link.duplicate);
  network.number("reorder", 0, 1, &link.reorder);
  network.millis("reorder_delay_ms", 60'000, &link.reorder_delay_max);
  network.integer("bandwidth_bytes_per_s", 0, INT64_MAX, &link.bandwidth_bytes_per_s);
  network.reject_unknown();
}

// ---- The echo workload ----------------------------------------------------------------------

void read_echo(const toml::table& root, EchoWorkloadOptions& o, std::string* error) {
  TableReader world(root, "world", error);
  world.integer("nodes", 1, 64, &o.nodes_count);
  world.seconds("duration_s", 86'400, &o.duration);
  world.seconds("quiet_s", 86'400, &o.quiet);
  world.reject_unknown();
  TableReader workload(root, "workload", error);
  std::string kind;
  workload.string("kind", &kind);
  workload.integer("clients_per_node", 0, 64, &o.clients_per_node);
  workload.integer("frame_bytes_max", 1, 1 << 20, &o.frame_bytes_max);
  workload.millis("think_time_ms", 60'000, &o.think_time_max);
  workload.integer("port", 1, 65535, &o.port);
  workload.reject_unknown();
  TableReader checks(root, "checks", error);
  checks.integer("frames_min", 0, INT64_MAX, &o.frames_min);
  checks.integer("events_max", 1, INT64_MAX, &o.events_max);
  checks.reject_unknown();
  read_network(root, o.link, error);
  TableReader faults(root, "faults", error);
  faults.seconds("partition_every_s", 86'400, &o.partition_every);
  faults.seconds("partition_length_s", 86'400, &o.partition_length);
  faults.seconds("crash_every_s", 86'400, &o.crash_every);
  faults.seconds("crash_downtime_s", 86'400, &o.crash_downtime);
  faults.integer("clock_drift_ppm_max", 0, 50'000, &o.clock_drift_ppm_max);
  faults.seconds("wall_jump_max_s", 86'400 * 365, &o.wall_jump_max);
  faults.boolean("buggify", &o.buggify);
  faults.reject_unknown();
  if (error->empty() && o.quiet > o.duration) *error = "[world] quiet_s must not exceed duration_s";
  if (error->empty() && o.duration <= Duration{}) *error = "[world] duration_s must be positive";
}

// ---- The broker workload --------------------------------------------------------------------

void read_broker_workload(const toml::table& root, BrokerWorkloadOptions& o, std::string* error) {
  TableReader world(root, "world", error);
  world.integer("nodes", 1, 64, &o.nodes_count);
  world.integer("voters", 0, 64, &o.voters_count);
  world.integer("racks", 0, 64, &o.racks_count);
  world.seconds("duration_s", 86'400, &o.duration);
  world.seconds("quiet_s", 86'400, &o.quiet);
  world.reject_unknown();
  TableReader w(root, "workload", error);
  std::string kind;
  w.string("kind", &kind);
  w.integer("topics", 1, 1000, &o.topics_count);
  w.integer("partitions", 1, 1000, &o.partitions_count);
  w.integer("producers", 0, 256, &o.producers_count);
  w.integer("consumers", 0, 256, &o.consumers_count);
  w.integer("tail_consumers", 0, 256, &o.tail_consumers_count);
  std::vector<std::string> acks;
  w.strings("acks", {"all", "1", "0"}, &acks);
  if (!acks.empty()) o.acks.clear();
  for (const std::string& a : acks) o.acks.push_back(a == "all" ? -1 : a == "1" ? 1 : 0);
  w.booleans("idempotent", &o.idempotent);
  w.number("records_per_s", 0.001, 100'000, &o.records_per_s);
  w.integer("record_bytes_min", 0, 1 << 20, &o.record_bytes_min);
  w.integer("record_bytes_max", 1, 1 << 20, &o.record_bytes_max);
  w.number("keyed_fraction", 0, 1, &o.keyed_fraction);
  w.integer("keys", 0, 1 << 20, &o.keys_count);
  w.millis("linger_ms", 60'000, &o.linger);
  w.integer("batch_bytes", 64, 16 << 20, &o.batch_bytes);
  w.millis("request_timeout_ms", 600'000, &o.request_timeout);
  w.integer("pending_max", 1, 1 << 20, &o.pending_max);
  w.millis("fetch_max_wait_ms", 30'000, &o.fetch_max_wait);
  w.seconds("drain_s", 86'400, &o.drain);
  w.integer("group_members", 0, 64, &o.group_members_count);
  w.millis("group_session_timeout_ms", 600'000, &o.group_session_timeout);
  w.millis("group_heartbeat_interval_ms", 600'000, &o.group_heartbeat_interval);
  w.millis("group_commit_interval_ms", 600'000, &o.group_commit_interval);
  w.seconds("reassign_every_s", 86'400, &o.reassign_every);
  w.reject_unknown();
  TableReader broker(root, "broker", error);
  broker.pairs(&o.broker_config);
  TableReader checks(root, "checks", error);
  checks.integer("acked_min", 0, INT64_MAX, &o.acked_min);
  checks.seconds("liveness_bound_s", 86'400, &o.liveness_bound);
  checks.seconds("group_liveness_bound_s", 86'400, &o.group_liveness_bound);
  checks.integer("events_max", 1, INT64_MAX, &o.events_max);
  checks.reject_unknown();
}

void read_broker_faults(const toml::table& root, BrokerWorkloadOptions& o, std::string* error) {
  read_network(root, o.link, error);
  sim::BrokerFaultOptions& f = o.faults;
  TableReader faults(root, "faults", error);
  faults.seconds("crash_every_s", 86'400, &f.crash_every);
  faults.seconds("crash_downtime_s", 86'400, &f.crash_downtime);
  faults.number("crash_all_fraction", 0, 1, &f.crash_all_fraction);
  faults.seconds("partition_every_s", 86'400, &f.partition_every);
  faults.number("isolate_leader_fraction", 0, 1, &f.isolate_leader_fraction);
  faults.seconds("partition_length_s", 86'400, &f.partition_length);
  const std::vector<std::string_view>& shape_names = sim::partition_shape_names();
  std::vector<std::string> shapes;
  faults.strings("partition_shapes", std::set<std::string>(shape_names.begin(), shape_names.end()),
                 &shapes);
  for (const std::string& shape : shapes) {
    const auto found = std::find(shape_names.begin(), shape_names.end(), shape);
    f.partition_shapes.push_back(
        static_cast<sim::PartitionShape>(std::distance(shape_names.begin(), found)));
  }
  faults.seconds("pause_every_s", 86'400, &f.pause_every);
  faults.seconds("pause_length_max_s", 86'400, &f.pause_length_max);
  faults.seconds("rolling_restart_every_s", 86'400, &f.rolling_restart_every);
  faults.seconds("rolling_restart_pause_s", 86'400, &f.rolling_restart_pause);
  faults.number("disk_read_error", 0, 1, &f.disk_read_error);
  faults.number("disk_write_error", 0, 1, &f.disk_write_error);
  faults.number("disk_sync_error", 0, 1, &f.disk_sync_error);
  faults.millis("disk_latency_max_ms", 60'000, &f.disk_latency_max);
  faults.seconds("no_space_every_s", 86'400, &f.no_space_every);
  faults.seconds("no_space_length_s", 86'400, &f.no_space_length);
  faults.seconds("bit_flip_every_s", 86'400, &f.bit_flip_every);
  faults.integer("clock_drift_ppm_max", 0, 50'000, &f.clock_drift_ppm_max);
  faults.seconds("wall_jump_every_s", 86'400, &f.wall_jump_every);
  faults.seconds("wall_jump_max_s", 86'400 * 365, &f.wall_jump_max);
  faults.seconds("member_crash_every_s", 86'400, &f.member_crash_every);
  faults.seconds("member_downtime_s", 86'400, &f.member_downtime);
  faults.boolean("buggify", &f.buggify);
  faults.reject_unknown();
}

std::optional<WorkloadKind> read_kind(const toml::table& root, std::string* error) {
  const toml::node* node = root.at_path("workload.kind").node();
  if (node == nullptr) return WorkloadKind::kEcho;
  const std::optional<std::string> kind = node->value_exact<std::string>();
  if (kind == "echo") return WorkloadKind::kEcho;
  if (kind == "broker") return WorkloadKind::kBroker;
  *error = "[workload] kind" + line_of(*node) + " must be \"echo\" or \"broker\"";
  return std::nullopt;
}

std::string check_top_level(const toml::table& root, WorkloadKind kind) {
  std::set<std::string> known = {"name",    "description", "world", "workload",
                                 "network", "faults",      "checks"};
  if (kind == WorkloadKind::kBroker) known.insert({"broker", "planted_bug"});
  for (const auto& [key, node] : root) {
    if (!known.contains(std::string(key.str()))) {
      return "unknown key " + std::string(key.str()) + line_of(node);
    }
  }
  return "";
}

}  // namespace

std::optional<Scenario> load_scenario(const std::string& path, std::string* error) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    *error = "cannot load scenario " + path + ": " + std::string(e.description()) +
             (where.line > 0 ? " (line " + std::to_string(where.line) + ")" : "");
    return std::nullopt;
  }
  Scenario scenario;
  scenario.path = path;
  scenario.name = root["name"].value_or(std::string("unnamed"));
  std::string problem;
  const std::optional<WorkloadKind> kind = read_kind(root, &problem);
  if (kind) {
    scenario.kind = *kind;
    problem = check_top_level(root, *kind);
  }
  if (problem.empty() && scenario.kind == WorkloadKind::kEcho) {
    read_echo(root, scenario.echo, &problem);
  } else if (problem.empty()) {
    read_broker_workload(root, scenario.broker, &problem);
    read_broker_faults(root, scenario.broker, &problem);
    if (const toml::node* bug = root.get("planted_bug"); bug && problem.empty()) {
      std::optional<std::string> name = bug->value_exact<std::string>();
      if (!name) problem = "planted_bug" + line_of(*bug) + " must be a string";
      if (name) scenario.broker.planted_bug = *name;
    }
    if (problem.empty()) {
      if (std::optional<std::string> invalid = sim::validate(scenario.broker)) problem = *invalid;
    }
  }
  if (!problem.empty()) {
    *error = "bad scenario " + path + ": " + problem;
    return std::nullopt;
  }
  return scenario;
}

}  // namespace strand::app
