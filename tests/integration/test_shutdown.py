"""Stopping and restarting under load, and the delivery guarantee:
- SIGTERM drains (exit 0); a restart in the same group answers the rest;
  every event is answered exactly once overall.
- A second SIGTERM exits at once; nothing is lost after a restart.
- In-flight work past limits.shutdown_timeout_ms is left to the next owner.
- kill -9 under load, then a restart: every event answered at least once."""

import collections
import signal
import time
import uuid

import pytest

from helpers import Running, wait_until

EVENTS = 5000
# 20 keys at 5 ms per call: at most ~4000 events/s, so the load lasts long
# enough to stop the bridge in the middle of it.
KEYS = 20


def produce_load(r, n=EVENTS, keys=KEYS):
    run = uuid.uuid4().hex[:6]
    events = [{"key": "sd-%s-%03d" % (run, i % keys),
               "value": {"CustomerCode": "auto-sd-%s-%03d" % (run, i % keys),
                         "LastName": "seq-%05d" % i},
               "headers": [("correlation-id", "sd-%s-%05d" % (run, i))]}
              for i in range(n)]
    r.kafka.send_many(r.topics.customer_update, events)
    return ["sd-%s-%05d" % (run, i) for i in range(n)]


def wait_replies_at_least(r, n, timeout=60):
    wait_until(lambda: (r.bridge.assert_running() or
                        r.kafka.count(r.topics.cu_reply) >= n),
               timeout, lambda: "%d replies on %s (have %d); %s"
               % (n, r.topics.cu_reply, r.kafka.count(r.topics.cu_reply),
                  r.bridge.describe()), 0.02)


def collect_ids(r, ids, timeout=120):
    want = set(ids)
    recs = r.kafka.collect(
        r.topics.cu_reply, len(want), timeout, watch=r.watch,
        until=lambda out: want <= {x.header("correlation-id") for x in out})
    return recs


def assert_committed_to_end(r):
    from confluent_kafka import TopicPartition
    committed = r.kafka.committed(r.group_id, r.topics.customer_update)
    c = r.kafka._consumer()
    try:
        for p in r.kafka.partitions(r.topics.customer_update):
            lo, hi = c.get_watermark_offsets(TopicPartition(r.topics.customer_update, p),
                                             timeout=10)
            if hi > 0:
                assert committed.get(p) == hi, (
                    "partition %d: committed %s, end %d" % (p, committed.get(p), hi))
    finally:
        c.close()


def test_sigterm_under_load_drains_then_restart_answers_each_event_exactly_once(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=5)
    b = harness.start_bridge(sim, overrides={"limits": {"shutdown_timeout_ms": 30000}})
    r = Running(kafka, sim, b)
    ids = produce_load(r)
    wait_replies_at_least(r, 500)
    b.signal(signal.SIGTERM)
    rc = b.wait(60)
    assert rc == 0, "exit code after SIGTERM: %d\n%s" % (rc, b.describe())
    first = kafka.count(r.topics.cu_reply)
    b2 = harness.restart_bridge(b)
    r2 = Running(kafka, sim, b2)
    collect_ids(r2, ids)
    rc = b2.stop(60)
    assert rc == 0, "exit code after SIGTERM: %d\n%s" % (rc, b2.describe())
    recs = kafka.read_all(r.topics.cu_reply)
    counts = collections.Counter(x.header("correlation-id") for x in recs)
    dups = {k: v for k, v in counts.items() if v > 1}
    missing = set(ids) - set(counts)
    assert not missing, "%d events never answered, e.g. %s" % (len(missing), sorted(missing)[:5])
    assert not dups, ("after a graceful stop every event must be answered exactly once; "
                      "%d answered more than once (first bridge answered %d before "
                      "stopping), e.g. %s" % (len(dups), first, sorted(dups.items())[:5]))
    assert len(recs) == len(ids)
    assert all(x.header("moka-status") == "success" for x in recs)
    assert kafka.count(r.topics.cu_dlq) == 0
    assert_committed_to_end(r2)


# A bridge that exits without leaving the group (second SIGTERM, kill -9)
# holds its partitions until its session times out: keep that short.
FAST_SESSION = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}


