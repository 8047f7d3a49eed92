"""`moka-bridge replay`: dead-letter records republished to their original
(or a given) topic, against the real broker.

Most tests write DLQ records directly, with the dlq.* headers as the bridge
writes them (reply.c), into a fresh DLQ topic; one test makes them with the
real bridge and moka-sim (an InvalidEmailFormat customer update) and feeds
the replayed event back through the bridge. Every replay run's stderr must
be JSON lines without a secret or a record value."""

import datetime
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

import helpers
from helpers import Running, Topics, unique, wait_until

UC = "DealerCustomer.UpdateCustomer."
# Put into every record value and dlq.error: must never reach the output.
VALUE_MARK = "VALUE-MARK-%s" % uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------
# Helpers

def describe(r):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout[-4000:],
                                                  r.stderr[-4000:])


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def logs(self):
        return [json.loads(line) for line in self.stderr.splitlines() if line.strip()]

    def summary(self):
        s = [o for o in self.logs() if o.get("msg") == "replay finished"]
        assert len(s) == 1, "expected one 'replay finished' line\n" + describe(self)
        return s[0]

    def lines(self):
        """--dry-run output: one JSON object per line on stdout."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def check_output(r):
    """stderr: JSON lines with level and msg; no secret, no value anywhere."""
    text = r.stdout + r.stderr
    for s in (helpers.DEALER_PASSWORD, helpers.DEALER_CHECKKEY, VALUE_MARK):
        assert s not in text, "%r... in the replay output\n%s" % (s[:6], describe(r))
    for line in r.stderr.splitlines():
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError:
            raise AssertionError("stderr line is not JSON: %r\n%s" % (line, describe(r)))
        assert isinstance(o, dict) and "level" in o and "msg" in o, line


def replay_argv(config, *args):
    return [helpers.bridge_binary(), "replay", "--config", config] + [str(a) for a in args]


def run_replay(config, *args, expect=0, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOKA_BRIDGE_")}
    p = subprocess.run(replay_argv(config, *args), capture_output=True, text=True,
                       env=env, timeout=timeout)
    r = Result(p.returncode, p.stdout, p.stderr)
    check_output(r)
    assert r.returncode == expect, ("replay %s: expected exit %d\n%s"
                                    % (" ".join(map(str, args)), expect, describe(r)))
    return r


class Env:
    """A DLQ topic, its original topic, another topic for --to, and a bridge
    configuration naming the broker (the replay reads kafka.* only)."""

    def __init__(self, harness, kafka, partitions=2):
        self.kafka = kafka
        base = unique("it-replay")
        self.input = base + ".customer.update"
        self.dlq = self.input + ".dlq"
        self.alt = base + ".alt"
        kafka.create_topics([self.input, self.dlq, self.alt], partitions)
        harness.topics.extend([self.input, self.dlq, self.alt])
        self.group_id = unique("it-group")
        self.replay_group = self.group_id + ".replay"
        self.config = harness.write_config(
            None, Topics(customer_update=self.input, sale_list=base + ".sale-list"),
            self.group_id)

    def put(self, specs):
        """Produces DLQ records; returns the specs with their DLQ partition
        and offset filled in."""
        events = []
        for s in specs:
            events.append({"key": s.get("key"), "value": s["value"],
                           "headers": s["orig_headers"] + dlq_headers(self.input, s),
                           "partition": s.get("partition", 0),
                           "timestamp": s.get("timestamp")})
        for s, (p, o) in zip(specs, self.kafka.produce(self.dlq, events)):
            s["dlq_partition"], s["dlq_offset"] = p, o
        return specs

    def run(self, *args, **kw):
        return run_replay(self.config, "--dlq", self.dlq, *args, **kw)

    def committed(self, group=None):
        return self.kafka.committed(group or self.replay_group, self.dlq)

    def ends(self):
        from confluent_kafka import TopicPartition
        c = self.kafka._consumer()
        try:
            return {p: c.get_watermark_offsets(TopicPartition(self.dlq, p), timeout=10)[1]
                    for p in self.kafka.partitions(self.dlq)}
        finally:
            c.close()


def dlq_headers(topic, s):
    """The dlq.* headers as reply.c writes them."""
    h = [("dlq.reason", s.get("reason", "moka-result")),
         ("dlq.result-code", s.get("code", UC + "InvalidEmailFormat")),
         ("dlq.error", "Invalid email %s" % VALUE_MARK)]
    if not s.get("no_topic"):
        h.append(("dlq.original-topic", s.get("orig_topic", topic)))
    h += [("dlq.original-partition", str(s.get("orig_partition", 0))),
          ("dlq.original-offset", str(s.get("orig_offset", 7))),
          ("dlq.original-timestamp", "1714557600000"),
          ("dlq.attempts", "1"),
          ("dlq.failed-at", "2024-05-01T10:00:00.123Z"),
          ("dlq.consumer-group", "g")]
    if s.get("count", "0") is not None:
        h.append(("dlq.replay-count", s.get("count", "0")))
    return h


def spec(i, **kw):
    """A DLQ record: a distinct key and value, binary and duplicate
    original headers."""
    s = {"key": "key-%d" % i,
         "value": '{"CustomerCode":"C%d", "Email":"bad-%d %s"}' % (i, i, VALUE_MARK),
         "orig_headers": [("correlation-id", "corr-%d" % i),
                          ("x-bin", b"\x00\xff\x01" + bytes([i % 256])),
                          ("x-dup", b"one"), ("x-dup", b"two")]}
    s.update(kw)
    return s


def count(kafka, topic):
    """Records in topic, 0 while the client's metadata is not ready (the
    shared watermark client may still see a deleted topic's leader)."""
    try:
        return kafka.count(topic)
    except Exception:  # noqa: BLE001
        kafka._wm.close()
        kafka._wm = None
        return 0


