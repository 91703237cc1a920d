"""Long periodic signals with one subtle fault each, after the kind of archive in which a
trailing z-score and a reconstruction of the last few steps both fail.

Each series is a waveform repeated cycle after cycle with a jittered period (heartbeats,
breathing, a gait, a machine's duty cycle, a daily load with weekends), plus sensor noise and
a slow baseline wander. A known-normal first part (`TRAIN` rows) comes first, then one fault
in one cycle of the test part: the cycle's shape distorted, the cycle missing, played faster,
noisier, weaker, or with a small extra bump. The fault stays within a quarter of the signal's
spread of its range (a test checks it), so a range check sees little of it: a comparison with
earlier cycles must.

Metric, as for such archives: top-1, the row of the highest anomaly score after the train
part must lie within `TOLERANCE` rows of the faulty cycle.
"""

from __future__ import annotations

import math
import random

import numpy as np

ROWS = 9000
TRAIN = 3000
TOLERANCE = 100
BASES = ("ecg", "respiration", "gait", "duty_cycle", "weekly_load")
FAULTS = ("shape", "missing", "faster", "noise", "weaker", "bump")


def _gauss(u: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((u - centre) / width) ** 2)


def _shape(base: str, u: np.ndarray, cycle: np.ndarray, harmonics: list[float]) -> np.ndarray:
    """The waveform at phase u in [0, 1) of each row's cycle."""
    if base == "ecg":
        return (0.15 * _gauss(u, 0.2, 0.03) - 0.15 * _gauss(u, 0.33, 0.01) + 1.0 * _gauss(u, 0.36, 0.012)
                - 0.25 * _gauss(u, 0.39, 0.012) + 0.3 * _gauss(u, 0.62, 0.05))
    if base == "respiration":
        return np.sin(2 * math.pi * u) + 0.3 * np.sin(4 * math.pi * u + harmonics[0])
    if base == "gait":
        return sum(a * np.sin(2 * math.pi * (k + 1) * u + p) for k, (a, p) in
                   enumerate(zip(harmonics[0::2], harmonics[1::2])))
    if base == "duty_cycle":
        ramp = 0.1
        return np.clip(np.minimum(u / ramp, (0.6 - u) / ramp), 0, 1) + 0.08 * _gauss(u, ramp, 0.02)
    # weekly_load: a morning and an evening peak; cycles 5 and 6 of every 7 (the weekend) lower.
    weekend = (cycle % 7) >= 5
    day = 0.8 * _gauss(u, 0.35, 0.06) + 1.0 * _gauss(u, 0.75, 0.08)
    return np.where(weekend, 0.45 * day, day)


def generate(base: str, fault: str, rng: random.Random) -> tuple[np.ndarray, tuple[int, int]]:
    """One series and its faulty cycle's first and last row."""
    period = {"ecg": rng.uniform(90, 200), "respiration": rng.uniform(150, 380), "gait": rng.uniform(60, 130),
              "duty_cycle": rng.uniform(180, 420), "weekly_load": rng.uniform(96, 160)}[base]
    harmonics = [rng.uniform(0.2, 1.0) if i % 2 == 0 else rng.uniform(0, 2 * math.pi) for i in range(6)]
    count = int(ROWS / period * 1.2) + 10
    periods = np.array([period * (1 + rng.gauss(0, 0.02)) for _ in range(count)])
    # The faulty cycle: one that starts in the test part, far enough from both ends.
    starts = np.concatenate([[0.0], np.cumsum(periods)])
    candidates = [k for k in range(count) if TRAIN + 2 * period < starts[k] < ROWS - 4 * period]
    faulty = rng.choice(candidates)
    if fault == "faster":
        periods[faulty] *= 0.75
        starts = np.concatenate([[0.0], np.cumsum(periods)])
    t = np.arange(ROWS, dtype=float)
    cycle = np.searchsorted(starts, t, side="right") - 1
    u = (t - starts[cycle]) / periods[cycle]
    in_fault = cycle == faulty
    if fault == "shape":
        u = np.where(in_fault, u ** 1.35, u)  # the cycle's features arrive late, unevenly
    values = _shape(base, u, cycle, harmonics)
    spread = float(values.max() - values.min())
    mean = float(values.mean())
    if fault == "missing":
        values = np.where(in_fault, mean, values)
    elif fault == "weaker":
        values = np.where(in_fault, mean + 0.7 * (values - mean), values)
    elif fault == "bump":
        quiet = {"ecg": 0.85, "respiration": 0.5, "gait": 0.5, "duty_cycle": 0.8, "weekly_load": 0.1}[base]
        values = values + np.where(in_fault, 0.15 * spread * _gauss(u, quiet, 0.03), 0)
    noise_level = 0.02 * spread
    noise = np.array([rng.gauss(0, noise_level) for _ in range(ROWS)])
    if fault == "noise":
        noise = np.where(in_fault, 4 * noise, noise)
    wander = 0.05 * spread * np.sin(2 * math.pi * t / (ROWS / rng.uniform(2, 5)) + rng.uniform(0, 6.3))
    rows = np.flatnonzero(in_fault)
    return values + noise + wander, (int(rows[0]), int(rows[-1]))


def build(seed: int) -> list[tuple[str, str, np.ndarray, tuple[int, int]]]:
    """Every base with every fault: (base, fault, values, faulty rows)."""
    rng = random.Random(seed)
    return [(base, fault, *generate(base, fault, random.Random(rng.getrandbits(64))))
            for base in BASES for fault in FAULTS]
