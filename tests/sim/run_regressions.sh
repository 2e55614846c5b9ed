#!/usr/bin/env bash
# Replays every seed in sim-scenarios/regressions.txt; fails on the first that fails again, naming
# the command that replays it. A line is: <scenario file> <seed> [flags, e.g. --swarm] [# why]
set -u
sim="$1"; root="$2"
list="$root/sim-scenarios/regressions.txt"
[ -f "$list" ] || { echo "missing $list"; exit 1; }
count=0
while read -r scenario seed rest; do
  case "$scenario" in ''|'#'*) continue ;; esac
  flags="${rest%%#*}"
  # shellcheck disable=SC2086  # the flags are words
  if ! "$sim" run "$root/$scenario" --seed "$seed" $flags >/dev/null 2>&1; then
    echo "regression: strand-sim run $scenario --seed $seed $flags fails again"
    exit 1
  fi
  count=$((count + 1))
done < "$list"
echo "regressions: $count seeds replayed, all ok"
