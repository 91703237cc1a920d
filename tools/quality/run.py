#!/usr/bin/env python3
"""Replays every labelled corpus through anomalyd and prints one table, with a trailing
z-score baseline scored in the same run.

    tools/quality/run.py                          # release build, default configuration
    tools/quality/run.py --set detector.window=1  # an ablation: any `anomalyctl replay --set`
    tools/quality/run.py --corpora periodic,servers --json out/quality/summary.json

Every series goes through `anomalyctl replay` (the daemon's detector and configuration, a fresh
detector per series, rows in order, nothing read ahead); its known-normal start (a train part,
NAB's probationary period) is fed first and not scored. Printed per corpus, for anomalyd and
for the z-score (`tools/quality/zscore.py`):

- the corpus's own metric: NAB's three scores with the corpus-optimised threshold (and the
  standard score of the own alarms); SKAB's point F1 / FAR / MAR of the episode state; the
  synthetic corpus's recall (faults with an event inside their window); the periodic corpus's
  top-1 (highest score within 100 rows of the fault); the server machines' event F1;
- point-wise average precision of the score (the mean over series with an anomaly);
- false events per 10,000 normal scored rows (events outside every labelled segment).

The corpora (`tools/quality/corpora.py`): NAB and SKAB from ../shared/datasets when present
(skipped with a note otherwise), and four generated ones, drawn from `--seed`.
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

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpora  # noqa: E402
import metrics  # noqa: E402
import periodic  # noqa: E402
import servers  # noqa: E402
import telemetry  # noqa: E402
import zscore  # noqa: E402
from series import Series  # noqa: E402

sys.path.insert(0, str(HERE.parent / "nab"))
import binaries  # noqa: E402
import scorer  # noqa: E402

NAB_PROFILES = {"standard": scorer.Profile(1.0, 0.11, 1.0), "reward_low_FP_rate": scorer.Profile(1.0, 0.22, 1.0),
                "reward_low_FN_rate": scorer.Profile(1.0, 0.11, 2.0)}


class Output:
    """What a detector said about every row of one series."""

    def __init__(self, scores: np.ndarray, events: np.ndarray, state: np.ndarray, alarm: np.ndarray | None = None):
        self.scores, self.events, self.state = scores, events, state
        # What a threshold wanting one detection per incident is given (NAB's optimiser).
        self.alarm = scores if alarm is None else alarm


def replay(anomalyctl: str, s: Series, directory: Path, extra: list[str]) -> Output:
    source = s.write_csv(directory / f"{s.name.replace('/', '__')}.csv")
    with tempfile.NamedTemporaryFile(suffix=".csv") as out:
        subprocess.run([anomalyctl, "replay", "--input", str(source), "--output", out.name, "--explain", *extra],
                       check=True)
        with open(out.name, newline="") as f:
            rows = list(csv.DictReader(f))
    scores = np.array([float(r["anomaly_score"]) for r in rows])
    events = np.array([int(r["is_anomaly"]) for r in rows])
    # The episode state, where the replay has it; else the events themselves.
    state = np.array([int(r["in_episode"]) for r in rows]) if rows and "in_episode" in rows[0] else events
    alarm = np.array([float(r["alarm_score"]) for r in rows]) if rows and "alarm_score" in rows[0] else scores
    return Output(scores, events, state, alarm)


def baseline(s: Series) -> Output:
    scores, events = zscore.score(np.array(s.values, dtype=float))
    return Output(scores, events, (scores > 0.5).astype(int))


def common(series: list[Series], outputs: list[Output]) -> dict:
    aps, false_events, normal_rows = [], 0, 0
    for s, o in zip(series, outputs):
        labels = np.array(s.labels[s.scored_from:])
        ap = metrics.average_precision(o.scores[s.scored_from:], labels)
        if ap is not None:
            aps.append(ap)
        events, rows = metrics.events_outside(o.events[s.scored_from:], labels)
        false_events += events
        normal_rows += rows
    return {"ap": float(np.mean(aps)) if aps else None, "false_per_10k": 1e4 * false_events / max(1, normal_rows)}


def own_metric(corpus: str, series: list[Series], outputs: list[Output]) -> dict:
    if corpus == "nab":
        files = [scorer.prepare_file(s.name, s.timestamps, list(o.alarm), s.nab_windows) for s, o in zip(series, outputs)]
        alarms = [scorer.prepare_file(s.name, s.timestamps, [float(e) for e in o.events], s.nab_windows)
                  for s, o in zip(series, outputs)]
        windows = sum(f.window_count for f in files)
        out = {name: scorer.normalise(scorer.optimise_threshold(files, p)[1], windows, p)
               for name, p in NAB_PROFILES.items()}
        standard = NAB_PROFILES["standard"]
        out["own_standard"] = scorer.normalise(scorer.score_at_threshold(alarms, standard, 0.5), windows, standard)
        return out
    if corpus == "skab":
        state = np.concatenate([o.state[s.scored_from:] for s, o in zip(series, outputs)])
        labels = np.concatenate([np.array(s.labels[s.scored_from:]) for s in series])
        f1, far, mar = metrics.point_f1(state, labels)
        return {"f1": f1, "far": far, "mar": mar}
    if corpus == "synthetic":
        caught = sum(metrics.segments_caught(o.events, s.segments) for s, o in zip(series, outputs))
        return {"recall": caught / sum(len(s.segments) for s in series)}
    if corpus == "periodic":
        hits = 0
        for s, o in zip(series, outputs):
            top = s.scored_from + int(np.argmax(o.scores[s.scored_from:]))
            start, end = s.segments[0]
            hits += start - periodic.TOLERANCE <= top <= end + periodic.TOLERANCE
        return {"top1": hits, "of": len(series)}
    if corpus in ("servers", "telemetry"):
        late = servers.LATE if corpus == "servers" else telemetry.LATE
        tp_events = all_events = detected = segments = 0
        for s, o in zip(series, outputs):
            a, b, c, d = metrics.event_f1(o.events[s.scored_from:], s.segments, s.scored_from, late)
            tp_events, all_events, detected, segments = tp_events + a, all_events + b, detected + c, segments + d
        precision = tp_events / all_events if all_events else 0.0
        return {"event_f1": metrics.f1(precision, detected / segments), "precision": precision,
                "recall": detected / segments}
    raise ValueError(corpus)


def describe(corpus: str, m: dict) -> str:
    if corpus == "nab":
        return (f"std {m['standard']:.2f} / lowFP {m['reward_low_FP_rate']:.2f} / lowFN {m['reward_low_FN_rate']:.2f}"
                f" (own {m['own_standard']:.2f})")
    if corpus == "skab":
        return f"F1 {m['f1']:.3f} (FAR {m['far']:.1f} %, MAR {m['mar']:.1f} %)"
    if corpus == "synthetic":
        return f"recall {m['recall']:.2f}"
    if corpus == "periodic":
        return f"top-1 {m['top1']} / {m['of']}"
    return f"event F1 {m['event_f1']:.2f} (P {m['precision']:.2f} / R {m['recall']:.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default=",".join(corpora.NAMES), help="comma-separated, of " + ", ".join(corpora.NAMES))
    parser.add_argument("--seed", type=int, default=1, help="draw of the generated corpora")
    parser.add_argument("--anomalyctl", help="anomalyctl binary (default: build the release one)")
    parser.add_argument("--set", action="append", default=[], help="override a key, as anomalyctl replay --set")
    parser.add_argument("--config", help="anomalyd config file to replay with")
    parser.add_argument("--no-baseline", action="store_true", help="skip the z-score baseline")
    parser.add_argument("--out", type=Path, default=corpora.REPO / "out" / "quality")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args()

    anomalyctl = args.anomalyctl or binaries.release_binary()
    extra = (["--config", args.config] if args.config else []) + [x for s in args.set for x in ("--set", s)]
    here = corpora.available()
    started = time.time()
    table = {"settings": extra, "seed": args.seed, "corpora": {}}
    print(f"anomalyd quality, all corpora; settings: {' '.join(extra) or 'defaults'}; generated corpora seed {args.seed}")
    print(f"{'corpus':10} {'detector':9} {'own metric':58} {'AP':>6} {'false/10k':>10}")
    for corpus in args.corpora.split(","):
        if not here[corpus]:
            print(f"{corpus:10} skipped: not found under {corpora.SHARED}")
            continue
        series = corpora.load(corpus, args.seed)
        directory = args.out / "input" / corpus / str(args.seed)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outputs = list(pool.map(lambda s: replay(anomalyctl, s, directory, extra), series))
        result = {"anomalyd": {**common(series, outputs), **own_metric(corpus, series, outputs)}}
        if not args.no_baseline:
            base = [baseline(s) for s in series]
            result["zscore"] = {**common(series, base), **own_metric(corpus, series, base)}
        table["corpora"][corpus] = result
        for detector, m in result.items():
            ap = f"{m['ap']:.3f}" if m["ap"] is not None else "-"
            print(f"{corpus:10} {detector:9} {describe(corpus, m):58} {ap:>6} {m['false_per_10k']:10.2f}", flush=True)
    print(f"total {time.time() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
