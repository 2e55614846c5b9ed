#!/usr/bin/python3
"""Consumer groups on three strand-broker processes (every broker a controller voter).

A group's coordinator is the leader of its __consumer_offsets partition (replication factor 3),
which may be any broker. Three confluent-kafka consumers in one group split a 6-partition
replicated topic; the test SIGKILLs the group's coordinator while they consume and commit, the
group goes on under the new coordinator, and no committed offset moves backwards. Afterwards
every record has been consumed, the group's committed offsets are the log end, a second group
reads the topic independently from the start, and a consumer that commits, closes and starts
again resumes after its last commit; __consumer_offsets (4 KiB segments) is compacted by its
coordinator, and a new coordinator replays the compacted log to the same offsets. kafka-python's group consumer (which hands the records of
control batches to the application, so the broker must not send Raft's) reads every record once
and commits. Prints how long the group's commits stopped."""

import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer

from broker_fixture import Checks, offsets_partition_of, unique_topic, wait_until
from cluster_test import NODES, Cluster, partition_view

PARTITIONS = 6
RECORDS = 3000
OFFSETS_TOPIC = "__consumer_offsets"


def coordinator_of(bootstrap, group):
    """The broker leading the group's __consumer_offsets partition, or None."""
    metadata = partition_view(bootstrap)
    if metadata is None or OFFSETS_TOPIC not in metadata.topics:
        return None
    partitions = metadata.topics[OFFSETS_TOPIC].partitions
    if not partitions:
        return None
    index = offsets_partition_of(group, len(partitions))
    leader = partitions[index].leader
    return leader if leader in NODES else None


def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, PARTITIONS, 3)], operation_timeout=30)
    for future in futures.values():
        future.result(60)


def produce(bootstrap, topic, count, start=0):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "message.timeout.ms": 60000})
    failures = []

    def on_delivery(error, message):
        if error is not None:
            failures.append(str(error))

    for index in range(start, start + count):
        producer.produce(topic, key=f"k{index % 101}", value=f"v{index:06d}",
                         on_delivery=on_delivery)
        if index % 200 == 0:
            producer.poll(0)
    left = producer.flush(90)
    assert left == 0 and not failures, f"{left} unsent, failures {failures[:3]}"


def group_consumer(bootstrap, group, extra=None):
    settings = {"bootstrap.servers": bootstrap, "group.id": group,
                "auto.offset.reset": "earliest", "enable.auto.commit": False,
                "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                "topic.metadata.refresh.interval.ms": 1000,
                "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
                "socket.connection.setup.timeout.ms": 2000}
    settings.update(extra or {})
    return Consumer(settings)


def end_offsets(bootstrap, topic, timeout_s=30):
    """Each partition's high watermark. Right after a leader was killed the client may still ask
    the old leader (NOT_LEADER_FOR_PARTITION) or find none yet: those are retried with fresh
    metadata, as a producer or consumer would."""
    deadline = time.monotonic() + timeout_s
    while True:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "end-offsets"})
        try:
            ends = {}
            for partition in range(PARTITIONS):
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                         timeout=10)
                ends[partition] = high
            return ends
        except KafkaException as error:
            if not error.args[0].retriable() and error.args[0].code() not in (
                    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE):
                raise
            if time.monotonic() > deadline:
                raise
        finally:
            consumer.close()
        time.sleep(0.5)


def first_record_at_or_after(bootstrap, topic, partition, offset):
    """The offset of the first record at or after `offset` in a partition, or None."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "first-record",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                return message.offset()
        return None
    finally:
        consumer.close()


def committed(bootstrap, group, topic):
    """{partition: committed offset} as the group's coordinator answers, or None on an error."""
    consumer = group_consumer(bootstrap, group)
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                                   timeout=10)
        return {tp.partition: tp.offset for tp in found}
    except KafkaException:
        return None
    finally:
        consumer.close()


