"""Spacecraft-like telemetry channels, after the kind of corpus in which each channel is one
telemetry value scaled to [−1, 1] beside one-hot command channels, most of which never fire.

Each series is one channel: the telemetry value and `COMMANDS` command channels (0 or 1, only
`ACTIVE` of them ever 1; the rest are constant zero). The telemetry is one of four kinds:

- `modes`: a level from a small set, switched only one to three rows after a command;
- `orbit`: a periodic temperature-like wave (period 80–400 rows) with its second harmonic,
  quantised, and a commanded heater bump now and then;
- `drift`: a slow bounded wander with a weak orbit, quantised coarsely (long runs of equal
  readings);
- `pulses`: a flat baseline with rectangular pulses, each one right after its command.

A train part (`TRAIN` rows) comes first, then one or two faults in the test part:

- `spike`: 1–5 readings far outside the channel's range (a point anomaly);
- `uncommanded`: a level switch or a pulse with no command before it (within the range);
- `frequency`: the orbit runs 30–40 % faster for 300–600 rows (within the range);
- `flatline`: the value holds still for 200–500 rows where it normally moves;
- `noise`: the noise grows fivefold for 100–300 rows;
- `offset`: the value moves by a fifth of its range for 200–500 rows, no command before it.

Metrics, as for such corpora: the F1 of events at the detector's own threshold (an event
inside a fault, or within `LATE` rows of its end, is a true positive; a fault with an event
inside it is detected), point-wise average precision, false events per 10,000 normal rows.
"""

from __future__ import annotations

import math
import random

import numpy as np

ROWS = 8000
TRAIN = 2000
COMMANDS = 8
ACTIVE = 3
LATE = 10
BASES = ("modes", "orbit", "drift", "pulses")
FAULTS = {"modes": ("spike", "uncommanded", "offset"),
          "orbit": ("spike", "frequency", "flatline", "noise", "offset"),
          "drift": ("spike", "flatline", "noise", "offset"),
          "pulses": ("spike", "uncommanded", "noise", "offset")}


def _command_rows(rng: random.Random, low: int, high: int) -> list[int]:
    """Rows at which commands are sent, every `low`–`high` rows."""
    rows, r = [], rng.randint(low, high) // 2
    while r < ROWS - 5:
        rows.append(r)
        r += rng.randint(low, high)
    return rows


def generate(base: str, rng: random.Random) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """One channel's rows (ROWS × (1 + COMMANDS)) and its faults (first row, last row, kind)."""
    t = np.arange(ROWS, dtype=float)
    commands = np.zeros((ROWS, COMMANDS))
    active = rng.sample(range(COMMANDS), ACTIVE)
    noise_sd = rng.uniform(0.003, 0.015)

    # Faults first, so that the normal behaviour can be drawn around them.
    count = rng.choice((1, 1, 2))
    kinds = rng.sample(FAULTS[base], count)
    span = (ROWS - TRAIN - 200) // count
    faults = []
    for i, kind in enumerate(kinds):
        duration = {"spike": rng.randint(1, 5), "uncommanded": rng.randint(40, 200),
                    "frequency": rng.randint(300, 600), "flatline": rng.randint(200, 500),
                    "noise": rng.randint(100, 300), "offset": rng.randint(200, 500)}[kind]
        start = TRAIN + 100 + i * span + rng.randrange(0, span - duration - 100)
        faults.append((start, start + duration - 1, kind))

    def in_fault(kind: str) -> np.ndarray:
        mask = np.zeros(ROWS, dtype=bool)
        for start, end, k in faults:
            if k == kind:
                mask[start:end + 1] = True
        return mask

    if base == "modes":
        levels = sorted(rng.uniform(-0.9, 0.9) for _ in range(rng.randint(3, 5)))
        level = rng.randrange(len(levels))
        switches = {0: level}
        for r in _command_rows(rng, 150, 600):
            if any(s - 50 <= r <= e + 50 for s, e, _ in faults):
                continue
            commands[r, active[rng.randrange(ACTIVE)]] = 1
            level = rng.choice([k for k in range(len(levels)) if k != level])
            switches[r + rng.randint(1, 3)] = level
        value = np.empty(ROWS)
        for r in range(ROWS):
            level = switches.get(r, level)
            value[r] = levels[level]
        for start, end, kind in faults:
            if kind == "uncommanded":
                others = [x for x in levels if abs(x - value[start]) > 1e-9]
                value[start:end + 1] = rng.choice(others)
    elif base == "orbit":
        period = rng.uniform(80, 400)
        harmonic, phase = rng.uniform(0.1, 0.4), rng.uniform(0, 2 * math.pi)
        rate = np.where(in_fault("frequency"), rng.uniform(1.3, 1.4), 1.0)
        angle = 2 * math.pi * np.cumsum(rate) / period + phase
        value = 0.6 * np.sin(angle) + 0.6 * harmonic * np.sin(2 * angle + 1.0)
        for r in _command_rows(rng, 400, 1200):
            if any(s - 80 <= r <= e + 80 for s, e, _ in faults):
                continue
            commands[r, active[0]] = 1
            bump = 0.25 * np.sin(np.pi * np.arange(40) / 40)
            value[r + 1:r + 41] += bump[:max(0, min(40, ROWS - r - 1))]
    elif base == "drift":
        walk, z = np.empty(ROWS), 0.0
        for r in range(ROWS):
            z = 0.999 * z + rng.gauss(0, 0.02)
            walk[r] = z
        walk = 0.7 * walk / max(1e-9, float(np.abs(walk).max()))
        value = walk + 0.1 * np.sin(2 * math.pi * t / rng.uniform(90, 300))
    else:  # pulses
        baseline, height = rng.uniform(-0.8, -0.2), rng.uniform(0.5, 1.0)
        value = np.full(ROWS, baseline)
        width = rng.randint(10, 30)
        for r in _command_rows(rng, 100, 400):
            if any(s - 50 <= r <= e + 50 for s, e, _ in faults):
                continue
            commands[r, active[rng.randrange(ACTIVE)]] = 1
            value[r + 2:r + 2 + width] = baseline + height
        for start, end, kind in faults:
            if kind == "uncommanded":
                value[start:min(end + 1, start + width)] = baseline + height
                faults[faults.index((start, end, kind))] = (start, min(end, start + width - 1), kind)

    spread = float(value[:TRAIN].max() - value[:TRAIN].min()) or 0.5
    noise = np.array([rng.gauss(0, noise_sd) for _ in range(ROWS)])
    noise[in_fault("noise")] *= 5
    value = value + noise
    for start, end, kind in faults:
        rows = slice(start, end + 1)
        if kind == "spike":
            side = rng.choice((-1, 1))
            edge = value[:TRAIN].max() if side > 0 else value[:TRAIN].min()
            value[rows] = edge + side * spread * rng.uniform(0.5, 1.0)
        elif kind == "flatline":
            value[rows] = value[start]
        elif kind == "offset":
            value[rows] += rng.choice((-1, 1)) * 0.2 * spread
    step = 0.05 if base == "drift" else 1 / 256
    value = np.clip(np.round(value / step) * step, -1.5, 1.5)
    return np.column_stack([value, commands]), faults


def build(seed: int, channels: int = 40) -> list[tuple[str, np.ndarray, list[tuple[int, int, str]]]]:
    rng = random.Random(seed)
    out = []
    for i in range(channels):
        base = BASES[i % len(BASES)]
        x, faults = generate(base, random.Random(rng.getrandbits(64)))
        out.append((base, x, faults))
    return out
