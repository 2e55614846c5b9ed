#!/usr/bin/python3
"""The strand CLI against a strand-broker process: topics create/list/describe/delete, keyed lines
produced and consumed back exactly (on the partitions murmur2 picks), offsets and partitions chosen
on the command line, errors with their exit codes, and perf figures that make sense.

The CLI comes from $STRAND (meson passes it), else from beside $STRAND_BROKER."""

import os
import re
import subprocess
import sys
import time

from broker_fixture import Broker, Checks, unique_topic, wait_until

PARTITIONS = 3
KEYS = 7
RECORDS = 60


def strand_binary():
    path = os.environ.get("STRAND")
    if not path and os.environ.get("STRAND_BROKER"):
        path = os.path.join(os.path.dirname(os.environ["STRAND_BROKER"]), "strand")
    if not path or not os.access(path, os.X_OK):
        raise SystemExit(f"strand CLI not found (STRAND={path!r}); run through meson test")
    return path


def strand(broker, args, stdin=b"", timeout_s=60, want=0):
    """Runs the CLI; checks its exit status; returns (stdout text, stderr text)."""
    command = [strand_binary(), "--bootstrap", broker.bootstrap] + args
    result = subprocess.run(command, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout_s)
    out, err = result.stdout.decode(), result.stderr.decode()
    if result.returncode != want:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}, want {want}\n"
                             f"stdout: {out[-2000:]}\nstderr: {err[-2000:]}")
    return out, err


def murmur2_partition(key, partitions):
    """Kafka's default partitioner for a keyed record (Utils.murmur2, toPositive, modulo)."""
    data = key.encode()
    m, r = 0x5bd1e995, 24
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    whole = len(data) // 4 * 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    tail = data[whole:]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return (h & 0x7fffffff) % partitions


def keyed_lines():
    """(key, value) pairs; values hold the separator, tabs, UTF-8 and one is empty."""
    pairs = [(f"key-{i % KEYS}", f"value-{i}:with:colons\tand tab é") for i in range(RECORDS - 1)]
    pairs.append(("key-empty", ""))
    return pairs


def describe(broker, topic):
    out, _ = strand(broker, ["topics", "describe", topic])
    rows = re.findall(r"Partition: (\d+)\tLeader: (-?\d+)\tStartOffset: (\d+)\tEndOffset: (\d+)",
                      out)
    assert out.startswith(f"Topic: {topic}\tPartitions: {len(rows)}"), out
    return {int(p): (int(leader), int(start), int(end)) for p, leader, start, end in rows}


def check_topics_admin(broker, topic):
    out, _ = strand(broker, ["topics", "create", topic, "--partitions", str(PARTITIONS),
                             "--config", "retention.ms=86400000"])
    assert out.strip() == f"Created topic {topic}.", out
    listed, _ = strand(broker, ["topics", "list"])
    assert topic in listed.split("\n"), listed
    partitions = describe(broker, topic)
    assert sorted(partitions) == list(range(PARTITIONS)), partitions
    assert all(start == 0 and end == 0 and leader >= 0
               for leader, start, end in partitions.values()), partitions
    return f"{PARTITIONS} partitions"


def check_keyed_round_trip(broker, topic):
    pairs = keyed_lines()
    stdin = "".join(f"{k}:{v}\n" for k, v in pairs).encode()
    strand(broker, ["produce", topic, "--key-separator", ":", "--acks", "all"], stdin=stdin)
    ends = {p: end for p, (_, _, end) in describe(broker, topic).items()}
    assert sum(ends.values()) == len(pairs), ends
    # Each partition holds exactly the keys murmur2 sends there, in the order they were produced.
    for partition in range(PARTITIONS):
        want = [f"{k}\t{v}" for k, v in pairs if murmur2_partition(k, PARTITIONS) == partition]
        assert ends[partition] == len(want), (partition, ends, len(want))
        if not want:
            continue
        out, _ = strand(broker, ["consume", topic, "--partition", str(partition), "--offset", "0",
                                 "--print-key", "--max-messages", str(len(want))])
        got = out.split("\n")[:-1]
        assert got == want, f"partition {partition}:\n got {got[:5]}\nwant {want[:5]}"
    # All partitions at once, from the beginning, with a custom separator.
    out, _ = strand(broker, ["consume", topic, "--from-beginning", "--print-key",
                             "--key-separator", "=>", "--max-messages", str(len(pairs))])
    assert sorted(out.split("\n")[:-1]) == sorted(f"{k}=>{v}" for k, v in pairs)
    return f"{len(pairs)} records on {sum(1 for e in ends.values() if e)} partitions"


