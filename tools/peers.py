#!/usr/bin/env python3
"""What users would pick instead, measured in the same run as anomalyd's detector.

    pip install numpy river      # once
    tools/peers.py [--points 20000]

- numpy: the same model as anomalyd's default (GRU 8, attention 8 over a 32-step window,
  univariate), one step per point: forward, error, and an SGD step on the read-out and the
  attention gain (a partial backward pass: cheaper than anomalyd's, which trains everything).
- river: HalfSpaceTrees with a MinMaxScaler, score_one + learn_one per point.
- anomalyd: `anomalyd-bench` (release), score + learn with the full backward pass.
Prints the median µs/point of three runs each and anomalyd's speed-up over each peer.
"""

import argparse
import math
import re
import subprocess
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def series(n):
    rng = np.random.default_rng(1)
    return 20 + 10 * np.sin(np.arange(n) / 8) + rng.normal(0, 1, n)


def numpy_model(values):
    H, D, W, C = 8, 8, 32, 1
    rng = np.random.default_rng(42)
    u = lambda *shape, s=1.0: (rng.uniform(-1, 1, shape) * s).astype(np.float32)
    Wx, Uzr, Un, b = u(3 * H, C), u(2 * H, H, s=0.25), u(H, H, s=0.25), np.zeros(3 * H, np.float32)
    Wq, Wk, Wo, bo, gain = u(D, H, s=0.25), u(D, H, s=0.25), np.zeros((C, H), np.float32), np.zeros(C, np.float32), np.ones(C, np.float32)
    h = np.zeros(H, np.float32)
    contexts = np.zeros((W, H), np.float32)
    window_values = np.zeros((W, C), np.float32)
    filled, slot, mean, var, n = 0, 0, 0.0, 0.0, 0
    start = time.perf_counter()
    for value in values:
        x = np.array([(value - mean) / math.sqrt(var) if n > 1 and var > 0 else 0.0], np.float32)
        q = Wq @ h
        k = (Wk.T @ q) / math.sqrt(D)
        a = np.zeros(C, np.float32)
        if filled:
            s = contexts[:filled] @ k
            p = np.exp(s - s.max())
            p /= p.sum()
            a = p @ window_values[:filled]
        pred = gain * a + Wo @ h + bo
        g = np.clip(pred - x, -1, 1)
        Wo -= 0.01 * np.outer(g, h)
        bo -= 0.01 * g
        gain -= 0.01 * g * a
        contexts[slot], window_values[slot] = h, x
        slot, filled = (slot + 1) % W, min(filled + 1, W)
        pre = Wx @ x + b
        pre[: 2 * H] += Uzr @ h
        z, r = 1 / (1 + np.exp(-pre[:H])), 1 / (1 + np.exp(-pre[H: 2 * H]))
        cand = np.tanh(pre[2 * H:] + Un @ (r * h))
        h = (1 - z) * cand + z * h
        n += 1
        rate = max(1 / n, 1e-4)
        d = value - mean
        mean += rate * d
        var = (1 - rate) * (var + rate * d * d)
    return (time.perf_counter() - start) / len(values) * 1e6


def river_hst(values):
    from river import anomaly, compose, preprocessing

    model = compose.Pipeline(preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(seed=42))
    start = time.perf_counter()
    for value in values:
        x = {"value": float(value)}
        model.score_one(x)
        model.learn_one(x)
    return (time.perf_counter() - start) / len(values) * 1e6


def anomalyd(points):
    subprocess.run(["swift", "build", "-c", "release", "--product", "anomalyd-bench"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([str(REPO / ".build/release/anomalyd-bench"), str(points)], capture_output=True, text=True,
                         check=True).stdout
    return float(re.search(r"1 channel: ([0-9.]+) µs/point", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=20000)
    args = parser.parse_args()
    values = series(args.points)
    median = lambda f: sorted(f() for _ in range(3))[1]
    ours = anomalyd(max(args.points, 200000))
    results = {
        "numpy, same model (forward + read-out update)": median(lambda: numpy_model(values)),
        "river HalfSpaceTrees + MinMaxScaler": median(lambda: river_hst(values)),
    }
    print(f"{'detector':50} {'µs/point':>10} {'anomalyd is':>12}")
    print(f"{'anomalyd (score + full learning step)':50} {ours:10.2f} {'':>12}")
    for name, value in results.items():
        print(f"{name:50} {value:10.2f} {value / ours:11.0f}×")


if __name__ == "__main__":
    main()
