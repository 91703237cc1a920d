#!/usr/bin/env python3
"""A fast bench for "how errors become alarms", on the daemon's own reconstruction errors.

    tools/nab/lab.py --check                 # the Python replica equals the daemon's scores
    tools/nab/lab.py base point-risk-3e-4    # named variants, scored like tools/nab/run.py
    tools/nab/lab.py --all                   # every variant (a few minutes)
    tools/nab/lab.py --attribute             # which part of the score raised each event

It replays the 58 NAB files once through `anomalyctl replay --explain` (the reconstruction
error of every row, from exactly the daemon's detector and default configuration), then runs a
Python replica of `ErrorScorer`, `TailThreshold`, the range check, the onset filter and
`AlarmGate` on those errors (the slow scale's surprise is taken as the daemon reports it, in
the `slow_surprise` column, since it comes from a model of its own, and so is the seasonal
check's, `seasonal_surprise`). `--check` proves the replica gives the daemon's scores, so a
variant that changes only the post-processing is measured in seconds instead of a Swift patch.

The one thing a replica cannot show: in the daemon, a point above the threshold is learned
more slowly (`anomaly_learning_factor`), so a variant that changes which points are above it
changes the later errors a little. A variant worth keeping is therefore confirmed in Swift
with `tools/nab/seeds.py` before it is believed; the figures here are for choosing what to try.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import binaries  # noqa: E402
import scorer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_NAB = REPO.parent / "shared" / "datasets" / "nab"
LN10 = math.log(10)


def clipped_pareto_moments(shape, r):
    """ClippedPareto.clippedMoments: E[min(Y, c)], E[min(Y, c)²] for Y ~ GPD(shape, 1), c its
    quantile exceeded with probability r."""
    log_inverse = -math.log(r)
    if shape < 1e-4:
        return 1 - r, 2 * (1 - r * (1 + log_inverse))

    def h(p):
        return log_inverse if abs(p) < 1e-12 else math.expm1(p * log_inverse) / p

    mean = h(shape - 1)
    return mean, 2 / shape * (h(2 * shape - 1) - mean)


def clipped_pareto_fit(m, q, r, maximum_shape=0.5, steps=14):
    """ClippedPareto.fit: (shape, scale) matching clipped moments, None if lighter than exponential."""
    target = m * m / q

    def ratio(shape):
        a, b = clipped_pareto_moments(shape, r)
        return a * a / b

    if not ratio(0) > target:
        return None
    if ratio(maximum_shape) >= target:
        shape = maximum_shape
    else:
        low, high = 0.0, maximum_shape
        for _ in range(steps):
            middle = (low + high) / 2
            if ratio(middle) > target:
                low = middle
            else:
                high = middle
        shape = (low + high) / 2
    return shape, m / clipped_pareto_moments(shape, r)[0]


class Tail:
    """TailThreshold.swift, line for line."""

    def __init__(self, level=0.9, risk=1e-3, memory=2048, refit=16, early=False, catch_up=30.0, clipped=False):
        self.level, self.risk, self.memory, self.refit = level, risk, memory, refit
        self.clipped = clipped  # TailThreshold's correctsForClipping
        self.catch_up, self.below_run = catch_up, 0
        # Variant: running averages over everything seen (rate 1/n) until n reaches `memory`.
        self.early, self.seen = early, 0
        self.warm, self.since, self.calibrated = [], 0, False
        self.t = self.shape = self.scale = self.zeta = 0.0
        self.alarm = math.inf
        self.excess_mean = self.excess_square_mean = self.mean = 0.0

    def record(self, e):
        # The daemon keeps warm-up errors as 32-bit floats.
        self.warm.append(struct.unpack("f", struct.pack("f", e))[0])

    def calibrate(self):
        self.seen = len(self.warm)
        values, self.warm, self.calibrated = sorted(self.warm), [], True
        if not values:
            return
        self.t = values[min(len(values) - 1, int(len(values) * self.level))]
        self.mean = sum(values) / len(values)
        self.fit_excesses(values, math.inf)
        if self.alarm > self.t and math.isfinite(self.alarm):
            self.fit_excesses(values, self.alarm)

    def fit_excesses(self, values, clip):
        excesses = [min(v, clip) - self.t for v in values if v > self.t]
        self.zeta = max(len(excesses), 1) / len(values)
        self.excess_mean = sum(excesses) / len(excesses) if excesses else 0.0
        self.excess_square_mean = sum(y * y for y in excesses) / len(excesses) if excesses else 0.0
        self.fit()

    def log_exceedance(self, e):
        if not self.calibrated:
            return 0.0
        if e <= self.t:
            return math.log(1 - (1 - self.zeta) * max(0.0, e) / self.t) if self.t > 0 else 0.0
        x = e - self.t
        if abs(self.shape) < 1e-6:
            return math.log(self.zeta) - x / self.scale
        return math.log(self.zeta) - math.log1p(self.shape * x / self.scale) / self.shape

    def score(self, e):
        result = self.log_exceedance(e)
        self.update(min(e, self.alarm))
        return result

    def update(self, x):
        self.seen += 1
        rate = max(1 / self.memory, 1 / self.seen) if self.early else 1 / self.memory
        above = x > self.t
        self.zeta += rate * (above - self.zeta)
        self.mean += rate * (x - self.mean)
        if above:
            y, excess_rate = x - self.t, min(1, rate / (1 - self.level))
            self.excess_mean += excess_rate * (y - self.excess_mean)
            self.excess_square_mean += excess_rate * (y * y - self.excess_square_mean)
        self.below_run = 0 if above else self.below_run + 1
        stale = self.catch_up > 0 and self.below_run * (1 - self.level) >= self.catch_up
        step = (10 if stale else 1) * 10 * rate * max(self.mean, 1e-12)
        self.t = max(0.0, self.t + step * (above - (1 - self.level)))
        self.since += 1
        if self.since >= self.refit:
            self.fit()

    def fit(self):
        self.since = 0
        floor = max(1e-6, 1e-3 * abs(self.t))
        m, v = self.excess_mean, max(self.excess_square_mean - self.excess_mean**2, 0)
        ratio = self.risk / min(1, max(self.zeta, 1 / self.memory))
        fitted = None
        if self.clipped and m > 0 and v > 0 and ratio < 1:
            fitted = clipped_pareto_fit(m, self.excess_square_mean, ratio)
        if fitted is not None:
            self.shape, self.scale = fitted[0], max(floor, fitted[1])
        elif m > 0 and v > 0:
            r = m * m / v
            self.shape, self.scale = min(0.5, max(0, 0.5 * (1 - r))), max(floor, 0.5 * m * (1 + r))
        else:
            self.shape, self.scale = 0, max(floor, m)
        if ratio >= 1:
            self.alarm = self.t
        elif abs(self.shape) < 1e-6:
            self.alarm = self.t - self.scale * math.log(ratio)
        else:
            self.alarm = self.t + self.scale / self.shape * (ratio ** (-self.shape) - 1)


def tail_logs(series, warmup=200, risk=1e-3):
    """ln P(x > x_t) of every row under a Tail of its own, calibrated like the daemon's."""
    tail, out = Tail(risk=risk), [0.0] * len(series)
    for i, x in enumerate(series):
        if i + 1 <= warmup:
            if i + 1 > warmup // 4:
                tail.record(x)
            if i + 1 == warmup:
                tail.calibrate()
        else:
            out[i] = tail.score(x)
    return out


