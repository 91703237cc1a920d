"""End to end: the built binaries, real ZeroMQ sockets, a client nobody here wrote (pyzmq)."""

import json
import math
import os
import re
import signal
import struct
import subprocess
import time

import pytest
import zmq

from conftest import BIN, Daemon, wait_for_subscriber

SPIKES = (1000, 1300)
LENGTH = 1600
START = 1_700_000_000


def series():
    """A periodic signal with small deterministic noise and two spikes."""
    state = 12345
    values = []
    for i in range(LENGTH):
        state = (1103515245 * state + 12345) % 2**31
        noise = (state / 2**31 - 0.5) * 0.4
        value = 20 + 10 * math.sin(2 * math.pi * i / 50) + noise
        if i in SPIKES:
            value += 40
        values.append(round(value, 4))
    return values


def lines():
    return [f"@{START + i},{v}" for i, v in enumerate(series())]


def subscribe(ctx, daemon, prefix=b""):
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, prefix)
    sub.connect(daemon.publish)
    time.sleep(0.3)  # let the subscription reach the daemon's PUB socket
    return sub


def publisher(ctx, daemon):
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 5000)
    pub.setsockopt(zmq.XPUB_NODROP, 1)
    pub.connect(daemon.ingest)
    wait_for_subscriber(pub)
    return pub


def receive_events(sub, expected_scored, daemon, timeout=30.0):
    """Collects events until the daemon has scored `expected_scored` samples and the
    publisher has drained."""
    events = []
    deadline = time.time() + timeout
    idle_since = None
    while time.time() < deadline:
        if sub.poll(100):
            topic, body, seq = sub.recv_multipart()
            events.append((topic.decode(), json.loads(body), struct.unpack("<Q", seq)[0]))
            idle_since = None
            continue
        info = daemon.info()
        if info["ingest"]["samples_scored"] >= expected_scored and info["publish"]["queued_event_batches"] == 0:
            idle_since = idle_since or time.time()
            if time.time() - idle_since > 0.5:
                return events
    raise AssertionError(f"timed out; scored {daemon.info()['ingest']['samples_scored']} of {expected_scored}")


def spike_events(events, stream):
    return [(body, seq) for topic, body, seq in events if topic == stream]


def assert_the_two_spikes(found):
    assert [round(body["values"][0] - 20) >= 30 for body, _ in found] == [True, True], found
    assert [seq for _, seq in found] == [0, 1]
    assert [body["ts"] for body, _ in found] == [(START + i) * 1000 for i in SPIKES]
    for body, _ in found:
        assert body["anomaly"] is True
        assert 0 <= body["score"] <= 1 and body["score"] > body["threshold"]
        assert len(body["expected"]) == 1 and len(body["channel_error"]) == 1
        assert body["reason"] in ("error", "range"), body


def test_spikes_from_pyzmq_and_from_anomalyctl_publish(daemon, zmq_context):
    sub = subscribe(zmq_context, daemon)
    pub = publisher(zmq_context, daemon)
    for line in lines():
        pub.send_multipart([b"py.sine", line.encode()])
    daemon.ctl("publish", "--endpoint", daemon.ingest, "ctl.sine", input="\n".join(lines()) + "\n")
    events = receive_events(sub, 2 * LENGTH, daemon)
    assert_the_two_spikes(spike_events(events, "py.sine"))
    assert_the_two_spikes(spike_events(events, "ctl.sine"))
    # Same input, same detector, same seed: identical events, whichever client sent them.
    assert [b for b, _ in spike_events(events, "py.sine")] == [
        {**b, "stream": "py.sine"} for b, _ in spike_events(events, "ctl.sine")
    ]
    info = daemon.info()
    assert info["model"]["slow_block"] == 24 and info["model"]["seasonal_correlation"] == 0.9
    assert info["model"]["cross_channel_limit"] == 64
    assert info["model"]["warmup_one_channel"] == 200 and info["model"]["warmup_several_channels"] == 400
    assert info["ingest"]["messages_received"] == 2 * LENGTH
    assert info["ingest"]["samples_scored"] == 2 * LENGTH
    assert info["ingest"]["rejected_total"] == 0 and info["ingest"]["samples_dropped"] == 0
    assert info["streams"]["streams"] == 2 and info["streams"]["anomalies_total"] == 4
    assert info["publish"]["events_published"] == 4
    streams = json.loads(daemon.ctl("streams", "--json").stdout)
    assert sorted(s["stream"] for s in streams) == ["ctl.sine", "py.sine"]
    assert all(s["samples"] == LENGTH and s["anomalies"] == 2 for s in streams)
    detail = daemon.ctl("stream", "py.sine").stdout
    assert "samples:1600" in detail and "anomalies:2" in detail
    # Why the last point scored as it did, and the current run of repeated readings.
    assert "last_reason:" in detail and "last_reason:none" not in detail and "repeat_run:0" in detail
    # The model's size and the warm-up follow the channel count (hidden = 0 and warmup = 0, the
    # defaults): 8 and 200 readings for one channel, 16 and 400 for two.
    assert "hidden:8" in detail and "warmup:200" in detail
    # The slow scale has seen every completed block of 24 readings.
    assert f"slow_blocks:{LENGTH // 24}" in detail
    # The seasonal check's period of the block means, in blocks, or none found.
    assert re.search(r"\bseasonal_period:(none|\d+)\n", detail), detail
    # One channel has no siblings to be checked against.
    assert "cross_channel:0" in detail
    # Events in an operator's terms: 2 over the 1,400 readings after the warm-up, and per day at
    # the stream's one reading a second (its timestamps).
    assert "events_per_10k_readings:14.286\n" in detail and "events_per_day:123.429\n" in detail
    assert re.search(r"\breading_interval_seconds:1(\.0)?\n", detail), detail
    pub.send_multipart([b"py.pair", b"1.0,2.0"])
    deadline = time.monotonic() + 5
    while (pair := daemon.ctl("stream", "py.pair", check=False)).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "channels:2" in pair.stdout and "hidden:16" in pair.stdout and "cross_channel:1" in pair.stdout
    assert "warmup:400" in pair.stdout and "warming_up:1" in pair.stdout
    # One reading, still warming up: no rate yet.
    assert "events_per_10k_readings:warming_up" in pair.stdout and "events_per_day:unknown" in pair.stdout
    pub.close()
    sub.close()


