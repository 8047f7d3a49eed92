#!/usr/bin/env python3
"""moka-bridge benchmark: moka-bridge against peers doing the same work.

For every scenario and system: fresh topics, N customer-update events loaded
into the input topic FIRST (a backlog), a fresh moka-sim with the scenario's
latency, then the system under test (SUT) is started and runs until every
event has its reply (counted by the reply topic's high watermarks, which costs
the SUT nothing), or until the run's time limit (partial result, marked). The
reply topic is read only after the SUT has stopped.

  bench/run.py [--brokers HOST:PORT] [--systems moka-bridge,benthos,python]
               [--scenarios a,b,c,d] [--events-scale 0.1] [--sweep]
               [--bridge build/moka-bridge] [--benthos PATH] [--out DIR]

Without --brokers a broker is started with scripts/kafka.sh (and stopped).
Results: <out>/results.json, results.md, throughput.png (default out:
bench/results/<UTC timestamp>). Metrics are explained in docs/benchmarks.md.
"""

import argparse
import array
import datetime
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")
DEALER = ("1731", "TestMoka2", "HYSYHDS8DU8HU")  # moka-sim's default dealer
HOT_KEY = "auto-hot"

# name: (default events, distinct keys, Moka latency ms, hot-key share, what)
SCENARIOS = {
    "a": (200000, 10000, 0, 0.0, "sim latency 0 ms, 10,000 keys"),
    "b": (100000, 10000, 50, 0.0, "sim latency 50 ms, 10,000 keys"),
    "c": (20000, 10000, 100, 0.9, "sim latency 100 ms, 90% of events on one key, rest over 10,000 keys"),
    "d": (1000000, 10000, 100, 0.0, "backlog of 1,000,000 events, sim latency 100 ms, 10,000 keys"),
}
ALL_SYSTEMS = ("moka-bridge", "benthos", "benthos-ordered", "python")


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


# ---------------------------------------------------------------------------
# processes

def proc_tree(pid):
    """pid and all its live descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def proc_sample(pid):
    """(cpu seconds user+sys incl. waited children, VmRSS kB, VmHWM kB) summed
    over the process tree; None when the process is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu, rss, hwm, seen = 0.0, 0, 0, False
    for p in proc_tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%d/status" % p) as f:
                st = {l.split(":")[0]: l.split()[1] for l in f if l.startswith(("VmRSS", "VmHWM"))}
        except (OSError, IndexError):
            continue
        seen = True
        cpu += sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
        rss += int(st.get("VmRSS", 0))
        hwm += int(st.get("VmHWM", 0))
    return (cpu, rss, hwm) if seen else None


def stop_process(p, grace):
    """SIGTERM, wait up to grace seconds, SIGKILL. Returns (exit status,
    rusage or None, seconds taken)."""
    t0 = time.time()
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + grace
    while time.time() < deadline:
        try:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        except ChildProcessError:
            return p.returncode, None, time.time() - t0
        if pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, ru, time.time() - t0
        time.sleep(0.05)
    p.kill()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru, time.time() - t0


class Sim:
    def __init__(self, binary, latency_ms, workdir):
        self.port_file = os.path.join(workdir, "sim.port")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(os.path.join(workdir, "sim.log"), "w")
        self.p = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
             "--latency-ms", str(latency_ms), "--call-log-max", "0", "--threads", "2"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while not os.path.exists(self.port_file):
            if self.p.poll() is not None or time.time() > deadline:
                raise RuntimeError("moka-sim did not start (see %s)" % self.log.name)
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.url = "http://127.0.0.1:%d" % int(f.read().strip())

    def stats(self):
        try:
            with urllib.request.urlopen(self.url + "/_sim/stats", timeout=5) as r:
                return json.loads(r.read())
        except Exception:  # noqa: BLE001
            return None

    def stop(self):
        stop_process(self.p, 10)
        self.log.close()


# ---------------------------------------------------------------------------
# Kafka

