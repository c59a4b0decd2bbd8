"""Assignment rules, enrolment from them, renewals before expiry and reminders at expiry.

A rule names a course and, each optional, a role, a department and a site. People's department
and site are those of their directory entry (``Recipient.user``); a rule naming a department or
a site never matches someone without one. The periodic job below applies the rules, opens a
renewal enrolment ``renew_within_days`` before a certificate expires with a reminder email, and
reminds once more when it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger, notify
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import STAFF, Role
from mailwarden.core.tasks import periodic
from mailwarden.directory.models import Department, Site
from mailwarden.training.models import (
    OPEN_ENROLMENT,
    Assignment,
    Certificate,
    Course,
    Enrolment,
)
from mailwarden.training.permissions import MANAGE_TRAINING
from mailwarden.training.services.courses import MAX_DUE_DAYS, open_enrolment

JOB = Actor.job("training-assignments")
RENEWAL = "training.renewal"
EXPIRED = "training.expired"


@dataclass(frozen=True)
class AssignmentSpec:
    course: str
    role: str = ""
    department: str = ""  # its name, as the directory has it
    site: str = ""  # its code
    due_days: int = 30
    active: bool = True


def _resolve(spec: AssignmentSpec) -> dict[str, Any]:
    course = Course.objects.filter(slug=spec.course).first()
    if course is None:
        raise NotFound(f"no course {spec.course!r}", "course")
    if spec.active and not course.active:
        raise ServiceError(f"{course.title} is withdrawn; nobody can be assigned to it", "course")
    role = spec.role.strip()
    if role and role not in {r.value for r in STAFF}:
        raise ServiceError(f"{role!r} is not a staff role", "role")
    department = None
    if spec.department.strip():
        department = Department.objects.filter(name=spec.department.strip()).first()
        if department is None:
            raise NotFound(f"no department {spec.department.strip()!r}", "department")
    site = None
    if spec.site.strip():
        site = Site.objects.filter(code=spec.site.strip()).first()
        if site is None:
            raise NotFound(f"no site {spec.site.strip()!r}", "site")
    if not 1 <= spec.due_days <= MAX_DUE_DAYS:
        raise ServiceError(f"must be from 1 to {MAX_DUE_DAYS} days", "due_days")
    return {
        "course": course,
        "role": role,
        "department": department,
        "site": site,
        "due_days": spec.due_days,
        "active": spec.active,
    }


def describe(assignment: Assignment) -> str:
    """Who a rule covers, in words: "screeners in Finance at hq"."""
    who = Role(assignment.role).title.lower() + "s" if assignment.role else "everyone"
    if assignment.department_id:
        who += f" in {assignment.department}"
    if assignment.site_id:
        who += f" at {assignment.site.code if assignment.site else ''}"
    return who


def _ledger_data(a: Assignment) -> dict[str, Any]:
    return {
        "course": a.course.slug,
        "role": a.role,
        "department": a.department.name if a.department else "",
        "site": a.site.code if a.site else "",
        "due_days": a.due_days,
        "active": a.active,
    }


def create_assignment(actor: Actor, spec: AssignmentSpec) -> Assignment:
    require(actor, MANAGE_TRAINING, "assigning a course")
    values = _resolve(spec)
    with transaction.atomic():
        assignment = Assignment.objects.create(
            **values, created_at=clock.now(), created_by=actor.label
        )
        ledger.append(
            actor,
            "training.assignment.created",
            "assignment",
            str(assignment.pk),
            _ledger_data(assignment),
        )
    return assignment


def update_assignment(actor: Actor, assignment_id: int, spec: AssignmentSpec) -> Assignment:
    require(actor, MANAGE_TRAINING, "changing an assignment")
    values = _resolve(spec)
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
        if assignment is None:
            raise NotFound(f"no assignment {assignment_id}", "assignment")
        for key, value in values.items():
            setattr(assignment, key, value)
        assignment.save()
        ledger.append(
            actor,
            "training.assignment.changed",
            "assignment",
            str(assignment.pk),
            _ledger_data(assignment),
        )
    return assignment


def delete_assignment(actor: Actor, assignment_id: int) -> None:
    """Remove a rule. Enrolments it made stay open; they simply no longer name it."""
    require(actor, MANAGE_TRAINING, "removing an assignment")
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
        if assignment is None:
            raise NotFound(f"no assignment {assignment_id}", "assignment")
        data = _ledger_data(assignment)
        assignment.delete()
        ledger.append(actor, "training.assignment.deleted", "assignment", str(assignment_id), data)


# ----------------------------------------------------------------------------- who a rule covers


def covered_users(assignment: Assignment) -> QuerySet[Any]:
    """The active people a rule covers now."""
    users = get_user_model().objects.filter(is_active=True)
    if assignment.role:
        # By group only: an administrator passes every role check but is no screener to train.
        users = users.filter(groups__name=assignment.role)
    if assignment.department_id:
        users = users.filter(recipient__department_id=assignment.department_id)
    if assignment.site_id:
        users = users.filter(recipient__site_id=assignment.site_id)
    return users.distinct()


def current_certificate(course_id: int, user_id: int, now: datetime) -> Certificate | None:
    return (
        Certificate.objects.filter(
            course_id=course_id, user_id=user_id, revoked_at__isnull=True, expires_at__gt=now
        )
        .order_by("-expires_at")
        .first()
    )


# ----------------------------------------------------------------------------- the periodic job


def _address(user: Any) -> str:
    recipient = getattr(user, "recipient", None)
    return user.email or (recipient.email if recipient is not None else "")


def _enrol_assigned(now: datetime) -> int:
    count = 0
    for assignment in Assignment.objects.filter(active=True, course__active=True).select_related(
        "course", "department", "site"
    ):
        course = assignment.course
        renew_from = now + timedelta(days=course.renew_within_days)
        # Someone whose certificate lasts past the renewal window needs nothing yet; the
        # renewal step below takes over when it comes.
        due = (
            covered_users(assignment)
            .exclude(
                Exists(Enrolment.objects.filter(OPEN_ENROLMENT, course=course, user=OuterRef("pk")))
            )
            .exclude(
                Exists(
                    Certificate.objects.filter(
                        course=course,
                        user=OuterRef("pk"),
                        revoked_at__isnull=True,
                        expires_at__gt=renew_from,
                    )
                )
            )
        )
        for user in due:
            with transaction.atomic():
                open_enrolment(
                    JOB,
                    course,
                    user,
                    reason=f"assigned to {describe(assignment)}",
                    due_at=now + timedelta(days=assignment.due_days),
                    assignment_id=assignment.pk,
                )
            count += 1
    return count


def _latest_certificates() -> QuerySet[Certificate]:
    """Unrevoked certificates not followed by a newer one of the same course and person."""
    newer = Certificate.objects.filter(
        course_id=OuterRef("course_id"),
        user_id=OuterRef("user_id"),
        issued_at__gt=OuterRef("issued_at"),
    )
    return (
        Certificate.objects.filter(
            revoked_at__isnull=True, course__active=True, user__is_active=True
        )
        .exclude(Exists(newer))
        .select_related("course", "user")
    )


def _renew(now: datetime) -> int:
    """Open the renewal enrolment and send its reminder, once per certificate."""
    count = 0
    candidates = []
    for course in Course.objects.filter(active=True):
        opens = now + timedelta(days=course.renew_within_days)
        candidates += list(
            _latest_certificates().filter(
                course=course, reminded_at__isnull=True, expires_at__lte=opens
            )
        )
    for certificate in candidates:
        with transaction.atomic():
            locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
            if locked.reminded_at is not None:
                continue
            open_enrolment(
                JOB,
                certificate.course,
                certificate.user,
                reason="renewal before the certificate expires",
                due_at=certificate.expires_at,
            )
            locked.reminded_at = now
            locked.save(update_fields=["reminded_at"])
            address = _address(certificate.user)
            if address:
                notify.queue(
                    key=f"{RENEWAL}:{certificate.pk}",
                    kind=RENEWAL,
                    to_address=address,
                    subject_ref=str(certificate.pk),
                )
            ledger.append(
                JOB,
                "training.renewal.opened",
                "certificate",
                certificate.code,
                {"expires_at": certificate.expires_at.isoformat(), "emailed": bool(address)},
                at=now,
            )
        count += 1
    return count


def _remind_expired(now: datetime) -> int:
    """At expiry, remind once more anyone whose renewal is still open."""
    count = 0
    expired = _latest_certificates().filter(expires_at__lte=now, reminded_at__isnull=False)
    for certificate in expired:
        with transaction.atomic():
            enrolment = (
                Enrolment.objects.select_for_update()
                .filter(
                    OPEN_ENROLMENT,
                    course=certificate.course,
                    user=certificate.user,
                    reminded_at__isnull=True,
                )
                .first()
            )
            if enrolment is None:
                continue
            enrolment.reminded_at = now
            enrolment.save(update_fields=["reminded_at"])
            address = _address(certificate.user)
            if address:
                notify.queue(
                    key=f"{EXPIRED}:{certificate.pk}",
                    kind=EXPIRED,
                    to_address=address,
                    subject_ref=str(certificate.pk),
                )
            ledger.append(
                JOB,
                "training.expiry.reminded",
                "certificate",
                certificate.code,
                {"expired_at": certificate.expires_at.isoformat(), "emailed": bool(address)},
                at=now,
            )
        count += 1
    return count


@periodic("training-assignments")
def run(now: datetime | None = None) -> int:
    """Enrol everyone the rules cover, open renewals and send reminders; returns how many
    enrolments and reminders it made. Idempotent: a second run at the same time does nothing."""
    now = now or clock.now()
    return _enrol_assigned(now) + _renew(now) + _remind_expired(now)


# ----------------------------------------------------------------------------- the emails


def _certificate(ref: str) -> Certificate:
    certificate = Certificate.objects.select_related("course", "user").filter(pk=int(ref)).first()
    if certificate is None:
        raise notify.Withdrawn("the certificate is gone")
    return certificate


def _link() -> str:
    from django.urls import reverse

    return get_settings().base_url.rstrip("/") + reverse("training:my")


@notify.renders(RENEWAL)
def renewal_message(ref: str) -> notify.Message:
    c = _certificate(ref)
    subject = f"Renew your training: {c.course.title} expires {c.expires_at:%d %b %Y}"
    text = (
        f"Hello {c.holder_name},\n\n"
        f"Your certificate for {c.course.title} (code {c.code}) expires on "
        f"{c.expires_at:%d %B %Y}. You are enrolled again so you can renew it before then: "
        f"take the course's quizzes at\n\n{_link()}\n\n"
        "Your current certificate stays valid until it expires.\n"
    )
    return notify.Message(subject, text)


@notify.renders(EXPIRED)
def expired_message(ref: str) -> notify.Message:
    c = _certificate(ref)
    subject = f"Your training has expired: {c.course.title}"
    duty = ""
    if c.course.duty:
        duty = f"\nWithout it: {c.course.get_duty_display().lower()}.\n"
    text = (
        f"Hello {c.holder_name},\n\n"
        f"Your certificate for {c.course.title} (code {c.code}) expired on "
        f"{c.expires_at:%d %B %Y}.{duty}\nRenew it by taking the course's quizzes at\n\n"
        f"{_link()}\n"
    )
    return notify.Message(subject, text)
