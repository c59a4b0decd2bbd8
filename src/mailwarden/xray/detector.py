"""A dual-layer (sandwich) detector: a thin front scintillator, a copper filter, a thick back one.

The front layer stops mostly soft photons and gives the low-energy channel; what passes it is
hardened by the copper and absorbed in the back layer, which gives the high-energy channel.
Both layers integrate deposited energy, so each channel weights the spectrum by
``fluence * E * absorption``. Absorption uses total attenuation, which overstates deposition a
little at high energy where Compton photons escape; both channels share that bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .materials import linear_attenuation
from .spectrum import Spectrum


@dataclass(frozen=True)
class ChannelWeights:
    """Per-energy weights of each channel (each sums to 1) and the photons each layer stops."""

    low: np.ndarray
    high: np.ndarray
    low_absorbed: float  # fraction of incident photons absorbed by the front layer
    high_absorbed: float  # ... and by the back layer


@dataclass(frozen=True)
class DualLayerDetector:
    front_material: str = "gos"
    front_mm: float = 0.2
    filter_material: str = "copper"
    filter_mm: float = 0.5
    back_material: str = "csi"
    back_mm: float = 4.0

    def absorption(self) -> tuple[np.ndarray, np.ndarray]:
        """Fraction of photons of each energy absorbed in the front and in the back layer."""
        front_pass = np.exp(-linear_attenuation(self.front_material) * self.front_mm / 10.0)
        filter_pass = np.exp(-linear_attenuation(self.filter_material) * self.filter_mm / 10.0)
        back_stop = 1.0 - np.exp(-linear_attenuation(self.back_material) * self.back_mm / 10.0)
        return 1.0 - front_pass, front_pass * filter_pass * back_stop

    def weights(self, spectrum: Spectrum) -> ChannelWeights:
        front, back = self.absorption()
        low = spectrum.fluence * spectrum.energies * front
        high = spectrum.fluence * spectrum.energies * back
        return ChannelWeights(
            low=low / low.sum(),
            high=high / high.sum(),
            low_absorbed=float(np.sum(spectrum.fluence * front)),
            high_absorbed=float(np.sum(spectrum.fluence * back)),
        )
