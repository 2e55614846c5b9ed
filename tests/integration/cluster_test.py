#!/usr/bin/python3
"""Three strand-broker processes on loopback form a cluster (every broker a controller voter).
A topic with 6 partitions and replication factor 3 is created through confluent-kafka's
AdminClient; an idempotent confluent-kafka producer (acks=all) runs while the test SIGKILLs the
leader of some partitions, restarts it, and later kills the leader of another. Afterwards every
acknowledged record is read back at exactly its acknowledged offset, each offset holds one record,
no record is stored twice (the retries after a failover are recognised by their sequence), and per
partition the acknowledged records keep their order (offsets are not dense: a new leader's Raft
control batch takes an offset, which consumers skip, as they skip Kafka's transaction markers). kafka-python and kcat see the three brokers
and every partition's replicas and leader before and after. Then all three stop cleanly (SIGTERM)
and start again with every record in place; a topic with a short retention.ms loses its old
segments; with two brokers of three killed, acks=all is refused (NOT_ENOUGH_REPLICAS or
NOT_LEADER_OR_FOLLOWER) within seconds rather than left hanging. A broker down longer than
broker.session.timeout.ms (3 s here) is fenced: kafka-python and kcat no longer list it, a topic
needing three replicas is refused and one needing two avoids it; once restarted it is listed again.
Prints the failover time: from the kill to the first acknowledgement by a partition the killed
broker led."""

import socket
import subprocess
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, NotEnoughReplicasError, NotLeaderForPartitionError
from kafka import TopicPartition as KafkaTopicPartition

from broker_fixture import Broker, Checks, unique_topic, wait_until

NODES = (1, 2, 3)
PARTITIONS = 6
REPLICATION = 3
DOWN_S = 2.0
SESSION_MS = 3000  # broker.session.timeout.ms: longer than DOWN_S, so the kills fence nobody


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class Cluster:
    def __init__(self, settings=None):
        rpc_ports = free_ports(len(NODES))
        self.voters = ",".join(f"{node}@127.0.0.1:{port}" for node, port in zip(NODES, rpc_ports))
        self.settings = dict(settings or {})
        self.brokers = {}
        for node in NODES:
            self.brokers[node] = Broker(
                name=f"node{node}", check_advertised=False,
                settings={"node.id": node, "controller.quorum.voters": self.voters,
                          "num.partitions": 1, "log.retention.check.interval.ms": 500,
                          **self.settings})

    def add_broker(self, node):
        """Starts broker `node` outside the controller quorum (it follows the metadata log as a
        learner and serves inter-broker RPC on its own port)."""
        rpc_port = free_ports(1)[0]
        self.brokers[node] = Broker(
            name=f"node{node}", check_advertised=False,
            settings={"node.id": node, "controller.quorum.voters": self.voters,
                      "broker.rpc.listener": f"127.0.0.1:{rpc_port}",
                      "num.partitions": 1, "log.retention.check.interval.ms": 500,
                      **self.settings})
        return self.brokers[node]

    def wait_registered(self):
        """Waits until Metadata lists every voter."""
        wait_until(lambda: (lambda m: m is not None and len(m.brokers) == len(NODES))(
            partition_view(self.bootstrap())), 30, f"{len(NODES)} registered brokers")

    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers.values() if b.running())

    def close(self):
        for broker in self.brokers.values():
            broker.close()

    def assert_no_crash(self):
        crashes = self.crashes()
        assert not crashes, "\n".join(crashes)

    def close_reporting(self, checks):
        """Stops every broker; on a failed check prints each one's log tail first. Returns the
        test's exit status."""
        status = checks.exit_status()
        if status != 0:
            for broker in self.brokers.values():
                print(f"--- {broker.name} stderr (tail) ---\n{broker.log_tail(30)}")
        self.close()
        return status

    def crashes(self):
        found = []
        for broker in self.brokers.values():
            try:
                broker.assert_no_crash()
            except AssertionError as error:
                found.append(str(error))
        return found


