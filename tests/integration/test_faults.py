"""Fault tests (issue 6): moka-bridge under load on the real broker with
moka-sim, while something goes wrong; each test ends by running the
delivery checker (checker.py) over the whole run and records its counts
(lost, duplicated, order violations in replies and in Moka's calls, DLQ'd,
committed before answered) as a JSON line in FAULTS_RESULTS.

Scale: MOKA_FAULTS_SCALE=short (default, CI: the file in about 5 minutes)
or long (scripts/faults.sh). Figures: docs/reliability.md.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import checker
from faults_common import (FAST_SESSION, LONG, Load, check_and_report, jitter, pick,
                           results_path)
from helpers import unique, wait_until
from helpers import free_port
from test_outage_pause import outage_gauge, status

HERE = os.path.dirname(os.path.abspath(__file__))


def start(harness, kafka, partitions=4, overrides=None, sim_faults=None, sim_args=()):
    sim = harness.start_sim(extra_args=sim_args)
    sim.faults(**(sim_faults or {"latency_ms": 2, "latency_jitter_ms": 3}))
    topics = harness.make_topics(partitions=partitions)
    group = unique("faults")
    b = harness.start_bridge(sim, topics=topics, group_id=group, overrides=overrides)
    sampler = checker.CommitSampler(kafka.brokers, group, topics.customer_update).start()
    return sim, topics, group, b, sampler


# ---------------------------------------------------------------- kill -9

def test_kill9_at_random_moments(harness, kafka, request):
    """kill -9 at random moments under load, restarted each time (static
    membership, so the new process takes the partitions over at once):
    nothing lost, order holds; duplicates are allowed (the in-flight window
    is replayed) and counted."""
    cycles = pick(5, 20)
    sim, topics, group, b, sampler = start(harness, kafka, overrides={
        "kafka": {"group_instance_id": "faults-kill", "properties": FAST_SESSION}})
    load = Load(kafka, topics.customer_update, rate=pick(400, 600), keys=100).start()
    for _ in range(cycles):
        time.sleep(jitter(0.3, 4.0))
        b.assert_running()
        b.signal(signal.SIGKILL)
        b.wait(10)
        b = harness.restart_bridge(b, wait_assigned=False)
    time.sleep(1.0)
    sent = load.stop()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    assert b.stop(60) == 0
    c = check_and_report(request, kafka, topics, group, "kill -9 x%d" % cycles,
                         sampler, sim, extra={"kills": cycles, "sent": sent})
    assert c["events"] == sent and c["dlq_events"] == 0


# ---------------------------------------------------------------- SIGTERM

def test_sigterm_under_load(harness, kafka, request):
    """SIGTERM under load (drain, commit, leave), restarted each time:
    nothing lost and nothing answered twice. The command-line checker is
    run too and must agree."""
    cycles = pick(3, 10)
    sim, topics, group, b, sampler = start(harness, kafka, overrides={
        "limits": {"shutdown_timeout_ms": 30000}})
    load = Load(kafka, topics.customer_update, rate=pick(400, 600), keys=100).start()
    for _ in range(cycles):
        time.sleep(jitter(1.0, 4.0))
        assert b.stop(60) == 0, b.describe()
        b = harness.restart_bridge(b, wait_assigned=False)
    time.sleep(1.0)
    sent = load.stop()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    assert b.stop(60) == 0
    c = check_and_report(request, kafka, topics, group, "SIGTERM x%d" % cycles,
                         sampler, sim, max_duplicates=0,
                         extra={"sigterms": cycles, "sent": sent})
    assert c["events"] == sent and c["dlq_events"] == 0
    # The same check from the command line (without the commit samples).
    p = subprocess.run(
        [sys.executable, os.path.join(HERE, "checker.py"), "--brokers", kafka.brokers,
         "--input", topics.customer_update, "--reply", topics.cu_reply,
         "--dlq", topics.cu_dlq, "--sim", sim.base_url, "--group", group,
         "--max-duplicates", "0", "--label", "cli"],
        capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    cli = json.loads(p.stdout.splitlines()[0])
    for k in ("events", "lost", "duplicate_replies", "reply_order_violations",
              "call_order_violations", "uncommitted"):
        assert cli[k] == c[k] if k != "uncommitted" else cli[k] == 0, (k, cli, c)


# ---------------------------------------------------------------- Moka faults

def test_moka_sim_mixed_faults_20_percent(harness, kafka, request):
    """20 % of Moka calls fail: 5 % HTTP 503, 4 % EX, 3 % hung past the
    bridge's request timeout, 4 % connection resets, 4 % malformed bodies.
    Everything is retried; nothing lost, order holds, no duplicate reply."""
    faults = {"latency_ms": 2, "latency_jitter_ms": 3, "error_rate": 0.05,
              "ex_rate": 0.04, "hang_rate": 0.03, "hang_ms": 1500,
              "reset_rate": 0.04, "malformed_rate": 0.04}
    sim, topics, group, b, sampler = start(
        harness, kafka, sim_faults=faults,
        overrides={"moka": {"request_timeout_ms": 1000},
                   "retry": {"max_attempts": 10, "base_ms": 10, "cap_ms": 200,
                             "max_elapsed_ms": 60000}})
    total = pick(3000, 20000)
    load = Load(kafka, topics.customer_update, rate=pick(300, 400), total=total,
                keys=100).start()
    sent = load.join()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    st = sim.stats()
    assert b.stop(60) == 0
    c = check_and_report(request, kafka, topics, group, "Moka 20% mixed faults",
                         sampler, sim, max_duplicates=0,
                         extra={"sim_results": st["by_result"], "sim_faults": st["faults"],
                                "sim_requests": st["requests_total"]})
    assert c["events"] == sent
    injected = sum(v for k, v in st["by_result"].items() if k != "Success")
    assert injected > 0.1 * st["requests_total"], st
    # Retries-exhausted is possible (10 attempts at 20 %), never common.
    assert set(c["dlq_by_reason"]) <= {"retries-exhausted"}, c
    assert c["dlq_events"] <= max(3, sent // 1000), c


# ---------------------------------------------------------------- outage

def test_moka_outage_under_load(harness, kafka, request):
    """Moka out for 60 s (long; 10 s short) under load: the bridge pauses
    and probes (test_outage_pause.py checks the pause itself), then answers
    everything: nothing lost, nothing dead-lettered, no duplicate."""
    outage_s = pick(10, 60)
    port = free_port()
    sim, topics, group, b, sampler = start(harness, kafka, overrides={
        "admin": {"listen": "127.0.0.1:%d" % port}, "outage": {"probe_interval_ms": 500}})
    load = Load(kafka, topics.customer_update, rate=pick(300, 400), keys=100).start()
    wait_until(lambda: kafka.count(topics.cu_reply) >= 500, 60, "500 replies")
    sim.faults(outage=True)
    t0 = time.monotonic()
    wait_until(lambda: status(port, "/readyz") == 503, 20, "/readyz 503 in the outage")
    assert outage_gauge(port) == 1
    during = 0
    while time.monotonic() - t0 < outage_s:
        during += 1
        assert status(port, "/readyz") == 503, "ready during the outage"
        time.sleep(1.0)
    sim.faults(outage=False)
    time.sleep(pick(3, 10))
    sent = load.stop()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    assert b.stop(60) == 0
    c = check_and_report(request, kafka, topics, group, "Moka outage %ds" % outage_s,
                         sampler, sim, max_duplicates=0,
                         extra={"outage_s": outage_s, "sent": sent})
    assert c["dlq_events"] == 0 and c["events"] == sent


# ---------------------------------------------------------------- poison

POISON = [
    lambda tag, cust: b'{"CustomerCode": "' + cust.encode() + b'", "LastName": ',  # not JSON
    lambda tag, cust: b"[1, 2, 3]",                                                 # not an object
    lambda tag, cust: {"CustomerCode": cust, "LastName": tag, "Gender": {"x": 1}},  # wrong type
    lambda tag, cust: {"CustomerCode": cust, "LastName": tag, "NoSuchField": 1},    # unknown field
    lambda tag, cust: {"CustomerCode": cust, "LastName": tag, "FirstName": "x" * 500},  # too long
]


def test_poison_events_in_a_hot_key(harness, kafka, request):
    """Every 7th event of a hot key (half of the load) is invalid in one of
    five ways: each is answered Bridge.InvalidEvent and dead-lettered
    (invalid-event), and the key's later events are still called and
    answered in order."""
    sim, topics, group, b, sampler = start(harness, kafka)

    def poison(i, key, seq, tag, cust):
        if key == "hot" and seq % 7 == 3:
            return POISON[(seq // 7) % len(POISON)](tag, cust)
        return None
    total = pick(3000, 20000)
    load = Load(kafka, topics.customer_update, rate=pick(400, 600), total=total,
                key_of=lambda i: "hot" if i % 2 == 0 else "k%03d" % (i % 40),
                poison=poison).start()
    sent = load.join()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    assert b.stop(60) == 0
    n = len(load.poisoned)
    c = check_and_report(request, kafka, topics, group, "poison in a hot key",
                         sampler, sim, max_duplicates=0, extra={"poison": n})
    assert n > 0 and c["events"] == sent
    assert c["dlq_by_reason"] == {"invalid-event": n}, c
    assert c["dlq_events"] == n and c["failed_events"] == n, c
    assert c["calls"] == sent - n, "every valid event called once"


# ---------------------------------------------------------------- rebalances

def test_three_instances_join_and_leave_under_load(harness, kafka, request):
    """Three instances in one group (6 partitions); during the load members
    leave (SIGTERM) and join, one change every 2-4 s, so the group keeps
    rebalancing: nothing lost, order holds, and no event is answered twice
    (an eager revoke drains and commits first)."""
    changes = pick(6, 24)
    sim = harness.start_sim()
    sim.faults(latency_ms=2, latency_jitter_ms=3)
    topics = harness.make_topics(partitions=6)
    group = unique("faults-rb")
    ov = {"limits": {"shutdown_timeout_ms": 30000}}
    live = [harness.start_bridge(sim, topics=topics, group_id=group, overrides=ov,
                                 wait_assigned=(i == 0)) for i in range(3)]
    sampler = checker.CommitSampler(kafka.brokers, group, topics.customer_update).start()
    load = Load(kafka, topics.customer_update, rate=pick(400, 600), keys=120).start()
    log = []
    for i in range(changes):
        time.sleep(jitter(2.0, 4.0))
        for x in live:
            x.assert_running()
        if i % 2 == 0:   # one leaves, then one joins
            x = live.pop(random.randrange(len(live)))
            assert x.stop(60) == 0, x.describe()
            live.append(harness.restart_bridge(x, wait_assigned=False))
            log.append("leave+join")
        else:            # a fourth joins, then one leaves
            live.append(harness.restart_bridge(live[0], wait_assigned=False))
            time.sleep(jitter(1.0, 3.0))
            x = live.pop(random.randrange(len(live) - 1))
            assert x.stop(60) == 0, x.describe()
            log.append("join+leave")
    time.sleep(1.0)
    sent = load.stop()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), live + [sim])
    for x in live:
        assert x.stop(60) == 0
    c = check_and_report(request, kafka, topics, group,
                         "3 instances, %d membership changes" % changes, sampler, sim,
                         max_duplicates=0, extra={"changes": changes, "sent": sent})
    assert c["events"] == sent and c["dlq_events"] == 0


# ---------------------------------------------------------------- broker restart

def _kafka_sh(args, env=None, timeout=300):
    """scripts/kafka.sh with its output in files (a broker it leaves running
    must not hold a pipe of ours); returns stdout, fails on an error."""
    import tempfile
    script = os.path.join(HERE, "..", "..", "scripts", "kafka.sh")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        rc = subprocess.run(["bash", script] + args, stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL, timeout=timeout,
                            env=dict(os.environ, **(env or {}))).returncode
        out.seek(0)
        err.seek(0)
        o, e = out.read(), err.read()
    assert rc == 0, "kafka.sh %s exited %d:\n%s\n%s" % (" ".join(args), rc, o[-2000:], e[-3000:])
    return o


@pytest.fixture
def own_broker(tmp_path):
    """A broker of this test only (it is stopped and restarted), on a kept
    directory: restarts keep its data and its ports."""
    import shutil
    import tempfile
    from helpers import Harness, Kafka
    d = tempfile.mkdtemp(prefix="faults-broker-")
    env = {"KAFKA_LAST_FILE": d + ".last"}
    out = _kafka_sh(["start", d], env, 600)
    brokers = [l.split("=", 1)[1] for l in out.splitlines()
               if l.startswith("KAFKA_BROKERS=")][0]
    k = Kafka(brokers)
    h = Harness(k, str(tmp_path), "broker-restart")
    try:
        yield k, h, d, env
    finally:
        problems = h.close()
        k.close()
        try:
            _kafka_sh(["stop", d], env, 120)
        finally:
            shutil.rmtree(d, ignore_errors=True)
            try:
                os.unlink(d + ".last")
            except OSError:
                pass
        assert not problems, problems


def test_broker_stop_and_restart_mid_run(own_broker, request):
    """The (single) broker stops for 10 s (long: 30 s, three times) under
    load and restarts on the same directory and ports. The bridge rides it
    out without a restart: nothing lost, order holds; duplicates are allowed
    (commits can fail while the broker is away) and counted."""
    kafka, harness, d, env = own_broker
    cycles, down_s = pick(1, 3), pick(10, 30)
    from confluent_kafka.admin import AdminClient
    sim, topics, group, b, sampler = start(
        harness, kafka, overrides={"kafka": {"properties": FAST_SESSION}},
        sim_faults={"latency_ms": 50, "latency_jitter_ms": 10})
    load = Load(kafka, topics.customer_update, rate=pick(300, 400), keys=50).start()
    port = kafka.brokers.rsplit(":", 1)[1]
    for _ in range(cycles):
        time.sleep(jitter(3.0, 6.0))
        # No client of the test may live through the stop: confluent_kafka's
        # librdkafka (2.16) aborts the process on an assertion
        # (rd_kafka_enq_once_del_source_return: eonce->refcnt > 0) when its
        # broker goes away. Only the bridge meets the outage; the load pauses
        # and the bridge still holds the events in flight (Moka at 50 ms).
        load.pause()
        sampler.pause()
        kafka.close()
        _kafka_sh(["stop", d], dict(env, KEEP_KAFKA_DIR="1"), 120)
        time.sleep(down_s)
        b.assert_running()
        out = _kafka_sh(["start", d], env, 300)
        assert "KAFKA_BROKERS=127.0.0.1:%s" % port in out, out  # same port
        kafka.admin = AdminClient({"bootstrap.servers": kafka.brokers})
        sampler.pause(False)
        load.pause(False)
    time.sleep(pick(3, 10))
    sent = load.stop()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    assert b.stop(60) == 0
    c = check_and_report(request, kafka, topics, group,
                         "broker stop %ds + restart x%d" % (down_s, cycles), sampler, sim,
                         extra={"broker_stops": cycles, "down_s": down_s, "sent": sent})
    assert c["events"] == sent and c["dlq_events"] == 0


# ---------------------------------------------------------------- unwritable topics

def set_topic_config(kafka, topic, name, value):
    """incremental_alter_configs on a topic; value None deletes the setting
    (back to the broker default)."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
    op = AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
    res = ConfigResource("TOPIC", topic, incremental_configs=[
        ConfigEntry(name, "" if value is None else str(value), incremental_operation=op)])
    for f in kafka.admin.incremental_alter_configs([res]).values():
        f.result(timeout=30)


