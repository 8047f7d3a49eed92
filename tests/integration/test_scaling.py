"""What Kubernetes scaling will do (the deployment issue, point 5): three
moka-bridge processes in one group on the real broker under load; one is
stopped with SIGTERM and one killed with SIGKILL, then both start again.

Expected: every event answered; no event answered twice except events the
killed process had answered but not yet committed (their first reply is
older than the kill); per-key order of first replies and of Moka calls."""

import collections
import signal
import threading
import time
import uuid

from helpers import Running, unique

KEYS = 120
EVENTS = 4800
PARTITIONS = 6


def test_three_instances_sigterm_and_kill9_then_restart(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=2, latency_jitter_ms=4)
    topics = harness.make_topics(partitions=PARTITIONS)
    group = unique("it-scale")
    # Short session timeout: the killed member's partitions move on within
    # seconds instead of librdkafka's default 45 s.
    overrides = {"kafka": {"properties": {"session.timeout.ms": "6000",
                                          "heartbeat.interval.ms": "1000"}}}
    bridges = [harness.start_bridge(sim, topics=topics, group_id=group,
                                    overrides=overrides, wait_assigned=(i == 0))
               for i in range(3)]
    r = Running(kafka, sim, bridges[0])
    run = uuid.uuid4().hex[:6]

    def event(i):
        k = i % KEYS
        return {"key": "k%03d" % k,
                "value": {"CustomerCode": "auto-%s-%03d" % (run, k),
                          "LastName": "seq-%06d" % i},
                "headers": [("correlation-id", "%s-%06d" % (run, i))]}

    def produce():
        for start in range(0, EVENTS, 200):
            kafka.send_many(topics.customer_update,
                            [event(i) for i in range(start, start + 200)])
            time.sleep(0.15)

    sender = threading.Thread(target=produce)
    sender.start()
    time.sleep(2.5)
    assert bridges[0].stop(timeout=60) == 0, "SIGTERM'd bridge exit status"
    time.sleep(1.5)
    bridges[1].signal(signal.SIGKILL)
    bridges[1].wait(10)
    kill_ms = time.time() * 1000
    time.sleep(2.0)
    restarted = [harness.restart_bridge(bridges[0], wait_assigned=False),
                 harness.restart_bridge(bridges[1], wait_assigned=False)]
    sender.join()

    want = {"%s-%06d" % (run, i) for i in range(EVENTS)}
    watch = [bridges[2]] + restarted + [sim]
    recs = kafka.collect(topics.cu_reply, EVENTS, 180, watch=watch,
                         until=lambda out: want <= {x.header("correlation-id") for x in out})
    by_id = collections.defaultdict(list)
    for x in recs:
        by_id[x.header("correlation-id")].append(x)
    assert set(by_id) == want, "lost: %s" % sorted(want - set(by_id))[:10]
    failed = [x for x in recs if x.header("moka-status") != "success"]
    assert not failed, "%d failures, e.g. %r" % (len(failed), failed[:2])
    dups = {cid: xs for cid, xs in by_id.items() if len(xs) > 1}
    late = [cid for cid, xs in dups.items()
            if min(x.timestamp for x in xs) > kill_ms + 1000]
    assert not late, ("%d events answered twice that were first answered after "
                      "the kill -9, e.g. %s" % (len(late), late[:5]))

    # Per-key order: replies of a key (one key -> one reply partition) in
    # offset order, counting each event's first reply only.
    per_key = collections.defaultdict(list)
    seen = set()
    for x in sorted(recs, key=lambda x: (x.partition, x.offset)):
        cid = x.header("correlation-id")
        if cid in seen:
            continue
        seen.add(cid)
        per_key[x.key].append(int(cid.rsplit("-", 1)[1]))
    for k, seqs in per_key.items():
        assert seqs == sorted(seqs), "key %r replies out of order: %s" % (k, seqs[:20])
    # Moka received each customer's updates in order (first calls only).
    for k in range(0, KEYS, 7):
        calls = sim.calls("auto-%s-%03d" % (run, k))
        firsts, got = [], set()
        for c in calls:
            seq = c.get("LastName")
            if seq not in got:
                got.add(seq)
                firsts.append(seq)
        assert firsts == sorted(firsts), "Moka calls of key %d out of order" % k
    print("events %d, answered twice %d (all first answered before the kill -9)"
          % (EVENTS, len(dups)))
