#!/usr/bin/python3
"""`strand groups` (list, describe, delete, reset-offsets) against a strand-broker process with a
real confluent-kafka consumer group: describe shows the committed offsets, log end offsets, lag
and the member while it is active; reset-offsets refuses an active group, plans without
--execute, and commits earliest, shifted, explicit, by-time and latest offsets (clamped) that a
new consumer and confluent-kafka's committed() see; delete removes the group; bad flags exit 2.
kafka-python's KafkaAdminClient agrees with list and describe. With --cluster: three brokers,
and the commands reach a group's coordinator through another broker.

The CLI comes from $STRAND (meson passes it), else from beside $STRAND_BROKER."""

import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from broker_fixture import Broker, Checks, unique_topic, wait_until
from strand_cli_test import strand

PARTITIONS = 3
PER_PARTITION = 10  # offsets 0-4 written at EARLY_MS + i s, 5-9 at LATE_MS + i s
EARLY_MS = 1767225600000  # 2026-01-01T00:00:00Z
LATE_MS = EARLY_MS + 3600 * 1000  # 2026-01-01T01:00:00Z
CLIENT_ID = "strand-groups-it"
SETTINGS = {"group.initial.rebalance.delay.ms": "0", "num.partitions": "1"}
CONSUMER = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "client.id": CLIENT_ID}


def setup_topic(broker):
    topic = unique_topic("groups-cli")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
    for p in range(PARTITIONS):
        for i in range(PER_PARTITION):
            at = (EARLY_MS if i < 5 else LATE_MS) + i * 1000
            producer.produce(topic, value=f"p{p}-{i}".encode(), partition=p, timestamp=at)
        producer.flush(15)  # one partition at a time: offsets follow the loop
    assert producer.flush(15) == 0
    return topic


def consumer(broker, group):
    return Consumer(dict(CONSUMER, **{"bootstrap.servers": broker.bootstrap, "group.id": group}))


def consume(c, want, timeout_s=30):
    """Polls until `want` records came; returns {(partition, offset): value}."""
    got = {}
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        message = c.poll(0.1)
        if message is None:
            continue
        if message.error():
            assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
            continue
        got[(message.partition(), message.offset())] = message.value().decode()
    assert len(got) == want, f"{len(got)} records of {want}"
    return got


def describe(broker, group):
    """(header line fields, rows as dicts by column) of `strand groups describe`."""
    out, _ = strand(broker, ["groups", "describe", group])
    lines = out.splitlines()
    assert lines[0].startswith(f"Group: {group}\tState: "), out
    header_fields = dict(field.split(": ", 1) for field in lines[0].split("\t"))
    rows = []
    columns = None
    for line in lines[1:]:
        if line.startswith("GROUP "):
            columns = line.split()
            assert columns == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                               "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], line
        elif columns and line.strip():
            cells = line.split()
            assert len(cells) == len(columns), line
            rows.append(dict(zip(columns, cells)))
    return header_fields, rows, out


def committed(broker, group, topic):
    c = consumer(broker, group)
    offsets = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    c.close()
    return [tp.offset for tp in offsets]


def described_offsets(broker, group, topic):
    _, rows, out = describe(broker, group)
    by_partition = {int(r["PARTITION"]): r for r in rows if r["TOPIC"] == topic}
    assert sorted(by_partition) == list(range(PARTITIONS)), out
    return [int(by_partition[p]["CURRENT-OFFSET"]) for p in range(PARTITIONS)]


def listed(broker):
    out, _ = strand(broker, ["groups", "list"])
    return out.split()


