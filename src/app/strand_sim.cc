// strand-sim: runs deterministic simulations from TOML scenario files.
//
//   strand-sim run <scenario.toml> [--seed N] [--swarm]   one seed; prints the summary, the checks'
//                                                          verdicts and the trace hash
//   strand-sim swarm <scenario.toml> --seeds A..B          every seed, each with a random fault mix
//
// Exit codes: 0 ok, 1 a check failed, 2 bad usage. This is the only place that reads OS entropy
// (for a seed when none is given) and real time (to report the speed).
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/echo_workload.h"

namespace {

using strand::io::Duration;
using strand::sim::EchoWorkloadOptions;
using strand::sim::EchoWorkloadReport;

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::uint64_t kSwarmSeedsMax = 1'000'000;

struct Scenario {
  std::string path;
  std::string name;
  EchoWorkloadOptions options;
};

// Reads typed, range-checked keys from one table and remembers what it has not seen, so that a
// misspelt key is an error instead of a silently ignored setting.
class TableReader {
 public:
  TableReader(const toml::table& root, std::string section, std::string* error)
      : section_(std::move(section)), error_(error) {
    const toml::node* node = root.get(section_);
    if (node == nullptr) return;
    table_ = node->as_table();
    if (table_ == nullptr) fail("[" + section_ + "] must be a table");
  }

