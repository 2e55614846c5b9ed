// strand-sim: runs deterministic simulations from TOML scenario files (app/sim_scenario.h).
//
//   strand-sim run <scenario.toml> [--seed N] [--swarm] [--verbose] [--trace N]
//                                            one seed; prints the summary, the checks' verdicts
//                                            and the trace hash (and the replay command on failure)
//   strand-sim swarm <scenario.toml>... --seeds A..B [--jobs N] [--stop-on-failure]
//                                            every seed of every file, each with a random fault
//                                            mix; --jobs N > 1 runs seeds in N forked workers
//
// Exit codes: 0 ok, 1 a check failed, 2 bad usage. This is the only place that reads OS entropy
// (for a seed when none is given) and real time (to report the speed).
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "app/sim_scenario.h"
#include "app/sim_swarm.h"
#include "io/assert.h"
#include "sim/sim_network.h"
#include "sim/sim_world.h"

namespace {

using strand::app::Scenario;
using strand::app::WorkloadKind;
using strand::sim::BrokerWorkloadReport;
using strand::sim::EchoWorkloadReport;

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::uint64_t kSwarmSeedsMax = 1'000'000;
constexpr int kSwarmJobsMax = 64;

std::shared_ptr<spdlog::logger> out;  // the report, on stdout

std::string hex(std::uint64_t value) { return fmt::format("{:#018x}", value); }

std::string replay_command(const std::string& path, std::uint64_t seed, bool swarm) {
  return "strand-sim run " + path + " --seed " + std::to_string(seed) + (swarm ? " --swarm" : "");
}

// What both workloads report, for the verdict lines and the swarm.
struct Verdicts {
  bool ok = false;
  std::uint64_t trace_hash = 0;
  std::vector<std::pair<std::string, std::string>> failed;  // check name, detail
};

template <typename Report>
Verdicts verdicts_of(const Report& report) {
  Verdicts verdicts{report.ok(), report.trace_hash, {}};
  for (const auto& check : report.checks) {
    if (!check.ok) verdicts.failed.emplace_back(check.name, check.detail);
  }
  return verdicts;
}

template <typename Report>
void print_checks(const Report& report, const std::string& replay) {
  for (const auto& check : report.checks) {
    out->info("check {}: {} ({})", check.name, check.ok ? "ok" : "FAILED", check.detail);
  }
  out->info("trace hash: {}", hex(report.trace_hash));
  out->info("result: {}", report.ok() ? "ok" : "FAILED");
  if (!report.ok()) out->info("replay: {}", replay);
}

void print_speed(std::uint64_t events, double simulated_s, double real_s) {
  out->info("events run: {}", events);
  out->info("simulated: {:.3f} s in {:.3f} s real ({:.0f}x)", simulated_s, real_s,
            real_s > 0 ? simulated_s / real_s : 0.0);
}

void print_echo(const Scenario& scenario, const EchoWorkloadReport& report, double real_s) {
  const auto& net = report.network;
  out->info("scenario: {} ({}, echo, {} nodes, {:.0f} s)", scenario.name, scenario.path,
            scenario.echo.nodes_count, scenario.echo.duration.seconds());
  out->info("seed: {}", report.seed);
  print_speed(report.events_run, report.simulated_s, real_s);
  out->info(
      "faults: {} partitions, {} crashes; packets {} sent, {} lost, {} blocked, "
      "{} duplicated, {} reordered; {} chunks retransmitted",
      report.partitions, report.crashes, net.packets_sent, net.packets_lost, net.packets_blocked,
      net.packets_duplicated, net.packets_reordered, net.chunks_retransmitted);
  out->info("workload: {} frames verified ({} bytes), {} connects failed, {} connections broken",
            report.frames_verified, report.bytes_verified, report.connects_failed,
            report.connections_broken);
}

void print_broker(const Scenario& scenario, const BrokerWorkloadReport& r, double real_s) {
  const auto& o = scenario.broker;
  const auto& f = r.faults;
  out->info("scenario: {} ({}, broker, {} brokers, {} producers, {} consumers, {:.0f} s)",
            scenario.name, scenario.path, o.nodes_count, o.producers_count, o.consumers_count,
            o.duration.seconds());
  out->info("seed: {}", r.seed);
  print_speed(r.events_run, r.simulated_s, real_s);
  out->info(
      "records: {} produced, {} acknowledged (acks=all {}, acks=1 {}), {} sent with acks=0, "
      "{} failed, {} refused, {} unknown; {} consumed, {} read back ({} partitions stopped "
      "at a corrupt batch); {} fetch errors",
      r.attempts, r.acked_all + r.acked_leader, r.acked_all, r.acked_leader, r.sent_no_ack,
      r.failed, r.refused, r.unknown, r.consumed, r.read_back, r.readback_stuck, r.fetch_errors);
  if (r.idempotent_producers > 0) {
    out->info("idempotent producers: {}, {} batches retried, {} producer ids",
              r.idempotent_producers, r.batches_retried, r.producer_ids);
  }
  const auto& shape = f.partitions_by_shape;
  using strand::sim::PartitionShape;
  auto by = [&shape](PartitionShape s) { return shape[static_cast<std::size_t>(s)]; };
  out->info(
      "faults: broker {} power failures ({} of every broker at once), {} heal restarts, {} "
      "failed starts; {} pauses ({} of a leader); {} partitions ({} isolate, {} of them a leader; "
      "{} one-way, {} clients, {} split, {} bridge, {} rack); {} ENOSPC episodes; {} bit flips "
      "({} partitions tainted); {} wall jumps; {} rolling restarts ({} clean stops, {} cut "
      "short)",
      f.crashes, f.crashes_all, f.heal_restarts, f.broker_start_failures, f.pauses, f.leader_pauses,
      f.partitions, by(PartitionShape::kIsolate), f.leader_isolations, by(PartitionShape::kOneWay),
      by(PartitionShape::kClients), by(PartitionShape::kSplit), by(PartitionShape::kBridge),
      by(PartitionShape::kRack), f.no_space_episodes, f.bit_flips, r.tainted_partitions,
      f.wall_jumps, f.rolling_restarts, f.clean_stops, f.clean_stop_failures);
  out->info(
      "disk: {} read, {} write, {} sync errors, {} ENOSPC, {} slow ops; at crashes "
      "{} files dropped, {} kept, {} torn unsynced data",
      f.disk.read_errors_count, f.disk.write_errors_count, f.disk.sync_errors_count,
      f.disk.no_space_errors_count, f.disk.slow_ops_count, f.disk.files_dropped_count,
      f.disk.files_kept_count, f.disk.files_torn_count);
  out->info(
      "network: packets {} sent, {} lost, {} blocked, {} duplicated, {} reordered; "
      "{} chunks retransmitted",
      f.network.packets_sent, f.network.packets_lost, f.network.packets_blocked,
      f.network.packets_duplicated, f.network.packets_reordered, f.network.chunks_retransmitted);
  if (r.group_members > 0) {
    out->info(
        "group: {} members, {} generations joined, {} failed joins, {} member crashes; {} "
        "deliveries, {} acknowledged commits",
        r.group_members, r.group_joins, r.group_join_failures, r.group_member_crashes,
        r.group_deliveries, r.group_commits);
  }
  if (r.reassignments_asked > 0) {
    out->info("reassignments: {} moves and cancels asked, {} accepted", r.reassignments_asked,
              r.reassignments_accepted);
  }
}

// Runs one seed; prints the full report when `print`.
Verdicts run_seed(const Scenario& scenario, std::uint64_t seed, bool swarm, bool print) {
  const std::string replay = replay_command(scenario.path, seed, swarm);
  const auto start = std::chrono::steady_clock::now();
  auto real_s = [&] {
    const std::chrono::duration<double> real = std::chrono::steady_clock::now() - start;
    return real.count();
  };
  if (scenario.kind == WorkloadKind::kBroker) {
    const auto options =
        swarm ? strand::sim::randomize_faults(scenario.broker, seed) : scenario.broker;
    const BrokerWorkloadReport report = strand::sim::run_broker_workload(seed, options);
    if (print) print_broker(scenario, report, real_s());
    if (print) print_checks(report, replay);
    return verdicts_of(report);
  }
  const auto options = swarm ? strand::sim::randomize_faults(scenario.echo, seed) : scenario.echo;
  const EchoWorkloadReport report = strand::sim::run_echo_workload(seed, options);
  if (print) print_echo(scenario, report, real_s());
  if (print) print_checks(report, replay);
  return verdicts_of(report);
}

// The last lines the simulated nodes logged, formatted as they are logged (so that the stamp
// below reads the world's time and node of that moment, not of the printing).
class TraceRing : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit TraceRing(std::size_t lines_max) : lines_max_(lines_max) {}
  std::vector<std::string> last_formatted() const { return {lines_.begin(), lines_.end()}; }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    if (lines_.size() == lines_max_) lines_.pop_front();
    lines_.emplace_back(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::size_t lines_max_;
  std::deque<std::string> lines_;
};

void print_trace(TraceRing& trace) {
  const std::vector<std::string> lines = trace.last_formatted();
  out->info("--- the simulated nodes' last {} log lines before the end (--trace) ---",
            lines.size());
  for (std::string line : lines) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    out->info("{}", line);
  }
}

