"""Threat image projection (TIP): fictional threats added to benign bag images.

A threat is rendered alone by the simulator, as attenuation ``a = -ln T`` in each energy
channel. Projecting it into a bag multiplies transmissions, ``I = I_bag * T_threat``, which in
log space adds attenuations, so the threat darkens whatever it lies over just as a real one
would, and the bag's own noise stays. How hard the result is to read is set by a
:class:`Difficulty`, after the three image-based factors of screener training research:

- **viewpoint**: the threat tilted out of the belt's plane (a knife seen edge-on is a thin dark
  line: its projected area shrinks by the cosine of the tilt and its path length grows by the
  same factor), and turned in the plane;
- **superposition**: placed over empty space, or over the densest clutter the bag has;
- **complexity**: how many items the simulated bag holds.

Pure numpy and scipy; no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from . import objects
from .projection import BASIS_SIZE, ScanConfig, projector
from .simulator import Scan, Scene, simulate_parcel

# The threat categories TIP projects, and the simulator's builder for each.
CATEGORIES: tuple[str, ...] = ("knife", "gun", "ied", "explosive")

# Small images keep a training session quick; the pixel pitch is the scanners' own.
TIP_CONFIG = ScanConfig(shape=(384, 512))
# The canvas a threat is rendered on: large enough for the longest knife (about 35 cm).
_CANVAS = 448
MAX_TILT_DEGREES = 75.0
# Pixels whose high-energy attenuation is below this are not part of the threat.
_THREAT_EDGE = 0.01
# A bag pixel holds something where its attenuation passes this (air and a box's lid do not).
_OCCUPIED = 0.15
# ...and is inside the parcel where it passes this (a box's walls and lid do; air's noise not).
_PARCEL = 0.03


@dataclass(frozen=True)
class Difficulty:
    """Each factor from 0 (easiest) to 1 (hardest)."""

    viewpoint: float = 0.0
    superposition: float = 0.0
    complexity: float = 0.5

    def __post_init__(self) -> None:
        for name in ("viewpoint", "superposition", "complexity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: must be from 0 to 1, not {value}")


@dataclass(frozen=True)
class ThreatImage:
    """A threat's attenuation in each channel over its bounding box, and its outline."""

    category: str
    label: str
    a_high: np.ndarray  # float32
    a_low: np.ndarray  # float32
    mask: np.ndarray  # bool

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.a_high.shape
        return rows, cols


@dataclass(frozen=True)
class Projected:
    """A bag's images with a threat projected into them, and where it went."""

    high: np.ndarray  # uint16
    low: np.ndarray  # uint16
    bbox: tuple[int, int, int, int]  # row0, col0, row1, col1 (exclusive) of the threat's box
    mask: np.ndarray  # bool, image-sized: the threat's own pixels


def _canvas_config(pixel_cm: float) -> ScanConfig:
    return ScanConfig(shape=(_CANVAS, _CANVAS), pixel_cm=pixel_cm, scatter_fraction=0.0)


def threat_image(
    category: str,
    rng: np.random.Generator,
    *,
    viewpoint: float = 0.0,
    scale: float = 1.0,
    pixel_cm: float = TIP_CONFIG.pixel_cm,
) -> ThreatImage:
    """A new fictional threat of ``category``, seen at ``viewpoint`` (0 flat on the belt, 1 tilted
    by ``MAX_TILT_DEGREES``) and turned at random in the plane, ``scale`` times its built size."""
    if category not in CATEGORIES:
        raise ValueError(f"category: {category!r} is not one of {', '.join(CATEGORIES)}")
    if not 0.0 <= viewpoint <= 1.0:
        raise ValueError(f"viewpoint: must be from 0 to 1, not {viewpoint}")
    if not 0.5 <= scale <= 1.5:
        raise ValueError(f"scale: must be from 0.5 to 1.5, not {scale}")
    item = objects.THREAT_BUILDERS[category](rng)
    config = _canvas_config(pixel_cm)
    scene = Scene(config)
    centre = _CANVAS * pixel_cm / 2
    scene.add(item, centre, centre, 0.0, record=False)
    if scene.basis is None or scene.occupied is None:
        basis = np.zeros((BASIS_SIZE, _CANVAS, _CANVAS), dtype=np.float32)
        occupied = np.zeros((_CANVAS, _CANVAS), dtype=bool)
    else:
        basis, occupied = scene.basis, scene.occupied
    t_low, t_high = projector(config).transmission_from_basis(basis, occupied)
    a_high = -np.log(np.maximum(t_high, 1e-6))
    a_low = -np.log(np.maximum(t_low, 1e-6))
    # Tilted out of the belt's plane, the threat's extent across its length shrinks by the
    # cosine of the tilt and every ray crosses 1/cos more of it.
    tilt = math.radians(viewpoint * MAX_TILT_DEGREES)
    squeeze = math.cos(tilt)
    if squeeze < 0.999 or scale != 1.0:
        zoom = (squeeze * scale, scale)
        a_high = ndimage.zoom(a_high, zoom, order=1) / squeeze
        a_low = ndimage.zoom(a_low, zoom, order=1) / squeeze
    turn = float(rng.uniform(0.0, 360.0))
    a_high = ndimage.rotate(a_high, turn, reshape=True, order=1)
    a_low = ndimage.rotate(a_low, turn, reshape=True, order=1)
    mask = a_high > _THREAT_EDGE
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    return ThreatImage(
        category,
        item.label,
        np.clip(a_high[box], 0, None).astype(np.float32),
        np.clip(a_low[box], 0, None).astype(np.float32),
        mask[box],
    )