class Member:
    """A group member on its own thread: polls, records what it read, commits synchronously."""

    def __init__(self, bootstrap, group, topic, name):
        self.name = name
        self.consumer = group_consumer(bootstrap, group, {"client.id": name})
        self.topic = topic
        self.seen = {}  # (partition, offset) -> value
        self.assigned = set()
        self.commit_errors = 0
        self.commits = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_assign(self, consumer, partitions):
        self.assigned = {tp.partition for tp in partitions}

    def on_revoke(self, consumer, partitions):
        self.assigned = set()

    def run(self):
        self.consumer.subscribe([self.topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
        last_commit = time.monotonic()
        while not self.stop.is_set():
            messages = self.consumer.consume(200, 0.2)
            real = [m for m in messages if m.error() is None]
            for message in real:
                self.seen[(message.partition(), message.offset())] = message.value().decode()
            # Also commit now and then without new records, as auto-commit would: the position
            # moves past a Raft control batch (a new leader's first entry) without handing the
            # application a record, and a partition may end with one.
            if real or time.monotonic() - last_commit > 1.0:
                last_commit = time.monotonic()
                try:
                    self.consumer.commit(asynchronous=False)
                    self.commits += 1
                except KafkaException as error:
                    if error.args[0].code() != KafkaError._NO_OFFSET:
                        self.commit_errors += 1  # NOT_COORDINATOR, a rebalance: retried next poll
            time.sleep(0.05)  # slow enough that the kill lands mid-consumption
        self.consumer.close()


def main():
    checks = Checks("cluster_groups")
    # Small __consumer_offsets segments: the coordinator compacts the group's partition often,
    # also across the kill.
    cluster = Cluster({"offsets.topic.segment.bytes": 4096})
    state = {}
    try:
        def registered():
            metadata = partition_view(cluster.bootstrap())
            return metadata is not None and len(metadata.brokers) == len(NODES)
        wait_until(registered, 30, "3 brokers in Metadata")
        bootstrap = cluster.bootstrap()
        topic = unique_topic("groups")
        group = "cluster-group"

        def split_among_three():
            create_topic(bootstrap, topic)
            produce(bootstrap, topic, RECORDS)
            members = [Member(bootstrap, group, topic, f"member{i}") for i in range(3)]
            for member in members:
                member.thread.start()
            state["members"] = members

            def split():
                owned = [m.assigned for m in members]
                if any(not parts for parts in owned):
                    return None
                union = set().union(*owned)
                if len(union) != PARTITIONS or sum(len(parts) for parts in owned) != PARTITIONS:
                    return None
                return owned

            owned = wait_until(split, 60, "three members sharing the 6 partitions")
            return f"assignments {[sorted(parts) for parts in owned]}"

        def kill_coordinator():
            members = state["members"]
            wait_until(lambda: sum(len(m.seen) for m in members) >= RECORDS // 4, 60,
                       "a quarter of the records consumed")
            victim = wait_until(lambda: coordinator_of(bootstrap, group), 30, "a coordinator")
            before = wait_until(lambda: committed(bootstrap, group, topic), 30,
                                "committed offsets")
            commits_before = sum(m.commits for m in members)
            killed_at = time.monotonic()
            cluster.brokers[victim].kill()
            survivors = cluster.bootstrap()
            wait_until(lambda: sum(m.commits for m in members) > commits_before + 3, 60,
                       "commits through the new coordinator")
            resumed_s = time.monotonic() - killed_at
            successor = wait_until(lambda: coordinator_of(survivors, group) not in (None, victim)
                                   and coordinator_of(survivors, group), 30, "a new coordinator")
            after = wait_until(lambda: committed(survivors, group, topic), 30, "committed offsets")
            for partition, offset in before.items():
                assert after[partition] >= offset, \
                    f"partition {partition}: committed {offset} before the kill, {after[partition]} after"
            cluster.brokers[victim].restart()
            state["victim"] = victim
            return (f"coordinator {victim} killed, {successor} took over; commits resumed after "
                    f"{resumed_s:.2f} s; no committed offset moved back")

        def everything_consumed():
            members = state["members"]
            bootstrap_now = cluster.bootstrap()
            ends = end_offsets(bootstrap_now, topic)

            def caught_up():
                offsets = committed(bootstrap_now, group, topic)
                return offsets if offsets and all(offsets[p] >= ends[p] for p in ends) else None

            offsets = wait_until(caught_up, 90, f"committed offsets reaching the ends {ends}")
            for member in members:
                member.stop.set()
            for member in members:
                member.thread.join(30)
            values = set()
            for member in members:
                values.update(member.seen.values())
            wanted = {f"v{i:06d}" for i in range(RECORDS)}
            missing = wanted - values
            assert not missing, f"{len(missing)} records never consumed, e.g. {sorted(missing)[:3]}"
            errors = sum(m.commit_errors for m in members)
            return f"all {RECORDS} records consumed; committed {offsets}; {errors} commit retries"

        def second_group_independent():
            other = group_consumer(cluster.bootstrap(), "cluster-group-2")
            other.subscribe([topic])
            seen = set()
            deadline = time.monotonic() + 60
            while len(seen) < RECORDS and time.monotonic() < deadline:
                for message in other.consume(500, 0.5):
                    if message.error() is None:
                        seen.add(message.value().decode())
            other.commit(asynchronous=False)
            other.close()
            assert len(seen) == RECORDS, f"the second group read {len(seen)} of {RECORDS}"
            return "a second group read every record from the start"

        def resume_after_commit():
            name = "cluster-group-resume"
            first = group_consumer(cluster.bootstrap(), name)
            first.subscribe([topic])
            read = 0
            deadline = time.monotonic() + 60
            while read < 500 and time.monotonic() < deadline:
                message = first.poll(0.5)
                if message is None or message.error():
                    continue
                read += 1
                first.commit(message=message, asynchronous=False)
            positions = committed(cluster.bootstrap(), name, topic)
            first.close()
            # Offsets are not dense (a new leader's control batch takes one), so the record a
            # restarted member reads first is the first record at or after the committed offset.
            expected = {}
            for partition in range(PARTITIONS):
                start = max(positions.get(partition, 0), 0)
                first_record = first_record_at_or_after(cluster.bootstrap(), topic, partition, start)
                if first_record is not None:
                    expected[partition] = first_record
            again = group_consumer(cluster.bootstrap(), name)
            again.subscribe([topic])
            resumed = {}
            deadline = time.monotonic() + 60
            while set(resumed) != set(expected) and time.monotonic() < deadline:
                message = again.poll(0.5)
                if message is None or message.error():
                    continue
                resumed.setdefault(message.partition(), message.offset())
            again.close()
            assert resumed == expected, f"resumed at {resumed}, want {expected}"
            return f"resumed at the committed offsets {positions}"

        def compacted_offsets_survive_a_kill():
            # resume_after_commit committed 500 times: the group's __consumer_offsets partition
            # was compacted many times (4 KiB segments), and a new coordinator replays the
            # compacted log to the same offsets.
            name = "cluster-group-resume"
            index = offsets_partition_of(name)
            watcher = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": "watcher"})
            low, high = watcher.get_watermark_offsets(TopicPartition(OFFSETS_TOPIC, index),
                                                      timeout=10)
            watcher.close()
            assert high >= 500 and 0 < low and high - low < 200, (low, high)
            before = wait_until(lambda: committed(cluster.bootstrap(), name, topic), 30,
                                "committed offsets")
            victim = wait_until(lambda: coordinator_of(cluster.bootstrap(), name), 30,
                                "a coordinator")
            cluster.brokers[victim].kill()
            after = wait_until(lambda: committed(cluster.bootstrap(), name, topic), 60,
                               "committed offsets from the new coordinator")
            cluster.brokers[victim].restart()
            assert after == before, f"before the kill {before}, after {after}"
            return (f"__consumer_offsets-{index}: log start {low}, end {high}; coordinator "
                    f"{victim} killed, the offsets came back the same")

        def kafka_python_group():
            consumer = KafkaConsumer(topic, bootstrap_servers=cluster.bootstrap(),
                                     group_id="cluster-group-kp", auto_offset_reset="earliest",
                                     enable_auto_commit=False, request_timeout_ms=30000)
            values = set()
            deliveries = 0
            deadline = time.monotonic() + 60
            while len(values) < RECORDS and time.monotonic() < deadline:
                for messages in consumer.poll(timeout_ms=500).values():
                    deliveries += len(messages)
                    values.update(message.value for message in messages)
            seen = len(values)
            consumer.commit()
            consumer.close()
            offsets = committed(cluster.bootstrap(), "cluster-group-kp", topic)
            assert seen == RECORDS, f"kafka-python read {seen} of {RECORDS}"
            # kafka-python commits past the last record it returned, not past control batches
            # after it: nothing but those may lie beyond its committed offsets.
            for partition, offset in offsets.items():
                beyond = first_record_at_or_after(cluster.bootstrap(), topic, partition, offset)
                assert beyond is None, \
                    f"partition {partition}: committed {offset}, a record at {beyond}"
            return (f"kafka-python read {seen} records ({deliveries} deliveries) and committed "
                    f"{offsets}")

        checks.run("three members split the partitions", split_among_three)
        checks.run("coordinator killed mid-consumption", kill_coordinator)
        checks.run("every record consumed, offsets at the end", everything_consumed)
        checks.run("a second group reads independently", second_group_independent)
        checks.run("commit, close, restart resumes", resume_after_commit)
        checks.run("compacted offsets survive a coordinator kill", compacted_offsets_survive_a_kill)
        checks.run("kafka-python group consumer", kafka_python_group)
        crashes = cluster.crashes()
        if crashes:
            print("\n".join(crashes))
            return 1
        return checks.exit_status()
    finally:
        for member in state.get("members", []):
            member.stop.set()
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
