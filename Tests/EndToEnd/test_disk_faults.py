"""The state directory misbehaving under a running daemon: a disk that fills up, one that is
read-only from the start, and SIGTERM or kill -9 arriving in the middle of a checkpoint.

The full and read-only disks are real: small tmpfs mounts. Mounting needs root (CI runs as
root); elsewhere those tests skip and say why."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, Daemon
from test_daemon import lines, publisher

CONFIG = "[server]\ncheckpoint_interval = 1.0\n"


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs; yields (path, remount) where remount(options) changes its mount options."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"needs a tmpfs mount (root): {done.stderr.strip() or 'mount failed'}")

    def remount(options):
        subprocess.run(["mount", "-o", f"remount,{options}", str(mount_point)], check=True)

    try:
        yield mount_point, remount
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def send(ctx, daemon, streams, rows):
    pub = publisher(ctx, daemon)
    for row in rows:
        for stream in streams:
            pub.send_multipart([stream.encode(), row.encode()])
    pub.close()


def wait_until(condition, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def fill(path):
    """Writes a file until the disk is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_a_full_disk_fails_checkpoints_loudly_scoring_goes_on_and_they_retry(tmp_path, small_disk, zmq_context):
    disk, _ = small_disk
    d = Daemon(tmp_path, config_text=CONFIG, state_dir=disk / "state")
    try:
        send(zmq_context, d, ["early"], lines()[:100])
        wait_until(lambda: d.info()["persistence"]["checkpoints_written"] >= 1, what="a first checkpoint")
        fill(disk / "filler")

        # New streams make the state file grow: every checkpoint now fails.
        late = [f"late.{i}" for i in range(300)]
        send(zmq_context, d, late, lines()[:20])
        scored = 100 + 300 * 20
        wait_until(lambda: d.info()["ingest"]["samples_scored"] == scored, what="all samples scored")
        failed = wait_until(
            lambda: d.info()["persistence"]["checkpoint_failures"] >= 2 and d.info()["persistence"],
            what="checkpoint failures")
        assert "full" in failed["last_error"].lower(), failed["last_error"]
        assert "checkpoint of" in d.log_text() and "failed, will retry" in d.log_text()
        metrics = d.ctl("metrics").stdout
        failures = [line for line in metrics.splitlines() if line.startswith("anomalyd_checkpoint_failures_total ")]
        assert failures and int(failures[0].split()[1]) >= 2, failures
        written = failed["checkpoints_written"]

        # Scoring went on while the disk was full.
        send(zmq_context, d, ["early"], lines()[100:200])
        wait_until(lambda: d.info()["ingest"]["samples_scored"] == scored + 100, what="scoring on a full disk")

        # Space comes back: the retained changes are written at the next interval.
        os.remove(disk / "filler")
        wait_until(lambda: d.info()["persistence"]["checkpoints_written"] > written, what="a checkpoint after the disk has room")
    finally:
        assert d.stop() == 0

    with sqlite3.connect(disk / "state" / "state.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM streams").fetchone()[0] == 301
    # A restart on a disk that is full again still restores everything (reading needs no space).
    fill(disk / "filler")
    again = Daemon(tmp_path, config_text=CONFIG, state_dir=disk / "state")
    try:
        assert again.info()["persistence"]["streams_restored"] == 301
        assert "samples:200" in again.ctl("stream", "early").stdout
    finally:
        assert again.stop() == 0


def test_a_read_only_state_disk_turns_persistence_off_loudly(tmp_path, small_disk, zmq_context):
    disk, remount = small_disk
    (disk / "state").mkdir()
    remount("ro")
    d = Daemon(tmp_path, config_text=CONFIG, state_dir=disk / "state")
    try:
        persistence = d.info()["persistence"]
        assert persistence["state_file"] is None
        assert persistence["checkpoint_failures"] == 1 and "read-only" in persistence["last_error"].lower()
        assert "persistence is OFF" in d.log_text()
        send(zmq_context, d, ["still.scored"], lines()[:300])
        wait_until(lambda: d.info()["ingest"]["samples_scored"] == 300, what="scoring without persistence")
    finally:
        assert d.stop() == 0


STREAMS = 4000


def persistence_now(daemon):
    """`info persistence` straight over the control socket: quicker than starting anomalyctl,
    so a running checkpoint is seen while it runs."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(daemon.control)
        s.sendall(b"json info persistence\n")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    status, body = reply.decode().split("\n", 1)
    assert status == "ok", reply
    return json.loads(body)["persistence"]


def busy_daemon(tmp_path):
    """A daemon with STREAMS streams, returned while its first checkpoint is being written, with
    the number of streams in that transaction (each worker hands its streams over separately;
    the checkpointer writes whatever has arrived as one transaction)."""
    d = Daemon(tmp_path, config_text=CONFIG)
    try:
        subprocess.run(
            [str(BIN / "anomalyd-loadgen"), "--endpoint", d.ingest, "--streams", str(STREAMS),
             "--messages", str(STREAMS)],
            check=True, capture_output=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            # Polled often: the SQLite transaction of a few thousand streams takes about 0.2 s.
            persistence = persistence_now(d)
            if persistence["checkpoint_streams_in_progress"] > 0:
                return d, persistence["checkpoint_streams_in_progress"]
            assert persistence["checkpoints_written"] == 0, "missed the checkpoint"
            time.sleep(0.002)
        raise AssertionError("no checkpoint started")
    except BaseException:
        d.kill()
        raise


def test_sigterm_during_a_checkpoint_leaves_a_valid_complete_file(tmp_path):
    d, _ = busy_daemon(tmp_path)
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=60) == 0
    d.log.close()
    assert saved_rows(d) == STREAMS
    assert_restart_restores(tmp_path, STREAMS)


def test_kill_9_during_a_checkpoint_leaves_the_last_committed_state(tmp_path):
    d, in_progress = busy_daemon(tmp_path)
    d.kill()
    rows = saved_rows(d)
    # All of a transaction or none of it: nothing, the one seen running, or that one and the
    # rest of the streams after it.
    assert rows in (0, in_progress, STREAMS)
    assert_restart_restores(tmp_path, rows)


def saved_rows(daemon):
    """The stream rows in a stopped daemon's state file, after SQLite's integrity check."""
    with sqlite3.connect(daemon.state_dir / "state.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return db.execute("SELECT count(*) FROM streams").fetchone()[0]


def assert_restart_restores(tmp_path, streams):
    again = Daemon(tmp_path, config_text=CONFIG)
    try:
        persistence = again.info()["persistence"]
        assert persistence["streams_restored"] == streams and persistence["restore_failures"] == 0
    finally:
        again.stop()
