"""Exactly-once mode (kafka.delivery = "exactly-once") on the real broker:
librdkafka's mock cluster writes no transaction markers, so only a real
broker shows what a read_committed reader sees.

- both kinds of events, a business failure and an invalid event: replies
  and DLQ records visible to a read_committed reader, offsets committed by
  the transactions, each record exactly once;
- kill -9 under load, several times, each time restarted: a read_committed
  reader of the reply topic sees every event answered exactly once;
- SIGTERM under load: the last transaction is committed, exit 0;
- a second instance with the same transactional id fences the first, which
  exits 1 with a clear log line; the second answers the rest, exactly once;
- a second instance joining the group under load (a rebalance): exactly
  once across both;
- a read_uncommitted reader may see the records of aborted transactions;
- a record the broker refuses (a reply too large) aborts the transaction and
  rewinds: every event is still answered once;
- a bad kafka.delivery stops start-up with file:line: message.

Every reader of helpers.Kafka uses isolation.level=read_committed."""

import collections
import os
import signal
import subprocess
import time
import uuid

import pytest

import checker
import helpers
from helpers import Running, expect_dlq, expect_reply, wait_until

UC = "DealerCustomer.UpdateCustomer."
EOS = {"delivery": "exactly-once", "transaction_interval_ms": 100}
# A bridge that exits without leaving the group (kill -9) holds its
# partitions until its session times out: keep that short.
FAST_SESSION = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}


def eos_overrides(**kafka):
    k = dict(EOS)
    k.update(kafka)
    return {"kafka": k}


def uid():
    return uuid.uuid4().hex[:8]


def produce_load(r, n, keys):
    run = uid()
    events = [{"key": "eos-%s-%03d" % (run, i % keys),
               "value": {"CustomerCode": "auto-eos-%s-%03d" % (run, i % keys),
                         "LastName": "seq-%05d" % i},
               "headers": [("correlation-id", "eos-%s-%05d" % (run, i))]}
              for i in range(n)]
    r.kafka.send_many(r.topics.customer_update, events)
    return ["eos-%s-%05d" % (run, i) for i in range(n)]


def committed_total(kafka, group, topic):
    """Events of `topic` the group committed (every partition starts at 0;
    the input topics are written without transactions)."""
    return sum(max(o, 0) for o in kafka.committed(group, topic).values())


def wait_committed_at_least(r, n, timeout=60, watch=None):
    watch = watch if watch is not None else r.watch
    last = {"v": 0}

    def ok():
        for w in watch:
            w.assert_running()
        last["v"] = committed_total(r.kafka, r.group_id, r.topics.customer_update)
        return last["v"] >= n
    wait_until(ok, timeout, lambda: "%d events committed by group %s (have %d)"
               % (n, r.group_id, last["v"]), 0.1)


def assert_exactly_once(kafka, topic, ids, what):
    recs = kafka.read_all(topic)
    counts = collections.Counter(x.header("correlation-id") for x in recs)
    missing = set(ids) - set(counts)
    dups = {k: v for k, v in counts.items() if v > 1}
    assert not missing, "%s: %d events never answered, e.g. %s" % (
        what, len(missing), sorted(missing)[:5])
    assert not dups, "%s: %d events answered more than once, e.g. %s" % (
        what, len(dups), sorted(dups.items())[:5])
    assert len(recs) == len(ids), "%s: %d replies for %d events" % (
        what, len(recs), len(ids))
    return recs


def assert_committed_to_end(kafka, group, topic):
    from confluent_kafka import TopicPartition
    committed = kafka.committed(group, topic)
    c = kafka._consumer()
    try:
        for p in kafka.partitions(topic):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi > 0:
                assert committed.get(p) == hi, (
                    "%s partition %d: committed %s, end %d"
                    % (topic, p, committed.get(p), hi))
    finally:
        c.close()


def aborted_replies(kafka, topic, committed_recs, ids):
    """The replies a read_uncommitted reader sees beyond the committed
    ones (those of aborted transactions), after checking that it sees
    every committed one in its place and nothing of another run
    (checker.aborted_records)."""
    def rows(recs):
        return [(x.partition, x.offset, x.header("correlation-id")) for x in recs]
    aborted, problems = checker.aborted_records(
        rows(committed_recs), rows(kafka.read_all(topic, isolation="read_uncommitted")),
        ids)
    assert not problems, "read_uncommitted view of %s: %s" % (topic, problems[:5])
    return aborted


