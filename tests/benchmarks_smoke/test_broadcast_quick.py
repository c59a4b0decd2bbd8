"""The site message benchmark still runs: its --quick mode ends with its figure line (no timing
is asserted; the figure is in docs/performance.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def test_quick_run_prints_its_figure():
    # The script makes its own data folder and database; none of the test run's settings apply.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "bench_broadcast.py", "--quick"],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    assert re.search(
        r"^site message: 500 people, 1,000 messages queued in [\d.]+ s \(second message [\d.]+ s\)"
        r" on SQLite",
        lines[0],
    ), lines[0]
    assert ("meets" in lines[0]) != ("MISSES" in lines[0])


def test_help_describes_the_options():
    done = subprocess.run(
        [sys.executable, "bench_broadcast.py", "--help"],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--postgres" in done.stdout and "--people" in done.stdout
