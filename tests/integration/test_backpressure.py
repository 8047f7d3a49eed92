"""Backpressure at limits.max_pending_events (docs/architecture.md,
"Backpressure"): at the limit the bridge holds (takes no more records,
librdkafka's prefetched queue waits); a hold that lasts 500 ms becomes a
pause of the partitions, so that the consumer is polled again and the
group keeps the member however long Moka takes.

- the number of pending events never exceeds the limit, and every event is
  answered once;
- Moka slower than the consumer's max.poll.interval.ms: the bridge pauses
  (logged), stays in the group, and answers every event once. Without the
  pause, a bridge holding at the limit would not poll for as long as Moka
  takes, librdkafka would leave the group ("maximum poll interval
  exceeded") and the events would be answered again after the rebalance."""

import uuid

from helpers import Running, admin_sample, exact_answers, free_port, wait_until


def events(n, keys, run, invalid=()):
    """n customer updates over `keys` keys; the events numbered in
    `invalid` are not JSON, each on a key of its own: answered within
    milliseconds, without Moka, they are the short-lived pending events a
    fleeting overshoot is made of."""
    return [{"key": "inv-%d" % i, "value": b"not json",
             "headers": [("correlation-id", "%s-%05d" % (run, i))]}
            if i in invalid else
            {"key": "k%03d" % (i % keys),
             "value": {"CustomerCode": "auto-%s-%03d" % (run, i % keys),
                       "LastName": "seq-%05d" % i},
             "headers": [("correlation-id", "%s-%05d" % (run, i))]}
            for i in range(n)]


def one_reply_each(kafka, r, sent, timeout):
    """Every sent event has exactly one reply, late duplicates counted."""
    exact_answers(kafka, r.group_id, r.topics.customer_update, r.topics.cu_reply,
                  [dict(s.headers)["correlation-id"] for s in sent], timeout,
                  watch=r.watch)


def test_pending_events_never_exceed_the_limit(harness, kafka):
    limit = 40
    port = free_port()
    sim = harness.start_sim()
    sim.faults(latency_ms=150)
    b = harness.start_bridge(sim, overrides={
        "limits": {"max_pending_events": limit},
        "admin": {"listen": "127.0.0.1:%d" % port}})
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:6]
    sent = kafka.send_many(r.topics.customer_update,
                           events(600, 300, run, invalid=(150, 300, 450)))
    one_reply_each(kafka, r, sent, timeout=120)
    # The bridge's own high-water mark, taken each time an event is added:
    # an overshoot shorter than any sampling interval (an invalid event is
    # answered within milliseconds) still shows. 600 events at 150 ms a
    # call fill the window.
    high = admin_sample(port, "moka_bridge_pending_events_max")
    assert high == limit, (
        "pending events peaked at %d with limits.max_pending_events = %d"
        % (high, limit))


def test_slow_moka_pauses_and_keeps_the_group(harness, kafka):
    # librdkafka leaves the group when poll is not called for
    # max.poll.interval.ms; 6 s is the broker's smallest session timeout,
    # which librdkafka requires max.poll.interval.ms to be at least.
    port = free_port()
    overrides = {
        "limits": {"max_pending_events": 20},
        "admin": {"listen": "127.0.0.1:%d" % port},
        "moka": {"request_timeout_ms": 30000},
        "log": {"level": "debug"},
        "kafka": {"properties": {"max.poll.interval.ms": "6000",
                                 "session.timeout.ms": "6000",
                                 "heartbeat.interval.ms": "1000"}}}
    sim = harness.start_sim()
    sim.faults(latency_ms=9000)  # every call takes longer than 6 s
    b = harness.start_bridge(sim, overrides=overrides)
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:6]
    sent = kafka.send_many(r.topics.customer_update, events(60, 60, run))

    def paused():
        return any(o.get("msg") == "fetching paused" for o in b.logs())

    wait_until(paused, 10, "the bridge to pause its partitions at the limit",
               interval=0.2)
    one_reply_each(kafka, r, sent, timeout=120)
    b.assert_running()
    # librdkafka: "Application maximum poll interval (6000ms) exceeded by
    # ...ms (adjust max.poll.interval.ms ...): leaving group" (MAXPOLL)
    left = [o for o in b.logs() if o.get("facility") == "MAXPOLL" or
            "poll interval" in o.get("detail", "") and
            "exceeded" in o.get("detail", "")]
    assert not left, "the bridge left the group: %s" % left[:3]
    # Holding, then pausing, never took an event past the limit.
    high = admin_sample(port, "moka_bridge_pending_events_max")
    assert high == 20, "pending events peaked at %d, the limit is 20" % high


def test_inflight_cap_holds_across_http_shards(harness, kafka):
    # 100 requests run in two libcurl multi handles of 50 (http.c shards
    # at most 64 transfers a multi): together they must fill the cap
    # exactly, never pass it.
    cap = 100
    port = free_port()
    sim = harness.start_sim()
    sim.faults(latency_ms=800)
    b = harness.start_bridge(sim, overrides={
        "moka": {"max_inflight_requests": cap},
        "admin": {"listen": "127.0.0.1:%d" % port}})
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:6]
    sent = kafka.send_many(r.topics.customer_update, events(400, 400, run))
    one_reply_each(kafka, r, sent, timeout=120)
    # High-water marks on both sides, kept where the count grows: the
    # bridge's is exact; the sim counts a request until its completion
    # callback, which can run on one of its 2 worker threads after the
    # bridge, answered, has sent the next request to the other: up to 2
    # over the cap is that race.
    mine = admin_sample(port, "moka_bridge_inflight_requests_max")
    assert mine == cap, ("the bridge had at most %d requests in flight, "
                         "moka.max_inflight_requests is %d" % (mine, cap))
    seen = sim.stats()["in_flight_max"]
    assert cap <= seen <= cap + 2, (
        "Moka saw at most %d requests at once, moka.max_inflight_requests "
        "is %d" % (seen, cap))
