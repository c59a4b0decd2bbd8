"""The scanner's effective-Z calibration: step wedges of reference materials, as a 2-D lookup.

The R-value (low-energy over high-energy attenuation) of one material drifts with thickness as
the beam hardens, so R alone does not give Z. Scanners therefore measure step wedges of
reference materials and look Z up from the pair (high-energy attenuation, R). Here the wedges
are computed with the same polychromatic model the simulator uses, noise-free. For each row of
high-energy attenuation the references' R values are sorted by Z and interpolated, giving
tables of Z and of mass thickness over a regular (a_high, R) grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .materials import effective_z, get
from .projection import ScanConfig, projector

REFERENCES: tuple[str, ...] = (
    "polyethylene",
    "paper",
    "water",
    "glass",
    "aluminium",
    "calcite",
    "titanium",
    "iron",
    "copper",
)
A_HIGH_MAX = 9.0
LOOKUP_CHUNK = 8192  # pixels looked up at a time: float64 temporaries of 64 kB


@dataclass(frozen=True)
class Calibration:
    a_high: np.ndarray  # grid of high-energy attenuation, -ln(I/I0)
    ratio: np.ndarray  # grid of R
    zeff: np.ndarray  # (len(a_high), len(ratio))
    mass_thickness: np.ndarray  # g/cm2, same shape
    wedges: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # name -> (mt, a_high, R)
    z_grid: np.ndarray  # grid of Zeff for the inverse table
    ratio_of_z: np.ndarray  # (len(a_high), len(z_grid)): the R that gives each Zeff

    def lookup(self, a_high: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Zeff and mass thickness (g/cm2) for arrays of high attenuation and R.

        Nearest row in attenuation (Z changes slowly along it), linear between columns in R
        (where one cell is worth about 0.07 in Z among organics).
        """
        high, r = np.asarray(a_high), np.asarray(ratio)
        if high.shape != r.shape or high.size <= LOOKUP_CHUNK:
            return self._lookup(high, r)
        # a whole map in chunks: every temporary then stays in cache and is reused by the
        # allocator, where map-sized ones are mapped afresh each time (page faults cost as
        # much as the arithmetic); each value is computed exactly as it is alone
        zeff = np.empty(high.shape, dtype=self.zeff.dtype)
        mass = np.empty(high.shape, dtype=self.mass_thickness.dtype)
        flat_h, flat_r = high.reshape(-1), r.reshape(-1)
        flat_z, flat_m = zeff.reshape(-1), mass.reshape(-1)
        for start in range(0, high.size, LOOKUP_CHUNK):
            part = slice(start, start + LOOKUP_CHUNK)
            flat_z[part], flat_m[part] = self._lookup(flat_h[part], flat_r[part])
        return zeff, mass

    def _lookup(self, a_high: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a0, da = self.a_high[0], self.a_high[1] - self.a_high[0]
        r0, dr = self.ratio[0], self.ratio[1] - self.ratio[0]
        # in place where it can be: every temporary array costs as much as the arithmetic
        row = np.array(a_high, dtype=np.float64)
        row -= a0
        row /= da
        np.clip(np.rint(row, out=row), 0, len(self.a_high) - 1, out=row)
        position = np.array(ratio, dtype=np.float64)
        position -= r0
        position /= dr
        np.clip(position, 0, len(self.ratio) - 1.001, out=position)
        j = position.astype(np.intp)
        w = np.subtract(position, j, out=position).astype(np.float32)
        # gathers from the flattened tables: several times faster than 2-D fancy indexing
        below = row.astype(np.intp)
        below *= len(self.ratio)
        below += j
        above = below + 1
        cells = (below, above, 1 - w, w)
        return _between(self.zeff.ravel(), *cells), _between(self.mass_thickness.ravel(), *cells)

    def ratio_for(self, a_high: np.ndarray, zeff: np.ndarray) -> np.ndarray:
        """The R that a material of ``zeff`` shows at ``a_high``: the lookup run backwards."""
        a0, da = self.a_high[0], self.a_high[1] - self.a_high[0]
        z0, dz = self.z_grid[0], self.z_grid[1] - self.z_grid[0]
        i = np.clip(np.rint((a_high - a0) / da), 0, len(self.a_high) - 1).astype(np.intp)
        j = np.clip(np.rint((zeff - z0) / dz), 0, len(self.z_grid) - 1).astype(np.intp)
        return self.ratio_of_z[i, j]


def _between(
    table: np.ndarray, below: np.ndarray, above: np.ndarray, v: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """``table[below] * v + table[above] * w``, in place where it can be."""
    out = table.take(below)
    out *= v
    upper = table.take(above)
    upper *= w
    out += upper
    return out


def step_wedge(
    config: ScanConfig, material: str, mass_thickness: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free (a_high, a_low) of ``material`` at each mass thickness (g/cm2)."""
    thickness = (np.asarray(mass_thickness, dtype=np.float32) / get(material).density)[None, :]
    t_low, t_high = projector(config).transmission({material: thickness})
    return -np.log(t_high[0]), -np.log(t_low[0])


@cache
def calibration(config: ScanConfig) -> Calibration:
    a_grid = np.arange(0.0, A_HIGH_MAX + 1e-9, 0.01)
    r_grid = np.arange(0.9, 3.2 + 1e-9, 0.004)
    wedges: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for name in REFERENCES:
        mt = np.geomspace(0.005, 400.0, 600)
        a_high, a_low = step_wedge(config, name, mt)
        keep = a_high <= A_HIGH_MAX * 1.2
        wedges[name] = (mt[keep], a_high[keep], a_low[keep] / a_high[keep])
    z_refs = np.array([effective_z(n) for n in REFERENCES])
    zeff = np.empty((a_grid.size, r_grid.size), dtype=np.float32)
    mass = np.empty_like(zeff)
    for i, a in enumerate(np.maximum(a_grid, 0.005)):
        r_at = np.array([np.interp(a, w[1], w[2]) for w in wedges.values()])
        mt_at = np.array([np.interp(a, w[1], w[0]) for w in wedges.values()])
        # keep the references in Z order whose R still rises with Z at this attenuation
        rising = [0]
        for k in range(1, len(REFERENCES)):
            if r_at[k] > r_at[rising[-1]]:
                rising.append(k)
        zeff[i] = np.interp(r_grid, r_at[rising], z_refs[rising])
        # mass thickness follows log-linearly between the neighbouring references
        mass[i] = np.exp(np.interp(r_grid, r_at[rising], np.log(mt_at[rising])))
    z_grid = np.arange(5.0, 30.0 + 1e-9, 0.02)
    ratio_of_z = np.empty((a_grid.size, z_grid.size), dtype=np.float32)
    for i in range(a_grid.size):
        # Zeff rises with R along a row; a tiny slope makes the row strictly increasing
        row = np.maximum.accumulate(zeff[i].astype(float)) + np.arange(r_grid.size) * 1e-9
        ratio_of_z[i] = np.interp(z_grid, row, r_grid)
    return Calibration(a_grid, r_grid, zeff, mass, wedges, z_grid, ratio_of_z)


BASIS_MATERIALS: tuple[str, str] = ("water", "aluminium")


@cache
def _basis_model(config: ScanConfig) -> tuple[np.ndarray, np.ndarray]:
    """Binned attenuation of the basis materials (bins x 2) and channel weights (2 x bins)."""
    proj = projector(config)
    mu = np.stack([proj.mu[name] for name in BASIS_MATERIALS], axis=1).astype(float)
    return mu, np.stack([proj.bin_high, proj.bin_low]).astype(float)


def _forward(config: ScanConfig, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a_high, a_low) and their Jacobian for basis thicknesses ``x`` (cm of each basis)."""
    mu, weights = _basis_model(config)
    weighted = weights * np.exp(-(mu @ x))
    total = weighted.sum(axis=1)
    return -np.log(total), (weighted @ mu) / total[:, None]


def decompose(config: ScanConfig, a_high: float, a_low: float) -> np.ndarray:
    """Thicknesses (cm) of water and aluminium that attenuate like the pair (a_high, a_low).

    Attenuation is not additive in a polychromatic beam (the beam hardens), but basis
    thicknesses are: an item's own material is what lies inside it minus what lies around it.
    Solved by Newton's method on the scanner's own model.
    """
    target = np.array([a_high, a_low], dtype=float)
    x = np.array([a_high / 0.18, 0.0])
    for _ in range(12):
        value, jac = _forward(config, x)
        (a, b), (c, d) = jac
        r0, r1 = target - value
        det = a * d - b * c
        if abs(det) < 1e-12:
            break
        step = np.array([(d * r0 - b * r1) / det, (a * r1 - c * r0) / det])
        x = x + step
        if np.abs(step).max() < 1e-4:
            break
    return x


def own_material(
    config: ScanConfig, inside: tuple[float, float], around: tuple[float, float]
) -> tuple[float, float, float]:
    """(a_high, Zeff, mass thickness g/cm2) of an item alone, from the (a_high, a_low) measured
    through it and beside it."""
    own = decompose(config, *inside) - decompose(config, *around)
    (a_high, a_low), _ = _forward(config, own)
    a_high = max(float(a_high), 1e-3)
    ratio = max(float(a_low), 1e-3) / a_high
    z, mt = calibration(config).lookup(np.array([a_high]), np.array([ratio]))
    return a_high, float(z[0]), float(mt[0])


def decompose_many(config: ScanConfig, a_high: np.ndarray, a_low: np.ndarray) -> np.ndarray:
    """``decompose`` of many pairs at once: (n, 2) thicknesses (cm) of water and aluminium.

    The same Newton iteration, run on every pair together (a fixed number of steps: pairs that
    have converged move no further), so that one call serves all the readings of an image.
    """
    target = np.stack([np.ravel(a_high), np.ravel(a_low)]).astype(float)  # (2, n)
    mu, weights = _basis_model(config)
    x = np.stack([target[0] / 0.18, np.zeros(target.shape[1])])
    for _ in range(8):
        # a degenerate pair (nothing absorbed, or everything) gives a zero determinant; its
        # step is dropped below
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            weighted = weights[:, :, None] * np.exp(-(mu @ x))[None]  # (2, bins, n)
            total = weighted.sum(axis=1)  # (2, n)
            jac = np.matmul(weighted.transpose(0, 2, 1), mu) / total[:, :, None]  # (2, n, 2)
            r = target + np.log(total)
            (a, b), (c, d) = jac.transpose(0, 2, 1)
            det = a * d - b * c
            step = np.stack([(d * r[0] - b * r[1]) / det, (a * r[1] - c * r[0]) / det])
        step = np.where(np.isfinite(step), step, 0.0)
        x = x + step
        if np.abs(step).max() < 1e-4:
            break
    return x.T


def own_materials(
    config: ScanConfig, inside: np.ndarray, around: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``own_material`` of many items at once: ``inside`` and ``around`` are (n, 2) arrays of
    (a_high, a_low); returns arrays of own a_high, Zeff and mass thickness (g/cm2)."""
    inside, around = np.asarray(inside, dtype=float), np.asarray(around, dtype=float)
    if inside.size == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    both = decompose_many(
        config,
        np.concatenate([inside[:, 0], around[:, 0]]),
        np.concatenate([inside[:, 1], around[:, 1]]),
    )
    own = both[: len(inside)] - both[len(inside) :]
    mu, weights = _basis_model(config)
    with np.errstate(over="ignore"):
        total = (weights[:, :, None] * np.exp(-(mu @ own.T))[None]).sum(axis=1)
    a_high = np.nan_to_num(np.maximum(-np.log(total[0]), 1e-3), nan=1e-3, posinf=A_HIGH_MAX)
    ratio = np.nan_to_num(np.maximum(-np.log(total[1]), 1e-3), nan=1e-3) / a_high
    z, mt = calibration(config).lookup(a_high, ratio)
    return a_high, np.asarray(z, dtype=float), np.asarray(mt, dtype=float)
