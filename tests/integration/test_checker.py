"""Self-test of checker.py on synthetic data (no broker, no binaries): a
clean run passes, and each kind of violation is detected, alone, by the
count that names it. If the checker stopped detecting one, a test here
fails."""

import time

import pytest

import checker
from checker import DlqRecord, InputEvent, Reply, analyze, stream_violations

TOPIC = "in"


class Run:
    """A synthetic run: 3 keys x 5 events over 2 partitions, every event
    answered once (success) at t = 1000 + 10*i, Moka called once each."""

    def __init__(self, keys=3, per_key=5):
        self.inputs, self.replies, self.dlqs = [], [], []
        self.calls = {}
        offs = {0: 0, 1: 0}
        i = 0
        for n in range(per_key):
            for k in range(keys):
                p = k % 2
                cid = "id-%016x-seq-%d" % (i, n)
                e = InputEvent(p, offs[p], "k%d" % k, cid, n)
                offs[p] += 1
                self.inputs.append(e)
                self.replies.append(self.reply_of(e, 1000 + 10 * i))
                self.calls.setdefault("auto-k%d" % k, []).append(cid)
                i += 1
        self.samples = []

    def reply_of(self, e, ts, status="success"):
        return Reply(e.partition, 1000 + len(self.replies), e.key, e.cid,
                     (TOPIC, e.partition, e.offset), status, ts)

    def of_key(self, k):
        return [e for e in self.inputs if e.key == "k%d" % k]

    def result(self, **kw):
        self.replies.sort(key=lambda r: r.offset)
        return analyze(self.inputs, self.replies, self.dlqs, self.calls,
                       self.samples, input_topic=TOPIC, **kw)


def only(res, **expected):
    """Every failing count is one of `expected`, with that value."""
    c = res.counts
    for k in ("lost", "duplicate_replies", "reply_order_violations",
              "call_order_violations", "committed_before_answered",
              "dlq_missing", "unknown_replies", "calls_missing"):
        want = expected.get(k, 0)
        if callable(want):
            assert want(c[k]), "%s=%d" % (k, c[k])
        else:
            assert c[k] == want, "%s: expected %d, got %d (%s)" % (k, want, c[k], c)


def test_clean_run_passes():
    r = Run()
    r.samples = [(5000, {0: 10, 1: 5})]
    res = r.result(final_committed={0: 10, 1: 5}, final_time_ms=6000)
    only(res)
    assert res.counts["events"] == 15 and res.counts["calls"] == 15
    assert res.counts["uncommitted"] == 0
    assert res.violations(max_duplicates=0) == []
    res.assert_ok(max_duplicates=0)


@pytest.mark.parametrize("stream,bad", [
    ([0, 1, 2, 3, 4], 0),
    ([0, 1, 1, 1, 2], 0),                 # retries
    ([0, 1, 2, 3, 4, 2, 3, 4, 5], 0),     # crash, replay from 2
    ([0, 1, 2, 3, 1, 2, 1, 2, 3, 4], 0),  # replay interrupted, replayed again
    ([0, 2, 3, 5], 0),                    # gaps (lost or never called) are not order
    ([0, 2, 1], 1),                       # first occurrence out of order
    ([0, 1, 2, 3, 1, 3], 1),              # replay skips 2
    ([0, 1, 2, 3, 1, 4], 1),              # new event before the replay caught up
    ([1, 0, 2], 1),
])
def test_stream_rule(stream, bad):
    v = stream_violations(stream)
    assert len(v) == bad, v


def test_lost_reply_is_detected():
    r = Run()
    del r.replies[4]
    only(r.result(), lost=1)


def test_duplicate_is_counted_and_fails_only_with_a_limit():
    r = Run()
    e = r.of_key(0)[4]  # the key's last event: answered again, no reorder
    r.replies.append(r.reply_of(e, 99999))
    res = r.result()
    only(res, duplicate_replies=1)
    assert res.counts["duplicated_events"] == 1
    assert res.violations() == []
    assert res.violations(max_duplicates=0)
    with pytest.raises(AssertionError):
        res.assert_ok(max_duplicates=0)