def test_both_kinds_with_failures_are_committed_exactly_once(harness, kafka):
    sim = harness.start_sim()
    b = harness.start_bridge(sim, overrides=eos_overrides())
    r = Running(kafka, sim, b)
    ok = r.update({"CustomerCode": "Customer", "FirstName": "Elif"},
                  key="eos-ok-%s" % uid())
    # Neither CustomerCode nor DealerCustomerId: Moka's business failure.
    business = r.update({"FirstName": "Nobody"}, key="eos-biz-%s" % uid())
    invalid = r.update(b"not json", key="eos-bad-%s" % uid())
    sale = r.sale_list({}, key="eos-sale-%s" % uid())

    expect_reply(ok, r.reply_for(ok), operation="customer.update",
                 status="success", result_code="Success", attempts=1)
    expect_reply(business, r.reply_for(business), operation="customer.update",
                 status="failure",
                 result_code=UC + "CustomerCodeOrDealerCustomerIdMustBeGiven",
                 attempts=1)
    expect_dlq(business, r.dlq_for(business), reason="moka-result",
               result_code=UC + "CustomerCodeOrDealerCustomerIdMustBeGiven",
               group_id=r.group_id, attempts=1)
    expect_reply(invalid, r.reply_for(invalid), operation="customer.update",
                 status="failure", result_code="Bridge.InvalidEvent",
                 attempts=0)
    expect_dlq(invalid, r.dlq_for(invalid), reason="invalid-event",
               result_code="Bridge.InvalidEvent", group_id=r.group_id,
               attempts=0)
    expect_reply(sale, r.reply_for(sale), operation="sale.list",
                 status="success", result_code="Success", attempts=1)

    # The transactions committed the input offsets past every event.
    for s in (ok, business, invalid, sale):
        r.wait_done(s, timeout=30)
    assert_committed_to_end(kafka, r.group_id, r.topics.customer_update)
    assert_committed_to_end(kafka, r.group_id, r.topics.sale_list)
    for s, n_dlq in ((ok, 0), (business, 1), (invalid, 1), (sale, 0)):
        assert len(r.all_for(s, dlq=False)) == 1, "replies of %s" % (s,)
        assert len(r.all_for(s, dlq=True)) == n_dlq, "DLQ records of %s" % (s,)

    logs = b.logs()
    assert any(l.get("msg") == "exactly-once: transactions initialised"
               for l in logs), "no transactions-initialised line: %s" % b.describe()
    assert b.stop(30) == 0, b.describe()


def test_kill9_cycles_under_load_answer_every_event_exactly_once(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=5)
    # Static membership: a restarted instance takes its partitions back at
    # once, and its transactional id (<group>-<instance>) is the same, so
    # init_transactions aborts what the killed one left open.
    b = harness.start_bridge(sim, overrides=eos_overrides(
        group_instance_id="eos-0", properties=FAST_SESSION))
    r = Running(kafka, sim, b)
    n = 6000
    ids = produce_load(r, n, keys=20)
    kills = 0
    for target in (800, 2000, 3500):
        wait_committed_at_least(r, target, timeout=120, watch=[b, sim])
        time.sleep(0.15)  # a transaction open at the kill
        b.signal(signal.SIGKILL)
        b.wait(10)
        kills += 1
        b = harness.restart_bridge(b)
        r = Running(kafka, sim, b)
    wait_committed_at_least(r, n, timeout=180)
    recs = assert_exactly_once(kafka, r.topics.cu_reply, ids,
                               "after %d kill -9 and restarts" % kills)
    assert all(x.header("moka-status") == "success" for x in recs)
    assert not kafka.read_all(r.topics.cu_dlq)
    assert_committed_to_end(kafka, r.group_id, r.topics.customer_update)
    # Moka saw at least every event; calls of aborted work may repeat.
    calls = sim.stats()["by_endpoint"]["/DealerCustomer/UpdateCustomer"]
    assert calls >= n
    # (4) A read_uncommitted reader sees every committed reply in its place
    # and, besides, the replies of the transactions the kills left open and
    # the restarts aborted: each an event of this run answered again.
    aborted = aborted_replies(kafka, r.topics.cu_reply, recs, ids)
    print("kill -9 x%d: %d Moka calls for %d events; read_uncommitted sees %d "
          "aborted replies besides the %d committed" % (kills, calls, n,
                                                          len(aborted), len(recs)))
    assert aborted, ("no aborted reply after %d kills with a transaction open "
                     "each time" % kills)
    assert b.stop(60) == 0, b.describe()


