#!/usr/bin/env python3
"""Delivery checker for fault tests: lost, duplicated, out-of-order and
committed-before-answered events of one moka-bridge run.

Test events
-----------
Every event of a checked run carries a unique id and a per-key sequence
number in one string, `id-<16 hex>-seq-<n>` (see `event_tag` / `make_event`):
- in the `correlation-id` header (the bridge echoes it on the reply and
  keeps it on the DLQ record), so even an event that is not JSON has one;
- in the customer update's `LastName`, which moka-sim's call log records
  (`/_sim/calls?customer=X` keeps each received `DealerCustomerRequest`, in
  arrival order, before any fault), so the calls Moka received can be
  attributed to events.
`n` counts the events of one ordering key (the record key) in produce
order: 0, 1, 2, ...

What is read
------------
- the input topic (every record: partition, offset, key, correlation id);
- the reply and DLQ topics from the beginning, `isolation.level=read_committed`,
  up to the high watermarks seen when reading starts;
- moka-sim's call log (optional, `--sim URL`);
- the group's committed offsets of the input topic: samples taken during the
  run (`CommitSampler`, or `--watch SECONDS` on the command line) plus one at
  the end.

Counts and their definitions
----------------------------
- `lost`: input events without a reply (a reply is matched to its event by
  `source` {topic, partition, offset}; the correlation id must agree).
- `duplicate_replies`: reply records beyond the first of each event;
  `duplicated_events`: events with more than one reply.
- `dlq_events` / `dlq_records` / `dlq_by_reason`: dead-lettered events, DLQ
  records and their `dlq.reason`; `dlq_missing`: events whose only answers are
  failure replies without a DLQ record (a lost DLQ record).
- `reply_order_violations`, `call_order_violations`: per ordering key, the
  stream of sequence numbers (replies in reply-partition offset order; Moka
  calls in arrival order) checked against at-least-once ordering
  (`stream_violations`):
    1. first occurrences are strictly increasing: an event is never answered
       (called) for the first time after a later event of its key;
    2. a repeat (an event already answered/called) is allowed only as part of
       a replay: it repeats the previous element (a retry, or a duplicate), or
       follows the previous element's successor (the replay goes on in
       order), or goes back to an earlier event (a replay starts after a
       crash or a rebalance: the committed position was at or before it);
       skipping forward over an already-answered event inside a replay is a
       violation;
    3. a new event (first occurrence) may follow a replay only once the replay
       has caught up (the previous element is the largest seen so far):
       redelivery after a crash replays a suffix of the key, never a part of
       it followed by new events.
  So `0 1 2 3 4 | 2 3 4 5` (crash, replay from 2) and `0 1 1 2` (retry) pass;
  `0 2 1`, `0 1 2 3 | 1 3`, `0 1 2 3 | 1 4` fail. A key's calls skip events
  that were never called (invalid events); the successor is taken among the
  events present in the stream.
- `calls_missing`: events answered `success` that Moka never received;
  `calls_unknown`: calls in Moka's log that match no input event (a call
  the bridge made up, or one of another run); `dlq_unknown`: DLQ records
  that match no input event.
- `committed_before_answered`: events at an offset below a committed offset
  of their partition (that commit means "this and everything before it is
  answered") that had no complete answer when that commit was observed: no
  reply, or a reply (and, for a failure, a DLQ record) whose timestamp is
  later than the time the committed offset was read. Replies' timestamps are
  their CreateTime, set by the bridge's producer when it produced them,
  before their acknowledgement and so before any commit that relies on them.
- `uncommitted`: events at or past the final committed offset (informative;
  tests that wait for the end expect 0).

The run fails (`CheckResult.violations()`, exit status 1) on any lost event,
missing DLQ record, reply or DLQ record that matches no input event, order
violation, success without a Moka call, Moka call of no input event, commit
before answer, or on more duplicate replies than `max_duplicates` (default:
unlimited, at-least-once allows them). `CommitSampler.problems()` says when
the committed offsets were not sampled well enough for "committed before
answered" to mean anything (failed reads, too few samples); the fault tests
fail on that too.

Command line:
    python3 tests/integration/checker.py --brokers B --input T --reply T \
        --dlq T [--sim URL] [--group G] [--watch SECONDS] \
        [--max-duplicates N] [--label NAME] [--results FILE]
prints the counts as one JSON line and one human line.
"""

