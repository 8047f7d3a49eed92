"""The command line: check-config (masked effective configuration, env
overrides, secrets from files, "file:line: message" errors), version, --help.
No broker or simulator needed."""

import json
import os
import re
import subprocess
import time

import pytest

import helpers

SAMPLE = os.path.join(helpers.source_dir(), "config", "moka-bridge.conf")
PASSWORD = helpers.DEALER_PASSWORD


def run(args, env=None, timeout=20):
    full = {k: v for k, v in os.environ.items() if not k.startswith("MOKA_BRIDGE_")}
    full.update(env or {})
    r = subprocess.run([helpers.bridge_binary()] + args, capture_output=True,
                       text=True, env=full, timeout=timeout)
    return r


def describe(r):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout[-3000:],
                                                  r.stderr[-3000:])


def setting(text, name):
    """The value printed for `name = value;` (first match), or None."""
    m = re.search(r'(?m)^\s*"?%s"?\s*[=:]\s*(.+?);?\s*$' % re.escape(name), text)
    return m.group(1).strip().rstrip(";").strip() if m else None


def test_check_config_sample_with_env_password_prints_masked_config():
    r = run(["check-config", "--config", SAMPLE],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD})
    assert r.returncode == 0, describe(r)
    out = r.stdout
    assert PASSWORD not in r.stdout + r.stderr, "password printed: " + describe(r)
    assert helpers.DEALER_CHECKKEY not in r.stdout + r.stderr, describe(r)
    assert setting(out, "password") == '"***"', (
        "expected password = \"***\" in the printed config\n" + describe(r))
    # The effective configuration: sample values and derived topic names.
    assert setting(out, "base_url") == '"https://service.refmokaunited.com"', describe(r)
    assert setting(out, "dealer_code") == '"1731"', describe(r)
    assert setting(out, "brokers") == '"127.0.0.1:9092"', describe(r)
    assert setting(out, "max_attempts") == "5", describe(r)
    assert "moka.customer.update.reply" in out, (
        "derived reply topic not printed\n" + describe(r))
    assert "moka.sale-list.request.dlq" in out, (
        "derived DLQ topic not printed\n" + describe(r))


def test_check_config_env_overrides_win_over_the_file():
    r = run(["check-config", "--config", SAMPLE],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD,
                 "MOKA_BRIDGE_KAFKA_BROKERS": "kafka-a:9092,kafka-b:9092",
                 "MOKA_BRIDGE_MOKA_BASE_URL": "http://127.0.0.1:18080",
                 "MOKA_BRIDGE_MOKA_DEALER_CODE": "9999",
                 "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS": "7",
                 "MOKA_BRIDGE_MOKA_TLS_VERIFY": "false",
                 "MOKA_BRIDGE_MOKA_ALLOW_INSECURE": "true"})
    assert r.returncode == 0, describe(r)
    out = r.stdout
    assert setting(out, "brokers") == '"kafka-a:9092,kafka-b:9092"', describe(r)
    assert setting(out, "base_url") == '"http://127.0.0.1:18080"', describe(r)
    assert setting(out, "dealer_code") == '"9999"', describe(r)
    assert setting(out, "max_attempts") == "7", describe(r)
    assert setting(out, "tls_verify") == "false", describe(r)
    assert PASSWORD not in out + r.stderr


def test_check_config_password_from_file(tmp_path):
    secret = tmp_path / "moka-password"
    secret.write_text(PASSWORD + "\n")
    text = open(SAMPLE).read().replace('password_file = "";',
                                       'password_file = "%s";' % secret)
    conf = tmp_path / "c.conf"
    conf.write_text(text)
    r = run(["check-config", "--config", str(conf)])
    assert r.returncode == 0, describe(r)
    assert PASSWORD not in r.stdout + r.stderr, describe(r)
    assert setting(r.stdout, "password") == '"***"', describe(r)


def test_check_config_missing_password_file_fails(tmp_path):
    text = open(SAMPLE).read().replace(
        'password_file = "";', 'password_file = "%s";' % (tmp_path / "nope"))
    conf = tmp_path / "c.conf"
    conf.write_text(text)
    r = run(["check-config", "--config", str(conf)])
    assert r.returncode == 1, describe(r)
    assert "nope" in r.stdout + r.stderr, describe(r)


