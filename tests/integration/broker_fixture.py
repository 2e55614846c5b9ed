"""A strand-broker process for integration tests.

    with Broker(settings={"num.partitions": "3"}) as broker:
        client = KafkaProducer(bootstrap_servers=broker.bootstrap)
        ...
        broker.kill()      # SIGKILL, no clean-shutdown marker
        broker.restart()   # same data dir, same port
        broker.stop()      # SIGTERM; asserts exit status 0

The binary comes from $STRAND_BROKER (meson passes it). Each Broker owns a fresh temporary data dir
unless given one, and removes it on close. Every started process is killed when the test process
ends, however it ends: close(), an atexit hook, a SIGTERM handler (meson's timeout) and
PR_SET_PDEATHSIG (the test process itself killed).
"""

import atexit
import ctypes
import os
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

STARTUP_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
LISTENING = re.compile(r"^strand-broker listening on (\S+):(\d+)$")
# What a crashed or sanitizer-stopped broker leaves in its log.
CRASH_MARKERS = ("assertion failed", "AddressSanitizer", "UndefinedBehaviorSanitizer",
                 "runtime error:", "terminate called", "Segmentation fault", "[critical]")

_live = set()


def _kill_all_live():
    for broker in list(_live):
        broker._kill_quietly()


def _on_sigterm(signum, frame):
    _kill_all_live()
    sys.exit(128 + signum)


atexit.register(_kill_all_live)
signal.signal(signal.SIGTERM, _on_sigterm)

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def _die_with_parent():
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def broker_binary():
    path = os.environ.get("STRAND_BROKER")
    if not path:
        raise SystemExit("STRAND_BROKER is not set: run through `meson test --suite integration` "
                         "or set it to build/src/app/strand-broker")
    if not os.access(path, os.X_OK):
        raise SystemExit(f"STRAND_BROKER={path} is not an executable")
    return path


class BrokerError(AssertionError):
    pass


class Broker:
    """One strand-broker process; start() runs on construction unless start=False."""

    def __init__(self, data_dir=None, settings=None, port=0, start=True, name="broker",
                 check_advertised=True):
        self.binary = broker_binary()
        self.name = name
        self.settings = dict(settings or {})
        self._scratch = tempfile.mkdtemp(prefix=f"strand-it-{name}-")
        self.data_dir = data_dir or os.path.join(self._scratch, "data")
        self.stderr_path = os.path.join(self._scratch, "stderr.log")
        self.port = port
        self.host = "127.0.0.1"
        self.proc = None
        self.starts = 0
        self.check_advertised = check_advertised
        if start:
            try:
                self.start()
            except BaseException:
                self.close()  # the error already carries the log tail
                raise

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self):
        """Starts the process and waits for its "listening" line; the port is kept for restarts."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        args = [self.binary, "--listen", f"{self.host}:{self.port}", "--data-dir", self.data_dir]
        for key, value in self.settings.items():
            args += ["--set", f"{key}={value}"]
        self.starts += 1
        with open(self.stderr_path, "ab") as log:
            log.write(f"==== start #{self.starts}: {' '.join(args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, preexec_fn=_die_with_parent)
        _live.add(self)
        line = self._read_listening_line()
        match = LISTENING.match(line)
        if not match:
            self._kill_quietly()
            raise BrokerError(f"{self.name}: unexpected first stdout line {line!r}\n"
                              + self.log_tail())
        self.host, self.port = match.group(1), int(match.group(2))
        if self.check_advertised:
            self._check_advertised_address()
        return self

    def _check_advertised_address(self):
        """Clients connect to the brokers Metadata lists, so a wrong address there fails every
        client test in slow, obscure ways; say it once, plainly. (Kafka advertises the bound port
        when it listens on port 0.)"""
        brokers = metadata_brokers(self.host, self.port)
        if brokers != [(self.host, self.port)]:
            self._kill_quietly()
            raise BrokerError(f"{self.name}: listens on {self.bootstrap} but Metadata advertises "
                              f"brokers {brokers}; clients would connect there")

    def _read_listening_line(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        buffered = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffered:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._kill_quietly()
                    raise BrokerError(f"{self.name}: no 'listening' line within "
                                      f"{STARTUP_TIMEOUT_S} s\n" + self.log_tail())
                if not selector.select(remaining):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    status = self.proc.wait()
                    self._kill_quietly()
                    raise BrokerError(f"{self.name}: exited with status {status} before listening"
                                      f" (stdout {buffered!r})\n" + self.log_tail())
                buffered += chunk
        return buffered.split(b"\n", 1)[0].decode(errors="replace").strip()

    def stop(self, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM, wait, and assert a clean exit (status 0)."""
        assert self.running(), f"{self.name}: stop() but the broker is not running\n" + \
            self.log_tail()
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._kill_quietly()
            raise BrokerError(f"{self.name}: still running {timeout_s} s after SIGTERM\n"
                              + self.log_tail())
        _live.discard(self)
        self._close_stdout()
        if status != 0:
            raise BrokerError(f"{self.name}: exit status {status} after SIGTERM, want 0\n"
                              + self.log_tail())

    def kill(self):
        """SIGKILL: no shutdown work at all, as in a power cut of the process."""
        assert self.running(), f"{self.name}: kill() but the broker is not running"
        self.proc.kill()
        self.proc.wait()
        _live.discard(self)
        self._close_stdout()

    def restart(self):
        """Starts again on the same data dir and port (after stop() or kill())."""
        assert not self.running(), f"{self.name}: restart() while running; stop() or kill() first"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:  # the port may linger briefly after a kill
            try:
                return self.start()
            except BrokerError as error:
                if "address already in use" not in str(error).lower() or \
                        time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def close(self):
        """Kills the process if still running; removes the scratch dir (not a given data dir)."""
        self._kill_quietly()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None and self.proc is not None:
            print(f"--- {self.name} stderr (tail) ---\n{self.log_tail()}", file=sys.stderr)
        self.close()
        return False

    def _kill_quietly(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_stdout()
        _live.discard(self)

    def _close_stdout(self):
        if self.proc is not None and self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()

    # -- observation ------------------------------------------------------------------------------

    @property
    def bootstrap(self):
        return f"{self.host}:{self.port}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.stderr_path, "rb") as log:
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])

    def assert_no_crash(self):
        """The process is alive and its log shows no assertion, sanitizer report or crash."""
        text = self.log()
        found = [line for line in text.splitlines() if any(m in line for m in CRASH_MARKERS)]
        assert not found, f"{self.name}: crash markers in the broker log:\n" + "\n".join(found)
        assert self.running(), (f"{self.name}: process exited with status {self.proc.poll()}\n"
                                + self.log_tail())


