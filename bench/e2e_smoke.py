#!/usr/bin/env python3
"""End-to-end throughput of a running setup: loads N customer-update events
with K distinct keys into a fresh input topic, starts moka-bridge, and waits
until every reply has arrived (by the reply topic's high watermarks, so the
measurement itself costs nothing). Prints events/s, CPU per event and peak
RSS of the moka-bridge process.

  bench/e2e_smoke.py --brokers HOST:PORT --moka-url URL [--events N] [--keys K]
                     [--delivery at-least-once|exactly-once] [--env NAME=VALUE ...]
                     [--conf 'GROUP: { KEY = VALUE; };' ...]

--env passes extra MOKA_BRIDGE_* variables to the bridge (e.g.
--env MOKA_BRIDGE_KAFKA_TRANSACTION_INTERVAL_MS=200; a simulator that is
not on loopback needs --env MOKA_BRIDGE_MOKA_ALLOW_INSECURE=true). In exactly-once mode
the reply topic also holds transaction markers, so progress is read from the
group's committed input offsets instead (committed together with the
replies, so just as exact).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def reply_count(consumer, topic, partitions):
    total = 0
    for p in range(partitions):
        lo, hi = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
        total += hi - lo
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--moka-url", required=True)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--bridge", default=os.path.join(ROOT, "build", "moka-bridge"))
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--delivery", default="at-least-once",
                    choices=("at-least-once", "exactly-once"))
    ap.add_argument("--conf", action="append", default=[], metavar="TEXT",
                    help="extra libconfig text appended to the generated "
                         "configuration, e.g. 'limits: { max_pending_events = 5000; };'")
    ap.add_argument("--kafka-properties", default="", metavar="TEXT",
                    help="librdkafka properties in libconfig syntax, put in "
                         "kafka.properties, e.g. 'fetch_max_bytes = 4194304;'")
    ap.add_argument("--env", action="append", default=[],
                    metavar="NAME=VALUE",
                    help="extra environment variable for moka-bridge")
    a = ap.parse_args()

    run = uuid.uuid4().hex[:8]
    cu, sl = f"bench.{run}.cu", f"bench.{run}.sl"
    admin = AdminClient({"bootstrap.servers": a.brokers})
    topics = [NewTopic(t, a.partitions, 1) for t in
              (cu, cu + ".reply", cu + ".dlq", sl, sl + ".reply", sl + ".dlq")]
    for f in admin.create_topics(topics).values():
        f.result()

    prod = Producer({"bootstrap.servers": a.brokers, "linger.ms": 20,
                     "queue.buffering.max.messages": 2000000})
    for i in range(a.events):
        key = "auto-%d" % (i % a.keys)
        prod.produce(cu, key=key, value=json.dumps(
            {"CustomerCode": key, "FirstName": "N", "LastName": "seq-%07d" % i}))
        if i % 10000 == 0:
            prod.poll(0)
    prod.flush()

    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write(f"""
kafka: {{ brokers = "{a.brokers}"; group_id = "bench-{run}";
         delivery = "{a.delivery}"; transactional_id = "bench-{run}";
         properties: {{ {a.kafka_properties} }}; }};
moka: {{ base_url = "{a.moka_url}"; dealer_code = "1731"; username = "TestMoka2";
        password = "HYSYHDS8DU8HU"; }};
topics: {{ customer_update = "{cu}"; sale_list = "{sl}"; }};
log: {{ level = "warn"; }};
""")
    for extra in a.conf:
        conf.write(extra + "\n")
    conf.close()
    watch = Consumer({"bootstrap.servers": a.brokers, "group.id": "bench-watch-" + run})
    t0 = time.time()
    env = dict(os.environ)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    bridge = subprocess.Popen([a.bridge, "run", "--config", conf.name], env=env)
    eos = a.delivery == "exactly-once"
    committed_tps = [TopicPartition(cu, p) for p in range(a.partitions)]
    group = Consumer({"bootstrap.servers": a.brokers, "group.id": "bench-" + run,
                      "enable.auto.commit": False})
    first = None
    done = 0
    while time.time() - t0 < a.timeout:
        if eos:
            done = sum(max(tp.offset, 0) for tp in
                       group.committed(committed_tps, timeout=5))
        else:
            done = reply_count(watch, cu + ".reply", a.partitions)
        if done and first is None:
            first = (time.time(), done)
        if done >= a.events:
            break
        time.sleep(0.05)
    t1 = time.time()
    with open(f"/proc/{bridge.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    user, sys_ = int(fields[11]) / ticks, int(fields[12]) / ticks
    cpu = user + sys_
    with open(f"/proc/{bridge.pid}/status") as f:
        hwm = [l for l in f if l.startswith("VmHWM")][0].split()[1]
    bridge.terminate()
    bridge.wait(timeout=60)
    os.unlink(conf.name)
    if done < a.events:
        print(f"only {done} of {a.events} replies", file=sys.stderr)
        return 1
    # From the first reply on, so group join time is not counted.
    steady = (done - first[1]) / (t1 - first[0]) if t1 > first[0] else 0
    group.close()
    watch.close()
    # Topics left behind slow the broker down for the next run.
    for f in admin.delete_topics([t.topic for t in topics],
                                 operation_timeout=30).values():
        try:
            f.result()
        except Exception:  # noqa: BLE001 - best effort
            pass
    print(json.dumps({
        "delivery": a.delivery,
        "events": a.events, "keys": a.keys,
        "seconds_total": round(t1 - t0, 2),
        "events_per_s_total": round(a.events / (t1 - t0)),
        "events_per_s_after_first_reply": round(steady),
        "cpu_s": cpu, "cpu_us_per_event": round(cpu * 1e6 / a.events, 1),
        "cpu_user_s": user, "cpu_sys_s": sys_,
        "peak_rss_kb": int(hwm)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
