"""Fixtures for retention tests: a media store of the test's own, a clock the test moves, the
configuration's defaults restored, and items taken to the end of their custody with a photo and
a signature (through the services, as a mailroom would)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from mailwarden.config import get_settings
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Recipient, Site
from tests.factories import CLERK, SCREENER, make_recipient, make_site

_shade = count(1)


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path: Path) -> Path:
    settings.MEDIA_STORE_DIR = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def defaults(monkeypatch: pytest.MonkeyPatch):
    """The configuration's rules, keep-forever unless a test sets them; restored afterwards."""
    retention = get_settings().retention
    for name in ("media_days", "access_event_months", "departed_person_days"):
        monkeypatch.setattr(retention, name, None)
    return retention


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    fake = FrozenClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    with use_clock(fake):
        yield fake


@pytest.fixture
def site(db) -> Site:
    return make_site("hq")


@pytest.fixture
def recipient(db) -> Recipient:
    return make_recipient()


def png(shade: int | None = None) -> bytes:
    """A small PNG with a stroke; each call differs unless ``shade`` is given."""
    level = next(_shade) if shade is None else shade
    image = Image.new("RGBA", (48, 32), (255, 255, 255, 255))
    ImageDraw.Draw(image).line((4, 28, 44, 4), fill=(level % 200, 0, 0, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def signature(shade: int | None = None) -> str:
    return "data:image/png;base64," + base64.b64encode(png(shade)).decode()


def picked_up(
    site: Site,
    recipient: Recipient,
    *,
    photo: bytes | None = None,
    signed: str | None = None,
) -> MailItem:
    """An item logged with a photo, cleared, shelved and picked up against a signature."""
    item = services.intake(
        CLERK,
        services.IntakeRequest(
            site=site.code,
            recipient_id=recipient.pk,
            kind="parcel",
            photo=png() if photo is None else photo,
        ),
    )
    services.transition(SCREENER, item.uid, "cleared", reason="clear")
    services.transition(CLERK, item.uid, "ready_for_pickup", reason="shelved")
    services.hand_over(
        CLERK,
        item.uid,
        method="signature",
        proof=signature() if signed is None else signed,
        collected_by="Ada",
    )
    return MailItem.objects.get(pk=item.pk)


def waiting(site: Site, recipient: Recipient) -> MailItem:
    """An item still on the shelf: its custody has not ended."""
    item = services.intake(
        CLERK,
        services.IntakeRequest(
            site=site.code, recipient_id=recipient.pk, kind="parcel", photo=png()
        ),
    )
    services.transition(SCREENER, item.uid, "cleared", reason="clear")
    services.transition(CLERK, item.uid, "ready_for_pickup", reason="shelved")
    return MailItem.objects.get(pk=item.pk)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a retention job as the tick does, its files deleted once its transaction commits
    (inside a test's transaction, commit callbacks would otherwise never run)."""

    def run(job, now, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            return job(now, **kw)

    return run
