"""Black-box tests of moka-sim over real HTTP.

The simulator runs as a subprocess on a free port (--listen 127.0.0.1:0
--port-file), seeded from config/moka-sim-fixture.json. Every test starts
from POST /_sim/reset, so tests do not depend on each other.

Environment: MOKA_BUILD_DIR (default /work/main/build) holds the binary at
src/sim/moka-sim.
"""

import concurrent.futures
import hashlib
import http.client
import json
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import pytest
import requests

SOURCE_DIR = pathlib.Path(
    os.environ.get("MOKA_SOURCE_DIR",
                   pathlib.Path(__file__).resolve().parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("MOKA_BUILD_DIR", "/work/main/build"))
SIM = BUILD_DIR / "src" / "sim" / "moka-sim"
FIXTURE = SOURCE_DIR / "config" / "moka-sim-fixture.json"

UC = "/DealerCustomer/UpdateCustomer"
SL = "/DealerSale/GetSaleList"
UCP = "DealerCustomer.UpdateCustomer."

# Dealers of config/moka-sim-fixture.json.
D_OK = ("1731", "TestMoka2", "HYSYHDS8DU8HU")
D_NO_SALES = ("1732", "TestMoka3", "QWERTY12KL9ZX")
D_DENIED = ("1733", "TestMoka4", "PERM0DENY77AB")
D_EX = ("1734", "TestMoka5", "EXEXEX123ABCD")
D_BIG = ("1735", "TestMokaBig", "BIGLIST5000XY")
SECRETS = [d[2] for d in (D_OK, D_NO_SALES, D_DENIED, D_EX, D_BIG)]
# Passwords set at run time through /_sim/dealers.
RUNTIME_SECRETS = ["ROTATED-PW-77", "NEWDEALERPW1", "ALT-PW-RACE"]


def check_key(code, user, password):
    raw = (code + "MK" + user + "PD" + password).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


def auth(dealer=D_OK, key=None):
    code, user, password = dealer
    return {"DealerCode": code, "Username": user, "Password": password,
            "CheckKey": key if key is not None
            else check_key(code, user, password)}


class Sim:
    """A running moka-sim process."""

    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory(prefix="moka-sim-test-")
        port_file = pathlib.Path(self.dir.name) / "port"
        self.out = open(pathlib.Path(self.dir.name) / "stdout", "w+")
        self.err = open(pathlib.Path(self.dir.name) / "stderr", "w+")
        if not SIM.exists():
            pytest.fail(f"moka-sim binary not found at {SIM} "
                        "(build it or set MOKA_BUILD_DIR)")
        self.proc = subprocess.Popen(
            [str(SIM), "--listen", "127.0.0.1:0",
             "--port-file", str(port_file), *args],
            stdout=self.out, stderr=self.err)
        deadline = time.monotonic() + 10
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None:
                pytest.fail(f"moka-sim exited with {self.proc.returncode}: "
                            f"{self.stderr()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("moka-sim did not write its port file in 10 s")
            time.sleep(0.01)
        self.port = int(port_file.read_text())
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()

    def stdout(self):
        self.out.seek(0)
        return self.out.read()

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def post(self, path, body, **kw):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.http.post(self.url + path, data=data, headers=headers,
                              timeout=kw.pop("timeout", 10), **kw)

    def get(self, path, **kw):
        return self.http.get(self.url + path, timeout=10, **kw)

    def faults(self, **settings):
        r = self.post("/_sim/faults", settings)
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self):
        """SIGTERM; returns the exit status."""
        self.http.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.out.close()
            self.err.close()
            self.dir.cleanup()


@pytest.fixture(scope="module")
def sim_proc():
    sim = Sim("--fixture", str(FIXTURE), "--threads", "2")
    yield sim
    out, err = sim.stdout(), sim.stderr()
    status = sim.stop()
    assert status == 0, f"moka-sim exit status {status}: {err}"
    assert out.startswith(f"moka-sim listening on 127.0.0.1:{sim.port}\n")
    for secret in SECRETS + RUNTIME_SECRETS + [check_key(*D_OK)]:
        assert secret not in out and secret not in err, \
            "a password or CheckKey was printed"


@pytest.fixture
def sim(sim_proc):
    r = sim_proc.post("/_sim/reset", {})
    assert r.status_code == 200, r.text
    return sim_proc


def update(sim, request, dealer=D_OK, key=None, **kw):
    return sim.post(UC, {"DealerCustomerAuthentication": auth(dealer, key),
                         "DealerCustomerRequest": request}, **kw)


def sale_list(sim, dealer=D_OK, key=None, **kw):
    return sim.post(SL, {"DealerSaleAuthentication": auth(dealer, key),
                         "DealerSaleRequest": None}, **kw)


def result(r):
    assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
    body = r.json()
    assert set(body) == {"Data", "ResultCode", "ResultMessage", "Exception"}
    return body


# ---- UpdateCustomer -------------------------------------------------------


def test_update_success_echoes_customer_and_password(sim):
    body = result(update(sim, {
        "DealerCustomerId": "", "CustomerCode": "Customer",
        "Password": "Elif1234", "FirstName": "Elif", "LastName": "Y",
        "Gender": "2", "BirthDate": "19850710", "GsmNumber": "5301111111",
        "Email": "elif.y@moka.com"}))
    assert body["ResultCode"] == "Success"
    assert body["Exception"] is None
    assert body["Data"] == {
        "DealerCustomer": {
            "DealerCustomerId": 1033, "CustomerCode": "Customer",
            "Password": "Elif1234", "FirstName": "Elif", "LastName": "Y",
            "Gender": 2, "BirthDate": "19850710", "GsmNumber": "5301111111",
            "Email": "elif.y@moka.com", "Address": "TAŞDELEN"},
        "CardListCount": 0, "CardList": []}


def test_update_changes_only_given_fields_and_persists(sim):
    body = result(update(sim, {"DealerCustomerId": 1101,
                               "FirstName": "Veli", "Gender": 2,
                               "LastName": None, "Email": ""}))
    cust = body["Data"]["DealerCustomer"]
    assert (cust["CustomerCode"], cust["FirstName"], cust["LastName"],
            cust["Gender"]) == ("C1", "Veli", "Kaya", 2)
    again = result(update(sim, {"CustomerCode": "C1"}))
    assert again["Data"]["DealerCustomer"]["FirstName"] == "Veli"


def test_update_accepts_numeric_strings_and_numbers(sim):
    body = result(update(sim, {"DealerCustomerId": "1102",
                               "CustomerCode": "C2", "Gender": 1,
                               "GsmNumber": 5301234567}))
    cust = body["Data"]["DealerCustomer"]
    assert cust["DealerCustomerId"] == 1102 and cust["Gender"] == 1
    assert cust["GsmNumber"] == "5301234567"


@pytest.mark.parametrize("body", [
    "{not json",
    "[1, 2]",
    {"DealerCustomerRequest": {"CustomerCode": "C1"}},
    {"DealerCustomerAuthentication": auth()},
    {"DealerCustomerAuthentication": auth(),
     "DealerCustomerRequest": None},
    {"DealerCustomerAuthentication": auth(),
     "DealerCustomerRequest": {"CustomerCode": "C1", "Gender": "female"}},
    {"DealerCustomerAuthentication": dict(auth(), Password="wrong"),
     "DealerCustomerRequest": {"CustomerCode": "C1"}},
    {"DealerCustomerAuthentication": dict(auth(), DealerCode="9999"),
     "DealerCustomerRequest": {"CustomerCode": "C1"}},
], ids=["broken-json", "not-object", "no-auth", "no-request",
        "null-request", "bad-gender", "wrong-password", "unknown-dealer"])
def test_update_invalid_request(sim, body):
    res = result(sim.post(UC, body))
    assert res["ResultCode"] == UCP + "InvalidRequest"
    assert res["Data"] is None


@pytest.mark.parametrize("key", [
    "0" * 64,
    check_key(*D_OK).upper(),
    check_key("1731", "TestMoka2", "HYSYHDS8DU8HU ").lower(),
    "",
], ids=["zeros", "uppercase", "other-password", "empty"])
def test_update_checkkey_mismatch_is_invalid_request(sim, key):
    res = result(update(sim, {"CustomerCode": "C1"}, key=key))
    assert res["ResultCode"] == UCP + "InvalidRequest"


def test_checkkey_test_vector():
    assert check_key(*D_OK) == \
        "1c1cccfe19b782415c207f1d66f97889cf11ed6d1e1ad6f585e5fe70b6f5da90"


@pytest.mark.parametrize("request_obj,code", [
    ({"CustomerCode": "", "DealerCustomerId": ""},
     "CustomerCodeOrDealerCustomerIdMustBeGiven"),
    ({"DealerCustomerId": 0, "FirstName": "x"},
     "CustomerCodeOrDealerCustomerIdMustBeGiven"),
    ({"CustomerCode": "C1", "Email": "not-an-email"}, "InvalidEmailFormat"),
    ({"CustomerCode": "C1", "Email": "a@b"}, "InvalidEmailFormat"),
    ({"DealerCustomerId": 999999}, "DealerCustomerNotFound"),
    ({"CustomerCode": "nobody"}, "DealerCustomerNotFound"),
    ({"DealerCustomerId": 1301, "CustomerCode": "dup-b"},
     "CustomerCodeAlreadyUsing"),
    ({"DealerCustomerId": "1301", "CustomerCode": "no-such-code"},
     "CustomerCodeDoesntMatchDealerCustomerId"),
])
def test_update_business_failures(sim, request_obj, code):
    res = result(update(sim, request_obj))
    assert res["ResultCode"] == UCP + code
    assert res["Data"] is None and res["Exception"] is None


def test_update_fixture_ex_customer(sim):
    for req in ({"CustomerCode": "C-EX"}, {"DealerCustomerId": 1201}):
        res = result(update(sim, req))
        assert res["ResultCode"] == "EX"
        assert res["Data"] is None
        assert res["ResultMessage"] and res["Exception"]


def test_update_auto_prefix_creates_customer(sim):
    first = result(update(sim, {"CustomerCode": "auto-42",
                                "FirstName": "Zeynep"}))
    assert first["ResultCode"] == "Success"
    cust = first["Data"]["DealerCustomer"]
    assert cust["CustomerCode"] == "auto-42"
    assert cust["FirstName"] == "Zeynep"
    second = result(update(sim, {"CustomerCode": "auto-43"}))
    new_id = second["Data"]["DealerCustomer"]["DealerCustomerId"]
    assert new_id == cust["DealerCustomerId"] + 1
    by_id = result(update(sim, {"DealerCustomerId": cust["DealerCustomerId"]}))
    assert by_id["Data"]["DealerCustomer"]["FirstName"] == "Zeynep"


# ---- GetSaleList -----------------------------------------------------------


def test_sale_list_success_has_every_field(sim):
    r = sale_list(sim)
    body = result(r)
    assert body["ResultCode"] == "Success"
    data = body["Data"]
    assert data["DealerSaleListCount"] == 3 == len(data["DealerSaleList"])
    first = data["DealerSaleList"][0]
    assert list(first) == [
        "DealerSaleId", "SaleCode", "DealerCustomerId", "CustomerCode",
        "DealerProductId", "ProductCode", "Amount", "Currency",
        "InstallmentNumber", "DealerSaleScheduleId", "SaleDate",
        "BeginDate", "EndDate", "HowManyTrial", "Description", "PlanType",
        "DealerCustomerTypeId", "DefaultCard1Token", "DefaultCard2Token",
        "DefaultCard3Token"]
    assert first["DefaultCard1Token"] == \
        "9de41bb0-e82f-4670-b36b-d71ff27a3111"
    # Amount is a decimal with two places, as Moka writes it.
    assert '"Amount":1.00,' in r.text and '"Amount":25.45,' in r.text
    assert '"Amount":1200.50,' in r.text


def test_sale_list_accepts_body_without_sale_request(sim):
    res = result(sim.post(SL, {"DealerSaleAuthentication": auth()}))
    assert res["ResultCode"] == "Success"


@pytest.mark.parametrize("dealer,code", [
    (D_NO_SALES, "DealerSale.GetSaleList.DealerSaleNotFund"),
    (D_DENIED, "DealerSale.GetSaleList.PermissionDenied"),
    (D_EX, "EX"),
])
def test_sale_list_failures(sim, dealer, code):
    res = result(sale_list(sim, dealer))
    assert res["ResultCode"] == code
    assert res["Data"] is None


@pytest.mark.parametrize("body", [
    "nope",
    {"DealerSaleRequest": None},
    {"DealerSaleAuthentication": auth(key="f" * 64)},
    {"DealerSaleAuthentication": dict(auth(), Username="TestMoka3")},
], ids=["broken-json", "no-auth", "bad-checkkey", "wrong-user"])
def test_sale_list_invalid_request(sim, body):
    res = result(sim.post(SL, body))
    assert res["ResultCode"] == "DealerSale.GetSale.InvalidRequest"


def test_sale_list_generated_big_list(sim):
    body = result(sale_list(sim, D_BIG, timeout=30))
    assert body["Data"]["DealerSaleListCount"] == 50000
    assert len(body["Data"]["DealerSaleList"]) == 50000


def test_count_key_quirk_option():
    quirky = Sim("--count-key-quirk")       # built-in data set
    try:
        r = quirky.post(SL, {"DealerSaleAuthentication": auth()})
        body = result(r)
        assert " DealerSaleListCount" in body["Data"]
        assert "DealerSaleListCount" not in body["Data"]
        assert r.text.startswith('{"Data":{" DealerSaleListCount":2,')
    finally:
        assert quirky.stop() == 0


def test_large_bodies(sim):
    # Bodies are streamed past MHD's small per-connection pool.
    address = "Çankaya " * 20000
    res = result(update(sim, {"CustomerCode": "C1", "Address": address}))
    assert res["Data"]["DealerCustomer"]["Address"] == address
    rules = [{"customer": f"k{i}", "kind": "ex"} for i in range(5000)]
    assert len(sim.faults(rules=rules)["rules"]) == 5000
    r = sim.post(UC, "{" + " " * (9 << 20) + "}")
    assert r.status_code == 413


def test_unknown_path_and_wrong_method(sim):
    assert sim.post("/DealerCustomer/Nope", {}).status_code == 404
    r = sim.get(UC)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


# ---- faults ----------------------------------------------------------------


def test_rule_http_503_with_retry_after_then_normal(sim):
    sim.faults(retry_after=3, rules=[
        {"customer": "C9", "kind": "http_503", "count": 2}])
    for _ in range(2):
        r = update(sim, {"CustomerCode": "C9"})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "3"
        assert r.text == "Service Unavailable"
    assert result(update(sim, {"CustomerCode": "C9"}))["ResultCode"] == \
        "Success"
    assert sim.get("/_sim/faults").json()["rules"][0]["count"] == 0


@pytest.mark.parametrize("kind,status", [
    ("http_500", 500), ("http_429", 429), ("http_401", 401),
    ("http_403", 403)])
def test_rule_http_statuses(sim, kind, status):
    sim.faults(rules=[{"customer": "C8", "kind": kind}])
    r = update(sim, {"CustomerCode": "C8"})
    assert r.status_code == status
    assert ("Retry-After" in r.headers) is False


def test_rule_matches_dealer_customer_id(sim):
    sim.faults(rules=[{"customer": "1104", "kind": "http_429",
                       "retry_after": 1}])
    r = update(sim, {"DealerCustomerId": 1104})
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"


def test_rule_ex(sim):
    sim.faults(rules=[{"customer": "C7", "kind": "ex"}])
    res = result(update(sim, {"CustomerCode": "C7", "FirstName": "New"}))
    assert res["ResultCode"] == "EX" and res["Data"] is None
    assert res["Exception"]
    # The failed call had no effect.
    after = result(update(sim, {"CustomerCode": "C7"}))
    assert after["Data"]["DealerCustomer"]["FirstName"] is None


def test_rule_reset_drops_connection(sim):
    sim.faults(rules=[{"customer": "C6", "kind": "reset"}])
    with pytest.raises(requests.exceptions.ConnectionError):
        update(sim, {"CustomerCode": "C6"})
    assert result(update(sim, {"CustomerCode": "C6"}))["ResultCode"] == \
        "Success"


def test_rule_malformed_body(sim):
    sim.faults(rules=[{"customer": "C5", "kind": "malformed"}])
    r = update(sim, {"CustomerCode": "C5"})
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)


