"""CI smoke of the benchmark harness (bench/run.py, docs/benchmarks.md).

Runs bench/run.py against the session's broker with moka-bridge only, a few
thousand events of scenario a (sim latency 0 ms) and a thousand of scenario b
(50 ms), and checks that the outputs exist and are well-formed: every event
answered exactly once, the JSON fields present, latency percentiles ordered,
the Markdown table and the PNG plot written. No assertion on speed.
"""

import json
import os
import subprocess
import sys

import helpers

RUN_PY = os.path.join(helpers.source_dir(), "bench", "run.py")


def test_bench_smoke(kafka, tmp_path):
    out = tmp_path / "results"
    cmd = [sys.executable, RUN_PY, "--brokers", kafka.brokers,
           "--systems", "moka-bridge", "--scenarios", "a,b",
           "--events", "a=3000", "--events", "b=1000", "--partitions", "4",
           "--max-seconds", "40",
           "--bridge", helpers.bridge_binary(), "--sim", helpers.sim_binary(),
           "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, "bench/run.py exited %d\nstdout:\n%s\nstderr:\n%s" % (
        p.returncode, p.stdout[-3000:], p.stderr[-5000:])

    with open(out / "results.json") as f:
        res = json.load(f)
    meta = res["meta"]
    for k in ("started_at", "command", "machine", "versions"):
        assert k in meta, k
    assert meta["versions"]["moka-bridge"].startswith("moka-bridge")
    runs = res["runs"]
    assert [(r["scenario"], r["system"]) for r in runs] == [("a", "moka-bridge"), ("b", "moka-bridge")]
    for r, n, latency in zip(runs, (3000, 1000), (0, 50)):
        assert "error" not in r, r.get("error")
        assert r["events"] == n and r["moka_latency_ms"] == latency
        assert r["complete"] and r["outcome"] == "complete", r["outcome"]
        assert r["answered"] == n and r["success_replies"] == n, r
        assert r["duplicate_replies"] == 0 and r["unknown_replies"] == 0
        assert r["malformed_replies"] == 0, r["first_malformed_reply"]
        assert r["failure_replies"] == 0 and r["dlq_records"] == 0
        assert r["order_violations"] == 0
        assert r["exit_status"] == 0, "moka-bridge did not stop cleanly"
        assert r["sim_stats"]["by_result"].get("Success") == n, r["sim_stats"]
        assert r["events_per_s"] > 0 and r["events_per_s_wall"] > 0
        assert r["events_per_s"] >= r["events_per_s_wall"]
        assert r["cpu_seconds"] > 0 and r["cpu_us_per_event"] > 0
        assert r["peak_rss_mb"] > 0
        lat = r["latency_ms"]
        assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
        since = r["since_start_ms"]
        assert 0 <= since["p50"] <= since["p99"] <= since["max"], since
        assert r["timeline"], "no resource samples"
        conf = out / r["config"]["config_file"]
        assert conf.is_file() and helpers.DEALER_PASSWORD not in conf.read_text()

    md = (out / "results.md").read_text()
    assert "| a | moka-bridge | 3,000 | 3,000 | complete |" in md, md
    assert "| b | moka-bridge | 1,000 | 1,000 | complete |" in md, md
    png = (out / "throughput.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
