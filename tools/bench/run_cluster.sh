#!/usr/bin/env bash
# Replication cost and idle cost of a three-broker cluster on this machine, in one run:
#   1. produce 1 KiB records with acks=all (librdkafka, bench_rdkafka) to one broker, 6 partitions;
#   2. the same to a three-broker cluster, 6 partitions with replication factor 3; the ratio;
#   3. the cluster idle with --idle-partitions replicas per broker: CPU (% of one core) and RSS of
#      each broker over 20 s, starting 60 s after every partition has a leader.
#   tools/bench/run_cluster.sh [--build DIR] [--records N] [--idle-partitions P] [--data-root DIR]
# --data-root puts the brokers' data there (e.g. /dev/shm, to take the disk out of the ratio: three
# replicas on one machine write and sync every byte three times to the same disk).
# Build first: ninja -C build-release src/app/strand-broker tools/bench_rdkafka
set -euo pipefail

build=build-release records=200000 idle_partitions=3000 data_root=${TMPDIR:-/tmp}
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --idle-partitions) idle_partitions=$2; shift 2 ;;
    --data-root) data_root=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--records N] [--idle-partitions P] [--data-root DIR]" >&2
       exit 2 ;;
  esac
done
broker=$build/src/app/strand-broker rdkafka=$build/tools/bench_rdkafka
for tool in "$broker" "$rdkafka" /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "run_cluster: missing $tool" >&2; exit 2; }
done

work=$(mktemp -d "$data_root/strand-cluster-bench.XXXXXX")
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

# create_topic BOOTSTRAP NAME PARTITIONS REPLICATION
create_topic() {
  /usr/bin/python3 - "$@" <<'EOF'
import sys, time
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, name, partitions, replication = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
admin = AdminClient({"bootstrap.servers": bootstrap})
for future in admin.create_topics([NewTopic(name, partitions, replication)],
                                  operation_timeout=60).values():
    future.result(120)
deadline = time.time() + 120
while time.time() < deadline:  # every partition led
    topic = admin.list_topics(timeout=10).topics.get(name)  # other brokers may lag a moment
    if topic and len(topic.partitions) == partitions and \
            all(p.leader >= 0 for p in topic.partitions.values()):
        break
    time.sleep(0.5)
else:
    sys.exit(f"{name}: not every partition has a leader")
EOF
}

produce() {  # produce BOOTSTRAP TOPIC
  "$rdkafka" produce "$1" "$2" --records "$records" --record-size 1024 --acks all | tail -1
}

echo "== single broker, 6 partitions, acks=all"
"$broker" --listen 127.0.0.1:19390 --data-dir "$work/single" --log-level warn >/dev/null 2>&1 &
pids+=($!)
sleep 1
create_topic 127.0.0.1:19390 bench 6 1
single=$(produce 127.0.0.1:19390 bench)
echo "$single"
stop_all

start_cluster() {  # start_cluster DIR
  local voters="1@127.0.0.1:19391,2@127.0.0.1:19392,3@127.0.0.1:19393"
  for node in 1 2 3; do
    "$broker" --node-id "$node" --listen "127.0.0.1:1940$node" --data-dir "$1/node$node" \
      --controller-voters "$voters" --log-level warn >/dev/null 2>&1 &
    pids+=($!)
  done
  sleep 2
}

echo "== three brokers, 6 partitions, replication factor 3, acks=all"
start_cluster "$work/cluster"
create_topic 127.0.0.1:19401 bench 6 3
replicated=$(produce 127.0.0.1:19401,127.0.0.1:19402,127.0.0.1:19403 bench)
echo "$replicated"
stop_all
rate() { sed -nE 's/.*: ([0-9.]+) records\/s.*/\1/p' <<<"$1"; }
echo "replicated / single: $(echo "scale=3; $(rate "$replicated") / $(rate "$single")" | bc)"

echo "== three brokers idle with $idle_partitions replicas each"
start_cluster "$work/idle"
create_topic 127.0.0.1:19401 idle "$idle_partitions" 3
# Once every partition has a leader, each leader still records its leadership in the metadata log,
# one record at a time (3,000 took about 35 s at half a core): measure only after that settled.
sleep 60
ticks() { local sum=0; for pid in "${pids[@]}"; do
  sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$sum"; }
before=$(ticks)
sleep 20
after=$(ticks)
hz=$(getconf CLK_TCK)
echo "idle CPU per broker: $(echo "scale=1; ($after - $before) * 100 / $hz / 20 / 3" | bc)% of a core"
for pid in "${pids[@]}"; do grep VmRSS "/proc/$pid/status"; done
