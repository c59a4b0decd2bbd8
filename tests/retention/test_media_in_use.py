"""Every app that keeps files answers for them, so no app's retention deletes another's file."""

from __future__ import annotations

import hashlib

import pytest

from mailwarden.core import plugins
from mailwarden.surveillance.models import Camera
from mailwarden.training.models import Course, Module
from tests.factories import make_site


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@pytest.mark.django_db
def test_training_and_surveillance_files_count_as_in_use(frozen_clock):
    now = frozen_clock()
    course = Course.objects.create(slug="c", title="C", created_at=now, updated_at=now)
    Module.objects.create(
        course=course,
        position=1,
        title="M",
        body="",
        image_sha256=digest("module image"),
        video_sha256=digest("module video"),
        quiz_category="x",
    )
    Camera.objects.create(
        site=make_site(),
        name="dock-cam",
        url="rtsp://cam",
        created_at=now,
        snapshot=digest("camera snapshot"),
    )
    asked = {digest(n) for n in ("module image", "module video", "camera snapshot", "nobody's")}
    assert plugins.media_in_use(asked) == asked - {digest("nobody's")}


def _ledger_signature(item) -> str:
    from mailwarden.core import ledger

    named = [
        ledger.entry_data(e).get("signature_sha256")
        for e in ledger.entries_for("mailitem", item.uid)
    ]
    [digest] = [d for d in named if d]
    return str(digest)


@pytest.mark.django_db
def test_a_hand_over_keeps_its_signature_on_the_item_and_it_counts_as_in_use(site, recipient):
    from tests.retention.conftest import picked_up

    item = picked_up(site, recipient)
    assert item.signature_sha256 == _ledger_signature(item)
    assert plugins.media_in_use({item.signature_sha256}) == {item.signature_sha256}


@pytest.mark.django_db
def test_the_migration_fills_earlier_hand_overs_signatures_from_the_ledger(site, recipient):
    import importlib

    from django.apps import apps

    from mailwarden.custody.models import MailItem
    from tests.retention.conftest import picked_up

    item = picked_up(site, recipient)
    MailItem.objects.filter(pk=item.pk).update(signature_sha256="")
    migration = importlib.import_module("mailwarden.custody.migrations.0010_signature_on_item")
    migration.signatures_from_the_ledger(apps, None)
    item.refresh_from_db()
    assert item.signature_sha256 == _ledger_signature(item)
