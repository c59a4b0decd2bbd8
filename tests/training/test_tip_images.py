"""make_image: one TIP trial image over a simulated bag or a real scan's pair."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mailwarden.training.services.tip_images import (
    CLEARED_SCAN,
    LEVELS,
    SIMULATED,
    Background,
    difficulty_for,
    make_image,
)
from mailwarden.xray import tip
from mailwarden.xray.projection import ScanConfig
from mailwarden.xray.tip import Difficulty


def test_a_threat_image_over_a_simulated_bag() -> None:
    image = make_image(
        np.random.default_rng(1),
        category="knife",
        difficulty=Difficulty(0.3, 0.5, 0.5),
        background=Background.simulated(),
    )
    assert (image.width, image.height) == (512, 384)
    assert image.background_kind == SIMULATED and image.category == "knife" and image.threat_label
    assert image.bbox_fractions is not None
    x0, y0, x1, y1 = image.bbox_fractions
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    with Image.open(io.BytesIO(image.png)) as png:
        assert png.size == (512, 384) and png.mode == "RGB"


def test_a_clean_image_has_no_box() -> None:
    image = make_image(
        np.random.default_rng(2),
        category=None,
        difficulty=difficulty_for(1),
        background=Background.simulated(),
    )
    assert image.bbox_fractions is None and image.threat_label == "" and image.category == ""


def test_the_same_seed_gives_the_same_image() -> None:
    def draw() -> bytes:
        return make_image(
            np.random.default_rng(9),
            category="gun",
            difficulty=difficulty_for(3),
            background=Background.simulated(),
        ).png

    assert draw() == draw()


def test_a_real_scans_pair_carries_the_projection_at_its_own_size() -> None:
    config = ScanConfig(shape=(480, 640))
    bag = tip.benign_bag(np.random.default_rng(4), 0.5, config)
    image = make_image(
        np.random.default_rng(5),
        category="ied",
        difficulty=difficulty_for(2),
        background=Background.scan(bag.high, bag.low, config),
    )
    assert (image.width, image.height) == (640, 480)
    assert image.background_kind == CLEARED_SCAN and image.bbox_fractions is not None


def test_levels_run_from_easy_to_hard() -> None:
    easy, hard = difficulty_for(1), difficulty_for(LEVELS)
    assert easy == Difficulty(0.0, 0.0, 0.1)
    assert hard.viewpoint == hard.superposition == hard.complexity == 1.0
    with pytest.raises(ValueError, match="level"):
        difficulty_for(0)


def test_bad_backgrounds_and_categories_are_refused() -> None:
    with pytest.raises(ValueError, match="category"):
        make_image(
            np.random.default_rng(),
            category="spoon",
            difficulty=Difficulty(),
            background=Background.simulated(),
        )
    with pytest.raises(ValueError, match="background"):
        Background.scan(np.zeros((10, 10), np.uint16), np.zeros((10, 12), np.uint16))
    tiny = np.full((20, 20), 60_000, np.uint16)
    with pytest.raises(ValueError, match="too small"):
        make_image(
            np.random.default_rng(),
            category="gun",
            difficulty=Difficulty(),
            background=Background.scan(tiny, tiny),
        )


def test_a_large_scan_is_binned_to_the_workstations_size() -> None:
    config = ScanConfig(shape=(1600, 2100))
    high = np.full(config.shape, 50_000, np.uint16)
    high[::2] = 30_000  # alternate rows: their mean survives binning
    background = Background.scan(high, high.copy(), config)
    assert background.high is not None and background.high.shape == (533, 700)
    assert background.pixel_cm == pytest.approx(0.3)
    assert int(background.high[10, 10]) == 36_667  # (30000 + 50000 + 30000) / 3
    small = Background.scan(high[:700, :900], high[:700, :900])
    assert small.pixel_cm is None and small.high is not None and small.high.shape == (700, 900)
    image = make_image(
        np.random.default_rng(3),
        category="knife",
        difficulty=difficulty_for(1),
        background=Background.scan(
            *[tip.benign_bag(np.random.default_rng(8), 0.4, config).high] * 2, config
        ),
    )
    assert (image.width, image.height) == (700, 533)


def test_a_shared_pool_makes_a_few_images_per_kind_and_hands_them_round() -> None:
    from mailwarden.training.services.tip_images import shared_images

    rng = np.random.default_rng(4)
    easy, hard = difficulty_for(1), difficulty_for(2)
    with shared_images(per_kind=2) as pool:
        knives = [
            make_image(rng, category="knife", difficulty=easy, background=Background.simulated())
            for _ in range(5)
        ]
        clean = make_image(rng, category=None, difficulty=easy, background=Background.simulated())
        harder = make_image(
            rng, category="knife", difficulty=hard, background=Background.simulated()
        )
    assert pool.made == 4
    # Two knives made, then handed round whole: each with its own box and label.
    assert knives[0] is not knives[1]
    assert [knives[2], knives[3], knives[4]] == [knives[0], knives[1], knives[0]]
    assert clean.bbox_fractions is None and harder is not knives[0]
    # The clean image at that level lies in one of the two bags its knives were put in.
    assert len(pool.bags[(easy.complexity, tip.TIP_CONFIG)]) == 2
    # Outside the pool every image is new.
    again = make_image(rng, category="knife", difficulty=easy, background=Background.simulated())
    assert again not in knives


def test_images_over_a_real_scan_are_never_pooled() -> None:
    from mailwarden.training.services.tip_images import shared_images

    bag = tip.benign_bag(np.random.default_rng(5), 0.3)
    scan = Background.scan(bag.high, bag.low, tip.TIP_CONFIG)
    rng = np.random.default_rng(6)
    with shared_images(per_kind=1) as pool:
        first = make_image(rng, category="gun", difficulty=difficulty_for(1), background=scan)
        second = make_image(rng, category="gun", difficulty=difficulty_for(1), background=scan)
    assert pool.made == 0 and first is not second


def test_a_pool_holds_at_least_one_image_per_kind() -> None:
    from mailwarden.training.services.tip_images import shared_images

    with pytest.raises(ValueError, match="per_kind"), shared_images(per_kind=0):
        pass
