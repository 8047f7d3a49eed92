"""pytest fixtures of the integration tests.

- kafka          (session) a broker: KAFKA_BROKERS if set, else one started by
                 scripts/kafka.sh in a temporary directory, stopped at the end.
- harness        (function) a helpers.Harness: start_sim(), make_topics(),
                 start_bridge(sim, ...), restart_bridge(b); everything it
                 started is killed at teardown, and the teardown fails when a
                 simulator died or a bridge's logs hold a secret or a line
                 that is not a JSON object with level and msg.
- module_harness (module) the same, shared by the tests of one file.
- sim            (function) harness.start_sim() with the project fixture.
- make_topics, start_bridge (function) harness.make_topics / start_bridge.

Binaries come from MOKA_BUILD_DIR (default <source>/build); a missing binary
or fixture is a failure, never a skip.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import helpers  # noqa: E402
from helpers import Harness, Kafka  # noqa: E402


def _run_script(args, timeout):
    """Runs a script with stdout/stderr in files (a broker it leaves running
    must not hold a pipe of ours open); returns (stdout, stderr)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            rc = subprocess.run(["bash"] + args, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout after %ds" % timeout
        out.seek(0)
        err.seek(0)
        o, e = out.read(), err.read()
    if rc != 0:
        raise AssertionError("%s exited %s\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), rc, o[-3000:], e[-3000:]))
    return o, e


def _start_kafka_sh():
    script = os.path.join(helpers.source_dir(), "scripts", "kafka.sh")
    helpers.require_file(script, "scripts/kafka.sh",
                         "needed to start a broker when KAFKA_BROKERS is unset")
    d = tempfile.mkdtemp(prefix="moka-it-kafka-")
    out, err = _run_script([script, "start", d], 900)
    vals = {}
    for line in out.splitlines():
        k, sep, v = line.strip().partition("=")
        if sep:
            vals[k.strip()] = v.strip()
    if not vals.get("KAFKA_BROKERS"):
        raise AssertionError("scripts/kafka.sh start printed no KAFKA_BROKERS=: %r"
                             % out[-2000:])
    return vals.get("KAFKA_DIR") or d, vals["KAFKA_BROKERS"]


@pytest.fixture(scope="session")
def kafka():
    brokers = os.environ.get("KAFKA_BROKERS")
    kdir = None
    if not brokers:
        kdir, brokers = _start_kafka_sh()
        # scripts/kafka.sh dump-log finds the broker's data by it.
        os.environ["KAFKA_DIR"] = kdir
    k = Kafka(brokers)
    try:
        try:
            k.admin.list_topics(timeout=30)
        except Exception as e:  # noqa: BLE001
            raise AssertionError("Kafka at %s does not answer: %s" % (brokers, e))
        yield k
    finally:
        k.close()
        if kdir is not None:
            script = os.path.join(helpers.source_dir(), "scripts", "kafka.sh")
            try:
                _run_script([script, "stop", kdir], 120)
            finally:
                shutil.rmtree(kdir, ignore_errors=True)


def _harness(kafka, workdir, name):
    h = Harness(kafka, workdir, name)
    yield h
    problems = h.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def harness(kafka, tmp_path, request):
    yield from _harness(kafka, str(tmp_path), request.node.name)


@pytest.fixture(scope="module")
def module_harness(kafka, tmp_path_factory, request):
    name = request.module.__name__.replace("test_", "")
    yield from _harness(kafka, str(tmp_path_factory.mktemp(name)), name)


@pytest.fixture
def sim(harness):
    return harness.start_sim()


@pytest.fixture
def make_topics(harness):
    return harness.make_topics


@pytest.fixture
def start_bridge(harness):
    return harness.start_bridge
