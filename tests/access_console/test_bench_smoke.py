"""The edge delivery benchmark still runs: its --quick mode ends with its figure line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_edge_delivery_quick_run_prints_its_figure():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "bench_edge_delivery.py", "--quick"],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    assert re.search(r"^edge delivery: 1,000 events in [\d.]+ s = \d+ events/s on SQLite", lines[0])
    assert ("meets" in lines[0]) != ("MISSES" in lines[0])
    assert "1,000 events stored at the server, 0 duplicates" in done.stderr
