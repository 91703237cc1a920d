#!/usr/bin/env python3
"""Replays the whole NAB corpus through anomalyd's detector and scores it.

    tools/nab/run.py                       # release build, default configuration
    tools/nab/run.py --set detector.risk=1e-4 --label risk1e-4
    tools/nab/run.py --baseline            # our windowed-Gaussian baseline instead

Every file goes through `anomalyctl replay` (exactly the daemon's detector and default
configuration, a fresh detector per file, rows in file order). Results are written in NAB's
layout, out/nab/results/<detector>/<category>/<detector>_<file>.csv with
timestamp,value,anomaly_score,label, and then scored two ways:

- with the corpus-optimised threshold for each profile (comparable to NAB's scoreboard), on
  the replay's `alarm_score`: the score as a threshold wanting one detection per incident sees
  it (written as NAB's anomaly_score column);
- with the detector's own alarms only (is_anomaly): what a live daemon, which has no labels,
  would have reported.

Also prints a per-category breakdown and draws a picture per file (out/nab/plots/index.html).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baselines  # noqa: E402
import binaries  # noqa: E402
import plots  # noqa: E402
import scorer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_NAB = REPO.parent / "shared" / "datasets" / "nab"


def replay(anomalyctl: str, source: Path, extra: list[str]) -> tuple[list[str], list[str], list[float], list[int]]:
    with tempfile.NamedTemporaryFile(suffix=".csv") as out:
        subprocess.run([anomalyctl, "replay", "--input", str(source), "--output", out.name, "--explain", *extra],
                       check=True)
        with open(out.name, newline="") as f:
            rows = list(csv.DictReader(f))
    return (
        [r["timestamp"] for r in rows],
        [r["value"] for r in rows],
        # NAB thresholds this column: the alarm score, in which the repeats of an incident
        # count half (anomaly_score ranks every point, repeats included).
        [float(r["alarm_score"]) for r in rows],
        [int(r["is_anomaly"]) for r in rows],
    )


def baseline(source: Path) -> tuple[list[str], list[str], list[float], list[int]]:
    with source.open(newline="") as f:
        rows = list(csv.DictReader(f))
    scores = baselines.windowed_gaussian([float(r["value"]) for r in rows])
    return [r["timestamp"] for r in rows], [r["value"] for r in rows], scores, [0] * len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB, help="the NAB corpus (data/, labels/, config/)")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "nab")
    parser.add_argument("--anomalyctl", help="anomalyctl binary (default: build the release one)")
    parser.add_argument("--config", help="anomalyd config file to replay with")
    parser.add_argument("--set", action="append", default=[], help="override a key, as anomalyctl replay --set")
    parser.add_argument("--baseline", action="store_true", help="score the windowed-Gaussian baseline instead")
    parser.add_argument("--label", default=None, help="detector name in the results layout")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args()

    if not (args.nab / "labels" / "combined_windows.json").exists():
        print(f"NAB corpus not found at {args.nab} (pass --nab)", file=sys.stderr)
        return 2
    detector = args.label or ("baselineGaussian" if args.baseline else "anomalyd")
    anomalyctl = args.anomalyctl
    if not args.baseline and anomalyctl is None:
        anomalyctl = binaries.release_binary()
    extra = (["--config", args.config] if args.config else []) + [x for s in args.set for x in ("--set", s)]

    windows = json.loads((args.nab / "labels" / "combined_windows.json").read_text())
    profiles = scorer.load_profiles(args.nab / "config" / "profiles.json")
    keys = sorted(windows)
    started = time.time()

    def work(key):
        source = args.nab / "data" / key
        return key, (baseline(source) if args.baseline else replay(anomalyctl, source, extra))

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outputs = dict(pool.map(work, keys))
    replayed = time.time()

    scored_files, alarm_files = [], []
    results_dir = args.out / "results"
    for key in keys:
        timestamps, values, scores, alarms = outputs[key]
        category, filename = key.split("/")
        limits = scorer.window_row_limits(timestamps, windows[key])
        labels = [0] * len(timestamps)
        for start, end in limits:
            for i in range(start, end + 1):
                labels[i] = 1
        path = results_dir / detector / category / f"{detector}_{filename}"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["timestamp", "value", "anomaly_score", "label"])
            w.writerows(zip(timestamps, values, scores, labels))
        scored_files.append(scorer.prepare_file(key, timestamps, scores, windows[key]))
        alarm_files.append(scorer.prepare_file(key, timestamps, [float(a) for a in alarms], windows[key]))

    total_windows = sum(f.window_count for f in scored_files)
    summary = {"detector": detector, "settings": extra, "optimised": {}, "own_threshold": {}, "categories": {}}
    for name in scorer.PROFILES:
        profile = profiles[name]
        threshold, raw = scorer.optimise_threshold(scored_files, profile)
        own = scorer.score_at_threshold(alarm_files, profile, 0.5)
        summary["optimised"][name] = {"score": scorer.normalise(raw, total_windows, profile), "threshold": threshold}
        summary["own_threshold"][name] = scorer.normalise(own, total_windows, profile)
    standard = profiles["standard"]
    best_threshold = summary["optimised"]["standard"]["threshold"]
    for category in sorted({k.split("/")[0] for k in keys}):
        subset = [f for f in scored_files if f.name.startswith(category + "/")]
        subset_alarms = [f for f in alarm_files if f.name.startswith(category + "/")]
        count = sum(f.window_count for f in subset)
        if count == 0:
            fp_only = scorer.score_at_threshold(subset, standard, best_threshold)
            summary["categories"][category] = {"windows": 0, "fp_cost": fp_only,
                                               "own_fp_cost": scorer.score_at_threshold(subset_alarms, standard, 0.5)}
            continue
        summary["categories"][category] = {
            "windows": count,
            "standard": scorer.normalise(scorer.score_at_threshold(subset, standard, best_threshold), count, standard),
            "own_standard": scorer.normalise(scorer.score_at_threshold(subset_alarms, standard, 0.5), count, standard),
        }
    finished = time.time()

    print(f"NAB v1.1, detector {detector} {' '.join(extra)}")
    print(f"replay {replayed - started:.1f} s, scoring {finished - replayed:.1f} s, {len(keys)} files, {total_windows} windows")
    print(f"{'':28}{'standard':>10}{'low FP':>10}{'low FN':>10}")
    opt = summary["optimised"]
    own = summary["own_threshold"]
    print(f"{'corpus-optimised threshold':28}" + "".join(f"{opt[p]['score']:10.2f}" for p in scorer.PROFILES))
    print(f"{'  (threshold)':28}" + "".join(f"{opt[p]['threshold']:10.6g}" for p in scorer.PROFILES))
    print(f"{'own threshold (is_anomaly)':28}" + "".join(f"{own[p]:10.2f}" for p in scorer.PROFILES))
    print("per category (standard profile; optimised threshold / own threshold):")
    for category, c in summary["categories"].items():
        if c["windows"]:
            print(f"  {category:26}{c['standard']:8.2f} /{c['own_standard']:8.2f}   ({c['windows']} windows)")
        else:
            print(f"  {category:26} no windows; false-positive cost {c['fp_cost']:.2f} / {c['own_fp_cost']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    if not args.no_plots:
        index = plots.draw_all(args.out / "plots", keys, outputs, windows, best_threshold, detector)
        print(f"pictures: {index}")
    print(f"total {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
