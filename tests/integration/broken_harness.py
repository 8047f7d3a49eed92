"""Deliberately broken tests: test_harness.py runs each in a pytest of its
own and expects every one but the control to fail at teardown, with the
message it names. Not collected by the suite (the file name has no test_
prefix); run one by hand with
    python3 -m pytest -p no:cacheprovider broken_harness.py::test_control_clean
"""

import json
import os
import signal

from helpers import DEALER_CHECKKEY, Running, wait_until


def _running_bridge(harness, kafka, **kw):
    sim = harness.start_sim()
    b = harness.start_bridge(sim, **kw)
    return sim, b, Running(kafka, sim, b)


def test_control_clean(harness, kafka):
    """Passes: the cases below fail for what they break, not for the
    set-up they share with it."""
    sim, b, r = _running_bridge(harness, kafka)
    s = r.update({"CustomerCode": "auto-harness-ctl"}, key="ctl")
    r.reply_for(s)


def test_bridge_killed_by_sigsegv(harness, kafka):
    """A bridge crashes mid-test and the test asserts nothing after it."""
    sim, b, r = _running_bridge(harness, kafka)
    os.kill(b.pid, signal.SIGSEGV)
    wait_until(lambda: not b.running(), 30, "the bridge to die")


def test_exit_status_ignored(harness, kafka):
    """A bridge exits with status 2 (a second SIGTERM while a call hangs)
    and the test never looks at the status."""
    sim, b, r = _running_bridge(harness, kafka)
    sim.faults(latency_ms=30000)
    r.update({"CustomerCode": "auto-harness-hang"}, key="hang")
    wait_until(lambda: sim.stats()["timers_pending"] >= 1, 30,
               "the call to hang at the simulator")
    b.signal(signal.SIGTERM)
    # Two pending SIGTERMs would merge into one: the second goes once the
    # first is handled.
    wait_until(lambda: any(line.get("msg", "").startswith("stop requested")
                           for line in b.logs()), 10, "the first SIGTERM to be seen")
    b.signal(signal.SIGTERM)
    b.wait(15)


def test_stderr_file_missing(harness, kafka):
    """The bridge's stderr file is gone: its logs cannot be checked."""
    sim, b, r = _running_bridge(harness, kafka)
    os.unlink(b.stderr_path)


def test_sim_killed(harness):
    """moka-sim dies of an abort mid-test."""
    sim = harness.start_sim()
    os.kill(sim.pid, signal.SIGABRT)
    wait_until(lambda: not sim.running(), 30, "moka-sim to die")


def test_sim_sanitizer_report(harness):
    """A sanitizer report on moka-sim's stderr (written here as the
    runtime would write it)."""
    sim = harness.start_sim()
    with open(sim.stderr_path, "a") as f:
        f.write("==4242==ERROR: LeakSanitizer: detected memory leaks\n")


def test_secret_in_another_form(harness, kafka):
    """A debug line with the CheckKey in upper case (written here as a
    leaking bridge would write it)."""
    sim, b, r = _running_bridge(harness, kafka)
    with open(b.stderr_path, "a") as f:
        f.write(json.dumps({"level": "debug", "msg": "request",
                            "auth": DEALER_CHECKKEY.upper()}) + "\n")
