"""The quality harness's metrics, baseline and generated corpora (tools/quality)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "quality"))
import metrics  # noqa: E402
import periodic  # noqa: E402
import servers  # noqa: E402
import telemetry  # noqa: E402
import zscore  # noqa: E402


def test_average_precision_matches_the_definition_and_ties_get_the_base_rate():
    # Ranked 1, 0, then a tie of (1, 0): precision 1 at the first positive, 2/4 at the tie.
    assert metrics.average_precision(np.array([0.9, 0.8, 0.1, 0.1]), np.array([1, 0, 1, 0])) == 0.75
    assert metrics.average_precision(np.full(10, 0.3), np.array([1] * 3 + [0] * 7)) == 0.3
    assert metrics.average_precision(np.arange(5.0), np.array([0, 0, 0, 1, 1])) == 1.0
    assert metrics.average_precision(np.arange(3.0), np.zeros(3)) is None


def test_event_f1_counts_late_events_and_detected_segments():
    events = np.zeros(100)
    events[[12, 31, 70]] = 1  # inside the first, 1 row after the second, far from both
    hits, total, detected, segments = metrics.event_f1(events, [(10, 20), (25, 30)], offset=0, late=5)
    assert (hits, total, detected, segments) == (2, 3, 1, 2)


def test_point_f1_far_and_mar():
    f1, far, mar = metrics.point_f1(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    assert (f1, far, mar) == (0.5, 50.0, 50.0)


def test_zscore_raises_one_event_for_a_step_and_none_on_noise():
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(3000, 2))
    assert zscore.score(noise)[1].sum() <= 2  # about 0.8 rows of 12,000 |z| values exceed 4 by chance
    stepped = noise.copy()
    stepped[2000:, 1] += 10
    scores, events = zscore.score(stepped)
    assert events[1900:2100].tolist() == [0] * 100 + [1] + [0] * 99 and scores[2000] > 0.5 and scores[1999] < 0.5


def test_periodic_faults_lie_in_the_test_part_and_near_the_signal_range():
    for base, fault, values, (start, end) in periodic.build(5):
        assert periodic.TRAIN < start <= end < periodic.ROWS, (base, fault)
        train = values[:periodic.TRAIN]
        margin = 0.25 * (train.max() - train.min())
        assert train.min() - margin <= values[start:end + 1].min(), (base, fault)
        assert values[start:end + 1].max() <= train.max() + margin, (base, fault)


def test_server_machines_have_constant_counter_and_quantised_channels_and_test_part_incidents():
    for x, incidents in servers.build(2, machines=3):
        assert x.shape == (servers.ROWS, servers.CHANNELS)
        for c in servers.CONSTANT:
            assert np.all(x[:servers.TRAIN, c] == x[0, c])
        for c in servers.QUANTISED:
            assert np.all(x[:, c] == np.round(x[:, c]))
        for c in servers.COUNTERS:
            assert np.any(np.diff(x[:, c]) < 0) and np.mean(np.diff(x[:, c]) >= 0) > 0.99
        assert len(incidents) == 4 and all(servers.TRAIN < s <= e < servers.ROWS for s, e, _ in incidents)


def test_telemetry_channels_have_silent_commands_and_commanded_switches_and_test_part_faults():
    for base, x, faults in telemetry.build(3, channels=8):
        assert x.shape == (telemetry.ROWS, 1 + telemetry.COMMANDS)
        commands = x[:, 1:]
        assert set(np.unique(commands)) <= {0.0, 1.0}
        assert (commands.sum(axis=0) > 0).sum() <= telemetry.ACTIVE  # most command channels never fire
        assert 1 <= len(faults) <= 2 and all(telemetry.TRAIN < s <= e < telemetry.ROWS for s, e, _ in faults)
        if base == "modes":
            # Outside the faults, the level changes only within three rows after a command.
            changed = np.flatnonzero(np.abs(np.diff(x[:telemetry.TRAIN, 0])) > 0.1) + 1
            sent = np.flatnonzero(commands[:telemetry.TRAIN].sum(axis=1) > 0)
            assert all(np.any((r - sent >= 1) & (r - sent <= 3)) for r in changed), base
