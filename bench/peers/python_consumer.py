#!/usr/bin/env python3
"""A plain hand-written Python bridge, the "typical" baseline of the benchmark.

confluent-kafka consumer + requests, one event at a time: parse, call Moka
synchronously (simple retry with exponential backoff on transport errors,
5xx/408/429 and ResultCode EX), produce the reply (and a DLQ record on
failure), wait for the broker's acknowledgement (flush), then commit the
offset. That is at-least-once, in order per partition, and slow by design:
one Moka call at a time.

Configuration by environment (bench/run.py sets it):
  BENCH_BROKERS, BENCH_GROUP, BENCH_INPUT, BENCH_REPLY, BENCH_DLQ,
  BENCH_MOKA_URL, MOKA_DEALER_CODE, MOKA_USERNAME, MOKA_PASSWORD
SIGTERM/SIGINT: finish the current event, commit, close, exit 0.
"""

import datetime
import hashlib
import json
import os
import signal
import sys
import time

import requests
from confluent_kafka import Consumer, KafkaError, Producer

MAX_ATTEMPTS = 5
BASE_S = 0.2
CAP_S = 10.0

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def main():
    env = os.environ
    dealer, user, pw = env["MOKA_DEALER_CODE"], env["MOKA_USERNAME"], env["MOKA_PASSWORD"]
    auth = {"DealerCode": dealer, "Username": user, "Password": pw,
            "CheckKey": hashlib.sha256((dealer + "MK" + user + "PD" + pw)
                                       .encode("utf-8")).hexdigest()}
    url = env["BENCH_MOKA_URL"].rstrip("/") + "/DealerCustomer/UpdateCustomer"
    group = env["BENCH_GROUP"]
    reply_topic, dlq_topic = env["BENCH_REPLY"], env["BENCH_DLQ"]

    consumer = Consumer({"bootstrap.servers": env["BENCH_BROKERS"], "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": env["BENCH_BROKERS"],
                         "enable.idempotence": True, "linger.ms": 0})
    consumer.subscribe([env["BENCH_INPUT"]])
    http = requests.Session()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    while not stop:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() != KafkaError._PARTITION_EOF:
                print("consumer error: %s" % msg.error(), file=sys.stderr)
            continue
        headers = list(msg.headers() or [])
        corr = None
        for k, v in headers:
            if k == "correlation-id" and v is not None:
                corr = v.decode("utf-8", "replace")
        if corr is None:
            corr = "%s/%d/%d" % (msg.topic(), msg.partition(), msg.offset())

        code, message, data, attempts, reason = None, "", None, 0, None
        try:
            event = json.loads(msg.value())
            if not isinstance(event, dict):
                raise ValueError("value is not a JSON object")
        except ValueError as e:
            code, message, reason = "Bridge.InvalidEvent", str(e), "invalid-event"
        if reason is None:
            body = {"DealerCustomerAuthentication": auth, "DealerCustomerRequest": event}
            while True:
                attempts += 1
                try:
                    r = http.post(url, json=body, timeout=(5, 15))
                    if r.status_code >= 500 or r.status_code in (408, 429):
                        raise IOError("HTTP %d" % r.status_code)
                    r.raise_for_status()
                    resp = r.json()
                    if resp.get("ResultCode") == "EX":
                        raise IOError("EX: %s" % (resp.get("ResultMessage") or ""))
                    code = resp.get("ResultCode") or ""
                    message = resp.get("ResultMessage") or ""
                    if code.lower() == "success":
                        data = resp.get("Data")
                        cust = (data or {}).get("DealerCustomer")
                        if isinstance(cust, dict) and cust.get("Password") is not None:
                            cust["Password"] = "***"
                    else:
                        reason = "moka-result"
                        message = message or "Moka answered %s" % code
                    break
                except (IOError, ValueError, requests.RequestException) as e:
                    if attempts >= MAX_ATTEMPTS:
                        code, message, reason = "Bridge.RetriesExhausted", str(e), "retries-exhausted"
                        break
                    time.sleep(min(CAP_S, BASE_S * 2 ** attempts) * (0.5 + 0.5 * os.urandom(1)[0] / 255))

        ok = reason is None
        reply = {"schema": "moka-bridge.reply/1", "operation": "customer.update",
                 "correlation_id": corr, "status": "success" if ok else "failure",
                 "result_code": code, "result_message": message, "attempts": attempts,
                 "source": {"topic": msg.topic(), "partition": msg.partition(),
                            "offset": msg.offset()},
                 "data": data, "completed_at": now_rfc3339()}
        producer.produce(reply_topic, key=msg.key(), value=json.dumps(reply).encode(),
                         headers=[("correlation-id", corr.encode()),
                                  ("moka-result-code", code.encode()),
                                  ("moka-status", reply["status"].encode())])
        if not ok:
            dlq_headers = headers + [
                ("dlq.reason", reason), ("dlq.result-code", code), ("dlq.error", message),
                ("dlq.original-topic", msg.topic()),
                ("dlq.original-partition", str(msg.partition())),
                ("dlq.original-offset", str(msg.offset())),
                ("dlq.original-timestamp", str(msg.timestamp()[1])),
                ("dlq.attempts", str(attempts)), ("dlq.failed-at", now_rfc3339()),
                ("dlq.consumer-group", group), ("dlq.replay-count", "0")]
            producer.produce(dlq_topic, key=msg.key(), value=msg.value(), headers=dlq_headers)
        # At-least-once: the reply is acknowledged before the offset is committed.
        if producer.flush(30) != 0:
            print("reply not delivered; exiting without commit", file=sys.stderr)
            return 1
        consumer.commit(message=msg, asynchronous=True)

    producer.flush(30)
    try:
        consumer.commit(asynchronous=False)
    except Exception:  # noqa: BLE001 - nothing to commit
        pass
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
