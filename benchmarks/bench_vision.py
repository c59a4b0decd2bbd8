"""Vision figures: analysed frames per second per core at 720p, idle and busy, with and without
motion gating; memory per camera; how many 5 fps cameras one core holds.

    python benchmarks/bench_vision.py [--seconds 60] [--cameras 8] [--quick]

Frames are generated (``mailwarden.vision.synthetic``: a textured room with sensor noise, empty
for the idle scene, six people walking for the busy one) and made before timing starts, so the
figures are the analysis alone; decoding the camera's stream comes on top (about 1 ms a 720p
frame with FFmpeg). OpenCV runs on one thread and times are this process's CPU time, so they are
what one core spends whatever else the machine runs; wall-clock times are printed beside them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mailwarden.vision import config, synthetic  # noqa: E402
from mailwarden.vision.evidence import write_clip  # noqa: E402
from mailwarden.vision.pipeline import Analyzer  # noqa: E402

SIZE = (1280, 720)
FPS = 5.0
RULES = {
    "zones": [
        {
            "name": "room",
            "rules": [
                {"type": "presence"},
                {"type": "loitering", "seconds": 30},
                {"type": "crowding", "max_people": 10},
                {"type": "unattended", "seconds": 30},
            ],
        }
    ],
}

# Targets of the surveillance issue.
IDLE_CORE_SHARE = 0.02
BUSY_FPS = 20.0
GATING_RATIO = 10.0


def frames(scene: synthetic.Scene) -> list[tuple[int, float, np.ndarray]]:
    return list(scene.frames())


def run(
    frames_: list[tuple[int, float, np.ndarray]], gating: bool, warm: int, verifier: str = "hog"
) -> tuple[float, float]:
    """Analysed frames per CPU second and per wall second, after ``warm`` untimed frames."""
    data = dict(RULES, analysis={"motion_gating": gating, "verifier": verifier})
    analyzer = Analyzer(config.parse_rules(data), SIZE, FPS)
    for index, t, image in frames_[:warm]:
        analyzer.process(image, index, t)
    timed = frames_[warm:]
    cpu, wall = time.process_time(), time.perf_counter()
    for index, t, image in timed:
        analyzer.process(image, index, t)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(timed) / max(cpu, 1e-9), len(timed) / max(wall, 1e-9)


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def decode_ms(frames_: list[tuple[int, float, np.ndarray]]) -> float:
    """CPU milliseconds to decode one 720p frame of an MPEG-4 file OpenCV wrote (its FFmpeg
    build has no H.264 encoder; H.264 decodes at a similar cost)."""
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "busy.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
        for _, _, image in frames_:
            writer.write(image)
        writer.release()
        cap = cv2.VideoCapture(path)
        count = 0
        cpu = time.process_time()
        while cap.read()[0]:
            count += 1
        cpu = time.process_time() - cpu
        cap.release()
    return 1000 * cpu / max(1, count)


def _trim() -> None:
    """Hand freed heap back to the system, so that the analysers' memory shows as growth rather
    than reusing what generating the frames left free."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def memory_per_camera(frames_: list[tuple[int, float, np.ndarray]], cameras: int) -> float:
    """Resident memory added per camera: each analyser, its models and tracks, after it has
    seen the busy scene (the frames themselves are shared, as a decoder's buffer would be)."""
    _trim()
    before = rss_mib()
    analyzers = [Analyzer(config.parse_rules(RULES), SIZE, FPS) for _ in range(cameras)]
    for index, t, image in frames_[:30]:
        for a in analyzers:
            a.process(image, index, t)
    after = rss_mib()
    return (after - before) / cameras


