"""Faults a daemon must shrug off: an unusable state directory, control clients that hang up
mid-request, and a subscriber that never reads."""

import json
import socket
import time

import zmq

from conftest import Daemon
from test_daemon import LENGTH, lines, publisher


def test_unusable_state_directory_turns_persistence_off_loudly(tmp_path, zmq_context):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    d = Daemon(tmp_path, state_dir=blocker / "state")
    try:
        persistence = d.info()["persistence"]
        assert persistence["state_file"] is None and persistence["checkpoint_failures"] == 1
        assert isinstance(persistence["last_error"], str) and persistence["last_error"]
        assert "persistence is OFF" in d.log_text()
        pub = publisher(zmq_context, d)
        for line in lines()[:500]:
            pub.send_multipart([b"still.scored", line.encode()])
        deadline = time.time() + 10
        while d.info()["ingest"]["samples_scored"] < 500 and time.time() < deadline:
            time.sleep(0.05)
        assert d.info()["ingest"]["samples_scored"] == 500
        pub.close()
    finally:
        assert d.stop() == 0


def test_control_clients_that_hang_up_do_no_harm(tmp_path):
    d = Daemon(tmp_path)
    try:
        for payload in (b"", b"inf", b"info ing", b"x" * 100_000):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(d.control)
                s.sendall(payload)
            # closed without a newline or without reading the reply
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.control)
            s.sendall(b"info\n")
            s.shutdown(socket.SHUT_RDWR)
        started = time.time()
        assert d.ctl("ping").stdout == "pong\n"
        assert time.time() - started < 1
    finally:
        assert d.stop() == 0


def test_a_subscriber_that_never_reads_does_not_stall_ingest(tmp_path, zmq_context):
    d = Daemon(tmp_path, config_text='[publish]\nmode = "all"\nsend_hwm = 1000\n')
    try:
        lazy = zmq_context.socket(zmq.SUB)
        lazy.setsockopt(zmq.SUBSCRIBE, b"")
        lazy.setsockopt(zmq.RCVHWM, 1)
        lazy.connect(d.publish)
        time.sleep(0.3)
        pub = publisher(zmq_context, d)
        total = 20 * LENGTH
        rows = [line.encode() for line in lines()]
        for i in range(total):
            pub.send_multipart([f"s.{i % 20}".encode(), rows[i // 20]])
        deadline = time.time() + 30
        while d.info()["ingest"]["samples_scored"] < total and time.time() < deadline:
            time.sleep(0.05)
        info = d.info()
        assert info["ingest"]["samples_scored"] == total
        assert info["ingest"]["samples_dropped"] == 0
        # libzmq dropped events for the subscriber that does not read; the daemon did not wait.
        assert info["publish"]["events_published"] + info["publish"]["events_dropped"] == total
        pub.close()
        lazy.close()
    finally:
        d.stop()
