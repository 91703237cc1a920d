#!/usr/bin/env python3
"""Which evidence raised the events on each corpus: a diagnostic beside the quality table.

    tools/quality/reasons.py                      # every corpus found, defaults
    tools/quality/reasons.py --corpora skab --set detector.range_tolerance=0.05

For each corpus, the events (`is_anomaly`) after the training rows, counted by the `reason`
column of `anomalyctl replay --explain`: inside a labelled window (true) and outside (false),
and the false ones by how many rows after the training rows they came (bins of 100).
"""
import argparse
import collections
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nab"))
import binaries  # noqa: E402
import corpora  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default=",".join(corpora.NAMES))
    parser.add_argument("--seed", type=int, default=1, help="draw of the generated corpora")
    parser.add_argument("--anomalyctl", help="anomalyctl binary (default: build the release one)")
    parser.add_argument("--set", action="append", default=[], help="override a key, as anomalyctl replay --set")
    args = parser.parse_args()
    anomalyctl = args.anomalyctl or binaries.release_binary()
    extra = [x for s in args.set for x in ("--set", s)]
    here = corpora.available()
    with tempfile.TemporaryDirectory() as work:
        for corpus in args.corpora.split(","):
            if not here[corpus]:
                print(f"{corpus}: skipped, not found under {corpora.SHARED}")
                continue
            true, false, position = collections.Counter(), collections.Counter(), collections.Counter()
            for s in corpora.load(corpus, args.seed):
                source = s.write_csv(Path(work) / f"{s.name.replace('/', '__')}.csv")
                out = Path(work) / "out.csv"
                subprocess.run([anomalyctl, "replay", "--input", str(source), "--output", str(out), "--explain", *extra],
                               check=True)
                with open(out, newline="") as f:
                    for i, row in enumerate(csv.DictReader(f)):
                        if i < s.scored_from or row["is_anomaly"] != "1":
                            continue
                        if s.labels[i]:
                            true[row["reason"]] += 1
                        else:
                            false[row["reason"]] += 1
                            position[(i - s.scored_from) // 100 * 100] += 1
            print(f"{corpus}: true events {sum(true.values())} ({', '.join(f'{k} {v}' for k, v in true.most_common())})")
            print(f"{corpus}: false events {sum(false.values())} ({', '.join(f'{k} {v}' for k, v in false.most_common())})")
            print(f"{corpus}: false events by rows after training: "
                  + ", ".join(f"{k}–{k + 99}: {v}" for k, v in sorted(position.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
