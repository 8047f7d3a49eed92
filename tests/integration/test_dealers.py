"""Several dealers (the operations issue, point 5): the moka-dealer header
picks a dealer's credentials, the default applies without it, an unknown
name is answered Bridge.UnknownDealer; each dealer has its own rate limit.
A dealer whose credentials Moka refuses: test_credentials.py."""

import time
import uuid

from helpers import Running, exact_answers, unique

SECOND = ("1732", "TestMoka3", "QWERTY12KL9ZX")   # no sales in the fixture
WRONG_PASSWORD = "NOT-THE-PASSWORD-9"


def dealers_block(second_rate=0):
    return """
dealers = (
  { name = "second"; dealer_code = "%s"; username = "%s"; password = "%s";
    rate_limit = %d; rate_burst = 1; },
  { name = "rejected"; dealer_code = "1731"; username = "TestMoka2";
    password = "%s"; }
);
""" % (SECOND[0], SECOND[1], SECOND[2], second_rate, WRONG_PASSWORD)


def start(harness, kafka, second_rate=0):
    sim = harness.start_sim()
    topics = harness.make_topics()
    group = unique("it-group")
    path = harness.write_config(sim, topics, group)
    with open(path, "a") as f:
        f.write(dealers_block(second_rate))
    b = harness.start_bridge(sim, topics=topics, group_id=group, config_path=path,
                             secrets=[SECOND[2], WRONG_PASSWORD])
    return Running(kafka, sim, b)


def test_header_picks_the_dealer_default_without_it_unknown_is_refused(harness, kafka):
    r = start(harness, kafka)
    default = r.sale_list({}, key="s1")
    second = r.sale_list({}, key="s2", headers=[("moka-dealer", "second")])
    unknown = r.sale_list({}, key="s3", headers=[("moka-dealer", "nobody")])
    assert r.reply_for(default).json()["result_code"] == "Success"
    # "No sales" is an answer: success, an empty list, Moka's code kept.
    v = r.reply_for(second).json()
    assert v["status"] == "success", v
    assert v["result_code"] == "DealerSale.GetSaleList.DealerSaleNotFund", v
    assert v["data"] == {"DealerSaleListCount": 0, "DealerSaleList": []}, v
    v = r.reply_for(unknown).json()
    assert v["result_code"] == "Bridge.UnknownDealer", v
    assert "nobody" in v["result_message"] and v["attempts"] == 0, v
    d = r.dlq_for(unknown)
    assert d.header("dlq.reason") == "invalid-event"
    assert d.header("dlq.result-code") == "Bridge.UnknownDealer"
    assert d.header("moka-dealer") == "nobody"
    # Two sale-list calls reached Moka, not three.
    assert len(r.sim.calls("*sale-list*")) == 2
    # Only the unknown dealer's event was dead-lettered.
    r.kafka.wait_committed_to_end(r.group_id, r.topics.sale_list, 60,
                                  watch=r.watch)
    assert [x.header("dlq.result-code")
            for x in r.kafka.read_all(r.topics.sl_dlq)] == ["Bridge.UnknownDealer"]


def test_each_dealer_has_its_own_rate_limit(harness, kafka):
    r = start(harness, kafka, second_rate=20)
    run = uuid.uuid4().hex[:6]
    n = 100
    slow = [{"key": "s-%d" % i, "value": {"CustomerCode": "auto-s%s-%d" % (run, i)},
             "headers": [("moka-dealer", "second"), ("correlation-id", "slow-%d" % i)]}
            for i in range(n)]
    fast = [{"key": "f-%d" % i, "value": {"CustomerCode": "auto-f%s-%d" % (run, i)},
             "headers": [("correlation-id", "fast-%d" % i)]} for i in range(n)]
    t0 = time.time()
    r.kafka.send_many(r.topics.customer_update, slow + fast)
    recs = exact_answers(r.kafka, r.group_id, r.topics.customer_update,
                         r.topics.cu_reply,
                         ["slow-%d" % i for i in range(n)] + ["fast-%d" % i for i in range(n)],
                         60, watch=r.watch)
    done = {k: x.timestamp / 1000.0 for k, x in recs.items()}
    slow_times = sorted(done["slow-%d" % i] for i in range(n))
    fast_last = max(done["fast-%d" % i] for i in range(n))
    slow_span = slow_times[-1] - slow_times[0]
    # 100 calls at 20/s with a burst of 1 cannot take less than 99/20 s:
    # the limit holds; the upper bound only catches a stall.
    assert 4.7 <= slow_span <= 15, "second dealer's 100 calls took %.2f s" % slow_span
    # The unlimited default dealer is not held behind the limited one: all
    # its replies come before the limited dealer is half done.
    assert fast_last < slow_times[n // 2], (
        "default dealer's last reply %.2f s after the start, the limited "
        "dealer's median %.2f s" % (fast_last - t0, slow_times[n // 2] - t0))
