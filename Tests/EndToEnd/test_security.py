"""CURVE on the ingest and event sockets, on bind and connect endpoints: allowed clients get
through, others do not."""

import re
import subprocess
import time

import zmq

from conftest import BIN, Daemon, free_port, wait_for_subscriber
from test_daemon import lines


def keygen(prefix):
    subprocess.run([str(BIN / "anomalyctl"), "keygen", "--output", str(prefix)], check=True, capture_output=True)
    return re.search(r'public = "(.{40})"', (prefix.with_suffix(".pub")).read_text()).group(1)


def test_curve_allow_list(tmp_path):
    keygen(tmp_path / "server")
    allowed = keygen(tmp_path / "alice")
    keygen(tmp_path / "mallory")
    assert oct((tmp_path / "alice.key").stat().st_mode & 0o777) == "0o600"
    d = Daemon(
        tmp_path,
        config_text=f'[security]\ncurve_key_file = "{tmp_path / "server.key"}"\ncurve_allowed_clients = ["{allowed}"]\n',
    )
    try:
        curve = ["--curve-server", str(tmp_path / "server.pub")]
        tail = subprocess.Popen(
            [str(BIN / "anomalyctl"), "tail", "--endpoint", d.publish, "--count", "1", "--timeout", "30", *curve,
             "--curve-key", str(tmp_path / "alice.key")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(0.5)
        ok = d.ctl("publish", "--endpoint", d.ingest, "secure", *curve, "--curve-key", str(tmp_path / "alice.key"),
                   input="\n".join(lines()) + "\n")
        assert ok.returncode == 0
        out, _ = tail.communicate(timeout=40)
        assert out.startswith("secure 0 ")  # the event arrived over CURVE too

        denied = d.ctl("publish", "--endpoint", d.ingest, "intruder", *curve, "--curve-key",
                       str(tmp_path / "mallory.key"), "--wait", "2", input="1\n", check=False)
        assert denied.returncode == 2 and "no subscriber" in denied.stderr
        plain = d.ctl("publish", "--endpoint", d.ingest, "plain", "--wait", "2", input="1\n", check=False)
        assert plain.returncode == 2

        server = d.info()["server"]
        assert server["curve"] is True and len(server["curve_server_key"]) == 40 and server["curve_clients_denied"] >= 1
        assert server["curve_clients_accepted"] >= 2
        streams = [line.split("\t")[0] for line in d.ctl("streams").stdout.splitlines()[1:]]
        assert streams == ["secure"]
    finally:
        d.stop()


def test_bad_key_file_is_a_config_error(tmp_path):
    (tmp_path / "bad.key").write_text('public = "short"\n')
    (tmp_path / "c.toml").write_text(f'[security]\ncurve_key_file = "{tmp_path / "bad.key"}"\n')
    result = subprocess.run([str(BIN / "anomalyd"), "--config", str(tmp_path / "c.toml"), "--check-config"],
                            capture_output=True, text=True)
    assert result.returncode == 78 and "security.curve_key_file" in result.stderr and "Z85" in result.stderr


def test_curve_on_a_connect_endpoint(tmp_path, zmq_context):
    """CURVE roles do not follow bind and connect: the daemon is the CURVE server on its
    `connect` endpoints too, and a publisher that binds is the CURVE client (pyzmq here)."""
    server = keygen(tmp_path / "server")
    alice_public, alice_secret = zmq.curve_keypair()
    stranger_public, stranger_secret = zmq.curve_keypair()
    endpoints = [f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"]
    d = Daemon(
        tmp_path,
        config_text=(
            f'[ingest]\nconnect = ["{endpoints[0]}", "{endpoints[1]}"]\n'
            f'[security]\ncurve_key_file = "{tmp_path / "server.key"}"\n'
            f'curve_allowed_clients = ["{alice_public.decode()}"]\n'
        ),
    )

    def bound_publisher(endpoint, public, secret):
        pub = zmq_context.socket(zmq.XPUB)
        pub.setsockopt(zmq.LINGER, 2000)
        pub.curve_serverkey = server.encode()
        pub.curve_publickey = public
        pub.curve_secretkey = secret
        pub.bind(endpoint)
        return pub

    try:
        alice = bound_publisher(endpoints[0], alice_public, alice_secret)
        wait_for_subscriber(alice)
        for line in lines()[:200]:
            alice.send_multipart([b"upstream", line.encode()])
        stranger = bound_publisher(endpoints[1], stranger_public, stranger_secret)
        poller = zmq.Poller()
        poller.register(stranger, zmq.POLLIN)
        assert poller.poll(2000) == [], "the daemon subscribed to a publisher not on the allow-list"
        deadline = time.time() + 20
        while d.info()["ingest"]["samples_scored"] < 200 and time.time() < deadline:
            time.sleep(0.05)
        assert d.info()["ingest"]["samples_scored"] == 200
        server_info = d.info()["server"]
        assert server_info["curve_clients_accepted"] >= 1 and server_info["curve_clients_denied"] >= 1
        alice.close()
        stranger.close()
    finally:
        d.stop()
