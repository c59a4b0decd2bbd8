"""Helper B's test data: courses that gate duties, assignment rules and certificates.

Courses, rules and certificates are written as rows here because their services (helper A's
courses, assignments and certificates) are built beside this work; enrolment goes through
``courses.enrol``. People are real accounts with roles and directory entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.models import Department, Recipient, Site
from mailwarden.training.models import Assignment, Certificate, Course, CourseDuty
from tests.factories import ADMIN, make_recipient

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture(autouse=True)
def fast_passwords() -> Iterator[None]:
    """These tests make many accounts and sign in with none by password: hashing each password
    the way production does would be most of their running time. Import it into a test module."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


def make_course(slug: str, duty: str = CourseDuty.NONE, **kw: object) -> Course:
    now = clock.now()
    return Course.objects.create(
        slug=slug,
        title=kw.pop("title", slug.replace("-", " ").capitalize()),
        duty=duty,
        created_at=now,
        updated_at=now,
        **kw,
    )


def screener_course(**kw: object) -> Course:
    return make_course(
        "site-screener-cert", CourseDuty.SCREENING, title="Screener certification", **kw
    )


def intake_course(**kw: object) -> Course:
    return make_course("site-mail-handling", CourseDuty.INTAKE, title="Safe mail handling", **kw)


def assign(
    course: Course,
    *,
    role: str = "",
    site: Site | None = None,
    department: Department | None = None,
    active: bool = True,
) -> Assignment:
    return Assignment.objects.create(
        course=course,
        role=role,
        site=site,
        department=department,
        active=active,
        created_at=clock.now(),
        created_by="user:manager",
    )


def certify(
    course: Course,
    user: User,
    *,
    issued: datetime | None = None,
    days: int = 365,
    revoked: datetime | None = None,
    reason: str = "",
) -> Certificate:
    issued = issued or clock.now()
    n = Certificate.objects.count() + 1
    return Certificate.objects.create(
        course=course,
        user=user,
        code=f"TEST-{user.pk:04d}-{n:04d}",
        holder_name=user.get_username(),
        score=90,
        issued_at=issued,
        expires_at=issued + timedelta(days=days),
        revoked_at=revoked,
        revoked_reason=reason,
    )


def person(
    username: str,
    role: Role,
    *,
    site: str | None = None,
    department: str | None = None,
) -> User:
    """An account with ``role`` and, when a site or department is given, a directory entry
    linked to it."""
    user = User.objects.filter(username=username).first() or create_user(
        ADMIN, username, password=PASSWORD, roles=[role.value], check_password=False
    )
    if site or department:
        kw = {"first_name": username.capitalize(), "last_name": "Tester"}
        if site:
            kw["site"] = site
        if department:
            kw["department"] = department
        recipient = make_recipient(**kw)
        Recipient.objects.filter(pk=recipient.pk).update(user=user)
    return user
