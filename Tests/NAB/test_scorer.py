"""The in-repo NAB scorer reproduces NAB's published results for the reference detectors."""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NAB = REPO.parent / "shared" / "datasets" / "nab"
sys.path.insert(0, str(REPO / "tools" / "nab"))

import baselines  # noqa: E402
import compare  # noqa: E402
import scorer  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (NAB / "labels" / "combined_windows.json").exists(),
    reason=f"NAB corpus not found at {NAB}; these tests need ../shared/datasets/nab",
)

EXPECTED = {
    "numenta": (70.10, 63.12, 74.32),
    "windowedGaussian": (39.65, 20.87, 47.41),
    "null": (0.0, 0.0, 0.0),
}


@pytest.mark.parametrize("detector", sorted(EXPECTED))
def test_reference_results_with_stored_thresholds(detector):
    profiles = scorer.load_profiles(NAB / "config" / "profiles.json")
    thresholds = json.loads((NAB / "config" / "thresholds.json").read_text())[detector]
    files = scorer.load_corpus(NAB / "results", detector, NAB / "labels" / "combined_windows.json")
    windows = sum(f.window_count for f in files)
    assert windows == 116
    for profile_name, expected in zip(scorer.PROFILES, EXPECTED[detector]):
        profile = profiles[profile_name]
        raw = scorer.score_at_threshold(files, profile, thresholds[profile_name]["threshold"])
        assert scorer.normalise(raw, windows, profile) == pytest.approx(expected, abs=0.01), profile_name


def test_threshold_search_matches_nab():
    profiles = scorer.load_profiles(NAB / "config" / "profiles.json")
    files = scorer.load_corpus(NAB / "results", "numenta", NAB / "labels" / "combined_windows.json")
    found = []
    for name in scorer.PROFILES:
        threshold, raw = scorer.optimise_threshold(files, profiles[name])
        found.append(scorer.normalise(raw, 116, profiles[name]))
        # The sweep's incremental total equals a direct evaluation at the threshold it found.
        assert scorer.score_at_threshold(files, profiles[name], threshold) == pytest.approx(raw)
    assert found == pytest.approx([70.10, 63.21, 74.32], abs=0.01)


def test_sigmoid_values():
    assert scorer.scaled_sigmoid(-1) == pytest.approx(0.98661, abs=1e-5)
    assert scorer.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scorer.scaled_sigmoid(0) == 0
    assert scorer.scaled_sigmoid(3.5) == -1
    assert scorer.probationary_length(4032) == 604 and scorer.probationary_length(22695) == 750


def test_our_windowed_gaussian_baseline_lands_near_nab():
    windows = json.loads((NAB / "labels" / "combined_windows.json").read_text())
    profiles = scorer.load_profiles(NAB / "config" / "profiles.json")
    files = []
    for key in sorted(windows):
        timestamps, values = [], []
        for line in (NAB / "data" / key).read_text().splitlines()[1:]:
            ts, value = line.split(",")
            timestamps.append(ts)
            values.append(float(value))
        files.append(scorer.prepare_file(key, timestamps, baselines.windowed_gaussian(values), windows[key]))
    _, raw = scorer.optimise_threshold(files, profiles["standard"])
    assert scorer.normalise(raw, 116, profiles["standard"]) == pytest.approx(39.6, abs=1.5)


def test_file_by_file_breakdown_adds_up_to_the_corpus_score():
    """tools/nab/compare.py's per-file credits and false-positive costs sum to the optimised raw
    score, and every window is either caught (positive credit) or missed (−1)."""
    profile = scorer.load_profiles(NAB / "config" / "profiles.json")["standard"]
    files = scorer.load_corpus(NAB / "results", "numenta", NAB / "labels" / "combined_windows.json")
    threshold, raw, per_file = compare.per_file(files, profile)
    assert threshold == scorer.optimise_threshold(files, profile)[0]
    total = sum(sum(credits) + cost for credits, _, cost in per_file.values())
    assert total == pytest.approx(raw, abs=1e-9)
    credits = [c for cs, _, _ in per_file.values() for c in cs]
    assert len(credits) == 116
    assert all(c == -1.0 or 0 < c <= 1.0 for c in credits)
    assert sum(1 for c in credits if c > 0) == 96
