"""From a pair of detector images to material maps, pseudo-colour and the operator's views.

Material maps come from the (high-energy attenuation, R) calibration lookup. Impenetrable
pixels are decided first, from the high-energy transmission alone: behind thick metal the
low/high ratio is meaningless, and lead's K edge at 88 keV would otherwise make lead read as an
organic (the high channel loses more than the low one just above the edge).

Pseudo-colour follows the usual screening convention: orange for organic (Z < 10), green for
mixed and light inorganic (10-18), blue for metal (> 18), black for impenetrable; the hue moves
a little with Z inside each family and the brightness falls with attenuation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from .calibration import calibration
from .projection import ScanConfig, attenuation, descatter

BACKGROUND, ORGANIC, INORGANIC, METAL, IMPENETRABLE = 0, 1, 2, 3, 4
CLASS_NAMES: dict[int, str] = {
    BACKGROUND: "background",
    ORGANIC: "organic",
    INORGANIC: "inorganic",
    METAL: "metal",
    IMPENETRABLE: "impenetrable",
}
ORGANIC_MAX_Z = 10.0
INORGANIC_MAX_Z = 18.0
IMPENETRABLE_A_HIGH = 4.2  # high-energy transmission under 1.5 %
BACKGROUND_A_HIGH = 0.02  # below this the ratio is mostly noise
BLACK_A_HIGH = 5.0  # attenuation rendered black in the colour image

# hue (degrees) at Z; piecewise linear, and inverted by analyze_colour
HUE_Z: tuple[tuple[float, float], ...] = (
    (5.0, 18.0),
    (8.0, 42.0),
    (10.0, 100.0),
    (18.0, 140.0),
    (20.0, 200.0),
    (30.0, 240.0),
)


@dataclass
class MaterialMaps:
    """Per-pixel estimates, all the same shape; ``pixel_cm`` is their pixel size."""

    a_high: np.ndarray
    zeff: np.ndarray
    mass_thickness: np.ndarray  # g/cm2
    classes: np.ndarray  # uint8, one of the class constants
    pixel_cm: float
    a_low: np.ndarray | None = None  # absent when the maps come from a colour image
    config: ScanConfig | None = None  # the scanner whose calibration made them


def _block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each ``factor`` x ``factor`` block, as float32."""
    if factor == 1:
        return image.astype(np.float32)
    rows, cols = image.shape[0] // factor * factor, image.shape[1] // factor * factor
    if factor == 2 and image.dtype == np.uint16:
        # the analysis's own binning: whole rows added in pairs, then columns, in integers (a
        # sum of four counts fits uint32, and float32 holds it exactly, so the result is the
        # one below to the last bit) at a third of the strided float sums' cost
        pairs = image[0:rows:2].astype(np.uint32)
        pairs += image[1:rows:2]
        summed = (pairs[:, 0:cols:2] + pairs[:, 1:cols:2]).astype(np.float32)
        summed /= np.float32(4)
        return summed
    # summing strided views is several times faster than a 4-D reshape and mean, and a
    # detector image is added as it is (each uint16 count is exact in float32)
    total = np.zeros((rows // factor, cols // factor), dtype=np.float32)
    for i in range(factor):
        for j in range(factor):
            total += image[i:rows:factor, j:cols:factor]
    return total / np.float32(factor * factor)


def classify(a_high: np.ndarray, zeff: np.ndarray) -> np.ndarray:
    """The class of each pixel: by Zeff, then background and impenetrable by attenuation
    (which override it).

    Counted up from organic rather than assigned through masks: a whole map is classified
    for every image, and masked assignment costs several times the comparisons.
    """
    classes = np.add(zeff >= ORGANIC_MAX_Z, np.uint8(ORGANIC), dtype=np.uint8)
    classes += zeff > INORGANIC_MAX_Z  # inorganic (one up from organic), then metal
    np.copyto(classes, np.uint8(BACKGROUND), where=a_high < BACKGROUND_A_HIGH)
    np.copyto(classes, np.uint8(IMPENETRABLE), where=a_high >= IMPENETRABLE_A_HIGH)
    return classes


def material_maps(
    high: np.ndarray,
    low: np.ndarray,
    config: ScanConfig | None = None,
    downsample: int = 1,
    smooth: float = 0.0,
) -> MaterialMaps:
    """Attenuation, Zeff, mass thickness and class of every pixel (after optional binning)."""
    config = config or ScanConfig()
    if high.shape != low.shape:
        raise ValueError(f"low: shape {low.shape} differs from high's {high.shape}")
    pixel_cm = config.pixel_cm * downsample
    scale = np.float32(1.0 / config.air_level)
    t_high = descatter(_block_mean(high, downsample) * scale, config, pixel_cm)
    t_low = descatter(_block_mean(low, downsample) * scale, config, pixel_cm)
    if smooth > 0:
        t_high = ndimage.gaussian_filter(t_high, smooth)
        t_low = ndimage.gaussian_filter(t_low, smooth)
    floor = np.float32(0.5 / config.air_level)  # half a count keeps the logarithm finite
    a_high = -np.log(np.maximum(t_high, floor))
    a_low = -np.log(np.maximum(t_low, floor))
    ratio = a_low / np.maximum(a_high, 1e-3)
    zeff, mass = calibration(config).lookup(a_high, ratio)
    classes = classify(a_high, zeff)
    return MaterialMaps(a_high, zeff, mass, classes, pixel_cm, a_low, config)


def r_value(high: np.ndarray, low: np.ndarray, air_level: float = 60_000) -> np.ndarray:
    """R = ln(I_low/I0) / ln(I_high/I0) per pixel (1 where the high image is unattenuated)."""
    a_high = attenuation(high, air_level)
    a_low = attenuation(low, air_level)
    return np.where(a_high > 1e-3, a_low / np.maximum(a_high, 1e-3), 1.0)


# ---- colour -------------------------------------------------------------------------------


def hue_for_z(zeff: np.ndarray) -> np.ndarray:
    z, h = zip(*HUE_Z, strict=True)
    return np.interp(zeff, z, h).astype(np.float32)


def z_for_hue(hue: np.ndarray) -> np.ndarray:
    z, h = zip(*HUE_Z, strict=True)
    return np.interp(hue, h, z).astype(np.float32)


def brightness_for_attenuation(a_high: np.ndarray) -> np.ndarray:
    """Value channel: 1 for air, falling with attenuation, 0 (black) from BLACK_A_HIGH."""
    return np.clip(1.0 - (np.clip(a_high, 0, None) / BLACK_A_HIGH) ** 0.6, 0.0, 1.0)


def attenuation_for_brightness(value: np.ndarray) -> np.ndarray:
    return BLACK_A_HIGH * np.clip(1.0 - value, 0.0, 1.0) ** (1.0 / 0.6)


def saturation_for_attenuation(a_high: np.ndarray) -> np.ndarray:
    # faint layers fade to white so that a thin envelope does not paint the whole image
    return np.clip(a_high / 0.12, 0.0, 1.0) * 0.9


def hsv_to_rgb(hue: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
    """HSV (hue in degrees, s and v in 0-1) to uint8 RGB."""
    h = (hue % 360.0) / 60.0
    c = val * sat
    x = c * (1 - np.abs(h % 2 - 1))
    m = val - c
    sector = h.astype(np.int8)
    zeros = np.zeros_like(c)
    choices_r = [c, x, zeros, zeros, x, c]
    choices_g = [x, c, c, x, zeros, zeros]
    choices_b = [zeros, zeros, x, c, c, x]
    sector = np.clip(sector, 0, 5)
    r = np.choose(sector, choices_r) + m
    g = np.choose(sector, choices_g) + m
    b = np.choose(sector, choices_b) + m
    rgb = np.stack([r, g, b], axis=-1)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def rgb_to_hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 RGB to HSV (hue in degrees, s and v in 0-1)."""
    f = rgb.astype(np.float32) / 255.0
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    mx = f.max(axis=-1)
    mn = f.min(axis=-1)
    delta = mx - mn
    safe = np.where(delta > 0, delta, 1.0)
    hue = np.where(
        mx == r,
        ((g - b) / safe) % 6,
        np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4),
    )
    hue = np.where(delta > 0, hue * 60.0, 0.0)
    sat = np.where(mx > 0, delta / np.where(mx > 0, mx, 1.0), 0.0)
    return hue.astype(np.float32), sat.astype(np.float32), mx


def _colour(maps: MaterialMaps, value: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    hue = hue_for_z(maps.zeff)
    sat = saturation_for_attenuation(maps.a_high)
    sat = np.where(maps.classes == BACKGROUND, 0.0, sat)
    value = np.where(maps.classes == IMPENETRABLE, 0.0, value)
    if keep is not None:
        # hidden material is drawn as if absent: white
        sat = np.where(keep, sat, 0.0)
        value = np.where(keep, value, 1.0)
    return hsv_to_rgb(hue, sat, value)


def pseudo_colour(
    high: np.ndarray, low: np.ndarray, config: ScanConfig | None = None
) -> np.ndarray:
    """The standard screening rendering, uint8 RGB."""
    maps = material_maps(high, low, config, smooth=0.7)
    return _colour(maps, brightness_for_attenuation(maps.a_high))


def images_from_colour(rgb: np.ndarray, config: ScanConfig) -> tuple[np.ndarray, np.ndarray]:
    """Detector-like (high, low) uint16 images rebuilt from a pseudo-colour export.

    Brightness gives the high-energy attenuation and hue gives Zeff; the calibration run
    backwards gives the low-energy attenuation that such a material would show. Unsaturated
    pixels (air, paper-thin layers) are read as Zeff 7.
    """
    hue, sat, val = rgb_to_hsv(rgb[..., :3])
    a_high = attenuation_for_brightness(val)
    zeff = np.where(sat < 0.08, 7.0, z_for_hue(hue))
    a_low = a_high * calibration(config).ratio_for(a_high, zeff)
    images = []
    for a in (a_high, a_low):
        value = config.air_level * np.exp(-np.clip(a, 0, 20))
        images.append(np.clip(np.rint(value), 1, 65535).astype(np.uint16))
    return images[0], images[1]


# ---- operator views -----------------------------------------------------------------------


def organic_only(high: np.ndarray, low: np.ndarray, config: ScanConfig | None = None) -> np.ndarray:
    """Organic material in colour; inorganic, metal and impenetrable areas removed (white)."""
    maps = material_maps(high, low, config, smooth=0.7)
    keep = maps.classes == ORGANIC
    return _colour(maps, brightness_for_attenuation(maps.a_high), keep)


def inorganic_only(
    high: np.ndarray, low: np.ndarray, config: ScanConfig | None = None
) -> np.ndarray:
    """Inorganic, metal and impenetrable material; organic areas removed (white)."""
    maps = material_maps(high, low, config, smooth=0.7)
    keep = maps.classes >= INORGANIC
    return _colour(maps, brightness_for_attenuation(maps.a_high), keep)


def variable_density(
    high: np.ndarray,
    low: np.ndarray,
    level: float = 0.5,
    width: float = 0.3,
    config: ScanConfig | None = None,
) -> np.ndarray:
    """Colour image whose brightness is a window on attenuation centred at ``level`` (0-1).

    ``level`` 0 looks at the thinnest layers, 1 at the densest; everything below the window is
    white and everything above it black, so the operator can step through overlapping layers.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level: {level} is outside 0-1")
    config = config or ScanConfig()
    maps = material_maps(high, low, config, smooth=0.7)
    scale = np.log1p(np.clip(maps.a_high, 0, None)) / np.log1p(BLACK_A_HIGH)
    lo = level - width / 2
    value = 1.0 - np.clip((scale - lo) / width, 0.0, 1.0)
    hue = hue_for_z(maps.zeff)
    sat = np.where(maps.classes == BACKGROUND, 0.0, saturation_for_attenuation(maps.a_high))
    return hsv_to_rgb(hue, sat, value)


def high_penetration(high: np.ndarray, config: ScanConfig | None = None) -> np.ndarray:
    """Grey image of the high channel stretched for dense regions, to see into thick items."""
    config = config or ScanConfig()
    a_high = attenuation(high, config.air_level)
    value = 1.0 - np.clip((a_high - 1.0) / (BLACK_A_HIGH + 2.0 - 1.0), 0.0, 1.0)
    grey = np.rint(value * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def edge_enhanced(rgb: np.ndarray, amount: float = 1.5, sigma: float = 1.5) -> np.ndarray:
    """Unsharp masking of a rendered image: outlines of wires and blades stand out."""
    f = rgb.astype(np.float32)
    blurred = ndimage.gaussian_filter(f, (sigma, sigma, 0))
    return np.clip(np.rint(f + amount * (f - blurred)), 0, 255).astype(np.uint8)


def negative(rgb: np.ndarray) -> np.ndarray:
    return (255 - rgb).astype(np.uint8)


def grey(high: np.ndarray, config: ScanConfig | None = None) -> np.ndarray:
    """The plain high-energy image, as a screener's black-and-white view."""
    config = config or ScanConfig()
    value = np.clip(high.astype(np.float32) / config.air_level, 0, 1) ** 0.5
    g = np.rint(value * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


VIEWS = (
    "colour",
    "organic",
    "inorganic",
    "high_penetration",
    "edges",
    "negative",
    "density",
    "grey",
)


def render(
    high: np.ndarray,
    low: np.ndarray,
    view: str = "colour",
    level: float = 0.5,
    config: ScanConfig | None = None,
) -> np.ndarray:
    """One of the operator's ``VIEWS`` as uint8 RGB."""
    if view == "colour":
        return pseudo_colour(high, low, config)
    if view == "organic":
        return organic_only(high, low, config)
    if view == "inorganic":
        return inorganic_only(high, low, config)
    if view == "high_penetration":
        return high_penetration(high, config)
    if view == "edges":
        return edge_enhanced(pseudo_colour(high, low, config))
    if view == "negative":
        return negative(pseudo_colour(high, low, config))
    if view == "density":
        return variable_density(high, low, level, config=config)
    if view == "grey":
        return grey(high, config)
    raise ValueError(f"view: {view!r} is not one of {VIEWS}")


def to_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 RGB or grey array, or a uint16 grey one."""
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"array: dtype {array.dtype} is neither uint8 nor uint16")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()
