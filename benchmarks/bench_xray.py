"""X-ray figures: simulator throughput, analysis latency and held-out detection performance.

    python benchmarks/bench_xray.py [--n 300] [--seeds 101,102,103] [--out DIR] [--quick]

Everything runs on one core: the BLAS and OpenMP thread counts are pinned to 1 before numpy
is imported. ``--out`` also writes the evaluation JSON and ROC curves (PNG) per seed.
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
from mailwarden.xray.evaluate import evaluate, roc_png  # noqa: E402
from mailwarden.xray.objects import THREAT_CLASSES  # noqa: E402
from mailwarden.xray.projection import ScanConfig  # noqa: E402
from mailwarden.xray.simulator import simulate_parcel  # noqa: E402


def bench_simulator(config: ScanConfig, count: int) -> float:
    simulate_parcel(0, config)  # warm: calibration tables and basis fit are built once
    start = time.perf_counter()
    for i in range(count):
        simulate_parcel(np.random.default_rng([7, i]), config, threat=THREAT_CLASSES[i % 6])
    return count / (time.perf_counter() - start)


def bench_analysis(config: ScanConfig, count: int) -> tuple[float, float]:
    kinds = [None, *THREAT_CLASSES]
    scans = [
        simulate_parcel(np.random.default_rng([8, i]), config, threat=kinds[i % len(kinds)])
        for i in range(count)
    ]
    calibration(config)
    analyze(scans[0].high, scans[0].low, config)
    times = []
    for scan in scans:
        start = time.perf_counter()
        analyze(scan.high, scan.low, config)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


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

    rate = bench_simulator(config, reps)
    print(f"simulator: {rate:.1f} parcels/s at {config.shape[1]}x{config.shape[0]} (one core)")
    median, p95 = bench_analysis(config, reps)
    print(
        f"analysis:  median {median:.0f} ms, p95 {p95:.0f} ms per image at "
        f"{config.shape[1]}x{config.shape[0]} (one core)"
    )

    seeds = [int(s) for s in args.seeds.split(",")]
    totals: dict[str, dict[str, float]] = {
        c: {"threats": 0, "detected": 0, "false_alarms": 0, "pos_auc": 0.0, "w": 0.0}
        for c in REGION_CLASSES
    }
    print(f"\nheld-out evaluation: n={n} parcels per seed, seeds {seeds}")
    print(f"{'seed':>5} {'class':10} {'pd':>6} {'far':>6} {'auc':>6}")
    for seed in seeds:
        result = evaluate(n, seed, config)
        for name, c in result.classes.items():
            print(f"{seed:>5} {name:10} {c.pd:6.3f} {c.far:6.3f} {c.auc:6.3f}")
            t = totals[name]
            t["threats"] += c.threats
            t["detected"] += c.detected
            t["false_alarms"] += c.false_alarms
            if c.auc == c.auc:
                t["pos_auc"] += c.auc * c.threats
                t["w"] += c.threats
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"eval_{seed}.json").write_text(json.dumps(result.to_json(), indent=2))
            roc_png(result, args.out / f"roc_{seed}.png")
    print(f"\npooled over {len(seeds)} seeds ({n * len(seeds)} parcels):")
    print(f"{'class':10} {'pd':>6} {'far':>6} {'auc':>6} {'threats':>8}")
    for name, t in totals.items():
        pd = t["detected"] / t["threats"] if t["threats"] else float("nan")
        far = t["false_alarms"] / (n * len(seeds))
        auc = t["pos_auc"] / t["w"] if t["w"] else float("nan")
        print(f"{name:10} {pd:6.3f} {far:6.3f} {auc:6.3f} {int(t['threats']):>8}")


if __name__ == "__main__":
    main()
