"""Shared scanner settings for the X-ray tests: small images keep the suite quick."""

from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray.projection import ScanConfig
from mailwarden.xray.simulator import Scene

SMALL = ScanConfig(shape=(400, 560))
QUIET = ScanConfig(shape=(60, 80), noise=False, scatter_fraction=0.0)


@pytest.fixture
def small_config() -> ScanConfig:
    return SMALL


def boxed_scene(config: ScanConfig = SMALL) -> tuple[Scene, tuple[int, int, int, int]]:
    """A scene holding an empty 50 x 34 cm box of 15 cm height, and the box's interior."""
    scene = Scene(config)
    rows, cols = config.shape
    x, y = cols * config.pixel_cm / 2, rows * config.pixel_cm / 2
    interior = scene.add_box(x, y, cols * config.pixel_cm - 4, rows * config.pixel_cm - 4, 15)
    return scene, interior


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)
