"""Dual-energy images of simulated parcels, with the truth of what is in them.

A ``Scene`` holds per-material path-length maps (cm). Items are placed with a pose (centre in
cm, rotation) and rasterised part by part; each placed item keeps its pixel mask and label.
``Scene.scan`` runs the polychromatic projection and the detector readout. ``simulate_parcel``
builds a random parcel: a cardboard box with clutter, and optionally one threat. Everything
random comes from one ``numpy.random.Generator``, so a seed gives the same images every time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import objects
from .objects import Item
from .projection import BASIS_SIZE, ScanConfig, projector, readout
from .shapes import Part, frame, slab


@dataclass
class PlacedObject:
    label: str
    threat: str | None
    bbox: tuple[int, int, int, int]  # row0, col0, row1, col1 (exclusive)
    mask: np.ndarray  # bool, bbox-sized
    materials: tuple[str, ...]

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        r0, c0, r1, c1 = self.bbox
        out[r0:r1, c0:c1] = self.mask
        return out

    @property
    def area_px(self) -> int:
        return int(self.mask.sum())


@dataclass
class Scan:
    """A pair of detector images (uint16, air at ``config.air_level``) and what made them."""

    high: np.ndarray
    low: np.ndarray
    objects: list[PlacedObject]
    config: ScanConfig

    def threats(self) -> list[PlacedObject]:
        return [o for o in self.objects if o.threat]


SPARSE_SHARE = 8  # a raster solid in under one pixel of this many is added pixel by pixel


@dataclass(frozen=True)
class _Raster:
    """One part's thickness (cm) over the box of its solid pixels, whose corner is (row, col)."""

    material: str
    row: int
    col: int
    thickness: np.ndarray
    solid: np.ndarray  # thickness > 0

    @property
    def window(self) -> tuple[slice, slice]:
        h, w = self.thickness.shape
        return slice(self.row, self.row + h), slice(self.col, self.col + w)


