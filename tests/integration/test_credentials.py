"""Credentials as Moka treats them (issue 12): Moka answers bad credentials
with HTTP 200 and an `InvalidRequest` or account code, so the bridge probes
the dealer: refused credentials pause that dealer (no DLQ record, no retry
budget spent, other dealers flowing), accepted ones let the event's own code
stand; password files are re-read when they change and on SIGHUP.

Every test runs a real broker, moka-sim over HTTP and the bridge binary."""

import json
import os
import signal
import threading
import time
import uuid

import requests

from helpers import (DEALER_CODE, DEALER_PASSWORD, DEALER_USERNAME, Running,
                     admin_sample, checkkey, exact_answers, free_port, unique,
                     wait_until)

NEW_PASSWORD = "ROTATED-PW-4711"
INVALID = "DealerCustomer.UpdateCustomer.InvalidRequest"
IP_NOT_ALLOWED = ("PaymentDealer.CheckPaymentDealerAuthentication."
                  "IpAddressNotAllowed")
SECOND = ("1732", "TestMoka3", "QWERTY12KL9ZX")
GAUGE = 'moka_bridge_dealer_credentials_rejected{dealer="%s"}'


def write_secret_dir(root, password, generation):
    """A Kubernetes-style Secret volume: `password` -> `..data/password`,
    `..data` -> a timestamped directory; a new generation swaps `..data`
    atomically, as the kubelet does."""
    os.makedirs(root, exist_ok=True)
    ts = os.path.join(root, "..%d" % generation)
    os.makedirs(ts)
    with open(os.path.join(ts, "password"), "w") as f:
        f.write(password + "\n")
    tmp = os.path.join(root, "..data_tmp")
    os.symlink(os.path.basename(ts), tmp)
    os.rename(tmp, os.path.join(root, "..data"))
    link = os.path.join(root, "password")
    if not os.path.islink(link):
        os.symlink(os.path.join("..data", "password"), link)
    return link


def start(harness, kafka, overrides=None, extra_config="", secrets=(),
          password_file=None, sim_args=()):
    sim = harness.start_sim(extra_args=sim_args)
    topics = harness.make_topics()
    group = unique("it-group")
    port = free_port()
    ov = {"admin": {"listen": "127.0.0.1:%d" % port},
          "outage": {"probe_interval_ms": 500}}
    if password_file:
        ov["moka"] = {"password": None, "password_file": password_file}
    for g, d in (overrides or {}).items():
        ov.setdefault(g, {}).update(d)
    path = harness.write_config(sim, topics, group, overrides=ov)
    with open(path, "a") as f:
        f.write(extra_config)
    b = harness.start_bridge(sim, topics=topics, group_id=group,
                             config_path=path,
                             secrets=[NEW_PASSWORD, SECOND[2],
                                      checkkey(DEALER_CODE, DEALER_USERNAME,
                                               NEW_PASSWORD)] + list(secrets))
    r = Running(kafka, sim, b)
    r.admin_port = port
    return r


def gauge(r, dealer):
    return admin_sample(r.admin_port, GAUGE % dealer)


def readyz(r):
    return requests.get("http://127.0.0.1:%d/readyz" % r.admin_port,
                        timeout=5).status_code


def log_lines(r, msg_part):
    out = []
    for line in r.bridge.stderr_text().splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if msg_part in o.get("msg", ""):
            out.append(o)
    return out


def updates(prefix, n, headers=()):
    run = uuid.uuid4().hex[:6]
    return [{"key": "%s-%d" % (prefix, i),
             "value": {"CustomerCode": "auto-%s%s-%d" % (prefix, run, i)},
             "headers": [("correlation-id", "%s-%d" % (prefix, i))] + list(headers)}
            for i in range(n)]


def ids_of(events):
    return [dict(e["headers"])["correlation-id"] for e in events]


