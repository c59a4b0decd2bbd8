"""Things found in parcels, each built from parts with random but plausible sizes.

Every builder takes a ``numpy.random.Generator`` and returns an unplaced ``Item``: its parts are
posed relative to the item's centre, with u along its length. Sizes are in cm and materials are
names from ``materials.MATERIALS``. ``threat`` is the analysis class a threat item should raise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .shapes import (
    Part,
    disc,
    ellipsoid,
    frame,
    polygon,
    rod,
    slab,
    smooth_field,
    textured,
)

THREAT_CLASSES: tuple[str, ...] = ("explosive", "ied", "knife", "gun", "shielded", "powder")
EXPLOSIVES: tuple[str, ...] = ("c4", "semtex", "tnt", "petn", "rdx", "ammonium_nitrate", "tatp")


@dataclass(frozen=True)
class Item:
    label: str
    parts: tuple[Part, ...]
    threat: str | None = None


def _box_part(material: str, length: float, width: float, thickness: float, **pose: float) -> Part:
    extent = math.hypot(length, width) / 2
    half = (length / 2, width / 2)
    return Part(material, slab(length, width, thickness), extent, **pose, half=half)


def _segment(
    material: str, p0: tuple[float, float], p1: tuple[float, float], radius: float
) -> Part:
    """A rod from p0 to p1 in the item's frame."""
    du, dv = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    angle = math.atan2(p1[1] - p0[1], p1[0] - p0[0])
    extent = length / 2 + radius
    return Part(material, rod(length, radius), extent, du, dv, angle, half=(length / 2, radius))


def _wire(p0: tuple[float, float], p1: tuple[float, float]) -> list[Part]:
    """Insulated hook-up wire: a thin copper core in a PVC sheath."""
    return [_segment("copper", p0, p1, 0.04), _segment("pvc", p0, p1, 0.1)]


# ---- benign items -------------------------------------------------------------------------


def book(rng: np.random.Generator) -> Item:
    length, width = rng.uniform(17, 26), rng.uniform(11, 19)
    pages = rng.uniform(1.2, 4.5)
    parts = [_box_part("paper", length, width, pages)]
    if rng.random() < 0.5:  # hardcover boards
        parts.append(_box_part("cardboard", length + 0.6, width + 0.4, 0.5))
    return Item("book", tuple(parts))


def paper_stack(rng: np.random.Generator) -> Item:
    thickness = rng.uniform(0.2, 2.5)
    return Item("paper", (_box_part("paper", 29.7, 21.0, thickness),))


def magazine(rng: np.random.Generator) -> Item:
    return Item("magazine", (_box_part("paper", 28.0, 21.0, rng.uniform(0.2, 0.8)),))


def clothing(rng: np.random.Generator) -> Item:
    a, b = rng.uniform(10, 20), rng.uniform(8, 15)
    height = rng.uniform(3, 12)
    material = "cotton" if rng.random() < 0.6 else "polyester"
    half = max(a, b)
    base = textured(ellipsoid(a, b, height), smooth_field(rng), half, 0.45)
    parts = [Part(material, base, half, half=(a, b))]
    if rng.random() < 0.3:  # zip fastener: a narrow strip of small zinc teeth
        parts.append(_box_part("zinc", rng.uniform(10, 20), 0.5, 0.12, dv=rng.uniform(-b, b) / 2))
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(2, 6))):
            parts.append(
                Part(
                    "polyethylene",
                    disc(0.6, 0.3),
                    0.6,
                    rng.uniform(-a, a) / 2,
                    rng.uniform(-b, b) / 2,
                )
            )
    return Item("clothing", tuple(parts))


def bottle(rng: np.random.Generator) -> Item:
    radius, length = rng.uniform(3.0, 4.5), rng.uniform(15, 26)
    liquid = "water"
    if rng.random() < 0.3:  # glass wine or spirits bottle
        wall_rod = rod(length, radius, radius - 0.35)
        wall = Part("glass", wall_rod, length / 2 + radius, half=(length / 2, radius))
    else:
        wall_rod = rod(length, radius, radius - 0.04)
        wall = Part("polyethylene", wall_rod, length / 2 + radius, half=(length / 2, radius))
    fill_rod = rod(length - 1.0, radius - 0.35)
    fill = Part(liquid, fill_rod, length / 2 + radius, half=((length - 1.0) / 2, radius - 0.35))
    neck = _segment("polyethylene", (length / 2, 0), (length / 2 + 5, 0), 1.3)
    return Item("bottle", (wall, fill, neck))