def replayed(env, topic=None):
    """Records now in the target topic, by their value."""
    return env.kafka.read_all(topic or env.input)


def by_value(records):
    out = {}
    for r in records:
        out.setdefault(r.value, []).append(r)
    return out


def check_copy(rec, s, new_count):
    """A republished record: original key, value and headers byte for
    byte, then dlq.replay-count."""
    assert rec.key == helpers.encode(s["key"]), (rec, s)
    assert rec.value == helpers.encode(s["value"]), (rec, s)
    want = [(k, helpers.encode(v)) for k, v in s["orig_headers"]]
    want.append(("dlq.replay-count", str(new_count).encode()))
    assert rec.headers == want, "headers: expected %r, got %r" % (want, rec.headers)


def offsets_of(lines, action):
    return sorted((o["partition"], o["offset"]) for o in lines if o.get("action") == action)


@pytest.fixture
def env(harness, kafka):
    return Env(harness, kafka)


# --------------------------------------------------------------------------
# The real bridge writes the DLQ record; the replayed event goes back
# through it.

def test_bridge_dead_letter_replayed_end_to_end(harness, kafka):
    sim = harness.start_sim()
    b = harness.start_bridge(sim)
    r = Running(kafka, sim, b)
    key = "k-%s" % uuid.uuid4().hex[:6]
    headers = [("correlation-id", "c-%s" % key), ("x-trace", b"\x00\x01trace")]
    value = '{"CustomerCode": "C2",  "Email": "not-an-email"}'
    sent = r.update(value, key=key, headers=headers)
    first = r.dlq_for(sent)
    helpers.expect_dlq(sent, first, reason="moka-result",
                       result_code=UC + "InvalidEmailFormat", group_id=b.group_id,
                       attempts=1)

    res = run_replay(b.config_path, "--dlq", r.topics.cu_dlq)
    s = res.summary()
    assert (s["status"], s["read"], s["republished"], s["refused"]) == (
        "complete", 1, 1, 0), describe(res)
    # The copy: same key, value bytes and headers, same partition, count 1.
    copies = [m for m in kafka.read_all(r.topics.customer_update)
              if m.header("dlq.replay-count") is not None]
    assert len(copies) == 1, copies
    c = copies[0]
    assert c.partition == sent.partition
    assert c.key == key.encode() and c.value == value.encode(), c
    assert c.headers == [(k, helpers.encode(v)) for k, v in headers] + [
        ("dlq.replay-count", b"1")], c.headers

    # The bridge fails it again: a new DLQ record carrying the count.
    again = kafka.collect(r.topics.cu_dlq, 1, 30, watch=r.watch,
                          match=lambda m: m.header("dlq.original-offset") == str(c.offset))[0]
    assert again.header("dlq.replay-count") == "1", again.headers
    assert again.header("dlq.result-code") == UC + "InvalidEmailFormat"
    assert [(k, v) for k, v in again.headers if not k.startswith("dlq.")] == [
        (k, helpers.encode(v)) for k, v in headers], again.headers

    # A second run starts after the first record: it sees only the new
    # one, replayed once already, which --max-replay-count 1 refuses.
    res = run_replay(b.config_path, "--dlq", r.topics.cu_dlq, "--max-replay-count", 1)
    s = res.summary()
    assert (s["read"], s["republished"], s["refused"]) == (1, 0, 1), describe(res)
    refused = [o for o in res.logs() if o["msg"] == "record refused"]
    assert len(refused) == 1 and refused[0]["partition"] == again.partition and \
        refused[0]["offset"] == again.offset, describe(res)
    assert "max-replay-count" in refused[0]["why"], refused
    assert len([m for m in kafka.read_all(r.topics.customer_update)
                if m.header("dlq.replay-count") is not None]) == 1


