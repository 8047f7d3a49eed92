"""The admin listener (contract "Operations"): /metrics in the Prometheus
text format, validated by promtool; /healthz and /readyz in both states."""

import re
import shutil
import subprocess

import pytest
import requests

from helpers import Running, free_port, wait_until


def admin_overrides(port):
    return {"admin": {"listen": "127.0.0.1:%d" % port}}


def get(port, path):
    return requests.get("http://127.0.0.1:%d%s" % (port, path), timeout=5)


def metric(text, name, labels=""):
    """The value of one sample, e.g. metric(t, "x_total", 'a="b"')."""
    pat = r"(?m)^" + re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)\n"
    m = re.search(pat, text)
    assert m, "no sample %s{%s} in:\n%s" % (name, labels, text[:3000])
    return float(m.group(1))


def test_metrics_count_outcomes_and_pass_promtool(harness, kafka):
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/setup.sh installs Debian's prometheus"
    port = free_port()
    sim = harness.start_sim()
    b = harness.start_bridge(sim, overrides=admin_overrides(port))
    r = Running(kafka, sim, b)
    sent = [r.update({"CustomerCode": "C1", "FirstName": "Ada"}, key="C1"),
            r.update({"CustomerCode": "C2", "Email": "not-an-email"}, key="C2"),
            r.update({"CustomerCode": "C3", "Bogus": 1}, key="C3"),
            r.sale_list({}, key="s")]
    for s in sent:
        r.reply_for(s)

    def settled():
        t = get(port, "/metrics").text
        return metric(t, "moka_bridge_pending_events") == 0 and t

    text = wait_until(settled, 30, "pending events to drain to 0")
    check = subprocess.run([promtool, "check", "metrics"], input=text,
                           capture_output=True, text=True)
    assert check.returncode == 0, ("promtool check metrics failed:\n%s%s"
                                   % (check.stdout, check.stderr))
    assert metric(text, "moka_bridge_events_consumed_total",
                  'operation="customer.update"') == 3
    assert metric(text, "moka_bridge_events_consumed_total",
                  'operation="sale.list"') == 1
    assert metric(text, "moka_bridge_events_completed_total",
                  'operation="customer.update",status="success",result_code="Success"') == 1
    assert metric(text, "moka_bridge_events_completed_total",
                  'operation="customer.update",status="failure",'
                  'result_code="DealerCustomer.UpdateCustomer.InvalidEmailFormat"') == 1
    assert metric(text, "moka_bridge_events_completed_total",
                  'operation="customer.update",status="failure",'
                  'result_code="Bridge.InvalidEvent"') == 1
    assert metric(text, "moka_bridge_dlq_records_total", 'reason="moka-result"') == 1
    assert metric(text, "moka_bridge_dlq_records_total", 'reason="invalid-event"') == 1
    assert metric(text, "moka_bridge_moka_requests_total",
                  'endpoint="/DealerCustomer/UpdateCustomer",outcome="success"') == 1
    assert metric(text, "moka_bridge_moka_requests_total",
                  'endpoint="/DealerCustomer/UpdateCustomer",outcome="business_error"') == 1
    assert metric(text, "moka_bridge_moka_request_duration_seconds_count",
                  'endpoint="/DealerSale/GetSaleList"') == 1
    assert metric(text, "moka_bridge_outage") == 0
    assert 'moka_bridge_build_info{version="' in text
    # Offsets are committed within a second: the input partitions show up
    # with their committed offset and a lag of 0.
    topic = r.topics.customer_update
    want = {}
    for s in sent[:3]:
        want[s.partition] = max(want.get(s.partition, 0), s.offset + 1)

    def committed():
        t = get(port, "/metrics").text
        return all('moka_bridge_partition_committed_offset{topic="%s",partition="%d"} %d\n'
                   % (topic, p, o) in t for p, o in want.items()) and t
    text = wait_until(committed, 30, lambda: "committed offsets %s in /metrics:\n%s"
                      % (sorted(want.items()),
                         "".join(l for l in get(port, "/metrics").text.splitlines(True)
                                 if "partition_" in l)))
    for s in sent[:3]:
        assert metric(text, "moka_bridge_partition_lag",
                      'topic="%s",partition="%d"' % (topic, s.partition)) == 0
    # No secret in the metrics.
    for secret in b.secrets:
        assert secret not in text


def test_readyz_false_until_in_group_and_healthz_true_while_loop_runs(harness, kafka):
    port = free_port()
    sim = harness.start_sim()
    # A broker address where nothing listens: the loop runs, no group.
    topics = harness.make_topics()
    b = harness.start_bridge(sim, topics=topics, wait_assigned=False,
                             overrides={"kafka": {"brokers": "127.0.0.1:%d" % free_port()},
                                        **admin_overrides(port)})
    wait_until(lambda: _status(port, "/healthz") == 200, 15, "/healthz to answer 200")
    for _ in range(5):
        assert _status(port, "/readyz") == 503, "ready without a group"
    assert b.stop() == 0, b.describe()

    port2 = free_port()
    b2 = harness.start_bridge(sim, topics=topics, overrides=admin_overrides(port2))
    wait_until(lambda: _status(port2, "/readyz") == 200, 30, "/readyz to answer 200")
    assert _status(port2, "/healthz") == 200
    assert _status(port2, "/nope") == 404
    b2.assert_running()


def _status(port, path):
    try:
        return get(port, path).status_code
    except requests.RequestException:
        return None