def moving_average(x, width):
    out, total = [], 0.0
    for i, v in enumerate(x):
        total += v - (x[i - width] if i >= width else 0.0)
        out.append(total / width)
    return out


def stuck_surprises(values, level, minimum_run=3, learning_factor=0.1, warmup=200, memory=4):
    """The stuck-sensor check's surprise for every row (StuckReadingCheck, one channel)."""
    out = [0.0] * len(values)
    run, alarmed, longest = 0, False, 0.0
    plateaus = {}  # value -> longest run at it, for the `memory` values with the longest runs
    start_chances = starts = continue_chances = continues = 0.0
    for i, v in enumerate(values):
        if i == 0 or minimum_run == 0:
            continue
        repeated = v == values[i - 1]
        if run == 0:
            start_chances += 1
            starts += repeated
        if not repeated:
            if run > 0:
                continues += run - 1
                continue_chances += run
                longest += (learning_factor if alarmed else 1) * max(0.0, run - longest)
                last = values[i - 1]
                if memory == 0:
                    pass
                elif last in plateaus or len(plateaus) < memory:
                    plateaus[last] = max(plateaus.get(last, 0.0), float(run))
                else:
                    shortest = min(plateaus, key=lambda k: plateaus[k])
                    if plateaus[shortest] < run:
                        del plateaus[shortest]
                        plateaus[last] = float(run)
                run, alarmed = 0, False
            continue
        run += 1
        if (i + 1 > warmup and run >= minimum_run and start_chances > 1 and run > 2 * longest
                and run > 2 * plateaus.get(v, 0.0)):
            surprise = (-math.log10((starts + 1) / (start_chances + 2))
                        - (run - 1) * math.log10((continues + 1) / (continue_chances + 2)))
            alarmed = alarmed or surprise > level
            out[i] = min(surprise, level + 0.5)
    return out


