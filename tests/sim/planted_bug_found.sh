#!/usr/bin/env bash
# Proof of teeth: a swarm over a scenario with a planted bug must fail within its seed budget, name
# the failed check (or die on an invariant assertion) and a replay command, and the replay must fail
# the same way (and, with --trace, print the simulated nodes' last log lines).
# Usage: planted_bug_found.sh <strand-sim> <scenario.toml> <seed range> <check that must fail> [jobs]
set -u
sim="$1"; scenario="$2"; seeds="$3"; check="$4"; jobs="${5:-1}"
out=$("$sim" swarm "$scenario" --seeds "$seeds" --jobs "$jobs" --stop-on-failure)
rc=$?
echo "$out" | tail -3
if [ "$rc" -ne 1 ]; then
  echo "the swarm over $seeds did not find the planted bug (exit $rc)"
  exit 1
fi
seed=$(echo "$out" | sed -n 's/^seed \([0-9]*\) FAILED.*/\1/p' | head -1)
if [ -z "$seed" ] || ! echo "$out" | grep -q "replay: strand-sim run .* --seed $seed --swarm"; then
  echo "the failure names no replayable seed"
  exit 1
fi
# Found either by the named check or by an invariant assertion in the code (the planted bug
# breaks it before any check runs): then the swarm's worker died of SIGABRT, and the replay
# aborts again, saying so, with its replay command.
replay=$("$sim" run "$scenario" --seed "$seed" --swarm --trace 40 2>&1)
replay_rc=$?
if echo "$out" | grep -q "^seed $seed FAILED (worker died: signal 6"; then
  how="an invariant assertion"
  if [ "$replay_rc" -eq 0 ] || [ "$replay_rc" -eq 1 ] ||
     ! echo "$replay" | grep -q "^assertion failed: " ||
     ! echo "$replay" | grep -q "^replay: strand-sim run .* --seed $seed --swarm"; then
    echo "replaying seed $seed did not abort on the assertion again (exit $replay_rc)"
    echo "$replay" | tail -5
    exit 1
  fi
else
  how="$check"
  if [ "$replay_rc" -ne 1 ] || ! echo "$replay" | grep -q "check $check: FAILED"; then
    echo "replaying seed $seed did not fail $check again"
    exit 1
  fi
fi
# --trace: the simulated nodes' last log lines follow a failure.
if ! echo "$replay" | grep -q "^--- the simulated nodes' last [1-9][0-9]* log lines"; then
  echo "replaying seed $seed with --trace printed no log lines"
  exit 1
fi
echo "planted bug found at seed $seed; the replay fails again ($how)"