def test_malformed_frames_are_counted_and_leave_clean_streams_unchanged(daemon, zmq_context):
    sub = subscribe(zmq_context, daemon)
    pub = publisher(zmq_context, daemon)
    bad = [
        [b"bad.text", b"twelve"],
        [b"bad.nan", b"nan"],
        [b"bad.json", b'{"value": }'],
        [b"bad.version", bytes([0xAD, 9, 1, 0, 1, 0, 0, 0])],
        [b"bad.short", bytes([0xAD, 1, 1, 0, 2, 0, 0, 0]) + bytes(16)],
        [b"bad.single"],
        [b"bad.triple", b"1", b"2"],
        [b"\xff\xfe", b"1"],
        [b"", b"1"],
    ]
    sent_bad = 0
    for i, line in enumerate(lines()):
        pub.send_multipart([b"clean.sine", line.encode()])
        if i % 100 == 50:
            for frames in bad:
                pub.send_multipart(frames)
                sent_bad += 1
            # A stream whose channel count changes: the second sample is refused.
            pub.send_multipart([b"mixed", b"1.0"])
            pub.send_multipart([b"mixed", b"1.0,2.0"])
    good_extra = 2 * 16  # each "mixed" pair: the first is scored, the second rejected
    events = receive_events(sub, LENGTH + 16, daemon)
    assert_the_two_spikes(spike_events(events, "clean.sine"))
    info = daemon.info()["ingest"]
    rounds = 16
    assert info["messages_received"] == LENGTH + sent_bad + good_extra
    for reason in ("syntax", "unsupported_version", "truncated", "missing_payload", "extra_frames"):
        assert info[f"rejected_{reason}"] >= rounds, reason
    assert info["rejected_syntax"] == 3 * rounds  # twelve, nan, bad json
    assert info["rejected_bad_topic"] == 2 * rounds
    assert info["rejected_channel_mismatch"] == rounds
    # Every message is accounted for.
    assert info["samples_scored"] + info["rejected_total"] + info["samples_dropped"] == info["messages_received"]

    # The clean stream's events are bit for bit those of a run with no bad input at all.
    (daemon.workdir / "quiet").mkdir()
    quiet = Daemon(daemon.workdir / "quiet")
    try:
        sub2 = subscribe(zmq_context, quiet)
        pub2 = publisher(zmq_context, quiet)
        for line in lines():
            pub2.send_multipart([b"clean.sine", line.encode()])
        clean_events = receive_events(sub2, LENGTH, quiet)
        assert spike_events(clean_events, "clean.sine") == spike_events(events, "clean.sine")
        pub2.close()
        sub2.close()
    finally:
        quiet.stop()
    pub.close()
    sub.close()


def test_reload_with_broken_config_keeps_serving(daemon, zmq_context):
    daemon.config.write_text("[detector]\nrisk = 7\n")
    daemon.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert daemon.ctl("ping").stdout == "pong\n"
    server = daemon.info()["server"]
    assert server["reload_failures"] == 1 and server["reloads"] == 0
    assert "detector.risk = 7.0" in daemon.log_text() or "detector.risk = 7" in daemon.log_text()
    result = daemon.ctl("reload", check=False)
    assert result.returncode == 1 and "keeping the running configuration" in result.stderr
    # Still scoring with the old settings.
    sub = subscribe(zmq_context, daemon)
    daemon.ctl("publish", "--endpoint", daemon.ingest, "after.reload", input="\n".join(lines()) + "\n")
    assert_the_two_spikes(spike_events(receive_events(sub, LENGTH, daemon), "after.reload"))
    # A valid file is taken.
    daemon.config.write_text('[publish]\nmode = "all"\n')
    assert daemon.ctl("reload").returncode == 0
    assert daemon.info()["publish"]["mode"] == "all"
    sub.close()


