"""Building blocks of the fault tests (test_faults.py): the scale, a load
generator of checked events, the end-of-run wait, and the check + report
of the counts (checker.py).

MOKA_FAULTS_SCALE=short (default, CI) or long (scripts/faults.sh).
FAULTS_RESULTS=FILE: where each test appends its counts as one JSON line
(default: faults-results.jsonl under pytest's base temporary directory).
"""

import os
import random
import threading
import time
import uuid

import checker

SCALE = os.environ.get("MOKA_FAULTS_SCALE", "short")
if SCALE not in ("short", "long"):
    raise ValueError("MOKA_FAULTS_SCALE must be short or long, not %r" % SCALE)
LONG = SCALE == "long"


def pick(short, long):
    return long if LONG else short


# A bridge that dies without leaving the group holds its partitions until
# its session times out: keep that short.
FAST_SESSION = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}


class Load:
    """Produces checked customer updates (checker.make_event) to `topic`
    in a thread: `rate` events/s in batches every 0.1 s over `keys` keys
    (or `key_of(i)` when given), until `total` events or stop().
    `poison(i, key, seq, tag, customer)` may return a value (bytes, str or
    dict) that replaces event i's value. The producer survives a broker outage (it retries
    until the broker is back)."""

    def __init__(self, kafka, topic, rate, total=None, keys=50, key_of=None,
                 poison=None, batch_s=0.1):
        self.kafka, self.topic = kafka, topic
        self.rate, self.total = rate, total
        self.run = uuid.uuid4().hex[:6]
        self.key_of = key_of or (lambda i: "k%03d" % (i % keys))
        self.poison = poison
        self.batch_s = batch_s
        self.seq = checker.KeySequencer()
        self.sent = 0
        self.poisoned = []  # (key, seq) of poison events
        self.error = None
        self._paused = threading.Event()
        self._idle = threading.Event()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._go, daemon=True)

    def customer(self, key):
        return "auto-%s-%s" % (self.run, key)

    def start(self):
        self._t.start()
        return self

    def _go(self):
        try:
            per = max(1, int(self.rate * self.batch_s))
            nxt = time.monotonic()
            while not self._stop.is_set():
                if self._paused.is_set():
                    self._idle.set()
                    self._stop.wait(0.05)
                    nxt = time.monotonic()
                    continue
                n = per if self.total is None else min(per, self.total - self.sent)
                if n <= 0:
                    break
                evs = []
                for i in range(self.sent, self.sent + n):
                    key = self.key_of(i)
                    s = self.seq.take(key)
                    tag = checker.event_tag(s)
                    value = (self.poison(i, key, s, tag, self.customer(key))
                             if self.poison else None)
                    if value is not None:
                        self.poisoned.append((key, s))
                    evs.append(checker.make_event(key, s, self.customer(key),
                                                  value=value, tag=tag))
                self.kafka.produce(self.topic, evs)
                self.sent += n
                nxt += self.batch_s
                d = nxt - time.monotonic()
                if d > 0:
                    self._stop.wait(d)
                else:
                    nxt = time.monotonic()
        except Exception as e:  # noqa: BLE001 - reported by join()
            self.error = e

    def pause(self, paused=True):
        """Stops producing (returns once no batch is in progress) or resumes."""
        if paused:
            self._idle.clear()
            self._paused.set()
            while not self._idle.wait(0.1):
                if not self._t.is_alive():
                    break
        else:
            self._paused.clear()

    def stop(self):
        self._stop.set()
        return self.join()

    def join(self, timeout=600):
        self._t.join(timeout)
        if self.error is not None:
            raise AssertionError("load generator failed: %r" % (self.error,))
        return self.sent


def results_path(request):
    p = os.environ.get("FAULTS_RESULTS")
    if p:
        return p
    base = request.getfixturevalue("tmp_path_factory").getbasetemp()
    return os.path.join(str(base), "faults-results.jsonl")


def check_and_report(request, kafka, topics, group, label, sampler, sim=None,
                     max_duplicates=None, extra=None, replies=None, dlqs=None):
    """Runs the checker on the run's topics, prints and records the counts,
    and fails on any violation (checker.CheckResult.violations: loss,
    order, a success without a Moka call, commit before answer, ...), on
    more duplicates than max_duplicates, and when the committed offsets
    were not sampled well enough to judge "committed before answered"
    (sampler.problems()). Returns the counts."""
    samples = sampler.stop()
    res = checker.check(kafka.brokers, topics.customer_update, topics.cu_reply,
                        topics.cu_dlq, sim.base_url if sim else None, group,
                        samples, replies=replies, dlqs=dlqs)
    ex = {"scale": SCALE, "test": request.node.name,
          "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
          "commit_sample_errors": sampler.errors,
          "commit_sample_attempts": sampler.attempts}
    ex.update(extra or {})
    path = results_path(request)
    line = checker.record(res, label, path, ex)
    print("results appended to %s" % path)
    res.assert_ok(max_duplicates)
    bad = sampler.problems()
    assert not bad, "committed offsets not sampled well enough: " + "; ".join(bad)
    return line


def jitter(a, b):
    return random.uniform(a, b)


COLUMNS = [("label", "fault"), ("events", "events"), ("lost", "lost"),
           ("duplicate_replies", "dup replies"), ("reply_order_violations", "order (replies)"),
           ("call_order_violations", "order (calls)"), ("dlq_events", "DLQ'd"),
           ("committed_before_answered", "committed before answered"),
           ("calls", "Moka calls"), ("commit_samples", "commit samples")]


def table(lines):
    """The counts of FAULTS_RESULTS lines as a Markdown table."""
    out = ["| " + " | ".join(h for _, h in COLUMNS) + " |",
           "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for line in lines:
        out.append("| " + " | ".join(str(line.get(k, "")) for k, _ in COLUMNS) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    import json
    import sys
    with open(sys.argv[1]) as f:
        print(table([json.loads(l) for l in f if l.strip()]))