# --------------------------------------------------------------------------
# Start positions

def test_default_start_second_run_and_from_beginning(env):
    specs = env.put([spec(0, partition=0, orig_partition=1),
                     spec(1, partition=0, count="1", orig_partition=0),
                     spec(2, partition=1, count=None, orig_partition=1,
                          key=None),
                     spec(3, partition=1, orig_partition=1, key=""),
                     spec(4, partition=1, orig_partition=9,
                          value=b"\x00not json\xff " + VALUE_MARK.encode())])
    r = env.run()
    s = r.summary()
    assert (s["status"], s["read"], s["republished"], s["skipped"], s["refused"],
            s["remaining"]) == ("complete", 5, 5, 0, 0, 0), describe(r)
    got = by_value(replayed(env))
    for sp, count in zip(specs, [1, 2, 1, 1, 1]):
        recs = got[helpers.encode(sp["value"])]
        assert len(recs) == 1, recs
        check_copy(recs[0], sp, count)
        if sp["orig_partition"] < 2:
            # Back to its original partition (9 does not exist: the
            # partitioner decides).
            assert recs[0].partition == sp["orig_partition"], recs[0]
    assert env.committed() == env.ends(), (env.committed(), env.ends())

    # The group's position is at the end: nothing to do.
    r = env.run()
    s = r.summary()
    assert (s["read"], s["republished"]) == (0, 0), describe(r)
    assert len(replayed(env)) == 5

    # --from-beginning: all of them again.
    r = env.run("--from-beginning")
    assert r.summary()["republished"] == 5, describe(r)
    assert len(replayed(env)) == 10


