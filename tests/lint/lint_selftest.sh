#!/usr/bin/env bash
# The lint must catch each violation in the bad fixture and pass the good one; a lint that can't
# fail proves nothing.
set -u
lint="$1"; fixtures="$2"
out=$(python3 "$lint" "$fixtures/bad" 2>/dev/null); status=$?
[ "$status" -eq 1 ] || { echo "bad fixture: expected exit 1, got $status"; exit 1; }
for needle in 'thread' 'fstream' 'uv.h' 'steady_clock::now' 'rand()' 'random_device' \
              '::open' 'uv_run' 'getenv'; do
  grep -qF -- "$needle" <<<"$out" || { echo "lint missed: $needle"; echo "$out"; exit 1; }
done
python3 "$lint" "$fixtures/good" || { echo "good fixture: lint reported something"; exit 1; }
echo "lint self-test ok"
