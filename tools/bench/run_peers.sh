#!/usr/bin/env bash
# Strand beside its peers on this machine: NATS JetStream (file storage) and Redis Streams (AOF,
# fsync every second), 1 KiB records, each system started fresh in a temp dir, loaded, stopped.
# Also the disk and loopback limits of the same run, and Strand's RSS with 1,000 idle partitions.
#
#   apt-get install -y --no-install-recommends nats-server redis-server redis-tools
#   ninja -C build-release src/app/strand-broker tools/bench_rdkafka tools/bench_nats
#   tools/bench/run_peers.sh [--build DIR] [--records N] [--runs R]
#
# Prints every run's rows as they come, then one table: the median of the runs and the range.
# Nothing is sent anywhere but 127.0.0.1; every server started here is stopped on exit.
set -euo pipefail

build=build-release records=1000000 runs=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--records N] [--runs R]" >&2; exit 2 ;;
  esac
done
broker=$build/src/app/strand-broker rdkafka=$build/tools/bench_rdkafka nats=$build/tools/bench_nats
for tool in "$broker" "$rdkafka" "$nats" nats-server redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "run_peers: missing $tool" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/strand-peers.XXXXXX")
results=$work/results.tsv
server_pid=""
stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# row SYSTEM OPERATION RECORDS/S MB/S [P50 P99 P99.9]: one result of run $run, kept for the
# summary.
row() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$1" "$2" "$3" "$4" "${5:--}" "${6:--}" \
    "${7:--}" | tee -a "$results"
}

# A bench_rdkafka or bench_nats line: "...: R records/s, M MB/s[, latency ms p50 A p99 B p99.9 C]".
parse_line() {
  local number='([0-9.]+)'
  sed -nE "s/.*: $number records\/s, $number MB\/s(, latency ms p50 $number p99 $number \
p99\.9 $number)?.*/\1 \2 \4 \5 \6/p"
}

# row_from SYSTEM OPERATION LINE: a row from a bench_rdkafka or bench_nats line.
row_from() {
  local fields rps mbs p50 p99 p999
  fields=$(parse_line <<<"$3")
  [[ -n $fields ]] || { echo "run_peers: cannot read '$3'" >&2; exit 1; }
  read -r rps mbs p50 p99 p999 <<<"$fields"
  row "$1" "$2" "$rps" "$mbs" "$p50" "$p99" "$p999"
}

wait_for_port() {  # PORT: up to 10 s
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run_peers: nothing listening on port $1" >&2
  exit 1
}

# dd_seconds DD_ARGS...: the seconds dd reports ("BYTES bytes (...) copied, SECONDS s, ...").
dd_seconds() {
  dd if=/dev/zero of="$work/dd" "$@" 2>&1 | tail -1 |
    awk '{for (i = 1; i <= NF; i++) if ($i == "s,") print $(i - 1)}'
}

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

baselines() {
  local out seconds
  # Durable rates, as acks=all needs them: the flush at the end is part of the time.
  seconds=$(dd_seconds bs=1M count=1024 conv=fdatasync)
  row disk "1 GiB sequential write + fdatasync" - \
    "$(awk "BEGIN {printf \"%.0f\", 1073.741824 / $seconds}")"
  seconds=$(dd_seconds bs=4k count=2000 oflag=dsync)
  row disk "4 KiB append + sync (O_DSYNC)" "$(awk "BEGIN {printf \"%.0f\", 2000 / $seconds}")" -
  rm -f "$work/dd"
  if [[ -x $build/tools/bench_echo ]]; then
    out=$("$build/tools/bench_echo" 1 "request/response, 64" 2>/dev/null | tail -1)
    row loopback "one TCP stream, 256 KiB writes" - "$(awk '{print $(NF-2)}' <<<"$out")"
  fi
}

start_strand() {  # DATA_DIR [--set k=v ...]; sets strand_port
  local data=$1 ready
  shift
  : >"$data.out"  # emptied here, not by the child's redirect: an old port must not be read
  "$broker" --listen 127.0.0.1:0 --data-dir "$data" --log-level warn "$@" >"$data.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    ready=$(sed -nE 's/^strand-broker listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$data.out")
    [[ -n $ready ]] && break
    sleep 0.1
  done
  [[ -n $ready ]] || { echo "run_peers: strand-broker did not start" >&2; cat "$data.out"; exit 1; }
  strand_port=$ready
}

