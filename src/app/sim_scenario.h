// strand-sim's scenario files: TOML that picks a workload (`[workload] kind = "echo"`, the
// default, or "broker") and sets its options, faults and checks. Every key is checked for type and
// range, and a key the workload does not know is an error: a typo must not silently keep a
// default. See sim-scenarios/demo-echo.toml and sim-scenarios/single-broker.toml.
#pragma once

#include <optional>
#include <string>

#include "sim/broker_workload.h"
#include "sim/echo_workload.h"

namespace strand::app {

enum class WorkloadKind { kEcho, kBroker };

struct Scenario {
  std::string path;
  std::string name;
  WorkloadKind kind = WorkloadKind::kEcho;
  sim::EchoWorkloadOptions echo;      // kind == kEcho
  sim::BrokerWorkloadOptions broker;  // kind == kBroker
};

// Errors: one line naming the file, the table, the key and (where known) the line, in `*error`.
std::optional<Scenario> load_scenario(const std::string& path, std::string* error);

}  // namespace strand::app
