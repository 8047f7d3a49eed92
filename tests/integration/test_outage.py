"""Outages (contract, "Outages"): when Moka fails for every key the bridge
pauses, probes and resumes; an outage of any length loses nothing and sends
nothing to the DLQ because of the outage.
"""

import time
import uuid

import pytest

from helpers import Running, wait_until

EVENTS = 40
OUTAGE_S = 3
KEYS = 10


def produce(r, run):
    events = [{"key": "o-%s-%d" % (run, i % KEYS),
               "value": {"CustomerCode": "auto-o-%s-%d" % (run, i % KEYS),
                         "LastName": "seq-%05d" % i},
               "headers": [("correlation-id", "o-%s-%05d" % (run, i))]}
              for i in range(EVENTS)]
    r.kafka.send_many(r.topics.customer_update, events)
    return {"o-%s-%05d" % (run, i) for i in range(EVENTS)}


def answered_after_outage(harness, kafka, start_outage):
    sim = harness.start_sim()
    b = harness.start_bridge(sim)
    r = Running(kafka, sim, b)
    start_outage(sim)
    run = uuid.uuid4().hex[:6]
    ids = produce(r, run)
    # The outage lasts until the bridge has met it, then OUTAGE_S more
    # seconds: longer than one event's whole retry budget (5 attempts,
    # backoff <= 200 ms). The duration is the scenario, not an assertion.
    wait_until(lambda: sim.stats()["requests_total"] >= 5, 30,
               lambda: "the bridge to call Moka during the outage: %s" % sim.stats())
    time.sleep(OUTAGE_S)
    sim.faults(outage=False, error_rate=0, rules=None)
    recs = kafka.collect(r.topics.cu_reply, EVENTS, 120, watch=r.watch,
                         until=lambda out: ids <= {x.header("correlation-id") for x in out})
    failures = [x for x in recs if x.header("moka-status") != "success"]
    assert not failures, ("%d events failed because of the outage, e.g. %r"
                          % (len(failures), failures[:2]))
    assert kafka.count(r.topics.cu_dlq) == 0, "the outage sent events to the DLQ"


def test_full_outage_503_loses_nothing_and_dead_letters_nothing(harness, kafka):
    answered_after_outage(harness, kafka, lambda sim: sim.faults(outage=True))


def test_auth_failures_for_every_key_dead_letter_nothing(harness, kafka):
    """401 for every call of every customer (an auth outage), then Moka
    recovers: every event is answered Success, nothing is dead-lettered."""
    answered_after_outage(harness, kafka,
                          lambda sim: sim.faults(error_rate=1.0, error_status=401))
