"""Test set-up shared by every folder.

Services that may be missing on a developer's machine (PostgreSQL, Redis, Chromium) make their
tests skip with the reason; CI sets MW_REQUIRE_SERVICES=1, which turns those skips into failures.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

REQUIRE_SERVICES = os.environ.get("MW_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def frozen_clock() -> Iterator:
    from mailwarden.core.clock import FrozenClock, use_clock

    fake = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with use_clock(fake):
        yield fake