@dataclass
class Scene:
    config: ScanConfig = field(default_factory=ScanConfig)
    paths: dict[str, np.ndarray] = field(default_factory=dict)
    objects: list[PlacedObject] = field(default_factory=list)
    # running sums kept beside the paths so that a scan needs no pass over every material
    basis: np.ndarray | None = None
    occupied: np.ndarray | None = None

    def _path(self, material: str) -> np.ndarray:
        if material not in self.paths:
            self.paths[material] = np.zeros(self.config.shape, dtype=np.float32)
        return self.paths[material]

    def add(
        self,
        item: Item,
        x_cm: float,
        y_cm: float,
        angle: float = 0.0,
        record: bool = True,
        inside: tuple[int, int, int, int] | None = None,
    ) -> PlacedObject | None:
        """Place ``item`` centred at (x, y) cm (x across, y along the belt), rotated by angle.

        ``inside`` (row0, col0, row1, col1) cuts the item to a container's interior.
        """
        rows, cols = self.config.shape
        limits = inside or (0, 0, rows, cols)
        rasters = [r for part in item.parts if (r := self._raster(part, x_cm, y_cm, angle, limits))]
        proj = projector(self.config)
        if self.basis is None or self.occupied is None:
            self.basis = np.zeros((BASIS_SIZE, rows, cols), dtype=np.float32)
            self.occupied = np.zeros((rows, cols), dtype=bool)
        for raster in rasters:
            self._accumulate(raster, proj.coefficients[raster.material])
        if not record or not rasters:
            return None
        # each raster is cropped to its solid pixels, so their union's box is the item's box
        br0 = min(r.row for r in rasters)
        bc0 = min(r.col for r in rasters)
        br1 = max(r.window[0].stop for r in rasters)
        bc1 = max(r.window[1].stop for r in rasters)
        mask = np.zeros((br1 - br0, bc1 - bc0), dtype=bool)
        for r in rasters:
            h, w = r.solid.shape
            mask[r.row - br0 : r.row - br0 + h, r.col - bc0 : r.col - bc0 + w] |= r.solid
        placed = PlacedObject(
            item.label,
            item.threat,
            (br0, bc0, br1, bc1),
            mask,
            tuple(sorted({r.material for r in rasters})),
        )
        self.objects.append(placed)
        return placed

    def _accumulate(self, raster: _Raster, coefficients: np.ndarray) -> None:
        """Add a raster to its material's path lengths, the basis sums and the occupied map."""
        assert self.basis is not None and self.occupied is not None
        path = self._path(raster.material)
        solid, thickness, window = raster.solid, raster.thickness, raster.window
        if solid.all() and (thickness == thickness[0, 0]).all():
            # a slab square to the image (the box's lid and floor) fills its box with one
            # thickness: the sums take that one value, with no full-size temporaries
            value = thickness[0, 0]
            path[window] += value
            self.occupied[window] = True
            for k, coefficient in enumerate(coefficients):
                self.basis[k][window] += coefficient * value
            return
        if np.count_nonzero(solid) * SPARSE_SHARE >= solid.size:
            path[window] += thickness
            self.occupied[window] |= solid
            self.basis[:, window[0], window[1]] += coefficients[:, None, None] * thickness
            return
        # a frame's walls fill a few percent of its box: only its solid pixels are added
        # (adding the zeros between them would change nothing)
        rows, cols = np.nonzero(solid)
        values = thickness[rows, cols]
        rows += raster.row
        cols += raster.col
        path[rows, cols] += values
        self.occupied[rows, cols] = True
        self.basis[:, rows, cols] += coefficients[:, None] * values

    def _raster(
        self,
        part: Part,
        x_cm: float,
        y_cm: float,
        angle: float,
        limits: tuple[int, int, int, int],
    ) -> _Raster | None:
        """The part's thickness at pixel centres, cropped to where it is solid (None if
        nowhere inside ``limits``)."""
        lim_r0, lim_c0, lim_r1, lim_c1 = limits
        px = self.config.pixel_cm
        cos_a, sin_a = math.cos(angle), math.sin(angle)
        cx = x_cm + part.du * cos_a - part.dv * sin_a
        cy = y_cm + part.du * sin_a + part.dv * cos_a
        theta = angle + part.angle
        reach_x, reach_y = part.reach(theta, px)
        r0 = max(int((cy - reach_y) / px), lim_r0)
        r1 = min(int((cy + reach_y) / px) + 2, lim_r1)
        c0 = max(int((cx - reach_x) / px), lim_c0)
        c1 = min(int((cx + reach_x) / px) + 2, lim_c1)
        if r0 >= r1 or c0 >= c1:
            return None
        dy = ((np.arange(r0, r1, dtype=np.float32) + 0.5) * px - cy)[:, None]
        dx = ((np.arange(c0, c1, dtype=np.float32) + 0.5) * px - cx)[None, :]
        ct, st = math.cos(theta), math.sin(theta)
        u = dx * ct + dy * st
        v = dy * ct - dx * st
        thickness = part.profile(u, v, px)
        solid = thickness > 0
        # the scene's sums need only the box of the solid pixels (a frame's or a round
        # part's window is partly empty)
        solid_rows = np.flatnonzero(solid.any(axis=1))
        if solid_rows.size == 0:
            return None
        solid_cols = np.flatnonzero(solid.any(axis=0))
        crop = (
            slice(int(solid_rows[0]), int(solid_rows[-1]) + 1),
            slice(int(solid_cols[0]), int(solid_cols[-1]) + 1),
        )
        return _Raster(
            part.material, r0 + crop[0].start, c0 + crop[1].start, thickness[crop], solid[crop]
        )

    def add_box(
        self, x_cm: float, y_cm: float, length: float, width: float, height: float
    ) -> tuple[int, int, int, int]:
        """The parcel's cardboard box: lid and floor everywhere, walls seen edge-on at its rim.

        Returns the box's interior as (row0, col0, row1, col1) for placing its contents.
        """
        wall = 0.4
        extent = math.hypot(length, width) / 2
        half = (length / 2, width / 2)
        box = Item(
            "box",
            (
                Part("cardboard", slab(length, width, 2 * wall), extent, half=half),
                Part("cardboard", frame(length, width, wall, height), extent, half=half),
            ),
        )
        self.add(box, x_cm, y_cm, 0.0, record=False)
        px = self.config.pixel_cm
        return (
            max(int((y_cm - width / 2 + wall) / px) + 1, 0),
            max(int((x_cm - length / 2 + wall) / px) + 1, 0),
            min(int((y_cm + width / 2 - wall) / px), self.config.shape[0]),
            min(int((x_cm + length / 2 - wall) / px), self.config.shape[1]),
        )

    def scan(self, rng: np.random.Generator | None = None) -> Scan:
        proj = projector(self.config)
        if self.basis is None or self.occupied is None:
            t_low, t_high = proj.transmission(self.paths)
        else:
            t_low, t_high = proj.transmission_from_basis(self.basis, self.occupied)
        high, low = readout(t_low, t_high, self.config, rng)
        return Scan(high, low, list(self.objects), self.config)


