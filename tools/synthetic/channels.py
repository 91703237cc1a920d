#!/usr/bin/env python3
"""How the model's width should follow a stream's: the synthetic machine at several channel
counts, scored at several hidden sizes.

    tools/synthetic/channels.py                                  # 3, 6, 8, 12 channels × hidden 8, 16, 24
    tools/synthetic/channels.py --channels 12 --hidden 16,24,32 --seeds 1,2,3

For each seed, the machine of `corpus.py` (channels following one latent load) is built with
N channels, four files: clean, one channel spiking, one channel decoupling, the whole machine
shifting. Each goes through `anomalyctl replay --set detector.hidden=H` and is scored as in
`bench.py`: NAB-style standard score (corpus-optimised threshold and own events), windows
caught per fault, false events per 10,000 readings on the clean file. This is the measurement
behind the automatic `hidden` (8 for one channel, 16 for several; docs/quality.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tools" / "nab"))
import bench  # noqa: E402
import binaries  # noqa: E402
import corpus  # noqa: E402


def machine_files(seed: int, channels: int) -> list[corpus.SyntheticFile]:
    rng = random.Random(seed)
    files = []
    for kind in ("clean", *corpus.MULTIVARIATE_KINDS):
        faults = [] if kind == "clean" else corpus._onsets(rng, kind)
        rows = corpus.machine_rows(random.Random(rng.getrandbits(64)), faults, channels)
        files.append(corpus.SyntheticFile(f"machine{channels}/{kind}", "machine", kind,
                                          [f"c{c}" for c in range(channels)], rows, faults))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", default="3,6,8,12")
    parser.add_argument("--hidden", default="8,16,24")
    parser.add_argument("--seeds", default="1,2,3,4,5,6")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "synthetic-channels")
    parser.add_argument("--anomalyctl", help="anomalyctl binary (default: build the release one)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--set", action="append", default=[], help="another override, as anomalyctl replay --set")
    parser.add_argument("--json", type=Path, help="also write the figures printed, per channel count and hidden size")
    args = parser.parse_args()
    anomalyctl = args.anomalyctl or binaries.release_binary()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"synthetic machine, corpus seeds {args.seeds}; NAB-style standard score, "
          "windows caught by own events, false events per 10,000 readings on the clean file")
    print(f"{'channels':>8} {'hidden':>6} {'optimised':>10} {'own':>7} {'false':>6}   caught")
    summary = {}
    for channels in (int(c) for c in args.channels.split(",")):
        drawn = {seed: machine_files(seed, channels) for seed in seeds}
        for seed, files in drawn.items():
            for f in files:
                bench.write_csv(args.out / str(seed) / f"{f.name}.csv", f)
        for hidden in (int(h) for h in args.hidden.split(",")):
            results = []
            for seed, files in drawn.items():
                def work(f, seed=seed):
                    source = args.out / str(seed) / f"{f.name}.csv"
                    overrides = [x for o in [f"detector.hidden={hidden}", *args.set] for x in ("--set", o)]
                    return f.name, bench.replay(anomalyctl, source, overrides)

                with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                    results.append(bench.evaluate(files, dict(pool.map(work, files))))
            optimised = statistics.mean(r["nab"]["optimised"]["standard"] for r in results)
            own = statistics.mean(r["nab"]["own"]["standard"] for r in results)
            false = statistics.mean(r["false_per_10k"]["clean"] for r in results)
            caught = ", ".join(
                f"{kind} {sum(r['kinds'][kind]['caught'] for r in results)}/"
                f"{sum(r['kinds'][kind]['windows'] for r in results)}" for kind in corpus.MULTIVARIATE_KINDS)
            print(f"{channels:>8} {hidden:>6} {optimised:>10.2f} {own:>7.2f} {false:>6.2f}   {caught}", flush=True)
            summary[f"{channels}/{hidden}"] = {
                "optimised": optimised, "own": own, "false_per_10k": false,
                "caught": {kind: sum(r["kinds"][kind]["caught"] for r in results) for kind in corpus.MULTIVARIATE_KINDS},
                "windows": {kind: sum(r["kinds"][kind]["windows"] for r in results) for kind in corpus.MULTIVARIATE_KINDS},
            }
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