def test_replay_after_crash_is_not_an_order_violation():
    r = Run()
    evs = r.of_key(1)
    # crash after event 4, committed before event 2: 2, 3, 4 answered again
    for e in evs[2:]:
        r.replies.append(r.reply_of(e, 90000))
        r.calls["auto-k1"].append(e.cid)
    only(r.result(), duplicate_replies=3)


def test_reply_order_violation_is_detected():
    r = Run()
    a, b = r.of_key(2)[1], r.of_key(2)[2]
    ia = next(i for i, x in enumerate(r.replies) if x.cid == a.cid)
    ib = next(i for i, x in enumerate(r.replies) if x.cid == b.cid)
    # swap the reply offsets of the key's events 1 and 2
    r.replies[ia], r.replies[ib] = (r.replies[ia]._replace(offset=r.replies[ib].offset),
                                    r.replies[ib]._replace(offset=r.replies[ia].offset))
    only(r.result(), reply_order_violations=1)


def test_replay_skipping_an_answered_event_is_detected():
    r = Run()
    evs = r.of_key(0)
    for e in (evs[1], evs[3]):
        r.replies.append(r.reply_of(e, 90000))
    only(r.result(), duplicate_replies=2, reply_order_violations=1)


def test_call_order_violation_is_detected():
    r = Run()
    c = r.calls["auto-k0"]
    c[2], c[3] = c[3], c[2]
    only(r.result(), call_order_violations=1)


def test_retried_calls_are_not_order_violations():
    r = Run()
    c = r.calls["auto-k0"]
    r.calls["auto-k0"] = [c[0], c[0], c[1], c[2], c[2], c[2], c[3], c[4]]
    res = r.result()
    only(res)
    assert res.counts["calls"] == 18


def test_success_without_a_moka_call_is_a_violation():
    r = Run()
    r.calls["auto-k0"].pop(1)
    res = r.result()
    only(res, calls_missing=1, call_order_violations=0)
    assert res.violations() == ["calls_missing=1"]
    with pytest.raises(AssertionError, match="calls_missing=1"):
        res.assert_ok()


def test_moka_call_of_no_event_is_a_violation():
    r = Run()
    r.calls["auto-k0"].insert(2, "id-ffffffffffffffff-seq-99")
    res = r.result()
    assert res.counts["calls_unknown"] == 1
    assert res.violations() == ["calls_unknown=1"]


def test_dlq_record_of_no_event_is_a_violation():
    r = Run()
    r.dlqs.append(DlqRecord(0, 0, "id-ffffffffffffffff-seq-9", (TOPIC, 0, 999),
                            "moka-result", 1))
    res = r.result()
    assert res.counts["dlq_unknown"] == 1
    assert res.violations() == ["dlq_unknown=1"]


def test_commit_before_answer_is_detected():
    r = Run()
    # partition 0 holds k0 and k2; its offset 3 is answered at ts 1000+10*i
    e = [x for x in r.inputs if x.partition == 0][3]
    i = r.inputs.index(e)
    answered = 1000 + 10 * i
    r.samples = [(answered - 1, {0: e.offset + 1, 1: 0})]
    only(r.result(), committed_before_answered=1)
    # the same commit seen after the answer is fine
    r.samples = [(answered + 1, {0: e.offset + 1, 1: 0})]
    only(r.result())


def test_commit_past_an_unanswered_event_is_detected():
    r = Run()
    e = [x for x in r.inputs if x.partition == 1][2]
    r.replies = [x for x in r.replies if x.cid != e.cid]
    res = r.result(final_committed={0: 10, 1: 5}, final_time_ms=10 ** 9)
    only(res, lost=1, committed_before_answered=1)


def test_failure_needs_its_dlq_record():
    r = Run()
    e = r.of_key(0)[2]
    i = next(i for i, x in enumerate(r.replies) if x.cid == e.cid)
    r.replies[i] = r.replies[i]._replace(status="failure")
    only(r.result(), dlq_missing=1)
    r.dlqs.append(DlqRecord(0, 0, e.cid, (TOPIC, e.partition, e.offset),
                            "invalid-event", r.replies[i].ts))
    res = r.result()
    only(res)
    assert res.counts["dlq_events"] == 1
    assert res.counts["dlq_by_reason"] == {"invalid-event": 1}