  void number(std::string_view key, double low, double high, double* out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    std::optional<double> value = node->value<double>();
    if (!value || *value < low || *value > high) {
      fail(where(key) + " must be a number in [" + format(low) + ", " + format(high) + "]");
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
      fail(where(key) + " must be an integer in [" + std::to_string(low) + ", " +
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
      fail(where(key) + " must be true or false");
      return;
    }
    *out = *value;
  }

  // Call after reading every known key.
  void reject_unknown() {
    if (table_ == nullptr) return;
    for (const auto& [key, node] : *table_) {
      if (!seen_.contains(std::string(key.str()))) {
        fail("unknown key " + where(key.str()));
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
  std::string where(std::string_view key) const { return "[" + section_ + "] " + std::string(key); }
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

void read_world_and_workload(const toml::table& root, EchoWorkloadOptions& o, std::string* error) {
  TableReader world(root, "world", error);
  world.integer("nodes", 1, 64, &o.nodes_count);
  world.seconds("duration_s", 86'400, &o.duration);
  world.seconds("quiet_s", 86'400, &o.quiet);
  world.reject_unknown();
  TableReader workload(root, "workload", error);
  workload.integer("clients_per_node", 0, 64, &o.clients_per_node);
  workload.integer("frame_bytes_max", 1, 1 << 20, &o.frame_bytes_max);
  workload.millis("think_time_ms", 60'000, &o.think_time_max);
  workload.integer("port", 1, 65535, &o.port);
  workload.reject_unknown();
  TableReader checks(root, "checks", error);
  checks.integer("frames_min", 0, INT64_MAX, &o.frames_min);
  checks.integer("events_max", 1, INT64_MAX, &o.events_max);
  checks.reject_unknown();
}

void read_network_and_faults(const toml::table& root, EchoWorkloadOptions& o, std::string* error) {
  TableReader network(root, "network", error);
  network.micros("latency_base_us", 10'000'000, &o.link.latency_base);
  network.micros("latency_jitter_us", 10'000'000, &o.link.latency_jitter_mean);
  network.number("loss", 0, 0.9, &o.link.loss);
  network.number("duplicate", 0, 1, &o.link.duplicate);
  network.number("reorder", 0, 1, &o.link.reorder);
  network.millis("reorder_delay_ms", 60'000, &o.link.reorder_delay_max);
  network.integer("bandwidth_bytes_per_s", 0, INT64_MAX, &o.link.bandwidth_bytes_per_s);
  network.reject_unknown();
  TableReader faults(root, "faults", error);
  faults.seconds("partition_every_s", 86'400, &o.partition_every);
  faults.seconds("partition_length_s", 86'400, &o.partition_length);
  faults.seconds("crash_every_s", 86'400, &o.crash_every);
  faults.seconds("crash_downtime_s", 86'400, &o.crash_downtime);
  faults.integer("clock_drift_ppm_max", 0, 50'000, &o.clock_drift_ppm_max);
  faults.seconds("wall_jump_max_s", 86'400 * 365, &o.wall_jump_max);
  faults.boolean("buggify", &o.buggify);
  faults.reject_unknown();
}

// Errors: a one-line message naming the file and what is wrong with it.
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
  for (const auto& [key, node] : root) {
    static const std::set<std::string> kKnown = {"name", "description", "world", "workload",
                                                 "network", "faults", "checks"};
    if (!kKnown.contains(std::string(key.str()))) problem = "unknown key " + std::string(key.str());
  }
  if (problem.empty()) read_world_and_workload(root, scenario.options, &problem);
  if (problem.empty()) read_network_and_faults(root, scenario.options, &problem);
  if (problem.empty() && scenario.options.quiet > scenario.options.duration) {
    problem = "[world] quiet_s must not exceed duration_s";
  }
  if (problem.empty() && scenario.options.duration <= Duration{}) {
    problem = "[world] duration_s must be positive";
  }
  if (!problem.empty()) {
    *error = "bad scenario " + path + ": " + problem;
    return std::nullopt;
  }
  return scenario;
}

std::string hex(std::uint64_t value) { return fmt::format("{:#018x}", value); }

void print_report(const Scenario& scenario, const EchoWorkloadReport& report, double real_s,
                  const std::string& replay) {
  const auto& net = report.network;
  spdlog::info("scenario: {} ({}, {} nodes, {:.0f} s)", scenario.name, scenario.path,
               scenario.options.nodes_count, scenario.options.duration.seconds());
  spdlog::info("seed: {}", report.seed);
  spdlog::info("events run: {}", report.events_run);
  spdlog::info("simulated: {:.3f} s in {:.3f} s real ({:.0f}x)", report.simulated_s, real_s,
               real_s > 0 ? report.simulated_s / real_s : 0.0);
  spdlog::info("faults: {} partitions, {} crashes; packets {} sent, {} lost, {} blocked, "
               "{} duplicated, {} reordered; {} chunks retransmitted",
               report.partitions, report.crashes, net.packets_sent, net.packets_lost,
               net.packets_blocked, net.packets_duplicated, net.packets_reordered,
               net.chunks_retransmitted);
  spdlog::info("workload: {} frames verified ({} bytes), {} connects failed, {} connections broken",
               report.frames_verified, report.bytes_verified, report.connects_failed,
               report.connections_broken);
  for (const auto& check : report.checks) {
    spdlog::info("check {}: {} ({})", check.name, check.ok ? "ok" : "FAILED", check.detail);
  }
  spdlog::info("trace hash: {}", hex(report.trace_hash));
  spdlog::info("result: {}", report.ok() ? "ok" : "FAILED");
  if (!report.ok()) spdlog::info("replay: {}", replay);
}

std::string replay_command(const std::string& path, std::uint64_t seed, bool swarm) {
  return "strand-sim run " + path + " --seed " + std::to_string(seed) + (swarm ? " --swarm" : "");
}

int run_one(const Scenario& scenario, std::optional<std::uint64_t> seed_flag, bool swarm) {
  std::uint64_t seed = 0;
  if (seed_flag) {
    seed = *seed_flag;
  } else {
    std::random_device entropy;  // only here: a run without --seed still prints its seed
    seed = (std::uint64_t{entropy()} << 32) | entropy();
    spdlog::info("no --seed given: picked seed {} from OS entropy", seed);
  }
  const EchoWorkloadOptions options =
      swarm ? strand::sim::randomize_faults(scenario.options, seed) : scenario.options;
  const auto start = std::chrono::steady_clock::now();
  const EchoWorkloadReport report = strand::sim::run_echo_workload(seed, options);
  const std::chrono::duration<double> real = std::chrono::steady_clock::now() - start;
  print_report(scenario, report, real.count(), replay_command(scenario.path, seed, swarm));
  return report.ok() ? kExitOk : kExitCheckFailed;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_seed_range(std::string_view text) {
  const std::size_t dots = text.find("..");
  if (dots == std::string_view::npos) return std::nullopt;
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  const std::string_view a = text.substr(0, dots);
  const std::string_view b = text.substr(dots + 2);
  auto [end_a, error_a] = std::from_chars(a.data(), a.data() + a.size(), low);
  auto [end_b, error_b] = std::from_chars(b.data(), b.data() + b.size(), high);
  if (error_a != std::errc{} || end_a != a.data() + a.size()) return std::nullopt;
  if (error_b != std::errc{} || end_b != b.data() + b.size()) return std::nullopt;
  if (low > high || high - low >= kSwarmSeedsMax) return std::nullopt;
  return std::pair(low, high);
}

int run_swarm(const Scenario& scenario, std::uint64_t low, std::uint64_t high) {
  std::uint64_t failed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t seed = low;; ++seed) {
    const EchoWorkloadOptions options = strand::sim::randomize_faults(scenario.options, seed);
    const EchoWorkloadReport report = strand::sim::run_echo_workload(seed, options);
    if (!report.ok()) {
      failed += 1;
      std::string why;
      for (const auto& check : report.checks) {
        if (!check.ok) why += (why.empty() ? "" : "; ") + check.name + ": " + check.detail;
      }
      spdlog::info("seed {} FAILED ({}); replay: {}", seed, why,
                   replay_command(scenario.path, seed, true));
    }
    if (seed == high) break;
  }
  const std::chrono::duration<double> real = std::chrono::steady_clock::now() - start;
  spdlog::info("swarm: {} seeds ({}..{}), {} ok, {} failed, {:.1f} s real", high - low + 1, low,
               high, high - low + 1 - failed, failed, real.count());
  return failed == 0 ? kExitOk : kExitCheckFailed;
}

}  // namespace

int main(int argc, char** argv) {
  auto out = spdlog::stdout_logger_st("out");
  out->set_pattern("%v");
  spdlog::set_default_logger(out);
  auto err = spdlog::stderr_logger_st("err");
  err->set_pattern("strand-sim: error: %v");

  CLI::App app{"strand-sim: deterministic simulation of Strand nodes"};
  app.require_subcommand(1);
  std::string run_path;
  std::optional<std::uint64_t> seed;
  bool swarm_mix = false;
  CLI::App* run = app.add_subcommand("run", "run one seed of a scenario");
  run->add_option("scenario", run_path, "scenario file (TOML)")->required();
  run->add_option("--seed", seed, "the seed (default: one from OS entropy, printed)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            std::uint64_t value = 0;
            auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
            const bool whole = error == std::errc{} && end == text.data() + text.size();
            return whole ? "" : "must be an unsigned 64-bit integer";
          },
          "UINT64"));
  run->add_flag("--swarm", swarm_mix, "apply the swarm's random fault mix for this seed");
  std::string swarm_path;
  std::string seeds_text;
  CLI::App* swarm = app.add_subcommand("swarm", "run a range of seeds with random fault mixes");
  swarm->add_option("scenario", swarm_path, "scenario file (TOML)")->required();
  swarm->add_option("--seeds", seeds_text, "seed range A..B (inclusive)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    err->error("{} (see strand-sim --help)", e.what());
    return kExitUsage;
  }

  const std::string& path = run->parsed() ? run_path : swarm_path;
  std::string error;
  const std::optional<Scenario> scenario = load_scenario(path, &error);
  if (!scenario) {
    err->error("{}", error);
    return kExitUsage;
  }
  if (run->parsed()) return run_one(*scenario, seed, swarm_mix);
  const auto range = parse_seed_range(seeds_text);
  if (!range) {
    err->error("--seeds wants A..B with A <= B and at most {} seeds, got '{}'", kSwarmSeedsMax,
               seeds_text);
    return kExitUsage;
  }
  return run_swarm(*scenario, range->first, range->second);
}
