"""Per-key ordering under concurrency: 50 keys x 20 events, a sequence
number in LastName ("seq-00017"), the simulator answering with random
latency. For every key the simulator's call log and the replies must follow
the produce order; with injected transient errors a retried event must still
be called before the next event of its key."""

import collections
import uuid

import pytest

from helpers import Running

KEYS = 50
PER_KEY = 20


def seq(i):
    return "seq-%05d" % i


def produce_interleaved(r, run):
    """Round-robin over the keys, so that a key's events are spread over
    the input and different keys are in flight together."""
    events, names = [], []
    for i in range(PER_KEY):
        for k in range(KEYS):
            key = "ord-%s-%02d" % (run, k)
            code = "auto-%s-%02d" % (run, k)
            events.append({"key": key, "value": {"CustomerCode": code, "LastName": seq(i)},
                           "headers": [("correlation-id", "%s/%d" % (key, i))]})
            names.append((key, code, i))
    sent = r.kafka.send_many(r.topics.customer_update, events)
    return sent, names


def collect_all(r, total, timeout=90):
    def corr(rec):
        return rec.header("correlation-id")
    recs = r.kafka.collect(r.topics.cu_reply, total, timeout, watch=r.watch,
                           until=lambda out: len({corr(x) for x in out}) >= total)
    return recs


def check_order(r, run, recs, collapse_retries):
    problems = []
    # 1. What Moka saw, per customer.
    for k in range(KEYS):
        code = "auto-%s-%02d" % (run, k)
        names = [c.get("LastName") for c in r.sim.calls(code)]
        if collapse_retries:
            collapsed = []
            for n in names:
                if not collapsed or collapsed[-1] != n:
                    collapsed.append(n)
            names = collapsed
        want = [seq(i) for i in range(PER_KEY)]
        if names != want:
            problems.append("calls of %s out of order: %s" % (code, names))
    # 2. The replies, per key, in reply-topic order (one key -> one partition).
    by_key = collections.defaultdict(list)
    for rec in sorted(recs, key=lambda x: (x.partition, x.offset)):
        by_key[rec.key.decode()].append(rec)
    assert len(by_key) == KEYS, "replies for %d keys, expected %d" % (len(by_key), KEYS)
    for key, lst in by_key.items():
        parts = {x.partition for x in lst}
        if len(parts) != 1:
            problems.append("replies of %s spread over partitions %s" % (key, parts))
        corrs = [x.header("correlation-id") for x in lst]
        want = ["%s/%d" % (key, i) for i in range(PER_KEY)]
        if corrs != want:
            problems.append("replies of %s out of order: %s" % (key, corrs))
        offsets = [x.json()["source"]["offset"] for x in lst]
        if offsets != sorted(offsets):
            problems.append("reply source offsets of %s not increasing: %s" % (key, offsets))
        last_names = [(x.json().get("data") or {}).get("DealerCustomer", {}).get("LastName")
                      for x in lst if x.json()["status"] == "success"]
        if last_names != sorted(last_names):
            problems.append("data.LastName of %s out of order: %s" % (key, last_names))
    assert not problems, "%d ordering problems:\n%s" % (len(problems), "\n".join(problems[:20]))


def test_per_key_order_with_latency_jitter(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=1, latency_jitter_ms=20)
    b = harness.start_bridge(sim)
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:6]
    sent, names = produce_interleaved(r, run)
    recs = collect_all(r, len(sent))
    assert all(x.json()["status"] == "success" for x in recs), (
        [x for x in recs if x.json()["status"] != "success"][:3])
    check_order(r, run, recs, collapse_retries=False)
    # No duplicates: every call answered once (nothing failed, nothing replayed).
    total_calls = sum(len(sim.calls("auto-%s-%02d" % (run, k))) for k in range(KEYS))
    assert total_calls == KEYS * PER_KEY, "expected %d calls, got %d" % (KEYS * PER_KEY, total_calls)


def test_per_key_order_with_retries(harness, kafka):
    """10% of calls answer 503, 5% EX: retried events keep their place."""
    sim = harness.start_sim()
    sim.faults(latency_ms=1, latency_jitter_ms=10, error_rate=0.10, ex_rate=0.05)
    b = harness.start_bridge(sim, overrides={"retry": {"max_attempts": 20,
                                                       "base_ms": 5, "cap_ms": 50}})
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:6]
    sent, names = produce_interleaved(r, run)
    recs = collect_all(r, len(sent))
    check_order(r, run, recs, collapse_retries=True)
    retried = sum(1 for x in recs if x.json()["attempts"] > 1)
    assert retried > 0, "no event was retried: the fault injection did not work"


def test_keyless_events_are_ordered_by_customer_code(harness, kafka):
    """Without a record key the ordering key is CustomerCode (or
    DealerCustomerId): 10 customers x 20 key-less events in one partition."""
    sim = harness.start_sim()
    sim.faults(latency_ms=1, latency_jitter_ms=20)
    b = harness.start_bridge(sim)
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:6]
    n_cust, per = 10, 20
    events = []
    for i in range(per):
        for c in range(n_cust):
            if c % 2:
                value = {"CustomerCode": "auto-kl-%s-%d" % (run, c), "LastName": seq(i)}
            else:
                # Customers known by id only: fixture ids 1101..1105.
                value = {"DealerCustomerId": 1101 + c // 2, "LastName": seq(i)}
            events.append({"key": None, "partition": 0, "value": value,
                           "headers": [("correlation-id", "kl-%d-%d" % (c, i))]})
    kafka.send_many(r.topics.customer_update, events)
    total = n_cust * per
    kafka.collect(r.topics.cu_reply, total, 60, watch=r.watch,
                  until=lambda out: len({x.header("correlation-id") for x in out}) >= total)
    problems = []
    for c in range(n_cust):
        who = ("auto-kl-%s-%d" % (run, c)) if c % 2 else str(1101 + c // 2)
        names = [x.get("LastName") for x in sim.calls(who)]
        if names != [seq(i) for i in range(per)]:
            problems.append("calls of %s out of order: %s" % (who, names))
    assert not problems, "\n".join(problems)
