"""Server machines of 38 metrics each, after the kind of corpus where constant channels,
counters and quantised channels pin a detector's score or silence it.

One latent load per machine (a daily cycle, an AR(1) term and a normal nightly batch job)
drives most metrics, each with its own gain, lag, scale (from 10⁻³ to 10⁶) and noise:
continuous gauges, CPU percentages clipped to [0, 100], quantised gauges (thread counts),
Poisson event counts, counters that grow through the day and reset at midnight, rare error
counts, a memory gauge that grows until a process restart, and constant channels (limits,
configuration values) that never move. A train part (`TRAIN` rows at 1-minute steps) comes
first, then four incidents of different kinds in the test part:

- `incident`: the whole machine surges (load + 4 sd for 60–300 rows), every load-driven metric
  with it;
- `spike`: one gauge far off for 20–60 rows;
- `decouple`: one gauge follows a load of its own for 100–300 rows;
- `leak`: the memory gauge climbs four times faster than it does normally, then the process
  restarts;
- `stuck`: one gauge repeats its last value for 100–300 rows;
- `flag`: one constant channel takes another value for 50–200 rows.

Metrics, as for such corpora: point-wise average precision on the test rows, and the F1 of
events at the detector's own threshold (an event inside an incident, or within `LATE` rows of
its end, is a true positive; an incident with an event inside it is detected).
"""

from __future__ import annotations

import math
import random

import numpy as np

ROWS = 10000
TRAIN = 4000
DAY = 1440
LATE = 10
KINDS = ("incident", "spike", "decouple", "leak", "stuck", "flag")

GAUGES = range(0, 12)
CPU = range(12, 14)
QUANTISED = range(14, 20)
COUNTS = range(20, 24)
COUNTERS = range(24, 26)
ERRORS = range(26, 29)
MEMORY = 29
CONSTANT = range(30, 38)
CHANNELS = 38


def _ar1(rng: random.Random, n: int, rho: float, sd: float) -> np.ndarray:
    out = np.empty(n)
    z = 0.0
    for t in range(n):
        z = rho * z + rng.gauss(0, sd)
        out[t] = z
    return out


def generate(rng: random.Random) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """One machine's rows (ROWS × CHANNELS) and its incidents (first row, last row, kind)."""
    t = np.arange(ROWS)
    phase = rng.uniform(0, 2 * math.pi)
    batch_at = rng.randrange(0, DAY)
    batch = ((t - batch_at) % DAY < 30).astype(float) * 1.5
    load = np.sin(2 * math.pi * t / DAY + phase) + _ar1(rng, ROWS, 0.97, 0.08) + batch

    kinds = rng.sample(KINDS, 4)
    span = (ROWS - TRAIN - 400) // 4
    incidents = []
    for i, kind in enumerate(kinds):
        duration = {"incident": rng.randint(60, 300), "spike": rng.randint(20, 60), "decouple": rng.randint(100, 300),
                    "leak": rng.randint(200, 400), "stuck": rng.randint(100, 300), "flag": rng.randint(50, 200)}[kind]
        start = TRAIN + 200 + i * span + rng.randrange(0, span - duration - 50)
        incidents.append((start, start + duration - 1, kind))
    surge = np.zeros(ROWS)
    for start, end, kind in incidents:
        if kind == "incident":
            surge[start:end + 1] = 4 * float(np.std(load[:TRAIN]))
    driven = load + surge

    x = np.zeros((ROWS, CHANNELS))
    for c in GAUGES:
        scale = 10 ** rng.uniform(-3, 6)
        lag = rng.randrange(0, 4)
        gain = rng.choice((-1, 1)) * rng.uniform(0.4, 1.2)
        source = np.concatenate([np.full(lag, driven[0]), driven[:ROWS - lag]])
        shaped = np.exp(0.5 * source) if c % 3 == 0 else source
        x[:, c] = scale * (5 + gain * shaped + np.array([rng.gauss(0, 0.15) for _ in t]))
    for c in CPU:
        x[:, c] = np.clip(35 + 18 * driven + np.array([rng.gauss(0, 3) for _ in t]), 0, 100)
    for c in QUANTISED:
        x[:, c] = np.maximum(0, np.round(rng.uniform(2, 8) + rng.uniform(1, 3) * driven))
    for c in COUNTS:
        rates = rng.uniform(2, 40) * np.exp(0.6 * driven)
        x[:, c] = np.random.default_rng(rng.getrandbits(64)).poisson(rates)
    for c in COUNTERS:
        increments = np.random.default_rng(rng.getrandbits(64)).poisson(rng.uniform(50, 500) * np.exp(0.5 * driven))
        day = t // DAY
        running = np.cumsum(increments)
        at_midnight = np.concatenate([[0], running[:-1]])[np.searchsorted(t, day * DAY)]
        x[:, c] = running - at_midnight
    for c in ERRORS:
        p = 0.002 * np.exp(driven)
        x[:, c] = (np.random.default_rng(rng.getrandbits(64)).random(ROWS) < p).astype(float)
    restart_every = rng.randint(2500, 3500)
    growth = rng.uniform(0.5, 2.0)
    x[:, MEMORY] = 2e9 + 1e6 * growth * ((t - rng.randrange(0, restart_every)) % restart_every)
    for c in CONSTANT:
        x[:, c] = rng.choice((0.0, 1.0, 4096.0, 65535.0, 1e9, 8.0))

    for start, end, kind in incidents:
        rows = slice(start, end + 1)
        if kind == "spike":
            c = rng.choice(list(GAUGES))
            x[rows, c] += rng.choice((-1, 1)) * 6 * float(np.std(x[:TRAIN, c]))
        elif kind == "decouple":
            c = rng.choice(list(GAUGES))
            own = _ar1(rng, end + 1 - start, 0.97, 0.08) + np.sin(2 * math.pi * t[rows] / DAY + phase + math.pi)
            mean, sd = float(np.mean(x[:TRAIN, c])), float(np.std(x[:TRAIN, c]))
            x[rows, c] = mean + sd * (own - own.mean()) / max(own.std(), 1e-9)
        elif kind == "leak":
            x[rows, MEMORY] = x[start, MEMORY] + 4e6 * growth * np.arange(end + 1 - start)
            x[end + 1:, MEMORY] = 2e9 + 1e6 * growth * (np.arange(ROWS - end - 1) % restart_every)
        elif kind == "stuck":
            c = rng.choice(list(GAUGES))
            x[rows, c] = x[start, c]
        elif kind == "flag":
            c = rng.choice(list(CONSTANT))
            x[rows, c] = x[start, c] + rng.choice((1.0, 2.0, 100.0))
    return x, incidents


def build(seed: int, machines: int = 8) -> list[tuple[np.ndarray, list[tuple[int, int, str]]]]:
    rng = random.Random(seed)
    return [generate(random.Random(rng.getrandbits(64))) for _ in range(machines)]
