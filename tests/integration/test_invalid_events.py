"""Event validation: invalid customer-update and sale-list values are
answered Bridge.InvalidEvent (the message naming the field where there is
one), dead-lettered with dlq.reason invalid-event and their original bytes,
and never sent to Moka; lenient inputs Moka accepts (numeric strings, "" for
numbers, nulls, limits in characters) go through.

All events are produced once for the module (limits.max_event_bytes = 2048)
and each test checks one of them."""

import uuid

import pytest

from helpers import Running, expect_dlq, expect_reply

MAX_EVENT_BYTES = 2048

# name -> (value, a text the result_message must contain, or None)
INVALID_CU = {
    "not_json": (b"not json {", None),
    "truncated_json": (b'{"CustomerCode": "C1"', None),
    "trailing_garbage": (b'{"CustomerCode": "C1"} x', None),
    "array": ([{"CustomerCode": "C1"}], None),
    "json_string": ('"C1"', None),
    "json_number": (b"42", None),
    "null_value": (None, None),
    "empty_value": (b"", None),
    "gender_not_numeric": ({"CustomerCode": "C1", "Gender": "x"}, "Gender"),
    "gender_out_of_range": ({"CustomerCode": "C1", "Gender": 3}, "Gender"),
    "first_name_number": ({"CustomerCode": "C1", "FirstName": 5}, "FirstName"),
    "address_object": ({"CustomerCode": "C1", "Address": {"City": "x"}}, "Address"),
    "id_boolean": ({"DealerCustomerId": True}, "DealerCustomerId"),
    "id_not_numeric": ({"DealerCustomerId": "12a"}, "DealerCustomerId"),
    "id_float": ({"DealerCustomerId": 1101.5}, "DealerCustomerId"),
    "email_too_long": ({"CustomerCode": "C1", "Email": "a" * 89 + "@example.com"}, "Email"),
    "code_too_long": ({"CustomerCode": "c" * 101}, "CustomerCode"),
    "password_too_long": ({"CustomerCode": "C1", "Password": "p" * 51}, "Password"),
    "gsm_too_long": ({"CustomerCode": "C1", "GsmNumber": "5" * 21}, "GsmNumber"),
    "first_name_too_long_in_chars": ({"CustomerCode": "C1", "FirstName": "ş" * 51}, "FirstName"),
    "birth_date_format": ({"CustomerCode": "C1", "BirthDate": "1985-07-10"}, "BirthDate"),
    "unknown_field": ({"CustomerCode": "C1", "Foo": 1}, "Foo"),
    "auth_block_from_producer": ({"CustomerCode": "C1",
                                  "DealerCustomerAuthentication": {"DealerCode": "x"}},
                                 "DealerCustomerAuthentication"),
    "too_large": (b'{"CustomerCode": "C1"' + b" " * MAX_EVENT_BYTES + b"}", None),
}

INVALID_SL = {
    "sl_not_json": (b"{{", None),
    "sl_array": ([], None),
    "sl_string": ('"list"', None),
}

# Accepted: name -> (value, customer code to find in the simulator's log)
VALID_CU = {
    "numeric_strings": ({"DealerCustomerId": "1105", "CustomerCode": "C5", "Gender": "2"}, "C5"),
    "numbers": ({"DealerCustomerId": 1106, "Gender": 1}, "1106"),
    "empty_strings_for_numbers": ({"DealerCustomerId": "", "CustomerCode": "C7",
                                   "Gender": ""}, "C7"),
    "nulls": ({"CustomerCode": "C8", "FirstName": None, "Email": None}, "C8"),
    "limits_exactly": ({"CustomerCode": "C9", "Email": "a" * 88 + "@example.com",
                        "FirstName": "ş" * 50, "GsmNumber": "5" * 20}, "C9"),
}
VALID_SL = {"sl_empty_object": {}}


@pytest.fixture(scope="module")
def inv(module_harness, kafka):
    sim = module_harness.start_sim()
    b = module_harness.start_bridge(sim, overrides={
        "limits": {"max_event_bytes": MAX_EVENT_BYTES}})
    r = Running(kafka, sim, b)
    run = uuid.uuid4().hex[:8]
    sent = {}

    def hdrs(name):
        return [("correlation-id", "%s-%s" % (name, run)), ("case", name)]
    cu_names = list(INVALID_CU) + list(VALID_CU)
    cu_events = [{"key": "k-%s" % n,
                  "value": INVALID_CU[n][0] if n in INVALID_CU else VALID_CU[n][0],
                  "headers": hdrs(n)} for n in cu_names]
    for n, s in zip(cu_names, kafka.send_many(r.topics.customer_update, cu_events)):
        sent[n] = s
    sl_names = list(INVALID_SL) + list(VALID_SL)
    sl_events = [{"key": "k-%s" % n,
                  "value": INVALID_SL[n][0] if n in INVALID_SL else VALID_SL[n],
                  "headers": hdrs(n)} for n in sl_names]
    for n, s in zip(sl_names, kafka.send_many(r.topics.sale_list, sl_events)):
        sent[n] = s
    cu_replies = r.replies_for([sent[n] for n in cu_names], timeout=60)
    sl_replies = r.replies_for([sent[n] for n in sl_names], timeout=60)
    replies = {n: cu_replies[i] for i, n in enumerate(cu_names)}
    replies.update({n: sl_replies[i] for i, n in enumerate(sl_names)})
    return r, sent, replies