def pipeline(row, warmup=200, smoothing=32, suppression=50, risk=1e-3, range_tolerance=0.1, cooldown=100,
             recovery=10, escalation=1.0, stuck_min_run=3, periodic=0.1, point_risk=None, trend_risk=None, point_transform=None, extra_logs=(), record=0,
             recalibrate=0, early_tails=False, range_memory=0, record_candidates=(), sources=None):
    """The daemon's score for every row of one file, from its errors (StreamDetector.process)."""
    err, values, n = row["error"], row["value"], len(row["error"])
    slow = row.get("slow") or [0.0] * n
    seasonal = row.get("seasonal") or [0.0] * n
    point = Tail(risk=point_risk or risk, early=early_tails, clipped=True)
    trend = Tail(risk=trend_risk or risk, early=early_tails)
    point_level, level = -math.log10(point_risk or risk), -math.log10(risk)
    trend_level = -math.log10(trend_risk or risk)
    transform = point_transform or (lambda e: e)
    ring, ring_next, ring_sum = [0.0] * smoothing, 0, 0.0
    recent = []
    low, high = math.inf, -math.inf
    stuck = stuck_surprises(values, level, stuck_min_run, warmup=warmup)
    in_episode, below_run, since_event, event_surprise = False, 0, 10**9, 0.0
    bursts, recurring = [], False
    out = [0.0] * n
    # Recalibration: the realised rate at which each tail's surprise reaches the alarm level,
    # an exponentially weighted average over `recalibrate` points starting at the nominal risk.
    realised = {"point": risk, "trend": risk}
    records = {}
    mean = 0.0
    for i in range(n):
        e = err[i]
        if i + 1 <= warmup:
            if i + 1 > warmup // 4:
                point.record(transform(e))
                ring_sum += e - ring[ring_next]
                ring[ring_next], ring_next = e, (ring_next + 1) % smoothing
                trend.record(max(0.0, ring_sum / smoothing))
            if i + 1 == warmup:
                point.calibrate()
                trend.calibrate()
        else:
            point_log = point.score(transform(e))
            if record and i > 0 and e <= max(err[max(0, i - record):i]):
                point_log = max(point_log, -point_level * LN10 * 0.999)
            ring_sum += e - ring[ring_next]
            ring[ring_next], ring_next = e, (ring_next + 1) % smoothing
            trend_log = trend.score(max(0.0, ring_sum / smoothing))
            candidates = [(-point_log / LN10 * level / point_level, "point"), (-trend_log / LN10 * level / trend_level, "trend")]
            if recalibrate:
                corrected = []
                for surprise_of, name in candidates:
                    hit = 1.0 if surprise_of >= level else 0.0
                    corrected.append((surprise_of - max(0.0, math.log10(realised[name] / risk)), name))
                    realised[name] += (hit - realised[name]) / recalibrate
                candidates = corrected
            candidates += [(-logs[i] / LN10, f"extra{k}") for k, logs in enumerate(extra_logs)]
            surprise, source = max(candidates)
            span = high - low
            if range_tolerance > 0 and span > 0:
                beyond = max(low - values[i], values[i] - high) / span
                if beyond > range_tolerance and level * (1 + beyond) > surprise:
                    surprise, source = level * (1 + beyond), "range"
            if stuck[i] > surprise:
                surprise, source = stuck[i], "stuck"
            # The slow scale's surprise, from the daemon itself (its own model over block means).
            if slow[i] > surprise:
                surprise, source = slow[i], "slow"
            if seasonal[i] > surprise:
                surprise, source = seasonal[i], "seasonal"
            for name, series, tolerance in record_candidates:
                # Variant: a value of `series` beyond its all-time post-warm-up maximum by more
                # than `tolerance` of it is at least at the alarm level, like the range check.
                top = records.get(name)
                if top is not None and top > 0 and series[i] > top * (1 + tolerance):
                    candidate = level * series[i] / top
                    if candidate > surprise:
                        surprise, source = candidate, name
                records[name] = series[i] if top is None else max(top, series[i])
            raw = max(0.0, surprise) / (max(0.0, surprise) + level) if math.isfinite(surprise) else 1.0
            above = raw > 0.5
            reported = raw if (not recent or raw > max(recent)) else raw * 0.5
            recent.append(raw)
            if len(recent) > suppression:
                recent.pop(0)
            cooling = since_event <= cooldown or in_episode
            since_event += 1
            fired = False
            if not above:
                below_run += 1
                if in_episode and below_run >= recovery:
                    in_episode = False
            else:
                if below_run >= recovery or not bursts:
                    # AlarmGate's recurring bursts: a burst starting one interval after the
                    # previous one, when the two intervals before were the same within `periodic`
                    # of it, raises no event (unless it escalates).
                    gap = i - bursts[-1] if bursts else 0
                    recurring = (periodic > 0 and len(bursts) == 3 and gap >= cooldown
                                 and abs(gap - (bursts[-1] - bursts[-2])) <= periodic * gap
                                 and abs(gap - (bursts[-2] - bursts[-3])) <= periodic * gap)
                    bursts = (bursts + [i])[-3:]
                below_run = 0
                s = max(0.0, surprise) if math.isfinite(surprise) else math.inf
                escalates = escalation > 0 and math.isfinite(event_surprise) and s >= event_surprise + escalation
                if not in_episode and ((since_event > cooldown and not recurring) or escalates):
                    in_episode, since_event, event_surprise, fired = True, 0, s, True
                    if sources is not None:
                        sources[i] = source
            if (cooling or (recurring and above)) and not fired:
                reported *= 0.5
            out[i] = reported
        low, high = min(low, values[i]), max(high, values[i])
        if range_memory and i > 0:
            # Variant: the range shrinks toward the running mean with a memory of `range_memory`
            # points, so it describes the recent past rather than all time.
            mean += (values[i] - mean) / min(i + 1, range_memory)
            low += (mean - low) / range_memory
            high -= (high - mean) / range_memory
        elif range_memory:
            mean = values[i]
    return out


