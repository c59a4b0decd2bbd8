"""TIP figures: how long one training image takes to make, stage by stage.

    python benchmarks/bench_tip.py [--n 40]

One thread (BLAS and OpenMP pinned to 1 before numpy is imported). Times are CPU time of this
process, what one core spends whatever else the machine runs, with wall-clock medians beside
them. The stages: a simulated bag at the TIP size (384 x 512), a threat rendered alone, its
placement and projection, the workstation's pseudo-colour rendering with PNG encoding; then
``make_image`` whole, over a simulated bag and over a full-size (768 x 1024) scan's pair.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from mailwarden.training.services.tip_images import (  # noqa: E402
    LEVELS,
    Background,
    difficulty_for,
    make_image,
)
from mailwarden.xray import imaging, tip  # noqa: E402
from mailwarden.xray.projection import ScanConfig  # noqa: E402


def timed(call: Callable[[int], object], n: int) -> tuple[float, float, float]:
    """Median and 95th percentile CPU ms, and median wall ms, over ``n`` calls."""
    call(-1)  # warm: calibration tables and the projector are built once per configuration
    cpu: list[float] = []
    wall: list[float] = []
    for i in range(n):
        c, w = time.process_time(), time.perf_counter()
        call(i)
        cpu.append(1000 * (time.process_time() - c))
        wall.append(1000 * (time.perf_counter() - w))
    cpu.sort()
    return statistics.median(cpu), cpu[min(n - 1, round(0.95 * (n - 1)))], statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=40)
    n = parser.parse_args().n

    def rng(i: int) -> np.random.Generator:
        return np.random.default_rng([31, i + 1])

    bags = [tip.benign_bag(rng(i), 0.5) for i in range(4)]
    threats = [tip.threat_image(tip.CATEGORIES[i % 4], rng(i)) for i in range(4)]
    full = ScanConfig()
    scan = tip.benign_bag(rng(99), 0.5, full)
    air = tip.TIP_CONFIG.air_level

    def place_and_project(i: int) -> None:
        bag, threat = bags[i % 4], threats[i % 4]
        at = tip.place(bag.high, threat, rng(i), superposition=0.5, air_level=air)
        tip.project(bag.high, bag.low, threat, at)

    def render(i: int) -> None:
        bag = bags[i % 4]
        imaging.to_png(imaging.render(bag.high, bag.low, "colour", 0.5, tip.TIP_CONFIG))

    def image(background: Background) -> Callable[[int], object]:
        def make(i: int) -> object:
            level = 1 + (i % LEVELS) if i >= 0 else 1
            category = tip.CATEGORIES[i % 4] if i % 2 == 0 else None
            return make_image(
                rng(i), category=category, difficulty=difficulty_for(level), background=background
            )

        return make

    rows = [
        ("simulated bag (384x512)", lambda i: tip.benign_bag(rng(i), 0.5)),
        ("threat rendered alone", lambda i: tip.threat_image(tip.CATEGORIES[i % 4], rng(i))),
        ("placement and projection", place_and_project),
        ("render + PNG (imaging.to_png)", render),
        ("make_image, simulated bag", image(Background.simulated())),
        ("make_image, 768x1024 scan", image(Background.scan(scan.high, scan.low, full))),
    ]
    print(f"{'stage':<30} {'CPU median':>11} {'CPU p95':>9} {'wall median':>12}   (ms, n={n})")
    for name, call in rows:
        median, p95, wall = timed(call, n)
        print(f"{name:<30} {median:>11.0f} {p95:>9.0f} {wall:>12.0f}")


if __name__ == "__main__":
    main()
