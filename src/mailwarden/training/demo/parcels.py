"""The demo's planted test parcel: registered by the demo security manager and on its way, so
that logging its barcode at intake (the summary names it) shows the whole path."""

from __future__ import annotations

import random

from django.contrib.auth.models import User

from mailwarden.core.actor import Actor
from mailwarden.core.demo import DEMO_STAFF
from mailwarden.core.plugins import DemoOptions
from mailwarden.core.roles import Role
from mailwarden.custody import carriers
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Site
from mailwarden.training.services import parcels

# Three signs of 2 points each: the high tier under the default policy.
PLANTED = ["restrictive-markings", "excessive-postage", "excessive-tape"]
_ALNUM = "0123456789ABCDEFGHJKLMNPRSTVWXYZ"


def _fresh_ups_number(rng: random.Random) -> str:
    """A UPS number that passes the carrier check and no demo item carries."""
    while True:
        stem = "1Z" + "".join(rng.choice(_ALNUM) for _ in range(6)) + "03"
        stem += "".join(rng.choice("0123456789") for _ in range(7))
        for check in "0123456789":
            number = stem + check
            if carriers.detect(number) is not None:
                if not MailItem.objects.filter(tracking_number=number).exists():
                    return number
                break


def seed(options: DemoOptions) -> str:
    manager = User.objects.filter(username=DEMO_STAFF[Role.SECURITY_MANAGER]).first()
    site = Site.objects.order_by("pk").first()
    if manager is None or site is None:
        return ""
    number = _fresh_ups_number(random.Random(options.seed))
    parcel = parcels.register(
        Actor.for_user(manager),
        barcode=number,
        site=site.code,
        indicators=PLANTED,
        notes="Brown box, hand-addressed; marked PERSONAL, far too many stamps, taped all over.",
    )
    return f"1 planted test parcel on its way to {site.name} (barcode {parcel.barcode})"
