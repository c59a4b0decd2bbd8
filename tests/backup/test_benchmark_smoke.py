"""benchmarks/bench_backup.py still runs: its --quick mode ends with its figure line."""

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
        [sys.executable, "bench_backup.py", "--quick"],
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
        r"^backup: 5,000 items and 5,000 ledger entries with 20 photos .* backup [\d.]+ s, "
        r"restore [\d.]+ s \(checks included\), archive [\d.]+ MiB",
        lines[0],
    ), lines[0]