def _hung_sim_and_bridge(harness, kafka, shutdown_timeout_ms):
    """20 events of 20 keys, all in flight at a simulator that answers
    after 20 s."""
    sim = harness.start_sim()
    sim.faults(latency_ms=20000)
    b = harness.start_bridge(sim, overrides={
        "kafka": {"properties": FAST_SESSION},
        "moka": {"request_timeout_ms": 60000},
        "limits": {"shutdown_timeout_ms": shutdown_timeout_ms}})
    r = Running(kafka, sim, b)
    ids = produce_load(r, n=20, keys=20)
    wait_until(lambda: sim.stats()["by_endpoint"]["/DealerCustomer/UpdateCustomer"] >= 20,
               30, lambda: "20 calls in flight at the simulator: %s" % sim.stats())
    return sim, b, r, ids


def test_second_sigterm_exits_at_once(harness, kafka):
    sim, b, r, ids = _hung_sim_and_bridge(harness, kafka, shutdown_timeout_ms=60000)
    b.signal(signal.SIGTERM)
    # The first SIGTERM waits for in-flight calls (20 s at the simulator).
    with pytest.raises(AssertionError):
        b.wait(0.5)
    t0 = time.monotonic()
    b.expect_exit(2)
    b.signal(signal.SIGTERM)
    rc = b.wait(5)
    assert time.monotonic() - t0 < 5
    # docs/decisions.md: a second signal exits immediately with status 2.
    assert rc == 2, "exit code after a second SIGTERM: %d" % rc
    # Nothing was answered, so nothing is lost: a restart answers every event.
    sim.reset()
    b2 = harness.restart_bridge(b)
    r2 = Running(kafka, sim, b2)
    collect_ids(r2, ids, timeout=60)
    assert b2.stop(60) == 0


def test_shutdown_deadline_leaves_in_flight_work_to_the_next_owner(harness, kafka):
    sim, b, r, ids = _hung_sim_and_bridge(harness, kafka, shutdown_timeout_ms=2000)
    t0 = time.monotonic()
    b.signal(signal.SIGTERM)
    rc = b.wait(15)
    took = time.monotonic() - t0
    assert took < 12, "stopped %.1fs after SIGTERM with shutdown_timeout_ms 2000" % took
    sim.reset()
    b2 = harness.restart_bridge(b)
    r2 = Running(kafka, sim, b2)
    collect_ids(r2, ids, timeout=60)
    assert b2.stop(60) == 0
    counts = collections.Counter(x.header("correlation-id")
                                 for x in kafka.read_all(r.topics.cu_reply))
    assert set(counts) == set(ids)
    dups = {k: v for k, v in counts.items() if v > 1}
    assert not dups, "answered twice: %s" % sorted(dups.items())[:5]
    assert rc == 0, "exit code after the shutdown deadline: %d" % rc


def test_kill9_under_load_then_restart_answers_every_event_at_least_once(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=5)
    # A short session timeout lets the restarted bridge take the partitions
    # of the killed one quickly.
    b = harness.start_bridge(sim, overrides={"kafka": {"properties": FAST_SESSION}})
    r = Running(kafka, sim, b)
    ids = produce_load(r)
    wait_replies_at_least(r, 500)
    b.signal(signal.SIGKILL)
    b.wait(10)
    first = kafka.count(r.topics.cu_reply)
    b2 = harness.restart_bridge(b)
    r2 = Running(kafka, sim, b2)
    collect_ids(r2, ids, timeout=120)
    assert b2.stop(60) == 0
    recs = kafka.read_all(r.topics.cu_reply)
    counts = collections.Counter(x.header("correlation-id") for x in recs)
    missing = set(ids) - set(counts)
    assert not missing, "%d events never answered after kill -9 and restart, e.g. %s" % (
        len(missing), sorted(missing)[:5])
    assert all(x.header("moka-status") == "success" for x in recs)
    assert kafka.count(r.topics.cu_dlq) == 0
    assert_committed_to_end(r2)
    dups = sum(v - 1 for v in counts.values())
    print("kill -9: %d replies before the kill, %d duplicates after the restart"
          % (first, dups))
