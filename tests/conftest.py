"""Test set-up shared by every folder.

Services that may be missing on a developer's machine (PostgreSQL, Redis, Chromium) make their
tests skip with the reason; CI sets MW_REQUIRE_SERVICES=1, which turns those skips into failures.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

REQUIRE_SERVICES = os.environ.get("MW_REQUIRE_SERVICES") == "1"
# CI's second pass, on PostgreSQL, sets MW_TESTS_ON_DATABASE_ONLY=1: it runs the tests whose
# outcome can depend on the database. The first pass already ran the rest, which are the same on
# any database, and the browser and benchmark-smoke tests, which are slow and run once.
DATABASE_ONLY = os.environ.get("MW_TESTS_ON_DATABASE_ONLY") == "1"
_DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences"})


def uses_database(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(item.get_closest_marker("django_db")) or bool(names & _DATABASE_FIXTURES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not DATABASE_ONLY:
        return
    keep, drop = [], []
    for item in items:
        once = item.get_closest_marker("browser") or item.get_closest_marker("slow")
        (drop if once or not uses_database(item) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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


@pytest.fixture
def pg(transactional_db: None) -> None:
    """Real concurrent transactions need PostgreSQL; the SQLite pass skips (CI's PG pass runs)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        # Not a missing service: this pass runs on SQLite, and CI's PostgreSQL pass runs these.
        pytest.skip("needs the PostgreSQL pass: set MW_DATABASE_URL=postgresql://...")
    if not port_open("127.0.0.1", 5432) and connection.settings_dict["HOST"] == "127.0.0.1":
        service_missing("PostgreSQL is not reachable at 127.0.0.1:5432")


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together, each on its own connection.

    Each result is the call's value or the exception it raised.
    """
    from django.db import connections

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[n] = call()
        except Exception as exc:
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


@pytest.fixture(autouse=True)
def _log_to_the_tests_stderr() -> None:
    """The server's console log handler writes to sys.stderr as this test sees it. Under
    pytest-xdist, Django sets logging up while a worker's start-up capture stream stands in for
    stderr; that stream is closed later, and every log line would then fail."""
    import logging
    import sys

    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            # Not setStream: it would flush the closed stream first.
            handler.stream = sys.stderr


@pytest.fixture(autouse=True)
def _own_checkpoint_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test gets its own ledger checkpoint folder: a checkpoint signed over one test's
    ledger must not be held against the next test's (rolled back) one."""
    from mailwarden.config import get_settings

    settings = get_settings()
    before = settings.ledger_checkpoint_dir
    settings.ledger_checkpoint_dir = tmp_path_factory.mktemp("checkpoints", numbered=True)
    yield
    settings.ledger_checkpoint_dir = before


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """Argon2 is slow on purpose, and the tests make thousands of accounts: half the suite's time
    went into hashing their passwords. Tests hash with MD5 (Argon2 still reads a stored hash);
    ``tests/core/test_storage_and_auth.py`` holds the server to Argon2."""
    from django.test import override_settings

    with override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.Argon2PasswordHasher",
        ]
    ):
        yield


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One Chromium per test process, for every folder of browser tests: a second Playwright
    started beside the first in one process refuses to run ("Sync API inside the asyncio
    loop"), so this is the only place that starts one."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        service_missing(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
