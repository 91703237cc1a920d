"""`anomalyctl replay`: the offline contract that the NAB harness and other checks rely on."""

import csv
import json
import subprocess
import time

import zmq

from conftest import BIN, Daemon
from test_daemon import LENGTH, lines, publisher, series, subscribe


def replay(tmp_path, text, *extra):
    source = tmp_path / "in.csv"
    source.write_text(text)
    out = tmp_path / "out.csv"
    result = subprocess.run(
        [str(BIN / "anomalyctl"), "replay", "--input", str(source), "--output", str(out), *extra],
        capture_output=True, text=True, timeout=60,
    )
    return result, (list(csv.reader(out.open())) if out.exists() else [])


def test_output_contract(tmp_path):
    rows = ["timestamp,temp,pressure"] + [f"day {i} 12:00,{20 + (i % 7)},{1000 - i % 5}" for i in range(600)]
    result, out = replay(tmp_path, "\n".join(rows) + "\n")
    assert result.returncode == 0, result.stderr
    assert out[0] == ["timestamp", "temp", "pressure", "anomaly_score", "is_anomaly"]
    assert len(out) == 601
    for source_row, out_row in zip(rows[1:], out[1:]):
        assert out_row[:3] == source_row.split(",")  # verbatim, timestamp never parsed
        assert 0.0 <= float(out_row[3]) <= 1.0
        assert out_row[4] in ("0", "1")


def test_deterministic(tmp_path):
    text = "timestamp,value\n" + "\n".join(f"{i},{v}" for i, v in enumerate(series())) + "\n"
    first = replay(tmp_path, text)[1]
    second = replay(tmp_path, text)[1]
    assert first == second
    flagged = [i for i, row in enumerate(first[1:]) if row[3] == "1"]
    assert flagged == [1000, 1300]


def test_malformed_row_names_its_line(tmp_path):
    result, _ = replay(tmp_path, "timestamp,value\n1,2\n2,abc\n3,4\n")
    assert result.returncode == 1
    assert "line 3" in result.stderr and "not a finite number" in result.stderr
    assert "Fatal error" not in result.stderr and "Stack" not in result.stderr
    result, _ = replay(tmp_path, "timestamp,value\n1,2\n2,3,4\n")
    assert result.returncode == 1 and "line 3: 3 fields, the header has 2" in result.stderr
    result, _ = replay(tmp_path, "")
    assert result.returncode == 1 and "header" in result.stderr


def test_replay_scores_equal_the_daemons(tmp_path, zmq_context):
    """Same detector code, same configuration: the daemon's published scores for a stream are
    the replay's scores, row for row."""
    (tmp_path / "d").mkdir()
    daemon = Daemon(tmp_path / "d", config_text='[publish]\nmode = "all"\n')
    try:
        sub = subscribe(zmq_context, daemon)
        pub = publisher(zmq_context, daemon)
        for line in lines():
            pub.send_multipart([b"same", line.encode()])
        scores = []
        deadline = time.time() + 30
        while len(scores) < LENGTH and time.time() < deadline:
            if sub.poll(200):
                _, body, _ = sub.recv_multipart()
                event = json.loads(body)
                scores.append((event["score"], event["anomaly"]))
        pub.close()
        sub.close()
    finally:
        daemon.stop()
    text = "timestamp,value\n" + "\n".join(f"{i},{v}" for i, v in enumerate(series())) + "\n"
    out = replay(tmp_path, text)[1]
    assert len(scores) == LENGTH
    assert [(float(r[2]), r[3] == "1") for r in out[1:]] == scores


def test_explain_adds_why_columns_and_changes_nothing_else(tmp_path):
    text = "timestamp,value\n" + "\n".join(f"{i},{v}" for i, v in enumerate(series())) + "\n"
    plain = replay(tmp_path, text)[1]
    result, explained = replay(tmp_path, text, "--explain")
    assert result.returncode == 0, result.stderr
    assert explained[0] == plain[0] + ["expected", "error", "error_threshold", "warming_up", "reason", "slow_surprise",
                                       "seasonal_surprise", "in_episode", "alarm_score"]
    assert [row[:4] for row in explained] == plain
    # The alarm score is the score, halved where the point repeats recent scores (the onset
    # filter) and again inside a reported incident; the score itself is never halved.
    factors = []
    for row in explained[1:]:
        score, alarm = float(row[2]), float(row[-1])
        factor = next(f for f in (1, 0.5, 0.25) if abs(alarm - score * f) <= 1e-12 * max(1, score))
        factors.append(factor)
    assert 1 in factors and 0.5 in factors, set(factors)
    body = explained[1:]
    warm = [row[7] for row in body]
    assert warm[:200] == ["1"] * 200 and set(warm[200:]) == {"0"}
    reasons = [row[8] for row in body]
    assert set(reasons[:200]) == {"none"} and set(reasons[200:]) <= {"error", "trend", "range", "stuck", "slow",
                                                                     "seasonal"}
    # The slow scale reports a surprise only at a reading that completes a block of 24, once it
    # has learned from its first 50 blocks (1,200 readings) and the detector is out of warm-up.
    slow = [float(row[9]) for row in body]
    assert all(s >= 0 for s in slow)
    assert all(s == 0 for i, s in enumerate(slow) if i < 1200 or (i + 1) % 24 != 0)
    assert len(body) < 1200 or any(s > 0 for i, s in enumerate(slow) if (i + 1) % 24 == 0)
    # The seasonal check reports only at block ends too, and only after the warm-up.
    seasonal = [float(row[10]) for row in body]
    assert all(s >= 0 for s in seasonal)
    assert all(s == 0 for i, s in enumerate(seasonal) if i < 200 or (i + 1) % 24 != 0)
    assert all(float(row[5]) >= 0 for row in body)
    # After warm-up the reconstruction follows the series: most errors are within the threshold.
    calm = [row for row in body[300:1000] if row[3] == "0"]
    assert all(float(row[6]) > 0 and float(row[6]) != float("inf") for row in calm)
    within = sum(float(row[5]) <= float(row[6]) for row in calm)
    assert within > 0.95 * len(calm)
    flagged = [row for row in body if row[3] == "1"]
    assert flagged and all(float(row[5]) > float(row[6]) or float(row[2]) > 0.5 for row in flagged)
    # The episode state is on from every event's row until the episode closes, and off in warm-up.
    episode = [row[11] for row in body]
    assert set(episode) <= {"0", "1"} and set(episode[:200]) == {"0"}
    assert all(row[11] == "1" for row in flagged)
    assert episode.count("1") > len(flagged)
    # The spikes in the series are flagged for their error or for leaving the range.
    assert {row[8] for row in flagged} <= {"error", "range", "trend"}
    assert any(row[8] in ("error", "range") for row in flagged)


def test_explain_names_one_expected_column_per_channel(tmp_path):
    rows = ["timestamp,temp,pressure"] + [f"{i},{20 + (i % 7)},{1000 - i % 5}" for i in range(300)]
    result, out = replay(tmp_path, "\n".join(rows) + "\n", "--explain")
    assert result.returncode == 0, result.stderr
    assert out[0][3:] == ["anomaly_score", "is_anomaly", "expected_temp", "expected_pressure", "error",
                          "error_threshold", "warming_up", "reason", "slow_surprise", "seasonal_surprise",
                          "in_episode", "alarm_score"]
    last = out[-1]
    assert abs(float(last[5]) - 20) < 10 and abs(float(last[6]) - 1000) < 10