def seconds_of_day(timestamp):
    t = datetime.strptime(timestamp[:19], "%Y-%m-%d %H:%M:%S")
    return t.hour * 3600 + t.minute * 60 + t.second, t.weekday()


def error_scale(row):
    """The daemon's normaliser scale per row, recovered as |x − expected| / error, so that other
    residuals can be put in the same units as the model's error."""
    scale, last = [], 1.0
    for v, x, e in zip(row["value"], row["expected"], row["error"]):
        if e > 1e-9 and abs(v - x) > 0:
            last = abs(v - x) / e
        scale.append(last)
    return scale


class TimeOfDayProfile:
    """An exponentially weighted mean of the value in each time-of-day (and optionally weekday)
    bucket, learned as the rows go by: what the same hour of earlier days looked like."""

    def __init__(self, buckets=48, weekly=False, rate=0.3):
        self.buckets, self.weekly, self.rate = buckets, weekly, rate
        self.mean, self.count = {}, {}

    def bucket(self, timestamp):
        second, weekday = seconds_of_day(timestamp)
        return int(second * self.buckets / 86400), weekday if self.weekly else 0

    def update(self, bucket, value):
        self.count[bucket] = self.count.get(bucket, 0) + 1
        previous = self.mean.get(bucket)
        self.mean[bucket] = value if previous is None else previous + self.rate * (value - previous)


