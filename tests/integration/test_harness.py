"""Self-test of the harness (helpers.py, conftest.py): a green run must mean
something, so each way a broken bridge or simulator could slip through is
tried on purpose and must be caught.

- broken_harness.py's deliberately broken tests, each run by a pytest of
  its own against the same broker: a bridge killed by SIGSEGV, an exit
  status nobody reads, a missing stderr file, a simulator that aborts or
  prints a sanitizer report, a secret written in another letter case;
  each must fail at teardown with its message, and the clean control pass;
- helpers.find_secrets finds a secret in every form a log line could hold;
- helpers.exact_answers counts a duplicate reply that comes after the
  first reply of every event (where reading up to `total` records stops).
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import helpers
from helpers import exact_answers

HERE = os.path.dirname(os.path.abspath(__file__))

# case -> a text its teardown failure must hold (None: the case passes).
# Under AddressSanitizer a SIGSEGV is the sanitizer's report and exit 1.
CASES = {
    "test_control_clean": None,
    "test_bridge_killed_by_sigsegv": ("moka-bridge was killed by SIGSEGV during the test",
                                      "moka-bridge exited with status 1 during the test"),
    "test_exit_status_ignored": ("moka-bridge exited with status 2",),
    "test_stderr_file_missing": ("moka-bridge output unreadable",),
    "test_sim_killed": ("moka-sim was killed by SIGABRT during the test",
                        "moka-sim exited with status 1 during the test"),
    "test_sim_sanitizer_report": ("moka-sim stderr", "LeakSanitizer"),
    "test_secret_in_another_form": ("secret '1c1c'... appears in the bridge output "
                                    "(as is, other letter case)",),
}


@pytest.fixture(scope="module")
def broken_run(kafka, tmp_path_factory):
    """Runs every case of broken_harness.py in one pytest process; returns
    {case: (outcome, message)} from its JUnit XML."""
    d = tmp_path_factory.mktemp("broken")
    xml = str(d / "junit.xml")
    env = dict(os.environ, KAFKA_BROKERS=kafka.brokers)
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "--junitxml", xml, "--basetemp", str(d / "tmp"), "broken_harness.py"],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=600)
    assert os.path.exists(xml), ("the broken cases did not run (exit %d):\n%s\n%s"
                                 % (p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    out = {}
    for tc in ET.parse(xml).getroot().iter("testcase"):
        bad = [e for e in tc if e.tag in ("failure", "error")]
        msg = "\n".join((e.get("message") or "") + "\n" + (e.text or "") for e in bad)
        prev = out.get(tc.get("name"), ("passed", ""))
        # pytest writes a test's teardown error as a second entry
        out[tc.get("name")] = ("failed" if bad or prev[0] == "failed" else "passed",
                               prev[1] + msg)
    out["_output"] = p.stdout[-5000:]
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_case_is_caught(broken_run, case):
    assert case in broken_run, ("case %s did not run:\n%s"
                                % (case, broken_run["_output"]))
    outcome, msg = broken_run[case]
    want = CASES[case]
    if want is None:
        assert outcome == "passed", "the control case failed:\n%s" % msg[-3000:]
        return
    assert outcome == "failed", ("%s passed: the harness did not catch it\n%s"
                                 % (case, broken_run["_output"][-2000:]))
    if case == "test_sim_sanitizer_report":
        assert all(w in msg for w in want), msg[-3000:]
    else:
        assert any(w in msg for w in want), (
            "%s failed, but not with %s:\n%s" % (case, want, msg[-3000:]))


def test_find_secrets_sees_every_form():
    pw, key = helpers.DEALER_PASSWORD, helpers.DEALER_CHECKKEY
    import base64
    import json
    import urllib.parse
    for text in ['"password":"%s"' % pw,
                 json.dumps({"p": "x" + pw + "\u00e9"}),
                 "pw=" + urllib.parse.quote(pw + "/+"),
                 "auth " + base64.b64encode(pw.encode()).decode(),
                 "hex " + pw.encode().hex().upper(),
                 "key " + key.upper(),
                 "key " + key[20:32] + "...",          # a piece of it
                 ]:
        found = helpers.find_secrets(text, [pw, key])
        assert found, "no secret found in %r" % text
    clean = ('{"level":"info","msg":"event answered","correlation_id":"c-1",'
             '"password":"***","checkkey":"***"}')
    assert helpers.find_secrets(clean, [pw, key, "Elif1234"]) == []


def test_exact_answers_counts_a_late_duplicate(kafka, harness):
    """Ten events answered once each: a reader that stops at ten replies
    (what the tests did) and exact_answers both pass. Then one event is
    answered again (a replay) at the end of the topic: the first reader
    would be long gone; exact_answers, which waits for the input to be
    committed to its end and reads the replies to theirs, counts it."""
    from confluent_kafka import Consumer, TopicPartition
    inp, rep = helpers.unique("it-late.in"), helpers.unique("it-late.reply")
    kafka.create_topics([inp, rep], partitions=1)
    harness.topics.extend([inp, rep])
    ids = ["late-%d" % i for i in range(10)]
    kafka.produce(inp, [{"value": b"{}", "key": i} for i in ids])
    replies = [{"value": b"{}", "key": i, "headers": [("correlation-id", i)]}
               for i in ids]
    kafka.produce(rep, replies)
    group = helpers.unique("it-late")
    c = Consumer({"bootstrap.servers": kafka.brokers, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(inp, 0, 10)], asynchronous=False)
    finally:
        c.close()
    first = kafka.collect(rep, len(ids), 30)
    assert sorted(r.header("correlation-id") for r in first) == sorted(ids)
    assert sorted(exact_answers(kafka, group, inp, rep, ids, timeout=30)) == sorted(ids)
    kafka.produce(rep, [replies[3]])
    with pytest.raises(AssertionError, match=r"1 with more than one, e\.g\. \[\('late-3', 2\)\]"):
        exact_answers(kafka, group, inp, rep, ids, timeout=30)
