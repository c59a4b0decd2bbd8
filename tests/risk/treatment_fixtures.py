"""Test fixtures for treatments and findings: a site with a draft assessment and one risk,
written through the ORM (a fixture, not a service: the assessment services are built in
parallel), and the people who plan, approve and own treatments."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from mailwarden.config import UploadConfig, get_settings
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.services import create_user
from mailwarden.directory.models import Site
from mailwarden.risk.models import Assessment, AssessmentState, Control, Risk
from tests.factories import ADMIN, make_site


@dataclass(frozen=True)
class Office:
    site: Site
    assessment: Assessment
    risk: Risk
    mia: User  # security manager who proposes
    sam: User  # a second security manager who approves
    olly: User  # a clerk who owns treatments
    aud: User  # an auditor

    def actor(self, user: User) -> Actor:
        return Actor.for_user(User.objects.get(pk=user.pk))


def make_user(username: str, role: str, **kw: str) -> User:
    user = create_user(ADMIN, username, password="x", roles=[role], check_password=False, **kw)
    return User.objects.get(pk=user.pk)


def make_assessment(site: Site, title: str = "Spring assessment") -> Assessment:
    now = clock.now()
    return Assessment.objects.create(
        site=site,
        title=title,
        template="mail-centre",
        method="matrix",
        method_params={"size": 5},
        period_start=now - timedelta(days=90),
        period_end=now,
        created_by="user:mia",
        created_at=now,
    )


def make_risk(assessment: Assessment, key: str = "unauthorised-access") -> Risk:
    now = clock.now()
    return Risk.objects.create(
        assessment=assessment,
        key=key,
        title=key.replace("-", " ").capitalize(),
        threat=key,
        inherent={"likelihood": 4, "impact": 4},
        inherent_score=16,
        inherent_level="high",
        created_at=now,
        updated_at=now,
    )


def make_control(site: Site, title: str = "Two-person rule on the quarantine door") -> Control:
    now = clock.now()
    return Control.objects.create(
        site=site, title=title, created_by="user:mia", created_at=now, updated_at=now
    )


def finalise(assessment: Assessment) -> None:
    Assessment.objects.filter(pk=assessment.pk).update(
        state=AssessmentState.FINAL, finalised_at=clock.now(), finalised_by="user:mia"
    )


@pytest.fixture
def office(db, frozen_clock) -> Office:
    site = make_site("hq")
    assessment = make_assessment(site)
    return Office(
        site=site,
        assessment=assessment,
        risk=make_risk(assessment),
        mia=make_user("mia", "security_manager", email="mia@example.org"),
        sam=make_user("sam", "security_manager", email="sam@example.org"),
        olly=make_user(
            "olly", "clerk", email="olly@example.org", first_name="Olly", last_name="Owens"
        ),
        aud=make_user("aud", "auditor"),
    )


@pytest.fixture
def upload_limits() -> Iterator[UploadConfig]:
    """The upload limits, for one test to make small, restored afterwards."""
    uploads = get_settings().uploads
    saved = uploads.max_bytes, uploads.max_pixels
    yield uploads
    uploads.max_bytes, uploads.max_pixels = saved