// "12.345678 s broker-1": the simulated world's virtual time and the node whose event logs.
class SimStamp : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const strand::sim::SimWorld* world = strand::sim::SimWorld::current();
    std::string stamp = "-";
    if (world) {
      const strand::sim::NodeId node = world->current_node();
      const bool named = node != strand::sim::kNoNode && world->has_node(node);
      stamp = fmt::format("{:.6f} s {}", (world->now() - strand::io::Instant{}).seconds(),
                          named ? world->network().node_name(node) : std::string("world"));
    }
    dest.append(stamp.data(), stamp.data() + stamp.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SimStamp>();
  }
};

// What the assertion hook of `run` prints: a broken invariant aborts the run before any check.
std::string g_abort_replay;
TraceRing* g_abort_trace = nullptr;

void on_assertion_failed() {
  out->info("result: FAILED (an invariant assertion, above)");
  out->info("replay: {}", g_abort_replay);
  if (g_abort_trace) print_trace(*g_abort_trace);
  out->flush();
}

// `trace`: the simulated nodes' last log lines (run --trace), printed when the run fails.
int run_one(const Scenario& scenario, std::optional<std::uint64_t> seed_flag, bool swarm,
            TraceRing* trace) {
  std::uint64_t seed = 0;
  if (seed_flag) {
    seed = *seed_flag;
  } else {
    std::random_device entropy;  // only here: a run without --seed still prints its seed
    seed = (std::uint64_t{entropy()} << 32) | entropy();
    out->info("no --seed given: picked seed {} from OS entropy", seed);
  }
  g_abort_replay = replay_command(scenario.path, seed, swarm);
  g_abort_trace = trace;
  strand::set_assert_hook(on_assertion_failed);
  const bool ok = run_seed(scenario, seed, swarm, true).ok;
  strand::set_assert_hook(nullptr);
  if (trace && !ok) print_trace(*trace);
  return ok ? kExitOk : kExitCheckFailed;
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

strand::app::SeedOutcome outcome_of(const Scenario& scenario, std::uint64_t seed) {
  const Verdicts verdicts = run_seed(scenario, seed, true, false);
  std::string why;
  for (const auto& [name, detail] : verdicts.failed) {
    why += (why.empty() ? "" : "; ") + name + ": " + detail;
  }
  return {seed, verdicts.ok, why};
}

// Returns the exit code and whether a seed failed. With jobs == 1 the seeds run in this process,
// so a debugger follows them; otherwise in forked workers (app/sim_swarm.h).
std::pair<int, bool> run_swarm(const Scenario& scenario, std::uint64_t low, std::uint64_t high,
                               int jobs, bool stop_early) {
  auto report = [&](const strand::app::SeedOutcome& outcome) {
    if (outcome.ok) return;
    out->info("seed {} FAILED ({}); replay: {}", outcome.seed, outcome.why,
              replay_command(scenario.path, outcome.seed, true));
  };
  strand::app::SwarmTally tally;
  const auto start = std::chrono::steady_clock::now();
  if (jobs == 1) {
    for (std::uint64_t seed = low;; ++seed) {
      const strand::app::SeedOutcome outcome = outcome_of(scenario, seed);
      tally.ran += 1;
      tally.failed += outcome.ok ? 0 : 1;
      report(outcome);
      if (seed == high || (stop_early && tally.failed > 0)) break;
    }
  } else {
    auto run = [&](std::uint64_t seed) { return outcome_of(scenario, seed); };
    tally = strand::app::run_seeds_forked(low, high, jobs, stop_early, run, report);
  }
  const std::chrono::duration<double> real = std::chrono::steady_clock::now() - start;
  out->info(
      "swarm: {} seeds ({}..{}) of {}, {} ok, {} failed, {:.1f} s real ({:.1f} seeds/minute), "
      "{} job{}",
      tally.ran, low, low + tally.ran - 1, scenario.path, tally.ran - tally.failed, tally.failed,
      real.count(), real.count() > 0 ? 60.0 * static_cast<double>(tally.ran) / real.count() : 0.0,
      jobs, jobs == 1 ? "" : "s");
  if (!tally.error.empty()) {
    spdlog::get("err")->error("could not start a worker ({}); seeds from {} on did not run",
                              tally.error, low + tally.ran);
    return {kExitCheckFailed, tally.failed > 0};
  }
  return {tally.failed == 0 ? kExitOk : kExitCheckFailed, tally.failed > 0};
}

CLI::Validator uint64_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        const bool whole = error == std::errc{} && end == text.data() + text.size();
        return whole ? "" : "must be an unsigned 64-bit integer";
      },
      "UINT64");
}

}  // namespace