def seasonal_error(row, buckets=48, weekly=False, rate=0.3, mode="mix", memory=100):
    """The error against a mixture of the model and a time-of-day profile (or the smaller of the
    two errors), both in the model's units: can the same hour of earlier days help?"""
    v, e, x = row["value"], row["error"], row["expected"]
    scale, profile = error_scale(row), TimeOfDayProfile(buckets, weekly, rate)
    model_sq, season_sq, out = 1.0, 1.0, list(e)
    for i in range(len(v)):
        b = profile.bucket(row["timestamp"][i])
        if profile.count.get(b, 0) >= 2:
            season = abs(v[i] - profile.mean[b]) / scale[i]
            if mode == "mix":
                w = season_sq / (model_sq + season_sq)
                out[i] = abs(v[i] - (w * x[i] + (1 - w) * profile.mean[b])) / scale[i]
            else:
                out[i] = min(e[i], season)
            model_sq += (min(e[i], 8) ** 2 - model_sq) / memory
            season_sq += (min(season, 8) ** 2 - season_sq) / memory
        profile.update(b, v[i])
    return out


def seasonal_residual(row, buckets=48, rate=0.3):
    """|x − the time-of-day profile| in the model's error units (0 until a bucket has 3 values)."""
    v = row["value"]
    scale, profile, out = error_scale(row), TimeOfDayProfile(buckets, rate=rate), [0.0] * len(v)
    for i in range(len(v)):
        b = profile.bucket(row["timestamp"][i])
        if profile.count.get(b, 0) >= 3:
            out[i] = abs(v[i] - profile.mean[b]) / scale[i]
        profile.update(b, v[i])
    return out


def blended_error(row, share, source):
    """The error after moving the reconstruction `share` of the way toward another forecast:
    the previous reading ("previous"), or the last reading seen in the same 15-minute bucket of
    the day ("bucket": the previous one or two readings, yesterday's at a bucket's first)."""
    v, x, scale = row["value"], row["expected"], error_scale(row)
    out, previous, last_in_bucket = list(row["error"]), None, {}
    for i in range(len(v)):
        b = int(seconds_of_day(row["timestamp"][i])[0] * 96 / 86400)
        other = previous if source == "previous" else last_in_bucket.get(b)
        if other is not None:
            out[i] = abs(v[i] - (x[i] + share * (other - x[i]))) / scale[i]
        previous, last_in_bucket[b] = v[i], v[i]
    return out


def both_surprising_logs(row, buckets=48):
    """A point both the model and the time-of-day profile find surprising: the two surprises
    added (independent evidence), less log10(1 + S·ln 10) so that the sum is itself a tail
    probability. Only this candidate can raise an alarm that neither raises alone."""
    out = []
    for a, b in zip(tail_logs(row["error"]), tail_logs(seasonal_residual(row, buckets))):
        total = -(a + b) / LN10
        total -= math.log10(1 + LN10 * total) if total > 0 else 0
        out.append(-total * LN10)
    return out


def sequence_logs(values, levels=8, order=2, alpha=0.5):
    """ln P(level_t | the previous `order` levels) under Laplace-smoothed counts: a Markov
    "have I seen this sequence before" novelty, the idea behind HTM's and CAD OSE's scores."""
    low, high, history, context_counts, symbol_counts = math.inf, -math.inf, [], {}, {}
    out = [0.0] * len(values)
    for i, x in enumerate(values):
        q = min(levels + 1, max(-1, int((x - low) / (high - low) * levels))) if high > low else 0
        if len(history) >= order:
            c = tuple(history[-order:])
            seen, pair = context_counts.get(c, 0), symbol_counts.get((c, q), 0)
            out[i] = math.log((pair + alpha) / (seen + (levels + 2) * alpha))
            context_counts[c], symbol_counts[(c, q)] = seen + 1, pair + 1
        history.append(q)
        low, high = min(low, x), max(high, x)
    return out


def normalised_error(values, predict):
    """|x − prediction| in running standard deviations (the daemon's normaliser), clipped at 8."""
    out, mean, var = [0.0] * len(values), 0.0, 0.0
    for i, x in enumerate(values):
        rate = max(1.0 / (i + 1), 1e-4)
        sd = math.sqrt(var) if var > 0 else 1.0
        if i > 0:
            out[i] = min(abs(x - predict(values, i)) / sd, 8.0)
        delta = x - mean
        mean += rate * delta
        var = (1 - rate) * (var + rate * delta * delta)
    return out


def local_scale(errors, memory, floor, power):
    out, m = [], None
    for e in errors:
        m = e if m is None else m
        out.append(e / (floor + m) ** power)
        m += (min(e, 8) - m) / memory
    return out


