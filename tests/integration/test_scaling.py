"""What Kubernetes scaling will do (the deployment issue, point 5): three
moka-bridge processes in one group on the real broker under load; one is
stopped with SIGTERM and one killed with SIGKILL, then both start again.

Checked over every event and every key with checker.py: nothing lost, no
failure, per-key order of replies and of Moka calls, every success backed
by a Moka call, no commit before its answer (committed offsets sampled
throughout). Duplicates: only events the killed process answered and had
not committed (checker.unexplained_duplicates: on a partition it owned when
killed, at or past the offset committed at the kill, first answered before
it, twice at most). The SIGTERM'd process drained and committed, so nothing
it answered may be answered again."""

import collections
import signal
import time

import checker
from faults_common import FAST_SESSION, Load
from helpers import unique

KEYS = 120
EVENTS = 4800
PARTITIONS = 6


def owned_at_exit(bridge, topic):
    """The partitions of `topic` a bridge owned when it died, from its
    "partitions assigned" / "partitions revoked" log lines (one a topic;
    eager rebalancing revokes everything before each assignment)."""
    owned = set()
    for line in bridge.logs():
        msg = line.get("msg")
        if line.get("topic") != topic:
            continue
        if msg == "partitions assigned":
            owned |= set(line["partitions"])
        elif msg == "partitions revoked":
            owned -= set(line["partitions"])
    return owned


def test_three_instances_sigterm_and_kill9_then_restart(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=2, latency_jitter_ms=4)
    topics = harness.make_topics(partitions=PARTITIONS)
    topic = topics.customer_update
    group = unique("it-scale")
    # Short session timeout: the killed member's partitions move on within
    # seconds instead of librdkafka's default 45 s.
    overrides = {"kafka": {"properties": FAST_SESSION}}
    bridges = [harness.start_bridge(sim, topics=topics, group_id=group,
                                    overrides=overrides, wait_assigned=(i == 0))
               for i in range(3)]
    sampler = checker.CommitSampler(kafka.brokers, group, topic).start()
    load = Load(kafka, topic, rate=1200, total=EVENTS, keys=KEYS).start()

    time.sleep(2.5)
    assert bridges[0].stop(timeout=60) == 0, "SIGTERM'd bridge exit status"
    time.sleep(1.5)
    killed = bridges[1]
    killed.signal(signal.SIGKILL)
    killed.wait(10)
    kill_ms = time.time() * 1000
    committed_at_kill = kafka.committed(group, topic)
    owned = owned_at_exit(killed, topic)
    time.sleep(2.0)
    restarted = [harness.restart_bridge(bridges[0], wait_assigned=False),
                 harness.restart_bridge(bridges[1], wait_assigned=False)]
    assert load.join() == EVENTS

    watch = [bridges[2]] + restarted + [sim]
    kafka.wait_committed_to_end(group, topic, 180, watch=watch)
    res = checker.check(kafka.brokers, topic, topics.cu_reply, topics.cu_dlq,
                        sim.base_url, group, sampler.stop())
    checker.record(res, "scaling")
    res.assert_ok()
    assert not sampler.problems(), sampler.problems()
    c = res.counts
    assert c["events"] == EVENTS and c["untagged_events"] == 0, c
    assert c["failed_events"] == 0 and c["dlq_records"] == 0, c
    assert c["keys"] == KEYS, c

    times = collections.defaultdict(list)
    for m in checker.read_topic(kafka.brokers, topics.cu_reply):
        rep = checker.to_reply(m)
        times[(rep.source[1], rep.source[2])].append(rep.ts)
    bad = checker.unexplained_duplicates(times, owned, committed_at_kill, kill_ms)
    assert not bad, ("%d events answered again that the kill -9 does not explain "
                     "(killed bridge owned %s, committed at the kill %s), e.g. %s"
                     % (len(bad), sorted(owned), committed_at_kill, bad[:5]))
    print("events %d, answered twice %d (all the killed bridge's, uncommitted); "
          "it owned partitions %s" % (EVENTS, c["duplicated_events"], sorted(owned)))
