"""Learned state survives restarts: graceful ones, kill -9, and damaged state files."""

import json
import sqlite3
import time

from conftest import Daemon
from test_daemon import LENGTH, assert_the_two_spikes, lines, publisher, receive_events, spike_events, subscribe

SPLIT = 800  # past the warm-up, before the first spike


def feed(daemon, ctx, stream, part, expected_scored, sub=None):
    pub = publisher(ctx, daemon)
    for line in part:
        pub.send_multipart([stream, line.encode()])
    events = receive_events(sub, expected_scored, daemon) if sub else None
    if sub is None:
        deadline = time.time() + 20
        while daemon.info()["ingest"]["samples_scored"] < expected_scored and time.time() < deadline:
            time.sleep(0.05)
    pub.close()
    return events


def assert_resumes_exactly(second, ctx, stream):
    """After a restart the stream is back, past its warm-up, and its remaining events are
    those of a run that never stopped, sequence numbers included."""
    assert second.info()["persistence"]["streams_restored"] == 1
    detail = second.ctl("stream", stream.decode()).stdout
    assert f"samples:{SPLIT}" in detail and "warming_up:0" in detail
    sub = subscribe(ctx, second)
    events = feed(second, ctx, stream, lines()[SPLIT:], LENGTH - SPLIT, sub)
    assert_the_two_spikes(spike_events(events, stream.decode()))
    sub.close()


def test_graceful_restart_resumes_exactly(tmp_path, zmq_context):
    (tmp_path / "a").mkdir()
    first = Daemon(tmp_path / "a")
    ports = (first.ingest, first.publish)
    feed(first, zmq_context, b"keep", lines()[:SPLIT], SPLIT)
    assert first.stop() == 0

    second = Daemon(tmp_path / "a", ports=ports)
    try:
        assert second.info()["persistence"]["restore_failures"] == 0
        assert_resumes_exactly(second, zmq_context, b"keep")
    finally:
        second.stop()


def test_kill_9_loses_at_most_one_checkpoint_interval(tmp_path, zmq_context):
    (tmp_path / "a").mkdir()
    config = "[server]\ncheckpoint_interval = 1.0\n"
    first = Daemon(tmp_path / "a", config_text=config)
    ports = (first.ingest, first.publish)
    feed(first, zmq_context, b"hard", lines()[:SPLIT], SPLIT)
    deadline = time.time() + 10
    while first.info()["persistence"]["checkpoints_written"] < 1 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # one more interval: the checkpoint holds every sample scored so far
    first.kill()

    second = Daemon(tmp_path / "a", config_text=config, ports=ports)
    try:
        assert_resumes_exactly(second, zmq_context, b"hard")
    finally:
        second.stop()