def check_active_group(broker, topic, group):
    c = consumer(broker, group)
    c.subscribe([topic])
    consume(c, PARTITIONS * PER_PARTITION)
    c.commit(offsets=[TopicPartition(topic, 0, 10), TopicPartition(topic, 1, 7),
                      TopicPartition(topic, 2, 4)], asynchronous=False)
    wait_until(lambda: (c.poll(0.05), len(c.assignment()) == PARTITIONS)[1], 20,
               "the consumer owning every partition")
    try:
        assert group in listed(broker), "list shows the group"
        header, rows, out = describe(broker, group)
        assert header["State"] == "Stable", out
        assert header["Protocol"].startswith("consumer/"), out
        assert header["Members"] == "1", out
        member_ids = {r["CONSUMER-ID"] for r in rows}
        assert len(member_ids) == 1 and member_ids.pop().startswith(CLIENT_ID), out
        table = {int(r["PARTITION"]): (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"])
                 for r in rows}
        assert table == {0: ("10", "10", "0"), 1: ("7", "10", "3"), 2: ("4", "10", "6")}, out
        assert all(r["CLIENT-ID"] == CLIENT_ID and r["HOST"] != "-" for r in rows), out
        # Resetting an active group is refused, plainly, and nothing changes.
        _, err = strand(broker, ["groups", "reset-offsets", group, "--topic", topic,
                                 "--to-earliest", "--execute"], want=1)
        assert "inactive" in err and "Stable" in err, err
        assert committed(broker, group, topic) == [10, 7, 4]
        # So is deleting it.
        _, err = strand(broker, ["groups", "delete", group], want=1)
        assert "NON_EMPTY_GROUP" in err, err
        cross = cross_check_kafka_python(broker, group, rows)
    finally:
        c.close()
    return f"lag 0/3/6 for the member; {cross}"


def cross_check_kafka_python(broker, group, rows):
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="strand-groups-it-kp")
    try:
        groups = dict(admin.list_consumer_groups())
        assert groups.get(group) == "consumer", groups
        [info] = admin.describe_consumer_groups([group])
        assert info.state == "Stable", info
        assert [m.member_id for m in info.members] == [rows[0]["CONSUMER-ID"]], info.members
        assert info.members[0].client_id == CLIENT_ID, info.members
    finally:
        admin.close()
    return "kafka-python agrees"


def check_inactive_describe(broker, topic, group):
    header, rows, out = describe(broker, group)
    assert header["State"] == "Empty" and header["Members"] == "0", out
    assert f"Consumer group '{group}' has no active members." in out, out
    assert all(r["CONSUMER-ID"] == "-" for r in rows), out
    assert [int(r["LAG"]) for r in rows] == [0, 3, 6], out
    return "Empty, no members, lag kept"


def reset(broker, group, topic_arg, *strategy, execute=True, want=0):
    args = ["groups", "reset-offsets", group, "--topic", topic_arg] + list(strategy)
    if execute:
        args.append("--execute")
    out, err = strand(broker, args, want=want)
    return out, err


def planned(out):
    """NEW-OFFSET by partition from reset-offsets' table."""
    lines = out.splitlines()
    assert lines[0].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], out
    return {int(line.split()[2]): int(line.split()[3]) for line in lines[1:]}


def check_reset_to_earliest_rereads(broker, topic, group):
    out, err = reset(broker, group, topic, "--to-earliest", execute=False)
    assert planned(out) == {0: 0, 1: 0, 2: 0}, out
    assert "dry run" in err, err
    assert committed(broker, group, topic) == [10, 7, 4], "a dry run commits nothing"
    out, _ = reset(broker, group, topic, "--to-earliest")
    assert planned(out) == {0: 0, 1: 0, 2: 0}, out
    assert described_offsets(broker, group, topic) == [0, 0, 0]
    c = consumer(broker, group)
    c.subscribe([topic])
    got = consume(c, PARTITIONS * PER_PARTITION)
    assert sorted(got) == [(p, o) for p in range(PARTITIONS) for o in range(PER_PARTITION)]
    c.commit(asynchronous=False)
    c.close()
    assert committed(broker, group, topic) == [10, 10, 10]
    return "a new consumer read all 30 from offset 0"


