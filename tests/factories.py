"""Small builders for test data, all through the services."""

from __future__ import annotations

from itertools import count

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.custody import services
from mailwarden.directory import services as directory
from mailwarden.directory.models import LocationKind, Recipient, Site

_n = count(1)

ADMIN = Actor.job("tests")
CLERK = Actor("user", "clerk", frozenset({Role.CLERK}))
SCREENER = Actor("user", "screener", frozenset({Role.SCREENER}))
MANAGER = Actor("user", "manager", frozenset({Role.SECURITY_MANAGER}))
AUDITOR = Actor("user", "auditor", frozenset({Role.AUDITOR}))

VALID_UPS = "1Z5R89390357567127"


def make_site(code: str = "hq") -> Site:
    site = directory.create_site(ADMIN, code=code, name=f"Site {code}", timezone="Europe/London")
    for loc_code, kind in (
        ("dock", LocationKind.DOCK),
        ("xray", LocationKind.SCREENING),
        ("quarantine", LocationKind.QUARANTINE),
        ("shelf-a", LocationKind.SHELF),
        ("trolley", LocationKind.VEHICLE),
    ):
        directory.create_location(
            ADMIN, site_code=site.code, code=loc_code, name=loc_code, kind=kind
        )
    return site


def make_recipient(**kw: str) -> Recipient:
    n = next(_n)
    data = {
        "employee_id": f"T{n:05d}",
        "first_name": "Ada",
        "last_name": f"Lovelace{n}",
        "email": f"ada{n}@example.org",
        **kw,
    }
    return directory.create_recipient(ADMIN, directory.RecipientData(**data))


def intake(site: Site, recipient: Recipient, **kw: object) -> object:
    req = services.IntakeRequest(site=site.code, recipient_id=recipient.pk, kind="parcel", **kw)
    return services.intake(CLERK, req)