def test_damaged_state_is_quarantined_and_the_stream_starts_fresh(tmp_path, zmq_context):
    (tmp_path / "a").mkdir()
    first = Daemon(tmp_path / "a")
    feed(first, zmq_context, b"good", lines()[:SPLIT], SPLIT)
    feed(first, zmq_context, b"bad", lines()[:SPLIT], 2 * SPLIT)
    assert first.stop() == 0
    db = sqlite3.connect(first.state_dir / "state.sqlite")
    blob = bytearray(db.execute("select state from streams where id = 'bad'").fetchone()[0])
    blob[len(blob) // 2] ^= 0xFF
    db.execute("update streams set state = ? where id = 'bad'", (bytes(blob),))
    db.commit()
    db.close()

    second = Daemon(tmp_path / "a")
    try:
        persistence = second.info()["persistence"]
        assert persistence["streams_restored"] == 1 and persistence["restore_failures"] == 1
        assert "checksum" in second.log_text()
        assert second.ctl("stream", "bad", check=False).returncode == 1  # starts fresh on its next sample
        assert f"samples:{SPLIT}" in second.ctl("stream", "good").stdout
    finally:
        second.stop()
    db = sqlite3.connect(second.state_dir / "state.sqlite")
    assert db.execute("select id from quarantine").fetchall() == [("bad",)]


def test_garbage_state_file_is_moved_aside(tmp_path):
    (tmp_path / "a").mkdir()
    state = tmp_path / "a" / "state"
    state.mkdir()
    (state / "state.sqlite").write_bytes(b"garbage" * 1000)
    daemon = Daemon(tmp_path / "a")
    try:
        assert daemon.ctl("ping").stdout == "pong\n"
        assert list(state.glob("state.sqlite.corrupt-*"))
        assert json.loads(daemon.ctl("info", "persistence", "--json").stdout)["persistence"]["streams_restored"] == 0
    finally:
        daemon.stop()


def _distinct_streams(daemon, ctx, count):
    pub = publisher(ctx, daemon)
    for i in range(count):
        pub.send_multipart([f"id.{i}".encode(), b"1.5"])
    deadline = time.time() + 20
    while time.time() < deadline:
        ingest = daemon.info()["ingest"]
        if ingest["samples_scored"] + ingest["rejected_total"] >= count:
            break
        time.sleep(0.05)
    pub.close()


def test_a_flood_of_stream_ids_is_bounded_by_max_streams(tmp_path, zmq_context):
    (tmp_path / "a").mkdir()
    daemon = Daemon(tmp_path / "a", config_text="[ingest]\nmax_streams = 50\n")
    try:
        _distinct_streams(daemon, zmq_context, 500)
        info = daemon.info()
        assert info["streams"]["streams"] == 50
        assert info["streams"]["streams_evicted"] == 450 and info["streams"]["keep_evicted_state"] is False
        assert info["ingest"]["samples_scored"] == 500 and info["ingest"]["rejected_total"] == 0
    finally:
        assert daemon.stop() == 0
    db = sqlite3.connect(daemon.state_dir / "state.sqlite")
    assert db.execute("select count(*) from streams").fetchone()[0] <= 50


def test_reject_mode_refuses_new_ids_and_counts_them(tmp_path, zmq_context):
    (tmp_path / "a").mkdir()
    daemon = Daemon(tmp_path / "a", config_text='[ingest]\nmax_streams = 50\nstream_eviction = "reject"\n')
    try:
        _distinct_streams(daemon, zmq_context, 200)
        info = daemon.info()
        assert info["streams"]["streams"] == 50 and info["streams"]["streams_evicted"] == 0
        assert info["ingest"]["rejected_too_many_streams"] == 150
    finally:
        daemon.stop()


def test_evicted_streams_resume_from_their_saved_state(tmp_path, zmq_context):
    """keep_evicted_state: an evicted stream's state goes to the state file, and when its id
    comes back it resumes (no new warm-up); at start only max_streams are loaded."""
    (tmp_path / "a").mkdir()
    config = "[ingest]\nmax_streams = 4\nkeep_evicted_state = true\n"
    first = Daemon(tmp_path / "a", config_text=config)
    ports = (first.ingest, first.publish)
    try:
        feed(first, zmq_context, b"keep", lines()[:300], 300)
        pub = publisher(zmq_context, first)
        for i in range(10):
            # Older timestamps than "keep"'s: at start, the most recently seen are loaded.
            pub.send_multipart([f"other.{i}".encode(), f"@{1_600_000_000 + i},1.0".encode()])
        pub.close()
        deadline = time.time() + 20
        while first.info()["ingest"]["samples_scored"] < 310 and time.time() < deadline:
            time.sleep(0.05)
        assert "keep" not in [line.split("\t")[0] for line in first.ctl("streams").stdout.splitlines()[1:]]
        feed(first, zmq_context, b"keep", lines()[300:301], 311)
        detail = first.ctl("stream", "keep").stdout
        assert "samples:301" in detail and "warming_up:0" in detail, detail
        streams = first.info()["streams"]
        assert streams["keep_evicted_state"] is True
        assert streams["streams_resumed"] == 1 and streams["evicted_states_dropped"] == 0
        assert streams["streams"] == 4 and first.info()["ingest"]["rejected_too_many_streams"] == 0
    finally:
        assert first.stop() == 0
    db = sqlite3.connect(first.state_dir / "state.sqlite")
    assert db.execute("select count(*) from streams").fetchone()[0] == 11

    second = Daemon(tmp_path / "a", config_text=config, ports=ports)
    try:
        # The 4 most recently seen are read; each worker keeps what fits its share (2 of 4).
        assert 1 <= second.info()["persistence"]["streams_restored"] <= 4
        assert "samples:301" in second.ctl("stream", "keep").stdout  # the most recently seen
    finally:
        second.stop()
