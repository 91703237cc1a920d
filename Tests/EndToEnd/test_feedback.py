"""An operator's "that was a false alarm": on a recorded series, the same situation stops
raising events after feedback while a fault of the same size elsewhere still does, compared
with a stream that got no feedback; the mark survives a restart and `--clear` removes it."""

import json
import math
import random
import subprocess

from conftest import BIN, Daemon
from test_daemon import publisher, receive_events, subscribe

PERIOD = 50
# A blip recurs at phase 10 of cycles 20, 30 and 40; a real fault of the same size hits phase
# 35 of cycle 45.
FIRST, AGAIN, THIRD, ELSEWHERE = 20 * 50 + 10, 30 * 50 + 10, 40 * 50 + 10, 45 * 50 + 35
END = 47 * 50


def series() -> list[str]:
    rng = random.Random(4)
    out = []
    for i in range(END):
        blip = 6 if i in (FIRST, AGAIN, THIRD, ELSEWHERE) else 0
        out.append(f"{20 + 2 * math.sin(2 * math.pi * i / PERIOD) + rng.gauss(0, 0.05) + blip:.4f}")
    return out


def events_of(events, stream):
    return [body for topic, body, _ in events if topic == stream and body["anomaly"]]


def stream_detail(daemon, stream):
    return json.loads(daemon.ctl("stream", stream, "--json").stdout)["stream"]


def test_a_false_alarm_marked_normal_stops_while_a_fault_elsewhere_fires(tmp_path, zmq_context):
    values = series()
    daemon = Daemon(tmp_path)
    try:
        sub = subscribe(zmq_context, daemon)
        pub = publisher(zmq_context, daemon)
        for v in values[: FIRST + 1]:
            for stream in (b"plant/pump", b"plant/control"):
                pub.send_multipart([stream, v.encode()])
        first = receive_events(sub, 2 * (FIRST + 1), daemon)
        assert len(events_of(first, "plant/pump")) == len(events_of(first, "plant/control")) == 1

        told = daemon.ctl("feedback", "plant/pump", "--false-alarm")
        assert "event 0 marked a false alarm" in told.stdout

        for v in values[FIRST + 1 :]:
            for stream in (b"plant/pump", b"plant/control"):
                pub.send_multipart([stream, v.encode()])
        rest = receive_events(sub, 2 * END, daemon)
        control = [float(b["values"][0]) for b in events_of(rest, "plant/control")]
        pump = [float(b["values"][0]) for b in events_of(rest, "plant/pump")]
        blips = {i: float(values[i]) for i in (AGAIN, THIRD, ELSEWHERE)}
        # Without feedback, every blip alarms; with it, only the one in another situation.
        assert control == [blips[AGAIN], blips[THIRD], blips[ELSEWHERE]], (control, blips)
        assert pump == [blips[ELSEWHERE]], (pump, blips)
        detail = stream_detail(daemon, "plant/pump")
        assert detail["feedback_false_alarms"] == 1 and detail["feedback_suppressed"] == 2, detail
        assert stream_detail(daemon, "plant/control")["feedback_false_alarms"] == 0

        refused = daemon.ctl("feedback", "plant/pump", "--false-alarm", "--event", "99", check=False)
        assert refused.returncode == 1 and "no such recent event (kept: 0, 1)" in refused.stderr, refused.stderr
        pub.close()
    finally:
        daemon.stop()

    # The mark is part of the learned state: it survives a restart.
    again = Daemon(tmp_path)
    try:
        assert stream_detail(again, "plant/pump")["feedback_false_alarms"] == 1
        cleared = again.ctl("feedback", "plant/pump", "--clear")
        assert "forgot 1 situations marked normal" in cleared.stdout
        assert stream_detail(again, "plant/pump")["feedback_false_alarms"] == 0
    finally:
        again.stop()


def test_feedback_options_are_checked_before_anything_is_sent():
    for args, message in [
        (["s"], "give one of --false-alarm and --clear"),
        (["s", "--false-alarm", "--clear"], "give one of --false-alarm and --clear"),
        (["s", "--false-alarm", "--event", "1", "--at", "5"], "not both"),
        (["s", "--false-alarm", "--at", "yesterday"], "expected ms since 1970 or an RFC 3339 time"),
    ]:
        result = subprocess.run([str(BIN / "anomalyctl"), "feedback", *args], capture_output=True, text=True)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