def test_from_offset_and_from_time(env):
    now = int(time.time() * 1000)
    h = 3600 * 1000
    specs = env.put([spec(0, partition=0, timestamp=now - 4 * h),
                     spec(1, partition=0, timestamp=now - 3 * h),
                     spec(2, partition=0, timestamp=now - 2 * h),
                     spec(3, partition=0, timestamp=now - 1 * h),
                     spec(4, partition=1, timestamp=now - 7 * h // 2),
                     spec(5, partition=1, timestamp=now - h // 2)])
    # --from-offset 2 on every partition: p0 offsets 2, 3; p1 has none.
    r = env.run("--from-offset", 2, "--group", unique("g"))
    assert r.summary()["republished"] == 2, describe(r)
    assert sorted(m.value for m in replayed(env)) == sorted(
        helpers.encode(s["value"]) for s in specs[2:4])

    # --from-time, RFC 3339 with an offset: 2.5 h ago -> p0 2, 3 and p1 1.
    t = datetime.datetime.fromtimestamp((now - 5 * h // 2) / 1000,
                                        datetime.timezone(datetime.timedelta(hours=3)))
    r = env.run("--from-time", t.isoformat(timespec="milliseconds"),
                "--dry-run")
    assert offsets_of(r.lines(), "republish") == [(0, 2), (0, 3), (1, 1)], describe(r)
    # ... and the same instant in UTC, produced for real.
    utc = datetime.datetime.fromtimestamp((now - 5 * h // 2) / 1000,
                                          datetime.timezone.utc)
    r = env.run("--from-time", utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "--group", unique("g"))
    assert r.summary()["republished"] == 3, describe(r)
    assert len(replayed(env)) == 5

    # Epoch milliseconds: 3.2 h ago -> p0 1, 2, 3 and p1 1.
    r = env.run("--from-time", now - 16 * h // 5, "--dry-run")
    assert offsets_of(r.lines(), "republish") == [(0, 1), (0, 2), (0, 3), (1, 1)], describe(r)
    # Later than every record: nothing.
    r = env.run("--from-time", now + 60000, "--dry-run")
    assert r.summary()["read"] == 0, describe(r)


# --------------------------------------------------------------------------
# Filters, --to, refusals

def test_reason_and_result_code_filters(env):
    specs = env.put([
        spec(0, partition=0, reason="moka-result", code=UC + "InvalidEmailFormat"),
        spec(1, partition=0, reason="moka-result", code=UC + "DealerCustomerNotFound"),
        spec(2, partition=1, reason="invalid-event", code="Bridge.InvalidEvent"),
        spec(3, partition=1, reason="retries-exhausted", code="Bridge.RetriesExhausted"),
    ])
    r = env.run("--dry-run", "--reason", "invalid-event",
                "--reason=retries-exhausted")
    assert offsets_of(r.lines(), "republish") == [(1, 0), (1, 1)], describe(r)
    line = [o for o in r.lines() if o.get("action") == "republish"][0]
    assert line == {"action": "republish", "partition": 1, "offset": 0,
                    "topic": env.input, "reason": "invalid-event",
                    "result_code": "Bridge.InvalidEvent", "replay_count": 1}, line

    # Both kinds: reason AND code; the position still moves past the rest.
    r = env.run("--reason", "moka-result", "--result-code", UC + "InvalidEmailFormat")
    s = r.summary()
    assert (s["read"], s["republished"], s["skipped"]) == (4, 1, 3), describe(r)
    assert [m.value for m in replayed(env)] == [helpers.encode(specs[0]["value"])]
    assert env.committed() == env.ends()
    assert env.run().summary()["read"] == 0

    r = env.run("--from-beginning", "--group", unique("g"),
                "--result-code", "Bridge.InvalidEvent",
                "--result-code", "Bridge.RetriesExhausted")
    assert r.summary()["republished"] == 2, describe(r)
    assert sorted(m.value for m in replayed(env)) == sorted(
        helpers.encode(s["value"]) for s in specs[::2] + specs[3:])


def test_to_topic(env):
    specs = env.put([spec(0, partition=0), spec(1, partition=1, no_topic=True),
                     spec(2, partition=1, orig_topic="some.other.topic")])
    r = env.run("--to", env.alt)
    assert r.summary()["republished"] == 3, describe(r)
    got = by_value(replayed(env, env.alt))
    for sp in specs:
        check_copy(got[helpers.encode(sp["value"])][0], sp, 1)
    assert replayed(env) == [], "records went to the original topic"


def test_refusals(env):
    specs = env.put([spec(0, partition=0, count="3"),
                     spec(1, partition=0, count="2"),
                     spec(2, partition=1, no_topic=True),
                     spec(3, partition=1, count="abc")])
    r = env.run()
    s = r.summary()
    assert (s["status"], s["read"], s["republished"], s["refused"]) == (
        "complete", 4, 1, 3), describe(r)
    refused = sorted((o["partition"], o["offset"], o["why"])
                     for o in r.logs() if o["msg"] == "record refused")
    assert [(p, o) for p, o, _ in refused] == [(0, 0), (1, 0), (1, 1)], describe(r)
    assert "max-replay-count 3" in refused[0][2], refused
    assert "dlq.original-topic" in refused[1][2] and "--to" in refused[1][2], refused
    assert "dlq.replay-count" in refused[2][2], refused
    got = replayed(env)
    assert len(got) == 1
    check_copy(got[0], specs[1], 3)
    # Refused records are passed: the position is at the end.
    assert env.committed() == env.ends()

    r = env.run("--from-beginning", "--max-replay-count", 5)
    s = r.summary()
    assert (s["republished"], s["refused"]) == (2, 2), describe(r)
    check_copy(by_value(replayed(env))[helpers.encode(specs[0]["value"])][0],
               specs[0], 4)


def test_dry_run_produces_and_commits_nothing(env):
    env.put([spec(0, partition=0), spec(1, partition=0, count="3"),
             spec(2, partition=1, reason="invalid-event", code="Bridge.InvalidEvent"),
             spec(3, partition=1, no_topic=True)])
    r = env.run("--dry-run")
    lines = r.lines()
    assert len(lines) == 5 and lines[-1]["action"] == "summary", describe(r)
    assert offsets_of(lines, "republish") == [(0, 0), (1, 0)], describe(r)
    refuse = sorted((o for o in lines if o["action"] == "refuse"),
                    key=lambda o: o["partition"])
    assert refuse[0]["partition"] == 0 and refuse[0]["offset"] == 1
    assert refuse[0]["replay_count"] == 4 and refuse[0]["topic"] == env.input
    assert refuse[0]["reason"] == "moka-result"
    assert refuse[0]["result_code"] == UC + "InvalidEmailFormat"
    assert refuse[1]["topic"] is None and "dlq.original-topic" in refuse[1]["why"]
    assert lines[-1] == {"action": "summary", "read": 4, "republish": 2,
                         "skipped": 0, "refuse": 2, "status": "complete"}, lines[-1]
    assert r.summary()["dry_run"] is True
    assert replayed(env) == [] and replayed(env, env.alt) == []
    assert all(o < 0 for o in env.committed().values()), env.committed()
    # A real run afterwards still has everything to do.
    assert env.run().summary()["republished"] == 2


# --------------------------------------------------------------------------
# Rate, end offsets, interruption

def test_rate_and_end_offsets_seen_at_start(env, harness):
    n, rate = 30, 10
    specs = env.put([spec(i, partition=i % 2) for i in range(n)])
    ends = env.ends()
    p = subprocess.Popen(replay_argv(env.config, "--dlq", env.dlq, "--rate", rate),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Records added while it runs are not its business.
        wait_until(lambda: count(env.kafka, env.input) >= 3, 20,
                   "the replay to start republishing")
        late = env.put([spec(100 + i, partition=i % 2) for i in range(6)])
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    r = Result(p.returncode, out, err)
    check_output(r)
    assert r.returncode == 0, describe(r)
    s = r.summary()
    assert (s["read"], s["republished"], s["remaining"]) == (n, n, 0), describe(r)
    got = replayed(env)
    assert sorted(m.value for m in got) == sorted(helpers.encode(x["value"]) for x in specs)
    assert env.committed() == ends, (env.committed(), ends)

    # The rate, from the copies' create times: loose bounds.
    ts = sorted(m.timestamp for m in got)
    measured = (n - 1) / ((ts[-1] - ts[0]) / 1000.0)
    assert rate * 0.8 <= measured <= rate * 1.2, "measured %.1f/s for --rate %d" % (
        measured, rate)
    progress = [o for o in r.logs() if o["msg"] == "replay progress"]
    assert len(progress) >= 2, describe(r)
    assert {"read", "republished", "skipped", "refused", "remaining"} <= set(progress[0])
    assert any(0 < o["remaining"] < n for o in progress), progress

    # The next run takes the late ones.
    r = env.run()
    assert r.summary()["republished"] == len(late), describe(r)
    assert len(replayed(env)) == n + len(late)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_interrupted_run_loses_nothing(env, sig):
    """SIGTERM: delivers what is in flight, commits, exits 1; the next run
    replays exactly the rest. SIGKILL: the next run may repeat records
    acknowledged since the last commit, but skips none."""
    n = 24
    specs = env.put([spec(i, partition=i % 2) for i in range(n)])
    p = subprocess.Popen(replay_argv(env.config, "--dlq", env.dlq, "--rate", 8),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: count(env.kafka, env.input) >= 10, 20,
                   "the replay to republish 10 records")
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    first = count(env.kafka, env.input)
    assert first < n, "the replay finished before the signal"
    if sig == signal.SIGTERM:
        r = Result(p.returncode, out, err)
        check_output(r)
        assert r.returncode == 1 and r.summary()["status"] == "interrupted", describe(r)
        assert sum(max(o, 0) for o in env.committed().values()) == first, (
            env.committed(), first)
    r = env.run()
    got = [m.value for m in replayed(env)]
    want = [helpers.encode(x["value"]) for x in specs]
    assert set(got) == set(want), "records lost"
    if sig == signal.SIGTERM:
        assert sorted(got) == sorted(want), "records replayed twice"
    else:
        assert len(got) - n <= 10, "%d duplicates" % (len(got) - n)


# --------------------------------------------------------------------------
# Errors

@pytest.mark.parametrize("args,named", [
    ([], "--config"),
    (["--config", "x.conf"], "--dlq"),
    (["--config", "x.conf", "--dlq"], "--dlq"),
    (["--config", "x.conf", "--dlq", "d", "--bogus"], "--bogus"),
    (["--config", "x.conf", "--dlq", "d", "extra"], "extra"),
    (["--config", "x.conf", "--dlq", "d", "--from-beginning", "--from-offset", "3"],
     "--from-offset"),
    (["--config", "x.conf", "--dlq", "d", "--from-time", "1", "--from-beginning"],
     "--from-beginning"),
    (["--config", "x.conf", "--dlq", "d", "--from-offset", "-1"], "--from-offset"),
    (["--config", "x.conf", "--dlq", "d", "--from-offset", "ten"], "--from-offset"),
    (["--config", "x.conf", "--dlq", "d", "--from-time", "yesterday"], "--from-time"),
    (["--config", "x.conf", "--dlq", "d", "--from-time", "2024-05-01T10:00:00"],
     "--from-time"),
    (["--config", "x.conf", "--dlq", "d", "--from-time", "2024-02-30T10:00:00Z"],
     "--from-time"),
    (["--config", "x.conf", "--dlq", "d", "--reason", "moka"], "--reason"),
    (["--config", "x.conf", "--dlq", "d", "--result-code="], "--result-code"),
    (["--config", "x.conf", "--dlq", "d", "--max-replay-count", "0"],
     "--max-replay-count"),
    (["--config", "x.conf", "--dlq", "d", "--rate", "0"], "--rate"),
    (["--config", "x.conf", "--dlq", "d", "--rate", "fast"], "--rate"),
    (["--config", "x.conf", "--dlq", "d", "--rate", "5", "--rate", "6"], "--rate"),
    (["--config", "x.conf", "--dlq", "d", "--to", "bad topic!"], "--to"),
    (["--config", "x.conf", "--dlq", "d", "--dry-run=yes"], "--dry-run"),
])
def test_bad_arguments(args, named):
    p = subprocess.run([helpers.bridge_binary(), "replay"] + args,
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, describe(p)
    first = p.stderr.splitlines()[0]
    assert first.startswith("moka-bridge replay: ") and named in first, describe(p)
    assert "--max-replay-count N" in p.stderr, "no usage\n" + describe(p)
    assert p.stdout == ""


def test_help_lists_replay_options():
    p = subprocess.run([helpers.bridge_binary(), "replay", "--help"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0 and "--max-replay-count" in p.stdout, describe(p)


def test_missing_topics_and_config_fail(env):
    env.put([spec(0)])
    r = run_replay(env.config, "--dlq", unique("no-such-dlq"), expect=1)
    assert "does not exist" in r.stderr, describe(r)
    r = env.run("--to", unique("no-such-target"), expect=1)
    assert any(o["msg"] == "target topic does not exist" for o in r.logs()), describe(r)
    assert r.summary()["status"] == "failed"
    assert all(o < 0 for o in env.committed().values()), env.committed()
    p = subprocess.run(replay_argv(env.config + ".missing", "--dlq", env.dlq),
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1 and ".missing" in p.stderr, describe(p)
