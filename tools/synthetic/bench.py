#!/usr/bin/env python3
"""Scores anomalyd on a labelled synthetic corpus of sensor faults: a yardstick beside NAB.

    tools/synthetic/bench.py                    # release build, default configuration, seed 1
    tools/synthetic/bench.py --seeds 1,2,3      # several draws of the corpus, and their mean
    tools/synthetic/bench.py --set detector.risk=1e-4
    tools/synthetic/bench.py --baseline         # our windowed-Gaussian baseline instead

The corpus (tools/synthetic/corpus.py) crosses four kinds of sensor series with seven kinds of
fault, plus a three-channel machine with a spike or a decoupling in one channel or a shift of
all of them, plus a clean file of each kind. Every file goes through `anomalyctl replay`, exactly as in the NAB harness.

Printed, for the detector's own alarms (`is_anomaly`, what a live daemon reports):
- per fault kind: windows caught (an event inside the window), the median delay in rows
  from the fault's first row to the first event, and which evidence raised those events (the
  `reason` of `anomalyctl replay --explain`);
- false events per 10,000 scored rows, on the clean files and on all files (outside windows;
  events after a permanent change such as a level shift count against the detector);
- NAB's three normalised scores, with the own alarms and with the corpus-optimised threshold
  (scored by tools/nab/scorer.py, windows starting at each fault's onset).
Needs no NAB data; CSVs land in out/synthetic/ for a look.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tools" / "nab"))
import baselines  # noqa: E402
import binaries  # noqa: E402
import corpus  # noqa: E402
import scorer  # noqa: E402

# NAB v1.1's cost matrices (config/profiles.json in the NAB repository), here so that this
# benchmark runs where the NAB corpus is absent.
PROFILES = {
    "standard": scorer.Profile(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": scorer.Profile(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": scorer.Profile(tp=1.0, fp=0.11, fn=2.0),
}


def write_csv(path: Path, f: corpus.SyntheticFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["timestamp", *f.columns])
        for ts, row in zip(f.timestamps, f.values):
            w.writerow([ts, *(f"{v:.6g}" for v in row)])


def replay(anomalyctl: str, source: Path, extra: list[str]) -> tuple[list[float], list[int], list[str]]:
    with tempfile.NamedTemporaryFile(suffix=".csv") as out:
        subprocess.run([anomalyctl, "replay", "--input", str(source), "--output", out.name, "--explain", *extra],
                       check=True)
        with open(out.name, newline="") as f:
            rows = list(csv.DictReader(f))
    # The NAB-style optimised score thresholds the alarm score (one detection per incident).
    return ([float(r["alarm_score"]) for r in rows], [int(r["is_anomaly"]) for r in rows],
            [r["reason"] for r in rows])


def baseline(f: corpus.SyntheticFile) -> tuple[list[float], list[int], list[str]]:
    # The windowed Gaussian reads one channel; for the machine, the channel with the largest
    # score at each row.
    per_channel = [baselines.windowed_gaussian([row[c] for row in f.values]) for c in range(len(f.columns))]
    return [max(s[i] for s in per_channel) for i in range(corpus.ROWS)], [0] * corpus.ROWS, [""] * corpus.ROWS


def evaluate(files: list[corpus.SyntheticFile], outputs: dict) -> dict:
    """Detection per fault kind, false-event rates and NAB scores for one corpus draw."""
    probation = scorer.probationary_length(corpus.ROWS)
    caught: dict[str, list[int]] = {}
    delays: dict[str, list[int]] = {}
    reasons: dict[str, dict[str, int]] = {}
    false_events = {"clean": 0, "all": 0}
    scored_rows = {"clean": 0, "all": 0}
    scored, alarms = [], []
    for f in files:
        scores, events, why = outputs[f.name]
        limits = [a.window for a in f.anomalies]
        inside = [False] * corpus.ROWS
        for start, end in limits:
            for i in range(start, end + 1):
                inside[i] = True
        for start, end in limits:
            first = next((i for i in range(start, end + 1) if events[i]), None)
            caught.setdefault(f.kind, []).append(first is not None)
            if first is not None:
                delays.setdefault(f.kind, []).append(first - start)
                kind_reasons = reasons.setdefault(f.kind, {})
                kind_reasons[why[first]] = kind_reasons.get(why[first], 0) + 1
        outside = sum(1 for i in range(probation, corpus.ROWS) if events[i] and not inside[i])
        rows = sum(1 for i in range(probation, corpus.ROWS) if not inside[i])
        for key in (["clean", "all"] if f.kind == "clean" else ["all"]):
            false_events[key] += outside
            scored_rows[key] += rows
        timestamps = f.timestamps
        windows = [[timestamps[s], timestamps[e]] for s, e in limits]
        scored.append(scorer.prepare_file(f.name, timestamps, scores, windows))
        alarms.append(scorer.prepare_file(f.name, timestamps, [float(e) for e in events], windows))
    total_windows = sum(s.window_count for s in scored)
    nab = {"optimised": {}, "own": {}}
    for name, profile in PROFILES.items():
        _, raw = scorer.optimise_threshold(scored, profile)
        nab["optimised"][name] = scorer.normalise(raw, total_windows, profile)
        nab["own"][name] = scorer.normalise(scorer.score_at_threshold(alarms, profile, 0.5), total_windows, profile)
    return {
        "kinds": {k: {"caught": sum(v), "windows": len(v),
                      "median_delay": statistics.median(delays[k]) if delays.get(k) else None,
                      "reasons": reasons.get(k, {})}
                  for k, v in caught.items()},
        "false_per_10k": {k: 1e4 * false_events[k] / scored_rows[k] for k in false_events},
        "nab": nab,
    }


def run_seed(seed: int, args, anomalyctl: str | None, extra: list[str]) -> dict:
    files = corpus.build(seed)
    directory = args.out / str(seed)
    for f in files:
        write_csv(directory / f"{f.name}.csv", f)

    def work(f):
        if args.baseline:
            return f.name, baseline(f)
        return f.name, replay(anomalyctl, directory / f"{f.name}.csv", extra)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outputs = dict(pool.map(work, files))
    return evaluate(files, outputs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1", help="corpus draws, comma-separated")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "synthetic")
    parser.add_argument("--anomalyctl", help="anomalyctl binary (default: build the release one)")
    parser.add_argument("--set", action="append", default=[], help="override a key, as anomalyctl replay --set")
    parser.add_argument("--baseline", action="store_true", help="score the windowed-Gaussian baseline instead")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args()

    anomalyctl = args.anomalyctl
    if not args.baseline and anomalyctl is None:
        anomalyctl = binaries.release_binary()
    extra = [x for s in args.set for x in ("--set", s)]
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {seed: run_seed(seed, args, anomalyctl, extra) for seed in seeds}

    detector = "windowed-Gaussian baseline" if args.baseline else f"anomalyd {' '.join(extra)}".strip()
    print(f"synthetic sensor-fault corpus, {detector}, corpus seeds {args.seeds}")
    kinds = list(next(iter(results.values()))["kinds"])
    if not args.baseline:
        print(f"{'fault':16}{'caught':>10}{'median delay (rows)':>22}   caught by (the event's reason)")
        for kind in kinds:
            caught = sum(r["kinds"][kind]["caught"] for r in results.values())
            windows = sum(r["kinds"][kind]["windows"] for r in results.values())
            delays = [r["kinds"][kind]["median_delay"] for r in results.values() if r["kinds"][kind]["median_delay"] is not None]
            delay = f"{statistics.median(delays):g}" if delays else "-"
            why: dict[str, int] = {}
            for r in results.values():
                for reason, n in r["kinds"][kind]["reasons"].items():
                    why[reason] = why.get(reason, 0) + n
            by = ", ".join(f"{reason} {n}" for reason, n in sorted(why.items(), key=lambda x: -x[1]))
            print(f"{kind:16}{caught:>5} / {windows:<3}{delay:>20}   {by}")
        for key, label in (("clean", "clean files"), ("all", "all files, outside windows")):
            rate = statistics.mean(r["false_per_10k"][key] for r in results.values())
            print(f"false events per 10,000 rows, {label}: {rate:.2f}")
    print(f"{'NAB-style score':28}{'standard':>10}{'low FP':>10}{'low FN':>10}")
    rows = [("corpus-optimised threshold", "optimised")] + ([] if args.baseline else [("own threshold (is_anomaly)", "own")])
    for label, key in rows:
        means = [statistics.mean(r["nab"][key][p] for r in results.values()) for p in PROFILES]
        print(f"{label:28}" + "".join(f"{m:10.2f}" for m in means))
    if len(seeds) > 1:
        spread = statistics.stdev(r["nab"]["optimised"]["standard"] for r in results.values())
        print(f"(means over {len(seeds)} corpus draws; sd of the optimised standard score {spread:.2f})")
    if args.json:
        args.json.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