import argparse
import bisect
import collections
import json
import re
import sys
import threading
import time
import uuid

TAG_RE = re.compile(r"^id-([0-9a-f]{16})-seq-(\d+)$")


def event_tag(seq):
    """A fresh `id-<16 hex>-seq-<n>` string."""
    return "id-%s-seq-%d" % (uuid.uuid4().hex[:16], seq)


def parse_tag(s):
    """`id-…-seq-n` -> n, or None."""
    if not isinstance(s, str):
        return None
    m = TAG_RE.match(s)
    return int(m.group(2)) if m else None


def make_event(key, seq, customer, extra=None, value=None, tag=None):
    """A checked customer-update event (dict for helpers.Kafka.produce):
    record key `key`, tag in the correlation-id header and in LastName.
    `value` (bytes, str or dict) replaces the JSON value, for poison events."""
    tag = tag or event_tag(seq)
    if value is None:
        value = {"CustomerCode": customer, "LastName": tag}
        value.update(extra or {})
    return {"key": key, "value": value, "headers": [("correlation-id", tag)]}


class KeySequencer:
    """Per-key sequence numbers for a load generator."""

    def __init__(self):
        self.next = collections.Counter()

    def take(self, key):
        n = self.next[key]
        self.next[key] += 1
        return n


# --------------------------------------------------------------------------
# The ordering rule

def stream_violations(stream):
    """Positions of `stream` (sequence numbers of one key, in observed order)
    that break at-least-once ordering, as (index, reason); see the module
    docstring for the rule."""
    present = sorted(set(stream))
    succ = dict(zip(present, present[1:]))
    seen = set()
    out = []
    mx = None
    prev = None
    prev_repeat = False
    for i, s in enumerate(stream):
        if s not in seen:
            if mx is not None and s < mx:
                out.append((i, "event %d first seen after event %d" % (s, mx)))
            elif prev_repeat and prev != mx:
                out.append((i, "new event %d while a replay stopped at %d "
                               "(events up to %d answered before)" % (s, prev, mx)))
            seen.add(s)
            if mx is None or s > mx:
                mx = s
            prev_repeat = False
        else:
            if not (s == prev or s < prev or s == succ.get(prev)):
                out.append((i, "replay skipped from %d to %d" % (prev, s)))
            prev_repeat = True
        prev = s
    return out


# --------------------------------------------------------------------------
# Records as the analysis sees them

InputEvent = collections.namedtuple("InputEvent", "partition offset key cid seq")
Reply = collections.namedtuple("Reply", "partition offset key cid source status ts")
DlqRecord = collections.namedtuple("DlqRecord", "partition offset cid source reason ts")


class CheckResult:
    def __init__(self, counts, details):
        self.counts = counts
        self.details = details

    def violations(self, max_duplicates=None):
        c = self.counts
        v = []
        for k in ("lost", "dlq_missing", "unknown_replies", "dlq_unknown",
                  "reply_order_violations", "call_order_violations",
                  "calls_missing", "calls_unknown", "committed_before_answered"):
            if c.get(k):
                v.append("%s=%d" % (k, c[k]))
        if max_duplicates is not None and c["duplicate_replies"] > max_duplicates:
            v.append("duplicate_replies=%d > %d" % (c["duplicate_replies"],
                                                    max_duplicates))
        return v

    def human(self):
        c = self.counts
        return ("%(events)d events: %(lost)d lost, %(duplicate_replies)d duplicate "
                "replies (%(duplicated_events)d events), order violations "
                "%(reply_order_violations)d in replies / %(call_order_violations)d "
                "in Moka calls, %(dlq_events)d DLQ'd, %(committed_before_answered)d "
                "committed before answered (%(commit_samples)d commit samples), "
                "%(calls)d Moka calls" % c)

    def assert_ok(self, max_duplicates=None):
        v = self.violations(max_duplicates)
        if v:
            raise AssertionError("delivery check failed: %s\n%s\ndetails: %s"
                                 % (", ".join(v), self.human(),
                                    json.dumps(self.details, default=str)[:4000]))


