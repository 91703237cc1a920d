"""Real servers from Debian's packages, started by a test on free loopback ports and stopped
after it: Prometheus, Alertmanager and PostgreSQL. Missing binaries skip the test with the
package to install, unless ANOMALYD_REQUIRE_SERVERS=1 (tools/test, CI), where they fail it."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port


def server_binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found: apt-get install {package} (tools/test installs it)"
    if os.environ.get("ANOMALYD_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


class Server:
    """A server process with a log file, an HTTP API on a free loopback port, and a readiness URL."""

    def start(self, workdir: Path, name: str, command: list[str]):
        self.name = name
        self.log = open(workdir / f"{name}.log", "w")
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_text()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s: {self.log_text()}")

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def get(self, path: str, **params):
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as reply:
            return json.load(reply)

    @staticmethod
    def wait_for(what: str, probe, timeout=30.0, every=0.25):
        """Polls `probe()` until it returns something true; fails with the last answer."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(every)
        raise AssertionError(f"{what}: not seen in {timeout} s (last answer {last!r})")

    def stop(self):
        stop_process(self.proc, signal.SIGTERM, timeout=10)
        self.log.close()


def stop_process(proc: subprocess.Popen, sig: int, timeout: float):
    """Sends `sig` and waits; kills the process if it is still there after `timeout` seconds."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Prometheus(Server):
    """A Prometheus server scraping `targets` every second, with `rule_files` loaded."""

    def __init__(self, workdir: Path, targets: list[str], rule_files: list[Path] = ()):
        binary = server_binary("prometheus", "prometheus")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        rules = "".join(f"  - {p}\n" for p in rule_files)
        target_list = ", ".join(f'"{t}"' for t in targets)
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            + (f"rule_files:\n{rules}" if rule_files else "")
            + f"scrape_configs:\n  - job_name: anomalyd\n    static_configs:\n      - targets: [{target_list}]\n"
        )
        self.start(
            workdir,
            "prometheus",
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
        )

    def api(self, path: str, **params) -> dict:
        body = self.get(f"/api/v1/{path}", **params)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """An instant query's result vector."""
        return self.api("query", query=expr)["result"]


class Alertmanager(Server):
    """An Alertmanager with one receiver that goes nowhere (the test reads its API), clustering off."""

    def __init__(self, workdir: Path, port: int | None = None):
        binary = server_binary("prometheus-alertmanager", "prometheus-alertmanager")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "alertmanager.yml"
        config.write_text(
            "route:\n  receiver: nowhere\n  group_wait: 1s\n  group_interval: 1s\n"
            "receivers:\n  - name: nowhere\n"
        )
        self.start(
            workdir,
            "alertmanager",
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
        )

    def alerts(self, **filters) -> list[dict]:
        """Alerts the Alertmanager holds (GET /api/v2/alerts: active, silenced and inhibited; not resolved)."""
        return self.get("/api/v2/alerts", **filters)


def postgres_binaries() -> Path:
    """Debian's versioned directory of server binaries, the newest installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    message = "PostgreSQL not found: apt-get install postgresql (tools/test installs it)"
    if os.environ.get("ANOMALYD_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


class PostgreSQL:
    """A PostgreSQL server in a fresh data directory on a free loopback port, trusting local
    connections for the user `anomalyd`. As root (CI) it runs as the `postgres` user, since
    PostgreSQL refuses to run as root; `postgres` is started directly, not through pg_ctl, so
    stopping it is a signal to the child."""

    def __init__(self, workdir: Path):
        self.bin = postgres_binaries()
        self.port = free_port()
        # Not under pytest's temporary directory: that is private to the test's user (0700),
        # and the server may run as another.
        self.dir = Path(tempfile.mkdtemp(prefix="anomalyd-postgres-"))
        self.user = "postgres" if os.getuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)
        self.url = f"postgres://anomalyd@127.0.0.1:{self.port}/postgres"
        self.log = open(workdir / "postgres.log", "w")
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "anomalyd", "--no-sync"],
            stdout=self.log, stderr=subprocess.STDOUT, check=True, user=self.user, cwd=self.dir,
        )
        self.proc = subprocess.Popen(
            [
                str(self.bin / "postgres"), "-D", str(self.dir / "data"), "-p", str(self.port), "-k", str(self.dir),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            ],
            stdout=self.log, stderr=subprocess.STDOUT, user=self.user, cwd=self.dir,
        )
        deadline = time.monotonic() + 30
        while self.sql("SELECT 1", check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {Path(self.log.name).read_text()}")
            time.sleep(0.1)

    def sql(self, statement: str, check=True) -> subprocess.CompletedProcess:
        """Runs one statement with psql; stdout holds the rows, `|`-separated."""
        return subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "anomalyd", "-d", "postgres",
             "-AtqX", "-c", statement],
            capture_output=True, text=True, check=check, timeout=30,
        )

    def stop(self):
        stop_process(self.proc, signal.SIGINT, timeout=20)  # SIGINT: PostgreSQL's fast shutdown
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
