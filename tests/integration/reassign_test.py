#!/usr/bin/python3
"""Moving partitions between brokers while a producer keeps writing. Three strand-broker processes
on loopback (every broker a controller voter); a topic of three partitions created by
confluent-kafka's AdminClient with explicit replicas [1], [2], [3]; an idempotent confluent-kafka
producer (acks=all) writes keyed records the whole time. `strand topics reassign --wait` then moves
partition 0 to brokers 2 and 3 (the only replica leaves: a learner joins, is promoted, leadership
moves, the old member is removed), grows partition 1 to all three, and moves partition 2 to
broker 1; a move in progress is listed by `strand topics reassignments`, and a cancel of a
partition with no move is refused. Then kcat and kafka-python see the new replica sets and a
broker that lost its replica deleted its files. `strand brokers decommission 3` is refused while
a partition has a replica on every broker; once that partition shrank, it moves every replica off
broker 3. Every acknowledged record is read back at its offset, none twice, in order per
partition."""

import glob
import os
import subprocess
import sys
import time

from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

from broker_fixture import Checks, unique_topic, wait_until
from cluster_test import Cluster, Load, all_led, check_acked_read_back, leaders
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
            cluster.wait_registered()
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
            new = NewTopic(topic, PARTITIONS, replica_assignment=[[1], [2], [3]])
            admin.create_topics([new], operation_timeout=30)[topic].result(60)
            wait_until(lambda: all_led(cluster.bootstrap(), topic, PARTITIONS), 30,
                       "every partition led")
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

        def decommission_refused_while_a_partition_has_nowhere_to_go():
            _, err = strand(any_broker(), ["brokers", "decommission", "3"], want=1)
            assert "no other broker" in err, err
            return err.strip()
        checks.run("decommissioning broker 3 is refused while partition 1 has 3 replicas of 3",
                   decommission_refused_while_a_partition_has_nowhere_to_go)
        checks.run("shrink partition 1 to brokers 2 and 1", move, 1, "2,1")

        def decommission():
            started = time.monotonic()
            out, _ = strand(any_broker(), ["brokers", "decommission", "3", "--wait",
                                           "--wait-timeout-ms", "60000"], timeout_s=90)
            assert "Broker 3 holds no replicas." in out, out
            assert f"Moving {topic}-0 from 2,3 to 2,1" in out, out
            found = wait_until(lambda: (lambda f: f if f == {0: [1, 2], 1: [1, 2], 2: [1]}
                                        else None)(replicas_by_kcat(cluster, topic)),
                               30, "kcat to list no replica on broker 3")
            wait_until(lambda: not any(replica_files(cluster.brokers[3], topic, p)
                                       for p in range(PARTITIONS)), 30,
                       "broker 3's replica files to go")
            return f"{found} in {time.monotonic() - started:.1f} s"
        checks.run("decommission broker 3 while the producer writes", decommission)
        time.sleep(2)
        load.stop.set()
        load.thread.join(120)

        checks.run("every acknowledged record is read back at its offset",
                   check_acked_read_back, cluster.bootstrap(), topic, load, PARTITIONS)

        checks.run("no broker crashed", cluster.assert_no_crash)
    finally:
        status = cluster.close_reporting(checks)
    return status


if __name__ == "__main__":
    sys.exit(main())
