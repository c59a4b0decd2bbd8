"""Tube spectra: Kramers' law for a tungsten anode, with tungsten K lines and filtration.

Kramers' law gives the thick-target bremsstrahlung photon fluence per unit energy as
``k * Z * (kVp - E) / E``. Tungsten K lines (K-alpha2 58.0, K-alpha1 59.3, K-beta 67.2 keV)
appear once the tube voltage passes the K edge (69.5 keV); their share follows the usual
``(U - 1) ** 1.63`` growth with overvoltage ``U = kVp / 69.5``. Anode self-absorption and the
tube window are folded into an inherent aluminium filtration, as spectrum models without a full
anode model do. spekpy would model the anode properly, but it is not needed for a two-channel
screening model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .materials import ENERGIES_KEV, linear_attenuation

TUNGSTEN_Z = 74
TUNGSTEN_K_EDGE_KEV = 69.5
# line energy (keV) and relative intensity
TUNGSTEN_K_LINES: tuple[tuple[float, float], ...] = ((58.0, 0.58), (59.3, 1.0), (67.2, 0.33))


@dataclass(frozen=True)
class Spectrum:
    """Photon fluence per 1 keV bin on ``energies`` (keV), normalised to a sum of 1."""

    kvp: float
    energies: np.ndarray
    fluence: np.ndarray

    def mean_energy(self) -> float:
        return float(np.sum(self.energies * self.fluence))

    def filtered(self, material: str, thickness_cm: float) -> Spectrum:
        """This spectrum after a filter of ``material``, renormalised."""
        passed = self.fluence * np.exp(-linear_attenuation(material) * thickness_cm)
        return Spectrum(self.kvp, self.energies, passed / passed.sum())


def kramers(kvp: float, anode_z: int = TUNGSTEN_Z, characteristic: bool = True) -> Spectrum:
    """Unfiltered thick-target spectrum of a tube at ``kvp`` on ``ENERGIES_KEV``."""
    if not 20.0 <= kvp <= ENERGIES_KEV[-1]:
        raise ValueError(f"kvp: {kvp} is outside 20-{ENERGIES_KEV[-1]:.0f} kV")
    energies = ENERGIES_KEV
    fluence = anode_z * np.clip(kvp - energies, 0.0, None) / energies
    if characteristic and anode_z == TUNGSTEN_Z and kvp > TUNGSTEN_K_EDGE_KEV:
        share = min(0.06 * (kvp / TUNGSTEN_K_EDGE_KEV - 1.0) ** 1.63, 0.15)
        total_lines = sum(weight for _, weight in TUNGSTEN_K_LINES)
        line_fluence = fluence.sum() * share / (1.0 - share)
        for energy, weight in TUNGSTEN_K_LINES:
            index = int(np.argmin(np.abs(energies - energy)))
            fluence[index] += line_fluence * weight / total_lines
    return Spectrum(float(kvp), energies, fluence / fluence.sum())


def tube_spectrum(
    kvp: float = 160.0,
    inherent_al_mm: float = 2.5,
    added_cu_mm: float = 0.0,
    characteristic: bool = True,
) -> Spectrum:
    """A tungsten-anode screening tube: Kramers spectrum through inherent Al and optional Cu."""
    if inherent_al_mm < 0 or added_cu_mm < 0:
        raise ValueError("filtration: thicknesses must not be negative")
    spectrum = kramers(kvp, characteristic=characteristic)
    spectrum = spectrum.filtered("aluminium", inherent_al_mm / 10.0)
    if added_cu_mm > 0:
        spectrum = spectrum.filtered("copper", added_cu_mm / 10.0)
    return spectrum