def check_shift_offset_datetime_latest(broker, topic, group):
    reset(broker, group, topic, "--shift-by", "-3")
    assert committed(broker, group, topic) == [7, 7, 7]
    reset(broker, group, topic, "--shift-by=-30")  # clamped to the log start
    assert described_offsets(broker, group, topic) == [0, 0, 0]
    reset(broker, group, topic, "--shift-by", "4")
    assert committed(broker, group, topic) == [4, 4, 4]
    out, _ = reset(broker, group, f"{topic}:1", "--to-offset", "2")
    assert planned(out) == {1: 2}, out
    assert committed(broker, group, topic) == [4, 2, 4], "only partition 1 moved"
    out, _ = reset(broker, group, f"{topic}:0,2", "--to-offset", "100")
    assert planned(out) == {0: 10, 2: 10}, "clamped to the log end: " + out
    assert described_offsets(broker, group, topic) == [10, 2, 10]
    reset(broker, group, topic, "--to-datetime", "2026-01-01T01:00:00Z")
    assert committed(broker, group, topic) == [5, 5, 5], "the first record at or after 01:00"
    out, _ = reset(broker, group, topic, "--to-datetime", "2026-01-01T01:00:02.500+01:00",
                   execute=False)
    assert planned(out) == {0: 3, 1: 3, 2: 3}, "00:00:02.5 UTC: offset 3 is the first after " + out
    out, _ = reset(broker, group, topic, "--to-datetime", "2026-01-01T02:00:07.5+01:00",
                   execute=False)
    assert planned(out) == {0: 8, 1: 8, 2: 8}, "01:00:07.5 UTC: offset 8 is the first after " + out
    out, _ = reset(broker, group, topic, "--to-datetime", "2030-01-01T00:00:00Z", execute=False)
    assert planned(out) == {0: 10, 1: 10, 2: 10}, "nothing that new: the log end " + out
    reset(broker, group, topic, "--to-latest")
    assert committed(broker, group, topic) == [10, 10, 10]
    return "shift -3, clamped shifts, --to-offset on chosen partitions, by time, latest"


def check_bad_usage(broker, topic, group):
    cases = [
        (["groups", "reset-offsets", group, "--topic", topic], "exactly one"),
        (["groups", "reset-offsets", group, "--topic", topic, "--to-earliest", "--to-latest"],
         "exactly one"),
        (["groups", "reset-offsets", group, "--to-earliest"], "--topic or --all-topics"),
        (["groups", "reset-offsets", group, "--topic", topic, "--to-datetime", "yesterday"],
         "YYYY-MM-DD"),
        (["groups", "reset-offsets", group, "--topic", topic, "--to-datetime",
          "2026-02-30T00:00:00"], "no day 30"),
        (["groups", "reset-offsets", group, "--topic", f"{topic}:x", "--to-earliest"],
         "not a partition number"),
        (["groups", "reset-offsets", group, "--topic", topic, "--to-offset", "-1"],
         "negative"),
        (["groups", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute",
          "--dry-run"], "excludes"),
        (["groups", "describe"], "group"),
        (["groups", "frobnicate"], ""),
    ]
    for args, words in cases:
        _, err = strand(broker, args, want=2)
        assert words.lower() in err.lower(), (args, err)
    _, err = reset(broker, group, f"{topic}:7", "--to-earliest", want=1)
    assert "no partition 7" in err, err
    _, err = reset(broker, group, "no-such-topic-here", "--to-earliest", want=1)
    assert "UNKNOWN_TOPIC_OR_PARTITION" in err, err
    _, err = strand(broker, ["groups", "describe", "no-such-group"], want=1)
    assert "does not exist" in err, err
    return f"{len(cases)} usage errors exit 2; unknown partition, topic and group exit 1"


def check_delete(broker, topic, group):
    out, _ = strand(broker, ["groups", "delete", group])
    assert out.strip() == f"Deleted group {group}.", out
    assert group not in listed(broker)
    assert committed(broker, group, topic) == [-1001] * PARTITIONS, "offsets gone"
    _, err = strand(broker, ["groups", "delete", group], want=1)
    assert "GROUP_ID_NOT_FOUND" in err, err
    return "deleted, unlisted, offsets gone"


