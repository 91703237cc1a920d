"""systemd integration: the unit file verifies, and the daemon speaks the notify protocol."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, REPO, free_port


@pytest.mark.parametrize(
    "sources,name",
    [
        (["anomalyd.service"], "anomalyd.service"),
        (["anomalyd@.service"], "anomalyd@shard0.service"),
        # The cluster drop-in, as systemd applies it: its sections after the unit's own.
        (["anomalyd.service", "anomalyd-cluster.conf"], "anomalyd.service"),
    ],
)
def test_unit_file_verifies(tmp_path, sources, name):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = "\n".join((REPO / "systemd" / source).read_text() for source in sources)
    unit = unit.replace("/usr/local/bin/anomalyd", str(BIN / "anomalyd"))
    path = tmp_path / name
    path.write_text(unit)
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    # verify exits 0 even for unknown keys; any output at all is a problem, except that this
    # machine has no "anomalyd" user, which an install creates.
    problems = [
        line for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "anomalyd" not in line.split(":")[-1] and "User" not in line
    ]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr


def test_notify_protocol(tmp_path):
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="1000000")
    proc = subprocess.Popen(
        [
            str(BIN / "anomalyd"),
            "--ingest-bind", f"tcp://127.0.0.1:{free_port()}",
            "--publish-bind", f"tcp://127.0.0.1:{free_port()}",
            "--control-socket", str(tmp_path / "c.sock"),
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def next_message(predicate):
        deadline = time.time() + 10
        while time.time() < deadline:
            message = listener.recv(4096).decode()
            if predicate(message):
                return message
        raise AssertionError("expected notification did not arrive")

    try:
        ready = next_message(lambda m: "READY=1" in m)
        assert "STATUS=" in ready
        next_message(lambda m: m == "WATCHDOG=1")
        proc.send_signal(signal.SIGHUP)
        reloading = next_message(lambda m: "RELOADING=1" in m)
        assert "MONOTONIC_USEC=" in reloading
        next_message(lambda m: m == "READY=1")
        proc.send_signal(signal.SIGTERM)
        next_message(lambda m: "STOPPING=1" in m)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        listener.close()


def watched_daemon(tmp_path, extra_env=None):
    """anomalyd with a 1 s watchdog (WATCHDOG=1 every 0.5 s, stall limit 5 s) and one worker,
    with the notify socket it reports to."""
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(0.2)
    ingest = f"tcp://127.0.0.1:{free_port()}"
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="1000000", **(extra_env or {}))
    proc = subprocess.Popen(
        [str(BIN / "anomalyd"), "--ingest-bind", ingest, "--publish-bind", f"tcp://127.0.0.1:{free_port()}",
         "--control-socket", str(tmp_path / "c.sock"), "--set", "server.workers=1",
         "--set", "server.state_directory=none"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return proc, listener, ingest


def watchdog_pings(listener, seconds):
    """The WATCHDOG=1 messages that arrive in the next `seconds`."""
    count, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        try:
            count += listener.recv(4096).decode() == "WATCHDOG=1"
        except socket.timeout:
            pass
    return count


def test_the_watchdog_keeps_coming_while_the_control_socket_is_attacked(tmp_path):
    proc, listener, _ = watched_daemon(tmp_path)
    hanging = []
    try:
        assert watchdog_pings(listener, 1.5) >= 2
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(tmp_path / "c.sock"))
            s.sendall(b"inf")
            hanging.append(s)
        # Six seconds: past the stalled clients' 2 s timeout and the 5 s stall limit.
        assert watchdog_pings(listener, 6) >= 9
    finally:
        for s in hanging:
            s.close()
        proc.kill()
        proc.wait()
        listener.close()


def test_the_watchdog_stops_when_a_worker_is_stuck(tmp_path):
    import zmq

    proc, listener, ingest = watched_daemon(tmp_path, {"ANOMALYD_TEST_STALL_WORKER": "1"})
    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    try:
        assert watchdog_pings(listener, 1.5) >= 2
        pub.connect(ingest)
        for _ in range(50):  # the first samples after the subscription joins are lost to PUB/SUB
            pub.send_multipart([b"stuck.worker", b"1.0"])
            time.sleep(0.05)
        # The worker stops turning after its first sample; 5 s later the pings stop.
        watchdog_pings(listener, 6)
        assert watchdog_pings(listener, 3) == 0
        proc.kill()
        _, stderr = proc.communicate(timeout=10)
        assert "thread worker-0 has been stuck" in stderr
    finally:
        pub.close(linger=0)
        context.term()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()
