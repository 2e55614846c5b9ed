#!/usr/bin/python3
"""Moving partitions between brokers while a producer keeps writing. Three strand-broker processes
on loopback (every broker a controller voter); a topic of three partitions created by
confluent-kafka's AdminClient with explicit replicas [1], [2], [3]; an idempotent confluent-kafka
producer (acks=all) writes keyed records the whole time. `strand topics reassign --wait` then moves
partition 0 to brokers 2 and 3 (the only replica leaves: a learner joins, is promoted, leadership
moves, the old member is removed), grows partition 1 to all three, and moves partition 2 to
broker 1; a move in progress is listed by `strand topics reassignments`, and a cancel of a
partition with no move is refused. Afterwards kcat and kafka-python see the new replica sets, a
broker that lost its replica deleted its files, and every acknowledged record is read back at
its offset, none twice, in order per partition."""

import glob
import os
import subprocess
import sys
import time

from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

from broker_fixture import Checks, unique_topic, wait_until
from cluster_test import NODES, Cluster, Load, leaders, partition_view, read_back
from strand_cli_test import strand

PARTITIONS = 3


def replicas_by_kcat(cluster, topic):
    """{partition: [replica ids]} as kcat -L lists them."""
    any_broker = next(b for b in cluster.brokers.values() if b.running())
    listing = subprocess.run(["kcat", "-b", any_broker.bootstrap, "-L", "-t", topic, "-m", "10"],
                             capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    found = {}
    for line in listing.stdout.splitlines():
        line = line.strip()
        if not line.startswith("partition ") or "replicas: " not in line:
            continue
        partition = int(line.split()[1].rstrip(","))
        replicas = line.split("replicas: ")[1].split(", isrs:")[0]
        found[partition] = sorted(int(r) for r in replicas.split(","))
    return found


def replica_files(broker, topic, partition):
    """The files of the broker's replica of the partition. A deleted replica leaves its directory
    holding only a marker: opened again, the replica knows it lost its log (and must not vote
    before it caught up)."""
    found = []
    for directory in glob.glob(os.path.join(broker.data_dir, f"{topic}-{partition}.*")):
        found += [name for name in os.listdir(directory) if name != "deleted-rejoin-marker"]
    return found


def main():
    topic = unique_topic("moving")
    cluster = Cluster()
    checks = Checks("reassign")
    any_broker = lambda: next(b for b in cluster.brokers.values() if b.running())  # noqa: E731
    try:
        def create():
            wait_until(lambda: (lambda m: m is not None and len(m.brokers) == len(NODES))(
                partition_view(cluster.bootstrap())), 30, "three registered brokers")
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
            new = NewTopic(topic, PARTITIONS, replica_assignment=[[1], [2], [3]])
            admin.create_topics([new], operation_timeout=30)[topic].result(60)
            wait_until(lambda: len(leaders(cluster.bootstrap(), topic)) == PARTITIONS and all(
                leader in NODES for leader in leaders(cluster.bootstrap(), topic).values()),
                30, "every partition led")
            wait_until(lambda: replicas_by_kcat(cluster, topic) == {0: [1], 1: [2], 2: [3]}, 30,
                       "kcat to list replicas [1], [2], [3]")
            return "replicas [1], [2], [3]"
        checks.run("create a topic with one replica per partition", create)

        load = Load(cluster.bootstrap(), topic)
        load.thread.start()
        time.sleep(2)

        def refused_cancel():
            _, err = strand(any_broker(), ["topics", "reassign", topic, "--partition", "1",
                                           "--cancel"], want=1)
            assert "NO_REASSIGNMENT_IN_PROGRESS" in err, err
            _, err = strand(any_broker(), ["topics", "reassign", topic, "--partition", "1",
                                           "--replicas", "1,9"], want=1)
            assert "INVALID_REPLICA_ASSIGNMENT" in err, err
            return "a cancel with no move and an unknown broker are refused"
        checks.run("bad reassignments are refused", refused_cancel)

        def move(partition, replicas):
            started = time.monotonic()
            out, _ = strand(any_broker(), ["topics", "reassign", topic, "--partition",
                                           str(partition), "--replicas", replicas, "--wait",
                                           "--wait-timeout-ms", "60000"], timeout_s=90)
            assert "Done." in out, out
            return f"partition {partition} -> [{replicas}] in {time.monotonic() - started:.1f} s"

        checks.run("move partition 0 from broker 1 to brokers 2 and 3", move, 0, "2,3")
        checks.run("grow partition 1 to three replicas", move, 1, "2,3,1")

        def listed_while_moving():
            strand(any_broker(), ["topics", "reassign", topic, "--partition", "2",
                                  "--replicas", "1"])
            out, _ = strand(any_broker(), ["topics", "reassignments"])
            # The move may already be done: then nothing is listed.
            if out.strip():
                assert f"{topic}\tPartition: 2\t" in out and "Adding: 1" in out, out
            wait_until(lambda: not strand(any_broker(), ["topics", "reassignments"])[0].strip(),
                       60, "the move of partition 2 to finish")
            return "listed" if out.strip() else "done before it could be listed"
        checks.run("move partition 2 to broker 1, listed while it moves", listed_while_moving)
        time.sleep(2)
        load.stop.set()
        load.thread.join(120)

        def new_replica_sets():
            found = wait_until(lambda: (lambda f: f if f == {0: [2, 3], 1: [1, 2, 3], 2: [1]}
                                        else None)(replicas_by_kcat(cluster, topic)),
                               30, "kcat to list the new replica sets")
            consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap(),
                                     request_timeout_ms=10000, api_version_auto_timeout_ms=10000)
            try:
                consumer.partitions_for_topic(topic)
                leader_of_2 = consumer._client.cluster.leader_for_partition(
                    KafkaTopicPartition(topic, 2))
                assert leader_of_2 == 1, f"kafka-python: partition 2 led by {leader_of_2}"
            finally:
                consumer.close()
            wait_until(lambda: not replica_files(cluster.brokers[1], topic, 0)
                       and not replica_files(cluster.brokers[3], topic, 2), 30,
                       "the old replicas' files to go")
            assert replica_files(cluster.brokers[2], topic, 0), "broker 2 has no replica of 0"
            assert replica_files(cluster.brokers[1], topic, 2), "broker 1 has no replica of 2"
            return f"{found}; the old replicas' files are gone"
        checks.run("kcat and kafka-python see the new replicas; old ones are deleted",
                   new_replica_sets)

        def acked_are_all_there():
            assert not load.failed, f"{len(load.failed)} records failed: " \
                f"{list(load.failed.items())[:3]}"
            records = read_back(cluster.bootstrap(), topic, load.acked)
            missing = [(v, at) for v, at in load.acked.items() if records.get(at) != v]
            assert not missing, f"{len(missing)} acknowledged records not at their offsets: " \
                f"{missing[:5]}"
            seen = {}
            for at, value in sorted(records.items()):
                assert value not in seen, f"{value} stored twice, at {seen[value]} and {at}"
                seen[value] = at
            for partition in range(PARTITIONS):
                values = [v for _, v in sorted((o, v) for v, (p, o) in load.acked.items()
                                               if p == partition)]
                assert values == sorted(values), f"partition {partition} out of order"
            return f"{len(load.acked)} acknowledged of {load.sent} sent, all read back"
        checks.run("every acknowledged record is read back at its offset", acked_are_all_there)

        def no_crash():
            crashes = cluster.crashes()
            assert not crashes, "\n".join(crashes)
        checks.run("no broker crashed", no_crash)
    finally:
        status = checks.exit_status()
        if status != 0:
            for broker in cluster.brokers.values():
                print(f"--- {broker.name} stderr (tail) ---\n{broker.log_tail(30)}")
        cluster.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
