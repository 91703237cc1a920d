#!/usr/bin/env python3
"""What cluster mode costs, measured side by side on this machine.

1. Scoring rate: a burst of MESSAGES text samples over STREAMS streams, sent as fast as
   anomalyd-loadgen can, to a single host with SQLite checkpoints and to a cluster member with
   PostgreSQL checkpoints that holds every partition. Both checkpoint every second, so the
   checkpoint writes run during the burst; queues are large enough that nothing is dropped.
   The rate is samples scored per second from the first send to the last score. The two are
   run alternately, RUNS times each, and the medians compared.
2. Skipping: a one-partition cluster of two members, so that one holds everything and the
   other nothing. The same burst goes to each; the ingest thread's CPU time per message is
   what routing (the holder) and skipping (the other) cost, libzmq's receive included.

Needs Debian's postgresql package (the server is started here on a free loopback port) and
a release build: swift build -c release (the products anomalyd, anomalyctl, anomalyd-loadgen).

    tools/cluster-bench.py [--messages 1000000] [--streams 1000] [--runs 3] [--bin .build/release]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Tests" / "EndToEnd"))


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--bin", default=str(REPO / ".build" / "release"))
    return p.parse_args()


ARGS = parse()
os.environ["ANOMALYD_BIN_DIR"] = str(Path(ARGS.bin).resolve())
from conftest import free_port  # noqa: E402
from real_servers import PostgreSQL  # noqa: E402

BIN = Path(ARGS.bin).resolve()


class Instance:
    def __init__(self, workdir: Path, name: str, sets: list[str]):
        self.workdir = workdir / name
        self.workdir.mkdir()
        self.ingest = f"tcp://127.0.0.1:{free_port()}"
        self.control = str(self.workdir / "control.sock")
        command = [
            str(BIN / "anomalyd"), "--ingest-bind", self.ingest,
            "--publish-bind", f"tcp://127.0.0.1:{free_port()}", "--control-socket", self.control,
            "--set", f"server.state_directory={self.workdir / 'state'}", "--set", "server.checkpoint_interval=1",
            "--set", "ingest.queue_capacity=16777216", "--set", "ingest.receive_hwm=0",
        ]
        for s in sets:
            command += ["--set", s]
        self.log = open(self.workdir / "anomalyd.log", "w")
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda: self.ctl("ping", check=False).returncode == 0, "ping")

    def ctl(self, *args, check=True):
        return subprocess.run(
            [str(BIN / "anomalyctl"), *args, "--socket", self.control], capture_output=True, text=True, check=check
        )

    def info(self) -> dict:
        return json.loads(self.ctl("info", "--json").stdout)

    def wait(self, probe, what: str, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anomalyd exited: {(self.workdir / 'anomalyd.log').read_text()}")
            if probe():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{what}: not within {timeout} s")

    def ingest_cpu_seconds(self) -> float:
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            stat = (task / "stat").read_text()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            if name == "ingest":
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def burst(instance: Instance):
    subprocess.run(
        [str(BIN / "anomalyd-loadgen"), "--endpoint", instance.ingest, "--streams", str(ARGS.streams),
         "--messages", str(ARGS.messages)],
        check=True, capture_output=True,
    )


def scoring_rate(instance: Instance) -> float:
    before = instance.info()["ingest"]["samples_scored"]
    started = time.monotonic()
    burst(instance)
    instance.wait(
        lambda: instance.info()["ingest"]["samples_scored"] - before >= ARGS.messages, "burst scored", timeout=600
    )
    ingest = instance.info()["ingest"]
    assert ingest["samples_dropped"] == 0, ingest
    return ARGS.messages / (time.monotonic() - started)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pg = PostgreSQL(work)
        try:
            rates = {"single host, SQLite": [], "cluster member, PostgreSQL": []}
            for run in range(ARGS.runs):
                for mode in rates:
                    sets = []
                    if mode.startswith("cluster"):
                        # A fresh database per run: the previous run's streams would be loaded.
                        database = f"bench{run}"
                        pg.sql(f"CREATE DATABASE {database}")
                        sets = [f"cluster.postgres_url=postgres://anomalyd@127.0.0.1:{pg.port}/{database}",
                                "cluster.member=solo"]
                    instance = Instance(work, f"{mode.split()[0]}{run}", sets)
                    try:
                        if sets:
                            instance.wait(
                                lambda: instance.info()["cluster"]["partitions_held"] == 1024, "all partitions held")
                        rates[mode].append(scoring_rate(instance))
                        if sets:
                            lost = instance.info()["cluster"]["lease_losses"]
                            assert lost == 0, f"the member lost {lost} partitions' leases during the burst"
                    finally:
                        instance.stop()
            print(f"scoring rate, {ARGS.messages:,} text samples over {ARGS.streams:,} streams, checkpoints every 1 s:")
            medians = {mode: statistics.median(r) for mode, r in rates.items()}
            for mode, r in rates.items():
                print(f"  {mode:28} median {medians[mode]:>10,.0f} /s  (runs: {', '.join(f'{x:,.0f}' for x in r)})")
            ratio = medians["cluster member, PostgreSQL"] / medians["single host, SQLite"]
            print(f"  cluster / single host: {ratio:.2f}")

            pg.sql("CREATE DATABASE skip")
            url = f"cluster.postgres_url=postgres://anomalyd@127.0.0.1:{pg.port}/skip"
            members = [Instance(work, f"skip-{m}", [url, f"cluster.member={m}", "cluster.partitions=1"]) for m in "ab"]
            try:
                # Settled: both see each other (a member that holds what it should not gives it
                # up in the turn it first sees the other), and one holds the partition.
                def settled():
                    views = [m.info()["cluster"] for m in members]
                    return all(len(v["members"]) == 2 for v in views) and sorted(
                        v["partitions_held"] for v in views) == [0, 1]

                members[0].wait(settled, "one holder")
                print(f"ingest thread CPU per message, {ARGS.messages:,} messages (libzmq receive included):")
                for m in sorted(members, key=lambda m: -m.info()["cluster"]["partitions_held"]):
                    cpu = m.ingest_cpu_seconds()
                    burst(m)
                    m.wait(lambda: m.info()["ingest"]["messages_received"] >= ARGS.messages, "burst received", 600)
                    used = (m.ingest_cpu_seconds() - cpu) / ARGS.messages * 1e9
                    ingest = m.info()["ingest"]
                    what = "routed (holds the partition)" if ingest["messages_other_partition"] == 0 else "skipped"
                    lost = m.info()["cluster"]["lease_losses"]
                    print(f"  {what:30} {used:6.0f} ns   (lease losses during the burst: {lost})")
            finally:
                for m in members:
                    m.stop()
        finally:
            pg.stop()


if __name__ == "__main__":
    main()
