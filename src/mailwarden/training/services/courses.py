"""Courses, enrolment, quizzes and certificates (docs/architecture.md rule 1).

(Helper A fills in the rest; :func:`enrol` is shared with the test-parcel feedback.)
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.training.models import OPEN_ENROLMENT, Course, Enrolment
from mailwarden.training.permissions import MANAGE_TRAINING

MAX_DUE_DAYS = 3650


def enrol(
    actor: Actor,
    course_slug: str,
    user_id: int,
    *,
    reason: str,
    due_days: int | None = None,
) -> Enrolment:
    """Enrol a person in a course; their open enrolment in it, if they have one, is returned
    unchanged (a person is never enrolled twice at once)."""
    require(actor, MANAGE_TRAINING, "enrolling someone in a course")
    if due_days is not None and not 1 <= due_days <= MAX_DUE_DAYS:
        raise ServiceError(f"must be from 1 to {MAX_DUE_DAYS} days", "due_days")
    reason = reason.strip()[:200]
    if not reason:
        raise ServiceError("say why they are enrolled", "reason")
    course = Course.objects.filter(slug=course_slug).first()
    if course is None:
        raise NotFound(f"no course {course_slug!r}", "course")
    if not course.active:
        raise ServiceError(f"{course.title} is withdrawn; nobody can be enrolled in it", "course")
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound(f"no active user with id {user_id}", "user_id")
    now = clock.now()
    with transaction.atomic():
        open_one = (
            Enrolment.objects.select_for_update()
            .filter(OPEN_ENROLMENT, course=course, user=user)
            .first()
        )
        if open_one is not None:
            return open_one
        enrolment = Enrolment.objects.create(
            course=course,
            user=user,
            reason=reason,
            enrolled_at=now,
            due_at=now + timedelta(days=due_days) if due_days else None,
        )
        ledger.append(
            actor,
            "training.enrolment.created",
            "enrolment",
            str(enrolment.pk),
            {"course": course.slug, "user": user.get_username(), "reason": reason},
            at=now,
        )
    return enrolment
