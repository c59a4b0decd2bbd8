"""Certificates that gate duties (core.duties), enforced here in the services rather than only
in the console: a screener covered by a screening course must hold its current certificate to
record a decision, and a clerk covered by a mail-handling course without a current certificate
is warned at intake (the intake still goes ahead; the warning goes on its ledger entry).

People no such course covers are never refused: a site that does not use training keeps working.
"""

from __future__ import annotations

from datetime import datetime

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden
from mailwarden.training.models import Course, CourseDuty
from mailwarden.training.queries import compliance


def _day(when: datetime) -> str:
    return f"{when.day} {when:%B %Y}"


def _lacking(actor: Actor, duty: CourseDuty) -> list[tuple[Course, compliance.Holding]]:
    """The courses gating ``duty`` that cover ``actor`` and of which they hold no current
    certificate, with what they hold of each."""
    # A device or a job holds no certificate; only a person can be covered.
    if actor.kind != "user" or actor.user_id is None:
        return []
    courses = compliance.duty_courses(duty)
    if not courses:
        return []
    who = compliance.person(actor.user_id, actor.roles)
    now = clock.now()
    lacking = []
    for course in courses:
        if not compliance.covers(course, who):
            continue
        held = compliance.holding(course, actor.user_id, now)
        if held.current is None:
            lacking.append((course, held))
    return lacking


def _what_happened(course: Course, held: compliance.Holding) -> str:
    cert = held.latest
    if cert is None:
        return f"you have never held the {course.title} certificate"
    if cert.revoked_at is not None:
        why = f" ({cert.revoked_reason})" if cert.revoked_reason else ""
        return f"your {course.title} certificate was revoked on {_day(cert.revoked_at)}{why}"
    return f"your {course.title} certificate expired on {_day(cert.expires_at)}"


def refuse_uncertified_screener(actor: Actor) -> None:
    """Raise Forbidden when ``actor`` must hold a current screening certificate and does not."""
    lacking = _lacking(actor, CourseDuty.SCREENING)
    if not lacking:
        return
    reasons = "; ".join(_what_happened(course, held) for course, held in lacking)
    raise Forbidden(
        f"You cannot record screening decisions: {reasons}. Complete the course under My "
        "training, or ask a colleague who holds the certificate to screen this item."
    )


def intake_warnings(actor: Actor) -> list[str]:
    """Warnings for a clerk without current mail-handling (intake) training."""
    warnings = []
    for course, held in _lacking(actor, CourseDuty.INTAKE):
        text = _what_happened(course, held)
        warnings.append(
            f"{text[:1].upper()}{text[1:]}: the item is logged, but complete the course under "
            "My training soon."
        )
    return warnings
