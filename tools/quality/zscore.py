"""The trailing z-score baseline every corpus is scored against in the same run.

For each channel, the value and its first difference are each measured against the mean and
standard deviation of the previous `WINDOW` rows (the current row excluded: no look-ahead);
the row's score is the largest |z| over channels and both series, mapped to [0, 1) as
z / (z + `ALARM`), so that ½ is the alarm level as in anomalyd's score. An event is the first
row above the alarm level after `COOLDOWN` rows without one. A channel that has been constant
over the window and then moves scores the alarm level and more (its sd is floored).
"""

from __future__ import annotations

import numpy as np

WINDOW = 1000
ALARM = 4.0
COOLDOWN = 100


def _trailing_z(x: np.ndarray) -> np.ndarray:
    """|z| of every row of x (rows × channels) against the previous WINDOW rows."""
    x = x - x[0]
    zeros = np.zeros((1, x.shape[1]))
    s1 = np.concatenate([zeros, np.cumsum(x, axis=0)])
    s2 = np.concatenate([zeros, np.cumsum(x * x, axis=0)])
    n = np.arange(x.shape[0])
    lo = np.maximum(0, n - WINDOW)
    count = (n - lo)[:, None].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (s1[n] - s1[lo]) / count
        var = (s2[n] - s2[lo]) / count - mean * mean
        sd = np.sqrt(np.maximum(var, 0)) + 1e-9 * (1 + np.abs(mean))
        z = np.abs(x - mean) / sd
    z[count[:, 0] < 10] = 0
    return np.nan_to_num(z, nan=0.0, posinf=1e12)


def score(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score per row, event per row) for rows × channels values."""
    z = _trailing_z(values)
    diff = np.concatenate([np.zeros((1, values.shape[1])), np.diff(values, axis=0)])
    z = np.maximum(z, _trailing_z(diff)).max(axis=1)
    scores = z / (z + ALARM)
    events = np.zeros(len(scores), dtype=int)
    previous = -COOLDOWN  # the last row above the alarm level
    for i in np.flatnonzero(z > ALARM):
        if i - previous >= COOLDOWN:
            events[i] = 1
        previous = i
    return scores, events