class KafkaEnv:
    def __init__(self, brokers):
        from confluent_kafka.admin import AdminClient
        self.brokers = brokers
        self.admin = AdminClient({"bootstrap.servers": brokers})
        self._watch = None

    def create_topics(self, names, partitions):
        from confluent_kafka.admin import NewTopic
        fs = self.admin.create_topics([NewTopic(n, partitions, 1) for n in names],
                                      operation_timeout=30)
        for f in fs.values():
            f.result(timeout=60)
        deadline = time.time() + 30
        while time.time() < deadline:
            md = self.admin.list_topics(timeout=10)
            if all(n in md.topics and md.topics[n].error is None
                   and len(md.topics[n].partitions) == partitions
                   and all(p.leader >= 0 for p in md.topics[n].partitions.values())
                   for n in names):
                return
            time.sleep(0.1)
        raise RuntimeError("topics %s have no leaders" % names)

    def delete_topics(self, names):
        try:
            for f in self.admin.delete_topics(list(names), operation_timeout=30).values():
                f.result(timeout=30)
        except Exception as e:  # noqa: BLE001
            log("delete topics: %s" % e)

    def watch(self):
        if self._watch is None:
            from confluent_kafka import Consumer
            self._watch = Consumer({"bootstrap.servers": self.brokers,
                                    "group.id": "bench-watch-" + uuid.uuid4().hex[:8],
                                    "enable.auto.commit": False})
        return self._watch

    def count(self, topic, partitions):
        """Records in topic (sum of high - low watermarks). Retries for up to
        30 s on transient errors (e.g. NOT_LEADER_FOR_PARTITION just after
        the topic was created)."""
        from confluent_kafka import KafkaException, TopicPartition
        c = self.watch()
        deadline = time.time() + 30
        while True:
            try:
                total = 0
                for p in range(partitions):
                    lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                    total += hi - lo
                return total
            except KafkaException as e:
                if time.time() > deadline:
                    raise
                log("watermarks of %s: %s; retrying" % (topic, e))
                time.sleep(0.5)

    def read_all(self, topic, partitions, fn):
        """Calls fn(msg) for every record of topic, partition by partition, in
        offset order, up to the high watermarks of now."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.brokers, "group.id": "bench-read",
                      "enable.auto.commit": False, "fetch.max.bytes": 52428800,
                      "max.partition.fetch.bytes": 10485760})
        try:
            end, assign = {}, []
            for p in range(partitions):
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if hi > lo:
                    end[p] = hi
                    assign.append(TopicPartition(topic, p, lo))
            if not assign:
                return
            c.assign(assign)
            idle = 0
            while end and idle < 100:
                msgs = c.consume(10000, 0.1)
                if not msgs:
                    idle += 1
                    continue
                idle = 0
                for m in msgs:
                    if m.error():
                        continue
                    p = m.partition()
                    if p not in end:
                        continue
                    fn(m)
                    if m.offset() + 1 >= end[p]:
                        del end[p]
        finally:
            c.close()


# ---------------------------------------------------------------------------
# load

def make_keys(n, keys, hot_share, seed=42):
    """key index per event (-1 = hot key) and the per-key sequence number."""
    rnd = random.Random(seed)
    key_of = array.array("i", bytes(4 * n))
    seq_of = array.array("i", bytes(4 * n))
    counters = {}
    for i in range(n):
        if hot_share > 0:
            k = -1 if rnd.random() < hot_share else rnd.randrange(keys)
        else:
            k = i % keys
        key_of[i] = k
        s = counters.get(k, 0)
        seq_of[i] = s
        counters[k] = s + 1
    return key_of, seq_of


def key_name(k):
    return HOT_KEY if k < 0 else "auto-%d" % k


def load_events(env, topic, key_of, seq_of):
    """Produces the events; returns the input timestamps (ms) by event index."""
    from confluent_kafka import Producer
    n = len(key_of)
    ts = array.array("q", bytes(8 * n))
    errors = []

    def dr(err, msg):
        if err is not None:
            errors.append(err)

    # Idempotent: a retried batch on a fresh broker must not reorder a key's
    # events in the input (a plain producer did: 3,253 of 200,000 out of order).
    prod = Producer({"bootstrap.servers": env.brokers, "linger.ms": 50,
                     "enable.idempotence": True,
                     "batch.num.messages": 10000, "queue.buffering.max.messages": 1000000,
                     "queue.buffering.max.kbytes": 1048576, "compression.type": "lz4"})
    for i in range(n):
        k = key_name(key_of[i])
        value = ('{"CustomerCode":"%s","FirstName":"Bench","LastName":"seq-%d-%d",'
                 '"Email":"b%d@example.com"}' % (k, seq_of[i], i, i))
        now = int(time.time() * 1000)
        ts[i] = now
        while True:
            try:
                prod.produce(topic, key=k, value=value, timestamp=now,
                             headers=[("correlation-id", b"e%d" % i)], on_delivery=dr)
                break
            except BufferError:
                prod.poll(0.1)
        if i % 5000 == 0:
            prod.poll(0)
    if prod.flush(120) != 0 or errors:
        raise RuntimeError("loading failed: %d undelivered, errors %s"
                           % (len(prod), errors[:3]))
    return ts


# ---------------------------------------------------------------------------
# systems under test

def bridge_config(a, env, topics, group, sim_url):
    return (
        "# generated by bench/run.py: defaults except what the run needs\n"
        "kafka: {\n  brokers = \"%s\";\n  group_id = \"%s\";\n};\n"
        "moka: {\n  base_url = \"%s\";\n  dealer_code = \"%s\";\n  username = \"%s\";\n};\n"
        "# moka.password comes from MOKA_BRIDGE_MOKA_PASSWORD\n"
        "topics: {\n  customer_update = \"%s\";\n  sale_list = \"%s\";\n};\n"
        "log: {\n  level = \"warn\";\n};\n"
        % (env.brokers, group, sim_url, DEALER[0], DEALER[1],
           topics["cu"], topics["sl"]))


def sut_command(system, a, env, topics, group, sim_url, rundir, name):
    """(argv, environment, recorded configuration) of a system under test."""
    e = dict(os.environ)
    e.update({"BENCH_BROKERS": env.brokers, "BENCH_GROUP": group,
              "BENCH_INPUT": topics["cu"], "BENCH_REPLY": topics["cu_reply"],
              "BENCH_DLQ": topics["cu_dlq"], "BENCH_MOKA_URL": sim_url,
              "MOKA_DEALER_CODE": DEALER[0], "MOKA_USERNAME": DEALER[1],
              "MOKA_PASSWORD": DEALER[2]})
    if system == "moka-bridge":
        conf = bridge_config(a, env, topics, group, sim_url)
        e["MOKA_BRIDGE_MOKA_PASSWORD"] = DEALER[2]
        path = os.path.join(rundir, "configs", name + ".conf")
        with open(path, "w") as f:
            f.write(conf)
        return [a.bridge, "run", "--config", path], e, {"config_file": os.path.relpath(path, rundir)}
    if system in ("benthos", "benthos-ordered"):
        if system == "benthos-ordered":
            # Benthos 4.27 keeps per-key order only when fully serial:
            # checkpoint_limit alone does not do it (it only pauses fetching,
            # records already fetched are processed in parallel; measured).
            extra = {"BENCH_THREADS": "1", "BENCH_MAX_IN_FLIGHT": "1", "BENCH_CHECKPOINT_LIMIT": "1"}
        else:
            extra = {"BENCH_THREADS": str(a.benthos_threads), "BENCH_MAX_IN_FLIGHT": "256",
                     "BENCH_CHECKPOINT_LIMIT": "1024"}
        e.update(extra)
        cfg = os.path.join(PEERS, "benthos.yaml")
        return [a.benthos, "-c", cfg], e, {"config_file": "bench/peers/benthos.yaml", "env": extra}
    if system == "python":
        return ([sys.executable, os.path.join(PEERS, "python_consumer.py")], e,
                {"config_file": "bench/peers/python_consumer.py"})
    raise ValueError(system)


# ---------------------------------------------------------------------------
# one run

def run_one(a, env, rundir, scen_name, spec, system):
    events, keys, latency_ms, hot, what = spec
    max_s = spec_max_seconds(a, scen_name, system, hot)
    name = "%s-%s" % (scen_name, system)
    tag = uuid.uuid4().hex[:6]
    base = "bench.%s.%s" % (tag, name)
    topics = {"cu": base + ".cu", "sl": base + ".sl"}
    topics.update(cu_reply=topics["cu"] + ".reply", cu_dlq=topics["cu"] + ".dlq",
                  sl_reply=topics["sl"] + ".reply", sl_dlq=topics["sl"] + ".dlq")
    res = {"scenario": scen_name, "scenario_desc": what, "system": system,
           "events": events, "keys": keys, "hot_key_share": hot, "moka_latency_ms": latency_ms,
           "partitions": a.partitions, "max_seconds": max_s, "topics": topics}
    log("run %s: %d events, %d keys, hot %.0f%%, latency %d ms, limit %ds"
        % (name, events, keys, hot * 100, latency_ms, max_s))
    env.create_topics(list(topics.values()), a.partitions)
    key_of, seq_of = make_keys(events, keys, hot)
    t = time.time()
    in_ts = load_events(env, topics["cu"], key_of, seq_of)
    loaded = env.count(topics["cu"], a.partitions)
    res["load_seconds"] = round(time.time() - t, 2)
    if loaded != events:
        raise RuntimeError("input topic holds %d records, expected %d" % (loaded, events))
    log("loaded %d events in %.1fs" % (loaded, time.time() - t))

    simdir = os.path.join(rundir, "logs", name)
    os.makedirs(simdir, exist_ok=True)
    sim = Sim(a.sim, latency_ms, simdir)
    group = "bench-%s-%s" % (tag, name)
    argv, e, recorded = sut_command(system, a, env, topics, group, sim.url, rundir, name)
    res["config"] = recorded
    res["command"] = [os.path.relpath(x, ROOT) if x.startswith(ROOT) else x for x in argv]
    sut_log = open(os.path.join(simdir, "sut.log"), "w")
    p = None
    rc, ru, stop_s = None, None, 0.0
    t_start = time.time()
    t_first_call = None
    timeline, sample, peak_rss = [], None, 0
    replies_at_sample = 0
    outcome = "harness-error"
    try:
        t_start = time.time()
        p = subprocess.Popen(argv, env=e, stdout=sut_log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=ROOT)
        replies = 0
        last_sample = 0
        outcome = "complete"
        while True:
            now = time.time()
            if t_first_call is None:
                st = sim.stats()
                if st and st.get("requests_total", 0) > 0:
                    t_first_call = now
            replies = env.count(topics["cu_reply"], a.partitions)
            if now - last_sample >= 1.0 or replies >= events:
                s = proc_sample(p.pid)
                if s:
                    sample = s
                    replies_at_sample = replies
                    peak_rss = max(peak_rss, s[2])
                    timeline.append([round(now - t_start, 2), replies, s[1], round(s[0], 2)])
                last_sample = now
            if replies >= events:
                break
            if p.poll() is not None:
                outcome = "sut-exited(%s)" % p.returncode
                break
            if now - t_start > max_s:
                outcome = "time-limit"
                break
            time.sleep(0.1)
        t_done = time.time()
        log("%s: %s, %d/%d replies after %.1fs" % (name, outcome, replies, events, t_done - t_start))
    finally:
        if p is not None:
            rc, ru, stop_s = stop_process(p, 45)
        sut_log.close()
        sim_stats = sim.stats()
        sim.stop()
    res.update({"outcome": outcome, "complete": outcome == "complete",
                "exit_status": rc, "shutdown_seconds": round(stop_s, 2),
                "sim_stats": sim_stats, "timeline": timeline})

    # CPU and memory of the SUT: sampled at completion (shutdown excluded),
    # and the rusage of the whole process life (shutdown included).
    cpu_s = sample[0] if sample else None
    # (rusage's ru_maxrss is not used: Linux counts in it the RSS of the forked
    # harness before exec, so VmHWM sampled from /proc is the figure.)
    if ru is not None:
        res["cpu_seconds_with_shutdown"] = round(ru.ru_utime + ru.ru_stime, 3)
    res["cpu_seconds"] = round(cpu_s, 3) if cpu_s is not None else None
    res["peak_rss_mb"] = round(peak_rss / 1024.0, 1)

    # Read the replies (after the SUT stopped).
    t = time.time()
    seen = bytearray(events)
    acc = {"dups": 0, "unknown": 0, "bad": 0, "success": 0, "failure": 0,
           "order_violations": 0, "ts": [], "lat": [], "first_bad": None}
    last_seq = {}

    def on_reply(m):
        corr = None
        status = None
        for k, v in m.headers() or []:
            if k == "correlation-id":
                corr = v
            elif k == "moka-status":
                status = v
        try:
            i = int(corr[1:]) if corr and corr[:1] == b"e" else -1
        except ValueError:
            i = -1
        if not 0 <= i < events:
            acc["unknown"] += 1
            return
        try:
            v = json.loads(m.value())
            ok = (v.get("schema") == "moka-bridge.reply/1" and v.get("correlation_id") == "e%d" % i
                  and v.get("status") in ("success", "failure") and "result_code" in v
                  and (v["status"] == "failure" or
                       (v.get("data") or {}).get("DealerCustomer", {}).get("LastName")
                       == "seq-%d-%d" % (seq_of[i], i)))
        except Exception:  # noqa: BLE001
            ok, v = False, None
        if not ok:
            acc["bad"] += 1
            if acc["first_bad"] is None:
                acc["first_bad"] = m.value()[:400].decode("utf-8", "replace")
        if v and v.get("status") == "success":
            acc["success"] += 1
        else:
            acc["failure"] += 1
        if seen[i]:
            acc["dups"] += 1
            return
        seen[i] = 1
        k = key_of[i]
        if last_seq.get(k, -1) > seq_of[i]:
            acc["order_violations"] += 1
        last_seq[k] = max(last_seq.get(k, -1), seq_of[i])
        rts = m.timestamp()[1]
        acc["ts"].append(rts)
        acc["lat"].append(rts - in_ts[i])

    env.read_all(topics["cu_reply"], a.partitions, on_reply)
    res["dlq_records"] = env.count(topics["cu_dlq"], a.partitions)
    res["read_seconds"] = round(time.time() - t, 2)
    answered = len(acc["ts"])
    res.update({"answered": answered, "duplicate_replies": acc["dups"],
                "unknown_replies": acc["unknown"], "malformed_replies": acc["bad"],
                "first_malformed_reply": acc["first_bad"],
                "success_replies": acc["success"], "failure_replies": acc["failure"],
                "order_violations": acc["order_violations"]})
    if answered:
        first_ms, last_ms = min(acc["ts"]), max(acc["ts"])
        t0 = t_first_call if t_first_call is not None else first_ms / 1000.0
        span = last_ms / 1000.0 - t0
        res["first_call_after_start_s"] = round(t0 - t_start, 3) if t_first_call else None
        res["seconds_first_call_to_last_reply"] = round(span, 3)
        res["seconds_start_to_last_reply"] = round(last_ms / 1000.0 - t_start, 3)
        res["events_per_s"] = round(answered / span, 1) if span > 0 else None
        res["events_per_s_wall"] = round(answered / max(1e-3, last_ms / 1000.0 - t_start), 1)
        lat = sorted(acc["lat"])
        since = sorted(x - int(t_start * 1000) for x in acc["ts"])
        res["latency_ms"] = {"p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99),
                             "max": lat[-1]}
        res["since_start_ms"] = {"p50": pct(since, 50), "p99": pct(since, 99), "max": since[-1]}
        if cpu_s is not None and replies_at_sample:
            # CPU until the last sample over the replies counted at that moment
            # (a partial run's SUT may answer more while it drains on SIGTERM).
            res["cpu_us_per_event"] = round(cpu_s * 1e6 / replies_at_sample, 1)
    if not a.keep_topics:
        env.delete_topics(list(topics.values()))
    return res


def spec_max_seconds(a, scen, system, hot):
    limit = a.max_seconds
    if hot > 0:
        limit = min(limit, a.hot_max_seconds)
    for item in a.max_seconds_for:
        s, _, v = item.partition("=")
        if s == system:
            limit = min(limit, float(v))
    return limit


# ---------------------------------------------------------------------------
# reports

def fmt(v, nd=0):
    if v is None:
        return "–"
    if isinstance(v, float):
        return ("{:,.%df}" % nd).format(v)
    if isinstance(v, int):
        return "{:,}".format(v)
    return str(v)


def write_reports(outdir, meta, runs):
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1)
    lines = ["# moka-bridge benchmark %s" % meta["started_at"], "",
             "Command: `%s`  " % meta["command"],
             "Machine: %s, %s cores, %s GB RAM, kernel %s  " % (
                 meta["machine"]["cpu"], meta["machine"]["cores"], meta["machine"]["mem_gb"],
                 meta["machine"]["kernel"]),
             "Versions: %s" % ", ".join("%s %s" % kv for kv in meta["versions"].items()), "",
             "Events/s = answered events ÷ (first Moka call → last reply). "
             "Latency = reply timestamp − input timestamp (events were pre-loaded: "
             "this is mostly time spent in the backlog). See docs/benchmarks.md.", "",
             "| scenario | system | events | answered | outcome | events/s | events/s (wall) "
             "| CPU µs/event | peak RSS MB | p50 ms | p99 ms | failures | order viol. | dups |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        if "error" in r:
            lines.append("| %s | %s | %s | – | error: %s | | | | | | | | | |"
                         % (r["scenario"], r["system"], fmt(r.get("events")), r["error"][:80]))
            continue
        lat = r.get("latency_ms") or {}
        out = r["outcome"] if r["complete"] else "**PARTIAL** (%s)" % r["outcome"]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["scenario"], r["system"], fmt(r["events"]), fmt(r["answered"]), out,
            fmt(r.get("events_per_s")), fmt(r.get("events_per_s_wall")),
            fmt(r.get("cpu_us_per_event"), 1), fmt(r.get("peak_rss_mb"), 1),
            fmt(lat.get("p50")), fmt(lat.get("p99")), fmt(r.get("failure_replies")),
            fmt(r.get("order_violations")), fmt(r.get("duplicate_replies"))))
    # Ratios: moka-bridge ÷ peer, per scenario.
    by = {(r["scenario"], r["system"]): r for r in runs if "error" not in r}
    peers = [s for s in ALL_SYSTEMS if s != "moka-bridge" and any(k[1] == s for k in by)]
    if peers and any(k[1] == "moka-bridge" for k in by):
        lines += ["", "Ratios moka-bridge ÷ peer (throughput: >1 = bridge faster; "
                  "CPU/event and RSS: <1 = bridge cheaper)", "",
                  "| scenario | peer | events/s | CPU µs/event | peak RSS |", "|---|---|---:|---:|---:|"]
        for scen in sorted({k[0] for k in by}):
            b = by.get((scen, "moka-bridge"))
            for peer in peers:
                q = by.get((scen, peer))
                if not b or not q:
                    continue

                def ratio(key):
                    x, y = b.get(key), q.get(key)
                    return "%.2f" % (x / y) if x and y else "–"
                mark = "" if q["complete"] and b["complete"] else " (partial)"
                lines.append("| %s | %s%s | %s | %s | %s |" % (
                    scen, peer, mark, ratio("events_per_s"), ratio("cpu_us_per_event"),
                    ratio("peak_rss_mb")))
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    try:
        plot(outdir, runs)
    except Exception as e:  # noqa: BLE001
        log("plot failed: %s" % e)


def plot(outdir, runs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    systems = sorted({r["system"] for r in runs if "error" not in r})
    for s in systems:
        pts = sorted((r["moka_latency_ms"], r["events_per_s"], r["complete"], r["scenario"])
                     for r in runs if "error" not in r and r["system"] == s
                     and r["hot_key_share"] == 0 and r.get("events_per_s"))
        if not pts:
            continue
        # The line joins the sweep points when there are any, else the
        # scenarios; scenario points (a, b, d) are markers with their name.
        sweep = [p for p in pts if p[3].startswith("sweep-")]
        line_pts = sweep or pts
        line, = ax.plot([p[0] for p in line_pts], [p[1] for p in line_pts], marker="o", label=s)
        for x, y, complete, scen in pts:
            if not complete:
                ax.plot([x], [y], marker="o", mfc="white", color=line.get_color())
            if sweep and scen.startswith("sweep-"):
                continue
            ax.plot([x], [y], marker="s", color=line.get_color(), mfc="none", ms=9)
            ax.annotate(scen, (x, y), fontsize=7, textcoords="offset points", xytext=(5, -9))
    ax.set_xlabel("moka-sim latency (ms)")
    ax.set_ylabel("events/s (first Moka call → last reply)")
    ax.set_yscale("log")
    ax.set_title("Throughput against Moka latency (10,000 keys)\n"
                 "squares: scenarios a, b, d; hollow: partial (time limit)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "throughput.png"), dpi=110)
    plt.close(fig)


def first(v):
    return v[0] if isinstance(v, tuple) else v


def collect_meta(a, argv):
    def cmd(c):
        try:
            return subprocess.run(c, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception:  # noqa: BLE001
            return None
    import confluent_kafka
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for l in f:
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1048576
    versions = {"moka-bridge": (cmd([a.bridge, "version"]) or "?").splitlines()[0].split(" (")[0],
                "kafka": os.environ.get("KAFKA_VERSION", "4.1.1"),
                "python": platform.python_version(),
                "confluent-kafka": first(confluent_kafka.version()),
                "librdkafka (python)": first(confluent_kafka.libversion())}
    if any(s.startswith("benthos") for s in a.systems):
        versions["benthos"] = (cmd([a.benthos, "--version"]) or "?").splitlines()[0]
    try:
        import requests
        versions["requests"] = requests.__version__
    except ImportError:
        pass
    return {"started_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": " ".join(["bench/run.py"] + argv),
            "machine": {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": round(mem, 1),
                        "kernel": platform.release(),
                        "loadavg_at_start": open("/proc/loadavg").read().split()[:3]},
            "versions": versions,
            "args": {k: v for k, v in vars(a).items()}}


# ---------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brokers", help="use this Kafka (default: start one with scripts/kafka.sh)")
    ap.add_argument("--systems", default="moka-bridge,benthos,python",
                    help="comma-separated, of: " + ",".join(ALL_SYSTEMS))
    ap.add_argument("--scenarios", default="a,b,c,d", help="comma-separated, of a,b,c,d")
    ap.add_argument("--events-scale", type=float, default=1.0, help="multiply every event count")
    ap.add_argument("--events", action="append", default=[], metavar="SCENARIO=N",
                    help="event count of one scenario (before --events-scale)")
    ap.add_argument("--sweep", action="store_true", help="also run the latency sweep")
    ap.add_argument("--sweep-latencies", default="0,10,50,100")
    ap.add_argument("--sweep-events", type=int, default=50000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--max-seconds", type=float, default=900, help="time limit of one run")
    ap.add_argument("--hot-max-seconds", type=float, default=120,
                    help="time limit of a hot-key run (scenario c)")
    ap.add_argument("--max-seconds-for", action="append", default=[], metavar="SYSTEM=S",
                    help="time limit of every run of one system (e.g. python=300)")
    ap.add_argument("--bridge", default=os.path.join(ROOT, "build", "moka-bridge"))
    ap.add_argument("--sim", default=os.path.join(ROOT, "build", "src", "sim", "moka-sim"))
    ap.add_argument("--benthos", default=os.environ.get("BENTHOS") or os.path.expanduser(
        "~/.cache/moka-bridge/benthos-4.27.0/benthos"))
    ap.add_argument("--benthos-threads", type=int, default=256)
    ap.add_argument("--out", help="results directory (default bench/results/<timestamp>)")
    ap.add_argument("--keep-topics", action="store_true")
    a = ap.parse_args(argv)
    a.bridge, a.sim, a.benthos = (os.path.abspath(x) for x in (a.bridge, a.sim, a.benthos))
    a.systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    for s in a.systems:
        if s not in ALL_SYSTEMS:
            ap.error("unknown system %r" % s)
    scen_names = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    overrides = dict(x.split("=", 1) for x in a.events)
    scenarios = []
    for s in scen_names:
        if s not in SCENARIOS:
            ap.error("unknown scenario %r" % s)
        ev, keys, lat, hot, what = SCENARIOS[s]
        ev = int(overrides.get(s, ev))
        scenarios.append((s, (max(100, int(ev * a.events_scale)), keys, lat, hot, what)))
    if a.sweep:
        for lat in a.sweep_latencies.split(","):
            lat = int(lat)
            ev = max(100, int(a.sweep_events * a.events_scale))
            scenarios.append(("sweep-%dms" % lat, (ev, 10000, lat, 0.0,
                                                   "latency sweep: %d ms, 10,000 keys" % lat)))
    needed = [(a.sim, "moka-sim")]
    if "moka-bridge" in a.systems:
        needed.append((a.bridge, "moka-bridge (--bridge)"))
    if any(s.startswith("benthos") for s in a.systems):
        needed.append((a.benthos, "benthos (--benthos; bench/peers/install-benthos.sh builds it)"))
    for path, what in needed:
        if not os.access(path, os.X_OK):
            ap.error("%s not found at %s" % (what, path))

    outdir = a.out or os.path.join(ROOT, "bench", "results",
                                   datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    os.makedirs(os.path.join(outdir, "configs"), exist_ok=True)
    os.makedirs(os.path.join(outdir, "logs"), exist_ok=True)

    kafka_dir = None
    runs = []
    stop = {"flag": False}

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    try:
        brokers = a.brokers
        if not brokers:
            kafka_dir = tempfile.mkdtemp(prefix="bench-kafka-")
            ke = dict(os.environ, KAFKA_LAST_FILE=os.path.join(kafka_dir, ".last"))
            out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "kafka.sh"), "start", kafka_dir],
                                 capture_output=True, text=True, env=ke, timeout=900)
            vals = dict(l.split("=", 1) for l in out.stdout.splitlines() if "=" in l)
            if out.returncode != 0 or "KAFKA_BROKERS" not in vals:
                raise RuntimeError("scripts/kafka.sh start failed: %s" % out.stderr[-2000:])
            brokers = vals["KAFKA_BROKERS"]
            log("started Kafka at %s (%s)" % (brokers, kafka_dir))
        env = KafkaEnv(brokers)
        env.admin.list_topics(timeout=30)
        meta = collect_meta(a, argv)
        meta["brokers"] = brokers if a.brokers else "scripts/kafka.sh (local, single node)"
        for scen, spec in scenarios:
            for system in a.systems:
                try:
                    r = run_one(a, env, outdir, scen, spec, system)
                except KeyboardInterrupt:
                    raise
                except Exception as e:  # noqa: BLE001 - report and go on
                    log("run %s-%s failed: %s" % (scen, system, e))
                    r = {"scenario": scen, "system": system, "events": spec[0], "error": str(e)}
                runs.append(r)
                write_reports(outdir, meta, runs)
                if "error" not in r:
                    log("%s %s: %s events/s, %s µs CPU/event, %s MB peak RSS, p50 %s ms, p99 %s ms%s"
                        % (scen, system, r.get("events_per_s"), r.get("cpu_us_per_event"),
                           r.get("peak_rss_mb"), (r.get("latency_ms") or {}).get("p50"),
                           (r.get("latency_ms") or {}).get("p99"),
                           "" if r["complete"] else "  [PARTIAL: %s]" % r["outcome"]))
    except KeyboardInterrupt:
        log("interrupted; results so far are in %s" % outdir)
        stop["flag"] = True
    finally:
        if kafka_dir:
            ke = dict(os.environ, KAFKA_LAST_FILE=os.path.join(kafka_dir, ".last"))
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "kafka.sh"), "stop", kafka_dir],
                           capture_output=True, env=ke, timeout=120)
            shutil.rmtree(kafka_dir, ignore_errors=True)
    log("results: %s" % outdir)
    print(outdir)
    bad = [r for r in runs if "error" in r]
    return 1 if bad or stop["flag"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