def check_offsets_and_idle_exit(broker, topic):
    partition = murmur2_partition("key-0", PARTITIONS)
    out, _ = strand(broker, ["consume", topic, "--partition", str(partition), "--offset", "1",
                             "--max-messages", "1", "--print-key"])
    keys_there = [(k, v) for k, v in keyed_lines() if murmur2_partition(k, PARTITIONS) == partition]
    assert out == f"{keys_there[1][0]}\t{keys_there[1][1]}\n", out
    started = time.monotonic()
    out, _ = strand(broker, ["consume", topic, "--from-beginning", "--idle-timeout-ms", "500"])
    elapsed = time.monotonic() - started
    assert len(out.split("\n")) - 1 == RECORDS, out
    assert elapsed < 10, f"idle exit took {elapsed:.1f} s"
    # From the end (the default), nothing arrives: exits empty after the idle timeout.
    out, _ = strand(broker, ["consume", topic, "--idle-timeout-ms", "300"])
    assert out == "", out
    return f"idle exit after {elapsed:.1f} s"


def check_acks_and_partition(broker, topic):
    before = describe(broker, topic)[2][2]
    for acks in ("1", "0"):
        strand(broker, ["produce", topic, "--acks", acks, "--partition", "2"],
               stdin=f"plain-{acks}-a\nplain-{acks}-b\n".encode())
    # acks=0 gets no answer: the records show up once the broker has appended and synced them.
    wait_until(lambda: describe(broker, topic)[2][2] == before + 4, 10, "4 more records")
    out, _ = strand(broker, ["consume", topic, "--partition", "2", "--offset", str(before),
                             "--max-messages", "4"])
    assert out.split("\n")[:-1] == ["plain-1-a", "plain-1-b", "plain-0-a", "plain-0-b"], out
    return "acks 1 and 0"


def check_errors(broker, topic):
    missing = topic + "-missing"
    _, err = strand(broker, ["topics", "describe", missing], want=1)
    assert "UNKNOWN_TOPIC_OR_PARTITION" in err and err.count("\n") == 1, err
    _, err = strand(broker, ["topics", "create", topic], want=1)
    assert "TOPIC_ALREADY_EXISTS" in err and err.count("\n") == 1, err
    _, err = strand(broker, ["topics", "delete", missing], want=1)
    assert "UNKNOWN_TOPIC_OR_PARTITION" in err, err
    _, err = strand(broker, ["topics", "create", "x", "--config", "nonsense"], want=2)
    assert err.count("\n") == 1, err
    _, err = strand(broker, ["consume", topic, "--offset", "3"], want=2)
    _, err = strand(broker, ["produce", topic, "--key-separator", ":"], stdin=b"no separator\n",
                    want=2)
    _, err = strand(broker, ["bogus"], want=2)
    return "exit codes 1 and 2"


PERF_PRODUCE = re.compile(
    r"^(\d+) records sent, ([\d.]+) records/s \(([\d.]+) MB/s\), latency p50 ([\d.]+) ms, "
    r"p99 ([\d.]+) ms, p99\.9 ([\d.]+) ms, max ([\d.]+) ms; (\d+) requests, (\d+) batches$")
PERF_CONSUME = re.compile(r"^(\d+) records consumed, ([\d.]+) MB, ([\d.]+) records/s, "
                          r"([\d.]+) MB/s, ([\d.]+) s$")


