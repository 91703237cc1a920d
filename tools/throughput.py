#!/usr/bin/env python3
"""Measures a running anomalyd's sustained scoring rate with a pyzmq publisher.

    .build/release/anomalyd --control-socket /tmp/ad.sock &
    tools/throughput.py --socket /tmp/ad.sock [--messages 300000] [--streams 1000]

Sends text messages (one sample each) round-robin over N streams, then binary frames of 1,000
samples, waits until the daemon has scored or dropped everything, and prints points/s with the
daemon's own accounting (scored, rejected, dropped) so no loss goes unseen. The text figure is
bounded by pyzmq's own send rate (about 0.2–0.3 M msg/s here); a native load generator is
needed to measure the daemon beyond that.
"""

import argparse
import json
import struct
import subprocess
import time

import zmq


def info(args):
    out = subprocess.run(
        [args.anomalyctl, "info", "ingest", "--json", "--socket", args.socket],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)["ingest"]


def wait_done(args, target):
    while True:
        i = info(args)
        if i["samples_scored"] + i["samples_dropped"] + i["rejected_total"] >= target:
            return i
        time.sleep(0.01)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5556")
    parser.add_argument("--socket", required=True, help="the daemon's control socket")
    parser.add_argument("--anomalyctl", default=".build/release/anomalyctl")
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=300, help="binary frames of 1,000 samples")
    args = parser.parse_args()

    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.XPUB_NODROP, 1)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.connect(args.endpoint)
    while pub.recv()[:1] != b"\x01":
        pass

    topics = [f"load.{i}".encode() for i in range(args.streams)]
    payloads = [f"{i % 97}.5".encode() for i in range(97)]
    start = info(args)
    base = start["samples_scored"] + start["samples_dropped"] + start["rejected_total"]
    t0 = time.time()
    for i in range(args.messages):
        pub.send_multipart([topics[i % args.streams], payloads[i % 97]])
    sent = time.time()
    end = wait_done(args, base + args.messages)
    done = time.time()
    print(
        f"text: {args.messages} messages over {args.streams} streams; sender {args.messages / (sent - t0):,.0f} msg/s; "
        f"scored {end['samples_scored'] - start['samples_scored']}, dropped {end['samples_dropped'] - start['samples_dropped']}, "
        f"rejected {end['rejected_total'] - start['rejected_total']}; {args.messages / (done - t0):,.0f} points/s end to end"
    )

    frame = bytearray(struct.pack("<BBHI", 0xAD, 1, 1, 1000))
    for k in range(1000):
        frame += struct.pack("<qd", -(2**63), float(k % 50))
    frame = bytes(frame)
    start = end
    base = start["samples_scored"] + start["samples_dropped"] + start["rejected_total"]
    total = args.frames * 1000
    t0 = time.time()
    for i in range(args.frames):
        pub.send_multipart([topics[i % args.streams], frame])
    end = wait_done(args, base + total)
    done = time.time()
    print(
        f"binary: {args.frames} frames x 1000 samples; scored {end['samples_scored'] - start['samples_scored']}, "
        f"dropped {end['samples_dropped'] - start['samples_dropped']} (worker queues full, counted); "
        f"{total / (done - t0):,.0f} points/s offered, "
        f"{(end['samples_scored'] - start['samples_scored']) / (done - t0):,.0f} points/s scored"
    )
    pub.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main()
