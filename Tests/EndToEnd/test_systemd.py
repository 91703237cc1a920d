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


@pytest.mark.parametrize("source,name", [("anomalyd.service", "anomalyd.service"), ("anomalyd@.service", "anomalyd@shard0.service")])
def test_unit_file_verifies(tmp_path, source, name):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (REPO / "systemd" / source).read_text()
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