def test_commit_waits_for_the_dlq_record_too():
    r = Run()
    e = r.of_key(0)[2]
    i = next(i for i, x in enumerate(r.replies) if x.cid == e.cid)
    r.replies[i] = r.replies[i]._replace(status="failure")
    r.dlqs.append(DlqRecord(0, 0, e.cid, (TOPIC, e.partition, e.offset),
                            "moka-result", 50000))
    r.samples = [(40000, {e.partition: e.offset + 1})]
    only(r.result(), committed_before_answered=1)


def test_reply_to_an_unknown_event_is_detected():
    r = Run()
    r.replies.append(Reply(0, 5000, "k0", "id-ffffffffffffffff-seq-9",
                           (TOPIC, 0, 999), "success", 1))
    only(r.result(), unknown_replies=1)


def test_tags():
    t = checker.event_tag(7)
    assert checker.parse_tag(t) == 7
    assert checker.parse_tag("seq-7") is None
    ev = checker.make_event("k", 3, "auto-x")
    assert ev["value"]["LastName"] == ev["headers"][0][1]
    assert len(ev["value"]["LastName"]) <= 50  # the bridge's LastName limit


# ---- the committed-offset sampler ----------------------------------------

def run_sampler(read, seconds=1.5, interval=0.1):
    """A CommitSampler with its read replaced (no broker: the consumer it
    creates never connects), run for `seconds`."""
    s = checker.CommitSampler("127.0.0.1:1", "g", "t", interval=interval,
                              read=read).start()
    time.sleep(seconds)
    s.stop()
    return s


def test_sampler_that_reads_is_trusted():
    s = run_sampler(lambda c, parts: {0: 5, 1: 7})
    assert len(s.samples) >= 5 and s.errors == 0, (s.samples, s.errors)
    assert s.problems() == []


def test_sampler_that_always_fails_fails_the_run():
    def broken(c, parts):
        raise RuntimeError("coordinator not available")
    s = run_sampler(broken)
    assert s.samples == [] and s.errors >= 5
    p = s.problems()
    assert any("reads failed" in x and "coordinator not available" in x for x in p), p
    assert any("committed-offset samples" in x for x in p), p


def test_sampler_too_slow_to_sample_fails_the_run():
    def slow(c, parts):
        time.sleep(0.6)
        return {0: 1}
    s = run_sampler(slow, seconds=2.5, interval=0.1)
    assert s.errors == 0
    assert any("committed-offset samples" in x for x in s.problems()), (
        len(s.samples), s.active_s)


# ---- duplicates after a kill (test_scaling) ------------------------------

def test_duplicates_a_kill_explains():
    owned, committed, kill = {1, 3}, {1: 10, 3: 0, 0: 50}, 5000
    ok = {(1, 10): [4000, 7000], (3, 0): [100, 6000], (1, 9): [900],
          (0, 60): [4500]}
    assert checker.unexplained_duplicates(ok, owned, committed, kill) == []
    for bad, why in [({(0, 60): [4500, 6000]}, "not the killed"),  # SIGTERM'd/live owner
                     ({(1, 9): [900, 6000]}, "below the offset"),  # committed before
                     ({(1, 11): [5500, 6000]}, "after the kill"),
                     ({(1, 12): [4000, 6000, 7000]}, "3 times")]:
        got = checker.unexplained_duplicates(bad, owned, committed, kill)
        assert len(got) == 1 and why in got[0][3], (bad, got)


# ---- aborted transactions (test_exactly_once) ----------------------------

def test_aborted_records_of_a_clean_view():
    committed = [(0, 0, "a"), (0, 2, "b"), (1, 0, "c")]
    uncommitted = committed[:1] + [(0, 1, "b")] + committed[1:]
    aborted, problems = checker.aborted_records(committed, uncommitted, "abc")
    assert aborted == [(0, 1, "b")] and problems == []


def test_aborted_records_catch_what_transactions_forbid():
    committed = [(0, 0, "a"), (0, 2, "b")]
    # a committed record missing from the read_uncommitted view
    _, p = checker.aborted_records(committed, [(0, 0, "a"), (0, 1, "b")], "ab")
    assert len(p) == 1 and "0/2" in p[0], p
    # a record of no event of the run, only read_uncommitted sees it
    aborted, p = checker.aborted_records(committed, committed + [(0, 3, "zz")], "ab")
    assert aborted == [(0, 3, "zz")] and len(p) == 1 and "zz" in p[0], p
