"""What an event says about itself and what a person can look at: the past moments the
reconstruction drew on (the same phase of earlier cycles, on a periodic stream), the channel
that carried the error, the recent history behind `anomalyctl plot`, the picture itself (live
and offline), and `anomalyctl top`."""

import json
import math
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import BIN
from test_daemon import publisher, receive_events, subscribe

PERIOD = 40
SPIKE = 650
START = 1_700_000_000
SVG = "{http://www.w3.org/2000/svg}"


def wave(i: int) -> float:
    return 20 + 10 * math.sin(2 * math.pi * i / PERIOD)


@pytest.fixture
def explained(daemon, zmq_context):
    """One periodic stream with a spike, one three-channel stream whose channel 2 jumps, and the
    events they raised."""
    sub = subscribe(zmq_context, daemon)
    pub = publisher(zmq_context, daemon)
    for i in range(SPIKE + 20):
        pub.send_multipart([b"wave", f"@{START + i},{wave(i) + (15 if i == SPIKE else 0):.4f}".encode()])
        jump = 12 if i == SPIKE else 0
        pub.send_multipart([b"trio", f"{wave(i):.4f},{wave(i + 10):.4f},{wave(i + 20) + jump:.4f}".encode()])
    events = receive_events(sub, 2 * (SPIKE + 20), daemon)
    return daemon, {topic: body for topic, body, _ in events if body["anomaly"]}


def test_an_event_names_the_past_moments_and_the_channel_behind_it(explained):
    daemon, events = explained
    wave_event = events["wave"]
    assert wave_event["ts"] == (START + SPIKE) * 1000 and wave_event["error_channels"] == [0]
    moments = wave_event["moments"]
    assert len(moments) == 3
    for moment in moments:
        # Whole cycles back: the same phase of earlier cycles, at their own timestamps.
        assert moment["readings_back"] % PERIOD == 0, moments
        # Within the 96 readings the daemon keeps (server.stream_history), with their timestamps.
        kept = moment["readings_back"] < 96
        assert moment["ts"] == (wave_event["ts"] - 1000 * moment["readings_back"] if kept else None), moments
        assert 0 < moment["weight"] <= 1
    assert [m["weight"] for m in moments] == sorted((m["weight"] for m in moments), reverse=True)
    # The channel that jumped is the one named.
    assert events["trio"]["error_channels"][0] == 2, events["trio"]

    detail = json.loads(daemon.ctl("stream", "wave", "--json").stdout)["stream"]
    assert [m["readings_back"] for m in detail["last_event_moments"]] == [m["readings_back"] for m in moments]
    assert detail["last_event_channels"] == [0]


def test_history_and_the_live_plot(explained, tmp_path):
    daemon, _ = explained
    history = json.loads(daemon.ctl("history", "wave", "--json").stdout)
    rows = history["rows"]
    assert history["channels"] == 1 and len(rows) == 96  # server.stream_history, the default
    assert [r["ts"] for r in rows] == [(START + i) * 1000 for i in range(SPIKE + 20 - 96, SPIKE + 20)]
    spike = rows[-20]
    assert spike["anomaly"] is True and spike["in_episode"] is True and spike["values"] == [pytest.approx(wave(SPIKE) + 15)]
    assert all(r["band"][0] > 0 for r in rows) and not any(r["anomaly"] for r in rows[:-20])

    picture = tmp_path / "wave.svg"
    daemon.ctl("plot", "wave", "-o", str(picture))
    svg = ET.parse(picture).getroot()
    assert svg.tag == SVG + "svg"
    events = svg.findall(f".//{SVG}circle")
    assert len(events) == 1
    # The episode is shaded, in both panels.
    shaded = [r for r in svg.iter(SVG + "rect") if r.get("fill") == "#d62728"]
    assert len(shaded) == 2
    assert daemon.ctl("plot", "nonesuch", "-o", str(tmp_path / "x.svg"), check=False).returncode == 1


def test_the_offline_plot_marks_what_replay_raises(tmp_path):
    series = tmp_path / "series.csv"
    series.write_text(
        "timestamp,value\n" + "".join(f"{i},{wave(i) + (15 if i in (500, 800) else 0):.4f}\n" for i in range(1000)))
    replayed = subprocess.run(
        [str(BIN / "anomalyctl"), "replay", "--input", str(series), "--output", "-"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    raised = [i for i, line in enumerate(replayed[1:]) if line.endswith(",1")]
    assert raised == [500, 800]
    picture = tmp_path / "series.svg"
    subprocess.run(
        [str(BIN / "anomalyctl"), "plot", "--input", str(series), "-o", str(picture)],
        capture_output=True, text=True, check=True)
    svg = ET.parse(picture).getroot()
    assert len(svg.findall(f".//{SVG}circle")) == len(raised)
    assert "series.csv" in "".join(svg.itertext())
    refused = subprocess.run([str(BIN / "anomalyctl"), "plot", "-o", str(picture)], capture_output=True, text=True)
    assert refused.returncode != 0 and "either a STREAM or --input" in refused.stderr


def test_top_ranks_streams_by_score(explained):
    daemon, _ = explained
    screen = daemon.ctl("top", "--once").stdout.splitlines()
    assert screen[0].startswith("anomalyd: 2 streams")
    rows = [line for line in screen[3:] if line.strip()]
    scores = [float(line.split()[-6]) for line in rows]  # … score sparkline samples events age "ago"
    assert scores == sorted(scores, reverse=True) and len(rows) == 2
    assert all(len([c for c in line if c in "▁▂▃▄▅▆▇█"]) == 32 for line in rows)
