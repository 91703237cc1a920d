#!/usr/bin/env python3
"""Where two detectors' NAB scores differ, file by file.

    tools/nab/run.py && tools/nab/compare.py                 # anomalyd against NAB's stored HTM
    tools/nab/compare.py --reference windowedGaussian --profile reward_low_FP_rate

Each detector is scored at its own corpus-optimised threshold (as the scoreboard does). For
every labelled file it prints the raw score, the credit of each window (the scaled-sigmoid
value of its earliest detection, −1 for a miss) and the false positives (count and cost);
then the totals: windows caught, false positives and their cost, raw score. The files where
the two differ most are listed first. anomalyd's results come from `tools/nab/run.py`
(out/nab/results/anomalyd/); the reference's from the NAB corpus's results/ folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scorer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_NAB = REPO.parent / "shared" / "datasets" / "nab"


def per_file(files: list[scorer.ScoredFile], profile: scorer.Profile) -> tuple[float, float, dict]:
    """The optimised threshold, the raw score and, per file, (window credits, fp count, fp cost)."""
    threshold, raw = scorer.optimise_threshold(files, profile)
    tp_scale = profile.tp / scorer.scaled_sigmoid(-1.0)
    out = {}
    for f in files:
        best: dict[int, float] = {}
        fp_count, fp_cost = 0, 0.0
        for score, window, value in zip(f.scores, f.window_of_row, f.unweighted):
            if score < threshold:
                continue
            if window < 0:
                fp_count += 1
                fp_cost += value * profile.fp
            else:
                best[window] = max(best.get(window, -1.0), value * tp_scale)
        windows = sorted({w for w in f.window_of_row if w >= 0})
        out[f.name] = ([best.get(w, -profile.fn) for w in windows], fp_count, fp_cost)
    return threshold, raw, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB)
    parser.add_argument("--results", type=Path, default=REPO / "out" / "nab" / "results",
                        help="where tools/nab/run.py wrote anomalyd's results")
    parser.add_argument("--detector", default="anomalyd")
    parser.add_argument("--reference", default="numenta", help="a detector in the NAB corpus's results/")
    parser.add_argument("--profile", default="standard", choices=scorer.PROFILES)
    args = parser.parse_args()
    windows_path = args.nab / "labels" / "combined_windows.json"
    if not windows_path.exists():
        print(f"NAB corpus not found at {args.nab} (pass --nab)", file=sys.stderr)
        return 2
    if not (args.results / args.detector).exists():
        print(f"no results for {args.detector} in {args.results}: run tools/nab/run.py first", file=sys.stderr)
        return 2
    profile = scorer.load_profiles(args.nab / "config" / "profiles.json")[args.profile]
    ours = per_file(scorer.load_corpus(args.results, args.detector, windows_path), profile)
    theirs = per_file(scorer.load_corpus(args.nab / "results", args.reference, windows_path), profile)

    def raw(entry) -> float:
        credits, _, cost = entry
        return sum(credits) + cost

    names = sorted(ours[2], key=lambda n: raw(ours[2][n]) - raw(theirs[2][n]))
    print(f"{args.profile} profile; each detector at its own optimised threshold "
          f"({args.detector} {ours[0]:.4f}, {args.reference} {theirs[0]:.4f})")
    print(f"{'file':58} {'difference':>10}   {args.detector}: raw (false positives) window credits"
          f"  |  {args.reference}: the same")
    for name in names:
        a, b = ours[2][name], theirs[2][name]
        credits_a = " ".join(f"{c:.2f}" for c in a[0])
        credits_b = " ".join(f"{c:.2f}" for c in b[0])
        print(f"{name:58} {raw(a) - raw(b):>+10.2f}   {raw(a):6.2f} ({a[1]:3d}) [{credits_a}]"
              f"  |  {raw(b):6.2f} ({b[1]:3d}) [{credits_b}]")
    for label, (_, total, files) in ((args.detector, ours), (args.reference, theirs)):
        caught = sum(1 for credits, _, _ in files.values() for c in credits if c > -profile.fn)
        windows = sum(len(credits) for credits, _, _ in files.values())
        fp_count = sum(n for _, n, _ in files.values())
        fp_cost = sum(c for _, _, c in files.values())
        print(f"{label}: {caught} of {windows} scored windows caught; {fp_count} false positives costing "
              f"{-fp_cost:.1f} raw points; raw score {total:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