def test_rule_for_sale_list(sim):
    sim.faults(rules=[{"customer": "*sale-list*", "kind": "ex"}])
    assert result(sale_list(sim))["ResultCode"] == "EX"
    assert result(sale_list(sim))["ResultCode"] == "Success"


def test_rule_hang_holds_then_answers(sim):
    sim.faults(rules=[{"customer": "C4", "kind": "hang", "hang_ms": 400}])
    t0 = time.monotonic()
    res = result(update(sim, {"CustomerCode": "C4"}))
    assert time.monotonic() - t0 >= 0.4
    assert res["ResultCode"] == "Success"


def test_hang_rate_times_out_client(sim):
    sim.faults(hang_rate=1.0, hang_ms=1500)
    with pytest.raises(requests.exceptions.ReadTimeout):
        update(sim, {"CustomerCode": "C1"}, timeout=0.3)
    assert sim.get("/_sim/stats").json()["faults"]["hang"] == 1


def test_latency_is_applied(sim):
    sim.faults(latency_ms=250, latency_jitter_ms=50)
    for _ in range(3):
        t0 = time.monotonic()
        assert result(update(sim, {"CustomerCode": "C1"}))["ResultCode"] \
            == "Success"
        assert time.monotonic() - t0 >= 0.25
    sim.faults(latency_ms=0, latency_jitter_ms=0)
    t0 = time.monotonic()
    result(update(sim, {"CustomerCode": "C1"}))
    assert time.monotonic() - t0 < 0.25


