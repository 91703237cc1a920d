#!/usr/bin/env python3
"""Soak test: mixed valid, invalid and bursty traffic for a set time, with a kill -9 and a
restart in the middle, then an account of every message.

    tools/soak.py [--seconds 60] [--streams 2000]

Loopback only, bounded in time. Builds and runs the release anomalyd with a temporary state
directory and a 2 s checkpoint interval. Before the kill the sender pauses and waits until the
daemon has accounted for everything sent so far, so the account is exact across the restart.
Prints: messages sent by kind, scored, rejected by reason, dropped, the control socket's
response time under the load, peak RSS, the checkpoint age at the kill and the streams restored.
"""

import argparse
import json
import math
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import zmq

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".build" / "release"
BAD = {
    "syntax": [b"twelve", b"1,,2", b"nan"],
    "non_finite": [b"1e999"],
    "unsupported_version": [bytes([0xAD, 7, 1, 0, 1, 0, 0, 0])],
    "truncated": [bytes([0xAD, 1, 1, 0, 2, 0, 0, 0]) + bytes(8)],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, work, ingest):
        self.work, self.ingest = work, ingest
        self.sock = str(work / "c.sock")
        self.proc = subprocess.Popen(
            [str(BIN / "anomalyd"), "--ingest-bind", ingest, "--publish-bind", f"tcp://127.0.0.1:{free_port()}",
             "--control-socket", self.sock, "--set", f"server.state_directory={work / 'state'}",
             "--set", "server.checkpoint_interval=2.0"],
            stderr=open(work / "anomalyd.log", "a"))
        for _ in range(200):
            if self.ctl("ping").returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("anomalyd did not start")

    def ctl(self, *args):
        return subprocess.run([str(BIN / "anomalyctl"), *args, "--socket", self.sock], capture_output=True, text=True)

    def info(self):
        return json.loads(self.ctl("info", "--json").stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--streams", type=int, default=2000)
    args = parser.parse_args()
    for product in ("anomalyd", "anomalyctl"):
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="anomalyd-soak-"))
    ingest = f"tcp://127.0.0.1:{free_port()}"
    rng = random.Random(7)
    ctx = zmq.Context()
    sent = {"valid_samples": 0, "binary_frames": 0, "binary_samples": 0, **{f"bad_{k}": 0 for k in BAD}}
    phases = []
    peak_rss = 0
    ping_times = []
    stop_sampling = threading.Event()

    def connect():
        pub = ctx.socket(zmq.XPUB)
        pub.setsockopt(zmq.XPUB_NODROP, 1)
        pub.setsockopt(zmq.SNDHWM, 0)
        pub.setsockopt(zmq.LINGER, 2000)
        pub.connect(ingest)
        while pub.recv()[:1] != b"\x01":
            pass
        return pub

    def sample_rss(daemon):
        nonlocal peak_rss
        while not stop_sampling.is_set():
            try:
                peak_rss = max(peak_rss, daemon.info()["server"]["used_memory_rss_bytes"])
                t0 = time.time()
                if daemon.ctl("ping").returncode == 0:  # includes starting the anomalyctl process
                    ping_times.append(time.time() - t0)
            except Exception:
                pass
            time.sleep(0.5)

    def send_for(pub, seconds, step0):
        step = step0
        deadline = time.time() + seconds
        while time.time() < deadline:
            burst = 20_000 if rng.random() < 0.05 else 500
            for _ in range(burst):
                s = rng.randrange(args.streams)
                value = 20 + 10 * math.sin(step / 50 + s) + rng.gauss(0, 0.5) + (40 if rng.random() < 1e-4 else 0)
                pub.send_multipart([f"soak.{s}".encode(), f"{value:.4f}".encode()])
                sent["valid_samples"] += 1
                step += 1
                if rng.random() < 0.02:
                    kind = rng.choice(list(BAD))
                    pub.send_multipart([f"soak.{s}".encode(), rng.choice(BAD[kind])])
                    sent[f"bad_{kind}"] += 1
                if rng.random() < 0.001:
                    n = 100
                    frame = struct.pack("<BBHI", 0xAD, 1, 1, n) + b"".join(
                        struct.pack("<qd", -(2**63), 20 + rng.gauss(0, 1)) for _ in range(n))
                    pub.send_multipart([f"soak.bin.{s % 10}".encode(), frame])
                    sent["binary_frames"] += 1
                    sent["binary_samples"] += n
            time.sleep(0.01)
        return step

    def wait_accounted(daemon, expected_samples, expected_rejects):
        deadline = time.time() + 60
        while time.time() < deadline:
            i = daemon.info()["ingest"]
            if i["samples_scored"] + i["samples_dropped"] >= expected_samples and i["rejected_total"] >= expected_rejects:
                return daemon.info()
            time.sleep(0.1)
        return daemon.info()

    def totals():
        return sent["valid_samples"] + sent["binary_samples"], sum(v for k, v in sent.items() if k.startswith("bad_"))

    daemon = Daemon(work, ingest)
    sampler = threading.Thread(target=sample_rss, args=(daemon,), daemon=True)
    sampler.start()
    pub = connect()
    step = send_for(pub, args.seconds / 2, 0)
    samples, rejects = totals()
    before = wait_accounted(daemon, samples, rejects)
    phases.append(before)
    time.sleep(2.5)  # at least one checkpoint after the last sample
    checkpoint_age = daemon.info()["persistence"]["last_checkpoint_age_seconds"]
    streams_before = before["streams"]["streams"]
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    pub.close(linger=0)
    stop_sampling.set()
    sampler.join()

    stop_sampling.clear()
    daemon = Daemon(work, ingest)
    restored = daemon.info()["persistence"]
    sampler = threading.Thread(target=sample_rss, args=(daemon,), daemon=True)
    sampler.start()
    base_samples, base_rejects = totals()
    pub = connect()
    send_for(pub, args.seconds / 2, step)
    samples, rejects = totals()
    after = wait_accounted(daemon, samples - base_samples, rejects - base_rejects)
    phases.append(after)
    stop_sampling.set()
    sampler.join()
    daemon.proc.send_signal(signal.SIGTERM)
    exit_code = daemon.proc.wait()
    pub.close(linger=0)
    ctx.term()

    scored = sum(p["ingest"]["samples_scored"] for p in phases)
    dropped = sum(p["ingest"]["samples_dropped"] for p in phases)
    rejected = {}
    for p in phases:
        for key, value in p["ingest"].items():
            if key.startswith("rejected_") and key != "rejected_total" and value:
                rejected[key[9:]] = rejected.get(key[9:], 0) + value
    samples, bad = totals()
    print(f"soak: {args.seconds:.0f} s, {args.streams} streams, kill -9 and restart at half time")
    print(f"sent: {samples:,} samples ({sent['valid_samples']:,} text, {sent['binary_samples']:,} in {sent['binary_frames']} binary frames), "
          f"{bad:,} invalid messages " + json.dumps({k[4:]: v for k, v in sent.items() if k.startswith('bad_')}))
    print(f"scored {scored:,} + dropped {dropped:,} = {scored + dropped:,} of {samples:,} samples; "
          f"rejected {sum(rejected.values()):,} of {bad:,} invalid: {json.dumps(rejected)}")
    accounted = scored + dropped == samples and sum(rejected.values()) == bad
    print(f"every message accounted for: {'yes' if accounted else 'NO'}")
    ping_times.sort()
    if ping_times:
        print(f"control socket under load: anomalyctl ping median {1000 * ping_times[len(ping_times) // 2]:.1f} ms, "
              f"max {1000 * ping_times[-1]:.1f} ms over {len(ping_times)} pings (process start included)")
    print(f"peak RSS {peak_rss / 1e6:.1f} MB; checkpoint age at the kill {checkpoint_age} s; "
          f"streams before the kill {streams_before}, restored {restored['streams_restored']} "
          f"(restore failures {restored['restore_failures']}); final SIGTERM exit code {exit_code}")
    return 0 if accounted and restored["streams_restored"] == streams_before and exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