def test_sigterm_under_load_commits_the_last_transaction(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=5)
    b = harness.start_bridge(sim, overrides=eos_overrides())
    r = Running(kafka, sim, b)
    ids = produce_load(r, 4000, keys=20)
    wait_committed_at_least(r, 500)
    rc = b.stop(60)
    assert rc == 0, "exit code after SIGTERM: %d\n%s" % (rc, b.describe())
    logs = b.logs()
    assert not any("aborted" in l.get("msg", "") for l in logs), b.describe()
    b2 = harness.restart_bridge(b)
    r2 = Running(kafka, sim, b2)
    wait_committed_at_least(r2, len(ids), timeout=120)
    assert b2.stop(60) == 0
    assert_exactly_once(kafka, r.topics.cu_reply, ids, "after SIGTERM and restart")
    # A graceful stop leaves nothing to redo: each event called Moka once.
    calls = sim.stats()["by_endpoint"]["/DealerCustomer/UpdateCustomer"]
    assert calls == len(ids), "Moka calls: %d for %d events" % (calls, len(ids))


def test_second_instance_with_the_same_transactional_id_fences_the_first(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=10)
    tid = "eos-fence-%s" % uid()
    a = harness.start_bridge(sim, overrides=eos_overrides(
        transactional_id=tid, properties=FAST_SESSION))
    r = Running(kafka, sim, a)
    ids = produce_load(r, 6000, keys=20)
    wait_committed_at_least(r, 500)
    b = harness.start_bridge(sim, topics=r.topics, group_id=r.group_id,
                             overrides=eos_overrides(transactional_id=tid,
                                                     properties=FAST_SESSION),
                             wait_assigned=False)
    a.expect_exit(1)
    rc = a.wait(60)
    assert rc == 1, "the fenced instance exited %d: %s" % (rc, a.describe())
    fenced = [l for l in a.logs() if l.get("level") == "error"
              and l.get("msg", "").startswith("fenced:")]
    assert fenced, "no 'fenced:' error line: %s" % a.describe()
    assert fenced[0].get("transactional_id") == tid, fenced[0]
    rb = Running(kafka, sim, b)
    wait_committed_at_least(rb, len(ids), timeout=180, watch=[b, sim])
    assert_exactly_once(kafka, r.topics.cu_reply, ids, "after fencing")
    assert b.stop(60) == 0, b.describe()


def test_rebalance_under_load_stays_exactly_once(harness, kafka):
    sim = harness.start_sim()
    sim.faults(latency_ms=20)
    quick = {"heartbeat.interval.ms": "500"}
    # A small window: the revoke drains what was consumed (here at most 300
    # events) and commits it; the rest is left to the new assignment.
    small = {"max_pending_events": 300}
    a = harness.start_bridge(sim, overrides=dict(eos_overrides(
        transactional_id="eos-a-%s" % uid(), properties=quick), limits=small))
    r = Running(kafka, sim, a)
    # 40 keys at 20 ms a call: ~2000 events/s, so the load outlasts the
    # rebalance.
    ids = produce_load(r, 12000, keys=40)
    wait_committed_at_least(r, 800)
    b = harness.start_bridge(sim, topics=r.topics, group_id=r.group_id,
                             overrides=dict(eos_overrides(
                                 transactional_id="eos-b-%s" % uid(),
                                 properties=quick), limits=small),
                             wait_assigned=False)
    wait_committed_at_least(r, len(ids), timeout=180, watch=[a, b, sim])
    assert a.stop(60) == 0, a.describe()
    assert b.stop(60) == 0, b.describe()
    # The rebalance happened under load: both instances answered events.
    stopped = {}
    for name, br in (("a", a), ("b", b)):
        line = [l for l in br.logs() if l.get("msg") == "moka-bridge stopped"]
        stopped[name] = line[-1]["succeeded"] if line else 0
    assert stopped["a"] > 0 and stopped["b"] > 0, (
        "events answered per instance: %s" % stopped)
    assert_exactly_once(kafka, r.topics.cu_reply, ids, "across a rebalance")
    # Revoked partitions were committed, not aborted.
    for br in (a, b):
        assert not any("aborted" in l.get("msg", "") for l in br.logs()), br.describe()


