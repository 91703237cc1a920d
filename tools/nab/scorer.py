"""NAB v1.1 scoring, written from the published rules (see docs/quality.md).

A detector's per-row output is turned into a corpus score as NAB's scorer does:

- rows in the probationary period, the first min(floor(0.15 N), 750) of a file, never count;
- each labelled window (from combined_windows.json, matched to rows by exact timestamp) is
  worth the scaled-sigmoid weight of its earliest detection, or -fnWeight if it has none;
- each detection outside every window costs sigma(y) * fpWeight, y measured from the end of
  the preceding window (the full -fpWeight before the first window);
- one threshold per detector and profile for the whole corpus: every distinct score value is
  tried (plus "no detection") and the best corpus total kept;
- normalised score = 100 (S - S_null) / (S_perfect - S_null), S_perfect = windows * tpWeight,
  S_null = -windows * fnWeight.

The threshold sweep is incremental: rows are visited once in descending score order, and the
total is updated as each row turns into a detection, so the whole corpus scores in O(N log N).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def scaled_sigmoid(y: float) -> float:
    """NAB's sigma(y) = 2 / (1 + e^(5y)) - 1, and -1 beyond y = 3."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probationary_length(rows: int) -> int:
    return min(int(math.floor(0.15 * rows)), 750)


@dataclass
class Profile:
    tp: float
    fp: float
    fn: float


def load_profiles(path: Path) -> dict[str, Profile]:
    raw = json.loads(path.read_text())
    return {
        name: Profile(tp=m["CostMatrix"]["tpWeight"], fp=m["CostMatrix"]["fpWeight"], fn=m["CostMatrix"]["fnWeight"])
        for name, m in raw.items()
    }


@dataclass
class ScoredFile:
    """One file's rows, reduced to what scoring needs.

    For each scored (post-probation) row: its anomaly score, the index of the window it is in
    (or -1), and its unweighted value: the sigmoid position inside the window (tp), or the
    sigmoid distance past the previous window (fp, negative).
    """

    name: str
    scores: list[float]
    window_of_row: list[int]
    unweighted: list[float]
    window_count: int


def window_row_limits(timestamps: list[str], windows: list[list[str]]) -> list[tuple[int, int]]:
    """Row index of each window's first and last timestamp (first row with that string)."""
    first_index: dict[str, int] = {}
    for i, ts in enumerate(timestamps):
        first_index.setdefault(ts, i)
    limits = []
    for start, end in windows:
        s, e = first_index[_strip_micro(start)], first_index[_strip_micro(end)]
        limits.append((s, e))
    return limits


def _strip_micro(ts: str) -> str:
    return ts[:-7] if ts.endswith(".000000") else ts


def prepare_file(name: str, timestamps: list[str], scores: list[float], windows: list[list[str]]) -> ScoredFile:
    n = len(timestamps)
    probation = probationary_length(n)
    limits = window_row_limits(timestamps, windows)
    window_of_row = [-1] * n
    unweighted = [0.0] * n
    # A window overlapping the probationary period is not scored.
    dropped = {w for w, (start, _) in enumerate(limits) if start < probation}
    previous_end = None
    previous_width = None
    limit_index = 0
    # Walk the rows once, tracking the current and the preceding window.
    window_id = -1
    current = None
    for i in range(n):
        if current is None and limit_index < len(limits) and i == limits[limit_index][0]:
            current = limits[limit_index]
            window_id = limit_index
            limit_index += 1
        if current is not None:
            start, end = current
            width = end - start + 1
            unweighted[i] = scaled_sigmoid(-(end - i + 1) / width)
            window_of_row[i] = window_id
            if i == end:
                previous_end, previous_width = end, width
                current = None
        else:
            if previous_end is None:
                unweighted[i] = -1.0
            else:
                unweighted[i] = scaled_sigmoid(abs(previous_end - i) / (previous_width - 1))
    keep = range(probation, n)
    return ScoredFile(
        name=name,
        scores=[scores[i] for i in keep],
        window_of_row=[(-1 if window_of_row[i] in dropped else window_of_row[i]) for i in keep],
        unweighted=[unweighted[i] for i in keep],
        window_count=len(limits) - len(dropped),
    )


def score_at_threshold(files: list[ScoredFile], profile: Profile, threshold: float) -> float:
    """The raw corpus score with detections = rows whose score >= threshold."""
    total = 0.0
    for f in files:
        best: dict[int, float] = {}
        for score, window, value in zip(f.scores, f.window_of_row, f.unweighted):
            if score < threshold:
                continue
            if window < 0:
                total += value * profile.fp
            else:
                weighted = value * profile.tp / scaled_sigmoid(-1.0)
                best[window] = max(best.get(window, -math.inf), weighted)
        windows_with_rows = set(w for w in f.window_of_row if w >= 0)
        for w in windows_with_rows:
            total += best.get(w, -profile.fn)
        total -= profile.fn * (f.window_count - len(windows_with_rows))
    return total


def optimise_threshold(files: list[ScoredFile], profile: Profile) -> tuple[float, float]:
    """Tries every distinct score as the threshold (and 'above every score'); returns the best
    (threshold, raw score). Ties keep the highest threshold, as a sweep from the top does."""
    windows_total = sum(f.window_count for f in files)
    rows = []
    for file_index, f in enumerate(files):
        for score, window, value in zip(f.scores, f.window_of_row, f.unweighted):
            rows.append((score, file_index, window, value))
    rows.sort(key=lambda r: -r[0])
    total = -profile.fn * windows_total
    best_total = total
    best_threshold = 1.1 if not rows else max(1.0, rows[0][0]) + 0.1
    window_best: dict[tuple[int, int], float] = {}
    tp_scale = profile.tp / scaled_sigmoid(-1.0)
    i = 0
    while i < len(rows):
        threshold = rows[i][0]
        while i < len(rows) and rows[i][0] == threshold:
            _, file_index, window, value = rows[i]
            if window < 0:
                total += value * profile.fp
            else:
                key = (file_index, window)
                weighted = value * tp_scale
                previous = window_best.get(key)
                if previous is None:
                    total += weighted + profile.fn
                    window_best[key] = weighted
                elif weighted > previous:
                    total += weighted - previous
                    window_best[key] = weighted
            i += 1
        if total > best_total:
            best_total = total
            best_threshold = threshold
    return best_threshold, best_total


def normalise(raw: float, windows: int, profile: Profile) -> float:
    perfect = windows * profile.tp
    null = -windows * profile.fn
    return 100.0 * (raw - null) / (perfect - null)


def read_detector_csv(path: Path, score_column: str = "anomaly_score") -> tuple[list[str], list[float]]:
    timestamps, scores = [], []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            timestamps.append(row["timestamp"])
            scores.append(float(row[score_column]))
    return timestamps, scores


def load_corpus(
    results_dir: Path, detector: str, windows_path: Path, score_column: str = "anomaly_score"
) -> list[ScoredFile]:
    """Reads results/<detector>/<category>/<detector>_<file>.csv for every labelled file."""
    windows = json.loads(windows_path.read_text())
    files = []
    for key in sorted(windows):
        category, filename = key.split("/")
        path = results_dir / detector / category / f"{detector}_{filename}"
        timestamps, scores = read_detector_csv(path, score_column)
        files.append(prepare_file(key, timestamps, scores, windows[key]))
    return files