def electronics(rng: np.random.Generator) -> Item:
    length, width = rng.uniform(9, 16), rng.uniform(6, 10)
    parts = [
        _box_part("abs", length + 1.0, width + 1.0, 0.4),
        Part(
            "abs",
            frame(length + 1.0, width + 1.0, 0.2, 2.0),
            math.hypot(length + 1, width + 1) / 2,
            half=((length + 1.0) / 2, (width + 1.0) / 2),
        ),
        _box_part("pcb", length * 0.6, width * 0.9, 0.16, du=length * 0.18),
    ]
    for _ in range(int(rng.integers(3, 8))):
        material = str(rng.choice(["aluminium", "iron", "copper", "abs"]))
        size = rng.uniform(0.4, 1.5)
        parts.append(
            _box_part(
                material,
                size,
                size * rng.uniform(0.5, 1.5),
                rng.uniform(0.2, 0.8),
                du=length * 0.18 + rng.uniform(-0.25, 0.25) * length,
                dv=rng.uniform(-0.35, 0.35) * width,
            )
        )
    battery_u = -length * 0.3
    if rng.random() < 0.5:
        parts.append(_box_part("li_ion_cell", length * 0.35, width * 0.8, 0.6, du=battery_u))
    else:
        for k in range(2):
            parts.append(
                _segment(
                    "li_ion_cell",
                    (battery_u - 3.2, (k - 0.5) * 1.9),
                    (battery_u + 3.2, (k - 0.5) * 1.9),
                    0.9,
                )
            )
    parts += _wire((battery_u + 2, 0.5), (length * 0.05, rng.uniform(-2, 2)))
    parts += _wire((battery_u + 2, -0.5), (length * 0.05, rng.uniform(-2, 2)))
    if rng.random() < 0.5:  # power lead leaving the case
        parts += _wire((length / 2, 0), (length / 2 + rng.uniform(8, 25), rng.uniform(-5, 5)))
    return Item("electronics", tuple(parts))


def screwdriver(rng: np.random.Generator) -> Item:
    shaft, handle = rng.uniform(8, 18), rng.uniform(8, 11)
    radius = rng.uniform(0.25, 0.4)
    return Item(
        "screwdriver",
        (
            _segment("iron", (0, 0), (shaft, 0), radius),
            _segment("abs", (-handle, 0), (0, 0), rng.uniform(1.2, 1.6)),
            _segment("iron", (-handle * 0.6, 0), (0, 0), radius),
        ),
    )


def wrench(rng: np.random.Generator) -> Item:
    length, width, thick = rng.uniform(14, 26), rng.uniform(1.4, 2.2), rng.uniform(0.5, 0.8)
    ring = width * 1.1
    return Item(
        "wrench",
        (
            _box_part("iron", length, width, thick),
            Part("iron", disc(ring, thick, ring * 0.55), ring, length / 2),
            Part("iron", disc(ring * 1.1, thick, 0.0), ring * 1.1, -length / 2),
        ),
    )


def keys(rng: np.random.Generator) -> Item:
    parts = [Part("iron", disc(1.4, 0.25, 1.1), 1.4)]
    for _ in range(int(rng.integers(2, 6))):
        angle = rng.uniform(0, 2 * math.pi)
        tip = (
            1.3 * math.cos(angle) + 5.5 * math.cos(angle),
            1.3 * math.sin(angle) + 5.5 * math.sin(angle),
        )
        base = (1.3 * math.cos(angle), 1.3 * math.sin(angle))
        parts.append(_segment("copper", base, tip, 0.5 * 0.3))
        parts.append(Part("copper", disc(1.2, 0.2), 1.2, *base))
    return Item("keys", tuple(parts))


def coins(rng: np.random.Generator) -> Item:
    parts = []
    for _ in range(int(rng.integers(2, 9))):
        parts.append(
            Part(
                "copper",
                disc(rng.uniform(0.8, 1.3), rng.uniform(0.15, 0.25)),
                1.3,
                rng.uniform(-3, 3),
                rng.uniform(-3, 3),
            )
        )
    return Item("coins", tuple(parts))


def food_pack(rng: np.random.Generator) -> Item:
    """A packet of sugar, rice or pasta: a dense organic block, the classic confuser."""
    return Item(
        "food",
        (_box_part("sugar_bulk", rng.uniform(12, 18), rng.uniform(8, 12), rng.uniform(3, 7)),),
    )


