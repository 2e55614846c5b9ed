#!/usr/bin/python3
"""Consumer groups against strand-broker with real clients: three confluent-kafka consumers split
a 6-partition topic and take over a closed member's partitions; cooperative-sticky members
rebalance incrementally; two groups read one topic
independently; a new consumer resumes after the last commit, also after the broker was killed
with SIGKILL; 400 commits leave a compacted __consumer_offsets log that replays to the last one
after SIGKILL; kafka-python's group consumer does the same basic flow; and bad group requests get
Kafka's error codes (empty or over-long group id, unknown member, stale generation, unknown topic)."""

import socket
import struct
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from broker_fixture import Broker, Checks, offsets_partition_of, unique_topic, wait_until

PARTITIONS = 6
RECORDS = 600
# Small __consumer_offsets segments: its coordinator compacts it every few dozen commits.
SETTINGS = {"group.initial.rebalance.delay.ms": "0", "num.partitions": "1",
            "offsets.topic.segment.bytes": "4096"}
# Short sessions so that rebalances after a close or a kill settle in seconds.
CONSUMER = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": 1000}

ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, INVALID_GROUP_ID = 22, 25, 24
UNKNOWN_TOPIC_OR_PARTITION, MEMBER_ID_REQUIRED = 3, 79


def create_topic(broker, topic, partitions=PARTITIONS):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)


def produce(broker, topic, count=RECORDS, start=0):
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(start, start + count):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(15) == 0


def consumer(broker, group, **extra):
    return Consumer(dict(CONSUMER, **{"bootstrap.servers": broker.bootstrap, "group.id": group},
                         **extra))


def poll_values(consumers, want, timeout_s):
    """Polls `consumers` in turn until `want` distinct values arrived; returns value -> the
    index of the consumer that got it first, and the set of partitions each one saw."""
    seen, partitions = {}, [set() for _ in consumers]
    deadline = time.monotonic() + timeout_s
    while len(seen) < want and time.monotonic() < deadline:
        for index, c in enumerate(consumers):
            message = c.poll(0.05)
            if message is None:
                continue
            if message.error():
                assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
                continue
            seen.setdefault(message.value().decode(), index)
            partitions[index].add(message.partition())
    return seen, partitions


def check_three_consumers_split_and_take_over(broker):
    topic = unique_topic("split")
    create_topic(broker, topic)
    produce(broker, topic)
    group = topic + "-g"
    members = [consumer(broker, group) for _ in range(3)]
    for c in members:
        c.subscribe([topic])
    # Wait until all three own partitions, so the first records are really split.
    def assigned():
        for c in members:
            c.poll(0.05)
        return all(len(c.assignment()) == 2 for c in members)
    wait_until(assigned, 30, "three consumers with two partitions each")
    owned = [sorted(p.partition for p in c.assignment()) for c in members]
    assert sorted(sum(owned, [])) == list(range(PARTITIONS)), owned
    seen, _ = poll_values(members, RECORDS, 30)
    assert len(seen) == RECORDS, f"{len(seen)} of {RECORDS}"
    assert len(set(seen.values())) == 3, "all three consumed"
    for c in members:
        c.commit(asynchronous=False)
    # One member leaves; the other two take over its partitions and everything new.
    members[0].close()
    produce(broker, topic, start=RECORDS)
    rest = members[1:]
    seen, _ = poll_values(rest, RECORDS, 30)
    assert sorted(seen) == sorted(f"v{i}" for i in range(RECORDS, 2 * RECORDS)), \
        f"after the close: {len(seen)} records, want exactly the {RECORDS} new ones"
    total = sum(len(c.assignment()) for c in rest)
    assert total == PARTITIONS, f"the two remaining own {total} partitions"
    for c in rest:
        c.close()
    return f"owned {owned}, then two consumers took over"