def simulate_letters(
    rng: np.random.Generator | int,
    config: ScanConfig | None = None,
    powder: bool = False,
    count: tuple[int, int] = (3, 8),
) -> Scan:
    """A tray of letters (and the odd magazine), one of them with powder when ``powder``.

    Letters are screened in trays apart from parcels, which is where a powder letter is met.
    """
    rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
    config = config or ScanConfig()
    rows, cols = config.shape
    width_cm, height_cm = cols * config.pixel_cm, rows * config.pixel_cm
    scene = Scene(config)
    tray_size = (width_cm * 0.9, height_cm * 0.9)
    tray = Part(
        "polyethylene",
        slab(*tray_size, 0.3),
        width_cm,
        half=(tray_size[0] / 2, tray_size[1] / 2),
    )
    scene.add(Item("tray", (tray,)), width_cm / 2, height_cm / 2, 0.0, record=False)
    items = [
        objects.magazine(rng) if rng.random() < 0.15 else objects.letter(rng)
        for _ in range(int(rng.integers(count[0], count[1] + 1)))
    ]
    if powder:
        items.insert(int(rng.integers(0, len(items) + 1)), objects.powder_letter(rng))
    for item in items:
        x = rng.uniform(0.2, 0.8) * width_cm
        y = rng.uniform(0.2, 0.8) * height_cm
        scene.add(item, x, y, rng.uniform(0, 2 * math.pi))
    return scene.scan(rng)


def simulate_parcel(
    rng: np.random.Generator | int,
    config: ScanConfig | None = None,
    threat: str | None = None,
    clutter: tuple[int, int] = (3, 9),
) -> Scan:
    """A random parcel: a box, ``clutter`` benign items (inclusive range) and maybe a threat.

    A "powder" threat comes as a tray of letters (see ``simulate_letters``).
    """
    rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
    config = config or ScanConfig()
    if threat is not None and threat not in objects.THREAT_BUILDERS:
        raise ValueError(f"threat: {threat!r} is not one of {sorted(objects.THREAT_BUILDERS)}")
    if threat == "powder":
        return simulate_letters(rng, config, powder=True)
    rows, cols = config.shape
    width_cm, height_cm = cols * config.pixel_cm, rows * config.pixel_cm
    scene = Scene(config)
    box_l = rng.uniform(0.45, 0.92) * width_cm
    box_w = rng.uniform(0.45, 0.92) * height_cm
    box_x = rng.uniform(box_l / 2 + 1, width_cm - box_l / 2 - 1)
    box_y = rng.uniform(box_w / 2 + 1, height_cm - box_w / 2 - 1)
    interior = scene.add_box(box_x, box_y, box_l, box_w, rng.uniform(10, 35))
    area_scale = (box_l * box_w) / (0.7 * width_cm * 0.7 * height_cm)
    low_n, high_n = clutter
    count = int(rng.integers(low_n, high_n + 1))
    count = max(low_n, round(count * min(area_scale, 1.3)))
    items = [objects.random_benign(rng) for _ in range(count)]
    if threat is not None:
        items.insert(int(rng.integers(0, len(items) + 1)), objects.THREAT_BUILDERS[threat](rng))
    for item in items:
        # keep the item's centre far enough in that it fits the box (as packed items do);
        # an item larger than the box is centred and cut by the walls
        reach = 0.8 * max(math.hypot(p.du, p.dv) + p.extent for p in item.parts)
        free_x = max(box_l / 2 - reach, 0.05 * box_l)
        free_y = max(box_w / 2 - reach, 0.05 * box_w)
        x = box_x + rng.uniform(-free_x, free_x)
        y = box_y + rng.uniform(-free_y, free_y)
        scene.add(item, x, y, rng.uniform(0, 2 * math.pi), inside=interior)
    return scene.scan(rng)