def _insert_after(text, anchor, line):
    """Inserts `line` after the first line containing `anchor`; returns the
    new text and the 1-based number of the inserted line."""
    lines = text.split("\n")
    for i, l in enumerate(lines):
        if anchor in l:
            lines.insert(i + 1, line)
            return "\n".join(lines), i + 2
    raise AssertionError("anchor %r not in the sample config" % anchor)


def _append(text, block):
    """Appends `block` at the end; returns the new text and the number of
    its first line."""
    lines = text.rstrip("\n").split("\n")
    return "\n".join(lines + block.split("\n")) + "\n", len(lines) + 1


def _replace_line(text, anchor, line):
    lines = text.split("\n")
    for i, l in enumerate(lines):
        if anchor in l:
            lines[i] = line
            return "\n".join(lines), i + 1
    raise AssertionError("anchor %r not in the sample config" % anchor)


BAD = {
    "unknown_key": lambda t: _insert_after(t, 'dealer_code = "1731";', '  dealer_kode = "1731";'),
    "unknown_group": lambda t: _append(t, "extra: {\n  x = 1;\n};"),
    "wrong_type_string_for_int": lambda t: _replace_line(t, "max_attempts = 5;",
                                                         '  max_attempts = "five";'),
    "wrong_type_int_for_string": lambda t: _replace_line(t, 'dealer_code = "1731";',
                                                         "  dealer_code = 1731;"),
    "out_of_range_attempts": lambda t: _replace_line(t, "max_attempts = 5;",
                                                     "  max_attempts = 0;"),
    "out_of_range_timeout": lambda t: _replace_line(t, "request_timeout_ms = 15000;",
                                                    "  request_timeout_ms = -5;"),
    "bad_log_level": lambda t: _replace_line(t, 'level = "info";',
                                             '  level = "verbose";'),
    "syntax_error": lambda t: _replace_line(t, "base_ms = 200;", "  base_ms = = 200;"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_config_rejects_bad_file_with_file_line_message(tmp_path, case):
    text = open(SAMPLE).read()
    bad, line = BAD[case](text)
    conf = tmp_path / ("%s.conf" % case)
    conf.write_text(bad)
    r = run(["check-config", "--config", str(conf)],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD})
    assert r.returncode == 1, "expected exit 1 for %s\n%s" % (case, describe(r))
    both = r.stdout + r.stderr
    # An unknown group may be reported on its own line or on its first key.
    lines = [line, line + 1] if case == "unknown_group" else [line]
    assert any("%s:%d: " % (conf, n) in both for n in lines), (
        "expected '%s:%s: message'\n%s" % (conf, " or ".join(map(str, lines)),
                                          describe(r)))
    assert PASSWORD not in both


def test_check_config_rejects_bad_env_override():
    r = run(["check-config", "--config", SAMPLE],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD,
                 "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS": "many"})
    assert r.returncode == 1, describe(r)
    assert "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS" in r.stdout + r.stderr, describe(r)


def test_check_config_missing_file():
    r = run(["check-config", "--config", "/nonexistent/moka.conf"])
    assert r.returncode == 1, describe(r)
    assert "/nonexistent/moka.conf" in r.stdout + r.stderr, describe(r)


def test_run_with_bad_config_exits_1(tmp_path):
    text = open(SAMPLE).read()
    bad, line = BAD["unknown_key"](text)
    conf = tmp_path / "bad.conf"
    conf.write_text(bad)
    r = run(["run", "--config", str(conf)], env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD})
    assert r.returncode == 1, describe(r)
    assert "%s:%d: " % (conf, line) in r.stdout + r.stderr, describe(r)


def test_version():
    r = run(["version"])
    assert r.returncode == 0, describe(r)
    assert "0.1.0" in r.stdout, describe(r)


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"],
                                  ["check-config", "--help"], ["version", "--help"]])
