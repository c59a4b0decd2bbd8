"""One TIP trial image: a bag (simulated, or a real cleared scan's high/low pair), with a
fictional threat projected into it or not, rendered as the screening workstation renders a scan.

Shared by training sessions (``services.tip``) and live projection (``services.tip_live``).
Pure computation: nothing is stored here.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from mailwarden.xray import imaging, tip
from mailwarden.xray.projection import ScanConfig
from mailwarden.xray.tip import Difficulty

SIMULATED = "simulated"
CLEARED_SCAN = "cleared-scan"

# Sizes a threat is drawn at, relative to its built size; a real scan that cannot hold the
# drawn size gets a smaller one, down to the smallest.
_SCALES = (0.75, 1.25)
_SMALLEST = 0.5
# Scans larger than this (rows, columns) are binned down first: the workstation's own size.
MAX_SCAN_SHAPE = (768, 1024)

# The adaptive ladder's rungs (services.tip moves screeners along it).
LEVELS = 5


def difficulty_for(level: int) -> Difficulty:
    """Level 1: a threat flat on the belt over empty space in a sparse bag; level ``LEVELS``:
    tilted almost edge-on, over the densest clutter of a crowded bag."""
    if not 1 <= level <= LEVELS:
        raise ValueError(f"level: must be from 1 to {LEVELS}, not {level}")
    share = (level - 1) / (LEVELS - 1)
    return Difficulty(viewpoint=share, superposition=share, complexity=0.1 + 0.9 * share)


@dataclass(frozen=True)
class Background:
    """What the threat goes into: a bag simulated at the trial's complexity (``high``/``low``
    None), or the decoded pair of a real scan (workstation calibration by default).

    A scan larger than ``MAX_SCAN_SHAPE`` is binned down by a whole factor first (its pixels'
    counts averaged, as a coarser detector would read them), so its image comes as quickly as a
    workstation-sized one; ``pixel_cm`` is then the binned pixel's pitch.
    """

    kind: str
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    config: ScanConfig = tip.TIP_CONFIG
    pixel_cm: float | None = None

    @classmethod
    def simulated(cls) -> Background:
        return cls(SIMULATED)

    @classmethod
    def scan(
        cls, high: np.ndarray, low: np.ndarray, config: ScanConfig | None = None
    ) -> Background:
        if high.shape != low.shape or high.ndim != 2:
            raise ValueError("background: high and low must be 2-D images of the same shape")
        config = config or ScanConfig()
        rows, cols = high.shape
        factor = max(1, math.ceil(max(rows / MAX_SCAN_SHAPE[0], cols / MAX_SCAN_SHAPE[1])))
        if factor == 1:
            return cls(CLEARED_SCAN, high, low, config)
        return cls(
            CLEARED_SCAN,
            _binned(high, factor),
            _binned(low, factor),
            config,
            config.pixel_cm * factor,
        )


def _binned(image: np.ndarray, factor: int) -> np.ndarray:
    rows, cols = (n // factor * factor for n in image.shape)
    blocks = image[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor)
    return np.rint(blocks.mean(axis=(1, 3), dtype=np.float64)).astype(np.uint16)


@dataclass(frozen=True)
class TrialImage:
    png: bytes
    width: int
    height: int
    # The threat's box as fractions of the image, [x0, y0, x1, y1]; None without a threat.
    bbox_fractions: list[float] | None
    threat_label: str  # "" without a threat
    background_kind: str  # SIMULATED or CLEARED_SCAN
    category: str = ""


def _png(rgb: np.ndarray) -> bytes:
    # The fastest zlib level: a trial image is made while the screener waits and is seen once,
    # and at level 1 it encodes in a quarter of the default's time for a fifth more bytes.
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@dataclass
class ImagePool:
    """What a :func:`shared_images` block has made, and how often each kind was drawn."""

    per_kind: int
    images: dict[tuple[str, Difficulty], list[TrialImage]] = field(default_factory=dict)
    drawn: dict[tuple[str, Difficulty], int] = field(default_factory=dict)
    made: int = 0
    # Simulated bags by clutter: the images of one level project their threats into the same
    # few bags, as a TIP library projects into its few hundred cleared ones.
    bags: dict[tuple[float, ScanConfig], list[tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=dict
    )
    bags_drawn: dict[tuple[float, ScanConfig], int] = field(default_factory=dict)


def _simulated_bag(
    rng: np.random.Generator, complexity: float, config: ScanConfig
) -> tuple[np.ndarray, np.ndarray]:
    pool = _pool.get()
    if pool is None:
        bag = tip.benign_bag(rng, complexity, config)
        return bag.high, bag.low
    key = (complexity, config)
    bags = pool.bags.setdefault(key, [])
    drawn = pool.bags_drawn.get(key, 0)
    pool.bags_drawn[key] = drawn + 1
    if len(bags) < pool.per_kind:
        bag = tip.benign_bag(rng, complexity, config)
        bags.append((bag.high, bag.low))
        return bags[-1]
    return bags[drawn % pool.per_kind]


_pool: ContextVar[ImagePool | None] = ContextVar("tip_image_pool", default=None)


@contextmanager
def shared_images(per_kind: int) -> Iterator[ImagePool]:
    """Within it, images over a simulated bag come from a pool: ``per_kind`` different images
    for each threat category (or none) at each difficulty, then each of them again in turn; and
    those images are made over ``per_kind`` simulated bags for each clutter level.

    For the demo's simulated screeners, who answer a hundred images without looking at them:
    each image takes a few tenths of a second to simulate and render, which made seeding the
    demo take most of a minute. The pool keeps each image whole (its threat, box and label
    belong together), so a trial built from it is as real as any other; a person in a real
    session never draws from one. Images over a real scan are never pooled.
    """
    if per_kind < 1:
        raise ValueError(f"per_kind: must be at least 1, not {per_kind}")
    pool = ImagePool(per_kind)
    token = _pool.set(pool)
    try:
        yield pool
    finally:
        _pool.reset(token)


def make_image(
    rng: np.random.Generator,
    *,
    category: str | None,
    difficulty: Difficulty,
    background: Background,
) -> TrialImage:
    """The trial's image: ``category``'s threat projected into the background at the
    difficulty's viewpoint and superposition, or the background alone when ``category`` is None.

    Raises ValueError for an unknown category, or a background too small to hold a threat.
    """
    if category is not None and category not in tip.CATEGORIES:
        raise ValueError(f"category: {category!r} is not one of {', '.join(tip.CATEGORIES)}")
    pool = _pool.get()
    if pool is None or background.kind != SIMULATED:
        return _make_image(rng, category=category, difficulty=difficulty, background=background)
    key = (category or "", difficulty)
    images = pool.images.setdefault(key, [])
    drawn = pool.drawn.get(key, 0)
    pool.drawn[key] = drawn + 1
    if len(images) < pool.per_kind:
        images.append(
            _make_image(rng, category=category, difficulty=difficulty, background=background)
        )
        pool.made += 1
        return images[-1]
    return images[drawn % pool.per_kind]


def _make_image(
    rng: np.random.Generator,
    *,
    category: str | None,
    difficulty: Difficulty,
    background: Background,
) -> TrialImage:
    if background.kind == SIMULATED:
        high, low = _simulated_bag(rng, difficulty.complexity, background.config)
        config = background.config
    else:
        if background.high is None or background.low is None:
            raise ValueError("background: a scan background needs its high and low images")
        high, low, config = background.high, background.low, background.config
    bbox: list[float] | None = None
    label = ""
    if category is not None:
        scale = float(rng.uniform(*_SCALES))
        while True:
            threat = tip.threat_image(
                category,
                rng,
                viewpoint=difficulty.viewpoint,
                scale=scale,
                pixel_cm=background.pixel_cm or config.pixel_cm,
            )
            last = scale <= _SMALLEST
            try:
                at = tip.place(
                    high,
                    threat,
                    rng,
                    superposition=difficulty.superposition,
                    air_level=config.air_level,
                    # The smallest threat that still finds no room in the bag goes anywhere
                    # in the image rather than nowhere.
                    within_bag=not last,
                )
                break
            except ValueError:
                if last:
                    raise ValueError(
                        "background: the image is too small to hold a threat"
                    ) from None
                scale = max(_SMALLEST, scale * 0.8)
        projected = tip.project(high, low, threat, at)
        high, low = projected.high, projected.low
        rows, cols = high.shape
        r0, c0, r1, c1 = projected.bbox
        bbox = [round(c0 / cols, 4), round(r0 / rows, 4), round(c1 / cols, 4), round(r1 / rows, 4)]
        label = threat.label
    rgb = imaging.render(high, low, "colour", 0.5, config)
    height, width = rgb.shape[:2]
    return TrialImage(
        png=_png(rgb),
        width=int(width),
        height=int(height),
        bbox_fractions=bbox,
        threat_label=label,
        background_kind=background.kind,
        category=category or "",
    )