def committed_now(kafka, group, topic):
    return kafka.committed(group, topic)


def test_reply_topic_unwritable_then_writable(harness, kafka, request):
    """The reply topic's max.message.bytes drops to 100 bytes, below even a
    small reply (~600 bytes), for 10 s (long: 30 s) under load: every reply
    is refused, so the bridge must make no progress (no reply written, no
    offset committed past an unanswered event; small replies never become
    Bridge.ReplyTooLarge) and recover once the limit is lifted."""
    stuck_s = pick(10, 30)
    port = free_port()
    sim, topics, group, b, sampler = start(harness, kafka, overrides={
        "admin": {"listen": "127.0.0.1:%d" % port}})
    load = Load(kafka, topics.customer_update, rate=pick(200, 300), keys=100).start()
    wait_until(lambda: kafka.count(topics.cu_reply) >= 500, 60, "500 replies")
    set_topic_config(kafka, topics.cu_reply, "max.message.bytes", 100)
    time.sleep(3.0)  # in-flight replies settle
    replies0 = kafka.count(topics.cu_reply)
    com0 = committed_now(kafka, group, topics.customer_update)
    time.sleep(stuck_s)
    b.assert_running()
    replies1 = kafka.count(topics.cu_reply)
    com1 = committed_now(kafka, group, topics.customer_update)
    set_topic_config(kafka, topics.cu_reply, "max.message.bytes", None)
    assert replies1 == replies0, "replies written to an unwritable topic?"
    assert com1 == com0, ("committed offsets moved while no reply could be "
                          "written: %s -> %s" % (com0, com1))
    time.sleep(2.0)
    sent = load.stop()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    fails = [l for l in b.logs() if l.get("msg") == "delivery failed, will retry"]
    assert b.stop(60) == 0
    assert fails, "no delivery failure logged: was the topic really unwritable?"
    c = check_and_report(request, kafka, topics, group,
                         "reply topic unwritable %ds" % stuck_s, sampler, sim,
                         max_duplicates=0,
                         extra={"stuck_s": stuck_s, "sent": sent,
                                "delivery_failures_logged": len(fails)})
    assert c["events"] == sent and c["dlq_events"] == 0 and c["failed_events"] == 0


