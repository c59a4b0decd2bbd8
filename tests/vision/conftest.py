from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
CLIPS = ("people-detection", "worker-zone-detection", "store-aisle-detection")


@pytest.fixture
def data() -> Path:
    return DATA
