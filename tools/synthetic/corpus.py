"""A labelled synthetic corpus of sensor-like streams with anomalies of known kind and onset.

NAB is one corpus of 58 series, mostly web metrics; tuning against it alone risks fitting it.
This corpus is built from what plant and fleet sensors do (periodic load, mean-reverting
processes, machine duty cycles, event counts, correlated channels) and from the faults their
operators are paged for (spikes, dropouts to zero, level shifts, noise bursts, stuck sensors,
calibration drift, a changed rhythm, channels that stop moving together, a whole machine's
load shifting). Everything is drawn from one seed, so a run is exactly repeatable; another
seed gives a fresh draw of the same design.

Each file has `ROWS` rows at 5-minute steps (a day is 288 rows). Anomalies start after row
`FIRST_ONSET`, past NAB's probationary period and the detector's warm-up. Each labelled window
starts at the anomaly's onset (the first row that differs from the clean series) and lasts
`WINDOW` rows, or the anomaly's duration if longer: the detector cannot know of an anomaly
before its first sample, and a detection late in the window earns little under NAB's scaled
sigmoid.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

ROWS = 6000
DAY = 288
FIRST_ONSET = 1500
WINDOW = 100
ANOMALIES_PER_FILE = 2

UNIVARIATE_KINDS = ("spike", "dropout", "level_shift", "variance", "stuck", "drift", "rhythm")
BASES = ("daily", "ar1", "duty_cycle", "counts")
MULTIVARIATE_KINDS = ("channel_spike", "decouple", "shared_shift")


@dataclass
class Anomaly:
    kind: str
    onset: int
    duration: int

    @property
    def window(self) -> tuple[int, int]:
        return self.onset, min(ROWS - 1, self.onset + max(WINDOW, self.duration) - 1)


@dataclass
class SyntheticFile:
    name: str
    base: str
    kind: str  # "clean" for a file with no anomaly
    columns: list[str]
    values: list[list[float]]  # one list per row
    anomalies: list[Anomaly] = field(default_factory=list)

    @property
    def timestamps(self) -> list[str]:
        start = datetime(2026, 1, 1)
        return [(start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(ROWS)]


class Signal:
    """A clean series split into the part a fault can alter: a deterministic shape, a noise
    term, and (for processes that have one) the recursion that produced them."""

    def __init__(self, base: str, rng: random.Random):
        self.base = base
        self.rng = rng

    def generate(self, faults: list[Anomaly]) -> list[float]:
        active = self._active_map(faults)
        generator = getattr(self, f"_{self.base}")
        values = generator(active)
        return self._apply_value_faults(values, faults)

    # The bases. Each reads `active[t]` (the fault, if any, in force at row t) only for faults
    # that change how the series is generated (variance, rhythm); the others are applied
    # afterwards to the finished values.

    def _daily(self, active):
        phase = self.rng.uniform(0, 2 * math.pi)
        out = []
        for t in range(ROWS):
            fault = active[t]
            shift = DAY // 2 if fault == "rhythm" else 0
            noise = self.rng.gauss(0, 0.3) * (5 if fault == "variance" else 1)
            out.append(10 + 3 * math.sin(2 * math.pi * (t + shift) / DAY + phase) + noise)
        return out

    def _ar1(self, active):
        x, out = 0.0, []
        for t in range(ROWS):
            fault = active[t]
            # A rhythm fault keeps the process's spread but removes its memory: white noise
            # with the same variance, still inside the normal range.
            if fault == "rhythm":
                x = self.rng.gauss(0, 1 / math.sqrt(1 - 0.9**2))
            else:
                x = 0.9 * x + self.rng.gauss(0, 1) * (4 if fault == "variance" else 1)
            out.append(50 + x)
        return out

    def _duty_cycle(self, active):
        out, t, on = [], 0, True
        while t < ROWS:
            length = self.rng.randint(35, 45) if on else self.rng.randint(55, 65)
            if active[t] == "rhythm":
                length //= 3
            level = 80 if on else 20
            for _ in range(length):
                if t >= ROWS:
                    break
                out.append(level + self.rng.gauss(0, 1.5) * (5 if active[t] == "variance" else 1))
                t += 1
            on = not on
        return out

    def _counts(self, active):
        out = []
        for t in range(ROWS):
            fault = active[t]
            shift = DAY // 2 if fault == "rhythm" else 0
            rate = 20 + 15 * math.sin(2 * math.pi * (t + shift) / DAY)
            value = float(self._poisson(rate))
            if fault == "variance":
                value = max(0.0, round(value + self.rng.gauss(0, 4 * math.sqrt(rate))))
            out.append(value)
        return out

    def _poisson(self, rate: float) -> int:
        # Knuth's method; the rates here are below 40.
        limit, k, p = math.exp(-rate), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    # Faults applied to the finished values.

    def _apply_value_faults(self, values: list[float], faults: list[Anomaly]) -> list[float]:
        spread = _spread(values[:FIRST_ONSET])
        out = list(values)
        for fault in faults:
            sign = self.rng.choice((-1, 1))
            a, end = fault.onset, fault.onset + fault.duration
            if fault.kind == "spike":
                out[a] += sign * 3 * spread
            elif fault.kind == "dropout":
                for t in range(a, end):
                    out[t] = 0.0
            elif fault.kind == "level_shift":
                for t in range(a, ROWS):
                    out[t] += sign * 1.5 * spread
            elif fault.kind == "stuck":
                for t in range(a, end):
                    out[t] = out[a - 1]
            elif fault.kind == "drift":
                for t in range(a, ROWS):
                    out[t] += sign * 3 * spread * min(1.0, (t - a + 1) / fault.duration)
        return out

    @staticmethod
    def _active_map(faults: list[Anomaly]) -> list[str | None]:
        active: list[str | None] = [None] * ROWS
        for fault in faults:
            if fault.kind in ("variance", "rhythm"):
                for t in range(fault.onset, min(ROWS, fault.onset + fault.duration)):
                    active[t] = fault.kind
        return active


def _spread(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


DURATIONS = {
    "spike": 1,
    "dropout": 30,
    "level_shift": 1,
    "variance": 300,
    "stuck": 200,
    "drift": 400,
    "rhythm": DAY,
    "channel_spike": 1,
    "decouple": 300,
    "shared_shift": 1,
}


def _onsets(rng: random.Random, kind: str) -> list[Anomaly]:
    """Two onsets in separate halves of the scored part, far enough apart that the first
    anomaly (and the detector's recovery from it) is over before the second."""
    span = (ROWS - FIRST_ONSET) // ANOMALIES_PER_FILE
    duration = DURATIONS[kind]
    out = []
    for i in range(ANOMALIES_PER_FILE):
        lo = FIRST_ONSET + i * span
        hi = lo + span - max(duration, WINDOW) - 400
        out.append(Anomaly(kind, rng.randint(lo, hi), duration))
    return out


MACHINE_GAINS = (1.0, 0.6, -0.8, 0.9, -0.5, 1.2)
MACHINE_OFFSETS = (20.0, 5.0, 40.0, 10.0, 60.0, 30.0)
MACHINE_NOISE = (0.2, 0.15, 0.25, 0.3, 0.1, 0.2)


def machine_rows(rng: random.Random, faults: list[Anomaly], channels: int = 3) -> list[list[float]]:
    """Channels driven by one latent process (a daily load plus an AR(1) term), as readings of
    one machine are: a temperature, a current, a vibration level, ... The corpus's machine has
    three; `tools/synthetic/channels.py` asks for more (each channel's gain, offset and noise
    repeat every six). Channel 1 is the one that decouples, channel 2 the one that spikes."""
    def per_channel(values: tuple[float, ...]) -> list[float]:
        return [values[c % len(values)] for c in range(channels)]

    gains, offsets, noise = per_channel(MACHINE_GAINS), per_channel(MACHINE_OFFSETS), per_channel(MACHINE_NOISE)
    phase = rng.uniform(0, 2 * math.pi)
    z, detached, rows = 0.0, 0.0, []
    decoupled = [False] * ROWS
    # A load change moves the whole machine: the latent level shifts by 1.5 times its spread
    # (about 1.8), as a level shift of a single series does.
    shift = [0.0] * ROWS
    for fault in faults:
        if fault.kind == "shared_shift":
            step = rng.choice((-1, 1)) * 1.5 * 1.8
            for t in range(fault.onset, ROWS):
                shift[t] += step
    for fault in faults:
        if fault.kind == "decouple":
            for t in range(fault.onset, fault.onset + fault.duration):
                decoupled[t] = True
    for t in range(ROWS):
        z = 0.95 * z + rng.gauss(0, 0.3)
        latent = 2 * math.sin(2 * math.pi * t / DAY + phase) + z + shift[t]
        # A decoupled channel keeps its own range and smoothness but follows a process of its
        # own: the sensor, or the part it measures, no longer tracks the machine.
        detached = 0.95 * detached + rng.gauss(0, 0.3)
        other = 2 * math.sin(2 * math.pi * (t + DAY // 2) / DAY + phase) + detached
        row = []
        for c in range(channels):
            source = other if (c == 1 and decoupled[t]) else latent
            row.append(offsets[c] + gains[c] * source + rng.gauss(0, noise[c]))
        rows.append(row)
    for fault in faults:
        if fault.kind == "channel_spike":
            column = [r[2] for r in rows[:FIRST_ONSET]]
            rows[fault.onset][2] += rng.choice((-1, 1)) * 3 * _spread(column)
    return rows


def build(seed: int) -> list[SyntheticFile]:
    """The whole corpus for one seed: every base with every univariate fault, the multivariate
    machine with each of its faults, and one clean file of each (to count false alarms)."""
    rng = random.Random(seed)
    files = []
    for base in BASES:
        for kind in ("clean", *UNIVARIATE_KINDS):
            faults = [] if kind == "clean" else _onsets(rng, kind)
            values = Signal(base, random.Random(rng.getrandbits(64))).generate(faults)
            files.append(SyntheticFile(f"{base}/{kind}", base, kind, ["value"], [[v] for v in values], faults))
    for kind in ("clean", *MULTIVARIATE_KINDS):
        faults = [] if kind == "clean" else _onsets(rng, kind)
        rows = machine_rows(random.Random(rng.getrandbits(64)), faults)
        files.append(SyntheticFile(f"machine/{kind}", "machine", kind, ["temperature", "current", "vibration"],
                                   rows, faults))
    return files