def analyze(inputs, replies, dlqs, calls=None, commit_samples=(),
            input_topic=None, final_committed=None, final_time_ms=None):
    """inputs: [InputEvent]; replies: [Reply]; dlqs: [DlqRecord];
    calls: {customer: [LastName strings in arrival order]} or None;
    commit_samples: [(time_ms, {partition: committed offset})];
    final_committed/final_time_ms: the last sample (also used for
    `uncommitted`). Returns a CheckResult."""
    details = collections.defaultdict(list)
    by_src = {}
    by_cid = {}
    for e in inputs:
        by_src[(e.partition, e.offset)] = e
        if e.cid is not None:
            by_cid[e.cid] = e
    untagged = sum(1 for e in inputs if e.seq is None)

    # Replies -> events
    rep_of = collections.defaultdict(list)
    unknown = 0
    for r in replies:
        e = None
        if r.source is not None and (input_topic is None or r.source[0] == input_topic):
            e = by_src.get((r.source[1], r.source[2]))
        if e is None and r.source is None:
            e = by_cid.get(r.cid)
        if e is None or (e.cid is not None and r.cid != e.cid):
            unknown += 1
            details["unknown_replies"].append(r._asdict())
            continue
        rep_of[(e.partition, e.offset)].append(r)

    dlq_of = collections.defaultdict(list)
    dlq_unknown = 0
    reasons = collections.Counter()
    for d in dlqs:
        e = by_src.get((d.source[1], d.source[2])) if d.source else by_cid.get(d.cid)
        if e is None:
            dlq_unknown += 1
            continue
        dlq_of[(e.partition, e.offset)].append(d)
        reasons[d.reason] += 1

    lost = dup_replies = dup_events = dlq_missing = failed = 0
    answered_at = {}
    for e in inputs:
        k = (e.partition, e.offset)
        rs = rep_of.get(k, [])
        if not rs:
            lost += 1
            if len(details["lost"]) < 20:
                details["lost"].append(e._asdict())
            continue
        if not any(r.status == "success" for r in rs):
            failed += 1
        if len(rs) > 1:
            dup_events += 1
            dup_replies += len(rs) - 1
        ds = dlq_of.get(k, [])
        dlq_ts = min((d.ts for d in ds), default=None)
        best = None
        for r in rs:
            if r.status == "success":
                t = r.ts
            elif dlq_ts is not None:
                t = max(r.ts, dlq_ts)
            else:
                continue
            best = t if best is None else min(best, t)
        if best is None:
            dlq_missing += 1
            details["dlq_missing"].append(e._asdict())
        else:
            answered_at[k] = best

    # Order of replies per key
    by_key = collections.defaultdict(list)
    for e in inputs:
        for r in rep_of.get((e.partition, e.offset), []):
            by_key[e.key].append((r, e))
    reply_viol = 0
    split_keys = 0
    for key, lst in by_key.items():
        parts = {r.partition for r, _ in lst}
        if len(parts) > 1:
            split_keys += 1
            lst.sort(key=lambda x: (x[0].ts, x[0].partition, x[0].offset))
        else:
            lst.sort(key=lambda x: x[0].offset)
        stream = [e.seq for _, e in lst if e.seq is not None]
        v = stream_violations(stream)
        reply_viol += len(v)
        if v and len(details["reply_order"]) < 10:
            details["reply_order"].append({"key": key, "violations": v[:5],
                                           "stream": stream[:200]})

    # Moka's call log
    n_calls = call_viol = calls_missing = calls_unknown = 0
    called = set()
    if calls is not None:
        per_key = collections.defaultdict(list)
        for customer, names in calls.items():
            for n in names:
                e = by_cid.get(n)
                if e is None:
                    calls_unknown += 1
                    continue
                n_calls += 1
                called.add((e.partition, e.offset))
                per_key[e.key].append(e.seq)
        for key, stream in per_key.items():
            v = stream_violations(stream)
            call_viol += len(v)
            if v and len(details["call_order"]) < 10:
                details["call_order"].append({"key": key, "violations": v[:5],
                                              "stream": stream[:200]})
        for e in inputs:
            k = (e.partition, e.offset)
            if any(r.status == "success" for r in rep_of.get(k, [])) and k not in called:
                calls_missing += 1
                if len(details["calls_missing"]) < 10:
                    details["calls_missing"].append(e._asdict())

    # Committed offsets against answers
    samples = list(commit_samples)
    if final_committed is not None:
        samples.append((final_time_ms or int(time.time() * 1000), final_committed))
    by_part = collections.defaultdict(list)
    for e in inputs:
        by_part[e.partition].append(e)
    early = set()
    for p, evs in by_part.items():
        evs.sort(key=lambda e: e.offset)
        ps = sorted((c[p], t) for t, c in samples
                    if c.get(p) is not None and c[p] >= 0)
        if not ps:
            continue
        cs = [c for c, _ in ps]
        # suffix minimum of the times: the earliest sample whose committed
        # offset is at least cs[i]
        suf = [0] * len(ps)
        m = None
        for i in range(len(ps) - 1, -1, -1):
            m = ps[i][1] if m is None else min(m, ps[i][1])
            suf[i] = m
        for e in evs:
            i = bisect.bisect_right(cs, e.offset)  # first sample with c > offset
            if i >= len(cs):
                continue
            t = suf[i]
            a = answered_at.get((e.partition, e.offset))
            if a is None or a > t:
                early.add((e.partition, e.offset))
                if len(details["committed_before_answered"]) < 10:
                    details["committed_before_answered"].append(
                        dict(e._asdict(), committed_seen_ms=t, answered_ms=a))
    uncommitted = None
    if final_committed is not None:
        uncommitted = sum(1 for e in inputs
                          if final_committed.get(e.partition, -1) <= e.offset)

    counts = {
        "events": len(inputs),
        "untagged_events": untagged,
        "answered": len(inputs) - lost,
        "lost": lost,
        "failed_events": failed,
        "replies": len(replies),
        "duplicate_replies": dup_replies,
        "duplicated_events": dup_events,
        "unknown_replies": unknown,
        "reply_order_violations": reply_viol,
        "keys": len(by_key),
        "keys_split_over_partitions": split_keys,
        "calls": n_calls,
        "calls_unknown": calls_unknown,
        "call_order_violations": call_viol,
        "calls_missing": calls_missing,
        "dlq_records": len(dlqs),
        "dlq_events": len(dlq_of),
        "dlq_by_reason": dict(reasons),
        "dlq_unknown": dlq_unknown,
        "dlq_missing": dlq_missing,
        "committed_before_answered": len(early),
        "commit_samples": len(samples),
        "uncommitted": uncommitted,
    }
    return CheckResult(counts, dict(details))


