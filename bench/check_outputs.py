#!/usr/bin/env python3
"""Shows what one system under test of the benchmark writes, to check a peer's
replies and dead letters against moka-bridge's contract by eye.

Loads into a fresh one-partition topic: a valid update, a value that is not
JSON, an unknown customer (DealerCustomerNotFound), an invalid e-mail
(InvalidEmailFormat), then --valid N more valid updates; starts a moka-sim
(optionally with faults, e.g. '{"error_rate":0.2,"ex_rate":0.1}' to see the
retries) and the system; waits for every reply; prints the sim's counters,
a summary, and the first replies and every DLQ record with their headers.

  bench/check_outputs.py --brokers HOST:PORT --system benthos [--valid 50] [--faults JSON]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--system", required=True, choices=R.ALL_SYSTEMS)
    ap.add_argument("--valid", type=int, default=20)
    ap.add_argument("--faults", help="JSON posted to the sim's /_sim/faults")
    ap.add_argument("--bridge", default=os.path.join(R.ROOT, "build", "moka-bridge"))
    ap.add_argument("--sim", default=os.path.join(R.ROOT, "build", "src", "sim", "moka-sim"))
    ap.add_argument("--benthos", default=os.path.expanduser("~/.cache/moka-bridge/benthos-4.27.0/benthos"))
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    a.benthos_threads = 16
    from confluent_kafka import Producer
    env = R.KafkaEnv(a.brokers)
    base = "check.%s.%s" % (uuid.uuid4().hex[:6], a.system)
    topics = {"cu": base + ".cu", "sl": base + ".sl"}
    topics.update(cu_reply=topics["cu"] + ".reply", cu_dlq=topics["cu"] + ".dlq",
                  sl_reply=topics["sl"] + ".reply", sl_dlq=topics["sl"] + ".dlq")
    env.create_topics(list(topics.values()), 1)
    events = [("auto-c1", '{"CustomerCode":"auto-c1","Password":"secret1","LastName":"x"}'),
              ("bad", "not json"),
              ("NoSuch", '{"CustomerCode":"NoSuch"}'),
              ("auto-c2", '{"CustomerCode":"auto-c2","Email":"nope"}')]
    events += [("auto-v%d" % (i % 5), '{"CustomerCode":"auto-v%d","LastName":"seq-%d"}' % (i % 5, i))
               for i in range(a.valid)]
    p = Producer({"bootstrap.servers": a.brokers})
    for i, (k, v) in enumerate(events):
        p.produce(topics["cu"], key=k, value=v,
                  headers=[("correlation-id", b"c%d" % i), ("x-extra", b"kept")])
    p.flush()
    work = tempfile.mkdtemp(prefix="bench-check-")
    os.makedirs(os.path.join(work, "configs"))
    sim = R.Sim(a.sim, 0, work)
    if a.faults:
        req = urllib.request.Request(sim.url + "/_sim/faults", data=a.faults.encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
    argv, e, _ = R.sut_command(a.system, a, env, topics, "check-" + base, sim.url, work, a.system)
    proc = subprocess.Popen(argv, env=e, cwd=R.ROOT, stdout=open(os.path.join(work, "sut.log"), "w"),
                            stderr=subprocess.STDOUT)
    t = time.time()
    while env.count(topics["cu_reply"], 1) < len(events) and time.time() - t < a.timeout:
        time.sleep(0.2)
    R.stop_process(proc, 30)
    print("sim:", json.dumps(sim.stats()["by_result"]))
    sim.stop()
    replies, dlq = [], []
    env.read_all(topics["cu_reply"], 1, lambda m: replies.append(m))
    env.read_all(topics["cu_dlq"], 1, lambda m: dlq.append(m))
    env.delete_topics(list(topics.values()))
    codes = {}
    for m in replies:
        v = json.loads(m.value())
        codes[v["result_code"]] = codes.get(v["result_code"], 0) + 1
    print("events %d, replies %d, dlq %d, result codes %s" % (len(events), len(replies), len(dlq), codes))
    for m in replies[:5]:
        print("reply", m.key(), m.headers(), m.value().decode())
    for m in dlq:
        print("dlq", m.key(), sorted(m.headers()), m.value().decode())
    print("sut log:", os.path.join(work, "sut.log"))
    return 0 if len(replies) == len(events) else 1


if __name__ == "__main__":
    sys.exit(main())