def clip_seconds(frames_: list[tuple[int, float, np.ndarray]], fmt: str) -> tuple[float, int]:
    """CPU seconds to write a 6 s evidence clip (30 frames at 5 fps) in ``fmt``, and its size."""
    clip = [image for _, _, image in frames_[:30]]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip.{fmt}"
        start = time.process_time()
        write_clip(path, clip, FPS, fmt)
        return time.process_time() - start, path.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of each scene")
    parser.add_argument("--cameras", type=int, default=8, help="analysers for the memory figure")
    parser.add_argument("--quick", action="store_true", help="a short run; one figure line")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    seconds = 12.0 if args.quick else args.seconds
    warm = 10  # the models' first frames, analysed whatever the gate says
    idle = frames(synthetic.idle_scene(SIZE, FPS, seconds))
    busy = frames(synthetic.busy_scene(SIZE, FPS, seconds))
    # First, while the process has not yet freed memory it could reuse and hide the growth.
    mem = memory_per_camera(busy, 4 if args.quick else args.cameras)
    idle_gated, idle_gated_wall = run(idle, True, warm)
    idle_full, _ = run(idle, False, warm)
    busy_gated, busy_gated_wall = run(busy, True, warm)
    busy_full, _ = run(busy, False, warm)
    busy_shape, _ = run(busy, True, warm, "shape")
    decode = decode_ms(busy)
    idle_share = FPS / idle_gated
    ratio = idle_gated / idle_full
    cams_idle = int(idle_gated / FPS)
    cams_busy = int(busy_gated / FPS)
    ring = 3.0 * FPS * SIZE[0] * SIZE[1] * 3 / 2**20
    ok = idle_share < IDLE_CORE_SHARE and busy_gated >= BUSY_FPS and ratio >= GATING_RATIO
    verdict = "meets" if ok else "MISSES"
    summary = (
        f"vision: 720p idle {idle_gated:,.0f} fps/core gated ({idle_share:.2%} of a core at 5 fps),"
        f" {ratio:.0f}x gating; busy {busy_gated:.0f} fps/core; {mem:.1f} MiB/camera; one core "
        f"holds {cams_idle} idle or {cams_busy} busy 5 fps cameras; {verdict} the targets "
        f"(<{IDLE_CORE_SHARE:.0%} idle, >={BUSY_FPS:.0f} fps busy, >={GATING_RATIO:.0f}x)"
    )
    if args.quick:
        print(summary)
        return 0
    print(f"scenes: {SIZE[0]}x{SIZE[1]}, analysed at {FPS:.0f} fps, {seconds:.0f} s each")
    print("analysed frames per second of one core (CPU time; wall clock in brackets):")
    print(f"  idle, gated      {idle_gated:9,.0f}  ({idle_gated_wall:,.0f})")
    print(f"  idle, no gating  {idle_full:9,.0f}")
    print(f"  busy, gated      {busy_gated:9,.0f}  ({busy_gated_wall:,.0f})")
    print(f"  busy, no gating  {busy_full:9,.0f}")
    print(f"  busy, no HOG     {busy_shape:9,.0f}  (verifier: shape)")
    print(
        f"gating on the idle scene: {ratio:.1f}x; on the busy scene {busy_gated / busy_full:.2f}x"
    )
    print(
        f"an idle 5 fps camera uses {idle_share:.2%} of a core; a busy one {FPS / busy_gated:.1%}"
    )
    print(f"one core holds {cams_idle} idle or {cams_busy} busy 5 fps cameras")
    with_decode_idle = int(1000 / (decode + 1000 / idle_gated) / FPS)
    with_decode_busy = int(1000 / (decode + 1000 / busy_gated) / FPS)
    print(
        f"decoding a 720p frame: {decode:.1f} ms; with decoding of a 5 fps stream, one core holds "
        f"{with_decode_idle} idle or {with_decode_busy} busy cameras"
    )
    print(
        f"memory per camera (analyser and models): {mem:.1f} MiB; a 3 s pre-roll ring of 720p "
        f"frames at 5 fps adds {ring:.0f} MiB when evidence is recorded"
    )
    for fmt, codec in (("mp4", "H.264"), ("webm", "VP8")):
        spent, size = clip_seconds(busy, fmt)
        print(f"writing a 6 s 720p evidence clip as {codec}: {spent:.2f} s, {size / 1024:.0f} KiB")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
