"""Operations: a Moka outage under load (contract "Outages").

moka-sim's outage switch is on for OUTAGE_S seconds (60 by default, the
operations issue's scenario; MOKA_TEST_OUTAGE_S shortens it for local runs)
while events keep arriving. Expected: /readyz false and the outage gauge 1
during it; nothing lost, no DLQ record, every event answered successfully;
processing resumes within 5 s of the end."""

import os
import threading
import time
import uuid

import requests

from helpers import Running, admin_sample, exact_answers, free_port, wait_until

OUTAGE_S = float(os.environ.get("MOKA_TEST_OUTAGE_S", "60"))
KEYS = 200
BEFORE = 2000   # events sent before the outage
DURING = 1000   # events sent while Moka is out


def status(port, path):
    try:
        return requests.get("http://127.0.0.1:%d%s" % (port, path), timeout=5).status_code
    except requests.RequestException:
        return None


def outage_gauge(port):
    """moka_bridge_outage, or None while the admin port does not answer."""
    try:
        return admin_sample(port, "moka_bridge_outage")
    except requests.RequestException:
        return None


def events(run, first, n):
    return [{"key": "k%03d" % (i % KEYS),
             "value": {"CustomerCode": "auto-%s-%03d" % (run, i % KEYS),
                       "LastName": "seq-%06d" % i},
             "headers": [("correlation-id", "%s-%06d" % (run, i))]}
            for i in range(first, first + n)]


def test_outage_pauses_probes_resumes_and_dead_letters_nothing(harness, kafka):
    port = free_port()
    sim = harness.start_sim()
    sim.faults(latency_ms=2)
    b = harness.start_bridge(sim, overrides={"admin": {"listen": "127.0.0.1:%d" % port},
                                             "outage": {"probe_interval_ms": 500}})
    r = Running(kafka, sim, b)
    reply_topic = r.topics.cu_reply
    run = uuid.uuid4().hex[:6]
    wait_until(lambda: status(port, "/readyz") == 200, 30, "/readyz 200 before the outage")

    kafka.send_many(r.topics.customer_update, events(run, 0, BEFORE))
    wait_until(lambda: kafka.count(reply_topic) >= BEFORE // 4, 60,
               lambda: "replies before the outage (%d)" % kafka.count(reply_topic))

    sim.faults(outage=True)
    t_on = time.monotonic()
    # Load keeps arriving during the outage (and the bridge meets the outage
    # through it even if the first events were all answered already).
    sender = threading.Thread(
        target=kafka.send_many, args=(r.topics.customer_update, events(run, BEFORE, DURING)))
    sender.start()
    wait_until(lambda: status(port, "/readyz") == 503, 15,
               "/readyz to turn 503 once Moka is out")
    assert outage_gauge(port) == 1
    samples = 0
    while time.monotonic() - t_on < OUTAGE_S:
        assert status(port, "/readyz") == 503, "ready during the outage"
        assert status(port, "/healthz") == 200, "loop not alive during the outage"
        samples += 1
        time.sleep(min(2.0, max(0.1, OUTAGE_S / 10)))
    sender.join()
    during = kafka.count(reply_topic)
    probes = sim.stats()["requests_total"]

    sim.faults(outage=False)
    t_off = time.monotonic()
    wait_until(lambda: kafka.count(reply_topic) > during, 5,
               lambda: "a reply within 5 s of the outage's end (replies: %d)"
               % kafka.count(reply_topic))
    resumed_after = time.monotonic() - t_off
    total = BEFORE + DURING
    # Exactly one reply each, duplicates counted however late they come.
    recs = exact_answers(kafka, r.group_id, r.topics.customer_update, reply_topic,
                         {"%s-%06d" % (run, i) for i in range(total)}, 180,
                         watch=r.watch).values()
    failed = [x for x in recs if x.header("moka-status") != "success"]
    assert not failed, "%d replies failed, e.g. %r" % (len(failed), failed[:2])
    assert kafka.read_all(r.topics.cu_dlq) == [], "the outage produced DLQ records"
    wait_until(lambda: status(port, "/readyz") == 200, 10, "/readyz back to 200")
    assert outage_gauge(port) == 0
    print("outage %.0f s, %d readiness samples, %d Moka requests by its end, "
          "first reply %.2f s after it ended" % (OUTAGE_S, samples, probes, resumed_after))


def consumed(port):
    t = requests.get("http://127.0.0.1:%d/metrics" % port, timeout=5).text
    return sum(float(l.split()[1]) for l in t.splitlines()
               if l.startswith("moka_bridge_events_consumed_total{"))


def test_outage_pause_is_reapplied_after_a_rebalance(harness, kafka):
    """Pause state is per partition and librdkafka resets it on assignment:
    a rebalance during an outage must not let the bridge fetch again."""
    ports = [free_port(), free_port()]
    sim = harness.start_sim()
    topics = harness.make_topics()
    b1 = harness.start_bridge(sim, topics=topics, overrides={
        "admin": {"listen": "127.0.0.1:%d" % ports[0]},
        "outage": {"probe_interval_ms": 300}})
    r = Running(kafka, sim, b1)
    run = uuid.uuid4().hex[:6]
    sim.faults(outage=True)
    kafka.send_many(topics.customer_update, events(run, 0, 200))
    wait_until(lambda: outage_gauge(ports[0]) == 1, 20, "bridge 1 to see the outage")

    b2 = harness.start_bridge(sim, topics=topics, group_id=b1.group_id,
                              wait_assigned=False, overrides={
                                  "admin": {"listen": "127.0.0.1:%d" % ports[1]},
                                  "outage": {"probe_interval_ms": 300}})
    def both_own_partitions():
        state, members = kafka.group_members(b1.group_id)
        return (state == "STABLE" and len(members) == 2
                and all(members.values()))
    wait_until(both_own_partitions, 60, "both bridges to own partitions")
    # Both members own partitions now; bridge 2 meets the outage through
    # the unanswered events it took over.
    wait_until(lambda: outage_gauge(ports[1]) == 1, 30, "bridge 2 to see the outage")
    time.sleep(2.0)  # past the re-pause delay after assignment
    before = [consumed(p) for p in ports]
    kafka.send_many(topics.customer_update, events(run, 200, 300))
    time.sleep(4.0)
    after = [consumed(p) for p in ports]
    assert after == before, ("a bridge fetched during the outage after the "
                             "rebalance: consumed %s -> %s" % (before, after))
    sim.faults(outage=False)
    exact_answers(kafka, b1.group_id, topics.customer_update, topics.cu_reply,
                  {"%s-%06d" % (run, i) for i in range(500)}, 120,
                  watch=[b1, b2, sim])
    assert kafka.read_all(topics.cu_dlq) == []