def dlq_count(r):
    r.kafka.wait_committed_to_end(r.group_id, r.topics.customer_update, 60,
                                  watch=r.watch)
    return len(r.kafka.read_all(r.topics.cu_dlq))


def test_refused_credentials_pause_the_dealer_others_flow(harness, kafka, tmp_path):
    """A dealer whose password Moka refuses: its events wait (no reply, no
    DLQ record), the gauge says so, one error line names the dealer and the
    code; the other dealer's events are answered meanwhile; /readyz stays
    200 (not every dealer is out). The right password in its file resumes
    it, and every event is answered once, with Success."""
    pw_file = str(tmp_path / "rejected.pw")
    with open(pw_file, "w") as f:
        f.write("NOT-THE-PASSWORD-9\n")
    extra = """
dealers = (
  { name = "rejected"; dealer_code = "%s"; username = "%s";
    password_file = "%s"; }
);
""" % (DEALER_CODE, DEALER_USERNAME, pw_file)
    r = start(harness, kafka, extra_config=extra,
              secrets=["NOT-THE-PASSWORD-9"])
    bad = updates("bad", 50, [("moka-dealer", "rejected")])
    good = updates("good", 50)
    r.kafka.send_many(r.topics.customer_update,
                      [e for pair in zip(bad, good) for e in pair])
    # The input cannot be committed to its end while bad events wait.
    got = r.kafka.collect(r.topics.cu_reply, 50, 60, watch=r.watch)
    assert {x.header("correlation-id") for x in got} == set(ids_of(good))
    assert all(x.json()["status"] == "success" for x in got)
    wait_until(lambda: gauge(r, "rejected") == 1, 30, "gauge of the refused dealer")
    assert gauge(r, "default") == 0
    assert readyz(r) == 200
    time.sleep(2)  # held events stay held: no reply, no DLQ record
    assert not [x for x in r.kafka.read_all(r.topics.cu_reply, timeout=10)
                if x.header("correlation-id", "").startswith("bad-")]
    assert r.kafka.read_all(r.topics.cu_dlq, timeout=10) == []
    refused = log_lines(r, "refuses the dealer's credentials")
    assert len(refused) == 1, refused
    assert refused[0]["level"] == "error"
    assert refused[0]["dealer"] == "rejected"
    assert refused[0]["result_code"] in (INVALID, "DealerSale.GetSale.InvalidRequest")

    # The password file is fixed: the next probe is accepted.
    fixed_at = time.time()
    tmp = pw_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(DEALER_PASSWORD + "\n")
    os.rename(tmp, pw_file)
    replies = exact_answers(r.kafka, r.group_id, r.topics.customer_update,
                            r.topics.cu_reply, ids_of(bad) + ids_of(good), 60,
                            watch=r.watch)
    assert all(x.json()["status"] == "success" for x in replies.values())
    assert time.time() - fixed_at < 30
    assert gauge(r, "rejected") == 0
    assert dlq_count(r) == 0
    assert len(log_lines(r, "accepts the dealer's credentials again")) == 1


def test_ip_not_allowed_pauses_until_the_allow_list_admits_the_bridge(harness, kafka):
    """`…IpAddressNotAllowed` is an account code: the dealer is out, and as
    it is the only dealer /readyz answers 503 and partitions pause; when
    Moka's allow-list admits the bridge again, everything is answered once."""
    r = start(harness, kafka)
    r.sim.set_dealer(DEALER_CODE, ip_allow=["127.0.0.2"])
    events = updates("ip", 20)
    r.kafka.send_many(r.topics.customer_update, events)
    wait_until(lambda: gauge(r, "default") == 1, 30, "credentials gauge")
    wait_until(lambda: readyz(r) == 503, 10, "/readyz 503 with every dealer out")
    assert admin_sample(r.admin_port, "moka_bridge_outage") == 1
    refused = log_lines(r, "refuses the dealer's credentials")
    assert [x["result_code"] for x in refused] == [IP_NOT_ALLOWED]
    time.sleep(1.5)
    assert r.kafka.read_all(r.topics.cu_reply, timeout=10) == []
    assert r.kafka.read_all(r.topics.cu_dlq, timeout=10) == []

    r.sim.set_dealer(DEALER_CODE, ip_allow=None)
    replies = exact_answers(r.kafka, r.group_id, r.topics.customer_update,
                            r.topics.cu_reply, ids_of(events), 60, watch=r.watch)
    assert all(x.json()["status"] == "success" for x in replies.values())
    assert readyz(r) == 200 and gauge(r, "default") == 0
    assert dlq_count(r) == 0


