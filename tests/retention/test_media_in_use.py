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
