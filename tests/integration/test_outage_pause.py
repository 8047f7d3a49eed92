"""Operations: a Moka outage under load (contract "Outages").

moka-sim's outage switch is on for OUTAGE_S seconds (60 by default, the
operations issue's scenario; MOKA_TEST_OUTAGE_S shortens it for local runs)
while events keep arriving. Expected: /readyz false and the outage gauge 1
during it; nothing lost, no DLQ record, every event answered successfully;
processing resumes within 5 s of the end."""

import os
import socket
import threading
import time
import uuid

import requests

from helpers import Running, wait_until

OUTAGE_S = float(os.environ.get("MOKA_TEST_OUTAGE_S", "60"))
KEYS = 200
BEFORE = 2000   # events sent before the outage
DURING = 1000   # events sent while Moka is out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(port, path):
    try:
        return requests.get("http://127.0.0.1:%d%s" % (port, path), timeout=5).status_code
    except requests.RequestException:
        return None


def outage_gauge(port):
    t = requests.get("http://127.0.0.1:%d/metrics" % port, timeout=5).text
    for line in t.splitlines():
        if line.startswith("moka_bridge_outage "):
            return float(line.split()[1])
    raise AssertionError("no moka_bridge_outage in /metrics")


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
    wait_until(lambda: status(port, "/readyz") == 503, 15,
               "/readyz to turn 503 once Moka is out")
    assert outage_gauge(port) == 1
    # Load keeps arriving during the outage.
    sender = threading.Thread(
        target=kafka.send_many, args=(r.topics.customer_update, events(run, BEFORE, DURING)))
    sender.start()
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
    recs = kafka.collect(reply_topic, total, 180, watch=r.watch)
    ids = [x.header("correlation-id") for x in recs]
    assert set(ids) == {"%s-%06d" % (run, i) for i in range(total)}, "lost events"
    assert len(ids) == total, "%d duplicate replies" % (len(ids) - total)
    failed = [x for x in recs if x.header("moka-status") != "success"]
    assert not failed, "%d replies failed, e.g. %r" % (len(failed), failed[:2])
    assert kafka.count(r.topics.cu_dlq) == 0, "the outage produced DLQ records"
    wait_until(lambda: status(port, "/readyz") == 200, 10, "/readyz back to 200")
    assert outage_gauge(port) == 0
    print("outage %.0f s, %d readiness samples, %d Moka requests by its end, "
          "first reply %.2f s after it ended" % (OUTAGE_S, samples, probes, resumed_after))