def letter(rng: np.random.Generator) -> Item:
    length, width = (22.0, 11.0) if rng.random() < 0.6 else (22.9, 16.2)
    sheets = int(rng.integers(1, 4))
    parts = [
        _box_part("paper", length, width, 0.02),
        _box_part("paper", length * 0.95, width * 0.9, 0.03 * sheets, du=rng.uniform(-0.3, 0.3)),
    ]
    if rng.random() < 0.2:  # a card inside
        parts.append(_box_part("pvc", 8.6, 5.4, 0.08, du=rng.uniform(-5, 5)))
    return Item("letter", tuple(parts))


def cosmetics(rng: np.random.Generator) -> Item:
    """A jar of cream standing upright: lid and base, a side wall seen edge-on, contents."""
    radius, height = rng.uniform(2.5, 4.0), rng.uniform(2.0, 5.0)
    wall = 0.25
    return Item(
        "cosmetics",
        (
            Part("polyethylene", disc(radius, 0.6), radius),
            Part("polyethylene", disc(radius, height, radius - wall), radius),
            Part("water", disc(radius - wall, height), radius),
        ),
    )


BENIGN_BUILDERS: dict[str, tuple[Callable[[np.random.Generator], Item], float]] = {
    "book": (book, 1.0),
    "paper": (paper_stack, 0.8),
    "magazine": (magazine, 0.6),
    "clothing": (clothing, 1.6),
    "bottle": (bottle, 0.6),
    "electronics": (electronics, 0.7),
    "screwdriver": (screwdriver, 0.3),
    "wrench": (wrench, 0.25),
    "keys": (keys, 0.3),
    "coins": (coins, 0.3),
    "food": (food_pack, 0.25),
    "letter": (letter, 0.7),
    "cosmetics": (cosmetics, 0.4),
}


def random_benign(rng: np.random.Generator) -> Item:
    names = list(BENIGN_BUILDERS)
    weights = np.array([BENIGN_BUILDERS[n][1] for n in names])
    name = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    return BENIGN_BUILDERS[name][0](rng)


# ---- threats ------------------------------------------------------------------------------


def explosive_block(rng: np.random.Generator, material: str | None = None) -> Item:
    material = material or str(rng.choice(EXPLOSIVES))
    parts = [
        _box_part(material, rng.uniform(8, 20), rng.uniform(5, 12), rng.uniform(2.0, 5.0)),
    ]
    if rng.random() < 0.5:  # wrapped in paper or film
        parts.append(_box_part("paper", 21, 13, 0.05))
    return Item("explosive", tuple(parts), "explosive")


def explosive_sheet(rng: np.random.Generator, material: str | None = None) -> Item:
    material = material or str(rng.choice(["semtex", "petn", "c4"]))
    return Item(
        "sheet_explosive",
        (_box_part(material, rng.uniform(12, 25), rng.uniform(9, 18), rng.uniform(0.5, 1.0)),),
        "explosive",
    )


def explosive(rng: np.random.Generator) -> Item:
    return explosive_sheet(rng) if rng.random() < 0.35 else explosive_block(rng)


def ied(rng: np.random.Generator, material: str | None = None) -> Item:
    material = material or str(rng.choice(EXPLOSIVES))
    length, width = rng.uniform(8, 16), rng.uniform(5, 10)
    parts = [_box_part(material, length, width, rng.uniform(2.0, 5.0))]
    # detonator: a small copper tube, half inserted into one end of the charge
    det_start = length / 2 - 2.0
    det_end = det_start + rng.uniform(4.0, 6.0)
    det_v = rng.uniform(-width / 4, width / 4)
    parts.append(_segment("copper", (det_start, det_v), (det_end, det_v), 0.36))
    parts.append(_segment("petn", (det_start, det_v), (det_end - 1.0, det_v), 0.3))
    # power source beyond the detonator end, with wires to it
    battery_u = det_end + rng.uniform(4.0, 9.0)
    battery_v = rng.uniform(-width / 2, width / 2)
    if rng.random() < 0.5:
        parts.append(_box_part("alkaline_cell", 4.8, 2.6, 1.7, du=battery_u, dv=battery_v))
    else:
        for k in range(2):
            parts.append(
                _segment(
                    "alkaline_cell",
                    (battery_u - 2.5, battery_v + (k - 0.5) * 1.5),
                    (battery_u + 2.5, battery_v + (k - 0.5) * 1.5),
                    0.7,
                )
            )
    if rng.random() < 0.5:  # a timer or switch board in the circuit
        parts.append(
            _box_part("pcb", 3.5, 2.5, 0.16, du=(det_end + battery_u) / 2, dv=battery_v + 3)
        )
    parts += _wire((det_end, det_v + 0.2), (battery_u - 2.4, battery_v + 0.5))
    parts += _wire((det_end, det_v - 0.2), (battery_u - 2.4, battery_v - 0.5))
    return Item("ied", tuple(parts), "ied")