int main(int argc, char** argv) {
  out = spdlog::stdout_logger_st("out");
  out->set_pattern("%v");
  auto err = spdlog::stderr_logger_st("err");
  err->set_pattern("strand-sim: error: %v");
  // The simulated broker logs through the default logger: silent unless --verbose.
  auto node_log = spdlog::stderr_logger_st("nodes");
  node_log->set_pattern("[%l] %v");
  node_log->set_level(spdlog::level::off);
  spdlog::set_default_logger(node_log);

  CLI::App app{"strand-sim: deterministic simulation of Strand nodes"};
  app.require_subcommand(1);
  std::string run_path;
  std::optional<std::uint64_t> seed;
  bool swarm_mix = false;
  bool verbose = false;
  CLI::App* run = app.add_subcommand("run", "run one seed of a scenario");
  run->add_option("scenario", run_path, "scenario file (TOML)")->required();
  run->add_option("--seed", seed, "the seed (default: one from OS entropy, printed)")
      ->check(uint64_validator());
  run->add_flag("--swarm", swarm_mix, "apply the swarm's random fault mix for this seed");
  run->add_flag("--verbose", verbose, "show the simulated nodes' logs on stderr");
  std::size_t trace_lines = 0;
  run->add_option("--trace", trace_lines,
                  "on failure, print the simulated nodes' last N log lines (debug level)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  std::vector<std::string> swarm_paths;
  std::string seeds_text;
  int jobs = 1;
  bool stop_early = false;
  CLI::App* swarm = app.add_subcommand("swarm", "run a range of seeds with random fault mixes");
  swarm->add_option("scenario", swarm_paths, "scenario files (TOML); each runs every seed")
      ->required();
  swarm->add_option("--seeds", seeds_text, "seed range A..B (inclusive)")->required();
  swarm->add_option("--jobs", jobs, "worker processes (1: every seed in this process)")
      ->check(CLI::Range(1, kSwarmJobsMax));
  swarm->add_flag("--stop-on-failure", stop_early, "stop at the first failing seed");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    err->error("{} (see strand-sim --help)", e.what());
    return kExitUsage;
  }
  if (verbose) node_log->set_level(spdlog::level::info);
  std::shared_ptr<TraceRing> trace;
  if (trace_lines > 0) {
    // Every debug line goes to the ring, stamped with virtual time and node; stderr still shows
    // info lines, with --verbose only.
    trace = std::make_shared<TraceRing>(trace_lines);
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SimStamp>('*').set_pattern("[%*] [%l] %v");
    trace->set_formatter(std::move(formatter));
    node_log->sinks().front()->set_level(verbose ? spdlog::level::info : spdlog::level::off);
    node_log->sinks().push_back(trace);
    node_log->set_level(spdlog::level::debug);
  }

  const std::vector<std::string> paths = run->parsed() ? std::vector{run_path} : swarm_paths;
  std::vector<Scenario> scenarios;
  for (const std::string& path : paths) {
    std::string error;
    std::optional<Scenario> scenario = strand::app::load_scenario(path, &error);
    if (!scenario) {
      err->error("{}", error);
      return kExitUsage;
    }
    scenarios.push_back(std::move(*scenario));
  }
  if (run->parsed()) return run_one(scenarios.front(), seed, swarm_mix, trace.get());
  const auto range = parse_seed_range(seeds_text);
  if (!range) {
    err->error("--seeds wants A..B with A <= B and at most {} seeds, got '{}'", kSwarmSeedsMax,
               seeds_text);
    return kExitUsage;
  }
  int exit_code = kExitOk;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto [code, failed] =
        run_swarm(scenarios[i], range->first, range->second, jobs, stop_early);
    if (code != kExitOk) exit_code = code;
    if (failed && stop_early && i + 1 < scenarios.size()) {
      out->info("swarm: stopped at the first failure; {} more scenario file(s) not run",
                scenarios.size() - i - 1);
      break;
    }
  }
  return exit_code;
}