def check_cooperative_rebalancing(broker):
    """cooperative-sticky (KIP-429): the broker passes the assignor's metadata through; a second
    member takes half the partitions from the first, which keeps the rest without giving them up
    (incremental rebalancing), and between them they read every record once."""
    topic = unique_topic("cooperative")
    create_topic(broker, topic)
    group = topic + "-g"
    settings = {"partition.assignment.strategy": "cooperative-sticky"}
    first = consumer(broker, group, **settings)
    revoked = []
    first.subscribe([topic], on_revoke=lambda _, partitions: revoked.extend(partitions))

    def first_owns_all():
        first.poll(0.05)
        return len(first.assignment()) == PARTITIONS
    wait_until(first_owns_all, 30, "the first member with every partition")
    second = consumer(broker, group, **settings)
    second.subscribe([topic])
    members = [first, second]

    def split():
        for c in members:
            c.poll(0.05)
        return sorted(len(c.assignment()) for c in members) == [3, 3]
    wait_until(split, 30, "two members with three partitions each")
    kept = sorted(p.partition for p in first.assignment())
    moved = sorted(p.partition for p in revoked)
    assert len(moved) == 3 and not set(moved) & set(kept), (moved, kept)
    produce(broker, topic)  # now: the polls above would have taken records
    seen, _ = poll_values(members, RECORDS, 30)
    assert len(seen) == RECORDS, f"{len(seen)} of {RECORDS}"
    for c in members:
        c.close()
    return f"the first kept {kept} and gave up only {moved}"


def check_two_groups_read_independently(broker):
    topic = unique_topic("twogroups")
    create_topic(broker, topic, 3)
    produce(broker, topic, 90)
    results = []
    for name in ("a", "b"):
        c = consumer(broker, f"{topic}-{name}")
        c.subscribe([topic])
        seen, _ = poll_values([c], 90, 20)
        c.commit(asynchronous=False)
        results.append(len(seen))
        c.close()
    assert results == [90, 90], results
    return "each group read all 90"


def committed(broker, group, topic, partitions=PARTITIONS):
    c = consumer(broker, group)
    offsets = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    c.close()
    return {tp.partition: tp.offset for tp in offsets}


def check_resume_after_commit_and_broker_kill(broker):
    topic = unique_topic("resume")
    create_topic(broker, topic)
    produce(broker, topic, 300)
    group = topic + "-g"
    first = consumer(broker, group)
    first.subscribe([topic])
    seen, _ = poll_values([first], 150, 20)
    first.commit(asynchronous=False)
    first.close()
    at_commit = committed(broker, group, topic)
    assert sum(max(o, 0) for o in at_commit.values()) == len(seen), (len(seen), at_commit)
    # A new consumer in the same group starts where the commit left off.
    second = consumer(broker, group)
    second.subscribe([topic])
    rest, _ = poll_values([second], 300 - len(seen), 20)
    second.commit(asynchronous=False)
    second.close()
    assert not set(rest) & set(seen), "nothing read twice"
    assert len(seen) + len(rest) == 300, (len(seen), len(rest))
    after_second = committed(broker, group, topic)
    assert sum(after_second.values()) == 300, after_second
    # SIGKILL: the committed offsets come back from __consumer_offsets.
    broker.kill()
    broker.restart()
    assert committed(broker, group, topic) == after_second
    produce(broker, topic, 60, start=300)
    third = consumer(broker, group)
    third.subscribe([topic])
    fresh, _ = poll_values([third], 60, 30)
    third.close()
    assert sorted(fresh) == sorted(f"v{i}" for i in range(300, 360)), sorted(fresh)[:5]
    return "resumed after a commit and after a kill -9"


def check_offsets_log_compacted(broker):
    topic = unique_topic("compacted")
    create_topic(broker, topic, 1)
    group = topic + "-g"
    committer = consumer(broker, group)
    for offset in range(1, 401):
        committer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    index = offsets_partition_of(group)
    low, high = committer.get_watermark_offsets(TopicPartition("__consumer_offsets", index),
                                                timeout=10)
    committer.close()
    assert high >= 400 and low > high // 2 and high - low < 100, (low, high)
    broker.kill()
    broker.restart()
    assert committed(broker, group, topic, 1) == {0: 400}
    return f"__consumer_offsets-{index}: log start {low}, end {high}; the offset kept across kill -9"


def check_kafka_python_group(broker):
    from kafka import KafkaConsumer
    topic = unique_topic("kafkapython")
    create_topic(broker, topic, 3)
    produce(broker, topic, 90)
    group = topic + "-g"
    values = []
    for _ in range(2):  # the second consumer resumes after the first's commit
        c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=False,
                          consumer_timeout_ms=3000, session_timeout_ms=6000,
                          heartbeat_interval_ms=500)
        for message in c:
            values.append(message.value.decode())
            if len(values) in (45, 90):
                break
        c.commit()
        c.close()
    assert sorted(values) == sorted(f"v{i}" for i in range(90)), f"{len(values)} values"
    return "90 records over two consumers, none twice"


# -- raw requests for the error cases ---------------------------------------------------------