def test_help_everywhere(args):
    r = run(args)
    assert r.returncode == 0, describe(r)
    text = r.stdout
    assert "usage" in text.lower(), describe(r)
    if args == ["--help"]:
        for cmd in ("run", "check-config", "version"):
            assert cmd in text, "--help does not mention %s\n%s" % (cmd, describe(r))
    if args[0] in ("run", "check-config"):
        assert "--config" in text, describe(r)


def test_unknown_command_fails():
    r = run(["frobnicate"])
    assert r.returncode != 0, describe(r)
    assert "frobnicate" in r.stdout + r.stderr, describe(r)


def test_check_config_rejects_unknown_environment_variable():
    r = run(["check-config", "--config", SAMPLE],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD,
                 "MOKA_BRIDGE_MOKA_PASWORD": "typo"})
    assert r.returncode == 1, describe(r)
    assert "MOKA_BRIDGE_MOKA_PASWORD" in r.stdout + r.stderr, describe(r)


def test_check_config_rejects_missing_password():
    r = run(["check-config", "--config", SAMPLE])
    assert r.returncode == 1, describe(r)
    assert "password" in r.stdout + r.stderr, describe(r)


def test_run_rejects_a_base_url_libcurl_cannot_parse(tmp_path):
    """A base URL the configuration accepts but libcurl cannot parse (a
    space in the path) stops start-up, naming the key, before any Kafka or
    Moka work."""
    bad, _ = _replace_line(open(SAMPLE).read(), "base_url =",
                           '  base_url = "http://127.0.0.1:1/a b";')
    conf = tmp_path / "bad-url.conf"
    conf.write_text(bad)
    r = run(["run", "--config", str(conf)], env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD})
    assert r.returncode == 1, describe(r)
    assert "moka.base_url: libcurl cannot use it" in r.stdout + r.stderr, describe(r)
    assert PASSWORD not in r.stdout + r.stderr


# ---------------------------------------------------------------- transport

INSECURE_TLS = "moka.tls_verify: false is refused unless moka.allow_insecure = true"
INSECURE_HTTP = "moka.base_url: plain http:// to a host that is not loopback"


def _sample_with(tmp_path, name, *lines):
    """The sample with `lines` ((anchor, replacement) pairs) replaced;
    returns the path and the line numbers of the replacements."""
    text, numbers = open(SAMPLE).read(), []
    for anchor, line in lines:
        text, n = _replace_line(text, anchor, line)
        numbers.append(n)
    conf = tmp_path / name
    conf.write_text(text)
    return str(conf), numbers


def test_check_config_refuses_tls_verify_false_without_allow_insecure(tmp_path):
    conf, (line,) = _sample_with(tmp_path, "tls.conf",
                                 ("tls_verify = true;", "  tls_verify = false;"))
    env = {"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD}
    r = run(["check-config", "--config", conf], env=env)
    assert r.returncode == 1, describe(r)
    assert "%s:%d: %s" % (conf, line, INSECURE_TLS) in r.stderr, describe(r)
    r = run(["check-config", "--config", conf],
            env=dict(env, MOKA_BRIDGE_MOKA_ALLOW_INSECURE="true"))
    assert r.returncode == 0, describe(r)
    assert setting(r.stdout, "allow_insecure") == "true", describe(r)


def test_check_config_refuses_plain_http_to_a_remote_host(tmp_path):
    conf, (line,) = _sample_with(tmp_path, "http.conf",
                                 ("base_url =", '  base_url = "http://moka-sim:8080";'))
    env = {"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD}
    r = run(["check-config", "--config", conf], env=env)
    assert r.returncode == 1, describe(r)
    assert "%s:%d: %s" % (conf, line, INSECURE_HTTP) in r.stderr, describe(r)
    # The same from the environment: no file:line to give.
    r = run(["check-config", "--config", SAMPLE],
            env=dict(env, MOKA_BRIDGE_MOKA_BASE_URL="http://10.1.2.3:8080"))
    assert r.returncode == 1, describe(r)
    assert r.stderr.startswith(INSECURE_HTTP), describe(r)
    # allow_insecure in the file lets it start.
    conf2, _ = _sample_with(tmp_path, "http-allowed.conf",
                            ("base_url =", '  base_url = "http://moka-sim:8080";'),
                            ("allow_insecure = false;", "  allow_insecure = true;"))
    r = run(["check-config", "--config", conf2], env=env)
    assert r.returncode == 0, describe(r)


@pytest.mark.parametrize("url", ["http://127.0.0.1:18080", "http://127.3.2.1",
                                 "http://localhost:8080", "http://[::1]:8080"])
def test_check_config_accepts_plain_http_to_loopback(url):
    r = run(["check-config", "--config", SAMPLE],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD, "MOKA_BRIDGE_MOKA_BASE_URL": url})
    assert r.returncode == 0, describe(r)
    assert setting(r.stdout, "allow_insecure") == "false", describe(r)


def test_check_config_refuses_a_missing_ca_file(tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    conf, (line,) = _sample_with(tmp_path, "ca.conf",
                                 ('ca_file = "";', '  ca_file = "%s";' % missing))
    r = run(["check-config", "--config", conf], env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD})
    assert r.returncode == 1, describe(r)
    assert ('%s:%d: moka.ca_file: cannot read "%s": No such file or directory'
            % (conf, line, missing)) in r.stderr, describe(r)
    missing.write_text("-----BEGIN CERTIFICATE-----\n")
    r = run(["check-config", "--config", conf], env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD})
    assert r.returncode == 0, describe(r)
    assert setting(r.stdout, "ca_file") == '"%s"' % missing, describe(r)


