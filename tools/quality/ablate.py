#!/usr/bin/env python3
"""What each part of the detector contributes, on every corpus: the whole table
(`tools/quality/run.py`) once with the defaults and once with each part turned off.

    tools/quality/ablate.py                  # all variants, about 10 minutes
    tools/quality/ablate.py --only frozen,window1

One row per variant: each corpus's own metric and the point-wise average precision (AP), and
false events per 10,000 normal rows over all corpora but NAB (whose own score prices them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "nab"))
import binaries  # noqa: E402

VARIANTS = {
    "defaults": [],
    "frozen": ["detector.learning_rate=0"],
    "window1": ["detector.window=1"],
    "no_history": ["detector.history_length=0"],
    # The history attention feeds the refit, so turning the refit off turns it off too.
    "no_readout_refit": ["detector.readout_memory=0", "detector.history_length=0"],
    "no_trend": ["detector.smoothing=1"],
    "no_range": ["detector.range_tolerance=0"],
    "no_stuck": ["detector.stuck_min_run=0"],
    "no_slow": ["detector.slow_block=0"],
    "no_seasonal": ["detector.seasonal_correlation=0"],
    "no_cross": ["detector.cross_channel_limit=0"],
    "no_discrete": ["detector.discrete_values=0"],
}


def own(corpus: str, m: dict) -> str:
    return {"nab": lambda: f"{m['standard']:.2f}", "skab": lambda: f"{m['f1']:.3f}",
            "synthetic": lambda: f"{m['recall']:.2f}", "periodic": lambda: f"{m['top1']}/{m['of']}",
            "servers": lambda: f"{m['event_f1']:.2f}", "telemetry": lambda: f"{m['event_f1']:.2f}"}[corpus]()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated variants, of " + ", ".join(VARIANTS))
    parser.add_argument("--anomalyctl", help="anomalyctl binary (default: build the release one)")
    args = parser.parse_args()
    anomalyctl = args.anomalyctl or binaries.release_binary()
    names = args.only.split(",") if args.only else list(VARIANTS)
    corpora = ("nab", "skab", "synthetic", "periodic", "servers", "telemetry")
    heads = {"nab": "NAB std", "skab": "SKAB F1", "synthetic": "synth rec", "periodic": "periodic", "servers": "srv evF1",
             "telemetry": "tel evF1"}
    print(f"{'variant':17}" + "".join(f"{heads[c]:>10}{'AP':>7}" for c in corpora) + f"{'false/10k':>11}")
    for name in names:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, str(HERE / "run.py"), "--anomalyctl", anomalyctl, "--no-baseline",
                       "--json", out.name]
            for setting in VARIANTS[name]:
                command += ["--set", setting]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            table = json.loads(Path(out.name).read_text())["corpora"]
        cells, rates = "", []
        for corpus in corpora:
            if corpus not in table:
                cells += f"{'-':>10}{'-':>7}"
                continue
            m = table[corpus]["anomalyd"]
            cells += f"{own(corpus, m):>10}{m['ap']:7.3f}"
            if corpus != "nab":
                rates.append(m["false_per_10k"])
        print(f"{name:17}{cells}{sum(rates) / max(1, len(rates)):11.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