def string(text):
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def call(broker, api_key, version, body):
    header = struct.pack(">hhi", api_key, version, 7) + string("groups-test")
    frame = header + body
    with socket.create_connection((broker.host, broker.port), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(frame)) + frame)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = sock.recv(65536)
            assert chunk, "connection closed"
            data += chunk
    return data[8:]  # size, correlation id


def join_v0(broker, group, member_id=""):
    metadata = struct.pack(">hi", 0, 0) + struct.pack(">i", -1)
    body = (string(group) + struct.pack(">i", 6000) + string(member_id) + string("consumer")
            + struct.pack(">i", 1) + string("range") + struct.pack(">i", len(metadata)) + metadata)
    data = call(broker, 11, 0, body)
    error, generation = struct.unpack_from(">hi", data, 0)
    pos = 6
    fields = []
    for _ in range(3):  # protocol, leader, member id
        (length,) = struct.unpack_from(">h", data, pos)
        fields.append(data[pos + 2:pos + 2 + length].decode())
        pos += 2 + length
    return error, generation, fields[2]


def heartbeat_v0(broker, group, generation, member_id):
    body = string(group) + struct.pack(">i", generation) + string(member_id)
    return struct.unpack(">h", call(broker, 12, 0, body))[0]


def commit_v2(broker, group, generation, member_id, topic):
    body = (string(group) + struct.pack(">i", generation) + string(member_id)
            + struct.pack(">q", -1) + struct.pack(">i", 1) + string(topic)
            + struct.pack(">iiq", 1, 0, 5) + struct.pack(">h", -1))
    data = call(broker, 8, 2, body)
    (length,) = struct.unpack_from(">h", data, 4)
    return struct.unpack_from(">h", data, 4 + 2 + length + 4 + 4)[0]


def check_bad_group_requests(broker):
    assert join_v0(broker, "")[0] == INVALID_GROUP_ID
    assert heartbeat_v0(broker, "", 1, "m") == INVALID_GROUP_ID
    too_long = "g" * 1025  # over Strand's 1 KiB bound
    assert join_v0(broker, too_long)[0] == INVALID_GROUP_ID
    assert heartbeat_v0(broker, too_long, 1, "m") == INVALID_GROUP_ID
    group = unique_topic("raw")
    error, generation, member = join_v0(broker, group)
    assert error == 0 and generation == 1, (error, generation)
    assert heartbeat_v0(broker, group, generation, "nobody") == UNKNOWN_MEMBER_ID
    assert heartbeat_v0(broker, "no-such-group", 1, "nobody") == UNKNOWN_MEMBER_ID
    assert join_v0(broker, group, "nobody")[0] == UNKNOWN_MEMBER_ID
    sync = (string(group) + struct.pack(">i", generation) + string(member)
            + struct.pack(">i", 1) + string(member) + struct.pack(">i", 0))
    assert struct.unpack(">h", call(broker, 14, 0, sync)[:2])[0] == 0
    assert heartbeat_v0(broker, group, generation - 1, member) == ILLEGAL_GENERATION
    assert heartbeat_v0(broker, group, generation, member) == 0
    topic = unique_topic("exists")
    create_topic(broker, topic, 1)
    assert commit_v2(broker, group, generation, member, topic) == 0
    assert commit_v2(broker, group, generation, member, "no-such-topic") == \
        UNKNOWN_TOPIC_OR_PARTITION
    assert commit_v2(broker, group, generation + 1, member, topic) == ILLEGAL_GENERATION
    assert commit_v2(broker, "never-joined", 3, "m", topic) == ILLEGAL_GENERATION
    assert commit_v2(broker, "g" * 1025, -1, "", topic) == INVALID_GROUP_ID
    return "INVALID_GROUP_ID, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, UNKNOWN_TOPIC_OR_PARTITION"


def main():
    with Broker(settings=SETTINGS) as broker:
        checks = Checks("groups", broker)
        checks.run("three consumers split six partitions; two take over after a close",
                   check_three_consumers_split_and_take_over, broker)
        checks.run("cooperative-sticky rebalances incrementally", check_cooperative_rebalancing,
                   broker)
        checks.run("two groups read one topic independently",
                   check_two_groups_read_independently, broker)
        checks.run("a new consumer resumes after the last commit, also after kill -9",
                   check_resume_after_commit_and_broker_kill, broker)
        checks.run("400 commits: __consumer_offsets compacted, the offset kept",
                   check_offsets_log_compacted, broker)
        checks.run("kafka-python group consumer commits and resumes",
                   check_kafka_python_group, broker)
        checks.run("bad group requests get Kafka's error codes", check_bad_group_requests, broker)
        broker.assert_no_crash()
        broker.stop()
        return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
