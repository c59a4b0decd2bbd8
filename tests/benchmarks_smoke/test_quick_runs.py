"""Each benchmark script still runs: its --quick mode ends with its figure line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


MINE = (
    "bench_ledger_verify.py",
    "bench_search.py",
    "bench_intake_api.py",
    "bench_ledger_checkpoint.py",
    "bench_batch_intake.py",
)


@pytest.mark.parametrize(
    ("script", "figure"),
    [
        ("bench_ledger_verify.py", r"^ledger verify: 20,000 entries in [\d.]+ s \("),
        ("bench_search.py", r"^search: 200 searches over 20,000 items on SQLite .*p95 [\d.]+ ms"),
        ("bench_intake_api.py", r"^intake API: 200 intakes in [\d.]+ s = \d+/s on SQLite"),
        (
            "bench_batch_intake.py",
            r"^batch intake: 200 items in 2 batches of 100 in [\d.]+ s = [\d,]+/s on SQLite",
        ),
        (
            "bench_ledger_checkpoint.py",
            r"^ledger checkpoint: 21,001 entries, [\d.]+ s after 1,000 new ones .*inclusion proof",
        ),
    ],
)
def test_quick_run_prints_its_figure(script, figure):
    # The scripts make their own data folder and database; none of the test run's settings apply.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, script, "--quick"],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    assert re.search(figure, lines[0]), lines[0]
    assert ("meets" in lines[0]) != ("MISSES" in lines[0])


@pytest.mark.parametrize("script", MINE)
def test_help_describes_the_options(script):
    done = subprocess.run(
        [sys.executable, script, "--help"],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout
    assert "--postgres" in done.stdout
