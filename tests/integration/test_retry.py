"""Transient failures and retries, driven by the simulator's scripted rules
(the next N calls of one customer get a fault): 5xx, 408, 429 with
Retry-After, EX, connection resets, malformed bodies, timeouts; the retry
budget (retry.max_attempts = 5); outage-class answers (401/403/404) that
must not spend the budget or reach the DLQ; and a retrying event that must
not hold up other keys.

One simulator and one bridge serve the file; every test uses its own
customer codes ("auto-..." customers are created by their first update)."""

import time
import uuid

import pytest

import helpers
from helpers import Running, expect_dlq, expect_reply

MAX_ATTEMPTS = 5


def customer(tag):
    return "auto-%s-%s" % (tag, uuid.uuid4().hex[:8])


@pytest.fixture(scope="module")
def rt(module_harness, kafka):
    sim = module_harness.start_sim()
    b = module_harness.start_bridge(sim, overrides={
        "moka": {"request_timeout_ms": 1000, "connect_timeout_ms": 500},
        "retry": {"max_attempts": MAX_ATTEMPTS, "base_ms": 20, "cap_ms": 200,
                  "max_elapsed_ms": 60000},
    })
    return Running(kafka, sim, b)


def rule(rt, code, kind, count, **extra):
    r = {"customer": code, "kind": kind, "count": count}
    r.update(extra)
    rt.sim.faults(rules=[r])


def send(rt, code, **fields):
    value = {"CustomerCode": code}
    value.update(fields)
    return rt.update(value, key=code, headers=[("correlation-id", "rt-" + code)])


def expect_success_after(rt, code, attempts, timeout=30, reset=False):
    """`attempts` calls reach the simulator and the last one succeeds.
    reset=True: libcurl re-sends a request by itself, once, when a reused
    keep-alive connection dies before any answer, so the bridge may count
    fewer attempts than the simulator saw calls."""
    sent = send(rt, code, FirstName="Retry")
    rec = rt.reply_for(sent, timeout=timeout)
    v = expect_reply(sent, rec, operation="customer.update", status="success",
                     result_code="Success", attempts=None if reset else attempts)
    if reset:
        assert 2 <= v["attempts"] <= attempts, v
    calls = rt.sim.calls(code)
    assert len(calls) == attempts, ("expected %d calls to Moka for %s, got %d"
                                    % (attempts, code, len(calls)))
    rt.wait_done(sent)
    assert rt.all_for(sent, dlq=True) == [], "a retried success was dead-lettered"
    return sent, v


@pytest.mark.parametrize("kind", ["http_503", "http_500", "http_502", "http_504",
                                  "http_408", "ex", "reset", "malformed"])
def test_transient_failure_is_retried_then_succeeds(rt, kind):
    code = customer(kind.replace("_", ""))
    rule(rt, code, kind, 2)
    expect_success_after(rt, code, attempts=3, reset=kind == "reset")


def test_503_twice_then_success_reports_three_attempts(rt):
    code = customer("s503")
    rule(rt, code, "http_503", 2)
    sent, v = expect_success_after(rt, code, attempts=3)
    assert v["data"]["DealerCustomer"]["CustomerCode"] == code


def test_timeout_is_retried(rt):
    """A request held longer than moka.request_timeout_ms (1 s) times out
    and is retried."""
    code = customer("hang")
    rule(rt, code, "hang", 1, hang_ms=3000)
    expect_success_after(rt, code, attempts=2)


@pytest.mark.parametrize("kind", ["http_429", "http_503"])
def test_retry_after_is_honoured(rt, kind):
    """With base 20 ms and cap 200 ms the backoff alone would retry within
    0.2 s; Retry-After: 1 must hold the retry for a second."""
    code = customer("ra" + kind[-3:])
    rule(rt, code, kind, 1, retry_after=1)
    sent, v = expect_success_after(rt, code, attempts=2)
    took = helpers.rfc3339_ms(v["completed_at"]) - sent.timestamp
    assert took >= 950, ("Retry-After: 1 not honoured: answered %d ms after the "
                         "event was produced" % took)


def test_retries_exhausted_names_last_cause(rt):
    code = customer("exh503")
    rule(rt, code, "http_503", 50)
    sent = send(rt, code)
    rec = rt.reply_for(sent)
    v = expect_reply(sent, rec, operation="customer.update", status="failure",
                     result_code="Bridge.RetriesExhausted", attempts=MAX_ATTEMPTS)
    assert "503" in v["result_message"], (
        "result_message should name the last cause (HTTP 503): %r" % v["result_message"])
    d = rt.dlq_for(sent)
    expect_dlq(sent, d, reason="retries-exhausted", result_code="Bridge.RetriesExhausted",
               group_id=rt.group_id, attempts=MAX_ATTEMPTS)
    assert "503" in d.header("dlq.error"), d.header("dlq.error")
    assert len(rt.sim.calls(code)) == MAX_ATTEMPTS