def with_error(row, error):
    return dict(row, error=error)


VARIANTS = {
    "risk-1.5e-3": lambda r: pipeline(r, risk=1.5e-3),
    "risk-2e-3": lambda r: pipeline(r, risk=2e-3),
    "risk-7e-4": lambda r: pipeline(r, risk=7e-4),
    "trend-risk-3e-4": lambda r: pipeline(r, trend_risk=3e-4),
    "trend-risk-1e-4": lambda r: pipeline(r, trend_risk=1e-4),
    "trend-risk-3e-3": lambda r: pipeline(r, trend_risk=3e-3),
    "recurring-off": lambda r: pipeline(r, periodic=0.0),
    "recurring-0.05": lambda r: pipeline(r, periodic=0.05),
    "recurring-0.2": lambda r: pipeline(r, periodic=0.2),
    "base": lambda r: pipeline(r),
    "escalation-off": lambda r: pipeline(r, escalation=0),
    "point-risk-3e-4": lambda r: pipeline(r, point_risk=3e-4),
    "point-risk-1e-4": lambda r: pipeline(r, point_risk=1e-4),
    "point-risk-1e-5": lambda r: pipeline(r, point_risk=1e-5),
    "point-tail-on-sqrt": lambda r: pipeline(r, point_transform=math.sqrt),
    "point-tail-on-log1p": lambda r: pipeline(r, point_transform=math.log1p),
    "point-record-1000": lambda r: pipeline(r, record=1000),
    "recalibrate-2000": lambda r: pipeline(r, recalibrate=2000),
    "tails-average-all-until-memory": lambda r: pipeline(r, early_tails=True),
    "record-step-size": lambda r: pipeline(r, record_candidates=[
        ("step", [0.0] + [abs(b - a) for a, b in zip(r["value"], r["value"][1:])], 0.05)]),
    "record-error": lambda r: pipeline(r, record_candidates=[("error", r["error"], 0.05)]),
    "range-memory-1000": lambda r: pipeline(r, range_memory=1000),
    "range-memory-3000": lambda r: pipeline(r, range_memory=3000),
    "range-memory-10000": lambda r: pipeline(r, range_memory=10000),
    "recalibrate-5000": lambda r: pipeline(r, recalibrate=5000),
    "recalibrate-500": lambda r: pipeline(r, recalibrate=500),
    "trend-tail-4-too": lambda r: pipeline(r, extra_logs=[tail_logs(moving_average(r["error"], 4))]),
    "trend-tail-128-too": lambda r: pipeline(r, extra_logs=[tail_logs(moving_average(r["error"], 128))]),
    "signed-trend-32-too": lambda r: pipeline(r, extra_logs=[tail_logs(
        [abs(m) for m in moving_average(r["signed"], 32)])]),
    "sequence-novelty-tail": lambda r: pipeline(r, extra_logs=[sequence_logs(r["value"])]),
    "local-error-scale": lambda r: pipeline(with_error(r, local_scale(r["error"], 256, 0.5, 0.5))),
    "seasonal-mix": lambda r: pipeline(with_error(r, seasonal_error(r))),
    "seasonal-min": lambda r: pipeline(with_error(r, seasonal_error(r, mode="min"))),
    "seasonal-weekly-mix": lambda r: pipeline(with_error(r, seasonal_error(r, weekly=True))),
    "blend-2pct-toward-previous": lambda r: pipeline(with_error(r, blended_error(r, 0.02, "previous"))),
    "blend-2pct-toward-bucket-last": lambda r: pipeline(with_error(r, blended_error(r, 0.02, "bucket"))),
    "seasonal-and-model-48": lambda r: pipeline(r, extra_logs=[both_surprising_logs(r, 48)]),
    "seasonal-and-model-96": lambda r: pipeline(r, extra_logs=[both_surprising_logs(r, 96)]),
    "predict-last-value": lambda r: pipeline(with_error(r, normalised_error(r["value"], lambda v, i: v[i - 1]))),
    "predict-mean-of-32": lambda r: pipeline(with_error(r, normalised_error(
        r["value"], lambda v, i: sum(v[max(0, i - 32):i]) / min(32, i)))),
}