def _operation(name):
    return "sale.list" if name.startswith("sl_") else "customer.update"


@pytest.mark.parametrize("name", list(INVALID_CU) + list(INVALID_SL))
def test_invalid_event_is_answered_and_dead_lettered(inv, name):
    r, sent, replies = inv
    s, rec = sent[name], replies[name]
    must_name = (INVALID_CU.get(name) or INVALID_SL.get(name))[1]
    v = expect_reply(s, rec, operation=_operation(name), status="failure",
                     result_code="Bridge.InvalidEvent")
    assert v["data"] is None
    assert v["result_message"], "empty result_message for %s" % name
    if must_name:
        assert must_name in v["result_message"], (
            "result_message should name %r: %r" % (must_name, v["result_message"]))
    d = r.dlq_for(s)
    expect_dlq(s, d, reason="invalid-event", result_code="Bridge.InvalidEvent",
               group_id=r.group_id)
    if must_name:
        assert must_name in (d.header("dlq.error") or ""), (
            "dlq.error should name %r: %r" % (must_name, d.header("dlq.error")))
    # docs/decisions.md: validation messages never echo a value.
    value = (INVALID_CU.get(name) or INVALID_SL.get(name))[0]
    if isinstance(value, dict):
        for field, fv in value.items():
            if isinstance(fv, str) and len(fv) >= 6:
                assert fv not in v["result_message"], (
                    "result_message echoes the value of %s: %r" % (field, v["result_message"]))
                assert fv not in (d.header("dlq.error") or ""), (
                    "dlq.error echoes the value of %s" % field)


@pytest.mark.parametrize("name", list(VALID_CU) + list(VALID_SL))
def test_lenient_input_is_accepted(inv, name):
    r, sent, replies = inv
    v = expect_reply(sent[name], replies[name], operation=_operation(name),
                     status="success", result_code="Success", attempts=1)
    if name in VALID_CU:
        code = VALID_CU[name][1]
        calls = r.sim.calls(code)
        assert len(calls) == 1, "expected one call for %s, got %r" % (code, calls)


def test_numeric_strings_reach_moka_as_numbers_or_same_digits(inv):
    r, sent, replies = inv
    call = r.sim.calls("C5")[0]
    assert str(call["DealerCustomerId"]) == "1105", call
    assert str(call["Gender"]) == "2", call
    dc = replies["numeric_strings"].json()["data"]["DealerCustomer"]
    assert dc["DealerCustomerId"] == 1105 and dc["Gender"] == 2, dc


def test_no_moka_call_for_invalid_events(inv):
    """The simulator saw exactly the calls of the valid events."""
    r, sent, replies = inv
    for s in sent.values():
        r.wait_done(s)
    stats = r.sim.stats()
    by = stats["by_endpoint"]
    assert by["/DealerCustomer/UpdateCustomer"] == len(VALID_CU), (
        "UpdateCustomer calls: expected %d (valid events only), got %s"
        % (len(VALID_CU), stats))
    assert by["/DealerSale/GetSaleList"] == len(VALID_SL), stats
    # Invalid events that carried a customer code did not reach Moka.
    assert r.sim.calls("C1") == [], r.sim.calls("C1")


def test_each_event_answered_once_and_invalid_ones_dead_lettered_once(inv):
    r, sent, replies = inv
    for s in sent.values():
        r.wait_done(s)
    cu_replies = r.kafka.read_all(r.topics.cu_reply)
    sl_replies = r.kafka.read_all(r.topics.sl_reply)
    dlq = r.kafka.read_all(r.topics.cu_dlq) + r.kafka.read_all(r.topics.sl_dlq)
    for name, s in sent.items():
        n_rep = sum(1 for x in cu_replies + sl_replies if s.is_source_of(x))
        n_dlq = sum(1 for x in dlq if s.is_dlq_of(x))
        assert n_rep == 1, "%s: %d replies" % (name, n_rep)
        want = 0 if (name in VALID_CU or name in VALID_SL) else 1
        assert n_dlq == want, "%s: %d DLQ records, expected %d" % (name, n_dlq, want)