# --------------------------------------------------------------------------
# Duplicates after a kill, aborted transactions

def unexplained_duplicates(reply_times, owned, committed, kill_ms):
    """Events answered more than once that a kill -9 does not explain.
    reply_times: {(partition, offset): [reply timestamps, ms]} of every
    answered event; owned: the input partitions the killed bridge owned;
    committed: {partition: committed offset} read right after the kill;
    kill_ms: a time after the killed bridge's last reply. An event may be
    answered twice only when the killed bridge answered it (first reply
    before the kill) and had not committed it (on a partition it owned, at
    or past that partition's committed offset): its new owner answers it
    again. Anything else -- a second reply from a bridge that drained and
    committed, a third reply -- is returned as (partition, offset, replies,
    why)."""
    out = []
    for (p, o), ts in sorted(reply_times.items()):
        if len(ts) < 2:
            continue
        why = None
        if len(ts) > 2:
            why = "answered %d times" % len(ts)
        elif p not in owned:
            why = "partition %d was not the killed bridge's" % p
        elif o < max(committed.get(p, 0), 0):
            why = "below the offset %d committed at the kill" % committed[p]
        elif min(ts) >= kill_ms:
            why = "first answered after the kill"
        if why:
            out.append((p, o, len(ts), why))
    return out


def aborted_records(committed, uncommitted, ids):
    """committed / uncommitted: [(partition, offset, correlation id)] of one
    topic read to its end with isolation.level read_committed /
    read_uncommitted. Returns (aborted, problems): the records only the
    read_uncommitted reader saw (those of aborted transactions), and what
    contradicts transactions: a committed record the read_uncommitted
    reader did not see at the same place, or a record of no event of `ids`
    (a reply a bridge made up, or one from outside the run)."""
    problems = []
    seen = {(p, o): cid for p, o, cid in uncommitted}
    for p, o, cid in committed:
        if seen.get((p, o), object()) != cid:
            problems.append("committed record %d/%d (%s) not seen by "
                            "read_uncommitted" % (p, o, cid))
    done = {(p, o) for p, o, _ in committed}
    aborted = [(p, o, cid) for p, o, cid in uncommitted if (p, o) not in done]
    ids = set(ids)
    for p, o, cid in committed + aborted:
        if cid not in ids:
            problems.append("record %d/%d of no event of the run: %r" % (p, o, cid))
    return aborted, problems


