"""Every labelled corpus the quality harness replays, as lists of `Series`.

- `nab`: NAB v1.1 (`../shared/datasets/nab`), 58 series; rows in NAB's probationary period
  are not scored.
- `skab`: SKAB (`../shared/datasets/skab`), 34 pump experiments of 8 channels; the first 400
  rows of each are its train part.
- `synthetic`: `tools/synthetic/corpus.py`, four kinds of sensor series with seven kinds of
  fault and a three-channel machine (one draw per seed).
- `periodic`: `tools/quality/periodic.py`, long periodic signals with one subtle fault each.
- `servers`: `tools/quality/servers.py`, server machines of 38 metrics.
- `telemetry`: `tools/quality/telemetry.py`, spacecraft-like channels: a telemetry value beside
  mostly silent command channels.

The shared corpora are absent from a user's clone: `available()` says which are here.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared" / "datasets"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tools" / "nab"))
sys.path.insert(0, str(REPO / "tools" / "synthetic"))
import corpus as synthetic_corpus  # noqa: E402
import periodic  # noqa: E402
import scorer  # noqa: E402
import servers  # noqa: E402
import telemetry  # noqa: E402
from series import Series  # noqa: E402

NAMES = ("nab", "skab", "synthetic", "periodic", "servers", "telemetry")
SKAB_TRAIN = 400


def available(shared: Path = SHARED) -> dict[str, bool]:
    return {"nab": (shared / "nab" / "labels" / "combined_windows.json").exists(),
            "skab": (shared / "skab" / "data").is_dir(), "synthetic": True, "periodic": True, "servers": True,
            "telemetry": True}


def _minutes(rows: int, step: int) -> list[str]:
    start = datetime(2026, 1, 1)
    return [(start + timedelta(minutes=step * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(rows)]


def nab(shared: Path = SHARED) -> list[Series]:
    root = shared / "nab"
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    out = []
    for key in sorted(windows):
        with (root / "data" / key).open(newline="") as f:
            rows = list(csv.DictReader(f))
        timestamps = [r["timestamp"] for r in rows]
        segments = scorer.window_row_limits(timestamps, windows[key])
        out.append(Series("nab", key, ["value"], timestamps, [[float(r["value"])] for r in rows], segments,
                          scorer.probationary_length(len(rows)), nab_windows=windows[key], source=root / "data" / key))
    return out


def skab(shared: Path = SHARED) -> list[Series]:
    out = []
    for path in sorted((shared / "skab" / "data").glob("*/*.csv")):
        if path.parent.name == "anomaly-free":
            continue
        with path.open(newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
        header, body = rows[0], rows[1:]
        labels = [int(float(r[header.index("anomaly")])) for r in body]
        segments, start = [], None
        for i, label in enumerate(labels + [0]):
            if label and start is None:
                start = i
            elif not label and start is not None:
                segments.append((start, i - 1))
                start = None
        columns = header[1:9]
        out.append(Series("skab", f"{path.parent.name}/{path.stem}", [c.replace(" ", "_") for c in columns],
                          [r[0] for r in body], [[float(v) for v in r[1:9]] for r in body], segments, SKAB_TRAIN))
    return out


def synthetic(seed: int = 1) -> list[Series]:
    probation = scorer.probationary_length(synthetic_corpus.ROWS)
    return [Series("synthetic", f.name, f.columns, f.timestamps, f.values, [a.window for a in f.anomalies], probation,
                   kind=f.kind) for f in synthetic_corpus.build(seed)]


def generated_periodic(seed: int = 1) -> list[Series]:
    stamps = _minutes(periodic.ROWS, 1)
    return [Series("periodic", f"{base}/{fault}", ["value"], stamps, [[float(v)] for v in values], [rows],
                   periodic.TRAIN, kind=fault) for base, fault, values, rows in periodic.build(seed)]


def generated_servers(seed: int = 1) -> list[Series]:
    stamps = _minutes(servers.ROWS, 1)
    columns = [f"m{c}" for c in range(servers.CHANNELS)]
    out = []
    for i, (x, incidents) in enumerate(servers.build(seed)):
        out.append(Series("servers", f"machine-{i}", columns, stamps, x.tolist(), [(s, e) for s, e, _ in incidents],
                          servers.TRAIN, kind=",".join(k for _, _, k in incidents)))
    return out


def generated_telemetry(seed: int = 1) -> list[Series]:
    stamps = _minutes(telemetry.ROWS, 1)
    columns = ["value", *(f"command{c}" for c in range(telemetry.COMMANDS))]
    return [Series("telemetry", f"channel-{i}/{base}", columns, stamps, x.tolist(), [(s, e) for s, e, _ in faults],
                   telemetry.TRAIN, kind=",".join(k for _, _, k in faults))
            for i, (base, x, faults) in enumerate(telemetry.build(seed))]


def load(name: str, seed: int = 1, shared: Path = SHARED) -> list[Series]:
    return {"nab": lambda: nab(shared), "skab": lambda: skab(shared), "synthetic": lambda: synthetic(seed),
            "periodic": lambda: generated_periodic(seed), "servers": lambda: generated_servers(seed),
            "telemetry": lambda: generated_telemetry(seed)}[name]()