def knife(rng: np.random.Generator) -> Item:
    blade, width = rng.uniform(8, 22), rng.uniform(1.8, 4.0)
    handle = rng.uniform(9, 13)
    thick = rng.uniform(0.15, 0.3)
    vertices = np.array(
        [
            (0.0, width / 2),
            (0.7 * blade, width / 2),
            (blade, 0.25 * width),
            (0.75 * blade, -0.25 * width),
            (0.2 * blade, -width / 2),
            (0.0, -width / 2),
        ]
    )
    vertices[:, 0] -= (blade - handle) / 2  # centre the whole knife
    origin = -(blade - handle) / 2
    return Item(
        "knife",
        (
            Part("iron", polygon(vertices, thick), (blade + handle) / 2 + width),
            _box_part("iron", handle * 0.9, width * 0.35, thick, du=origin - handle * 0.45),
            _box_part("abs", handle, width * 0.8 + 0.6, 1.8, du=origin - handle / 2),
        ),
        "knife",
    )


def gun(rng: np.random.Generator) -> Item:
    s = rng.uniform(0.85, 1.15)
    slide = np.array([(-8.5, 0.0), (9.0, 0.0), (9.0, 3.0), (-8.5, 3.0)]) * s
    grip = np.array([(-8.5, 0.2), (-4.3, 0.2), (-6.6, -10.0), (-10.6, -9.6)]) * s
    magazine = np.array([(-7.4, 0.0), (-5.0, 0.0), (-7.0, -9.2), (-9.4, -8.9)]) * s
    extent = 13.0 * s
    parts = [
        Part("iron", polygon(slide, 0.9), extent),
        Part(
            "iron",
            rod(13.0 * s, 0.75 * s, 0.45 * s),
            extent,
            2.5 * s,
            1.5 * s,
            half=(6.5 * s, 0.75 * s),
        ),
        Part("abs", polygon(grip, 2.8), extent),
        Part("iron", polygon(magazine, 0.3), extent),
        Part("copper", polygon(magazine * 0.95, 0.4), extent),
    ]
    guard = [(-4.3, 0.0), (-4.9, -3.2), (-1.5, -3.2), (0.0, -0.4)]
    for (u0, v0), (u1, v1) in itertools.pairwise(guard):
        parts.append(_segment("iron", (u0 * s, v0 * s), (u1 * s, v1 * s), 0.3))
    return Item("gun", tuple(parts), "gun")


def shielded_box(rng: np.random.Generator) -> Item:
    length, width, height = rng.uniform(9, 18), rng.uniform(7, 13), rng.uniform(4, 9)
    lead = rng.uniform(0.12, 0.3)
    return Item(
        "shielded_box",
        (
            _box_part("lead", length, width, 2 * lead),
            Part(
                "lead",
                frame(length, width, lead, height),
                math.hypot(length, width) / 2,
                half=(length / 2, width / 2),
            ),
            _box_part("cardboard", length + 1, width + 1, 0.6),
        ),
        "shielded",
    )


def powder_letter(rng: np.random.Generator) -> Item:
    base = letter(rng)
    a, b = rng.uniform(3.5, 7.0), rng.uniform(2.5, 4.5)
    heap = textured(ellipsoid(a, b, rng.uniform(0.5, 1.4)), smooth_field(rng, 16), max(a, b), 0.3)
    powder = Part(
        "starch", heap, max(a, b), rng.uniform(-4, 4), rng.uniform(-1.5, 1.5), half=(a, b)
    )
    return Item("powder_letter", (*base.parts, powder), "powder")


THREAT_BUILDERS: dict[str, Callable[[np.random.Generator], Item]] = {
    "explosive": explosive,
    "ied": ied,
    "knife": knife,
    "gun": gun,
    "shielded": shielded_box,
    "powder": powder_letter,
}
