"""Input forms end to end (docs/decisions.md, "Input and validation"): every
form a producer may send, through a real bridge, broker and moka-sim.

- Forms Moka accepts (the SDKs' and Moka's own samples: numbers as strings,
  "" and null for "not given", Gender/DealerCustomerId 0, GsmNumber as a JSON
  number, a real BirthDate; GetSaleList with "DealerSaleRequest": null or {})
  are answered Success, have no DLQ record, and moka-sim received the
  canonical request: "not given" left out, GsmNumber as its digits string,
  the sale list with the authentication block only.
- Forms Moka would reject for a reason the bridge sees (U+0000 in a string,
  an impossible date, a negative or fractional GsmNumber, a field name in
  the wrong case, a DealerSaleRequest with members) are Bridge.InvalidEvent
  with the field named, one DLQ record (invalid-event), and no Moka call.
- An update whose only id is DealerCustomerId 0 names no customer: it is
  sent, and Moka's business answer (CustomerCodeOrDealerCustomerIdMustBeGiven)
  is the reply, dead-lettered as moka-result, as for "{}".

All events are produced once for the module; each test checks one."""

import json
import uuid

import pytest

from helpers import Running, expect_dlq, expect_reply

RUN = uuid.uuid4().hex[:8]


def code(name):
    # moka-sim creates customers whose code starts with "auto-"
    return "auto-%s-%s" % (RUN, name)


PW_TAIL = "Gizli-Parola-Sonu-%s" % RUN

# name -> (value, expected DealerCustomerRequest members at moka-sim, besides
# CustomerCode; None: a member that must be absent)
ACCEPTED_CU = {
    "gsm_number_as_number": ({"CustomerCode": code("gsm"), "GsmNumber": 5551234567},
                             {"GsmNumber": "5551234567"}),
    "gsm_number_zero": ({"CustomerCode": code("gsm0"), "GsmNumber": 0},
                        {"GsmNumber": "0"}),
    "gsm_number_as_string": ({"CustomerCode": code("gsms"), "GsmNumber": "05551234567"},
                             {"GsmNumber": "05551234567"}),
    "gender_zero": ({"CustomerCode": code("g0"), "Gender": 0, "FirstName": "Ali"},
                    {"Gender": None, "FirstName": "Ali"}),
    "gender_zero_string": ({"CustomerCode": code("g0s"), "Gender": "0"},
                           {"Gender": None}),
    "gender_string": ({"CustomerCode": code("g2s"), "Gender": "2"}, {"Gender": 2}),
    "id_zero": ({"CustomerCode": code("id0"), "DealerCustomerId": 0},
                {"DealerCustomerId": None}),
    "id_zero_string": ({"CustomerCode": code("id0s"), "DealerCustomerId": "0"},
                       {"DealerCustomerId": None}),
    "id_empty_string": ({"CustomerCode": code("ide"), "DealerCustomerId": ""},
                        {"DealerCustomerId": None}),
    "nulls": ({"CustomerCode": code("nulls"), "DealerCustomerId": None, "Password": None,
               "FirstName": None, "LastName": None, "Gender": None, "BirthDate": None,
               "GsmNumber": None, "Email": None, "Address": None},
              {"DealerCustomerId": None, "Gender": None, "Password": None,
               "GsmNumber": None, "BirthDate": None}),
    "birth_date_leap_day": ({"CustomerCode": code("leap"), "BirthDate": "20240229"},
                            {"BirthDate": "20240229"}),
    "birth_date_1900": ({"CustomerCode": code("d1900"), "BirthDate": "19000101"},
                        {"BirthDate": "19000101"}),
}

