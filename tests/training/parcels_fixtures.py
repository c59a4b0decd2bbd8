"""Fixtures of the test-parcel tests: a site, people with accounts and email addresses in each
role the parcel meets, and a refresher course to be enrolled in."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.models import Recipient, Site
from mailwarden.training.models import Course
from tests.factories import ADMIN, make_recipient, make_site

PASSWORD = "Correct-Horse-9-Battery"
# 2 + 2 + 2 points: the high tier under the default policy.
PLANTED = ["restrictive-markings", "excessive-postage", "excessive-tape"]


@dataclass
class Mailroom:
    site: Site
    recipient: Recipient
    manager: User
    clerk: User
    screener: User
    auditor: User

    def actor(self, user: User) -> Actor:
        return Actor.for_user(user)


def person(role: Role, username: str) -> User:
    return create_user(
        ADMIN,
        username,
        password=PASSWORD,
        roles=[role.value],
        email=f"{username}@example.org",
        check_password=False,
    )


def restore_indicator_catalogue() -> None:
    """The checklist is written by a data migration, which a transactional test that ran
    before has flushed away with everything else."""
    catalogue = import_module("mailwarden.screening.migrations.0002_indicator_catalogue")
    catalogue.seed(django_apps, None)


def make_mailroom() -> Mailroom:
    restore_indicator_catalogue()
    return Mailroom(
        site=make_site(),
        recipient=make_recipient(first_name="Hedy", last_name="Lamarr"),
        manager=person(Role.SECURITY_MANAGER, "mona"),
        clerk=person(Role.CLERK, "cleo"),
        screener=person(Role.SCREENER, "sam"),
        auditor=person(Role.AUDITOR, "audra"),
    )


def make_refresher() -> Course:
    """The shipped refresher course (migrate installs it), which feedback enrols people in."""
    return Course.objects.get(slug="suspicious-mail-refresher", refresher=True, active=True)


def no_refresher() -> None:
    """A site that has withdrawn every refresher course."""
    Course.objects.filter(refresher=True).update(active=False)


@pytest.fixture
def mailroom(frozen_clock) -> Mailroom:
    return make_mailroom()
