"""Customer updates end to end: every UpdateCustomer ResultCode the simulator
fixture (config/moka-sim-fixture.json) can produce, with the reply and DLQ
records checked field by field.

One simulator and one bridge serve the whole file; each test uses its own
customers and keys, so the tests do not depend on each other's order."""

import pathlib
import re
import time
import uuid

import pytest

import helpers
from helpers import Running, expect_dlq, expect_reply, wait_until

UC = "DealerCustomer.UpdateCustomer."
# Customer passwords sent or stored in the fixture: none may reach the logs
# or a reply.
NEW_PASSWORD = "NewSecret-%s" % uuid.uuid4().hex[:8]
FAILED_PASSWORD = "FailSecret-%s" % uuid.uuid4().hex[:8]
FIXTURE_PASSWORD = "Elif1234"
WRONG_DEALER_PASSWORD = "WRONGPASS-%s" % uuid.uuid4().hex[:6]
SECRETS = [NEW_PASSWORD, FAILED_PASSWORD, FIXTURE_PASSWORD]
# Every bridge of this file logs at debug level, the most it writes: the
# harness checks its whole output for the dealer password, the CheckKey
# and SECRETS, in any form (helpers.find_secrets), at teardown.
DEBUG = {"log": {"level": "debug"}}


def uid():
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def cu(module_harness, kafka):
    sim = module_harness.start_sim()
    b = module_harness.start_bridge(sim, secrets=SECRETS, overrides=DEBUG)
    return Running(kafka, sim, b)


@pytest.fixture(scope="module")
def cu_bad_credentials(module_harness, kafka):
    """A bridge whose dealer password the simulator does not accept."""
    sim = module_harness.start_sim()
    b = module_harness.start_bridge(
        sim, dealer=(helpers.DEALER_CODE, helpers.DEALER_USERNAME, WRONG_DEALER_PASSWORD),
        secrets=SECRETS, overrides=DEBUG)
    return Running(kafka, sim, b)


def test_success_reply_echoes_correlation_id_and_redacts_password(cu):
    key = "cust-%s" % uid()
    headers = [("correlation-id", "corr-%s" % uid()), ("x-trace", b"\x00\x01trace")]
    value = {"CustomerCode": "Customer", "DealerCustomerId": "1033",
             "Password": NEW_PASSWORD, "FirstName": "Elif", "LastName": "Yilmaz",
             "Gender": "2", "BirthDate": "19850710", "GsmNumber": "5301111112",
             "Email": "elif.yilmaz@moka.com", "Address": "Kadıköy, İstanbul"}
    sent = cu.update(value, key=key, headers=headers)
    rec = cu.reply_for(sent)
    v = expect_reply(sent, rec, operation="customer.update", status="success",
                     result_code="Success", attempts=1)
    assert NEW_PASSWORD.encode() not in rec.value, "customer password in the reply: %r" % rec.value
    data = v["data"]
    assert isinstance(data, dict), "success reply without data: %r" % v
    dc = data["DealerCustomer"]
    assert dc["Password"] == "***", "Password not redacted: %r" % dc
    assert dc["DealerCustomerId"] == 1033, dc
    assert dc["CustomerCode"] == "Customer", dc
    assert dc["FirstName"] == "Elif" and dc["LastName"] == "Yilmaz", dc
    assert dc["Email"] == "elif.yilmaz@moka.com", dc
    assert dc["Address"] == "Kadıköy, İstanbul", dc
    assert dc["Gender"] == 2, dc
    assert data["CardListCount"] == 0 and data["CardList"] == [], data
    # What Moka received: the request with numeric strings as given or as
    # numbers, and the customer's password (Moka needs it).
    calls = cu.sim.calls("Customer")
    assert calls, "the simulator saw no call for customer 'Customer'"
    last = calls[-1]
    assert str(last.get("DealerCustomerId")) == "1033", last
    assert str(last.get("Gender")) == "2", last
    assert last.get("Password") == NEW_PASSWORD, last
    assert last.get("Address") == "Kadıköy, İstanbul", last
    # A success goes to no DLQ.
    cu.wait_done(sent)
    assert cu.all_for(sent, dlq=True) == [], "a success was dead-lettered"
    assert len(cu.all_for(sent, dlq=False)) == 1, "expected exactly one reply"


