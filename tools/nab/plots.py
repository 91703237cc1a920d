"""One SVG per NAB file: the series, the label windows, the score, the corpus threshold and the
detector's own alarms; and an index page. Plain SVG, no plotting library needed."""

from __future__ import annotations

import html
from pathlib import Path

import scorer

WIDTH, HEIGHT = 1100, 300
SERIES_TOP, SERIES_BOTTOM = 20, 170
SCORE_TOP, SCORE_BOTTOM = 190, 280


def _x(i: int, n: int) -> float:
    return 50 + (WIDTH - 60) * i / max(1, n - 1)


def draw(path: Path, key: str, timestamps, values, scores, alarms, windows, threshold: float) -> None:
    n = len(values)
    numbers = [float(v) for v in values]
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    step = max(1, n // 2000)  # at most ~2,000 points per line
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<text x="50" y="13">{html.escape(key)}</text>']
    for start, end in scorer.window_row_limits(timestamps, windows):
        x0, x1 = _x(start, n), _x(end, n)
        parts.append(f'<rect x="{x0:.1f}" y="{SERIES_TOP}" width="{max(1, x1 - x0):.1f}" height="{SCORE_BOTTOM - SERIES_TOP}" fill="#ffd8a8" opacity="0.6"/>')
    probation = scorer.probationary_length(n)
    parts.append(f'<rect x="50" y="{SERIES_TOP}" width="{_x(probation, n) - 50:.1f}" height="{SCORE_BOTTOM - SERIES_TOP}" fill="#e9ecef" opacity="0.7"/>')
    points = " ".join(f"{_x(i, n):.1f},{SERIES_BOTTOM - (numbers[i] - low) / span * (SERIES_BOTTOM - SERIES_TOP):.1f}" for i in range(0, n, step))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1c7ed6" stroke-width="1"/>')
    # Scores: take the maximum over each drawn bucket so short spikes stay visible.
    score_points = []
    for i in range(0, n, step):
        s = max(scores[i:i + step])
        score_points.append(f"{_x(i, n):.1f},{SCORE_BOTTOM - s * (SCORE_BOTTOM - SCORE_TOP):.1f}")
    parts.append(f'<polyline points="{" ".join(score_points)}" fill="none" stroke="#495057" stroke-width="1"/>')
    ty = SCORE_BOTTOM - min(threshold, 1.0) * (SCORE_BOTTOM - SCORE_TOP)
    parts.append(f'<line x1="50" x2="{WIDTH - 10}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#f03e3e" stroke-dasharray="4 3"/>')
    for i, a in enumerate(alarms):
        if a:
            x = _x(i, n)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{SERIES_TOP}" y2="{SCORE_BOTTOM}" stroke="#e03131" stroke-width="1.5"/>')
    parts.append(f'<text x="5" y="{SERIES_TOP + 10}">{high:.4g}</text><text x="5" y="{SERIES_BOTTOM}">{low:.4g}</text>')
    parts.append(f'<text x="5" y="{SCORE_TOP + 10}">score</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts))


def draw_all(directory: Path, keys, outputs, windows, threshold: float, detector: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    items = []
    for key in keys:
        timestamps, values, scores, alarms = outputs[key]
        name = key.replace("/", "__").replace(".csv", ".svg")
        draw(directory / name, key, timestamps, values, scores, alarms, windows[key], threshold)
        items.append(f'<h3>{html.escape(key)}</h3><img src="{name}" width="{WIDTH}">')
    index = directory / "index.html"
    legend = ("orange: label windows · grey: probationary period · blue: series · dark grey: score · "
              f"dashed red: corpus-optimised threshold {threshold:.6g} · red bars: the detector's own alarms")
    index.write_text(f"<html><body><h1>NAB — {html.escape(detector)}</h1><p>{legend}</p>" + "\n".join(items) + "</body></html>")
    return index
