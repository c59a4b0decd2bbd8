"""The vision benchmark still runs: its --quick mode ends with its figure line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SRC = BENCHMARKS.parent / "src"


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_"))}
    # The sources under test come first, however this test run found them.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    return env


pytestmark = pytest.mark.slow


def test_quick_run_prints_its_figure() -> None:
    done = subprocess.run(
        [sys.executable, "bench_vision.py", "--quick"],
        cwd=BENCHMARKS,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    figure = (
        r"^vision: 720p idle [\d,]+ fps/core gated \([\d.]+% of a core at 5 fps\), \d+x gating; "
        r"busy \d+ fps/core; [\d.]+ MiB/camera; one core holds \d+ idle or \d+ busy"
    )
    assert re.search(figure, lines[0]), lines[0]
    assert ("meets" in lines[0]) != ("MISSES" in lines[0])


def test_help_describes_the_options() -> None:
    done = subprocess.run(
        [sys.executable, "bench_vision.py", "--help"],
        cwd=BENCHMARKS,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--cameras" in done.stdout