strand() {
  start_strand "$work/strand"
  local at=127.0.0.1:$strand_port line peak
  line=$("$rdkafka" produce "$at" all --records "$records" --record-size 1024 --acks all)
  row_from strand "produce acks=all" "$line"
  peak=$(parse_line <<<"$line" | cut -d' ' -f1)
  peak=${peak%.*}
  line=$("$rdkafka" produce "$at" one --records "$records" --record-size 1024 --acks 1)
  row_from strand "produce acks=1" "$line"
  line=$("$rdkafka" consume "$at" all --records "$records")
  row_from strand "consume" "$line"
  # Latency below the peak: half the acks=all rate for about 5 s. linger.ms 5 is librdkafka's
  # default; 0 sends a request per handful of records, each waiting for its own sync.
  local rate=$((peak / 2))
  for linger in 0 1 5; do
    line=$("$rdkafka" produce "$at" "half-$linger" --records $((rate * 5)) --record-size 1024 \
      --acks all --linger-ms "$linger" --rate "$rate")
    row_from strand "produce acks=all at half peak, linger $linger ms" "$line"
  done
  stop_server

  start_strand "$work/strand-idle" --set num.partitions=1000
  local pid=$server_pid
  row strand "RSS MiB, empty broker" "$(rss_mib "$pid")" -
  "$rdkafka" produce "127.0.0.1:$strand_port" idle --records 1 --record-size 1024 >/dev/null
  sleep 10
  row strand "RSS MiB, 1000 idle partitions" "$(rss_mib "$pid")" -
  stop_server
  rm -rf "$work/strand" "$work/strand-idle"
}

jetstream() {
  local port=24222 line
  nats-server -js -sd "$work/nats" -a 127.0.0.1 -p $port >"$work/nats.out" 2>&1 &
  server_pid=$!
  wait_for_port $port
  line=$("$nats" publish 127.0.0.1:$port --records "$records" --record-size 1024 --in-flight 256)
  row_from jetstream "publish, 256 in flight" "$line"
  line=$("$nats" consume 127.0.0.1:$port --records "$records" --batch 1000)
  row_from jetstream "pull consume, batch 1000" "$line"
  stop_server
  rm -rf "$work/nats"
}

redis() {
  local port=26379 value csv
  mkdir -p "$work/redis"
  redis-server --port $port --bind 127.0.0.1 --dir "$work/redis" --save '' --appendonly yes \
    --appendfsync everysec >"$work/redis.out" 2>&1 &
  server_pid=$!
  wait_for_port $port
  value=$(head -c 1024 /dev/zero | tr '\0' x)
  # --csv: "test","rps","avg","min","p50","p95","p99","max" (ms; per request in a pipeline).
  csv=$(redis-benchmark -p $port -n "$records" -c 8 -P 64 --csv XADD bench '*' f "$value" | tail -1)
  IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"$(tr -d '"' <<<"$csv")"
  row redis "XADD, 8 clients x 64 pipelined" "${rps%.*}" \
    "$(awk "BEGIN {printf \"%.1f\", $rps * 1024 / 1e6}")" "$p50" "$p99"
  csv=$(redis-benchmark -p $port -n $((records / 1000)) -c 8 --csv XRANGE bench - + COUNT 1000 |
    tail -1)
  IFS=, read -r _ rps _ <<<"$(tr -d '"' <<<"$csv")"
  row redis "XRANGE COUNT 1000, 8 clients" "$(awk "BEGIN {printf \"%.0f\", $rps * 1000}")" \
    "$(awk "BEGIN {printf \"%.1f\", $rps * 1000 * 1024 / 1e6}")"
  stop_server
  rm -rf "$work/redis"
}

for run in $(seq "$runs"); do
  echo "== run $run of $runs ($(uptime | sed 's/.*load/load/'))"
  baselines
  strand
  jetstream
  redis
done

echo
echo "== median of $runs run(s) [min-max]: records/s, MB/s, latency ms p50 / p99 / p99.9"
python3 - "$results" <<'EOF'
import statistics, sys

rows = {}  # (system, operation) -> {run: [records/s, MB/s, p50, p99, p99.9]}
for line in open(sys.argv[1]):
    run, system, operation, *values = line.rstrip("\n").split("\t")
    rows.setdefault((system, operation), {})[run] = [None if v == "-" else float(v) for v in values]


def cell(samples):
    numbers = [n for n in samples if n is not None]
    if not numbers:
        return "-"
    show = lambda n: f"{n:,.0f}" if n >= 1000 else f"{n:.3g}"
    if len(numbers) == 1:
        return show(numbers[0])
    return f"{show(statistics.median(numbers))} [{show(min(numbers))}-{show(max(numbers))}]"


print("| system | operation | records/s | MB/s | p50 | p99 | p99.9 |")
print("|---|---|---|---|---|---|---|")
for (system, operation), runs in rows.items():
    columns = zip(*runs.values())
    print(f"| {system} | {operation} | " + " | ".join(cell(c) for c in columns) + " |")

# Strand's records/s over a peer's within each run (the machine changes between runs).
RATIOS = [
    ("produce acks=all", "jetstream", "publish, 256 in flight"),
    ("produce acks=all", "redis", "XADD, 8 clients x 64 pipelined"),
    ("consume", "jetstream", "pull consume, batch 1000"),
    ("consume", "redis", "XRANGE COUNT 1000, 8 clients"),
]
print("\n| Strand / peer, records/s in the same run | median [min-max] |")
print("|---|---|")
for ours, peer, theirs in RATIOS:
    mine, other = rows.get(("strand", ours), {}), rows.get((peer, theirs), {})
    samples = [mine[r][0] / other[r][0] for r in mine if r in other and other[r][0]]
    print(f"| {ours} / {peer} {theirs} | {cell(samples)} |")
EOF