# --------------------------------------------------------------------------
# Reading Kafka and moka-sim

def _consumer(brokers):
    from confluent_kafka import Consumer
    return Consumer({
        "bootstrap.servers": brokers,
        "group.id": "checker-" + uuid.uuid4().hex[:10],
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "isolation.level": "read_committed",
    })


def read_topic(brokers, topic, timeout=120.0):
    """Every record of `topic` up to the high watermarks seen now (the last
    stable offsets with read_committed), as confluent_kafka Messages."""
    from confluent_kafka import TopicPartition, OFFSET_BEGINNING
    c = _consumer(brokers)
    try:
        md = c.list_topics(topic, timeout=20)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise AssertionError("topic %s: %s" % (topic, t and t.error))
        ends = {}
        for p in t.partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=20)
            if hi > lo:
                ends[p] = hi
        if not ends:
            return []
        tps = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends]
        c.assign(tps)
        out = []
        deadline = time.monotonic() + timeout
        while True:
            for m in c.consume(1000, 0.5):
                if m.error():
                    raise AssertionError("consuming %s: %s" % (topic, m.error()))
                if m.offset() < ends[m.partition()]:
                    out.append(m)
            pos = {tp.partition: tp.offset for tp in
                   c.position([TopicPartition(topic, p) for p in ends])}
            if all(pos.get(p, -1) >= hi for p, hi in ends.items()):
                return out
            if time.monotonic() > deadline:
                raise AssertionError("reading %s: stuck at %s, ends %s"
                                     % (topic, pos, ends))
    finally:
        c.close()


def _header(m, name):
    v = None
    for k, b in m.headers() or []:
        if k == name:
            v = b.decode("utf-8", "replace") if b is not None else None
    return v


def _key(m):
    k = m.key()
    return k.decode("utf-8", "replace") if k is not None else None


def to_input(m):
    cid = _header(m, "correlation-id")
    return InputEvent(m.partition(), m.offset(), _key(m), cid, parse_tag(cid))


