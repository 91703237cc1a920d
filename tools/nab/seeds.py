#!/usr/bin/env python3
"""NAB scores over several weight-initialisation seeds, to judge a change by more than one draw.

    tools/nab/seeds.py [--seeds 42,7,1,99] [run.py options, e.g. --set detector.window=64]

The detector's scores move by up to about ±1 point between seeds alone (docs/quality.md), so a
change is worth keeping when its mean over seeds moves by more than that. The published figure
stays the default configuration's (seed 42); this is for deciding what to change.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="42,7,1,99")
    args, passthrough = parser.parse_known_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds.split(","):
            out = Path(tmp) / f"{seed}.json"
            subprocess.run(
                [sys.executable, str(HERE / "run.py"), "--no-plots", "--out", str(Path(tmp) / "out"),
                 "--json", str(out), "--set", f"detector.seed={seed}", *passthrough],
                check=True, stdout=subprocess.DEVNULL)
            summary = json.loads(out.read_text())
            opt = [summary["optimised"][p]["score"] for p in PROFILES]
            own = [summary["own_threshold"][p] for p in PROFILES]
            rows.append((seed, opt, own))
            print(f"seed {seed:>6}: optimised " + " ".join(f"{v:6.2f}" for v in opt)
                  + "   own " + " ".join(f"{v:6.2f}" for v in own), flush=True)
    for name, pick in (("optimised", 1), ("own", 2)):
        columns = list(zip(*[r[pick] for r in rows]))
        means = [statistics.mean(c) for c in columns]
        spreads = [statistics.stdev(c) if len(c) > 1 else 0.0 for c in columns]
        print(f"{name:>9} mean " + " ".join(f"{m:6.2f}" for m in means)
              + "   (sd " + " ".join(f"{s:.2f}" for s in spreads) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