def test_check_config_masks_proxy_credentials():
    proxy_pw = "PrOxY-pw-5e1f"
    r = run(["check-config", "--config", SAMPLE],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD,
                 "MOKA_BRIDGE_MOKA_PROXY": "http://bridge:%s@proxy.internal:3128" % proxy_pw})
    assert r.returncode == 0, describe(r)
    assert setting(r.stdout, "proxy") == '"http://***@proxy.internal:3128"', describe(r)
    assert proxy_pw not in r.stdout + r.stderr, describe(r)
    r = run(["check-config", "--config", SAMPLE],
            env={"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD,
                 "MOKA_BRIDGE_MOKA_PROXY": "bridge:%s@proxy.internal:3128" % proxy_pw})
    assert r.returncode == 1, describe(r)
    assert r.stderr.startswith("moka.proxy: must be empty or a URL"), describe(r)
    assert proxy_pw not in r.stdout + r.stderr, describe(r)


def test_run_with_allow_insecure_warns_at_start():
    """No broker needed: the warning comes before any Kafka work, and the
    bridge keeps running (looking for its broker) until SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOKA_BRIDGE_")}
    env.update({"MOKA_BRIDGE_MOKA_PASSWORD": PASSWORD,
                "MOKA_BRIDGE_KAFKA_BROKERS": "127.0.0.1:9",
                "MOKA_BRIDGE_MOKA_BASE_URL": "http://moka-sim:8080",
                "MOKA_BRIDGE_MOKA_TLS_VERIFY": "false",
                "MOKA_BRIDGE_MOKA_ALLOW_INSECURE": "true",
                "MOKA_BRIDGE_LIMITS_SHUTDOWN_TIMEOUT_MS": "0"})
    p = subprocess.Popen([helpers.bridge_binary(), "run", "--config", SAMPLE], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            lines.append(line)
            if '"moka-bridge running"' in line:
                break
    finally:
        p.terminate()
        try:
            rest = p.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            p.kill()
            rest = p.communicate()[1]
    logs = [json.loads(l) for l in lines + rest.splitlines() if l.strip()]
    warns = [o for o in logs if o["level"] == "warn" and "allow_insecure" in o["msg"]]
    assert len(warns) == 1, "expected one allow_insecure warning:\n%s" % "".join(lines)
    w = warns[0]
    assert w["tls_verify_off"] is True and w["plain_http_non_loopback"] is True, w
    assert w["base_url"] == "http://moka-sim:8080", w
    assert p.returncode == 0, "exit %s\n%s" % (p.returncode, rest[-3000:])
