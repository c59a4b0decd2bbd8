from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mailwarden.xray import imaging
from mailwarden.xray.materials import effective_z
from mailwarden.xray.projection import projector, readout

from .conftest import QUIET


def wedge(material: str, steps: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """A noise-free image: one column band per step thickness (cm) of ``material``."""
    cols = QUIET.shape[1]
    t = np.zeros(QUIET.shape, np.float32)
    width = cols // len(steps)
    for k, cm in enumerate(steps):
        t[:, k * width : (k + 1) * width] = cm
    t_low, t_high = projector(QUIET).transmission({material: t})
    return readout(t_low, t_high, QUIET)


def step_values(values: np.ndarray, n: int) -> list[float]:
    width = values.shape[1] // n
    return [float(np.median(values[:, k * width + 2 : (k + 1) * width - 2])) for k in range(n)]


@pytest.mark.parametrize(
    ("material", "steps", "tolerance"),
    [
        ("water", [1.0, 3.0, 8.0, 15.0], 0.25),
        ("aluminium", [0.3, 1.0, 2.5, 5.0], 0.8),
        ("iron", [0.05, 0.15, 0.4, 0.8], 1.5),
    ],
)
def test_zeff_of_step_wedges(material, steps, tolerance):
    high, low = wedge(material, steps)
    maps = imaging.material_maps(high, low, QUIET)
    for z in step_values(maps.zeff, len(steps)):
        assert z == pytest.approx(effective_z(material), abs=tolerance)


def test_mass_thickness_of_a_water_wedge():
    steps = [1.0, 3.0, 8.0]
    high, low = wedge("water", steps)
    maps = imaging.material_maps(high, low, QUIET)
    assert step_values(maps.mass_thickness, 3) == pytest.approx(steps, rel=0.05)


def test_r_value_grows_with_z():
    r = [
        float(np.median(imaging.r_value(*wedge(m, [t]))))
        for m, t in [("polyethylene", 5.0), ("water", 4.0), ("aluminium", 1.5), ("iron", 0.2)]
    ]
    assert r == sorted(r)


def test_lead_is_impenetrable_not_organic():
    high, low = wedge("lead", [0.3, 0.5])
    maps = imaging.material_maps(high, low, QUIET)
    assert np.all(maps.classes[:, 5:-5] == imaging.IMPENETRABLE)


def test_classes_of_known_materials():
    for material, cm, expected in [
        ("water", 5.0, imaging.ORGANIC),
        ("tnt", 3.0, imaging.ORGANIC),
        ("aluminium", 1.5, imaging.INORGANIC),
        ("iron", 0.3, imaging.METAL),
    ]:
        maps = imaging.material_maps(*wedge(material, [cm]), QUIET)
        assert np.all(maps.classes[:, 5:-5] == expected), material


def hue_family(rgb: np.ndarray) -> str:
    hue, sat, val = imaging.rgb_to_hsv(rgb)
    h, s, v = float(np.median(hue)), float(np.median(sat)), float(np.median(val))
    if v < 0.08:
        return "black"
    if s < 0.1:
        return "white"
    if 10 <= h <= 50:
        return "orange"
    if 80 <= h <= 160:
        return "green"
    if 190 <= h <= 260:
        return "blue"
    return f"other {h:.0f}"


@pytest.mark.parametrize(
    ("material", "cm", "family"),
    [
        ("water", 5.0, "orange"),
        ("paper", 3.0, "orange"),
        ("aluminium", 1.5, "green"),
        ("glass", 1.5, "green"),
        ("iron", 0.3, "blue"),
        ("copper", 0.2, "blue"),
        ("lead", 0.5, "black"),
    ],
)
def test_pseudo_colour_hue_families(material, cm, family):
    rgb = imaging.pseudo_colour(*wedge(material, [cm]), QUIET)
    assert rgb.dtype == np.uint8 and rgb.shape == (*QUIET.shape, 3)
    assert hue_family(rgb[5:-5, 5:-5]) == family


def test_thicker_is_darker():
    rgb = imaging.pseudo_colour(*wedge("water", [2.0, 10.0]), QUIET)
    _, _, value = imaging.rgb_to_hsv(rgb)
    thin, thick = step_values(value, 2)
    assert thick < thin - 0.1


@pytest.fixture
def mixed_scene() -> tuple[np.ndarray, np.ndarray]:
    """Water on the left half, iron on the right half."""
    cols = QUIET.shape[1]
    water = np.zeros(QUIET.shape, np.float32)
    iron = np.zeros(QUIET.shape, np.float32)
    water[:, : cols // 2] = 5.0
    iron[:, cols // 2 :] = 0.3
    t_low, t_high = projector(QUIET).transmission({"water": water, "iron": iron})
    return readout(t_low, t_high, QUIET)


def test_negative_inverts(mixed_scene):
    rgb = imaging.pseudo_colour(*mixed_scene, QUIET)
    neg = imaging.negative(rgb)
    assert np.array_equal(neg.astype(int), 255 - rgb.astype(int))
    assert np.array_equal(imaging.negative(neg), rgb)


def test_organic_only_hides_metal(mixed_scene):
    view = imaging.organic_only(*mixed_scene, QUIET)
    assert hue_family(view[5:-5, 5:35]) == "orange"
    assert hue_family(view[5:-5, 45:75]) == "white"


def test_inorganic_only_hides_organic(mixed_scene):
    view = imaging.inorganic_only(*mixed_scene, QUIET)
    assert hue_family(view[5:-5, 5:35]) == "white"
    assert hue_family(view[5:-5, 45:75]) == "blue"


def test_high_penetration_separates_what_colour_shows_black():
    high, low = wedge("iron", [2.2, 3.0])
    colour = imaging.pseudo_colour(high, low, QUIET)
    assert hue_family(colour[:, 5:35]) == hue_family(colour[:, 45:75]) == "black"
    view = imaging.high_penetration(high, QUIET)
    left, right = step_values(view[..., 0].astype(float), 2)
    assert left > right + 20


def test_edge_enhancement_sharpens_the_boundary(mixed_scene):
    rgb = imaging.pseudo_colour(*mixed_scene, QUIET)
    sharp = imaging.edge_enhanced(rgb)
    step = lambda img: np.abs(np.diff(img[30, 35:45, :].astype(int), axis=0)).max()  # noqa: E731
    assert step(sharp) > step(rgb)
    # flat areas stay as they were
    assert np.abs(sharp[30, 10].astype(int) - rgb[30, 10].astype(int)).max() <= 2


def test_variable_density_level_moves_the_window():
    high, low = wedge("water", [2.0, 8.0])
    dark = imaging.variable_density(high, low, level=0.1, config=QUIET)
    light = imaging.variable_density(high, low, level=0.9, config=QUIET)
    _, _, v_dark = imaging.rgb_to_hsv(dark)
    _, _, v_light = imaging.rgb_to_hsv(light)
    assert float(v_light.mean()) > float(v_dark.mean()) + 0.2
    # a mid level separates the two steps
    _, _, v_mid = imaging.rgb_to_hsv(imaging.variable_density(high, low, 0.45, 0.3, QUIET))
    thin, thick = step_values(v_mid, 2)
    assert thin > thick + 0.3
    with pytest.raises(ValueError, match="level"):
        imaging.variable_density(high, low, level=1.5, config=QUIET)


def test_render_dispatches_every_view(mixed_scene):
    for view in imaging.VIEWS:
        rgb = imaging.render(*mixed_scene, view=view, config=QUIET)
        assert rgb.dtype == np.uint8 and rgb.shape == (*QUIET.shape, 3), view
    with pytest.raises(ValueError, match="view"):
        imaging.render(*mixed_scene, view="x-ray vision", config=QUIET)


def test_to_png_round_trips(mixed_scene):
    rgb = imaging.pseudo_colour(*mixed_scene, QUIET)
    data = imaging.to_png(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), rgb)
    with pytest.raises(ValueError, match="dtype"):
        imaging.to_png(rgb.astype(np.float32))


def test_hue_mapping_inverts():
    z = np.array([5.5, 7.0, 9.0, 13.0, 19.0, 26.0], np.float32)
    assert np.allclose(imaging.z_for_hue(imaging.hue_for_z(z)), z, atol=1e-3)
    a = np.array([0.0, 0.5, 2.0, 4.0], np.float32)
    back = imaging.attenuation_for_brightness(imaging.brightness_for_attenuation(a))
    assert np.allclose(back, a, atol=1e-3)
