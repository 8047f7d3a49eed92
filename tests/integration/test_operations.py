"""Operations: reply-topic allow-list, the Moka rate limit, and sale lists
too large for the reply topic (the operations issue, points 3, 6 and 7)."""

import os
import time
import uuid

from confluent_kafka.admin import ConfigResource, NewTopic

from helpers import Running, wait_until

BIG_DEALER = ("1735", "TestMokaBig", "BIGLIST5000XY")  # 50,000 sales


def test_reply_topic_header_honoured_only_when_allowed(harness, kafka):
    sim = harness.start_sim()
    topics = harness.make_topics()
    base = topics.customer_update.rsplit(".customer.update", 1)[0]
    allowed = base + ".team-a.replies"
    kafka.create_topics([allowed])
    harness.topics.append(allowed)
    b = harness.start_bridge(sim, topics=topics, overrides={
        "topics": {"reply_topic_allow": "%s, %s.team-b.*" % (allowed, base)}})
    r = Running(kafka, sim, b)
    ok = r.update({"CustomerCode": "C1"}, key="C1",
                  headers=[("reply-topic", allowed), ("correlation-id", "rt-ok")])
    rec = kafka.collect(allowed, 1, 30, watch=r.watch)[0]
    v = rec.json()
    assert v["status"] == "success" and v["correlation_id"] == "rt-ok", v
    assert v["source"]["offset"] == ok.offset

    denied_topic = base + ".elsewhere"
    bad = r.update({"CustomerCode": "C2"}, key="C2",
                   headers=[("reply-topic", denied_topic), ("correlation-id", "rt-bad")])
    reply = r.reply_for(bad)   # on the configured reply topic
    v = reply.json()
    assert v["result_code"] == "Bridge.ReplyTopicNotAllowed", v
    assert v["status"] == "failure" and v["attempts"] == 0, v
    assert "reply-topic" in v["result_message"], v
    d = r.dlq_for(bad)
    assert d.header("dlq.reason") == "invalid-event"
    assert d.header("dlq.result-code") == "Bridge.ReplyTopicNotAllowed"
    assert d.header("reply-topic") == denied_topic  # original headers kept
    assert sim.calls("C2") == [], "a Moka call was made for a refused event"
    # Only the allowed event's reply went to the allowed topic.
    assert kafka.count(allowed) == 1


def test_rate_limit_holds_moka_request_rate(harness, kafka):
    rate = int(os.environ.get("MOKA_TEST_RATE", "50"))
    window = float(os.environ.get("MOKA_TEST_RATE_WINDOW_S", "30"))
    sim = harness.start_sim()
    b = harness.start_bridge(sim, overrides={"moka": {"rate_limit": rate,
                                                      "rate_burst": 5}})
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:6]
    n = int(rate * (window + 10))
    kafka.send_many(r.topics.customer_update, [
        {"key": "k%d" % (i % 500),
         "value": {"CustomerCode": "auto-%s-%d" % (run, i % 500)}}
        for i in range(n)])
    wait_until(lambda: sim.stats()["requests_total"] > rate * 2, 60,
               "the bridge to start calling Moka")
    t0, c0 = time.monotonic(), sim.stats()["requests_total"]
    time.sleep(window)
    t1, c1 = time.monotonic(), sim.stats()["requests_total"]
    measured = (c1 - c0) / (t1 - t0)
    print("rate limit %d/s: measured %.2f/s over %.1f s" % (rate, measured, t1 - t0))
    assert abs(measured - rate) <= 0.05 * rate, (
        "measured %.2f requests/s, limit %d/s" % (measured, rate))
    b.assert_running()


def _sale_list_topics(harness, kafka, reply_max_bytes):
    topics = harness.make_topics(sale_list_reply="sl.reply")
    kafka.admin.delete_topics([topics.sl_reply], operation_timeout=30)
    wait_until(lambda: topics.sl_reply not in kafka.admin.list_topics(timeout=10).topics,
               30, "reply topic deleted")
    fs = kafka.admin.create_topics([NewTopic(
        topics.sl_reply, num_partitions=4, replication_factor=1,
        config={"max.message.bytes": str(reply_max_bytes)})], operation_timeout=30)
    for f in fs.values():
        f.result(timeout=60)
    return topics


def test_sale_list_too_large_for_reply_topic_is_answered_and_dead_lettered(harness, kafka):
    sim = harness.start_sim()
    topics = _sale_list_topics(harness, kafka, 1048588)  # Kafka's default limit
    b = harness.start_bridge(sim, topics=topics, dealer=BIG_DEALER)
    r = Running(kafka, sim, b)
    first = r.sale_list({}, key="big-1")
    second = r.sale_list({}, key="big-1")   # same key: must not be stuck
    recs = kafka.collect(topics.sl_reply, 2, 90, watch=r.watch)
    for rec, sent in zip(sorted(recs, key=lambda x: x.json()["source"]["offset"]),
                         (first, second)):
        v = rec.json()
        assert v["result_code"] == "Bridge.ReplyTooLarge", v
        assert v["status"] == "failure" and v["data"] is None, v
        assert "50000 sales" in v["result_message"], v
        assert v["source"]["offset"] == sent.offset
    d = kafka.collect(topics.sl_dlq, 2, 30, watch=r.watch)
    assert {x.header("dlq.result-code") for x in d} == {"Bridge.ReplyTooLarge"}
    b.assert_running()


def test_large_sale_list_fits_a_topic_that_allows_it(harness, kafka):
    sim = harness.start_sim()
    topics = _sale_list_topics(harness, kafka, 64 * 1024 * 1024)
    b = harness.start_bridge(sim, topics=topics, dealer=BIG_DEALER)
    r = Running(kafka, sim, b)
    sent = r.sale_list({}, key="big")
    rec = kafka.collect(topics.sl_reply, 1, 90, watch=r.watch)[0]
    v = rec.json()
    assert v["status"] == "success", v["result_code"]
    assert len(v["data"]["DealerSaleList"]) == 50000
    assert v["source"]["offset"] == sent.offset
    assert kafka.count(topics.sl_dlq) == 0
