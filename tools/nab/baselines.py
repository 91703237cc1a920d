"""A windowed-Gaussian baseline, to check the harness against NAB's own windowedGaussian
(39.6 standard). Written from its description: the score of a value is 1 - P(|Z| >= |z|)
seen as a one-sided tail, z measured against the mean and standard deviation of the last
6,400 values, recomputed every 100 values once the window is full."""

from __future__ import annotations

import math


def windowed_gaussian(values: list[float], window: int = 6400, step: int = 100) -> list[float]:
    scores = []
    data: list[float] = []
    pending: list[float] = []
    mean, std = 0.0, 1.0
    total, squares = 0.0, 0.0  # running sums over `data`

    def refresh():
        nonlocal mean, std
        mean = total / len(data)
        variance = max(squares / len(data) - mean * mean, 0.0)
        std = math.sqrt(variance) if variance > 0 else 1e-6

    for value in values:
        score = 0.0
        if data:
            z = abs(value - mean) / std
            # Upper-tail probability of a standard normal at |z|; the score is its complement.
            score = 1.0 - 0.5 * math.erfc(z / math.sqrt(2))
        if len(data) < window:
            data.append(value)
            total += value
            squares += value * value
            refresh()
        else:
            pending.append(value)
            if len(pending) == step:
                for old in data[:step]:
                    total -= old
                    squares -= old * old
                for new in pending:
                    total += new
                    squares += new * new
                data = data[step:] + pending
                pending = []
                refresh()
        scores.append(score)
    return scores
