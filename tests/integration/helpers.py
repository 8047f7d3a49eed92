"""Building blocks of the integration tests: paths, the Kafka helpers (topics,
producer, collector), the moka-sim process and its control API, and the
moka-bridge process with its generated configuration.

Everything here is plain Python; conftest.py wraps it into pytest fixtures.
A failing helper raises AssertionError with what it expected and what it got,
so that a test failure reads without a debugger.
"""

import hashlib
import json
import shlex
import os
import re
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field

# The dealer of config/moka-sim-fixture.json that the tests use by default,
# and Moka's published test vector for it (moka-api.md).
DEALER_CODE = "1731"
DEALER_USERNAME = "TestMoka2"
DEALER_PASSWORD = "HYSYHDS8DU8HU"
DEALER_CHECKKEY = "1c1cccfe19b782415c207f1d66f97889cf11ed6d1e1ad6f585e5fe70b6f5da90"

RFC3339_UTC = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")


def rfc3339_ms(s):
    """'2024-01-02T03:04:05.678Z' -> epoch milliseconds."""
    import datetime
    t = s.replace("Z", "+00:00")
    return int(round(datetime.datetime.fromisoformat(t).timestamp() * 1000))


def checkkey(dealer_code, username, password):
    """Moka's CheckKey: lowercase hex SHA-256 of code+"MK"+user+"PD"+password."""
    s = dealer_code + "MK" + username + "PD" + password
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


assert checkkey(DEALER_CODE, DEALER_USERNAME, DEALER_PASSWORD) == DEALER_CHECKKEY


# --------------------------------------------------------------------------
# Secrets in a text

# A piece this long of a longer secret is as telling as the whole (a
# CheckKey cut to its first 16 hex digits in a log line).
SECRET_PIECE = 12


def secret_forms(secret):
    """(form name, text) pairs of the ways `secret` can show up in a log
    line or a document: as is, JSON-escaped, URL-encoded, base64, hex."""
    import base64
    import urllib.parse
    b = secret.encode("utf-8")
    forms = [("as is", secret),
             ("JSON-escaped", json.dumps(secret)[1:-1]),
             ("JSON-escaped ASCII", json.dumps(secret, ensure_ascii=True)[1:-1]),
             ("URL-encoded", urllib.parse.quote(secret, safe="")),
             ("form-encoded", urllib.parse.quote_plus(secret)),
             ("base64", base64.b64encode(b).decode().rstrip("=")),
             ("base64url", base64.urlsafe_b64encode(b).decode().rstrip("=")),
             ("hex", b.hex())]
    out, seen = [], set()
    for name, f in forms:
        if f and f not in seen:
            seen.add(f)
            out.append((name, f))
    return out


def find_secrets(text, secrets):
    """[(secret, how it was found)] for every secret that `text` holds in
    one of its secret_forms, in any letter case, or (for a secret longer
    than SECRET_PIECE characters) by any SECRET_PIECE-character piece."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    low = text.lower()
    found = []
    for s in secrets:
        if not s:
            continue
        hit = None
        for name, f in secret_forms(s):
            if f in text:
                hit = name
            elif f.lower() in low:
                hit = name + ", other letter case"
            if hit:
                break
        if hit is None and len(s) > SECRET_PIECE:
            sl = s.lower()
            for i in range(len(sl) - SECRET_PIECE + 1):
                if sl[i:i + SECRET_PIECE] in low:
                    hit = "a %d-character piece at %d" % (SECRET_PIECE, i)
                    break
        if hit:
            found.append((s, hit))
    return found


# --------------------------------------------------------------------------
# Paths

def source_dir():
    d = os.environ.get("MOKA_SOURCE_DIR")
    if d:
        return os.path.abspath(d)
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def build_dir():
    d = os.environ.get("MOKA_BUILD_DIR")
    if d:
        return os.path.abspath(d)
    return os.path.join(source_dir(), "build")


def require_file(path, what, hint):
    """Fails (never skips) when a binary or file the test needs is missing."""
    if not os.path.exists(path):
        raise AssertionError(
            "%s not found at %s (%s). Set MOKA_BUILD_DIR / MOKA_SOURCE_DIR "
            "or build the project: cmake -S %s -B %s && cmake --build %s"
            % (what, path, hint, source_dir(), build_dir(), build_dir()))
    return path


def bridge_binary():
    return require_file(os.path.join(build_dir(), "moka-bridge"),
                        "moka-bridge binary", "MOKA_BUILD_DIR/moka-bridge")


def sim_binary():
    return require_file(os.path.join(build_dir(), "src", "sim", "moka-sim"),
                        "moka-sim binary", "MOKA_BUILD_DIR/src/sim/moka-sim")


def sim_fixture_file():
    return require_file(os.path.join(source_dir(), "config",
                                     "moka-sim-fixture.json"),
                        "moka-sim fixture", "config/moka-sim-fixture.json")


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls predicate() until it returns a truthy value; fails after timeout
    with `what` (a string or a callable giving the current state)."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            msg = what() if callable(what) else what
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, msg))
        time.sleep(interval)


def free_port():
    """A TCP port on 127.0.0.1 nothing listens on now (for admin.listen)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_sample(port, name):
    """The value of one unlabelled sample of the bridge's /metrics on the
    admin port; an HTTP error or a missing sample fails."""
    import requests
    r = requests.get("http://127.0.0.1:%d/metrics" % port, timeout=5)
    r.raise_for_status()
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


# --------------------------------------------------------------------------
# Kafka

def encode(v):
    """Test values: dict/list -> compact JSON, str -> UTF-8, bytes as is."""
    if v is None or isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Sent:
    """An input event as produced: where it landed and what it held."""
    topic: str
    partition: int
    offset: int
    key: object
    value: object
    headers: list
    timestamp: int

    @property
    def default_correlation_id(self):
        return "%s/%d/%d" % (self.topic, self.partition, self.offset)

    def is_source_of(self, rec):
        """True when a reply record refers to this event (by its source)."""
        try:
            v = json.loads(rec.value)
            src = v["source"]
        except Exception:  # noqa: BLE001
            return False
        return (src.get("topic") == self.topic and src.get("partition") == self.partition
                and src.get("offset") == self.offset)

    def is_dlq_of(self, rec):
        """True when a DLQ record refers to this event."""
        return (rec.header("dlq.original-topic") == self.topic
                and rec.header("dlq.original-partition") == str(self.partition)
                and rec.header("dlq.original-offset") == str(self.offset))