def test_fixture_password_is_redacted_when_not_sent(cu):
    """Moka echoes the stored password even when the event does not carry one."""
    sent = cu.update({"CustomerCode": "Customer"}, key="cust-%s" % uid())
    rec = cu.reply_for(sent)
    v = expect_reply(sent, rec, operation="customer.update", status="success",
                     result_code="Success", attempts=1)
    for secret in SECRETS:
        assert secret.encode() not in rec.value, "password %s... in reply" % secret[:3]
    assert v["data"]["DealerCustomer"]["Password"] == "***", v["data"]


def test_correlation_id_defaults_to_topic_partition_offset(cu):
    sent = cu.update({"CustomerCode": "C1", "FirstName": "Ali"}, key="c1-%s" % uid())
    rec = cu.reply_for(sent)
    v = expect_reply(sent, rec, operation="customer.update", status="success",
                     result_code="Success", attempts=1)
    assert v["correlation_id"] == "%s/%d/%d" % (sent.topic, sent.partition, sent.offset)


def test_empty_key_is_answered_with_empty_key(cu):
    sent = cu.update({"CustomerCode": "C4", "LastName": "Sahin"}, key=None)
    rec = cu.reply_for(sent)
    expect_reply(sent, rec, operation="customer.update", status="success",
                 result_code="Success", attempts=1)
    assert rec.key is None or rec.key == b"", "reply key: %r" % rec.key


def _business_failure(cu, value, code, key=None, headers=None):
    key = key if key is not None else "k-%s" % uid()
    headers = headers if headers is not None else [("correlation-id", "c-%s" % uid())]
    sent = cu.update(value, key=key, headers=headers)
    rec = cu.reply_for(sent)
    v = expect_reply(sent, rec, operation="customer.update", status="failure",
                     result_code=code, attempts=1)
    assert v["data"] is None
    d = cu.dlq_for(sent)
    expect_dlq(sent, d, reason="moka-result", result_code=code,
               group_id=cu.group_id, attempts=1)
    cu.wait_done(sent)
    assert len(cu.all_for(sent, dlq=False)) == 1, "expected exactly one reply"
    assert len(cu.all_for(sent, dlq=True)) == 1, "expected exactly one DLQ record"
    return sent, v, d


def test_invalid_email_format_is_a_business_failure(cu):
    sent, v, d = _business_failure(cu, {"CustomerCode": "C2", "Email": "not-an-email"},
                                   UC + "InvalidEmailFormat")
    assert len(cu.sim.calls("C2")) == 1, "a business failure must not be retried"


def test_customer_code_or_id_must_be_given(cu):
    _business_failure(cu, {"FirstName": "Nobody"},
                      UC + "CustomerCodeOrDealerCustomerIdMustBeGiven")


def test_dealer_customer_not_found_keeps_original_bytes(cu):
    """The DLQ record holds the original key, value bytes (whitespace and
    all) and headers (order, duplicates, binary values) unchanged."""
    code = "nobody-%s" % uid()
    raw = ('{ "CustomerCode" :  "%s",\n  "FirstName": "Çağrı" }' % code).encode("utf-8")
    headers = [("correlation-id", "nf-%s" % uid()), ("tenant", "t1"),
               ("tenant", "t2"), ("blob", b"\xff\x00\xfe")]
    sent, v, d = _business_failure(cu, raw, UC + "DealerCustomerNotFound",
                                   key=b"\x01key-" + uid().encode(), headers=headers)
    assert d.value == raw


