"""A stalled control client costs only itself: the control server serves every connection as
its bytes arrive, drops the stalled ones at their timeout and counts them, refuses an
oversized line with an error reply, and refuses connections past its cap with a message."""

import json
import socket
import statistics
import threading
import time

from conftest import Daemon


def connect(daemon):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(daemon.control)
    return s


def request(daemon, line: bytes) -> bytes:
    with connect(daemon) as s:
        s.settimeout(10)
        s.sendall(line)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        return reply


def test_stalled_and_slow_clients_do_not_delay_ping_or_info(tmp_path):
    d = Daemon(tmp_path, config_text="[server]\nstate_directory = \"none\"\n")
    stop = threading.Event()
    hanging = []
    try:
        for _ in range(200):
            s = connect(d)
            s.sendall(b"inf")  # never finished
            hanging.append(s)

        def trickle():
            # 20 clients sending one byte per 100 ms of a request that never ends.
            slow = [connect(d) for _ in range(20)]
            while not stop.is_set():
                for s in slow:
                    try:
                        s.send(b"p")
                    except OSError:
                        pass
                time.sleep(0.1)
            for s in slow:
                s.close()

        trickler = threading.Thread(target=trickle)
        trickler.start()
        time.sleep(0.3)
        latencies = []
        for i in range(50):
            line = b"ping\n" if i % 2 == 0 else b"json info ingest\n"
            start = time.monotonic()
            reply = request(d, line)
            latencies.append(time.monotonic() - start)
            assert reply.startswith(b"ok"), reply[:200]
        latencies.sort()
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        print(f"control beside 220 stalled clients: p99 {p99 * 1000:.1f} ms")
        assert p99 <= 0.1, f"p99 {p99 * 1000:.1f} ms, median {statistics.median(latencies) * 1000:.1f} ms"

        # The stalled and the trickling clients are dropped at their 2 s timeout, and counted.
        time.sleep(2.5)
        stop.set()
        trickler.join()
        for s in hanging:
            s.settimeout(1)
            assert s.recv(100) == b""  # closed by the daemon
        control = json.loads(d.ctl("info", "control", "--json").stdout)["control"]
        assert int(control["clients_timed_out"]) >= 220
        assert int(control["connections_open"]) <= 1
    finally:
        stop.set()
        for s in hanging:
            s.close()
        assert d.stop() == 0


def test_an_oversized_request_is_refused_with_an_error_and_the_daemon_goes_on(tmp_path):
    d = Daemon(tmp_path, config_text="[server]\nstate_directory = \"none\"\n")
    try:
        reply = request(d, b"x" * (10 << 20) + b"\n")
        assert reply.startswith(b"error") and b"longer than" in reply, reply[:200]
        assert request(d, b"ping\n").startswith(b"ok")
        control = json.loads(d.ctl("info", "control", "--json").stdout)["control"]
        assert int(control["requests_oversized"]) == 1
    finally:
        assert d.stop() == 0


def test_connections_past_the_cap_are_refused_with_a_message(tmp_path):
    d = Daemon(tmp_path, config_text="[control]\nmax_connections = 4\n[server]\nstate_directory = \"none\"\n")
    held = []
    try:
        held = [connect(d) for _ in range(4)]
        time.sleep(0.2)  # accepted
        reply = request(d, b"ping\n")
        assert reply.startswith(b"error") and b"too many control connections" in reply, reply
        for s in held:
            s.close()
        time.sleep(0.3)
        assert request(d, b"ping\n").startswith(b"ok")
        control = json.loads(d.ctl("info", "control", "--json").stdout)["control"]
        assert int(control["connections_refused"]) == 1
    finally:
        for s in held:
            s.close()
        assert d.stop() == 0


def test_control_answers_within_100_ms_while_ingest_is_overloaded(tmp_path):
    import subprocess

    from conftest import BIN

    d = Daemon(tmp_path, config_text="[server]\nstate_directory = \"none\"\n")
    try:
        # The generator sends as fast as it can, more than the workers score: samples are
        # dropped (counted), and the control thread must still answer.
        load = subprocess.Popen(
            [str(BIN / "anomalyd-loadgen"), "--endpoint", d.ingest, "--streams", "1000", "--messages", "20000000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.time() + 20
            while int(d.info()["ingest"]["samples_dropped"]) == 0 and time.time() < deadline:
                time.sleep(0.1)
            latencies = []
            for i in range(50):
                start = time.monotonic()
                reply = request(d, b"ping\n" if i % 2 == 0 else b"json info ingest\n")
                latencies.append(time.monotonic() - start)
                assert reply.startswith(b"ok"), reply[:200]
                time.sleep(0.02)
            ingest = d.info()["ingest"]
        finally:
            load.kill()
            load.wait()
        assert int(ingest["samples_dropped"]) > 0, "the ingest was not overloaded"
        latencies.sort()
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        print(f"control under overload: p99 {p99 * 1000:.1f} ms, median {statistics.median(latencies) * 1000:.1f} ms")
        assert p99 <= 0.1, f"p99 {p99 * 1000:.1f} ms, median {statistics.median(latencies) * 1000:.1f} ms"
    finally:
        assert d.stop() == 0