def partition_view(bootstrap):
    """The cluster's metadata through confluent-kafka, or None while no broker answers."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        return admin.list_topics(timeout=5)
    except KafkaException:
        return None


def leaders(bootstrap, topic):
    metadata = partition_view(bootstrap)
    if metadata is None or topic not in metadata.topics:
        return {}
    return {p.id: p.leader for p in metadata.topics[topic].partitions.values()}


def all_led(bootstrap, topic, partitions=PARTITIONS):
    found = leaders(bootstrap, topic)
    if len(found) == partitions and all(leader in NODES for leader in found.values()):
        return found
    return None


def check_metadata(cluster, topic):
    """kafka-python and kcat: three brokers; every partition with 3 replicas and a live leader."""
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap(), request_timeout_ms=10000,
                             api_version_auto_timeout_ms=10000)
    try:
        found = consumer.partitions_for_topic(topic)
        assert found == set(range(PARTITIONS)), f"kafka-python sees partitions {found}"
        brokers = {b.nodeId for b in consumer._client.cluster.brokers()}
        assert brokers == set(NODES), f"kafka-python sees brokers {brokers}"
        for partition in range(PARTITIONS):
            leader = consumer._client.cluster.leader_for_partition(
                KafkaTopicPartition(topic, partition))
            assert leader in NODES, f"kafka-python: partition {partition} leader {leader}"
    finally:
        consumer.close()
    any_broker = next(b for b in cluster.brokers.values() if b.running())
    listing = subprocess.run(["kcat", "-b", any_broker.bootstrap, "-L", "-t", topic, "-m", "10"],
                             capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    text = listing.stdout
    assert "3 brokers:" in text, text
    for partition in range(PARTITIONS):
        line = next((l for l in text.splitlines() if f"partition {partition}," in l), None)
        assert line is not None and "replicas: " in line, text
        replicas = line.split("replicas: ")[1].split(",")[0:REPLICATION]
        assert sorted(int(r.split()[0]) for r in replicas) == list(NODES), line
    return "kafka-python and kcat agree"


class Load:
    """A producer thread: keyed records, acks=all, idempotent (a retry after a failover must not
    store a record twice), until stopped."""

    def __init__(self, bootstrap, topic):
        self.topic = topic
        self.acked = {}  # value -> (partition, offset)
        self.ack_times = []  # (monotonic time, partition, record index)
        self.failed = {}
        self.sent = 0
        self.stop = threading.Event()
        self.producer = Producer({
            "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
            "max.in.flight.requests.per.connection": 1, "enable.idempotence": True,
            "message.timeout.ms": 60000, "retries": 1000000, "retry.backoff.ms": 100,
            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 1000,
            "socket.connection.setup.timeout.ms": 2000})
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_delivery(self, error, message):
        value = message.value().decode()
        if error is not None:
            self.failed[value] = str(error)
            return
        self.acked[value] = (message.partition(), message.offset())
        self.ack_times.append((time.monotonic(), message.partition(), int(value[1:])))

    def run(self):
        while not self.stop.is_set():
            for _ in range(10):
                value = f"v{self.sent:06d}"
                self.producer.produce(self.topic, key=f"k{self.sent % 97}", value=value,
                                      on_delivery=self.on_delivery)
                self.sent += 1
            self.producer.poll(0)
            time.sleep(0.01)
        self.producer.flush(90)


def kill_a_leader(cluster, topic, load, avoid=()):
    """Kills the leader of the first partition not led by a node in `avoid`; returns (node,
    failover seconds, partitions it led)."""
    current = wait_until(lambda: all_led(cluster.bootstrap(), topic), 30, "every partition led")
    victim = next(leader for _, leader in sorted(current.items()) if leader not in avoid)
    led = {p for p, leader in current.items() if leader == victim}
    killed_at = time.monotonic()
    first_sent_after = load.sent + 20  # past what the client may have queued before the kill
    cluster.brokers[victim].kill()

    def acked_on_led():
        return next((t for t, p, index in list(load.ack_times)
                     if index >= first_sent_after and p in led), None)

    first = wait_until(acked_on_led, 30, f"an ack on partitions {sorted(led)} after the kill")
    return victim, first - killed_at, led


def read_back(bootstrap, topic, acked, partitions=PARTITIONS):
    """{(partition, offset): value} read from offset 0 of every partition until every position in
    `acked` ({value: (partition, offset)}) has been read, or a minute passed."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    records = {}  # (partition, offset) -> value
    # Not "until every partition's end": a new leader's high watermark can lag until its first
    # entry commits.
    deadline = time.monotonic() + 60
    try:
        wanted = set(acked.values())
        while wanted and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            key = (message.partition(), message.offset())
            assert key not in records, f"offset {key} delivered twice"
            records[key] = message.value().decode()
            wanted.discard(key)
    finally:
        consumer.close()
    return records


