#!/usr/bin/python3
"""A cluster grows and shrinks while a producer keeps writing. Three strand-broker processes on
loopback form the controller quorum; a topic of three partitions, replication factor 3, takes an
idempotent confluent-kafka producer (acks=all) throughout. A fourth broker, started later outside
the quorum (broker.rpc.listener), registers, follows the metadata log as a learner and shows in
every client's metadata; `strand topics reassign --wait` moves one replica of each partition onto
it, and kcat and kafka-python list it among the replicas; it is killed and restarted, and leads
its partition again (the preferred replica, auto.leader.rebalance.enable); a new topic with replication factor 4 is placed on all four brokers (and deleted, or it
would have nowhere to go). `strand brokers decommission 4 --wait` then moves every replica off it again. Every acknowledged record is read
back at its offset, none twice, in order per partition. Prints how long each step took."""

import subprocess
import sys
import time

from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer

from broker_fixture import Checks, unique_topic, wait_until
from cluster_test import (NODES, Cluster, Load, all_led, check_acked_read_back, leaders,
                          partition_view)
from reassign_test import replica_files, replicas_by_kcat
from strand_cli_test import strand

PARTITIONS = 3
NEW = 4


def main():
    topic = unique_topic("growing")
    # Leaders go back to their preferred replica within a second (auto.leader.rebalance.enable).
    cluster = Cluster({"leader.imbalance.check.interval.ms": 1000})
    checks = Checks("grow")
    voter = lambda: next(b for n, b in cluster.brokers.items() if n in NODES and b.running())  # noqa: E731
    load = None
    try:
        def create():
            cluster.wait_registered()
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
            admin.create_topics([NewTopic(topic, PARTITIONS, 3)], operation_timeout=30)[
                topic].result(60)
            wait_until(lambda: all_led(cluster.bootstrap(), topic, PARTITIONS), 30,
                       "every partition led")
            return "three partitions on brokers 1, 2, 3"
        checks.run("create a topic with replication factor 3", create)

        load = Load(cluster.bootstrap(), topic)
        load.thread.start()
        time.sleep(1)

        def add_fourth():
            started = time.monotonic()
            cluster.add_broker(NEW)

            def four():
                metadata = partition_view(cluster.brokers[NEW].bootstrap)
                return metadata is not None and sorted(metadata.brokers) == [1, 2, 3, NEW] and \
                    topic in metadata.topics
            wait_until(four, 30, "broker 4 to register and serve the cluster's metadata")
            consumer = KafkaConsumer(bootstrap_servers=cluster.brokers[1].bootstrap,
                                     request_timeout_ms=10000, api_version_auto_timeout_ms=10000)
            try:
                consumer.topics()
                brokers = {b.nodeId for b in consumer._client.cluster.brokers()}
            finally:
                consumer.close()
            assert brokers == {1, 2, 3, NEW}, f"kafka-python sees brokers {brokers}"
            return f"registered and serving metadata in {time.monotonic() - started:.1f} s"
        checks.run("a fourth broker outside the quorum joins", add_fourth)

        def move_onto_fourth():
            times = []
            for partition, replicas in ((0, f"{NEW},2,3"), (1, f"1,{NEW},3"), (2, f"1,2,{NEW}")):
                started = time.monotonic()
                out, _ = strand(voter(), ["topics", "reassign", topic, "--partition",
                                          str(partition), "--replicas", replicas, "--wait",
                                          "--wait-timeout-ms", "60000"], timeout_s=90)
                assert "Done." in out, out
                times.append(time.monotonic() - started)
            want = {0: [2, 3, NEW], 1: [1, 3, NEW], 2: [1, 2, NEW]}
            wait_until(lambda: replicas_by_kcat(cluster, topic) == want, 30,
                       f"kcat to list {want}")
            wait_until(lambda: all(replica_files(cluster.brokers[NEW], topic, p)
                                   for p in range(PARTITIONS)), 30,
                       "broker 4 to hold a replica of every partition")
            return "moves took " + ", ".join(f"{t:.1f} s" for t in times)
        checks.run("reassignment moves a replica of each partition onto it", move_onto_fourth)

        def restart_fourth():
            cluster.brokers[NEW].kill()
            time.sleep(1)
            started = time.monotonic()
            cluster.brokers[NEW].restart()
            wait_until(lambda: (lambda m: m is not None and topic in m.topics)(
                partition_view(cluster.brokers[NEW].bootstrap)), 30,
                "broker 4 to serve metadata again")
            back = time.monotonic() - started
            wait_until(lambda: leaders(cluster.bootstrap(), topic).get(0) == NEW, 30,
                       "partition 0 led by its preferred replica, broker 4, again")
            return (f"back in {back:.1f} s; leads partition 0 (its preferred replica) again "
                    f"{time.monotonic() - started:.1f} s after the restart")
        checks.run("broker 4 killed and restarted", restart_fourth)

        def wide_topic():
            wide = unique_topic("wide")
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
            admin.create_topics([NewTopic(wide, 2, 4)], operation_timeout=30)[wide].result(60)
            want = {0: [1, 2, 3, NEW], 1: [1, 2, 3, NEW]}
            wait_until(lambda: replicas_by_kcat(cluster, wide) == want, 30,
                       f"kcat to list {want} for {wide}")
            wait_until(lambda: all(l in (1, 2, 3, NEW) for l in leaders(
                cluster.bootstrap(), wide).values()) and len(leaders(cluster.bootstrap(), wide))
                == 2, 30, "both partitions led")
            admin.delete_topics([wide], operation_timeout=30)[wide].result(60)
            # Every broker's metadata, not just one's: brokers apply the deletion one by one.
            wait_until(lambda: all((lambda m: m is not None and wide not in m.topics)(
                partition_view(b.bootstrap)) for b in cluster.brokers.values()), 30,
                f"{wide} to go from every broker's metadata")
            return "replication factor 4 placed on all four brokers (then deleted)"
        checks.run("a new topic is placed on the fourth broker too", wide_topic)

        def decommission_fourth():
            started = time.monotonic()
            out, _ = strand(voter(), ["brokers", "decommission", str(NEW), "--wait"], timeout_s=150)
            assert f"Broker {NEW} holds no replicas." in out, out
            wait_until(lambda: all(NEW not in r for r in replicas_by_kcat(cluster, topic).values()),
                       30, "no replica of the topic on broker 4")
            return f"every replica moved off broker 4 in {time.monotonic() - started:.1f} s"
        checks.run("decommission moves every replica off it", decommission_fourth)

        load.stop.set()
        load.thread.join(120)
        checks.run("every acknowledged record is read back once",
                   check_acked_read_back, cluster.bootstrap(), topic, load, PARTITIONS)
        checks.run("no broker crashed", cluster.assert_no_crash)
    finally:
        if load is not None:
            load.stop.set()
        status = cluster.close_reporting(checks)
    return status


if __name__ == "__main__":
    sys.exit(main())