def explain_all(nab: Path, out: Path, settings: list[str] = (), anomalyctl: str | None = None) -> dict:
    if anomalyctl is None:
        anomalyctl = binaries.release_binary()
    windows = json.loads((nab / "labels" / "combined_windows.json").read_text())
    out.mkdir(parents=True, exist_ok=True)

    def one(key):
        target = out / key.replace("/", "__")
        overrides = [x for setting in settings for x in ("--set", setting)]
        subprocess.run([str(anomalyctl), "replay", "--input", str(nab / "data" / key), "--output", str(target),
                        "--explain", *overrides], check=True)
        with target.open(newline="") as f:
            rows = list(csv.DictReader(f))
        value = [float(r["value"]) for r in rows]
        expected = [float(r["expected"]) for r in rows]
        error = [float(r["error"]) for r in rows]
        return key, {
            "timestamp": [r["timestamp"] for r in rows], "value": value, "expected": expected, "error": error,
            "signed": [(1 if v >= x else -1) * e for v, x, e in zip(value, expected, error)],
            # What NAB's optimiser is given: the alarm score (the onset filter and the episode
            # halving applied), which the replica below reproduces.
            "score": [float(r["alarm_score"]) for r in rows],
            "slow": [float(r.get("slow_surprise") or 0) for r in rows],
            "seasonal": [float(r.get("seasonal_surprise") or 0) for r in rows],
        }

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, sorted(windows)))


def evaluate(data, windows, profiles, scores_of) -> list[float]:
    files = [scorer.prepare_file(k, r["timestamp"], scores_of(r), windows[k]) for k, r in data.items()]
    total = sum(f.window_count for f in files)
    return [scorer.normalise(scorer.optimise_threshold(files, p)[1], total, p) for p in profiles]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", help=f"any of: {', '.join(VARIANTS)}")
    parser.add_argument("--all", action="store_true", help="run every variant")
    parser.add_argument("--check", action="store_true", help="compare the replica with the daemon's scores")
    parser.add_argument("--attribute", action="store_true", help="count events by what raised them")
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB)
    parser.add_argument("--out", type=Path, default=REPO / "out" / "nab" / "explain")
    parser.add_argument("--anomalyctl", help="anomalyctl binary (default: build the release one)")
    parser.add_argument("--set", action="append", default=[],
                        help="replay with this override, e.g. --set detector.seed=7 (the replica assumes the "
                             "default post-processing settings)")
    args = parser.parse_args()
    if not (args.nab / "labels" / "combined_windows.json").exists():
        print(f"NAB corpus not found at {args.nab} (pass --nab)", file=sys.stderr)
        return 2
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    windows = json.loads((args.nab / "labels" / "combined_windows.json").read_text())
    profiles = scorer.load_profiles(args.nab / "config" / "profiles.json")
    chosen = [profiles[p] for p in scorer.PROFILES]
    data = explain_all(args.nab, args.out, args.set, args.anomalyctl)

    if args.check:
        worst = max(abs(a - b) for r in data.values() for a, b in zip(pipeline(r), r["score"]))
        print(f"replica against the daemon: largest score difference {worst:.3g} over {len(data)} files")
        if worst > 1e-9:
            return 1
    if args.attribute:
        counts: dict[tuple[str, str], int] = {}
        for key, r in data.items():
            sources: dict[int, str] = {}
            pipeline(r, sources=sources)
            limits = scorer.window_row_limits(r["timestamp"], windows[key])
            probation = scorer.probationary_length(len(r["timestamp"]))
            for i, source in sources.items():
                if i >= probation:
                    hit = "in a window" if any(a <= i <= b for a, b in limits) else "false"
                    counts[(source, hit)] = counts.get((source, hit), 0) + 1
        print("events after the probationary period, by what raised them:")
        for source in sorted({s for s, _ in counts}):
            good, bad = counts.get((source, "in a window"), 0), counts.get((source, "false"), 0)
            print(f"  {source:8} {good:4} in a window, {bad:4} outside any ({good / max(1, good + bad):.0%} precision)")
    names = list(VARIANTS) if args.all else args.variants
    if names:
        print(f"{'variant':28}{'standard':>10}{'low FP':>10}{'low FN':>10}   (corpus-optimised threshold)")
    for name in names:
        scores = evaluate(data, windows, chosen, VARIANTS[name])
        print(f"{name:28}" + "".join(f"{s:10.2f}" for s in scores), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