def test_dealer_customer_not_found_by_id(cu):
    _business_failure(cu, {"DealerCustomerId": 987654}, UC + "DealerCustomerNotFound")


def test_customer_code_already_using(cu):
    _business_failure(cu, {"DealerCustomerId": 1301, "CustomerCode": "dup-b"},
                      UC + "CustomerCodeAlreadyUsing")


def test_customer_code_doesnt_match_dealer_customer_id(cu):
    _business_failure(cu, {"DealerCustomerId": 1301, "CustomerCode": "other-%s" % uid()},
                      UC + "CustomerCodeDoesntMatchDealerCustomerId")


def test_ex_is_retried_then_retries_exhausted(cu):
    """The fixture's C-EX answers EX every time: the bridge calls Moka
    retry.max_attempts (5) times, then replies Bridge.RetriesExhausted with
    the last cause and dead-letters the event as retries-exhausted."""
    before = len(cu.sim.calls("C-EX"))
    sent = cu.update({"CustomerCode": "C-EX", "FirstName": "Ex"}, key="cex-%s" % uid(),
                     headers=[("correlation-id", "ex-%s" % uid())])
    rec = cu.reply_for(sent)
    v = expect_reply(sent, rec, operation="customer.update", status="failure",
                     result_code="Bridge.RetriesExhausted", attempts=5)
    assert "EX" in v["result_message"], (
        "result_message should name the last cause (EX): %r" % v["result_message"])
    d = cu.dlq_for(sent)
    expect_dlq(sent, d, reason="retries-exhausted", result_code="Bridge.RetriesExhausted",
               group_id=cu.group_id, attempts=5)
    assert "EX" in d.header("dlq.error"), d.header("dlq.error")
    assert len(cu.sim.calls("C-EX")) - before == 5, (
        "expected 5 calls to Moka, got %d" % (len(cu.sim.calls("C-EX")) - before))


def test_wrong_dealer_credentials_hold_the_event_until_moka_accepts(cu_bad_credentials):
    """A password the simulator rejects: Moka's InvalidRequest at HTTP 200
    may be the credentials' fault, so a probe decides; refused, the event
    waits: no reply, no DLQ record. When Moka accepts that password (changed
    at Moka), the event is answered once, Success; no secret anywhere (the
    bridge logs are searched at teardown, at debug level)."""
    cu = cu_bad_credentials
    sent = cu.update({"CustomerCode": "C3", "FirstName": "Can"},
                     key="C3", headers=[("correlation-id", "wrong-creds")])
    wait_until(lambda: any("refuses the dealer's credentials" in line
                           for line in cu.bridge.stderr_text().splitlines()),
               30, "the credentials outage")
    time.sleep(1)
    assert cu.all_for(sent, dlq=False) == [] and cu.all_for(sent, dlq=True) == []
    cu.sim.set_dealer(helpers.DEALER_CODE, password=WRONG_DEALER_PASSWORD)
    v = cu.reply_for(sent).json()
    assert v["status"] == "success" and v["attempts"] >= 2, v
    cu.wait_done(sent)
    assert len(cu.all_for(sent, dlq=False)) == 1
    assert cu.all_for(sent, dlq=True) == []


def test_reply_and_dlq_headers_on_failure(cu):
    """The three reply headers on a failure, and the DLQ record's header set."""
    sent, v, d = _business_failure(cu, {"CustomerCode": "C5", "Email": "x@"},
                                   UC + "InvalidEmailFormat",
                                   headers=[("correlation-id", "hdr-check"),
                                            ("x-trace", "kept-as-is")])
    rec = cu.reply_for(sent)
    assert rec.header("correlation-id") == "hdr-check"
    assert rec.header("moka-status") == "failure"
    assert rec.header("moka-result-code") == UC + "InvalidEmailFormat"
    assert d.header("dlq.consumer-group") == cu.group_id
    assert d.header("dlq.original-topic") == cu.topics.customer_update


