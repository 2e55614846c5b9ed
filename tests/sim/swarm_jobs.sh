#!/usr/bin/env bash
# strand-sim swarm --jobs: seeds of several scenario files run in forked workers and every seed is
# counted in each file's summary; a worker killed in the middle of a seed is reported as that seed
# failing, with its replay command, and the swarm exits 1 instead of hanging.
# Usage: swarm_jobs.sh <strand-sim> <source root>
set -u
sim="$1"; root="$2"
echo_toml="$root/sim-scenarios/demo-echo.toml"
broker_toml="$root/sim-scenarios/single-broker.toml"
out=$("$sim" swarm "$echo_toml" "$broker_toml" --seeds 1..8 --jobs 2)
rc=$?
echo "$out"
if [ "$rc" -ne 0 ]; then
  echo "the swarm with --jobs 2 exited $rc"
  exit 1
fi
for toml in "$echo_toml" "$broker_toml"; do
  if ! echo "$out" | grep -qF "swarm: 8 seeds (1..8) of $toml, 8 ok, 0 failed,"; then
    echo "no summary with 8 seeds ok for $toml"
    exit 1
  fi
done
if [ "$(echo "$out" | grep -c ', 2 jobs$')" -ne 2 ]; then
  echo "the summaries do not say 2 jobs"
  exit 1
fi

# A seed of cluster-load.toml runs for seconds: its worker holds seed 7 when it is killed.
load_toml="$root/sim-scenarios/cluster-load.toml"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$sim" swarm "$load_toml" --seeds 7..7 --jobs 2 >"$log" 2>&1 &
parent=$!
worker=""
for _ in $(seq 100); do
  worker=$(ps -o pid= --ppid "$parent" | head -1 | tr -d ' ')
  [ -n "$worker" ] && break
  sleep 0.05
done
if [ -z "$worker" ]; then
  echo "no worker process appeared"
  wait "$parent"
  exit 1
fi
sleep 0.2
kill -KILL "$worker"
wait "$parent"
rc=$?
cat "$log"
if [ "$rc" -ne 1 ]; then
  echo "a killed worker did not fail the swarm (exit $rc)"
  exit 1
fi
if ! grep -q "^seed 7 FAILED (worker died: signal 9 .*); replay: strand-sim run .* --seed 7 --swarm$" \
    "$log"; then
  echo "the killed worker's seed is not reported with its replay command"
  exit 1
fi
echo "swarm --jobs 2: every seed counted; a killed worker's seed reported as failed"
