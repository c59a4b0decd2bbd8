"""Materials seen in mail and their X-ray attenuation, from the xraydb tables.

Attenuation is tabulated once per material on ``ENERGIES_KEV`` (10-160 keV, 1 keV steps) and
cached: xraydb answers from the SQLite database inside its wheel, so nothing is downloaded.
Mixtures (batteries, circuit boards, plastic explosives) are built from compounds by mass
fraction, using the mixture rule for mass attenuation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np

ENERGIES_KEV: np.ndarray = np.arange(10.0, 161.0, 1.0)
ZEFF_EXPONENT = 2.94


@dataclass(frozen=True)
class Material:
    """A material by composition: ``parts`` maps chemical formulae to mass fractions."""

    name: str
    parts: tuple[tuple[str, float], ...]
    density: float  # g/cm3, as the object is packed (bulk density for powders and fabrics)
    group: str  # "organic", "inorganic", "metal", "explosive" or "detector"


def _single(name: str, formula: str, density: float, group: str) -> Material:
    return Material(name, ((formula, 1.0),), density, group)


_ALL: tuple[Material, ...] = (
    # benign organics
    _single("water", "H2O", 1.0, "organic"),
    _single("paper", "C6H10O5", 0.8, "organic"),
    _single("cardboard", "C6H10O5", 0.55, "organic"),
    _single("cotton", "C6H10O5", 0.3, "organic"),  # folded clothing, air included
    _single("polyester", "C10H8O4", 0.35, "organic"),
    _single("polyethylene", "C2H4", 0.94, "organic"),
    _single("abs", "C15H17N", 1.05, "organic"),  # plastic housings, knife handles
    _single("wood", "C6H10O5", 0.65, "organic"),
    _single("sugar", "C12H22O11", 1.59, "organic"),
    _single("sugar_bulk", "C12H22O11", 0.85, "organic"),  # a bag of granulated sugar
    _single("starch", "C6H10O5", 0.6, "organic"),  # flour and other household powders
    _single("pvc", "C2H3Cl", 1.38, "inorganic"),
    # explosives
    _single("tnt", "C7H5N3O6", 1.65, "explosive"),
    _single("rdx", "C3H6N6O6", 1.82, "explosive"),
    _single("petn", "C5H8N4O12", 1.77, "explosive"),
    _single("ammonium_nitrate", "NH4NO3", 1.72, "explosive"),
    _single("tatp", "C9H18O6", 1.18, "explosive"),
    # RDX or PETN in a polymer binder, as in C-4 and Semtex
    Material("c4", (("C3H6N6O6", 0.91), ("C4H8", 0.09)), 1.60, "explosive"),
    Material(
        "semtex", (("C5H8N4O12", 0.45), ("C3H6N6O6", 0.40), ("C4H8", 0.15)), 1.55, "explosive"
    ),
    # inorganics and metals
    _single("glass", "SiO2", 2.2, "inorganic"),
    _single("calcite", "CaCO3", 2.71, "inorganic"),
    _single("titanium", "Ti", 4.51, "metal"),
    _single("aluminium", "Al", 2.70, "metal"),
    _single("iron", "Fe", 7.87, "metal"),
    _single("copper", "Cu", 8.96, "metal"),
    _single("zinc", "Zn", 7.14, "metal"),
    _single("lead", "Pb", 11.34, "metal"),
    # detector scintillators
    _single("csi", "CsI", 4.51, "detector"),
    _single("gos", "Gd2O2S", 7.32, "detector"),
    # composites, by mass fraction, at the mean density of the whole part
    Material(
        "pcb",  # FR-4 glass-epoxy with copper layers
        (("SiO2", 0.45), ("C21H24O4", 0.40), ("Cu", 0.15)),
        1.9,
        "inorganic",
    ),
    Material(
        "li_ion_cell",  # 18650-type cell: cathode, graphite, foils, electrolyte, steel can
        (
            ("LiCoO2", 0.35),
            ("C", 0.18),
            ("Cu", 0.12),
            ("Al", 0.06),
            ("Fe", 0.18),
            ("C3H4O3", 0.11),
        ),
        2.7,
        "metal",
    ),
    Material(
        "alkaline_cell",  # AA or 9 V cell: zinc anode, MnO2 cathode, KOH, steel can
        (("MnO2", 0.40), ("Zn", 0.25), ("Fe", 0.20), ("KOH", 0.05), ("H2O", 0.10)),
        2.9,
        "metal",
    ),
)

MATERIALS: dict[str, Material] = {m.name: m for m in _ALL}


def _xraydb() -> ModuleType:
    # Imported on first use: xraydb brings SQLAlchemy, about a second and a half that every
    # process importing the screening app (every CLI command, every server start) would pay.
    import xraydb

    return xraydb


def get(name: str) -> Material:
    """The material called ``name``; a KeyError names the known ones."""
    try:
        return MATERIALS[name]
    except KeyError:
        raise KeyError(f"unknown material {name!r}; known: {sorted(MATERIALS)}") from None


def _element_mass_fractions(material: Material) -> dict[str, float]:
    xraydb = _xraydb()
    fractions: dict[str, float] = {}
    for formula, part_fraction in material.parts:
        counts = xraydb.chemparse(formula)
        masses = {el: n * xraydb.atomic_mass(el) for el, n in counts.items()}
        total = sum(masses.values())
        for el, m in masses.items():
            fractions[el] = fractions.get(el, 0.0) + part_fraction * m / total
    norm = sum(fractions.values())
    return {el: f / norm for el, f in fractions.items()}


@cache
def _mass_attenuation_cached(name: str) -> np.ndarray:
    material = get(name)
    xraydb = _xraydb()
    energies_ev = ENERGIES_KEV * 1000.0
    mu = np.zeros_like(ENERGIES_KEV)
    for element, fraction in _element_mass_fractions(material).items():
        mu += fraction * np.asarray(xraydb.mu_elam(element, energies_ev), dtype=float)
    mu.setflags(write=False)
    return mu


def mass_attenuation(name: str) -> np.ndarray:
    """Total mass attenuation coefficient (cm2/g) of ``name`` on ``ENERGIES_KEV``."""
    return _mass_attenuation_cached(name)


def linear_attenuation(name: str) -> np.ndarray:
    """Linear attenuation coefficient (1/cm) of ``name`` at its density, on ``ENERGIES_KEV``."""
    return mass_attenuation(name) * get(name).density


def mass_attenuation_at(name: str, energy_kev: float) -> float:
    """Mass attenuation (cm2/g) at one energy, log-log interpolated between grid points."""
    grid = ENERGIES_KEV
    mu = mass_attenuation(name)
    return float(np.exp(np.interp(np.log(energy_kev), np.log(grid), np.log(mu))))


def effective_z(name: str, exponent: float = ZEFF_EXPONENT) -> float:
    """Power-law effective atomic number: (sum of electron fraction * Z**p) ** (1/p)."""
    xraydb = _xraydb()
    electrons: dict[int, float] = {}
    for element, mass_fraction in _element_mass_fractions(get(name)).items():
        z = xraydb.atomic_number(element)
        electrons[z] = electrons.get(z, 0.0) + mass_fraction * z / xraydb.atomic_mass(element)
    total = sum(electrons.values())
    return float(sum(n / total * z**exponent for z, n in electrons.items()) ** (1.0 / exponent))
