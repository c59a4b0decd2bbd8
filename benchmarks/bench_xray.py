"""X-ray figures: simulator throughput, analysis latency and held-out detection performance.

    python benchmarks/bench_xray.py [--n 300] [--seeds 101,102,103] [--out DIR] [--quick]

Everything runs on one thread: the BLAS and OpenMP thread counts are pinned to 1 before numpy
is imported. Times are CPU time of this process (what one core spends, whatever else the
machine runs), with wall-clock time beside them. ``--out`` also writes the evaluation JSON and
ROC curves (PNG) per seed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mailwarden.xray.analysis import REGION_CLASSES, analyze  # noqa: E402
from mailwarden.xray.calibration import calibration  # noqa: E402
from mailwarden.xray.evaluate import auc, evaluate, roc_png  # noqa: E402
from mailwarden.xray.objects import THREAT_CLASSES  # noqa: E402
from mailwarden.xray.projection import ScanConfig  # noqa: E402
from mailwarden.xray.simulator import simulate_parcel  # noqa: E402


def bench_simulator(config: ScanConfig, count: int) -> tuple[float, float]:
    """Parcels per second of CPU time and of wall-clock time."""
    simulate_parcel(0, config)  # warm: calibration tables and basis fit are built once
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        simulate_parcel(np.random.default_rng([7, i]), config, threat=THREAT_CLASSES[i % 6])
    return count / (time.process_time() - cpu), count / (time.perf_counter() - wall)


def bench_analysis(config: ScanConfig, count: int) -> tuple[float, float, float]:
    """Median and 95th percentile CPU ms per image, and median wall-clock ms."""
    kinds = [None, *THREAT_CLASSES]
    scans = [
        simulate_parcel(np.random.default_rng([8, i]), config, threat=kinds[i % len(kinds)])
        for i in range(count)
    ]
    calibration(config)
    analyze(scans[0].high, scans[0].low, config)
    times, walls = [], []
    for scan in scans:
        cpu, wall = time.process_time(), time.perf_counter()
        analyze(scan.high, scan.low, config)
        times.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return statistics.median(times), p95, statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="parcels per held-out seed")
    parser.add_argument("--seeds", default="101,102,103")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, n=30")
    args = parser.parse_args()
    config = ScanConfig()
    reps = 10 if args.quick else 40
    n = 30 if args.quick else args.n
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass

    size = f"{config.shape[1]}x{config.shape[0]}"
    # CPU time is what one core spends; wall time also shows how busy the machine was
    rate, wall_rate = bench_simulator(config, reps)
    print(f"simulator: {rate:.1f} parcels/s of CPU time ({wall_rate:.1f}/s wall) at {size}")
    median, p95, wall = bench_analysis(config, reps)
    print(
        f"analysis:  median {median:.0f} ms, p95 {p95:.0f} ms CPU per image "
        f"(median {wall:.0f} ms wall) at {size}, one thread"
    )

    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    print(f"\nheld-out evaluation: n={n} scans per seed, seeds {seeds}")
    print(f"{'seed':>5} {'class':10} {'pd':>6} {'far':>6} {'auc':>6}  false alarms on")
    for seed in seeds:
        result = evaluate(n, seed, config)
        results.append(result)
        for name, c in result.classes.items():
            print(
                f"{seed:>5} {name:10} {c.pd:6.3f} {c.far:6.3f} {c.auc:6.3f}  "
                f"{c.false_alarm_sources}"
            )
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"eval_{seed}.json").write_text(json.dumps(result.to_json(), indent=2))
            roc_png(result, args.out / f"roc_{seed}.png")
    total = n * len(seeds)
    print(f"\npooled over {len(seeds)} seeds ({total} scans; AUC from the pooled scores):")
    print(f"{'class':10} {'pd':>6} {'far':>6} {'auc':>6} {'threats':>8} {'threshold':>9}")
    for name in REGION_CLASSES:
        parts = [r.classes[name] for r in results]
        threats = sum(c.threats for c in parts)
        pd = sum(c.detected for c in parts) / threats if threats else float("nan")
        far = sum(c.false_alarms for c in parts) / total
        pooled = auc(
            [s for c in parts for s in c.positive_scores],
            [s for c in parts for s in c.negative_scores],
        )
        print(
            f"{name:10} {pd:6.3f} {far:6.3f} {pooled:6.3f} {threats:>8} "
            f"{results[0].thresholds[name]:>9.2f}"
        )


if __name__ == "__main__":
    main()