def check_cluster_coordinator_elsewhere(cluster):
    """In a cluster the group's coordinator leads its __consumer_offsets partition; every command
    bootstraps from another broker and must find it."""
    from cluster_test import PARTITIONS as CLUSTER_PARTITIONS, all_led, partition_view
    wait_until(lambda: (lambda m: m is not None and len(m.brokers) == 3)(
        partition_view(cluster.bootstrap())), 30, "three brokers in Metadata")
    topic = unique_topic("groups-cluster")
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    admin.create_topics([NewTopic(topic, CLUSTER_PARTITIONS, 3)], operation_timeout=30)[topic] \
        .result(60)
    wait_until(lambda: all_led(cluster.bootstrap(), topic), 30, "every partition led")
    producer = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all"})
    for i in range(60):
        producer.produce(topic, value=f"v{i}".encode(), partition=i % CLUSTER_PARTITIONS)
    assert producer.flush(30) == 0
    group = topic + "-g"
    c = Consumer(dict(CONSUMER, **{"bootstrap.servers": cluster.bootstrap(), "group.id": group}))
    c.subscribe([topic])
    consume(c, 60)
    c.commit(asynchronous=False)
    brokers = list(cluster.brokers.values())
    try:
        header, _, out = describe(brokers[0], group)
        coordinator = int(header["Coordinator"])
        assert header["State"] == "Stable", out
        # Every command from here on goes through a broker that is not the coordinator.
        via = next(b for node, b in cluster.brokers.items() if node != coordinator)
        header, rows, out = describe(via, group)
        assert header["State"] == "Stable" and int(header["Coordinator"]) == coordinator, out
        assert len(rows) == CLUSTER_PARTITIONS, out
        assert all(r["CURRENT-OFFSET"] == r["LOG-END-OFFSET"] and r["LAG"] == "0" and
                   r["CONSUMER-ID"].startswith(CLIENT_ID) for r in rows), out
        _, err = strand(via, ["groups", "reset-offsets", group, "--topic", topic, "--to-earliest",
                              "--execute"], want=1)
        assert "inactive" in err, err
    finally:
        c.close()
    out, _ = strand(via, ["groups", "reset-offsets", group, "--topic", topic, "--to-earliest",
                          "--execute"])
    assert set(planned(out).values()) == {0}, out
    _, rows, out = describe(via, group)
    assert [r["CURRENT-OFFSET"] for r in rows] == ["0"] * CLUSTER_PARTITIONS, out
    assert group in listed(via)
    strand(via, ["groups", "delete", group])
    for broker in brokers:
        assert group not in listed(broker), broker.name
    return f"coordinator node {coordinator}, commands through {via.name}"


def main_cluster():
    from cluster_test import Cluster
    checks = Checks("strand_groups_cluster")
    cluster = Cluster()
    try:
        checks.run("a coordinator on another broker", check_cluster_coordinator_elsewhere, cluster)
        for broker in cluster.brokers.values():
            checks.run(f"{broker.name} still healthy", broker.assert_no_crash)
    finally:
        cluster.close()
    return checks.exit_status()


def main():
    if sys.argv[1:] == ["--cluster"]:
        return main_cluster()
    checks = Checks("strand_groups")
    with Broker(settings=SETTINGS) as broker:
        checks.broker = broker
        topic = checks.run("topic with timed records", setup_topic, broker)
        if topic is not None:
            group = topic + "-g"
            if checks.run("list and describe an active group; resets refused",
                          check_active_group, broker, topic, group) is not None:
                checks.run("describe an inactive group", check_inactive_describe, broker, topic,
                           group)
                if checks.run("reset to earliest, then a new consumer re-reads",
                              check_reset_to_earliest_rereads, broker, topic, group):
                    checks.run("shift, offset, datetime and latest",
                               check_shift_offset_datetime_latest, broker, topic, group)
                checks.run("bad flags and unknown names", check_bad_usage, broker, topic, group)
                checks.run("delete", check_delete, broker, topic, group)
        checks.run("broker still healthy", broker.assert_no_crash)
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
