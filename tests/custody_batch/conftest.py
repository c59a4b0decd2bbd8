"""Fixtures for batch intake and manifests: the API tests' clients, a site and recipients."""

from __future__ import annotations

import random

import pytest

from mailwarden.custody.demo import tracking_number
from tests.api.conftest import admin, as_role, clerk, screener  # noqa: F401 - fixtures
from tests.console.conftest import make_person  # noqa: F401 - a fixture
from tests.e2e.conftest import open_page  # noqa: F401 - a fixture
from tests.factories import make_recipient, make_site


@pytest.fixture
def site(db):
    return make_site()


@pytest.fixture
def recipient(db):
    return make_recipient()


def numbers(count: int, seed: int = 3) -> list[str]:
    """Distinct valid UPS numbers."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        number = tracking_number(rng, "ups")
        if number not in out:
            out.append(number)
    return out