def test_genuinely_bad_objects_cost_a_handful_of_probes(harness, kafka):
    """1,000 events Moka answers InvalidRequest with good credentials: each
    is answered failure and dead-lettered (`moka-result`) with Moka's code,
    and the dealer is probed at most a few times, not once per event."""
    r = start(harness, kafka)
    r.sim.faults(rules=[{"customer_prefix": "auto-bad", "kind": "result",
                         "count": -1, "result_code": INVALID}])
    events = updates("bad", 1000)
    t0 = time.time()
    r.kafka.send_many(r.topics.customer_update, events)
    replies = exact_answers(r.kafka, r.group_id, r.topics.customer_update,
                            r.topics.cu_reply, ids_of(events), 120, watch=r.watch)
    elapsed = time.time() - t0
    for x in replies.values():
        v = x.json()
        assert v["status"] == "failure" and v["result_code"] == INVALID, v
    dlq = exact_answers(r.kafka, r.group_id, r.topics.customer_update,
                        r.topics.cu_dlq, ids_of(events), 60, watch=r.watch)
    assert {x.header("dlq.reason") for x in dlq.values()} == {"moka-result"}
    st = r.sim.stats()
    probes = st["unnamed_customer_updates"] + \
        st.get("sale_list_calls_by_dealer", {}).get(DEALER_CODE, 0)
    # One probe per outage.credentials_verdict_ms (10 s) at most.
    assert 1 <= probes <= 2 + int(elapsed / 10), (probes, elapsed)
    assert gauge(r, "default") == 0
    print("\n1000 bad objects: %d probes in %.1f s" % (probes, elapsed))


def test_probe_confirms_with_the_sale_list_when_moka_calls_the_empty_object_invalid(
        harness, kafka):
    """If Moka answers an UpdateCustomer naming no customer `InvalidRequest`
    even with good credentials (undocumented, possible), the default probe
    confirms with GetSaleList: no false credentials outage, the bad events
    are answered with their own code. The probe `customer-update` alone
    would call it an outage: which is why it is not the default."""
    r = start(harness, kafka, sim_args=["--empty-customer-request", "invalid"])
    r.sim.faults(rules=[{"customer_prefix": "auto-bad", "kind": "result",
                         "count": -1, "result_code": INVALID}])
    events = updates("bad", 20)
    r.kafka.send_many(r.topics.customer_update, events)
    replies = exact_answers(r.kafka, r.group_id, r.topics.customer_update,
                            r.topics.cu_reply, ids_of(events), 60, watch=r.watch)
    assert {x.json()["result_code"] for x in replies.values()} == {INVALID}
    st = r.sim.stats()
    assert st["unnamed_customer_updates"] >= 1
    assert st["sale_list_calls_by_dealer"].get(DEALER_CODE, 0) >= 1
    assert gauge(r, "default") == 0
    assert log_lines(r, "refuses the dealer's credentials") == []


def test_probe_customer_update_alone_takes_an_empty_invalid_for_an_outage(
        harness, kafka):
    r = start(harness, kafka, sim_args=["--empty-customer-request", "invalid"],
              overrides={"outage": {"credentials_probe": "customer-update"}})
    r.sim.faults(rules=[{"customer_prefix": "auto-bad", "kind": "result",
                         "count": -1, "result_code": INVALID}])
    r.kafka.send_many(r.topics.customer_update, updates("bad", 5))
    wait_until(lambda: gauge(r, "default") == 1, 30, "credentials gauge")
    assert r.sim.stats()["sale_list_calls_by_dealer"].get(DEALER_CODE, 0) == 0