# name -> (value, text the message must contain, second text or None)
REFUSED_CU = {
    "nul_in_first_name": ({"CustomerCode": code("x1"), "FirstName": "a\u0000" + "x" * 2000},
                          "FirstName", "U+0000"),
    "nul_in_password": ({"CustomerCode": code("x2"), "Password": "ab\u0000" + PW_TAIL},
                        "Password", "U+0000"),
    "nul_in_customer_code": ({"CustomerCode": "auto-\u0000x"}, "CustomerCode", "U+0000"),
    "nul_in_gender_string": ({"CustomerCode": code("x3"), "Gender": "1\u0000x"},
                             "Gender", "U+0000"),
    "nul_in_field_name": ({"CustomerCode": code("x4"), "Email\u0000x": "e@x.com"},
                          "unknown field", None),
    "birth_date_feb_31": ({"CustomerCode": code("x5"), "BirthDate": "20230231"},
                          "BirthDate", "calendar date"),
    "birth_date_feb_29_common_year": ({"CustomerCode": code("x6"), "BirthDate": "20230229"},
                                      "BirthDate", "calendar date"),
    "birth_date_1899": ({"CustomerCode": code("x7"), "BirthDate": "18991231"},
                        "BirthDate", "1900"),
    "gsm_number_negative": ({"CustomerCode": code("x8"), "GsmNumber": -5551234567},
                            "GsmNumber", "negative"),
    "gsm_number_fraction": ({"CustomerCode": code("x9"), "GsmNumber": 5551234567.5},
                            "GsmNumber", "decimal"),
    "gsm_number_exponent": (b'{"CustomerCode":"%s","GsmNumber":5e9}'
                            % code("x10").encode(), "GsmNumber", "decimal"),
    "gsm_number_too_long": ({"CustomerCode": code("x11"),
                             "GsmNumber": 123456789012345678901}, "GsmNumber", "20"),
    "name_camel_case": ({"customerCode": code("x12")},
                        'field "customerCode": unknown field (Moka\'s name is "CustomerCode")',
                        None),
    "name_upper_case": ({"CUSTOMERCODE": code("x13")}, '"CUSTOMERCODE"',
                        'Moka\'s name is "CustomerCode"'),
    "name_lower_gsm": ({"CustomerCode": code("x14"), "gsmnumber": "5"}, '"gsmnumber"',
                       'Moka\'s name is "GsmNumber"'),
    "name_unknown": ({"CustomerCode": code("x15"), "Nickname": "n"}, '"Nickname"',
                     "unknown field"),
}

# Sent without a record key: the ordering key would come from the value.
NO_CUSTOMER_CU = {
    "only_id_zero": {"DealerCustomerId": 0},
    "only_id_zero_and_gender_zero": {"DealerCustomerId": "0", "Gender": 0},
}

ACCEPTED_SL = {
    "sl_request_null": {"DealerSaleRequest": None},
    "sl_request_empty": {"DealerSaleRequest": {}},
}
REFUSED_SL = {
    "sl_request_with_member": ({"DealerSaleRequest": {"SaleCode": "x"}},
                               '"DealerSaleRequest"', "empty object"),
    "sl_request_array": ({"DealerSaleRequest": []}, '"DealerSaleRequest"', "an array"),
    "sl_request_wrong_case": ({"dealerSaleRequest": None}, '"dealerSaleRequest"',
                              'Moka\'s name is "DealerSaleRequest"'),
}

NO_CUSTOMER_CODE = "DealerCustomer.UpdateCustomer.CustomerCodeOrDealerCustomerIdMustBeGiven"


@pytest.fixture(scope="module")
def forms(module_harness, kafka):
    sim = module_harness.start_sim()
    b = module_harness.start_bridge(sim)
    r = Running(kafka, sim, b)
    sent = {}

    def event(name, value, keyed=True):
        return {"key": ("k-%s" % name) if keyed else None, "value": value,
                "headers": [("correlation-id", "%s-%s" % (name, RUN))]}
    cu = ([(n, v[0], True) for n, v in ACCEPTED_CU.items()]
          + [(n, v[0], True) for n, v in REFUSED_CU.items()]
          + [(n, v, False) for n, v in NO_CUSTOMER_CU.items()])
    for (n, _, _), s in zip(cu, kafka.send_many(
            r.topics.customer_update, [event(*x) for x in cu])):
        sent[n] = s
    sl = ([(n, v, True) for n, v in ACCEPTED_SL.items()]
          + [(n, v[0], True) for n, v in REFUSED_SL.items()])
    for (n, _, _), s in zip(sl, kafka.send_many(
            r.topics.sale_list, [event(*x) for x in sl])):
        sent[n] = s
    cu_names = [x[0] for x in cu]
    sl_names = [x[0] for x in sl]
    cu_rep = r.replies_for([sent[n] for n in cu_names], timeout=60)
    sl_rep = r.replies_for([sent[n] for n in sl_names], timeout=60)
    replies = {n: cu_rep[i] for i, n in enumerate(cu_names)}
    replies.update({n: sl_rep[i] for i, n in enumerate(sl_names)})
    for s in sent.values():
        r.wait_done(s)
    return r, sent, replies


def _op(name):
    return "sale.list" if name.startswith("sl_") else "customer.update"