def benign_bag(
    rng: np.random.Generator, complexity: float, config: ScanConfig = TIP_CONFIG
) -> Scan:
    """A simulated parcel with no threat: from a few items (complexity 0) to a crowded box (1)."""
    low = 2 + round(complexity * 7)
    return simulate_parcel(rng, config, clutter=(low, low + 3))


def place(
    high: np.ndarray,
    threat: ThreatImage,
    rng: np.random.Generator,
    *,
    superposition: float,
    air_level: float,
    within_bag: bool = True,
) -> tuple[int, int]:
    """Where the threat's box goes (row, col of its corner): inside the bag, over clutter as
    dense as ``superposition`` asks (0 the emptiest spot of the bag, 1 the densest).

    With ``within_bag`` the box must lie inside the parcel's outline (a threat hanging out of
    a bag gives itself away); a bag with no such room is refused with a ValueError, so the
    caller can draw the threat smaller.
    """
    rows, cols = high.shape
    h, w = threat.shape
    if h >= rows or w >= cols:
        raise ValueError("threat: larger than the bag image")
    bag = np.log(np.float32(air_level)) - np.log(np.maximum(high.astype(np.float32), 1.0))
    occupied = bag > _OCCUPIED
    # Mean clutter under the threat's box, for every corner at once.
    density = ndimage.uniform_filter(bag, size=(h, w), mode="constant")
    inside = ndimage.uniform_filter(occupied.astype(np.float32), size=(h, w), mode="constant")
    # uniform_filter centres its window; a corner is the centre less half the box.
    r0, c0 = h // 2, w // 2
    corners = slice(r0, rows - h + r0 + 1), slice(c0, cols - w + c0 + 1)
    centres = density[corners]
    coverage = inside[corners]
    if within_bag:
        outline = ndimage.binary_fill_holes(ndimage.binary_opening(bag > _PARCEL, iterations=2))
        held = ndimage.uniform_filter(outline.astype(np.float32), size=(h, w), mode="constant")
        room = held[corners].ravel() >= 0.97
        if not room.any():
            raise ValueError("threat: no room for it inside the bag")
        candidates = np.flatnonzero(room & (coverage.ravel() >= 0.6))
        if candidates.size == 0:
            candidates = np.flatnonzero(room)
    else:
        candidates = np.flatnonzero(coverage.ravel() >= 0.6)
        if candidates.size == 0:
            # A nearly empty bag: anywhere the box fits.
            candidates = np.arange(centres.size)
    sample = rng.choice(candidates, size=min(256, candidates.size), replace=False)
    order = sample[np.argsort(centres.ravel()[sample], kind="stable")]
    pick = order[min(round(superposition * (order.size - 1)), order.size - 1)]
    row, col = divmod(int(pick), centres.shape[1])
    return row, col


def project(
    high: np.ndarray,
    low: np.ndarray,
    threat: ThreatImage,
    at: tuple[int, int],
) -> Projected:
    """The bag's images with the threat's box added at ``at`` (row, col): transmissions multiply."""
    row, col = at
    h, w = threat.shape
    if row < 0 or col < 0 or row + h > high.shape[0] or col + w > high.shape[1]:
        raise ValueError("at: the threat does not fit the image there")
    window = slice(row, row + h), slice(col, col + w)
    out_high = high.copy()
    out_low = low.copy()
    for out, a in ((out_high, threat.a_high), (out_low, threat.a_low)):
        values = out[window].astype(np.float32) * np.exp(-a)
        out[window] = np.clip(np.rint(values), 0, 65535).astype(np.uint16)
    mask = np.zeros(high.shape, dtype=bool)
    mask[window] = threat.mask
    return Projected(out_high, out_low, (row, col, row + h, col + w), mask)
