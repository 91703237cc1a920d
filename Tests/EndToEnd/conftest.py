"""Fixtures for end-to-end tests: run the built anomalyd and anomalyctl on private endpoints."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]


def binary_dir() -> Path:
    configured = os.environ.get("ANOMALYD_BIN_DIR")
    if configured:
        return Path(configured)
    out = subprocess.run(
        ["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


BIN = binary_dir()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """One anomalyd process with its own ports, control socket and config file."""

    def __init__(self, workdir: Path, config_text: str = "", state_dir: Path | None = None, ports=None):
        self.workdir = workdir
        self.state_dir = state_dir or workdir / "state"
        self.ingest, self.publish = ports or (f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}")
        self.control = str(workdir / "control.sock")
        self.config = workdir / "anomalyd.toml"
        self.config.write_text(config_text)
        self.log = open(workdir / "anomalyd.log", "a+")
        self.proc = subprocess.Popen(
            [
                str(BIN / "anomalyd"),
                "--config", str(self.config),
                "--ingest-bind", self.ingest,
                "--publish-bind", self.publish,
                "--control-socket", self.control,
                "--set", f"server.state_directory={self.state_dir}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anomalyd exited early: {self.log_text()}")
            if self.ctl("ping", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("anomalyd did not answer ping")

    def log_text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.workdir / "anomalyd.log").read_text()

    def ctl(self, *args, check=True, input=None, timeout=60):
        command = [str(BIN / "anomalyctl"), *args]
        if args and args[0] not in ("publish", "tail", "replay"):
            command += ["--socket", self.control]
        return subprocess.run(command, capture_output=True, text=True, check=check, input=input, timeout=timeout)

    def info(self) -> dict:
        return json.loads(self.ctl("info", "--json").stdout)

    def kill(self) -> int:
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def daemon():
    with tempfile.TemporaryDirectory() as tmp:
        d = Daemon(Path(tmp))
        yield d
        d.stop()


@pytest.fixture(scope="session")
def zmq_context():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def wait_for_subscriber(pub: zmq.Socket, timeout=10.0):
    """An XPUB socket sees the daemon's subscription; sending before it arrives would be lost."""
    poller = zmq.Poller()
    poller.register(pub, zmq.POLLIN)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if poller.poll(100):
            if pub.recv()[:1] == b"\x01":
                return
    raise RuntimeError("daemon never subscribed")