def test_rotation_under_load(harness, kafka, tmp_path):
    """The password is rotated at Moka at T while events flow; the bridge
    pauses the dealer with no DLQ record; the Secret volume is updated at
    T+10 s (symlink swap); the bridge resumes within 5 s, and every event is
    answered exactly once with Success."""
    root = str(tmp_path / "secret")
    link = write_secret_dir(root, DEALER_PASSWORD, 1)
    r = start(harness, kafka, password_file=link)
    events = updates("rot", 3000)
    stop = threading.Event()
    sent = []

    def produce():
        # ~150 events/s for 20 s
        for i in range(0, len(events), 15):
            if stop.is_set():
                break
            r.kafka.send_many(r.topics.customer_update, events[i:i + 15])
            sent.extend(events[i:i + 15])
            time.sleep(0.1)

    th = threading.Thread(target=produce)
    th.start()
    try:
        time.sleep(4)
        r.sim.set_dealer(DEALER_CODE, password=NEW_PASSWORD)
        t_rotated = time.time()
        wait_until(lambda: gauge(r, "default") == 1, 10, "pause after rotation")
        paused_after = time.time() - t_rotated
        time.sleep(max(0.0, t_rotated + 10 - time.time()))
        write_secret_dir(root, NEW_PASSWORD, 2)
        t_file = time.time()
        wait_until(lambda: gauge(r, "default") == 0, 5, "resume after the file change")
        resumed_after = time.time() - t_file
    finally:
        th.join()
    replies = exact_answers(r.kafka, r.group_id, r.topics.customer_update,
                            r.topics.cu_reply, ids_of(sent), 120, watch=r.watch)
    assert all(x.json()["status"] == "success" for x in replies.values())
    # The first Success produced after the file change.
    first = min((x.timestamp / 1000.0 for x in replies.values()
                 if x.timestamp / 1000.0 >= t_file), default=None)
    assert first is not None
    dlq = dlq_count(r)
    assert dlq == 0
    print("\nrotation: %d events, %d DLQ records, paused %.2f s after the "
          "rotation at Moka, resumed %.2f s after the file change, first "
          "Success %.2f s after it" % (len(sent), dlq, paused_after,
                                       resumed_after, first - t_file))
    assert first - t_file < 5


def test_unusable_password_file_keeps_the_secret_sighup_rereads(harness, kafka, tmp_path):
    """An empty new password file keeps the current password (an error line
    says so, naming the dealer, never the secret); SIGHUP re-reads at once
    and no longer stops the bridge."""
    pw = str(tmp_path / "moka.pw")
    with open(pw, "w") as f:
        f.write(DEALER_PASSWORD + "\n")
    r = start(harness, kafka, password_file=pw)
    with open(pw, "w") as f:
        f.write("\n")
    wait_until(lambda: log_lines(r, "password file unusable"), 10,
               "the error about the empty file")
    line = log_lines(r, "password file unusable")[0]
    assert line["level"] == "error" and line["dealer"] == "default"
    assert "is empty" in line["error"]
    sent = r.update({"CustomerCode": "auto-keep-1"}, key="k1")
    assert r.reply_for(sent).json()["status"] == "success"

    r.bridge.signal(signal.SIGHUP)
    wait_until(lambda: log_lines(r, "SIGHUP: re-reading"), 10, "SIGHUP log line")
    wait_until(lambda: len(log_lines(r, "password file unusable")) >= 2, 10,
               "the file re-read on SIGHUP")
    r.bridge.assert_running()
    sent = r.update({"CustomerCode": "auto-keep-2"}, key="k2")
    assert r.reply_for(sent).json()["status"] == "success"