@pytest.mark.parametrize("kind,cause", [("reset", None), ("malformed", None),
                                        ("ex", "EX"), ("http_429", "429")])
def test_retries_exhausted_for_each_transient_kind(rt, kind, cause):
    code = customer("exh" + kind.replace("_", ""))
    rule(rt, code, kind, 50)
    sent = send(rt, code)
    rec = rt.reply_for(sent)
    v = expect_reply(sent, rec, operation="customer.update", status="failure",
                     result_code="Bridge.RetriesExhausted", attempts=MAX_ATTEMPTS)
    assert v["result_message"], "empty result_message"
    if cause:
        assert cause in v["result_message"], (cause, v["result_message"])
    d = rt.dlq_for(sent)
    expect_dlq(sent, d, reason="retries-exhausted", result_code="Bridge.RetriesExhausted",
               group_id=rt.group_id, attempts=MAX_ATTEMPTS)
    calls = len(rt.sim.calls(code))
    if kind == "reset":
        # libcurl re-sends once by itself when a reused connection dies
        # before any answer (see expect_success_after).
        assert MAX_ATTEMPTS <= calls <= 2 * MAX_ATTEMPTS, calls
    else:
        assert calls == MAX_ATTEMPTS, calls


@pytest.mark.parametrize("kind", ["http_401", "http_403", "http_404"])
def test_outage_class_answers_do_not_spend_the_budget(rt, kind):
    """More 401/403/404 answers than retry.max_attempts: the event is still
    answered Success in the end, and nothing is dead-lettered."""
    code = customer("out" + kind[-3:])
    rule(rt, code, kind, MAX_ATTEMPTS + 2)
    sent = send(rt, code)
    rec = rt.reply_for(sent, timeout=90)
    v = expect_reply(sent, rec, operation="customer.update", status="success",
                     result_code="Success")
    # docs/decisions.md: attempts counts every Moka call, outage answers included.
    calls = len(rt.sim.calls(code))
    assert calls == MAX_ATTEMPTS + 3, "expected %d calls, got %d" % (MAX_ATTEMPTS + 3, calls)
    assert v["attempts"] == calls, ("attempts %r, calls made %d" % (v["attempts"], calls))
    rt.wait_done(sent)
    assert rt.all_for(sent, dlq=True) == [], "an outage answer was dead-lettered"


def test_retrying_event_does_not_block_other_keys(rt):
    """A waits for Retry-After three times (>= 3 s); B, produced after A to
    the same partition with another key, is answered before A."""
    a, b = customer("slow"), customer("fast")
    rule(rt, a, "http_503", 3, retry_after=1)
    sa = rt.update({"CustomerCode": a}, key=a, partition=0)
    sb = rt.update({"CustomerCode": b}, key=b, partition=0)
    rb = rt.reply_for(sb)
    ra = rt.reply_for(sa)
    va = expect_reply(sa, ra, operation="customer.update", status="success",
                      result_code="Success", attempts=4)
    vb = expect_reply(sb, rb, operation="customer.update", status="success",
                      result_code="Success", attempts=1)
    ta, tb = helpers.rfc3339_ms(va["completed_at"]), helpers.rfc3339_ms(vb["completed_at"])
    assert tb < ta, ("B (other key) answered at %s, after A at %s: the retrying "
                     "event held up other keys" % (vb["completed_at"], va["completed_at"]))
    assert tb - sb.timestamp < 2000, "B took %d ms" % (tb - sb.timestamp)


def test_same_key_waits_for_the_retrying_event(rt):
    """Two events of one key: the second is called only after the first
    succeeded on its third attempt."""
    code = customer("seq")
    rule(rt, code, "http_503", 2)
    s1 = rt.update({"CustomerCode": code, "LastName": "first"}, key=code)
    s2 = rt.update({"CustomerCode": code, "LastName": "second"}, key=code)
    got = rt.replies_for([s1, s2])
    v1 = expect_reply(s1, got[0], operation="customer.update", status="success",
                      result_code="Success", attempts=3)
    v2 = expect_reply(s2, got[1], operation="customer.update", status="success",
                      result_code="Success", attempts=1)
    names = [c.get("LastName") for c in rt.sim.calls(code)]
    assert names == ["first", "first", "first", "second"], names
    assert v2["data"]["DealerCustomer"]["LastName"] == "second"
    assert (got[0].partition, got[0].offset) < (got[1].partition, got[1].offset), (
        "replies of one key out of order")