def check_acked_read_back(bootstrap, topic, load, partitions=PARTITIONS):
    """Every record `load` saw acknowledged is read back at its offset, none is stored twice, and
    per partition the acknowledged records keep their send order."""
    assert not load.failed, f"{len(load.failed)} records failed: " \
        f"{list(load.failed.items())[:3]}"
    records = read_back(bootstrap, topic, load.acked, partitions)
    missing = [(v, at) for v, at in load.acked.items() if records.get(at) != v]
    assert not missing, f"{len(missing)} acknowledged records not at their offsets: " \
        f"{missing[:5]}"
    seen = {}
    for at, value in sorted(records.items()):
        assert value not in seen, f"{value} stored twice, at {seen[value]} and {at}"
        seen[value] = at
    # Offsets are not dense: each new leader's control batch takes one, as Kafka's transaction
    # markers do.
    for partition in range(partitions):
        values = [v for _, v in sorted((o, v) for v, (p, o) in load.acked.items()
                                       if p == partition)]
        assert values == sorted(values), f"partition {partition}: acknowledged records " \
            "out of order"
    return (f"{len(load.acked)} acknowledged of {load.sent} sent, all read back, none twice "
            f"({len(records)} records read)")


def main():
    topic = unique_topic("replicated")
    cluster = Cluster(settings={"broker.session.timeout.ms": SESSION_MS})
    checks = Checks("cluster")
    try:
        def registered():
            metadata = partition_view(cluster.bootstrap())
            return metadata is not None and len(metadata.brokers) == len(NODES)
        checks.run("three brokers register", wait_until, registered, 30, "3 brokers in Metadata")

        def create():
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
            for future in admin.create_topics(
                    [NewTopic(topic, PARTITIONS, REPLICATION)], operation_timeout=30).values():
                future.result(60)
            wait_until(lambda: all_led(cluster.bootstrap(), topic), 30, "every partition led")
            return f"{PARTITIONS} partitions x {REPLICATION} replicas"
        checks.run("create a replicated topic", create)
        checks.run("metadata before the kills", check_metadata, cluster, topic)

        load = Load(cluster.bootstrap(), topic)
        load.thread.start()
        time.sleep(2)
        failovers = []

        def first_kill():
            victim, seconds, led = kill_a_leader(cluster, topic, load)
            failovers.append(seconds)
            time.sleep(DOWN_S)
            cluster.brokers[victim].restart()
            return f"node {victim} (led {sorted(led)}): failover {seconds:.2f} s"
        checks.run("kill -9 a leader during acks=all produce, restart it", first_kill)
        time.sleep(3)

        def second_kill():
            victim, seconds, led = kill_a_leader(cluster, topic, load)
            failovers.append(seconds)
            time.sleep(DOWN_S)
            cluster.brokers[victim].restart()
            return f"node {victim} (led {sorted(led)}): failover {seconds:.2f} s"
        checks.run("kill -9 another leader, restart it", second_kill)
        time.sleep(2)
        load.stop.set()
        load.thread.join(120)

        def acked_are_all_there():
            wait_until(lambda: all_led(cluster.bootstrap(), topic), 30, "every partition led")
            return check_acked_read_back(cluster.bootstrap(), topic, load)
        checks.run("every acknowledged record is read back at its offset", acked_are_all_there)
        checks.run("metadata after the kills", check_metadata, cluster, topic)

        def restart_all():
            for broker in cluster.brokers.values():
                broker.stop()  # SIGTERM: asserts a clean exit
            for broker in cluster.brokers.values():
                broker.restart()
            wait_until(lambda: all_led(cluster.bootstrap(), topic), 30, "every partition led")
            records = read_back(cluster.bootstrap(), topic, load.acked)
            missing = [v for v, at in load.acked.items() if records.get(at) != v]
            assert not missing, f"{len(missing)} acknowledged records lost by the restart"
            return f"{len(records)} records after a clean stop and start of all three"
        checks.run("SIGTERM all three brokers, start them again", restart_all)
        if failovers:
            print(f"failover seconds: {', '.join(f'{s:.2f}' for s in failovers)}", flush=True)

        def retention():
            short = unique_topic("short-lived")
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
            configs = {"retention.ms": "2000", "segment.bytes": "16384"}
            for future in admin.create_topics([NewTopic(short, 1, REPLICATION, config=configs)],
                                              operation_timeout=30).values():
                future.result(60)
            wait_until(lambda: leaders(cluster.bootstrap(), short).get(0) in NODES, 30,
                       "a leader")
            producer = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all",
                                 "batch.size": 4096, "linger.ms": 1})
            failures = []
            for i in range(400):
                producer.produce(short, value=b"x" * 500,
                                 on_delivery=lambda error, _: error and failures.append(error))
            assert producer.flush(30) == 0 and not failures, f"produce failed: {failures[:3]}"
            consumer = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": "unused"})
            try:
                low, high = wait_until(
                    lambda: (lambda w: w if w[0] > 0 else None)(
                        consumer.get_watermark_offsets(TopicPartition(short, 0), timeout=5)),
                    30, "the log start offset to move")
            finally:
                consumer.close()
            return f"log start {low}, end {high}"
        checks.run("retention removes old segments of a replicated partition", retention)

        def no_quorum_is_an_error_not_a_hang():
            led = wait_until(lambda: all_led(cluster.bootstrap(), topic), 30, "every partition led")
            partition, survivor = sorted(led.items())[0]
            for node in NODES:
                if node != survivor:
                    cluster.brokers[node].kill()
            producer = KafkaProducer(bootstrap_servers=cluster.brokers[survivor].bootstrap,
                                     acks="all",
                                     retries=0, request_timeout_ms=20000, max_block_ms=10000)
            try:
                started = time.monotonic()
                try:
                    producer.send(topic, value=b"lonely", partition=partition).get(timeout=30)
                except KafkaError as error:
                    refused = error
                else:
                    raise AssertionError("acks=all was acknowledged by one replica of three")
                elapsed = time.monotonic() - started
            finally:
                producer.close(timeout=5)
                for node in NODES:
                    if not cluster.brokers[node].running():
                        cluster.brokers[node].restart()
            assert isinstance(refused, (NotEnoughReplicasError, NotLeaderForPartitionError)), \
                f"refused with {refused!r}"
            assert elapsed < 10, f"the refusal took {elapsed:.1f} s"
            return f"{type(refused).__name__} after {elapsed:.2f} s"
        checks.run("acks=all without a quorum is refused, not left hanging",
                   no_quorum_is_an_error_not_a_hang)

        def fenced_after_the_session():
            metadata = wait_until(lambda: partition_view(cluster.bootstrap()), 30, "metadata")
            victim = next(node for node in NODES if node != metadata.controller_id)
            down_at = time.monotonic()
            cluster.brokers[victim].kill()

            def listed_by_kafka_python():
                consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap(),
                                         request_timeout_ms=10000, api_version_auto_timeout_ms=10000)
                try:
                    consumer.topics()  # a fresh metadata answer
                    return {b.nodeId for b in consumer._client.cluster.brokers()}
                finally:
                    consumer.close()
            survivors = set(NODES) - {victim}
            wait_until(lambda: listed_by_kafka_python() == survivors, 30,
                       f"kafka-python to list only {sorted(survivors)}")
            fenced_s = time.monotonic() - down_at
            assert fenced_s >= SESSION_MS / 1000 - 0.5, f"fenced after only {fenced_s:.2f} s"
            alive = cluster.brokers[survivors.pop()]
            listing = subprocess.run(["kcat", "-b", alive.bootstrap, "-L", "-m", "10"],
                                     capture_output=True, text=True, timeout=30)
            assert listing.returncode == 0 and "2 brokers:" in listing.stdout, listing.stdout

            admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
            too_wide, narrow = unique_topic("too-wide"), unique_topic("narrow")
            try:
                admin.create_topics([NewTopic(too_wide, 1, 3)], operation_timeout=30)[
                    too_wide].result(60)
                raise AssertionError("a topic with 3 replicas was created on 2 live brokers")
            except KafkaException as error:
                assert "INVALID_REPLICATION_FACTOR" in str(error), str(error)
            admin.create_topics([NewTopic(narrow, 4, 2)], operation_timeout=30)[narrow].result(60)
            placed = wait_until(lambda: (lambda m: m.topics.get(narrow))(
                partition_view(cluster.bootstrap())), 30, "the new topic in metadata")
            on_victim = [p.id for p in placed.partitions.values() if victim in p.replicas]
            assert not on_victim, f"partitions {on_victim} placed on fenced broker {victim}"

            cluster.brokers[victim].restart()
            wait_until(lambda: listed_by_kafka_python() == set(NODES), 30,
                       "kafka-python to list all three again")
            return f"node {victim} fenced {fenced_s:.1f} s after its kill, listed again on restart"
        checks.run("a broker down past broker.session.timeout.ms is fenced, then back",
                   fenced_after_the_session)

        checks.run("no broker crashed", cluster.assert_no_crash)
    finally:
        status = cluster.close_reporting(checks)
    return status


if __name__ == "__main__":
    sys.exit(main())
