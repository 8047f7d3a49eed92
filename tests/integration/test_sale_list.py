"""Sale-list requests end to end, one bridge per fixture dealer:
1731 has sales (Success), 1732 none (DealerSaleNotFund: a success with an
empty list), 1733 no permission (PermissionDenied), 1734 answers EX, and a
wrong password gives InvalidRequest: a credentials outage, no DLQ."""

import time
import uuid

import pytest

from helpers import Running, expect_dlq, expect_reply, wait_until

DEALERS = {
    "success": ("1731", "TestMoka2", "HYSYHDS8DU8HU"),
    "not_fund": ("1732", "TestMoka3", "QWERTY12KL9ZX"),
    "permission_denied": ("1733", "TestMoka4", "PERM0DENY77AB"),
    "ex": ("1734", "TestMoka5", "EXEXEX123ABCD"),
    "wrong_password": ("1731", "TestMoka2", "NOTTHEPASSWORD1"),
}


def uid():
    return uuid.uuid4().hex[:8]


@pytest.fixture
def run_dealer(harness, kafka):
    def start(name):
        sim = harness.start_sim()
        b = harness.start_bridge(sim, dealer=DEALERS[name])
        return Running(kafka, sim, b)
    return start


def test_success_returns_the_dealer_sale_list(run_dealer):
    r = run_dealer("success")
    sent = r.sale_list({}, key="sl-%s" % uid(), headers=[("correlation-id", "sl-%s" % uid())])
    rec = r.reply_for(sent)
    v = expect_reply(sent, rec, operation="sale.list", status="success",
                     result_code="Success", attempts=1)
    data = v["data"]
    assert isinstance(data, dict) and isinstance(data.get("DealerSaleList"), list), v
    sales = {s["DealerSaleId"]: s for s in data["DealerSaleList"]}
    assert sorted(sales) == [1003, 1004, 1005], sorted(sales)
    s = sales[1004]
    assert s["SaleCode"] == "abonelik-C1" and s["CustomerCode"] == "C1", s
    assert abs(float(s["Amount"]) - 25.45) < 1e-9, s
    assert s["Currency"] == "USD" and s["InstallmentNumber"] == 3, s
    assert s["Description"] == "Aylık abonelik", s
    assert s["DefaultCard1Token"] == "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", s
    r.wait_done(sent)
    assert r.all_for(sent, dlq=True) == [], "a success was dead-lettered"


@pytest.mark.parametrize("value", [None, b"", {}], ids=["null", "empty", "object"])
def test_empty_or_empty_object_request_is_accepted(run_dealer, value):
    r = run_dealer("success")
    sent = r.sale_list(value, key="sl-%s" % uid())
    rec = r.reply_for(sent)
    v = expect_reply(sent, rec, operation="sale.list", status="success",
                     result_code="Success", attempts=1)
    assert len(v["data"]["DealerSaleList"]) == 3


def _failure(r, code, reason, attempts):
    sent = r.sale_list({}, key="sl-%s" % uid(), headers=[("correlation-id", "f-%s" % uid()),
                                                         ("origin", "tests")])
    rec = r.reply_for(sent)
    v = expect_reply(sent, rec, operation="sale.list", status="failure",
                     result_code=code, attempts=attempts)
    d = r.dlq_for(sent)
    expect_dlq(sent, d, reason=reason, result_code=code, group_id=r.group_id,
               attempts=attempts)
    r.wait_done(sent)
    assert len(r.all_for(sent, dlq=False)) == 1
    assert len(r.all_for(sent, dlq=True)) == 1
    return sent, v, d


def test_permission_denied(run_dealer):
    r = run_dealer("permission_denied")
    _failure(r, "DealerSale.GetSaleList.PermissionDenied", "moka-result", 1)
    assert len(r.sim.calls("*sale-list*")) == 1, "a business failure must not be retried"


def test_dealer_sale_not_fund_is_an_empty_list(run_dealer):
    r = run_dealer("not_fund")
    sent = r.sale_list({}, key="sl-%s" % uid())
    v = expect_reply(sent, r.reply_for(sent), operation="sale.list",
                     status="success",
                     result_code="DealerSale.GetSaleList.DealerSaleNotFund",
                     attempts=1)
    assert v["data"] == {"DealerSaleListCount": 0, "DealerSaleList": []}, v
    r.wait_done(sent)
    assert r.all_for(sent, dlq=True) == [], "no sales was dead-lettered"


def test_ex_is_retried_then_retries_exhausted(run_dealer):
    r = run_dealer("ex")
    sent, v, d = _failure(r, "Bridge.RetriesExhausted", "retries-exhausted", 5)
    assert "EX" in v["result_message"], v["result_message"]
    assert len(r.sim.calls("*sale-list*")) == 5, (
        "expected 5 GetSaleList calls, got %d" % len(r.sim.calls("*sale-list*")))


def test_wrong_password_holds_the_request_until_moka_accepts(run_dealer):
    r = run_dealer("wrong_password")
    sent = r.sale_list({}, key="sl-%s" % uid())
    wait_until(lambda: len(r.sim.calls("*sale-list*")) >= 2, 30,
               "the request and the confirming probe")
    time.sleep(1)
    assert r.all_for(sent, dlq=False) == [] and r.all_for(sent, dlq=True) == []
    # The password is changed at Moka to the one the bridge sends.
    r.sim.set_dealer("1731", password=DEALERS["wrong_password"][2])
    v = expect_reply(sent, r.reply_for(sent), operation="sale.list",
                     status="success", result_code="Success")
    assert len(v["data"]["DealerSaleList"]) == 3
    r.wait_done(sent)
    assert r.all_for(sent, dlq=True) == []