def test_delayed_requests_do_not_block_workers(sim):
    # 300 concurrent requests held 500 ms each by 2 worker threads:
    # they must overlap, so the lot takes about 0.5 s, not 75 s.
    sim.faults(latency_ms=500)
    n = 300

    def one(i):
        with requests.Session() as s:
            r = s.post(sim.url + UC, timeout=20, data=json.dumps({
                "DealerCustomerAuthentication": auth(),
                "DealerCustomerRequest": {"CustomerCode": f"auto-c{i}"}}))
            return r.json()["ResultCode"]

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        codes = list(pool.map(one, range(n)))
    elapsed = time.monotonic() - t0
    assert codes == ["Success"] * n
    assert 0.5 <= elapsed < 5, elapsed
    stats = sim.get("/_sim/stats").json()
    assert stats["in_flight"] == 1  # this GET
    # The high-water mark saw them overlap (the reset before and this GET
    # count too); a sampled in_flight could not show it now.
    assert n // 2 < stats["in_flight_max"] <= n + 2, stats


def test_error_rate_and_ex_rate(sim):
    sim.faults(error_rate=1.0, retry_after=2)
    r = update(sim, {"CustomerCode": "C1"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    sim.faults(error_rate=1.0, error_status=500)
    r = update(sim, {"CustomerCode": "C1"})
    assert r.status_code == 500 and "Retry-After" not in r.headers
    sim.faults(error_rate=0, ex_rate=1.0)
    assert result(update(sim, {"CustomerCode": "C1"}))["ResultCode"] == "EX"
    sim.faults(ex_rate=0, reset_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        update(sim, {"CustomerCode": "C1"})
    sim.faults(reset_rate=0, malformed_rate=1.0)
    with pytest.raises(ValueError):
        update(sim, {"CustomerCode": "C1"}).json()


def test_outage_on_and_off(sim):
    sim.faults(latency_ms=2000, retry_after=5)
    assert sim.faults(outage=True)["outage"] is True
    t0 = time.monotonic()
    for call in (lambda: update(sim, {"CustomerCode": "C1"}),
                 lambda: sale_list(sim)):
        r = call()
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert time.monotonic() - t0 < 1.0, "outage answers at once"
    sim.faults(outage=False, latency_ms=0)
    assert result(update(sim, {"CustomerCode": "C1"}))["ResultCode"] == \
        "Success"
    stats = sim.get("/_sim/stats").json()
    assert stats["faults"]["outage"] == 2
    assert stats["by_result"]["http_503"] == 2


def test_faults_api_validates(sim):
    for bad in ({"error_rate": 2}, {"nope": 1}, {"outage": "yes"},
                {"rules": [{"customer": "C1", "kind": "explode"}]},
                {"rules": [{"kind": "ex"}]}, "not json"):
        r = sim.post("/_sim/faults", bad)
        assert r.status_code == 400, bad
        assert "error" in r.json()
    settings = sim.get("/_sim/faults").json()
    assert settings["error_rate"] == 0 and settings["rules"] == []
    assert settings["hang_ms"] == 60000 and settings["error_status"] == 503


# ---- stats, call log, reset -------------------------------------------------


def test_stats_count_requests_and_results(sim):
    result(update(sim, {"CustomerCode": "C1"}))
    result(update(sim, {"CustomerCode": "nobody"}))
    result(sale_list(sim))
    sim.faults(rules=[{"customer": "C2", "kind": "http_503"}])
    update(sim, {"CustomerCode": "C2"})
    sim.post("/nowhere", {})
    stats = sim.get("/_sim/stats").json()
    assert stats["requests_total"] == 4
    assert stats["by_endpoint"] == {UC: 3, SL: 1}
    assert stats["by_result"] == {
        "Success": 2, UCP + "DealerCustomerNotFound": 1, "http_503": 1}
    assert stats["faults"] == {"rule": 1}
    assert stats["not_found"] == 1
    assert stats["in_flight"] == 1


def test_stats_count_user_agents_and_content_types_capped(sim):
    """What clients send is counted by value; 32 distinct values at most,
    the rest as "(other)", so a client cannot grow the sim's memory."""
    result(update(sim, {"CustomerCode": "C1"}, headers={"User-Agent": "a/1"}))
    # http.client sends no User-Agent of its own (requests/urllib3 would)
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    conn.request("POST", UC, body="{}", headers={"Content-Type": "text/plain"})
    conn.getresponse().read()
    conn.close()
    for i in range(40):
        update(sim, {"CustomerCode": "C1"}, headers={"User-Agent": "many/%d" % i})
    stats = sim.get("/_sim/stats").json()
    ua, ct = stats["user_agents"], stats["content_types"]
    assert ua["a/1"] == 1 and ua["(none)"] == 1, ua
    assert len(ua) == 32 + 1 and ua["(other)"] == 40 - 30, ua
    assert ct == {"application/json": 41, "text/plain": 1}, ct


def test_call_log_keeps_arrival_order_and_retries(sim):
    sim.faults(rules=[{"customer": "C3", "kind": "http_503"}])
    sent = [{"CustomerCode": "C3", "FirstName": f"v{i}", "Gender": str(i)}
            for i in range(5)]
    update(sim, sent[0])                # faulted: 503
    for req in sent:                    # the "retry" of sent[0], then more
        result(update(sim, req))
    update(sim, {"DealerCustomerId": 1103, "FirstName": "by-id"})
    calls = sim.get("/_sim/calls", params={"customer": "C3"}).json()
    assert calls == {"customer": "C3", "calls": [sent[0]] + sent}
    by_id = sim.get("/_sim/calls", params={"customer": "1103"}).json()
    assert by_id["calls"] == [{"DealerCustomerId": 1103,
                               "FirstName": "by-id"}]
    sale_list(sim)
    summary = sim.get("/_sim/calls").json()
    assert summary["customers"] == {"C3": 6, "1103": 1, "*sale-list*": 1}
    sales = sim.get("/_sim/calls",
                    params={"customer": "*sale-list*"}).json()["calls"]
    assert sales == [{"DealerCode": "1731", "DealerSaleRequest": None}]
    text = sim.get("/_sim/calls", params={"customer": "C3"}).text
    assert "CheckKey" not in text and D_OK[2] not in text


def test_call_log_records_requests_that_fail_auth(sim):
    update(sim, {"CustomerCode": "C1", "FirstName": "x"}, key="0" * 64)
    calls = sim.get("/_sim/calls", params={"customer": "C1"}).json()
    assert calls["calls"] == [{"CustomerCode": "C1", "FirstName": "x"}]


def test_reset_restores_everything(sim):
    result(update(sim, {"CustomerCode": "C1", "FirstName": "Changed"}))
    result(update(sim, {"CustomerCode": "auto-reset"}))
    sim.faults(latency_ms=10, outage=False,
               rules=[{"customer": "C2", "kind": "ex"}])
    assert sim.post("/_sim/reset", {}).json() == {"reset": True}
    stats = sim.get("/_sim/stats").json()
    assert stats["requests_total"] == 0 and stats["by_result"] == {}
    assert sim.get("/_sim/calls").json()["customers"] == {}
    faults = sim.get("/_sim/faults").json()
    assert faults["latency_ms"] == 0 and faults["rules"] == []
    c1 = result(update(sim, {"CustomerCode": "C1"}))
    assert c1["Data"]["DealerCustomer"]["FirstName"] == "Ali"
    gone = result(update(sim, {"DealerCustomerId": 100000}))
    assert gone["ResultCode"] == UCP + "DealerCustomerNotFound"
    assert result(update(sim, {"CustomerCode": "C2"}))["ResultCode"] == \
        "Success"


def test_sigterm_with_suspended_requests_exits_cleanly():
    other = Sim("--latency-ms", "60000")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(requests.post, other.url + UC,
                               data=json.dumps({
                                   "DealerCustomerAuthentication": auth(),
                                   "DealerCustomerRequest":
                                       {"CustomerCode": "C1"}}),
                               timeout=20)
                   for _ in range(4)]
        deadline = time.monotonic() + 5
        while other.get("/_sim/stats").json()["timers_pending"] < 4:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        t0 = time.monotonic()
        assert other.stop() == 0
        assert time.monotonic() - t0 < 5
        for f in futures:
            try:
                f.result()
            except requests.exceptions.RequestException:
                pass        # answered or dropped: either is fine at exit


# ---- authentication: allow-lists, run-time credentials ----------------------

IP_NOT_ALLOWED = \
    "PaymentDealer.CheckPaymentDealerAuthentication.IpAddressNotAllowed"


def raw_post(host, port, path, body, source=None, headers=None):
    """POST over http.client, from a chosen source address (the loopback
    net answers every 127.x address, so a test can be another client)."""
    conn = http.client.HTTPConnection(
        host, port, timeout=10,
        source_address=(source, 0) if source else None)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"Content-Type": "application/json",
                              **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8")
    finally:
        conn.close()


def uc_body(request, dealer=D_OK, key=None):
    return {"DealerCustomerAuthentication": auth(dealer, key),
            "DealerCustomerRequest": request}


def sl_body(dealer=D_OK, key=None):
    return {"DealerSaleAuthentication": auth(dealer, key)}


def moka_result(status, text):
    assert status == 200, f"HTTP {status}: {text[:200]}"
    body = json.loads(text)
    assert set(body) == {"Data", "ResultCode", "ResultMessage", "Exception"}
    return body


def assert_no_secret(text, secrets):
    for secret in secrets:
        assert secret not in text, "a password or CheckKey was shown"
    assert "CheckKey" not in text and "password" not in text.lower()


def test_ip_allow_option_checked_before_credentials():
    s = Sim("--fixture", str(FIXTURE), "--ip-allow", "127.0.0.2,::1")
    try:
        # From 127.0.0.1, not on the list: even a wrong password gets the
        # address code (checked first), and nothing changes.
        for body in (uc_body({"CustomerCode": "C1", "FirstName": "Nope"}),
                     uc_body({"CustomerCode": "C1"},
                             dealer=("1731", "TestMoka2", "wrong"))):
            res = moka_result(*raw_post("127.0.0.1", s.port, UC, body))
            assert res["ResultCode"] == IP_NOT_ALLOWED and res["Data"] is None
        res = moka_result(*raw_post("127.0.0.1", s.port, SL, sl_body()))
        assert res["ResultCode"] == IP_NOT_ALLOWED
        # An unknown dealer has no list: its credentials fail.
        res = moka_result(*raw_post("127.0.0.1", s.port, UC, uc_body(
            {"CustomerCode": "C1"}, dealer=("9999", "x", "y"))))
        assert res["ResultCode"] == UCP + "InvalidRequest"
        # From 127.0.0.2, on the list: served, and the first update did
        # not happen.
        res = moka_result(*raw_post("127.0.0.1", s.port, UC,
                                    uc_body({"CustomerCode": "C1"}),
                                    source="127.0.0.2"))
        assert res["ResultCode"] == "Success"
        assert res["Data"]["DealerCustomer"]["FirstName"] == "Ali"
        res = moka_result(*raw_post("127.0.0.1", s.port, UC, uc_body(
            {"CustomerCode": "C1"}, dealer=("1731", "TestMoka2", "wrong")),
            source="127.0.0.2"))
        assert res["ResultCode"] == UCP + "InvalidRequest"
        dealers = s.get("/_sim/dealers").json()["dealers"]
        assert dealers and all(d["ip_allow"] == ["127.0.0.2", "::1"]
                               for d in dealers), dealers
        stats = s.get("/_sim/stats").json()
        assert stats["by_result"][IP_NOT_ALLOWED] == 3
        # Per dealer at run time: 1731 without a list, 1732 keeps it.
        r = s.post("/_sim/dealers", {"dealer_code": "1731", "ip_allow": None})
        assert r.status_code == 200, r.text
        res = moka_result(*raw_post("127.0.0.1", s.port, SL, sl_body()))
        assert res["ResultCode"] == "Success"
        res = moka_result(*raw_post("127.0.0.1", s.port, SL,
                                    sl_body(D_NO_SALES)))
        assert res["ResultCode"] == IP_NOT_ALLOWED
        # A reset restores the command line's list.
        assert s.post("/_sim/reset", {}).status_code == 200
        res = moka_result(*raw_post("127.0.0.1", s.port, SL, sl_body()))
        assert res["ResultCode"] == IP_NOT_ALLOWED
    finally:
        assert s.stop() == 0


def test_ip_allow_ipv6():
    s = Sim("--listen", "[::1]:0", "--ip-allow", "::1")
    try:
        res = moka_result(*raw_post("::1", s.port, SL, sl_body()))
        assert res["ResultCode"] == "Success"
        conn = http.client.HTTPConnection("::1", s.port, timeout=10)
        conn.request("POST", "/_sim/dealers",
                     body=json.dumps({"dealer_code": "1731",
                                      "ip_allow": ["127.0.0.1"]}))
        assert conn.getresponse().status == 200
        conn.close()
        res = moka_result(*raw_post("::1", s.port, SL, sl_body()))
        assert res["ResultCode"] == IP_NOT_ALLOWED
    finally:
        s.http.close()
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=10) == 0
        s.out.close()
        s.err.close()
        s.dir.cleanup()


@pytest.mark.parametrize("args,message", [
    (["--ip-allow", "127.0.0.1,nope"], "--ip-allow"),
    (["--ip-allow", "10.0.0.0/8"], "--ip-allow"),
    (["--ip-allow", ""], "--ip-allow"),
    (["--empty-customer-request", "maybe"], "--empty-customer-request"),
])
def test_bad_new_options_exit_2(args, message):
    p = subprocess.run([str(SIM), "--listen", "127.0.0.1:0", *args],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert message in p.stderr


def test_help_names_new_options():
    p = subprocess.run([str(SIM), "--help"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0
    for word in ("--ip-allow", "--empty-customer-request", "/_sim/dealers"):
        assert word in p.stdout


def test_dealer_rotation_at_run_time(sim):
    new = ("1731", "TestMoka2", RUNTIME_SECRETS[0])
    r = sim.post("/_sim/dealers", {"dealer_code": "1731",
                                   "password": new[2]})
    assert r.status_code == 200, r.text
    # The old credentials now fail as the real Moka fails: HTTP 200 and the
    # endpoint's InvalidRequest, never 401/403.
    old_uc = update(sim, {"CustomerCode": "C1", "FirstName": "Old"})
    assert result(old_uc)["ResultCode"] == UCP + "InvalidRequest"
    assert result(sale_list(sim))["ResultCode"] == SL_INVALID
    res = result(update(sim, {"CustomerCode": "C1"}, dealer=new))
    assert res["ResultCode"] == "Success"
    assert res["Data"]["DealerCustomer"]["FirstName"] == "Ali"
    assert result(sale_list(sim, new))["ResultCode"] == "Success"
    # Username only: the rotated password stays; the CheckKey follows.
    newer = ("1731", "TestMoka9", new[2])
    assert sim.post("/_sim/dealers", {"dealer_code": "1731",
                                      "username": newer[1]}).status_code == 200
    assert result(sale_list(sim, new))["ResultCode"] == SL_INVALID
    assert result(sale_list(sim, newer))["ResultCode"] == "Success"
    assert result(sale_list(sim, newer, key=check_key(*new)))[
        "ResultCode"] == SL_INVALID
    # An allow-list for one dealer only.
    assert sim.post("/_sim/dealers", {"dealer_code": "1731",
                                      "ip_allow": ["127.0.0.2"]}
                    ).status_code == 200
    assert result(sale_list(sim, newer))["ResultCode"] == IP_NOT_ALLOWED
    res = moka_result(*raw_post("127.0.0.1", sim.port, SL, sl_body(newer),
                                source="127.0.0.2"))
    assert res["ResultCode"] == "Success"
    assert result(sale_list(sim, D_NO_SALES))["ResultCode"] == \
        "DealerSale.GetSaleList.DealerSaleNotFund"
    listing = sim.get("/_sim/dealers").json()["dealers"]
    d1731 = [d for d in listing if d["dealer_code"] == "1731"]
    assert d1731 == [{"dealer_code": "1731", "username": "TestMoka9",
                      "ip_allow": ["127.0.0.2"]}]
    assert_no_secret(sim.get("/_sim/dealers").text,
                     SECRETS + [new[2], check_key(*new), check_key(*newer)])
    # Reset: the fixture's dealers again.
    assert sim.post("/_sim/reset", {}).status_code == 200
    assert result(sale_list(sim))["ResultCode"] == "Success"
    assert result(sale_list(sim, newer))["ResultCode"] == SL_INVALID
    listing = sim.get("/_sim/dealers").json()["dealers"]
    assert {"dealer_code": "1731", "username": "TestMoka2",
            "ip_allow": None} in listing


def test_dealer_created_at_run_time_has_no_sales(sim):
    nd = ("9001", "NewDealer", RUNTIME_SECRETS[1])
    r = sim.post("/_sim/dealers", {"dealer_code": nd[0], "username": nd[1],
                                   "password": nd[2], "ip_allow": None})
    assert r.status_code == 200, r.text
    assert {"dealer_code": "9001", "username": "NewDealer",
            "ip_allow": None} in r.json()["dealers"]
    assert_no_secret(r.text, SECRETS + [nd[2], check_key(*nd)])
    assert result(sale_list(sim, nd))["ResultCode"] == \
        "DealerSale.GetSaleList.DealerSaleNotFund"
    assert result(update(sim, {"CustomerCode": "C2"}, dealer=nd))[
        "ResultCode"] == "Success"
    assert sim.post("/_sim/reset", {}).status_code == 200
    assert result(sale_list(sim, nd))["ResultCode"] == SL_INVALID
    assert all(d["dealer_code"] != "9001"
               for d in sim.get("/_sim/dealers").json()["dealers"])


@pytest.mark.parametrize("body", [
    "not json", [1], {"username": "x"}, {"dealer_code": ""},
    {"dealer_code": 1731, "username": "x"},
    {"dealer_code": "1731", "username": ""},
    {"dealer_code": "1731", "nope": 1},
    {"dealer_code": "1731", "ip_allow": "127.0.0.1"},
    {"dealer_code": "1731", "ip_allow": ["127.0.0.1", "localhost"]},
    {"dealer_code": "1731", "ip_allow": [7]},
    {"dealer_code": "new-one", "username": "u"},
    {"dealer_code": "new-one", "password": "p"},
])
def test_dealers_api_validates(sim, body):
    before = sim.get("/_sim/dealers").json()
    r = sim.post("/_sim/dealers", body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]
    assert sim.get("/_sim/dealers").json() == before
    assert result(sale_list(sim))["ResultCode"] == "Success"


def test_dealers_api_method(sim):
    r = sim.http.put(sim.url + "/_sim/dealers", data="{}", timeout=10)
    assert r.status_code == 405


SL_INVALID = "DealerSale.GetSale.InvalidRequest"


@pytest.mark.parametrize("dealer,key", [
    (("1731", "TestMoka2", "wrong"), None),
    (("1731", "Nobody", "HYSYHDS8DU8HU"), None),
    (("9999", "TestMoka2", "HYSYHDS8DU8HU"), None),
    (D_OK, "0" * 64),
], ids=["wrong-password", "wrong-username", "unknown-dealer", "bad-checkkey"])
def test_credential_failures_are_http_200_never_401_403(sim, dealer, key):
    r = update(sim, {"CustomerCode": "C1"}, dealer=dealer, key=key)
    assert r.status_code == 200
    assert result(r)["ResultCode"] == UCP + "InvalidRequest"
    r = sale_list(sim, dealer, key=key)
    assert r.status_code == 200
    assert result(r)["ResultCode"] == SL_INVALID
    by_result = sim.get("/_sim/stats").json()["by_result"]
    assert not any(k.startswith("http_") for k in by_result), by_result


# ---- result-code rules ------------------------------------------------------


def test_rule_result_code_by_prefix_for_1000_customers(sim):
    sim.faults(rules=[{"customer_prefix": "bad-", "kind": "result",
                       "result_code": UCP + "InvalidRequest", "count": 1000}])
    rules = sim.get("/_sim/faults").json()["rules"]
    assert rules == [{"customer_prefix": "bad-", "kind": "result",
                      "count": 1000, "result_code": UCP + "InvalidRequest"}]
    for i in range(1000):
        res = result(update(sim, {"CustomerCode": f"bad-{i}",
                                  "FirstName": "x"}))
        assert res["ResultCode"] == UCP + "InvalidRequest", i
        assert res["Data"] is None
    # Good credentials, other customers unaffected; the count is spent.
    assert result(update(sim, {"CustomerCode": "C1"}))["ResultCode"] == \
        "Success"
    assert result(update(sim, {"CustomerCode": "bad-0"}))["ResultCode"] == \
        UCP + "DealerCustomerNotFound"
    assert sim.get("/_sim/faults").json()["rules"][0]["count"] == 0
    stats = sim.get("/_sim/stats").json()
    assert stats["by_result"][UCP + "InvalidRequest"] == 1000
    assert stats["faults"]["rule"] == 1000


def test_rule_result_code_has_no_business_effect(sim):
    sim.faults(rules=[
        {"customer": "C1", "kind": "result",
         "result_code": UCP + "InvalidRequest"},
        {"customer_prefix": "110", "kind": "result", "count": -1,
         "result_code": "DealerCustomer.UpdateCustomer.Whatever"},
        {"customer": "*sale-list*", "kind": "result",
         "result_code": "DealerSale.GetSaleList.PermissionDenied"}])
    res = result(update(sim, {"CustomerCode": "C1", "FirstName": "Changed"}))
    assert res["ResultCode"] == UCP + "InvalidRequest"
    res = result(update(sim, {"CustomerCode": "C1"}))
    assert res["Data"]["DealerCustomer"]["FirstName"] == "Ali"
    # The prefix matches a DealerCustomerId's text too (1101..1109).
    for _ in range(3):
        res = result(update(sim, {"DealerCustomerId": 1102,
                                  "FirstName": "Changed"}))
        assert res["ResultCode"] == "DealerCustomer.UpdateCustomer.Whatever"
    assert result(sale_list(sim))["ResultCode"] == \
        "DealerSale.GetSaleList.PermissionDenied"
    assert result(sale_list(sim))["ResultCode"] == "Success"
    assert sim.get("/_sim/faults").json()["rules"][1]["count"] == -1


@pytest.mark.parametrize("rule", [
    {"customer": "C1", "kind": "result"},
    {"customer": "C1", "kind": "ex", "result_code": "X"},
    {"customer": "C1", "customer_prefix": "C", "kind": "ex"},
    {"customer_prefix": "", "kind": "ex"},
    {"customer_prefix": "C", "kind": "result", "result_code": ""},
    {"customer_prefix": "C", "kind": "result", "result_code": "x" * 200},
])
def test_result_rules_validate(sim, rule):
    r = sim.post("/_sim/faults", {"rules": [rule]})
    assert r.status_code == 400, r.text
    assert "error" in r.json()
    assert sim.get("/_sim/faults").json()["rules"] == []


# ---- a request naming no customer ------------------------------------------

EMPTY_REQUESTS = [{"CustomerCode": "", "DealerCustomerId": ""},
                  {"DealerCustomerId": 0, "FirstName": "x"}, {}]


def test_empty_customer_request_mode_at_run_time(sim):
    assert sim.get("/_sim/faults").json()["empty_customer_request"] == \
        "must-be-given"
    for req in EMPTY_REQUESTS:
        assert result(update(sim, req))["ResultCode"] == \
            UCP + "CustomerCodeOrDealerCustomerIdMustBeGiven"
    assert sim.faults(empty_customer_request="invalid")[
        "empty_customer_request"] == "invalid"
    for req in EMPTY_REQUESTS:
        assert result(update(sim, req))["ResultCode"] == \
            UCP + "InvalidRequest"
    # Named customers are not affected.
    assert result(update(sim, {"CustomerCode": "C1"}))["ResultCode"] == \
        "Success"
    assert sim.faults(empty_customer_request="must-be-given")[
        "empty_customer_request"] == "must-be-given"
    sim.faults(empty_customer_request="invalid")
    assert sim.post("/_sim/reset", {}).status_code == 200
    assert sim.get("/_sim/faults").json()["empty_customer_request"] == \
        "must-be-given"
    for bad in ("maybe", 1, None):
        r = sim.post("/_sim/faults", {"empty_customer_request": bad})
        assert r.status_code == 400, bad


def test_empty_customer_request_option():
    s = Sim("--empty-customer-request", "invalid")
    try:
        assert result(update(s, {}))["ResultCode"] == UCP + "InvalidRequest"
        assert s.post("/_sim/reset", {}).status_code == 200
        assert s.get("/_sim/faults").json()["empty_customer_request"] == \
            "invalid"
        s.faults(empty_customer_request="must-be-given")
        assert result(update(s, {}))["ResultCode"] == \
            UCP + "CustomerCodeOrDealerCustomerIdMustBeGiven"
    finally:
        assert s.stop() == 0


# ---- stats for the bridge's probes -----------------------------------------


def test_stats_request_headers(sim):
    stats = sim.get("/_sim/stats").json()
    assert stats["request_headers"] == {"content_type": None, "accept": None,
                                        "expect_seen": 0}
    update(sim, {"CustomerCode": "C1"},
           headers={"Accept": "application/json"})
    raw_post("127.0.0.1", sim.port, SL, sl_body(),
             headers={"Content-Type": "application/json; charset=utf-8",
                      "Expect": "100-continue"})
    sim.post("/_sim/faults", {}, headers={"Accept": "text/admin",
                                          "Content-Type": "x/admin"})
    stats = sim.get("/_sim/stats").json()
    # The last Moka request's headers (http.client sends no Accept).
    assert stats["request_headers"] == {
        "content_type": "application/json; charset=utf-8", "accept": None,
        "expect_seen": 1}
    update(sim, {"CustomerCode": "C1"}, headers={"Accept": "a" * 1000})
    hdrs = sim.get("/_sim/stats").json()["request_headers"]
    assert hdrs["accept"] == "a" * 256 and hdrs["expect_seen"] == 1
    assert sim.post("/_sim/reset", {}).status_code == 200
    assert sim.get("/_sim/stats").json()["request_headers"] == {
        "content_type": None, "accept": None, "expect_seen": 0}


def test_stats_unnamed_updates_and_sale_lists_by_dealer(sim):
    wrong = ("1731", "TestMoka2", "wrong")
    for req in EMPTY_REQUESTS:
        update(sim, req)
    update(sim, {}, dealer=wrong)                   # any credentials
    sim.post(UC, {"DealerCustomerAuthentication": auth()})  # no object
    sim.post(UC, {"DealerCustomerAuthentication": auth(),
                  "DealerCustomerRequest": None})
    update(sim, {"CustomerCode": "C1"})             # named
    update(sim, {"DealerCustomerId": 1101})         # named
    update(sim, {"CustomerCode": "nobody"})         # named, not found
    sim.post(UC, "{broken")                         # cannot tell
    sale_list(sim)
    sale_list(sim)
    sale_list(sim, wrong)
    sale_list(sim, D_NO_SALES)
    sim.post(SL, {"DealerSaleAuthentication": {"Username": "x"}})
    stats = sim.get("/_sim/stats").json()
    assert stats["unnamed_customer_updates"] == 6
    assert stats["sale_list_calls_by_dealer"] == {"1731": 3, "1732": 1,
                                                  "(none)": 1}
    assert_no_secret(sim.get("/_sim/stats").text,
                     SECRETS + [check_key(*D_OK)])
    assert sim.post("/_sim/reset", {}).status_code == 200
    stats = sim.get("/_sim/stats").json()
    assert stats["unnamed_customer_updates"] == 0
    assert stats["sale_list_calls_by_dealer"] == {}


def test_sale_list_of_dealer_without_sales_is_not_fund(sim):
    res = result(sale_list(sim, D_NO_SALES))
    assert res["ResultCode"] == "DealerSale.GetSaleList.DealerSaleNotFund"
    assert res["Data"] is None


def test_dealer_changes_race_requests(sim):
    """Rotations while requests run: each answer sees the old or the new
    credentials (run under ThreadSanitizer too)."""
    alt = ("1731", "TestMoka2", "ALT-PW-RACE")
    stop = time.monotonic() + 1.0

    def client():
        s = requests.Session()
        seen = set()
        while time.monotonic() < stop:
            r = s.post(sim.url + SL, data=json.dumps(sl_body()), timeout=10)
            seen.add(result(r)["ResultCode"])
            r = s.post(sim.url + UC, data=json.dumps(
                uc_body({"CustomerCode": "auto-race"}, dealer=alt)),
                timeout=10)
            seen.add(result(r)["ResultCode"])
        return seen

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(client) for _ in range(3)]
        n = 0
        while time.monotonic() < stop:
            pw = alt[2] if n % 2 == 0 else D_OK[2]
            body = {"dealer_code": "1731", "password": pw}
            if n % 3 == 0:
                body["ip_allow"] = None if n % 2 else ["127.0.0.1", "::1"]
            assert sim.post("/_sim/dealers", body).status_code == 200
            if n % 10 == 0:
                assert sim.post("/_sim/reset", {}).status_code == 200
            n += 1
        seen = set().union(*(f.result() for f in futures))
    assert seen <= {"Success", SL_INVALID, UCP + "InvalidRequest"}, seen
    assert n > 10
