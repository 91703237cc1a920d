"""A real Prometheus server (Debian's package) scrapes the daemon's /metrics endpoint, loads the
example alerting rules from config/, and the test reads back what it stored through its HTTP
API: the daemon's counters, a per-stream score, and an alert that fires for an open episode."""

import math
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO, Daemon, free_port
from test_daemon import publisher  # an XPUB that blocks at its high-water mark, once subscribed
from real_servers import Prometheus, server_binary

RULES = REPO / "config" / "prometheus-rules.yml"
READINGS = 600


def sine(i: int) -> float:
    return round(20 + 10 * math.sin(2 * math.pi * i / 50), 4)


@pytest.fixture
def scraped(tmp_path, zmq_context):
    """A daemon with the scrape endpoint on, fed one normal stream and one that ends on a spike,
    and a Prometheus scraping it every second."""
    metrics_port = free_port()
    config = f'[server]\nmetrics_listen = "127.0.0.1:{metrics_port}"\nstate_directory = "none"\n'
    daemon = Daemon(tmp_path, config_text=config)
    prometheus = None
    try:
        pub = publisher(zmq_context, daemon)
        for i in range(READINGS):
            pub.send_multipart([b"plant/calm", f"{sine(i)}".encode()])
            spike = 40 if i == READINGS - 1 else 0
            pub.send_multipart([b"plant/spiky", f"{sine(i) + spike}".encode()])
        pub.close()
        prometheus = Prometheus(tmp_path, [f"127.0.0.1:{metrics_port}"], rule_files=[RULES])
        yield daemon, prometheus, metrics_port
    finally:
        if prometheus:
            prometheus.stop()
        daemon.stop()


def value(result: list[dict]) -> float | None:
    return float(result[0]["value"][1]) if len(result) == 1 else None


def test_prometheus_scrapes_counters_and_per_stream_gauges(scraped):
    daemon, prometheus, metrics_port = scraped
    scored = prometheus.wait_for(
        "anomalyd_samples_scored_total == 2 x readings",
        lambda: value(prometheus.query("anomalyd_samples_scored_total")) == 2 * READINGS,
    )
    assert scored
    targets = prometheus.api("targets")["activeTargets"]
    assert [t["health"] for t in targets] == ["up"], targets

    calm = value(prometheus.query('anomalyd_stream_score{stream="plant/calm"}'))
    spiky = value(prometheus.query('anomalyd_stream_score{stream="plant/spiky"}'))
    assert calm is not None and 0 <= calm < 0.5, calm
    # The spike is the last reading: its score stays the stream's last score, above ½.
    assert spiky is not None and spiky > 0.5, spiky
    assert value(prometheus.query('anomalyd_stream_samples_total{stream="plant/calm"}')) == READINGS
    assert value(prometheus.query('anomalyd_stream_anomalies_total{stream="plant/spiky"}')) == 1
    assert value(prometheus.query("anomalyd_anomalies_total")) == daemon.info()["streams"]["anomalies_total"]

    # The example rules loaded, and the open episode fires AnomalydStreamAnomalous for that
    # stream only.
    groups = prometheus.api("rules")["groups"]
    assert [r["health"] for g in groups for r in g["rules"]] == ["ok"] * 7, groups

    def firing():
        alerts = prometheus.api("alerts")["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "AnomalydStreamAnomalous" and a["state"] == "firing"]

    alerts = prometheus.wait_for("AnomalydStreamAnomalous firing", firing)
    assert [a["labels"]["stream"] for a in alerts] == ["plant/spiky"], alerts


def test_scrape_endpoint_is_read_only_and_lints_clean(scraped):
    daemon, _, metrics_port = scraped
    url = f"http://127.0.0.1:{metrics_port}"
    with urllib.request.urlopen(url + "/metrics", timeout=5) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = reply.read().decode()
    assert 'anomalyd_stream_in_episode{stream="plant/spiky"} 1\n' in text
    assert "anomalyd_metrics_streams_omitted 0\n" in text
    # promtool (from the same package) finds nothing to complain about in the exposition.
    promtool = server_binary("promtool", "prometheus")
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert lint.returncode == 0 and lint.stdout.strip() == "" and lint.stderr.strip() == "", lint
    for method, path, status in [("POST", "/metrics", 405), ("DELETE", "/metrics", 405), ("GET", "/reset", 404)]:
        request = urllib.request.Request(url + path, method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == status
    info = daemon.info()
    assert info["server"]["metrics_endpoint"] == url + "/metrics"
    assert info["ingest"]["samples_scored"] == 2 * READINGS


def test_per_stream_series_are_capped(tmp_path, zmq_context):
    metrics_port = free_port()
    config = f'[server]\nmetrics_listen = "127.0.0.1:{metrics_port}"\nmetrics_max_streams = 3\nstate_directory = "none"\n'
    daemon = Daemon(tmp_path, config_text=config)
    try:
        pub = publisher(zmq_context, daemon)
        for n in range(10):
            pub.send_multipart([f"s{n}".encode(), b"1.0"])
        pub.close()
        deadline = time.monotonic() + 10
        while daemon.info()["ingest"]["samples_scored"] < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        shown = sorted(line.split('"')[1] for line in text.splitlines() if line.startswith("anomalyd_stream_score{"))
        # The first three by id, the other seven counted.
        assert shown == ["s0", "s1", "s2"], shown
        assert "anomalyd_metrics_streams_omitted 7\n" in text
        assert "anomalyd_streams 10\n" in text
    finally:
        daemon.stop()
