#!/usr/bin/env bash
# Determinism: one seed run twice prints the same trace hash (and the same summary).
# Usage: same_seed_same_hash.sh <strand-sim> <scenario.toml> <seed> [--swarm]
set -u
sim="$1"; scenario="$2"; seed="$3"; shift 3
first=$("$sim" run "$scenario" --seed "$seed" "$@" | grep -v '^simulated:')
second=$("$sim" run "$scenario" --seed "$seed" "$@" | grep -v '^simulated:')
hash=$(echo "$first" | grep '^trace hash:')
if [ -z "$hash" ]; then
  echo "no trace hash printed by: strand-sim run $scenario --seed $seed $*"
  exit 1
fi
if [ "$first" != "$second" ]; then
  echo "seed $seed is not deterministic (strand-sim run $scenario --seed $seed $*):"
  diff <(echo "$first") <(echo "$second")
  exit 1
fi
echo "seed $seed twice: $hash"
