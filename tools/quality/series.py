"""One labelled series of any corpus, in the form the quality harness replays and scores."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Series:
    """Rows of one stream with their labels.

    `segments` are the labelled anomalies as inclusive row ranges; `labels` marks their rows.
    Only rows from `scored_from` on count in every metric: what comes before is the known-normal
    start of the stream (a train part, NAB's probationary period), fed to the detector first.
    """

    corpus: str
    name: str
    columns: list[str]
    timestamps: list[str]
    values: list[list[float]]
    segments: list[tuple[int, int]]
    scored_from: int
    nab_windows: list[list[str]] | None = None  # NAB's own windows, for NAB's scorer
    kind: str = ""  # the fault kind, where the corpus names one
    source: Path | None = None  # an existing CSV the replay can read as it is
    labels: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.labels = [0] * len(self.values)
        for start, end in self.segments:
            for i in range(start, end + 1):
                self.labels[i] = 1

    @property
    def rows(self) -> int:
        return len(self.values)

    def write_csv(self, path: Path) -> Path:
        """The replay's input: a header, then `timestamp,v1[,v2…]`."""
        if self.source is not None:
            return self.source
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as out:
            w = csv.writer(out)
            w.writerow(["timestamp", *self.columns])
            for ts, row in zip(self.timestamps, self.values):
                w.writerow([ts, *(f"{v:.7g}" for v in row)])
        return path