def test_customer_password_not_in_failure_texts(cu):
    """A failed event's customer password stays in the DLQ value (the
    original bytes) but in no text the bridge writes: result_message,
    dlq.error, headers, logs (checked at teardown)."""
    sent, v, d = _business_failure(
        cu, {"CustomerCode": "C6", "Password": FAILED_PASSWORD, "Email": FAILED_PASSWORD},
        UC + "InvalidEmailFormat")
    assert FAILED_PASSWORD not in v["result_message"]
    assert FAILED_PASSWORD.encode() not in cu.reply_for(sent).value
    for k, val in d.headers:
        if k.startswith("dlq."):
            assert FAILED_PASSWORD.encode() not in (val or b""), "%s holds the password" % k
    assert FAILED_PASSWORD.encode() in d.value, "the DLQ value must be the original bytes"


def test_producer_runs_with_the_promised_settings(cu):
    """What the README promises of the producer (idempotent, acks=all,
    lz4), read back from the running bridge two ways: the settings its
    librdkafka producer reports (logged at start from the live handle),
    and the batch the broker stored for a reply (a producer id and
    sequence numbers, which only an idempotent producer writes; the
    codec)."""
    sent = cu.update({"CustomerCode": "Customer", "FirstName": "Lz"},
                     key="lz4-%s" % uid())
    rec = cu.reply_for(sent)
    lines = [l for l in cu.bridge.logs() if l.get("msg") == "producer settings"]
    assert len(lines) == 1, "producer settings lines: %r" % lines
    s = lines[0]
    assert s["enable.idempotence"] == "true", s
    assert s["acks"] in ("-1", "all"), s
    assert s["compression.codec"] == "lz4", s
    batch = [b for b in cu.kafka.batches(rec.topic, rec.partition)
             if int(b["baseOffset"]) <= rec.offset <= int(b["lastOffset"])]
    assert len(batch) == 1, "no batch holds offset %d: %r" % (rec.offset, batch)
    b = batch[0]
    assert b["compresscodec"] == "lz4", b
    assert int(b["producerId"]) >= 0 and int(b["baseSequence"]) >= 0, (
        "the broker stored the reply without a producer id and sequence: "
        "not written by an idempotent producer: %r" % b)
    assert b["isTransactional"] == "false", b


def test_configured_output_topics_and_a_shared_dlq(harness, kafka):
    """topics.customer_update_reply / _dlq and sale_list_dlq set explicitly,
    one DLQ shared by both inputs."""
    sim = harness.start_sim()
    t = harness.make_topics(customer_update_reply="replies-cu",
                            customer_update_dlq="dead-letters",
                            sale_list_dlq="dead-letters")
    assert t.cu_dlq == t.sl_dlq
    b = harness.start_bridge(sim, topics=t, dealer=("1733", "TestMoka4", "PERM0DENY77AB"),
                             secrets=SECRETS, overrides=DEBUG)
    r = Running(kafka, sim, b)
    s1 = r.update({"CustomerCode": "C1", "Email": "bad"}, key="k1")
    s2 = r.sale_list({}, key="k2")
    rep1 = kafka.collect(t.cu_reply, 1, 30, watch=r.watch, match=s1.is_source_of)[0]
    expect_reply(s1, rep1, operation="customer.update", status="failure",
                 result_code=UC + "InvalidEmailFormat", attempts=1)
    rep2 = kafka.collect(t.sl_reply, 1, 30, watch=r.watch, match=s2.is_source_of)[0]
    expect_reply(s2, rep2, operation="sale.list", status="failure",
                 result_code="DealerSale.GetSaleList.PermissionDenied", attempts=1)
    dl = kafka.collect(t.cu_dlq, 2, 30, watch=r.watch)
    by_topic = {x.header("dlq.original-topic"): x for x in dl}
    assert set(by_topic) == {t.customer_update, t.sale_list}, dl
    expect_dlq(s1, by_topic[t.customer_update], reason="moka-result",
               result_code=UC + "InvalidEmailFormat", group_id=b.group_id, attempts=1)
    expect_dlq(s2, by_topic[t.sale_list], reason="moka-result",
               result_code="DealerSale.GetSaleList.PermissionDenied",
               group_id=b.group_id, attempts=1)
    # Nothing under the derived names (they were not even created).
    names = kafka.admin.list_topics(timeout=10).topics
    assert t.customer_update + ".reply" not in names


