"""The figures the quality harness reports for every corpus, from per-row outputs."""

from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Point-wise average precision: the mean, over the anomalous rows, of the precision at the
    score threshold that first includes them; tied scores enter together (a constant score
    gets the base rate, never better). None without an anomalous row."""
    positives = int(labels.sum())
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    true_positives = np.cumsum(y)
    # The last row of every run of tied scores is where a threshold can stop.
    ends = np.flatnonzero(np.concatenate([s[1:] != s[:-1], [True]]))
    tp = true_positives[ends]
    precision = tp / (ends + 1)
    recall_gain = np.diff(np.concatenate([[0], tp])) / positives
    return float(np.sum(precision * recall_gain))


def events_outside(events: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """Events on normal rows, and the number of normal rows."""
    normal = labels == 0
    return int(np.sum(events[normal] > 0)), int(np.sum(normal))


def segments_caught(events: np.ndarray, segments: list[tuple[int, int]], offset: int = 0) -> int:
    """Segments (rows relative to `offset`) with at least one event inside them."""
    return sum(1 for start, end in segments if np.any(events[start - offset:end - offset + 1] > 0))


def event_f1(events: np.ndarray, segments: list[tuple[int, int]], offset: int, late: int) -> tuple[int, int, int, int]:
    """(true-positive events, all events, segments detected, segments): an event inside a
    segment or within `late` rows after it is a true positive."""
    rows = np.flatnonzero(events > 0) + offset
    hits = sum(1 for r in rows if any(start <= r <= end + late for start, end in segments))
    return hits, len(rows), segments_caught(events, segments, offset), len(segments)


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def point_f1(state: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Point-wise F1, false-alarm rate and missed-alarm rate (both in %) of a 0/1 state."""
    predicted = state > 0
    truth = labels > 0
    tp = int(np.sum(predicted & truth))
    fp = int(np.sum(predicted & ~truth))
    fn = int(np.sum(~predicted & truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    far = 100 * fp / max(1, int(np.sum(~truth)))
    mar = 100 * fn / max(1, int(np.sum(truth)))
    return f1(precision, recall), far, mar
