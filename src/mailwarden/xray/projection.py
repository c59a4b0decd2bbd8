"""From path lengths to detector images: polychromatic attenuation and the detector readout.

Per pixel and channel the primary transmission is
``T = sum_E w(E) * exp(-sum_m mu_m(E) * t_m)``. Summed on the 1 keV grid that is 151 exponentials
per pixel; instead the grid is grouped into ~30 bins (finer where attenuation changes fast, with a
bin edge at lead's K edge), each with the fluence-weighted mean attenuation of every material, and
only pixels that hold something are computed. A test checks the binned model against the 1 keV one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy import ndimage

from .detector import DualLayerDetector
from .materials import ENERGIES_KEV, MATERIALS, linear_attenuation
from .spectrum import Spectrum, tube_spectrum

# Bin edges (keV) on the 1 keV grid: fine below 30 keV, where mu falls steeply, and one edge just
# above 88 keV so that lead's K edge (88.0 keV) is not smeared inside a bin.
BIN_EDGES_KEV: tuple[float, ...] = (
    *np.arange(9.5, 30.0, 2.0),
    *np.arange(31.5, 60.0, 5.0),
    60.5,
    67.5,
    74.5,
    81.5,
    88.5,
    *np.arange(96.5, 161.0, 8.0),
    160.5,
)

UINT16_MAX = 65535


@dataclass(frozen=True)
class ScanConfig:
    """How a scanner is built and read out; every image the simulator makes follows one."""

    shape: tuple[int, int] = (768, 1024)  # rows (along the belt), columns (across)
    pixel_cm: float = 0.1
    kvp: float = 160.0
    inherent_al_mm: float = 2.5
    added_cu_mm: float = 0.0
    detector: DualLayerDetector = field(default_factory=DualLayerDetector)
    quanta_low: float = 50_000.0  # photons absorbed per pixel in air, front layer
    quanta_high: float = 20_000.0  # ... and back layer
    air_level: int = 60_000  # output value for unattenuated beam; headroom below 65535
    adc_bits: int = 16
    electronic_noise: float = 3.0  # output units, standard deviation
    scatter_fraction: float = 0.02  # share of the signal spread by the wide scatter kernel
    scatter_sigma_cm: float = 4.0
    noise: bool = True

    def spectrum(self) -> Spectrum:
        return tube_spectrum(self.kvp, self.inherent_al_mm, self.added_cu_mm)


BASIS_SIZE = 4
CACHE_COLUMNS = 8192  # pixels whose binned exponents (under 1 MB) stay in a core's L2 cache


class Projector:
    """The binned polychromatic model of one scanner configuration.

    Every material's binned attenuation is written as a combination of ``BASIS_SIZE`` spectral
    basis functions (an SVD over all materials, weighted by the detected spectrum; four keep
    every material, lead's K edge included, within half a percent of attenuation). A pixel is
    then described by four basis thicknesses however many materials overlap in it.
    """

    def __init__(self, config: ScanConfig) -> None:
        self.config = config
        weights = config.detector.weights(config.spectrum())
        self.fine_low = weights.low
        self.fine_high = weights.high
        n_bins = len(BIN_EDGES_KEV) - 1
        bins = np.digitize(ENERGIES_KEV, BIN_EDGES_KEV) - 1
        low = np.bincount(bins, weights.low, n_bins)
        high = np.bincount(bins, weights.high, n_bins)
        both = weights.low + weights.high
        bin_weight = np.bincount(bins, both, n_bins)
        keep = bin_weight > 1e-6  # bins the filtered spectrum leaves empty cost time for nothing
        self.bin_low = (low[keep] / low[keep].sum()).astype(np.float32)
        self.bin_high = (high[keep] / high[keep].sum()).astype(np.float32)
        self.mu: dict[str, np.ndarray] = {}
        for name in MATERIALS:
            mu = np.bincount(bins, both * linear_attenuation(name), n_bins)[keep]
            self.mu[name] = mu / bin_weight[keep]
        self._fit_basis(np.sqrt(bin_weight[keep]))

    def _fit_basis(self, row_weight: np.ndarray) -> None:
        names = [n for n, m in MATERIALS.items() if m.group != "detector"]
        columns = [self.mu[n] * row_weight / np.linalg.norm(self.mu[n] * row_weight) for n in names]
        u, _, _ = np.linalg.svd(np.stack(columns, axis=1), full_matrices=False)
        weighted_basis = u[:, :BASIS_SIZE]
        self.basis = (weighted_basis / row_weight[:, None]).astype(np.float32)
        # negated once here, so that each chunk's exponent needs no negated temporary
        self._minus_basis = -self.basis
        self.coefficients: dict[str, np.ndarray] = {
            name: np.linalg.lstsq(weighted_basis, mu * row_weight, rcond=None)[0].astype(np.float32)
            for name, mu in self.mu.items()
        }

    def basis_thickness(self, paths: Mapping[str, np.ndarray]) -> np.ndarray:
        """Per-pixel basis thicknesses, shape (BASIS_SIZE, *image shape), from path lengths."""
        shape = next(iter(paths.values())).shape if paths else self.config.shape
        out = np.zeros((BASIS_SIZE, *shape), dtype=np.float32)
        for name, t in paths.items():
            t = np.asarray(t, dtype=np.float32)
            for k, c in enumerate(self.coefficients[name]):
                out[k] += c * t
        return out

    def transmission_from_basis(
        self, basis_thickness: np.ndarray, occupied: np.ndarray | None = None, chunk: int = 1 << 15
    ) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free primary transmission (low, high) from basis thicknesses.

        ``occupied`` (bool, image shape) limits the work to pixels that hold something.
        """
        shape = basis_thickness.shape[1:]
        t_low = np.ones(shape, dtype=np.float32)
        t_high = np.ones(shape, dtype=np.float32)
        flat = basis_thickness.reshape(BASIS_SIZE, -1)
        if occupied is None:
            occupied = np.any(flat != 0, axis=0)
        index = np.flatnonzero(occupied.ravel())
        flat_low, flat_high = t_low.ravel(), t_high.ravel()
        # The chunk length is part of the result: OpenBLAS sums a weighted row (gemv) in an
        # order that depends on its length, so other chunks would change the last bits. The
        # buffers are reused by every chunk (fresh ones cost page faults), and the exponent is
        # taken in column blocks that stay in cache; neither changes a bit.
        size = min(chunk, index.size)
        thickness = np.empty((BASIS_SIZE, size), dtype=np.float32)
        passed = np.empty((self.basis.shape[0], size), dtype=np.float32)
        for start in range(0, index.size, chunk):
            part = index[start : start + chunk]
            if part.size < size:
                thickness, passed = thickness[:, : part.size], passed[:, : part.size]
            np.take(flat, part, axis=1, out=thickness)
            for block in range(0, part.size, CACHE_COLUMNS):
                columns = slice(block, block + CACHE_COLUMNS)
                np.matmul(self._minus_basis, thickness[:, columns], out=passed[:, columns])
                np.exp(passed[:, columns], out=passed[:, columns])
            flat_low[part] = self.bin_low @ passed
            flat_high[part] = self.bin_high @ passed
        return t_low, t_high

    def transmission(self, paths: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free primary transmission (low, high) for per-material path lengths in cm."""
        occupied = np.zeros(next(iter(paths.values())).shape, bool) if paths else None
        for t in paths.values():
            occupied |= np.asarray(t) > 0  # type: ignore[operator]
        return self.transmission_from_basis(self.basis_thickness(paths), occupied)

    def exact_transmission(self, thickness_cm: Mapping[str, float]) -> tuple[float, float]:
        """Transmission (low, high) on the full 1 keV grid, for uniform layers; a reference."""
        total = np.zeros_like(ENERGIES_KEV)
        for name, t in thickness_cm.items():
            total += linear_attenuation(name) * t
        passed = np.exp(-total)
        return float(self.fine_low @ passed), float(self.fine_high @ passed)


@cache
def projector(config: ScanConfig) -> Projector:
    return Projector(config)


def _coarse_blur(t: np.ndarray, sigma_px: float, step: int) -> tuple[np.ndarray, int]:
    """A wide Gaussian blur of ``t`` on a grid of ``step`` x ``step`` blocks, and the step."""
    rows, cols = t.shape
    step = max(1, min(step, int(sigma_px // 2) or 1))
    pad_r, pad_c = (-rows) % step, (-cols) % step
    padded = np.pad(t, ((0, pad_r), (0, pad_c)), mode="edge") if pad_r or pad_c else t
    small = padded.reshape(padded.shape[0] // step, step, -1, step).mean(axis=(1, 3))
    return ndimage.gaussian_filter(small, sigma_px / step, mode="nearest").astype(np.float32), step


def _add_blocks(image: np.ndarray, small: np.ndarray, step: int) -> None:
    """Add ``small`` to ``image`` in place, each value over its ``step`` x ``step`` block.

    Nearest-neighbour spreading: the blurred field is smooth over many blocks, so the steps
    it leaves are far below the quantum noise, and it is several times cheaper than
    interpolating. Where the blocks tile the image, a broadcast view spares the full-size copy.
    """
    rows, cols = image.shape
    if rows % step or cols % step:
        image += np.repeat(np.repeat(small, step, axis=0), step, axis=1)[:rows, :cols]
        return
    blocks = image.reshape(rows // step, step, cols // step, step)
    blocks += small[:, None, :, None]


def _scatter(t: np.ndarray, config: ScanConfig) -> np.ndarray:
    """Mix a wide blur of the image into it: scatter and glare reach the detector off-line."""
    f = config.scatter_fraction
    if f <= 0:
        return t
    small, step = _coarse_blur(t, config.scatter_sigma_cm / config.pixel_cm, 8)
    out = (1.0 - f) * t
    _add_blocks(out, f * small, step)
    return out


def descatter(measured: np.ndarray, config: ScanConfig, pixel_cm: float) -> np.ndarray:
    """Undo ``_scatter`` approximately: the blur of the measurement stands in for the blur of
    the primary image, which the wide kernel makes nearly equal. ``measured`` is I/I0."""
    f = config.scatter_fraction
    if f <= 0:
        return measured
    small, step = _coarse_blur(measured, config.scatter_sigma_cm / pixel_cm, 8)
    out = measured.copy()  # the blur is taken away in place
    _add_blocks(out, -(f * small), step)
    out /= 1.0 - f
    return out


def readout(
    t_low: np.ndarray,
    t_high: np.ndarray,
    config: ScanConfig,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Detector images (high, low) as uint16, air at ``config.air_level``: scatter, noise, ADC."""
    if config.noise and rng is None:
        raise ValueError("rng: a generator is needed when config.noise is on")
    images = []
    for t, quanta in ((t_high, config.quanta_high), (t_low, config.quanta_low)):
        signal = _scatter(t.astype(np.float32, copy=False), config)
        value = signal * np.float32(config.air_level)
        if config.noise and rng is not None:
            _add_noise(value, signal, quanta, config, rng)
        if config.adc_bits < 16:
            step = np.float32(2 ** (16 - config.adc_bits))
            value = np.floor(value / step) * step
        np.clip(value, 0, UINT16_MAX, out=value)
        images.append(np.rint(value, out=value).astype(np.uint16))
    return images[0], images[1]


def _add_noise(
    value: np.ndarray,
    signal: np.ndarray,
    quanta: float,
    config: ScanConfig,
    rng: np.random.Generator,
) -> None:
    """Quantum and electronic noise, added to ``value`` (output units) in place.

    Gaussian where enough quanta arrive; Poisson counts where few do (behind lead), which a
    Gaussian would push negative. Draws in a fixed order, so a seed gives the same image.
    """
    units = config.air_level / quanta
    few = _few_quanta(signal, quanta)
    exact = rng.poisson(signal[few] * quanta) * units if few is not None else None
    # in place: full-size temporaries cost as much as the arithmetic
    sigma = value * np.float32(units)
    sigma += np.float32(config.electronic_noise**2)
    np.sqrt(sigma, out=sigma)
    noise = rng.standard_normal(value.shape, dtype=np.float32)
    noise *= sigma
    value += noise
    if few is not None and exact is not None:
        value[few] = exact + config.electronic_noise * rng.standard_normal(exact.shape)


def _few_quanta(signal: np.ndarray, quanta: float) -> np.ndarray | None:
    """The pixels that under 50 quanta reach, too few for a Gaussian; None where none do.

    Rounding is monotonic, so the faintest pixel tells whether any does: most images have
    nothing behind lead and need no full-size mask.
    """
    scale = np.float32(quanta)
    if not signal.min() * scale < 50.0:
        return None
    return signal * scale < 50.0


def attenuation(image: np.ndarray, air_level: float) -> np.ndarray:
    """-ln(I/I0) as float32, with the image floored at one count so the log stays finite."""
    values = np.maximum(image.astype(np.float32), 1.0)
    return np.log(np.float32(air_level)) - np.log(values)