def test_sigterm_exits_zero_and_removes_the_control_socket(daemon):
    assert os.path.exists(daemon.control)
    assert daemon.stop() == 0
    assert not os.path.exists(daemon.control)
    assert "stopped" in daemon.log_text()


def test_reset_forgets_a_stream(daemon):
    daemon.ctl("publish", "--endpoint", daemon.ingest, "r.s", input="\n".join(lines()[:400]) + "\n")
    deadline = time.time() + 10
    while daemon.info()["ingest"]["samples_scored"] < 400 and time.time() < deadline:
        time.sleep(0.05)
    assert "warming_up:0" in daemon.ctl("stream", "r.s").stdout
    assert daemon.ctl("reset", "r.s").returncode == 0
    assert "warming_up:1" in daemon.ctl("stream", "r.s").stdout
    missing = daemon.ctl("reset", "nope", check=False)
    assert missing.returncode == 1 and "no stream 'nope'" in missing.stderr


def test_invalid_config_fails_before_binding(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[ingest]\nmax_streams = \"lots\"\n")
    result = subprocess.run(
        [str(BIN / "anomalyd"), "--config", str(config), "--control-socket", str(tmp_path / "c.sock")],
        capture_output=True, text=True, timeout=20,
    )
    assert result.returncode == 78
    assert "ingest.max_streams" in result.stderr and "must be an integer" in result.stderr
    assert not (tmp_path / "c.sock").exists()


def test_metrics_are_prometheus_text(daemon):
    text = daemon.ctl("metrics").stdout
    assert "# TYPE anomalyd_samples_scored_total counter" in text
    assert 'anomalyd_rejected_total{reason="syntax"} 0' in text


def test_help_explains_every_command():
    out = subprocess.run([str(BIN / "anomalyctl"), "--help"], capture_output=True, text=True).stdout
    for command in ("info", "streams", "stream", "reset", "reload", "metrics", "publish", "tail", "replay"):
        assert f"  {command} " in out, command
    out = subprocess.run([str(BIN / "anomalyd"), "--help"], capture_output=True, text=True).stdout
    assert "--config" in out and "SIGHUP" in out


def test_tail_prints_events_with_sequence_numbers(daemon):
    tail = subprocess.Popen(
        [str(BIN / "anomalyctl"), "tail", "tail.", "--endpoint", daemon.publish, "--count", "2", "--timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(0.5)  # let tail's subscription reach the daemon
    daemon.ctl("publish", "--endpoint", daemon.ingest, "other.stream", input="\n".join(lines()) + "\n")
    daemon.ctl("publish", "--endpoint", daemon.ingest, "tail.sine", input="\n".join(lines()) + "\n")
    out, err = tail.communicate(timeout=40)
    rows = out.splitlines()
    assert [r.split(" ", 2)[:2] for r in rows] == [["tail.sine", "0"], ["tail.sine", "1"]], (out, err)
    assert json.loads(rows[0].split(" ", 2)[2])["anomaly"] is True


def test_control_socket_permissions_and_metrics_textfile(tmp_path):
    textfile = tmp_path / "anomalyd.prom"
    d = Daemon(tmp_path, config_text=f'[server]\nmetrics_textfile = "{textfile}"\nmetrics_interval = 1.0\n')
    try:
        assert oct(os.stat(d.control).st_mode & 0o777) == "0o660"
        deadline = time.time() + 10
        while not textfile.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert "anomalyd_samples_scored_total 0" in textfile.read_text()
    finally:
        d.stop()


def test_control_socket_group_is_configurable(tmp_path):
    import grp

    if os.geteuid() != 0:
        pytest.skip("giving the socket to another group needs root or membership of that group")
    other = next((g for g in grp.getgrall() if g.gr_gid != os.getegid()), None)
    if other is None:
        pytest.skip("no second group on this machine")
    d = Daemon(tmp_path, config_text=f'[control]\nmode = "640"\ngroup = "{other.gr_name}"\n')
    try:
        status = os.stat(d.control)
        assert status.st_gid == other.gr_gid and oct(status.st_mode & 0o777) == "0o640"
    finally:
        d.stop()
    (tmp_path / "bad.toml").write_text('[control]\ngroup = "no-such-group-anywhere"\n')
    result = subprocess.run(
        [str(BIN / "anomalyd"), "--config", str(tmp_path / "bad.toml"), "--control-socket", str(tmp_path / "b.sock"),
         "--ingest-bind", "tcp://127.0.0.1:0", "--publish-bind", "tcp://127.0.0.1:0",
         "--set", "server.state_directory=none"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0 and "no group named 'no-such-group-anywhere'" in result.stderr, result