@pytest.mark.parametrize("how", ["env", "file"])
def test_dealer_password_from_environment_or_file(harness, kafka, tmp_path, how):
    sim = harness.start_sim()
    env, overrides = {}, {"moka": {"password": ""}, **DEBUG}
    if how == "env":
        env["MOKA_BRIDGE_MOKA_PASSWORD"] = helpers.DEALER_PASSWORD
    else:
        path = str(tmp_path / "moka-password")
        with open(path, "w") as f:
            f.write(helpers.DEALER_PASSWORD + "\n")
        overrides["moka"]["password_file"] = path
    b = harness.start_bridge(sim, overrides=overrides, env=env, secrets=SECRETS)
    r = Running(kafka, sim, b)
    sent = r.update({"CustomerCode": "C2", "FirstName": "Ayşe"}, key="pw-%s" % uid())
    expect_reply(sent, r.reply_for(sent), operation="customer.update", status="success",
                 result_code="Success", attempts=1)


def test_proxy_environment_is_not_used(harness, kafka):
    """Moka is called directly: *_proxy variables in the environment (here a
    proxy nobody listens on) must not divert or break the calls."""
    sim = harness.start_sim()
    dead = "http://127.0.0.1:9"
    env = {v: dead for v in ("http_proxy", "https_proxy", "all_proxy",
                             "HTTPS_PROXY", "ALL_PROXY")}
    # An inherited no_proxy (e.g. 127.0.0.1 on a developer's host) would
    # make the test pass with a bridge that uses the proxy.
    env.update({"no_proxy": None, "NO_PROXY": None})
    b = harness.start_bridge(sim, secrets=SECRETS, env=env, overrides=DEBUG)
    r = Running(kafka, sim, b)
    # auto-* customers are created by moka-sim on first use
    sent = r.update({"CustomerCode": "auto-proxy-%s" % uid(), "FirstName": "Via"},
                    key="proxy-%s" % uid())
    expect_reply(sent, r.reply_for(sent), operation="customer.update",
                 status="success", result_code="Success", attempts=1)


def test_requests_carry_json_content_type_and_user_agent(harness, kafka):
    """Every call says it is UTF-8 JSON, as Moka's SDKs do, and names
    moka-bridge and its version (the sim counts both headers by value), for
    both operations."""
    version = re.search(r"project\(moka-bridge VERSION ([0-9.]+)",
                        (pathlib.Path(helpers.source_dir()) / "CMakeLists.txt").read_text()).group(1)
    sim = harness.start_sim()
    r = Running(kafka, sim, harness.start_bridge(sim, secrets=SECRETS, overrides=DEBUG))
    sent = r.update({"CustomerCode": "auto-ua-%s" % uid(), "FirstName": "Ua"},
                    key="ua-%s" % uid())
    expect_reply(sent, r.reply_for(sent), operation="customer.update",
                 status="success", result_code="Success", attempts=1)
    sent = r.sale_list({}, key="ua-sl-%s" % uid())
    expect_reply(sent, r.reply_for(sent), operation="sale.list", status="success",
                 result_code="Success", attempts=1)
    stats = sim.stats()
    assert stats["user_agents"] == {"moka-bridge/" + version: 2}, stats
    assert stats["content_types"] == {"application/json; charset=utf-8": 2}, stats
