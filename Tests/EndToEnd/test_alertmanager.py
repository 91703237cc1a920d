"""Episodes become alerts in a real Alertmanager (Debian's prometheus-alertmanager): firing at the
event, resolved when the episode closes, retried while the Alertmanager is away, and never in
the way of scoring."""

import math


from conftest import Daemon, free_port
from test_daemon import publisher  # an XPUB that blocks at its high-water mark, once subscribed
from real_servers import Alertmanager, Server

SPIKE = 500


def reading(i: int) -> str:
    value = 20 + 10 * math.sin(2 * math.pi * i / 50) + (40 if i == SPIKE else 0)
    return f"{value:.4f}"


def send(pub, stream: bytes, indices):
    for i in indices:
        pub.send_multipart([stream, reading(i).encode()])


def wait_scored(daemon, n: int):
    Server.wait_for(f"{n} samples scored", lambda: daemon.info()["ingest"]["samples_scored"] >= n, timeout=20)


def pump_alerts(am: Alertmanager) -> list[dict]:
    return [a for a in am.alerts() if a["labels"].get("stream") == "plant/pump"]


def test_an_episode_fires_then_resolves(tmp_path, zmq_context):
    am = Alertmanager(tmp_path)
    config = f'[publish]\nalertmanager_url = "{am.url}"\n[server]\nstate_directory = "none"\n'
    daemon = Daemon(tmp_path, config_text=config)
    try:
        pub = publisher(zmq_context, daemon)
        send(pub, b"plant/calm", range(SPIKE + 40))
        send(pub, b"plant/pump", range(SPIKE + 1))
        wait_scored(daemon, 2 * SPIKE + 41)
        (alert,) = Server.wait_for("the pump's alert, firing", lambda: pump_alerts(am))
        assert alert["status"]["state"] == "active"
        assert alert["labels"]["alertname"] == "AnomalydAnomaly"
        assert alert["labels"]["reason"] in ("error", "range"), alert["labels"]
        spike = float(reading(SPIKE))
        assert f"[{spike:.6g}]" == alert["annotations"]["actual"], alert["annotations"]
        assert float(alert["annotations"]["score"]) > 0.5
        assert "expected" in alert["annotations"]["summary"]
        # The past readings the reconstruction drew on: whole periods (50) back.
        backs = [int(part.split(" readings back")[0].split()[-1]) for part in alert["annotations"]["moments"].split("; ")]
        assert len(backs) == 3 and all(b % 50 == 0 for b in backs), alert["annotations"]["moments"]
        # Firing alerts say when they end unless re-sent: three re-send intervals (60 s) ahead.
        assert alert["endsAt"] > alert["startsAt"]
        publish = daemon.info()["publish"]
        assert publish["alerts_firing"] == 1 and publish["alert_send_failures"] == 0
        # Only the pump had an episode.
        assert [a["labels"]["stream"] for a in am.alerts()] == ["plant/pump"]

        # Back to normal: alarm_recovery (10) normal readings close the episode; the alert is
        # resolved long before its endsAt (3 minutes) would have let it lapse.
        send(pub, b"plant/pump", range(SPIKE + 1, SPIKE + 40))
        Server.wait_for("the pump's alert, resolved", lambda: pump_alerts(am) == [] or None, timeout=15)
        publish = daemon.info()["publish"]
        assert publish["alerts_firing"] == 0 and publish["alerts_sent"] >= 2, publish
        assert publish["alert_send_failures"] == 0 and publish["alerts_dropped"] == 0
        pub.close()
    finally:
        daemon.stop()
        am.stop()


def test_an_absent_alertmanager_is_retried_and_never_blocks_scoring(tmp_path, zmq_context):
    port = free_port()
    config = f'[publish]\nalertmanager_url = "http://127.0.0.1:{port}"\n[server]\nstate_directory = "none"\n'
    daemon = Daemon(tmp_path, config_text=config)
    am = None
    try:
        pub = publisher(zmq_context, daemon)
        send(pub, b"plant/pump", range(SPIKE + 1))
        wait_scored(daemon, SPIKE + 1)
        info = daemon.info()
        assert info["streams"]["anomalies_total"] == 1
        Server.wait_for("a failed send", lambda: daemon.info()["publish"]["alert_send_failures"] >= 1, timeout=10)
        assert "127.0.0.1" in daemon.info()["publish"]["alertmanager_last_error"]
        # Scoring goes on meanwhile.
        send(pub, b"other", range(100))
        wait_scored(daemon, SPIKE + 101)
        # The Alertmanager comes up: the queued alert arrives at a retry (backoff at most 30 s).
        am = Alertmanager(tmp_path, port=port)
        (alert,) = Server.wait_for("the retried alert", lambda: pump_alerts(am), timeout=40)
        assert alert["status"]["state"] == "active"
        assert daemon.info()["publish"]["alerts_sent"] >= 1
        pub.close()
    finally:
        daemon.stop()
        if am:
            am.stop()