def test_dlq_record_too_large_blocks_then_recovers(harness, kafka, request):
    """Invalid events of 4 KB (not JSON) are dead-lettered while the DLQ
    topic's max.message.bytes is 1500: their reply is written but their DLQ
    record is refused and retried every second. The partition must not be
    committed past them (later events of other keys are still answered),
    and once the limit is lifted the DLQ records go out and everything is
    committed."""
    import base64
    stuck_s = pick(10, 30)
    sim, topics, group, b, sampler = start(harness, kafka)
    set_topic_config(kafka, topics.cu_dlq, "max.message.bytes", 1500)
    big = {}

    def poison(i, key, seq, tag, cust):
        if key == "big" and seq < 3:
            return base64.b64encode(os.urandom(3000))  # 4000 bytes, lz4 cannot shrink it
        return None
    load = Load(kafka, topics.customer_update, rate=pick(200, 300), keys=50,
                key_of=lambda i: "big" if i in (500, 501, 502) else "k%03d" % (i % 50),
                poison=poison).start()
    wait_until(lambda: load.sent > 1500, 60, "1500 events sent")
    inputs = [checker.to_input(m) for m in checker.read_topic(kafka.brokers,
                                                              topics.customer_update)]
    big = [e for e in inputs if e.key == "big"]
    assert len(big) == 3, big
    part = big[0].partition
    first = min(e.offset for e in big)
    time.sleep(3.0)
    t_end = time.monotonic() + stuck_s
    replies0 = kafka.count(topics.cu_reply)
    while time.monotonic() < t_end:
        com = committed_now(kafka, group, topics.customer_update)
        assert com.get(part, -1) <= first, (
            "partition %d committed to %s past the event at %d whose DLQ record "
            "cannot be written" % (part, com.get(part), first))
        time.sleep(1.0)
    b.assert_running()
    answered_after = kafka.count(topics.cu_reply) - replies0
    assert kafka.count(topics.cu_dlq) == 0
    set_topic_config(kafka, topics.cu_dlq, "max.message.bytes", None)
    time.sleep(2.0)
    sent = load.stop()
    kafka.wait_committed_to_end(group, topics.customer_update, pick(240, 900), [b, sim])
    assert b.stop(60) == 0
    c = check_and_report(request, kafka, topics, group,
                         "DLQ record too large %ds" % stuck_s, sampler, sim,
                         max_duplicates=0,
                         extra={"stuck_s": stuck_s, "sent": sent,
                                "replies_while_stuck": answered_after})
    assert answered_after > 0, "later events were not answered meanwhile"
    assert c["dlq_by_reason"] == {"invalid-event": 3}, c
