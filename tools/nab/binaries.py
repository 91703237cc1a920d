"""Where the quality tools and their tests find anomalyctl, in one place."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def release_binary(product: str = "anomalyctl") -> str:
    """Brings the release build of `product` up to date and returns its path."""
    subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return str(REPO / ".build" / "release" / product)


def built_binary_dir() -> Path:
    """The build the tests run: $ANOMALYD_BIN_DIR (tools/test sets it), else the debug build."""
    configured = os.environ.get("ANOMALYD_BIN_DIR")
    if configured:
        return Path(configured)
    return Path(subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout.strip())
