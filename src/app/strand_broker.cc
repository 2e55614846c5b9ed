// strand-broker: one Kafka broker on libuv.
//
//   strand-broker                                   a single node on 127.0.0.1:9092, data in
//                                                   ./strand-data
//   strand-broker --config server.properties        Kafka's key names (log.retention.ms...)
//   strand-broker --listen 127.0.0.1:0 --data-dir DIR --set log.segment.bytes=1048576
//   strand-broker --node-id 1 --listen 127.0.0.1:9092 --data-dir d1
//       --controller-voters 1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094
//                                                   broker 1 of a three-broker cluster; each
//                                                   voter's address is its inter-broker port
//
// Flags override the file; --set overrides both. SIGTERM or SIGINT shuts down cleanly (requests in
// flight are answered, logs closed with their clean-shutdown markers). Exit codes: 0 after a clean
// shutdown, 1 when the broker could not start or stop cleanly, 2 bad usage.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/config.h"
#include "io/uv/uv_env.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

strand::io::UvEnv* g_env = nullptr;

extern "C" void on_signal(int /*signal*/) {
  // UvEnv::stop is safe from any thread and from a signal handler (an atomic and uv_async_send).
  if (g_env != nullptr) g_env->stop();
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "strand-broker: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strand-broker: a Kafka-compatible event-streaming broker"};
  std::string config_path;
  std::string listen;
  std::string data_dir;
  std::string advertised_host;
  std::int32_t node_id = -1;
  std::string voters;
  std::string rack;
  std::string rpc_listen;
  std::vector<std::string> settings;
  std::string log_level = "info";
  app.add_option("--config", config_path, "server.properties file (Kafka's key names)");
  app.add_option("--node-id", node_id, "this broker's id (node.id)");
  app.add_option("--listen", listen, "host:port to serve Kafka on (default 127.0.0.1:9092)");
  app.add_option("--data-dir", data_dir, "data directory (log.dirs; default ./strand-data)");
  app.add_option("--advertised-host", advertised_host, "host name clients are told to use");
  app.add_option("--controller-voters", voters,
                 "a cluster's controller quorum, id@host:port,... (controller.quorum.voters)");
  app.add_option("--rpc-listen", rpc_listen,
                 "host:port for inter-broker RPC of a broker outside the controller quorum "
                 "(broker.rpc.listener)");
  app.add_option("--rack", rack, "this broker's rack (broker.rack)");
  app.add_option("--set", settings, "key=value, a config key by Kafka's name (repeatable)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("strand"));
  spdlog::set_level(spdlog::level::from_str(log_level));

  strand::BrokerConfig config;
  if (!config_path.empty()) {
    std::ifstream file(config_path);
    if (!file) return usage_error("cannot read --config " + config_path);
    std::stringstream text;
    text << file.rdbuf();
    strand::io::Result<void> applied = config.apply_properties(text.str());
    if (!applied) return usage_error(config_path + ": " + applied.error().message);
  }
  std::vector<std::string> overrides;
  if (node_id >= 0) overrides.push_back("node.id=" + std::to_string(node_id));
  if (!listen.empty()) overrides.push_back("listeners=" + listen);
  if (!data_dir.empty()) overrides.push_back("log.dirs=" + data_dir);
  if (!advertised_host.empty()) overrides.push_back("advertised.host.name=" + advertised_host);
  if (!voters.empty()) overrides.push_back("controller.quorum.voters=" + voters);
  if (!rack.empty()) overrides.push_back("broker.rack=" + rack);
  if (!rpc_listen.empty()) overrides.push_back("broker.rpc.listener=" + rpc_listen);
  overrides.insert(overrides.end(), settings.begin(), settings.end());
  for (const std::string& setting : overrides) {
    const std::size_t equals = setting.find('=');
    if (equals == std::string::npos) return usage_error("--set wants key=value, got " + setting);
    strand::io::Result<void> applied =
        config.set(setting.substr(0, equals), setting.substr(equals + 1));
    if (!applied) return usage_error(applied.error().message);
  }

  if (strand::io::Result<void> valid = config.validate(); !valid) {
    return usage_error(valid.error().message);
  }

  strand::io::UvEnv env;
  g_env = &env;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  int status = kExitOk;
  {
    strand::Broker broker(env, config);
    strand::io::Result<void> started = env.run(broker.start());
    if (!started) {
      spdlog::error("cannot start: {}", started.error().to_string());
      g_env = nullptr;
      return kExitFailed;
    }
    // One line on stdout that scripts can wait for (the port is real even with --listen :0).
    std::printf("strand-broker listening on %s\n", broker.address().to_string().c_str());
    std::fflush(stdout);
    env.run_until_stopped();
    strand::io::Result<void> stopped = env.run(broker.shutdown());
    if (!stopped) {
      spdlog::error("unclean shutdown: {}", stopped.error().to_string());
      status = kExitFailed;
    } else {
      spdlog::info("clean shutdown");
    }
  }
  g_env = nullptr;
  return status;
}
