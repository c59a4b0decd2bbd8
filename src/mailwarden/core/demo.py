"""``mailwarden demo``: a full sample installation, seeded by every installed app in turn.

Each app's :class:`~mailwarden.core.plugins.DemoSeeder` (declared on its AppConfig) seeds its own
part through its own services, in ``INSTALLED_APPS`` order, so the ledger is real; an app reads
what the apps below it seeded. Core's own part is the staff: one sign-in per role, sharing a
password kept in the data folder.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.models import User
from django.test.utils import override_settings

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.plugins import DemoOptions, DemoProcess, DemoSeeder, demo_seeders
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user

# The demo mailroom has three weeks of history.
HISTORY = timedelta(days=21)

DEMO_STAFF = {
    Role.ADMIN: "admin",
    Role.SECURITY_MANAGER: "manager",
    Role.SECURITY_OPERATOR: "operator",
    Role.SCREENER: "screener",
    Role.CLERK: "clerk",
    Role.AUDITOR: "auditor",
    Role.RECIPIENT: "recipient",
}

DEMO_STAFF_NAMES = {
    Role.ADMIN: ("Robin", "Hale"),
    Role.SECURITY_MANAGER: ("Morgan", "Reyes"),
    Role.SECURITY_OPERATOR: ("Sam", "Okoro"),
    Role.SCREENER: ("Priya", "Shah"),
    Role.CLERK: ("Jamie", "Clarke"),
    Role.AUDITOR: ("Dana", "Fischer"),
    Role.RECIPIENT: ("Lee", "Carter"),
}


@dataclass(frozen=True)
class DemoResult:
    created: bool
    options: DemoOptions
    # Each app's sentence: what it seeded when created, else what was there already.
    parts: tuple[str, ...]

    def summary(self) -> str:
        if not self.created:
            return f"Demo data already present: {', '.join(self.parts)}."
        return " ".join(self.parts)


@dataclass(frozen=True)
class DemoLogins:
    username: str
    password: str
    role_users: dict[str, str]


class Progress(Protocol):
    """Told as each app's part of the demo starts and ends (seeding takes a while)."""

    def started(self, label: str) -> None: ...

    def finished(self, label: str, part: str, seconds: float) -> None: ...


class DemoSeedArgon2Hasher(Argon2PasswordHasher):
    """Argon2 at a light cost, for the demo's sign-ins as they are seeded.

    At the full cost each hash takes half a second of CPU, and the demo's nine sign-ins took
    a tenth of its seeding. They all share one password, which the banner prints and the data
    folder keeps, so the cost guards nothing here; and Django hashes each again at the full
    cost the first time it is used to sign in (the hash names its own parameters, and a lighter
    one than the configured hasher's is updated).
    """

    time_cost = 1
    memory_cost = 8 * 1024  # KiB
    parallelism = 1


@contextmanager
def light_demo_hashing() -> Iterator[None]:
    hasher = f"{DemoSeedArgon2Hasher.__module__}.{DemoSeedArgon2Hasher.__qualname__}"
    with override_settings(PASSWORD_HASHERS=[hasher, *settings.PASSWORD_HASHERS]):
        yield


def seed(
    *,
    items: int = 200,
    recipients: int = 50,
    seed: int = 7,
    skip: Collection[str] = (),
    progress: Progress | None = None,
) -> DemoResult:
    """Seed once, into a database in which no app holds data; later calls change nothing.

    ``skip`` names apps (by label) whose part is left out, such as ``screening``'s slow scans.
    """
    options = DemoOptions(
        seed=seed, items=items, recipients=recipients, history_from=clock.now() - HISTORY
    )
    seeders = [(label, s) for label, s in demo_seeders() if label not in skip]
    present = [p for p in (s.present() for _, s in seeders) if p]
    if present:
        return DemoResult(False, options, tuple(present))
    parts = []
    with light_demo_hashing():
        for label, seeder in seeders:
            if progress is not None:
                progress.started(label)
            started = time.monotonic()
            part = seeder.seed(options)
            if progress is not None:
                progress.finished(label, part, time.monotonic() - started)
            parts.append(part)
    return DemoResult(True, options, tuple(p for p in parts if p))


def banner(url: str) -> list[str]:
    """Every app's lines for the banner of a demo served at ``url``."""
    return [line for _, s in demo_seeders() for line in s.banner(url)]


def start_live(host: str, port: int, options: DemoOptions) -> list[DemoProcess]:
    """Start what every app runs beside the demo server (simulated devices)."""
    started = (s.live(host, port, options) for _, s in demo_seeders())
    return [p for p in started if p is not None]


def _password_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-password"


def demo_logins() -> DemoLogins:
    path = _password_file()
    password = path.read_text().strip() if path.exists() else ""
    return DemoLogins("admin", password, {u: r.value for r, u in DEMO_STAFF.items()})


class StaffDemo(DemoSeeder):
    """One sign-in per role, all with the password written to ``<data>/demo-password``."""

    def seed(self, options: DemoOptions) -> str:
        with use_clock(FrozenClock(options.history_from)):
            password = secrets.token_urlsafe(9)
            _password_file().parent.mkdir(parents=True, exist_ok=True)
            _password_file().write_text(password)
            _password_file().chmod(0o600)
            for role, username in DEMO_STAFF.items():
                if not User.objects.filter(username=username).exists():
                    create_user(
                        Actor.job("demo-seed"),
                        username,
                        password=password,
                        roles=[role.value],
                        email=f"{username}@example.org",
                        first_name=DEMO_STAFF_NAMES[role][0],
                        last_name=DEMO_STAFF_NAMES[role][1],
                        check_password=False,
                    )
        return ""

    def banner(self, url: str) -> list[str]:
        logins = demo_logins()
        return [
            f"  Sign in:  {logins.username} / {logins.password}   (administrator)",
            "  Other roles use the same password: " + ", ".join(logins.role_users),
            f"  E-mail to recipients is written to {settings.EMAIL_FILE_PATH}",
        ]