def metadata_brokers(host, port, timeout_s=5):
    """(host, port) of each broker a Metadata v0 request (all topics) lists."""
    client_id = b"strand-fixture"
    payload = struct.pack(">hhih", 3, 0, 1, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = sock.recv(65536)
            if not chunk:
                raise BrokerError(f"Metadata v0: connection closed after {len(data)} bytes")
            data += chunk
    pos = 8  # size, correlation id
    (count,) = struct.unpack_from(">i", data, pos)
    pos += 4
    brokers = []
    for _ in range(count):
        _node, length = struct.unpack_from(">ih", data, pos)
        pos += 6
        broker_host = data[pos:pos + length].decode()
        (broker_port,) = struct.unpack_from(">i", data, pos + length)
        pos += length + 4
        brokers.append((broker_host, broker_port))
    return brokers


def unique_topic(prefix):
    """A topic name no other test (or earlier run on a reused data dir) uses."""
    return f"{prefix}-{os.getpid()}-{int(time.time() * 1000) % 10**9}"


class Checks:
    """Runs a test's independent checks in turn, prints each verdict, and fails at the end if any
    failed, so one broker bug does not hide the others."""

    def __init__(self, test_name, broker=None):
        self.test_name = test_name
        self.broker = broker
        self.failed = []

    def run(self, title, function, *args):
        started = time.monotonic()
        try:
            result = function(*args)
        except Exception:  # every failing check is reported, not just the first
            self.failed.append(title)
            print(f"FAIL  {title} ({time.monotonic() - started:.1f} s)\n{traceback.format_exc()}",
                  flush=True)
            return None
        detail = f": {result}" if isinstance(result, (str, int, dict)) else ""
        print(f"ok    {title} ({time.monotonic() - started:.1f} s){detail}", flush=True)
        return result

    def exit_status(self):
        if self.failed:
            if self.broker is not None:
                print(f"--- {self.broker.name} stderr (tail) ---\n{self.broker.log_tail(20)}")
            print(f"{self.test_name}: {len(self.failed)} failed:\n  " + "\n  ".join(self.failed))
            return 1
        print(f"{self.test_name}: ok")
        return 0


def offsets_partition_of(group, partitions=16):
    """The __consumer_offsets partition Kafka (and Strand) keep `group` on:
    abs(groupId.hashCode()) % partitions, with Java's String.hashCode (UTF-16 code units; the
    group ids of these tests are ASCII)."""
    value = 0
    for char in group:
        value = (31 * value + ord(char)) & 0xFFFFFFFF
    return (value & 0x7FFFFFFF) % partitions


def wait_until(predicate, timeout_s, what, interval_s=0.1):
    """Polls predicate() until it returns a truthy value; fails naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")