def check_perf(broker, topic):
    perf_topic = topic + "-perf"
    strand(broker, ["topics", "create", perf_topic, "--partitions", "2"])
    figures = []
    for acks in ("all", "1"):
        out, _ = strand(broker, ["perf", "produce", perf_topic, "--records", "20000",
                                 "--record-size", "1024", "--acks", acks], timeout_s=120)
        match = PERF_PRODUCE.match(out.strip())
        assert match, out
        sent, rate, mbps, p50, p99, p999, worst, requests, batches = match.groups()
        assert int(sent) == 20000 and float(rate) > 0 and float(mbps) > 0, out
        assert float(p50) <= float(p99) <= float(p999) <= float(worst), out
        assert 0 < int(requests) <= int(batches) < 20000, out  # batched, not one by one
        figures.append(f"acks={acks} {float(rate):.0f} rec/s p99 {float(p99):.1f} ms")
    out, _ = strand(broker, ["perf", "consume", perf_topic, "--records", "40000"], timeout_s=120)
    match = PERF_CONSUME.match(out.strip())
    assert match, out
    assert int(match.group(1)) >= 40000 and float(match.group(3)) > 0, out
    assert abs(float(match.group(2)) - 40000 * 1024 / 2**20) < 1, out
    figures.append(f"consume {float(match.group(3)):.0f} rec/s")
    return ", ".join(figures)


def check_reads_compressed(broker, topic):
    """Batches kcat compressed in each codec come back from strand consume line for line."""
    zipped = topic + "-zipped"
    strand(broker, ["topics", "create", zipped, "--partitions", "1"])
    want = []
    for codec in ["gzip", "snappy", "lz4", "zstd"]:
        lines = [f"{codec}-{i} " + "compressible " * (i % 7) for i in range(50)]
        subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", zipped, "-p", "0", "-z", codec,
                        "-X", "linger.ms=50"], input=("\n".join(lines) + "\n").encode(),
                       check=True, timeout=60)
        want += [line.rstrip("\n") for line in lines]
    out, _ = strand(broker, ["consume", zipped, "--partition", "0", "--offset", "0",
                             "--max-messages", str(len(want))])
    got = out.split("\n")[:-1]
    assert got == want, f"got {got[:3]}... ({len(got)} lines), want {want[:3]}... ({len(want)})"
    # And the other way: strand produce compresses, kcat (librdkafka) reads.
    ours = []
    for codec in ["gzip", "snappy", "lz4", "zstd"]:
        lines = [f"strand-{codec}-{i} " + "again " * (i % 5) for i in range(40)]
        strand(broker, ["produce", zipped, "--partition", "0", "--compression", codec],
               stdin=("\n".join(lines) + "\n").encode())
        ours += [line.rstrip("\n") for line in lines]
    read = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", zipped, "-p", "0", "-o",
                           str(len(want)), "-e", "-q", "-f", "%s\n"], stdout=subprocess.PIPE,
                          check=True, timeout=60).stdout.decode().split("\n")[:-1]
    assert read == ours, f"kcat read {read[:3]}... ({len(read)}), want {ours[:3]}... ({len(ours)})"
    return f"{len(want)} records from kcat and {len(ours)} to kcat, in 4 codecs"


def check_delete(broker, topic):
    out, _ = strand(broker, ["topics", "delete", topic])
    assert out.strip() == f"Deleted topic {topic}.", out
    listed, _ = strand(broker, ["topics", "list"])
    assert topic not in listed.split("\n"), listed
    return "deleted"


def main():
    checks = Checks("strand_cli")
    with Broker(settings={"num.partitions": "1"}) as broker:
        topic = unique_topic("cli")
        created = checks.run("topics create, list, describe", check_topics_admin, broker, topic)
        if created is not None:
            produced = checks.run("keyed lines round trip on murmur2 partitions",
                                  check_keyed_round_trip, broker, topic)
            if produced is not None:
                checks.run("offsets, partitions and the idle exit", check_offsets_and_idle_exit,
                           broker, topic)
            checks.run("acks 1 and 0 to an explicit partition", check_acks_and_partition, broker,
                       topic)
            checks.run("errors and exit codes", check_errors, broker, topic)
            checks.run("records kcat compressed", check_reads_compressed, broker, topic)
            checks.run("topics delete", check_delete, broker, topic)
        checks.run("perf produce and consume", check_perf, broker, topic)
        checks.run("broker still healthy", broker.assert_no_crash)
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
