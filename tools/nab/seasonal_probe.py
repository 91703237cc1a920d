#!/usr/bin/env python3
"""Would a seasonal-naive check catch the windows the detector misses, and at what cost?

    tools/nab/run.py && tools/nab/seasonal_probe.py [--z 8]

An offline question for choosing what to build next, not part of the detector. For every NAB
file with a daily period P (from the median sampling interval), the residual |x_t − x_{t−P}| is
z-scored against a trailing mean and variance (memory 2,000 residuals, after 2P warm-up
residuals); the rule fires when z exceeds --z. Reported: how many of the windows that the
detector's own alarms miss (read from out/nab/results) the rule fires in, and how many
episodes (fires more than 100 rows apart) it raises outside any window after the
probationary period.
"""

import argparse
import csv
import json
import math
import sys
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scorer  # noqa: E402

REPO = HERE.parents[1]


def seasonal_fires(timestamps, values, z_limit):
    stamps = [datetime.strptime(t[:19], "%Y-%m-%d %H:%M:%S") for t in timestamps]
    gaps = sorted((stamps[i + 1] - stamps[i]).total_seconds() for i in range(min(len(stamps) - 1, 500)))
    step = gaps[len(gaps) // 2]
    period = int(round(86400 / step)) if step > 0 else 0
    if period < 2 or period > 2000:
        return None
    mean = var = 0.0
    seen = 0
    fires = [False] * len(values)
    for t in range(period, len(values)):
        residual = abs(values[t] - values[t - period])
        if seen > 2 * period:
            fires[t] = (residual - mean) / math.sqrt(var + 1e-12) > z_limit
        rate = 1 / min(seen + 1, 2000)
        seen += 1
        delta = residual - mean
        mean += rate * delta
        var = (1 - rate) * (var + rate * delta * delta)
    return fires


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--z", type=float, default=8.0)
    parser.add_argument("--nab", type=Path, default=REPO.parent / "shared" / "datasets" / "nab")
    parser.add_argument("--results", type=Path, default=REPO / "out" / "nab" / "results" / "anomalyd")
    args = parser.parse_args()
    windows = json.loads((args.nab / "labels" / "combined_windows.json").read_text())
    missed = caught = episodes = 0
    for key in sorted(windows):
        category, name = key.split("/")
        rows = list(csv.DictReader(open(args.nab / "data" / key)))
        timestamps = [r["timestamp"] for r in rows]
        fires = seasonal_fires(timestamps, [float(r["value"]) for r in rows], args.z)
        if fires is None:
            continue
        ours = list(csv.DictReader(open(args.results / category / f"anomalyd_{name}")))
        alarms = [float(o["anomaly_score"]) > 0.5 for o in ours]
        probation = scorer.probationary_length(len(rows))
        inside = [False] * len(rows)
        for start, end in scorer.window_row_limits(timestamps, windows[key]):
            for i in range(start, end + 1):
                inside[i] = True
            if start >= probation and not any(alarms[start : end + 1]):
                missed += 1
                if any(fires[start : end + 1]):
                    caught += 1
                    print(f"  caught: {key} rows {start}–{end}")
        last = -(10**9)
        for i in range(probation, len(rows)):
            if fires[i] and not inside[i]:
                episodes += i - last > 100
                last = i
    print(f"z > {args.z:g}: fires in {caught} of the {missed} windows the detector's alarms miss; "
          f"{episodes} episodes outside windows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