# A dealer whose GetSaleList answer has 50000 sales (~25 MB): a reply too
# large for a reply topic with Kafka's default limit.
BIG_DEALER = ("1735", "TestMokaBig", "BIGLIST5000XY")


def test_refused_record_aborts_rewinds_and_answers_once(harness, kafka):
    """The broker refuses a reply (too large): the transaction aborts,
    every in-memory event is dropped and read again from the committed
    offsets; the redone sale list is answered Bridge.ReplyTooLarge. Every
    event, including those dropped with the abort, is answered once."""
    from confluent_kafka.admin import NewTopic
    sim = harness.start_sim()
    topics = harness.make_topics(sale_list_reply="sl.reply")
    kafka.admin.delete_topics([topics.sl_reply], operation_timeout=30)
    wait_until(lambda: topics.sl_reply not in kafka.admin.list_topics(timeout=10).topics,
               30, "reply topic deleted")
    for f in kafka.admin.create_topics([NewTopic(
            topics.sl_reply, num_partitions=4, replication_factor=1,
            config={"max.message.bytes": "1048588"})],
            operation_timeout=30).values():
        f.result(timeout=60)
    b = harness.start_bridge(sim, topics=topics, dealer=BIG_DEALER,
                             overrides=eos_overrides())
    r = Running(kafka, sim, b)
    sales = [r.sale_list({}, key="big-1",
                         headers=[("correlation-id", "big-%d-%s" % (i, uid()))])
             for i in range(2)]
    sale_ids = [s.headers[0][1] for s in sales]
    recs = kafka.collect(topics.sl_reply, 2, 120, watch=r.watch)
    for s in sales:
        r.wait_done(s, timeout=60)
    recs = assert_exactly_once(kafka, topics.sl_reply, sale_ids, "sale lists")
    for rec in recs:
        v = rec.json()
        assert v["result_code"] == "Bridge.ReplyTooLarge", v
        assert "50000 sales" in v["result_message"], v
    dlq = kafka.read_all(topics.sl_dlq)
    assert sorted(x.header("correlation-id") for x in dlq) == sorted(sale_ids)
    assert {x.header("dlq.result-code") for x in dlq} == {"Bridge.ReplyTooLarge"}
    aborted = [l for l in b.logs()
               if l.get("msg", "").startswith("transaction aborted")]
    assert aborted and aborted[0].get("rewind") is True, b.describe()
    # Moka answered the first sale list twice: once before the abort, once
    # when it was read again.
    calls = sim.stats()["by_endpoint"]["/DealerSale/GetSaleList"]
    assert calls >= 3, "GetSaleList calls: %d" % calls
    assert b.stop(60) == 0, b.describe()


def test_bad_delivery_value_stops_start_up_with_file_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text('kafka: {\n  brokers = "127.0.0.1:9";\n'
                    '  delivery = "exactly_once";\n};\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOKA_BRIDGE_")}
    env["MOKA_BRIDGE_MOKA_DEALER_CODE"] = helpers.DEALER_CODE
    env["MOKA_BRIDGE_MOKA_USERNAME"] = helpers.DEALER_USERNAME
    env["MOKA_BRIDGE_MOKA_PASSWORD"] = helpers.DEALER_PASSWORD
    for cmd in ("check-config", "run"):
        p = subprocess.run([helpers.bridge_binary(), cmd, "--config", str(conf)],
                           capture_output=True, text=True, env=env, timeout=20)
        assert p.returncode == 1, (cmd, p.returncode, p.stderr)
        assert ("%s:3: kafka.delivery: must be at-least-once or exactly-once, "
                'got \\"exactly_once\\"' % conf) in p.stderr or (
                    "%s:3: kafka.delivery: must be at-least-once or exactly-once, "
                    'got "exactly_once"' % conf) in p.stderr, p.stderr
    # The environment override is checked like the file.
    env["MOKA_BRIDGE_KAFKA_DELIVERY"] = "twice"
    conf.write_text('kafka: {\n  brokers = "127.0.0.1:9";\n};\n')
    p = subprocess.run([helpers.bridge_binary(), "check-config", "--config",
                        str(conf)], capture_output=True, text=True, env=env,
                       timeout=20)
    assert p.returncode == 1 and "kafka.delivery: must be at-least-once or " \
        "exactly-once" in p.stderr, p.stderr