@pytest.mark.parametrize("name", list(ACCEPTED_CU))
def test_accepted_update_reaches_moka_in_canonical_form(forms, name):
    r, sent, replies = forms
    value, want = ACCEPTED_CU[name]
    expect_reply(sent[name], replies[name], operation="customer.update",
                 status="success", result_code="Success", attempts=1)
    assert r.all_for(sent[name], dlq=True) == [], "a success was dead-lettered"
    calls = r.sim.calls(value["CustomerCode"])
    assert len(calls) == 1, "expected one call for %s, got %r" % (name, calls)
    call = calls[0]
    assert call.get("CustomerCode") == value["CustomerCode"], call
    for field, v in want.items():
        if v is None:
            assert field not in call, "%s: %s should be left out: %r" % (name, field, call)
        else:
            assert field in call and call[field] == v and type(call[field]) is type(v), (
                "%s: Moka should get %s = %r, got %r" % (name, field, v, call))
    # nothing but known fields, and never a null
    assert all(v is not None for v in call.values()), call


@pytest.mark.parametrize("name", list(REFUSED_CU) + list(REFUSED_SL))
def test_refused_form_is_invalid_event_naming_the_field(forms, name):
    r, sent, replies = forms
    value, n1, n2 = REFUSED_CU.get(name) or REFUSED_SL[name]
    v = expect_reply(sent[name], replies[name], operation=_op(name),
                     status="failure", result_code="Bridge.InvalidEvent")
    assert v["data"] is None
    msg = v["result_message"]
    d = r.dlq_for(sent[name])
    expect_dlq(sent[name], d, reason="invalid-event",
               result_code="Bridge.InvalidEvent", group_id=r.group_id)
    err = d.header("dlq.error") or ""
    for needle in (n1, n2):
        if needle:
            assert needle in msg, "result_message should contain %r: %r" % (needle, msg)
            assert needle in err, "dlq.error should contain %r: %r" % (needle, err)
    assert len(r.all_for(sent[name], dlq=True)) == 1
    # the customer's password after its U+0000 never shows
    assert PW_TAIL not in msg and PW_TAIL not in err


def test_refused_updates_never_reach_moka(forms):
    r, sent, replies = forms
    for name, (value, _, _) in REFUSED_CU.items():
        if isinstance(value, dict):
            c = value.get("CustomerCode") or value.get("customerCode") \
                or value.get("CUSTOMERCODE")
            if c and "\u0000" not in c:
                assert r.sim.calls(c) == [], "%s reached Moka" % name
    by = r.sim.stats()["by_endpoint"]
    assert by["/DealerCustomer/UpdateCustomer"] == len(ACCEPTED_CU) + len(NO_CUSTOMER_CU), by
    assert by["/DealerSale/GetSaleList"] == len(ACCEPTED_SL), by


@pytest.mark.parametrize("name", list(NO_CUSTOMER_CU))
def test_id_zero_alone_names_no_customer_and_moka_answers(forms, name):
    """DealerCustomerId 0 is "not given": the request sent is "{}", and
    Moka's business code comes back (reply failure + DLQ moka-result), as
    for any update naming no customer (docs/decisions.md)."""
    r, sent, replies = forms
    v = expect_reply(sent[name], replies[name], operation="customer.update",
                     status="failure", result_code=NO_CUSTOMER_CODE, attempts=1)
    assert v["data"] is None
    d = r.dlq_for(sent[name])
    expect_dlq(sent[name], d, reason="moka-result", result_code=NO_CUSTOMER_CODE,
               group_id=r.group_id)
    assert len(r.all_for(sent[name], dlq=True)) == 1


@pytest.mark.parametrize("name", list(ACCEPTED_SL))
def test_sale_list_request_member_null_or_empty_is_accepted(forms, name):
    r, sent, replies = forms
    v = expect_reply(sent[name], replies[name], operation="sale.list",
                     status="success", result_code="Success", attempts=1)
    assert isinstance(v["data"]["DealerSaleList"], list), v
    assert r.all_for(sent[name], dlq=True) == []


def test_sale_list_calls_carry_only_the_authentication_block(forms):
    r, sent, replies = forms
    calls = r.sim.calls("*sale-list*")
    assert len(calls) == len(ACCEPTED_SL), calls
    for c in calls:
        # moka-sim records the body without its authentication block,
        # naming the dealer: nothing else was sent
        assert set(c) == {"DealerCode"}, json.dumps(c)