@dataclass
class Record:
    """One consumed record. headers is the list of (name, bytes) pairs as
    Kafka returned it (order and duplicates kept)."""
    topic: str
    key: bytes
    value: bytes
    headers: list
    partition: int
    offset: int
    timestamp: int

    def json(self):
        try:
            return json.loads(self.value)
        except Exception as e:  # noqa: BLE001
            raise AssertionError("record %s/%d/%d is not JSON (%s): %r"
                                 % (self.topic, self.partition, self.offset,
                                    e, self.value))

    def header(self, name, default=None):
        """Value of the last header called `name`, decoded as UTF-8."""
        v = default
        for k, b in self.headers:
            if k == name:
                v = b.decode("utf-8") if b is not None else None
        return v

    def header_names(self):
        return [k for k, _ in self.headers]

    def __repr__(self):
        return ("Record(%s/%d/%d key=%r headers=%r value=%r)"
                % (self.topic, self.partition, self.offset, self.key,
                   self.headers, self.value[:500] if self.value else self.value))


def _to_record(m):
    ts_type, ts = m.timestamp()
    return Record(topic=m.topic(), key=m.key(), value=m.value(),
                  headers=list(m.headers() or []), partition=m.partition(),
                  offset=m.offset(), timestamp=ts)


class Kafka:
    """A broker (started by scripts/kafka.sh or given by KAFKA_BROKERS) and
    the client operations the tests need."""

    def __init__(self, brokers):
        self.brokers = brokers
        from confluent_kafka.admin import AdminClient
        self.admin = AdminClient({"bootstrap.servers": brokers})
        self._producer = None

    # ---- topics
    def create_topics(self, names, partitions=4):
        from confluent_kafka.admin import NewTopic
        fs = self.admin.create_topics(
            [NewTopic(n, num_partitions=partitions, replication_factor=1)
             for n in names], operation_timeout=30)
        for n, f in fs.items():
            f.result(timeout=60)
        # Wait until the metadata shows every partition with a leader.
        def ready():
            md = self.admin.list_topics(timeout=10)
            for n in names:
                t = md.topics.get(n)
                if t is None or t.error is not None or len(t.partitions) != partitions:
                    return False
                if any(p.leader < 0 for p in t.partitions.values()):
                    return False
            return True
        wait_until(ready, 30, "topics %s to have leaders" % names, 0.1)

    def delete_topics(self, names):
        if not names:
            return
        fs = self.admin.delete_topics(list(names), operation_timeout=30)
        for f in fs.values():
            try:
                f.result(timeout=30)
            except Exception:  # noqa: BLE001 - best effort clean-up
                pass

    def partitions(self, topic):
        md = self.admin.list_topics(topic, timeout=10)
        t = md.topics[topic]
        if t.error is not None:
            raise AssertionError("topic %s: %s" % (topic, t.error))
        return sorted(t.partitions)

    # ---- producer
    def producer(self):
        if self._producer is None:
            from confluent_kafka import Producer
            self._producer = Producer({
                "bootstrap.servers": self.brokers,
                "enable.idempotence": True,
                "linger.ms": 5,
                "queue.buffering.max.messages": 1000000,
            })
        return self._producer

    def produce(self, topic, events):
        """Produces events (dicts with value, and optional key, headers,
        partition) and waits for every delivery. Returns the list of
        (partition, offset), in the order given."""
        p = self.producer()
        results = [None] * len(events)
        errors = []

        def on_delivery(i):
            def cb(err, msg):
                if err is not None:
                    errors.append((i, err))
                else:
                    results[i] = (msg.partition(), msg.offset())
            return cb

        for i, ev in enumerate(events):
            kw = {}
            if ev.get("partition") is not None:
                kw["partition"] = ev["partition"]
            if ev.get("headers") is not None:
                kw["headers"] = [(k, encode(v)) for k, v in ev["headers"]]
            if ev.get("timestamp") is not None:
                kw["timestamp"] = ev["timestamp"]
            key = ev.get("key")
            while True:
                try:
                    p.produce(topic, value=encode(ev.get("value")),
                              key=encode(key), on_delivery=on_delivery(i), **kw)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        remaining = p.flush(60)
        if remaining or errors:
            raise AssertionError("producing to %s: %d undelivered, errors %s"
                                 % (topic, remaining, errors[:5]))
        return results

    def produce_one(self, topic, value, key=None, headers=None, partition=None):
        return self.produce(topic, [{"value": value, "key": key,
                                     "headers": headers,
                                     "partition": partition}])[0]

    def send(self, topic, value, key=None, headers=None, partition=None):
        """Produces one event with an explicit timestamp and returns it as
        a Sent (what the reply and DLQ record must refer to)."""
        ts = int(time.time() * 1000)
        part, off = self.produce(topic, [{"value": value, "key": key,
                                          "headers": headers,
                                          "partition": partition,
                                          "timestamp": ts}])[0]
        return Sent(topic, part, off, key, value, headers or [], ts)

    def send_many(self, topic, events):
        """events: dicts (value, key, headers, partition) -> list of Sent."""
        ts = int(time.time() * 1000)
        evs = [dict(e, timestamp=ts) for e in events]
        res = self.produce(topic, evs)
        return [Sent(topic, p, o, e.get("key"), e.get("value"),
                     e.get("headers") or [], ts)
                for e, (p, o) in zip(events, res)]

    # ---- consumers
    def _consumer(self, isolation="read_committed"):
        from confluent_kafka import Consumer
        return Consumer({
            "bootstrap.servers": self.brokers,
            "group.id": unique("it-reader"),
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "isolation.level": isolation,
        })

    def collect(self, topic, n, timeout=30.0, watch=(), match=None,
                until=None):
        """Reads `topic` from the beginning of every partition until at least
        n records (those for which match(record) is true, when given)
        arrived, or until(records) is true; fails after `timeout` seconds,
        or at once when a watched process (Bridge/Sim) exited. Returns the
        matching records, ordered by (partition, offset)."""
        from confluent_kafka import TopicPartition, OFFSET_BEGINNING
        c = self._consumer()
        try:
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                      for p in self.partitions(topic)])
            out = []
            deadline = time.monotonic() + timeout
            while not (until(out) if until else len(out) >= n):
                if time.monotonic() > deadline:
                    raise AssertionError(
                        "expected %s records on %s within %.0fs, got %d: %s%s"
                        % (n if not until else "enough", topic, timeout, len(out),
                           _summary(out), _watch_state(watch)))
                for w in watch:
                    w.assert_running()
                for m in c.consume(1000, 0.2):
                    if m.error():
                        raise AssertionError("consuming %s: %s" % (topic, m.error()))
                    r = _to_record(m)
                    if match is None or match(r):
                        out.append(r)
            out.sort(key=lambda r: (r.partition, r.offset))
            return out
        finally:
            c.close()

    def read_all(self, topic, timeout=60.0, isolation="read_committed"):
        """Reads every record of `topic` up to the high watermarks seen at
        the start of the call (use once the writer has stopped, to count
        records exactly); any consumer error fails. `isolation`
        "read_uncommitted" also returns the records of aborted
        transactions."""
        from confluent_kafka import TopicPartition, OFFSET_BEGINNING
        c = self._consumer(isolation)
        try:
            ends = {}
            for p in self.partitions(topic):
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, p),
                                                 timeout=10)
                if hi > lo:
                    ends[p] = (lo, hi)
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
            out = []
            pos = {p: lo for p, (lo, hi) in ends.items()}
            deadline = time.monotonic() + timeout
            while any(pos[p] < ends[p][1] for p in ends):
                if time.monotonic() > deadline:
                    raise AssertionError("read_all(%s): stuck at %s, ends %s"
                                         % (topic, pos, ends))
                for m in c.consume(1000, 0.2):
                    if m.error():
                        raise AssertionError("consuming %s: %s" % (topic, m.error()))
                    if m.offset() < ends[m.partition()][1]:
                        out.append(_to_record(m))
                    pos[m.partition()] = m.offset() + 1
                # Transaction markers (exactly-once mode) and aborted records
                # take offsets but are never returned: the position passes
                # them.
                for tp in c.position([TopicPartition(topic, p) for p in ends]):
                    if tp.offset is not None and tp.offset > pos[tp.partition]:
                        pos[tp.partition] = tp.offset
            out.sort(key=lambda r: (r.partition, r.offset))
            return out
        finally:
            c.close()

    def count(self, topic):
        """Number of records in topic (sum of high - low watermarks)."""
        from confluent_kafka import TopicPartition
        if getattr(self, "_wm", None) is None:
            self._wm = self._consumer()
        total = 0
        for p in self.partitions(topic):
            lo, hi = self._wm.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += hi - lo
        return total

    def committed(self, group, topic):
        """The group's committed offsets for topic: {partition: offset}."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.brokers, "group.id": group,
                      "enable.auto.commit": False})
        try:
            tps = c.committed([TopicPartition(topic, p)
                               for p in self.partitions(topic)], timeout=10)
            return {tp.partition: tp.offset for tp in tps}
        finally:
            c.close()

    def wait_committed(self, group, topic, partition, offset, timeout=30.0,
                       watch=()):
        """Waits until the group's committed offset of topic/partition is
        past `offset` (that is, the event at `offset` and every earlier one
        are answered and acknowledged)."""
        last = {"v": None}

        def ok():
            for w in watch:
                w.assert_running()
            last["v"] = self.committed(group, topic).get(partition)
            return last["v"] is not None and last["v"] > offset
        wait_until(ok, timeout, lambda: "group %s to commit %s/%d past offset %d; "
                   "committed %s%s" % (group, topic, partition, offset,
                                       last["v"], _watch_state(watch)), 0.2)

    def end_offsets(self, topic):
        """{partition: high watermark} of `topic`."""
        from confluent_kafka import TopicPartition
        c = self._consumer()
        try:
            return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                    for p in self.partitions(topic)}
        finally:
            c.close()

    def wait_committed_to_end(self, group, topic, timeout, watch=()):
        """Waits until the group committed every partition of `topic` to
        its end: every event answered and its reply and DLQ record
        acknowledged, so none of them is still on its way."""
        state = {}

        def ok():
            for w in watch:
                w.assert_running()
            try:
                ends = self.end_offsets(topic)
                com = self.committed(group, topic)
            except Exception as e:  # noqa: BLE001
                state["v"] = repr(e)
                return False
            state["v"] = (com, ends)
            return all(com.get(p) == hi for p, hi in ends.items() if hi > 0)
        wait_until(ok, timeout, lambda: "group %s to commit %s to its end: "
                   "(committed, ends) = %s%s" % (group, topic, state.get("v"),
                                                 _watch_state(watch)), 0.5)

    def batches(self, topic, partition):
        """The record batches of topic/partition as the broker stored them
        (Kafka's DumpLogSegments through scripts/kafka.sh dump-log): one
        dict a batch, e.g. {"baseOffset": "0", "producerId": "3",
        "baseSequence": "0", "compresscodec": "lz4", ...}."""
        script = os.path.join(source_dir(), "scripts", "kafka.sh")
        p = subprocess.run(["bash", script, "dump-log", self.brokers, topic,
                            str(partition)], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, ("kafka.sh dump-log %s %d exited %d:\n%s%s"
                                   % (topic, partition, p.returncode,
                                      p.stdout[-2000:], p.stderr[-2000:]))
        return [dict(re.findall(r"(\w+): (\S+)", line))
                for line in p.stdout.splitlines() if line.startswith("baseOffset:")]

    def group_members(self, group):
        """(state name, {member_id: [(topic, partition)]}) of a consumer group."""
        fs = self.admin.describe_consumer_groups([group], request_timeout=10)
        d = fs[group].result()
        members = {}
        for m in d.members:
            tps = []
            if m.assignment is not None:
                tps = [(tp.topic, tp.partition)
                       for tp in m.assignment.topic_partitions]
            members[m.member_id] = tps
        return d.state.name, members

    def wait_group_assigned(self, group, topics, timeout=60.0, watch=()):
        """Waits until the group is stable and its members own every
        partition of `topics`."""
        want = {(t, p) for t in topics for p in self.partitions(t)}
        state = {"v": None}

        def ok():
            for w in watch:
                w.assert_running()
            try:
                st, members = self.group_members(group)
            except Exception as e:  # noqa: BLE001
                state["v"] = repr(e)
                return False
            have = {tp for tps in members.values() for tp in tps}
            state["v"] = (st, members)
            return st == "STABLE" and want <= have
        wait_until(ok, timeout,
                   lambda: "group %s to own %s; last state %s%s"
                   % (group, sorted(want), state["v"], _watch_state(watch)),
                   0.2)

    def close(self):
        """Destroys every client now, while the broker still runs: a
        librdkafka client destroyed at interpreter exit, after the broker
        has stopped, can block the exit."""
        import gc
        if getattr(self, "_wm", None) is not None:
            self._wm.close()
            self._wm = None
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
        self.admin = None
        gc.collect()


def _summary(records, limit=5):
    if not records:
        return "[]"
    s = ", ".join(repr(r) for r in records[:limit])
    if len(records) > limit:
        s += ", ... (%d more)" % (len(records) - limit)
    return "[" + s + "]"


def _watch_state(watch):
    parts = []
    for w in watch:
        parts.append(w.describe())
    return ("\n" + "\n".join(parts)) if parts else ""


# --------------------------------------------------------------------------
# Processes

def _tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "<no file %s>" % path


class Process:
    name = "process"

    def __init__(self, argv, workdir, env=None):
        self.argv = argv
        self.workdir = workdir
        self.stdout_path = os.path.join(workdir, "%s.stdout" % self.name)
        self.stderr_path = os.path.join(workdir, "%s.stderr" % self.name)
        self.expected_exit = False
        self.proc = None
        self.env = env
        # Signals this harness or the test sent (kill(), signal()), and the
        # exit statuses the test declared (expect_exit): anything else a
        # process ends with is reported at teardown (exit_problem).
        self.signals_sent = []
        self.allowed_exits = set()

    def start(self):
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL,
                                         env=self.env, cwd=self.workdir)
        finally:
            out.close()
            err.close()
        self.expected_exit = False
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def describe(self):
        if self.proc is None:
            return "%s: not started" % self.name
        rc = self.proc.poll()
        st = "running" if rc is None else "exited with %s" % rc
        return ("%s (pid %d) %s; last stderr lines:\n%s"
                % (self.name, self.proc.pid, st, _tail(self.stderr_path)))

    def assert_running(self):
        if self.proc is not None and not self.expected_exit and self.proc.poll() is not None:
            raise AssertionError("%s exited unexpectedly: %s"
                                 % (self.name, self.describe()))

    def signal(self, sig):
        self.expected_exit = True
        self.signals_sent.append(sig)
        self.proc.send_signal(sig)

    def expect_exit(self, *statuses):
        """Declares exit statuses this test provokes on purpose (a
        negative one: death by that signal), so that teardown does not
        report them."""
        self.allowed_exits.update(statuses)

    def exit_problem(self):
        """None while running, or when the process ended as the test meant
        it to: status 0 after the test stopped it, a SIGKILL the test or
        harness sent, a status the test declared (expect_exit). Otherwise
        what went wrong: an exit nobody asked for, a crash or abort, a
        sanitizer's exit status, a non-zero status nobody checked."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None or rc in self.allowed_exits:
            return None
        if rc < 0:
            try:
                how = "was killed by " + signal.Signals(-rc).name
            except ValueError:
                how = "was killed by signal %d" % -rc
        else:
            how = "exited with status %d" % rc
        sent = ", ".join(signal.Signals(x).name for x in self.signals_sent) or "none"
        if not self.expected_exit:
            return ("%s %s during the test, unasked: %s"
                    % (self.name, how, self.describe()))
        if rc == 0 or (rc == -signal.SIGKILL and signal.SIGKILL in self.signals_sent):
            return None
        return ("%s %s (signals sent to it: %s): %s"
                % (self.name, how, sent, self.describe()))

    def wait(self, timeout):
        self.expected_exit = True
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not exit within %.0fs: %s"
                                 % (self.name, timeout, self.describe()))

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.running():
            self.expected_exit = True
            self.signals_sent.append(signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(10)

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout_text(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Sim(Process):
    """moka-sim on a free loopback port, and its /_sim control API."""
    name = "moka-sim"

    def __init__(self, workdir, fixture=None, extra_args=()):
        self.port_file = os.path.join(workdir, "moka-sim.port")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        argv = [sim_binary(), "--listen", "127.0.0.1:0",
                "--port-file", self.port_file]
        if fixture is not False:  # False: the simulator's built-in data set
            argv += ["--fixture", fixture or sim_fixture_file()]
        argv += list(extra_args)
        super().__init__(argv, workdir)
        self.port = None

    def start(self, timeout=15):
        super().start()

        def port():
            self.assert_running()
            try:
                with open(self.port_file) as f:
                    s = f.read().strip()
            except OSError:
                return None
            return int(s) if s.isdigit() else None
        self.port = wait_until(port, timeout, lambda: "moka-sim port file "
                               + self.port_file + "; " + self.describe())
        self.base_url = "http://127.0.0.1:%d" % self.port
        import requests
        self.http = requests.Session()
        return self

    def _req(self, method, path, **kw):
        try:
            r = self.http.request(method, self.base_url + path, timeout=10, **kw)
        except Exception as e:  # noqa: BLE001
            raise AssertionError("moka-sim %s %s failed: %s; %s"
                                 % (method, path, e, self.describe()))
        if r.status_code // 100 != 2:
            raise AssertionError("moka-sim %s %s -> HTTP %d: %s"
                                 % (method, path, r.status_code, r.text[:500]))
        return r

    def check_stderr(self):
        """Every stderr line is moka-sim's own ("moka-sim: ..."): a
        sanitizer report or a crash message is not."""
        bad = [l for l in self.stderr_text().splitlines()
               if l.strip() and not l.startswith("moka-sim: ")]
        if bad:
            raise AssertionError("moka-sim stderr (%s) has %d foreign lines, "
                                 "first: %s" % (self.stderr_path, len(bad),
                                                "\n".join(bad[:20])))

    def faults(self, **kw):
        """POST /_sim/faults with the given fields (latency_ms, error_rate,
        rules=[{customer, kind, count}], ...)."""
        return self._req("POST", "/_sim/faults", json=kw)

    def reset(self):
        return self._req("POST", "/_sim/reset")

    def set_dealer(self, dealer_code, **kw):
        """POST /_sim/dealers: change (or create) a dealer until the next
        reset; kw: username, password, ip_allow (list of addresses, or None
        for no list). Returns the dealer listing."""
        return self._req("POST", "/_sim/dealers",
                         json=dict(kw, dealer_code=dealer_code)).json()

    def dealers(self):
        """GET /_sim/dealers: [{dealer_code, username, ip_allow}]."""
        return self._req("GET", "/_sim/dealers").json()["dealers"]

    def stats(self):
        return self._req("GET", "/_sim/stats").json()

    def calls(self, customer):
        """The DealerCustomerRequest objects received for `customer`, in
        arrival order."""
        r = self._req("GET", "/_sim/calls", params={"customer": customer}).json()
        if isinstance(r, dict):
            for k in ("calls", "requests", "items"):
                if k in r:
                    return r[k]
        return r

    def post(self, path, body):
        """A raw Moka call (for checking the sim itself)."""
        return self.http.post(self.base_url + path, json=body, timeout=10)


def render_libconfig(groups):
    """{"group": {"key": value or {subgroup}}} -> libconfig text."""
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        raise TypeError("unsupported config value %r" % (v,))

    def block(d, indent, props=False):
        lines = []
        pad = "  " * indent
        for k, v in d.items():
            if props:
                # libconfig names cannot hold '.': the bridge reads each
                # '_' of a kafka.properties name as '.'.
                k = k.replace(".", "_")
            if isinstance(v, dict):
                lines.append("%s%s: {" % (pad, k))
                lines.extend(block(v, indent + 1, k == "properties"))
                lines.append("%s};" % pad)
            else:
                lines.append("%s%s = %s;" % (pad, k, val(v)))
        return lines
    return "\n".join(block(groups, 0)) + "\n"


@dataclass
class Topics:
    """The input, reply and DLQ topics of one bridge under test."""
    customer_update: str
    sale_list: str
    partitions: int = 4
    # Explicit output topics (topics.*_reply / *_dlq); None = derived name.
    customer_update_reply: str = None
    customer_update_dlq: str = None
    sale_list_reply: str = None
    sale_list_dlq: str = None

    @property
    def cu_reply(self):
        return self.customer_update_reply or self.customer_update + ".reply"

    @property
    def cu_dlq(self):
        return self.customer_update_dlq or self.customer_update + ".dlq"

    @property
    def sl_reply(self):
        return self.sale_list_reply or self.sale_list + ".reply"

    @property
    def sl_dlq(self):
        return self.sale_list_dlq or self.sale_list + ".dlq"

    def explicit(self):
        """The topics.* keys to write into a configuration."""
        out = {"customer_update": self.customer_update, "sale_list": self.sale_list}
        for k in ("customer_update_reply", "customer_update_dlq",
                  "sale_list_reply", "sale_list_dlq"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        return out

    def all(self):
        out = []
        for t in [self.customer_update, self.cu_reply, self.cu_dlq,
                  self.sale_list, self.sl_reply, self.sl_dlq]:
            if t not in out:
                out.append(t)
        return out

    def inputs(self):
        return [self.customer_update, self.sale_list]


class Bridge(Process):
    """`moka-bridge run --config FILE` with a generated configuration."""
    name = "moka-bridge"

    def __init__(self, workdir, config_path, group_id, topics, env=None,
                 secrets=()):
        self.config_path = config_path
        self.group_id = group_id
        self.topics = topics
        self.secrets = list(secrets)
        full_env = dict(os.environ)
        for k in list(full_env):
            if k.startswith("MOKA_BRIDGE_"):
                del full_env[k]
        # env: variables to set; a value of None removes one inherited.
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        # MOKA_TEST_BRIDGE_WRAPPER runs the bridge under a tool, e.g.
        # scripts/valgrind.sh's memcheck (its report goes to a log file, so
        # stderr stays JSON lines).
        wrapper = shlex.split(os.environ.get("MOKA_TEST_BRIDGE_WRAPPER", ""))
        super().__init__(wrapper + [bridge_binary(), "run", "--config",
                                    config_path],
                         workdir, full_env)

    def start(self):
        super().start()
        return self

    def logs(self):
        """The stderr lines parsed as JSON objects (a line that does not
        parse is returned as {"_raw": line})."""
        out = []
        for line in self.stderr_text().splitlines():
            if not line.strip():
                continue
            try:
                o = json.loads(line)
                out.append(o if isinstance(o, dict) else {"_raw": line})
            except ValueError:
                out.append({"_raw": line})
        return out

    def check_logs(self):
        """Every stderr line is a JSON object with level and msg, and no
        secret appears in stderr or stdout in any form (find_secrets)."""
        problems = []
        text = self.stderr_text() + "\n" + self.stdout_text()
        for s, form in find_secrets(text, self.secrets):
            problems.append("secret %r... appears in the bridge output (%s)"
                            % (s[:4], form))
        for i, line in enumerate(self.stderr_text().splitlines()):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError:
                problems.append("stderr line %d is not JSON: %r" % (i + 1, line[:300]))
                continue
            if not isinstance(o, dict) or "level" not in o or "msg" not in o:
                problems.append("stderr line %d lacks level/msg: %r" % (i + 1, line[:300]))
        if problems:
            raise AssertionError("bridge logs (%s): %s"
                                 % (self.stderr_path, "; ".join(problems[:10])))


def bridge_config(kafka_brokers, sim_url, topics, group_id, dealer_code=DEALER_CODE,
                  username=DEALER_USERNAME, password=DEALER_PASSWORD,
                  overrides=None):
    """The configuration groups for a bridge under test: small retry
    timings, unique topics and group. The simulator is plain HTTP on
    loopback, which the bridge accepts without moka.allow_insecure."""
    cfg = {
        "kafka": {
            "brokers": kafka_brokers,
            "group_id": group_id,
        },
        "moka": {
            "base_url": sim_url,
            "dealer_code": dealer_code,
            "username": username,
            "password": password or "",
            "connect_timeout_ms": 1000,
            "request_timeout_ms": 3000,
        },
        "topics": topics.explicit(),
        "retry": {
            "max_attempts": 5,
            "base_ms": 20,
            "cap_ms": 200,
            "max_elapsed_ms": 20000,
        },
        "limits": {
            "shutdown_timeout_ms": 10000,
        },
        "log": {"level": "info"},
    }
    for g, d in (overrides or {}).items():
        if d is None:
            cfg.pop(g, None)
            continue
        cfg.setdefault(g, {})
        for k, v in d.items():
            if v is None:
                cfg[g].pop(k, None)
            else:
                cfg[g][k] = v
    return cfg


# --------------------------------------------------------------------------
# Reply and DLQ checks shared by the test files

REPLY_KEYS = {"schema", "operation", "correlation_id", "status", "result_code",
              "result_message", "attempts", "source", "data", "completed_at"}

DLQ_HEADERS = ["dlq.reason", "dlq.result-code", "dlq.error",
               "dlq.original-topic", "dlq.original-partition",
               "dlq.original-offset", "dlq.original-timestamp",
               "dlq.attempts", "dlq.failed-at", "dlq.consumer-group",
               "dlq.replay-count"]


def check_reply(rec, *, operation, status, result_code, source_topic,
                source_partition, source_offset, attempts=None,
                correlation_id=None, key=None):
    """Checks a reply record field by field; returns its JSON value."""
    v = rec.json()
    assert isinstance(v, dict), "reply value is not an object: %r" % (v,)
    assert set(v) == REPLY_KEYS, ("reply keys: expected %s, got %s"
                                  % (sorted(REPLY_KEYS), sorted(v)))
    assert v["schema"] == "moka-bridge.reply/1", v
    assert v["operation"] == operation, v
    assert v["status"] == status, v
    assert v["result_code"] == result_code, v
    assert isinstance(v["result_message"], str), v
    if correlation_id is None:
        correlation_id = "%s/%d/%d" % (source_topic, source_partition, source_offset)
    assert v["correlation_id"] == correlation_id, (
        "correlation_id: expected %r, got %r" % (correlation_id, v["correlation_id"]))
    assert v["source"] == {"topic": source_topic, "partition": source_partition,
                           "offset": source_offset}, (
        "source: expected %s/%d/%d, got %r"
        % (source_topic, source_partition, source_offset, v["source"]))
    assert isinstance(v["attempts"], int) and v["attempts"] >= 0, v
    if attempts is not None:
        assert v["attempts"] == attempts, ("attempts: expected %d, got %r"
                                           % (attempts, v["attempts"]))
    assert isinstance(v["completed_at"], str) and RFC3339_UTC.match(v["completed_at"]), (
        "completed_at is not RFC 3339 UTC: %r" % (v["completed_at"],))
    if status == "failure":
        assert v["data"] is None, "failure reply with data: %r" % (v,)
    # Headers
    assert rec.header("correlation-id") == correlation_id, (
        "correlation-id header: expected %r, got %r"
        % (correlation_id, rec.header("correlation-id")))
    assert rec.header("moka-result-code") == result_code, (
        "moka-result-code header: expected %r, got %r"
        % (result_code, rec.header("moka-result-code")))
    assert rec.header("moka-status") == status, (
        "moka-status header: expected %r, got %r" % (status, rec.header("moka-status")))
    if key is not None:
        assert rec.key == encode(key), "reply key: expected %r, got %r" % (encode(key), rec.key)
    return v


def check_dlq(rec, *, reason, result_code, original_topic, original_partition,
              original_offset, original_key, original_value, original_headers,
              group_id, attempts=None, original_timestamp=None):
    """Checks a DLQ record: original key, value and headers unchanged (and
    first, in order), plus every dlq.* header."""
    assert rec.key == encode(original_key), ("DLQ key: expected %r, got %r"
                                             % (encode(original_key), rec.key))
    assert rec.value == encode(original_value), ("DLQ value: expected %r, got %r"
                                                 % (encode(original_value), rec.value))
    orig = [(k, encode(v)) for k, v in (original_headers or [])]
    kept = [(k, v) for k, v in rec.headers if not k.startswith("dlq.")]
    assert kept == orig, ("DLQ original headers: expected %r, got %r" % (orig, kept))
    names = rec.header_names()
    for h in DLQ_HEADERS:
        assert names.count(h) == 1, ("DLQ header %s: expected once, got %d times in %r"
                                     % (h, names.count(h), names))
    assert rec.header("dlq.reason") == reason, (
        "dlq.reason: expected %r, got %r" % (reason, rec.header("dlq.reason")))
    assert rec.header("dlq.result-code") == result_code, (
        "dlq.result-code: expected %r, got %r" % (result_code, rec.header("dlq.result-code")))
    assert rec.header("dlq.original-topic") == original_topic, rec.headers
    assert rec.header("dlq.original-partition") == str(original_partition), rec.headers
    assert rec.header("dlq.original-offset") == str(original_offset), rec.headers
    ts = rec.header("dlq.original-timestamp")
    assert ts, "dlq.original-timestamp is empty"
    if original_timestamp is not None:
        assert (ts == str(original_timestamp)
                or (RFC3339_UTC.match(ts) and rfc3339_ms(ts) == original_timestamp)), (
            "dlq.original-timestamp: expected %r (epoch ms, or the same instant "
            "in RFC 3339), got %r" % (original_timestamp, ts))
    assert rec.header("dlq.consumer-group") == group_id, (
        "dlq.consumer-group: expected %r, got %r" % (group_id, rec.header("dlq.consumer-group")))
    assert rec.header("dlq.replay-count") == "0", (
        "dlq.replay-count: expected '0', got %r" % rec.header("dlq.replay-count"))
    a = rec.header("dlq.attempts")
    assert a is not None and a.isdigit(), "dlq.attempts: %r" % a
    if attempts is not None:
        assert int(a) == attempts, "dlq.attempts: expected %d, got %s" % (attempts, a)
    fa = rec.header("dlq.failed-at")
    assert fa and RFC3339_UTC.match(fa), "dlq.failed-at is not RFC 3339 UTC: %r" % fa
    assert rec.header("dlq.error") is not None, "dlq.error missing"
    return rec


# --------------------------------------------------------------------------
# A harness: the processes and topics of one test (or one module), cleaned
# up and checked together.

class Harness:
    def __init__(self, kafka, workdir, name):
        self.kafka = kafka
        self.workdir = workdir
        self.name = re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:40]
        self.sims = []
        self.bridges = []
        self.topics = []

    def start_sim(self, fixture=None, extra_args=()):
        d = os.path.join(self.workdir, "sim-%d" % len(self.sims))
        os.makedirs(d, exist_ok=True)
        s = Sim(d, fixture=fixture, extra_args=extra_args)
        self.sims.append(s)
        return s.start()

    def make_topics(self, partitions=4, **outputs):
        """Creates fresh input, reply and DLQ topics. outputs: explicit
        names by suffix, e.g. customer_update_dlq="dlq" gives "<base>.dlq"."""
        base = unique("it-" + self.name)
        t = Topics(customer_update=base + ".customer.update",
                   sale_list=base + ".sale-list.request", partitions=partitions,
                   **{k: base + "." + v for k, v in outputs.items()})
        self.kafka.create_topics(t.all(), partitions)
        self.topics.extend(t.all())
        return t

    def write_config(self, sim, topics, group_id, dealer=None, overrides=None):
        code, user, pw = dealer or (DEALER_CODE, DEALER_USERNAME, DEALER_PASSWORD)
        cfg = bridge_config(self.kafka.brokers, sim.base_url if sim else
                            "http://127.0.0.1:9", topics, group_id,
                            code, user, pw, overrides)
        path = os.path.join(self.workdir, "bridge-%d.conf" % len(self.bridges))
        with open(path, "w") as f:
            f.write(render_libconfig(cfg))
        return path

    def start_bridge(self, sim, topics=None, group_id=None, dealer=None,
                     overrides=None, env=None, secrets=(), wait_assigned=True,
                     config_path=None):
        """Writes a configuration (unless config_path is given) and starts
        `moka-bridge run`; waits until its group owns the input partitions.
        The bridge's logs are checked at clean-up for the dealer password,
        its CheckKey and `secrets`."""
        topics = topics or self.make_topics()
        group_id = group_id or unique("it-group")
        code, user, pw = dealer or (DEALER_CODE, DEALER_USERNAME, DEALER_PASSWORD)
        if config_path is None:
            config_path = self.write_config(sim, topics, group_id, dealer, overrides)
        d = os.path.join(self.workdir, "bridge-%d" % len(self.bridges))
        os.makedirs(d, exist_ok=True)
        all_secrets = [DEALER_PASSWORD, DEALER_CHECKKEY, pw,
                       checkkey(code, user, pw)] + list(secrets)
        b = Bridge(d, config_path, group_id, topics, env=env, secrets=all_secrets)
        self.bridges.append(b)
        b.start()
        if wait_assigned:
            self.kafka.wait_group_assigned(group_id, topics.inputs(), timeout=60,
                                           watch=[b] + self.sims)
        return b

    def restart_bridge(self, old, env=None, wait_assigned=True):
        """A new bridge process with the configuration and group of `old`."""
        d = os.path.join(self.workdir, "bridge-%d" % len(self.bridges))
        os.makedirs(d, exist_ok=True)
        b = Bridge(d, old.config_path, old.group_id, old.topics,
                   env=env if env is not None else old.env, secrets=old.secrets)
        self.bridges.append(b)
        b.start()
        if wait_assigned:
            self.kafka.wait_group_assigned(b.group_id, b.topics.inputs(),
                                           timeout=90, watch=[b] + self.sims)
        return b

    def close(self):
        """Stops what still runs, deletes the topics; returns the list of
        problems found: a process that crashed or exited with a status the
        test did not declare (Process.exit_problem), a missing or unreadable
        output file, bridge logs with a secret or a line that is not a JSON
        object, a simulator stderr line that is not its own (a sanitizer
        report)."""
        problems = []
        # Under a tool (valgrind, MOKA_TEST_BRIDGE_WRAPPER) or with
        # MOKA_TEST_GRACEFUL_STOP=1 (the ASan run of scripts/test.sh) the
        # processes still running are stopped with SIGTERM, so that the
        # tool's exit-time checks (leaks) run; a report then fails the test
        # by the exit status or by a foreign stderr line.
        graceful = bool(os.environ.get("MOKA_TEST_BRIDGE_WRAPPER") or
                        os.environ.get("MOKA_TEST_GRACEFUL_STOP"))
        for b in self.bridges:
            problems.extend(_teardown(b, graceful, 90, b.check_logs))
        for s in self.sims:
            problems.extend(_teardown(s, graceful, 60, s.check_stderr))
        self.kafka.delete_topics(self.topics)
        return problems


def _teardown(p, graceful, timeout, check_output):
    """Stops one process of a harness (SIGTERM when graceful, else SIGKILL)
    and returns its problems: how it ended and what it wrote."""
    problems = []
    if p.running() and graceful:
        try:
            rc = p.stop(timeout=timeout)
            if rc != 0:
                problems.append("%s exited %s on SIGTERM at teardown: %s"
                                % (p.name, rc, p.describe()))
        except AssertionError as e:
            problems.append(str(e))
    p.kill()
    if not problems:
        pr = p.exit_problem()
        if pr:
            problems.append(pr)
    if p.proc is not None:
        try:
            check_output()
        except AssertionError as e:
            problems.append(str(e))
        except OSError as e:
            problems.append("%s output unreadable: %s" % (p.name, e))
    return problems


def exact_answers(kafka, group, input_topic, topic, ids, timeout=120.0, watch=()):
    """The records of `topic` (a reply or DLQ topic) for the events `ids`
    (correlation ids), counted exactly: waits until `group` committed
    `input_topic` to its end, so that every reply and DLQ record of its
    events is acknowledged and none is still on its way, then reads `topic`
    to its end. Fails when an id has no record or more than one (however
    late in the topic the second one is), or a record belongs to no id.
    Returns {id: record}."""
    import collections
    kafka.wait_committed_to_end(group, input_topic, timeout, watch)
    recs = kafka.read_all(topic)
    by_id = collections.defaultdict(list)
    for r in recs:
        by_id[r.header("correlation-id")].append(r)
    want = set(ids)
    missing = want - set(by_id)
    extra = set(by_id) - want
    twice = {k: len(v) for k, v in by_id.items() if len(v) > 1}
    assert not missing and not extra and not twice, (
        "%s: %d records for %d events; %d without one, e.g. %s; %d with "
        "more than one, e.g. %s; %d records of unknown ids, e.g. %s"
        % (topic, len(recs), len(want), len(missing), sorted(missing)[:5],
           len(twice), sorted(twice.items())[:5], len(extra), sorted(extra, key=str)[:5]))
    return {k: v[0] for k, v in by_id.items()}


def expect_reply(sent, rec, *, operation, status, result_code, attempts=None):
    """check_reply() for the reply of a Sent event: source, key and
    correlation id (the event's correlation-id header, else the default)."""
    corr = None
    for k, v in sent.headers:
        if k == "correlation-id":
            corr = v.decode() if isinstance(v, bytes) else v
    v = check_reply(rec, operation=operation, status=status,
                    result_code=result_code, source_topic=sent.topic,
                    source_partition=sent.partition,
                    source_offset=sent.offset, attempts=attempts,
                    correlation_id=corr or sent.default_correlation_id,
                    key=sent.key)
    # completed_at: after the event was produced, not in the future.
    done = rfc3339_ms(v["completed_at"])
    now = int(time.time() * 1000)
    assert sent.timestamp - 1000 <= done <= now + 1000, (
        "completed_at %s is not between the event's produce time (%d) and now (%d)"
        % (v["completed_at"], sent.timestamp, now))
    return v


def expect_dlq(sent, rec, *, reason, result_code, group_id, attempts=None):
    check_dlq(rec, reason=reason, result_code=result_code,
              original_topic=sent.topic,
              original_partition=sent.partition,
              original_offset=sent.offset, original_key=sent.key,
              original_value=sent.value, original_headers=sent.headers,
              group_id=group_id, attempts=attempts,
              original_timestamp=sent.timestamp)
    failed = rfc3339_ms(rec.header("dlq.failed-at"))
    now = int(time.time() * 1000)
    assert sent.timestamp - 1000 <= failed <= now + 1000, (
        "dlq.failed-at %s is not between the event's produce time (%d) and now (%d)"
        % (rec.header("dlq.failed-at"), sent.timestamp, now))
    return rec


class Running:
    """A running bridge with its simulator and topics, and the operations
    tests do on it."""

    def __init__(self, kafka, sim, bridge):
        self.kafka = kafka
        self.sim = sim
        self.bridge = bridge
        self.topics = bridge.topics
        self.group_id = bridge.group_id

    @property
    def watch(self):
        return [p for p in (self.bridge, self.sim) if p is not None]

    def update(self, value, key=None, headers=None, partition=None):
        return self.kafka.send(self.topics.customer_update, value, key, headers,
                               partition)

    def sale_list(self, value, key=None, headers=None, partition=None):
        return self.kafka.send(self.topics.sale_list, value, key, headers,
                               partition)

    def _reply_topic(self, sent):
        return (self.topics.cu_reply if sent.topic == self.topics.customer_update
                else self.topics.sl_reply)

    def _dlq_topic(self, sent):
        return (self.topics.cu_dlq if sent.topic == self.topics.customer_update
                else self.topics.sl_dlq)

    def reply_for(self, sent, timeout=30.0):
        """The one reply of `sent` (fails if none arrives in time)."""
        recs = self.kafka.collect(self._reply_topic(sent), 1, timeout,
                                  watch=self.watch, match=sent.is_source_of)
        return recs[0]

    def replies_for(self, sents, timeout=60.0):
        """{index in sents: reply record} once every event has a reply."""
        want = {(s.topic, s.partition, s.offset): i for i, s in enumerate(sents)}
        topic = self._reply_topic(sents[0])

        def src(r):
            try:
                v = json.loads(r.value)["source"]
                return (v["topic"], v["partition"], v["offset"])
            except Exception:  # noqa: BLE001
                return None
        recs = self.kafka.collect(
            topic, len(want), timeout, watch=self.watch,
            match=lambda r: src(r) in want,
            until=lambda out: len({src(r) for r in out}) >= len(want))
        out = {}
        for r in recs:
            out.setdefault(want[src(r)], r)
        return out

    def dlq_for(self, sent, timeout=30.0):
        recs = self.kafka.collect(self._dlq_topic(sent), 1, timeout,
                                  watch=self.watch, match=sent.is_dlq_of)
        return recs[0]

    def wait_done(self, sent, timeout=30.0):
        """Waits until the bridge committed past `sent`: its reply and any
        DLQ record are acknowledged by then."""
        self.kafka.wait_committed(self.group_id, sent.topic, sent.partition,
                                  sent.offset, timeout, watch=self.watch)

    def all_for(self, sent, dlq):
        """Every reply (dlq=False) or DLQ record (dlq=True) of `sent` now
        in the topic; call after wait_done() to count exactly."""
        if dlq:
            return [r for r in self.kafka.read_all(self._dlq_topic(sent))
                    if sent.is_dlq_of(r)]
        return [r for r in self.kafka.read_all(self._reply_topic(sent))
                if sent.is_source_of(r)]