def to_reply(m):
    src = None
    status = None
    try:
        v = json.loads(m.value())
        s = v["source"]
        src = (s["topic"], int(s["partition"]), int(s["offset"]))
        status = v.get("status")
    except Exception:  # noqa: BLE001 - an unreadable reply matches nothing
        pass
    return Reply(m.partition(), m.offset(), _key(m), _header(m, "correlation-id"),
                 src, status, m.timestamp()[1])


def to_dlq(m):
    src = None
    try:
        src = (_header(m, "dlq.original-topic"),
               int(_header(m, "dlq.original-partition")),
               int(_header(m, "dlq.original-offset")))
    except (TypeError, ValueError):
        pass
    return DlqRecord(m.partition(), m.offset(), _header(m, "correlation-id"), src,
                     _header(m, "dlq.reason"), m.timestamp()[1])


def committed_offsets(brokers, group, topic):
    """{partition: committed offset} of `group` on `topic` (-1001 = none)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": brokers, "group.id": group,
                  "enable.auto.commit": False})
    try:
        md = c.list_topics(topic, timeout=10)
        parts = sorted(md.topics[topic].partitions)
        tps = c.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


class CommitSampler:
    """Samples a group's committed offsets every `interval` seconds in a
    thread; each sample is (time_ms read after the answer, {p: offset}).
    A failed read is counted and kept (`errors`, `last_error`), not raised,
    so that a broker restart does not kill the thread; `problems()` then
    says whether the samples can be trusted."""

    # A run fails when more reads than this share failed, or when fewer
    # samples than this share of the possible ones were taken while not
    # paused.
    MAX_ERROR_SHARE = 0.1
    MIN_SAMPLE_SHARE = 0.5

    def __init__(self, brokers, group, topic, interval=0.5, read=None):
        self.brokers, self.group, self.topic = brokers, group, topic
        self.interval = interval
        self.samples = []
        self.errors = 0
        self.attempts = 0
        self.last_error = None
        self.active_s = 0.0  # time spent sampling (not paused)
        # read(consumer, partitions) -> {p: offset}; tests replace it.
        self._read = read or self._read_committed
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _read_committed(self, c, parts):
        from confluent_kafka import TopicPartition
        if parts is None:
            md = c.list_topics(self.topic, timeout=5)
            parts = sorted(md.topics[self.topic].partitions)
        tps = c.committed([TopicPartition(self.topic, p) for p in parts], timeout=5)
        return {tp.partition: tp.offset for tp in tps}

    def _run(self):
        from confluent_kafka import Consumer
        c = None
        parts = None
        try:
            while not self._stop.is_set():
                if self.paused.is_set():
                    if c is not None:
                        c.close()
                        c = None
                    self._stop.wait(0.05)
                    continue
                t0 = time.monotonic()
                self.attempts += 1
                try:
                    if c is None:
                        c = Consumer({"bootstrap.servers": self.brokers,
                                      "group.id": self.group,
                                      "enable.auto.commit": False})
                    got = self._read(c, parts)
                    parts = parts or sorted(got)
                    self.samples.append((int(time.time() * 1000), got))
                except Exception as e:  # noqa: BLE001 - counted, see problems()
                    self.errors += 1
                    self.last_error = repr(e)
                self._stop.wait(self.interval)
                self.active_s += time.monotonic() - t0
        finally:
            if c is not None:
                c.close()

    def problems(self):
        """Why the samples cannot back "committed before answered": too
        many failed reads, or too few samples for the time sampled. []
        when they can."""
        out = []
        if self.attempts and self.errors > self.MAX_ERROR_SHARE * self.attempts:
            out.append("%d of %d committed-offset reads failed, last: %s"
                       % (self.errors, self.attempts, self.last_error))
        want = int(self.MIN_SAMPLE_SHARE * self.active_s / self.interval)
        if len(self.samples) < max(1, want):
            out.append("%d committed-offset samples in %.1f s of sampling "
                       "every %.1f s (at least %d wanted); last error: %s"
                       % (len(self.samples), self.active_s, self.interval,
                          max(1, want), self.last_error))
        return out

    def pause(self, paused=True):
        """Pauses sampling and closes the client (while the broker is
        stopped: librdkafka 2.16 in confluent_kafka can abort the process on
        the assertion `eonce->refcnt > 0` in rd_kafka_enq_once_del_source_return
        when a consumer's coordinator goes away); returns once closed."""
        if paused:
            self.paused.set()
            time.sleep(self.interval + 0.2)
        else:
            self.paused.clear()

    def stop(self):
        self._stop.set()
        self._t.join(30)
        return self.samples


def sim_calls(sim_url, timeout=30):
    """{customer: [LastName of each received request, in arrival order]}."""
    import requests
    s = requests.Session()
    idx = s.get(sim_url + "/_sim/calls", timeout=timeout).json()
    if idx.get("dropped"):
        raise AssertionError("moka-sim dropped %d call log entries (--call-log-max)"
                             % idx["dropped"])
    out = {}
    for customer in idx.get("customers", {}):
        r = s.get(sim_url + "/_sim/calls", params={"customer": customer},
                  timeout=timeout).json()
        out[customer] = [c.get("LastName") if isinstance(c, dict) else None
                         for c in r.get("calls", [])]
    return out


def check(brokers, input_topic, reply_topic, dlq_topic, sim_url=None, group=None,
          commit_samples=(), replies=None, dlqs=None):
    """Reads everything and analyzes it. `replies`/`dlqs` (lists of Reply /
    DlqRecord) replace reading those topics, for tests that collected them
    live (a topic deleted during the run)."""
    inputs = [to_input(m) for m in read_topic(brokers, input_topic)]
    if replies is None:
        replies = [to_reply(m) for m in read_topic(brokers, reply_topic)]
    if dlqs is None:
        dlqs = [to_dlq(m) for m in read_topic(brokers, dlq_topic)]
    calls = sim_calls(sim_url) if sim_url else None
    final = None
    final_t = None
    if group:
        final = committed_offsets(brokers, group, input_topic)
        final_t = int(time.time() * 1000)
    return analyze(inputs, replies, dlqs, calls, commit_samples,
                   input_topic=input_topic, final_committed=final,
                   final_time_ms=final_t)


def record(result, label, path=None, extra=None):
    """Prints the counts (one JSON line, one human line) and appends the JSON
    line to `path` when given."""
    line = dict(result.counts)
    line["label"] = label
    line.update(extra or {})
    s = json.dumps(line, sort_keys=True)
    print(s)
    print("%s: %s" % (label, result.human()))
    if path:
        with open(path, "a") as f:
            f.write(s + "\n")
    return line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--input", required=True, help="input topic")
    ap.add_argument("--reply", required=True, help="reply topic")
    ap.add_argument("--dlq", required=True, help="DLQ topic")
    ap.add_argument("--sim", help="moka-sim base URL, for its call log")
    ap.add_argument("--group", help="the bridge's consumer group (committed offsets)")
    ap.add_argument("--watch", type=float, default=0.0,
                    help="sample the group's committed offsets for this many "
                         "seconds before checking")
    ap.add_argument("--max-duplicates", type=int, default=None)
    ap.add_argument("--label", default="check")
    ap.add_argument("--results", help="append the JSON line to this file")
    a = ap.parse_args(argv)
    samples = []
    sampling = []
    if a.watch > 0:
        if not a.group:
            ap.error("--watch needs --group")
        s = CommitSampler(a.brokers, a.group, a.input).start()
        time.sleep(a.watch)
        samples = s.stop()
        sampling = s.problems()
    res = check(a.brokers, a.input, a.reply, a.dlq, a.sim, a.group, samples)
    record(res, a.label, a.results)
    v = res.violations(a.max_duplicates) + sampling
    if v:
        print("FAILED: " + ", ".join(v), file=sys.stderr)
        print(json.dumps(res.details, default=str)[:4000], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
