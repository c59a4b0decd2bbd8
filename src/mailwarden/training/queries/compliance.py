"""Who must hold which certificate, and how each site and department stands (docs/training.md,
"Compliance").

A person is *covered* by a course when an active assignment rule matches their role,
department and site, when they have an open enrolment in it, or when they have held its
certificate before. The duty gates (services/certification.py) and the dashboard read coverage
the same way, so the page shows exactly the people the gates would warn or refuse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from mailwarden.core import clock
from mailwarden.core.errors import NotFound
from mailwarden.directory.models import Department, Recipient, Site
from mailwarden.directory.queries import site_by_code
from mailwarden.training.models import (
    OPEN_ENROLMENT,
    Assignment,
    Certificate,
    Course,
    Enrolment,
    Participation,
    PlantedParcel,
)

# An open enrolment whose deadline is this close counts as due soon.
DUE_SOON_DAYS = 14
# Drill participation counts over this many days back.
PARTICIPATION_DAYS = 365
NO_SITE = "No site"
NO_DEPARTMENT = "No department"


class Standing(StrEnum):
    CURRENT = "current"
    DUE_SOON = "due_soon"
    EXPIRED = "expired"
    NEVER = "never"

    @property
    def label(self) -> str:
        return STANDING_LABELS[self]


STANDING_LABELS = {
    Standing.CURRENT: "Current",
    Standing.DUE_SOON: "Due soon",
    Standing.EXPIRED: "Expired",
    Standing.NEVER: "Never completed",
}
# The worst first: the order follow-up lists and the chart's legend use.
FOLLOW_UP_ORDER = (Standing.EXPIRED, Standing.NEVER, Standing.DUE_SOON, Standing.CURRENT)


@dataclass(frozen=True)
class Person:
    user_id: int
    username: str
    name: str
    roles: frozenset[str]
    site_id: int | None
    department_id: int | None


def person(user_id: int, roles: Iterable[str]) -> Person:
    """The person behind an actor: their roles as the actor carries them, their department and
    site from the directory entry linked to their account (none without one)."""
    found = (
        Recipient.objects.filter(user_id=user_id)
        .values("department_id", "site_id", "first_name", "preferred_name", "last_name")
        .first()
    )
    user = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
    return Person(
        user_id=user_id,
        username=user or "",
        name=_name(found) if found else (user or ""),
        roles=frozenset(str(r) for r in roles),
        site_id=found["site_id"] if found else None,
        department_id=found["department_id"] if found else None,
    )


def _name(row: Mapping[str, Any]) -> str:
    return f"{row['preferred_name'] or row['first_name']} {row['last_name']}"


def rule_covers(rule: Assignment, who: Person) -> bool:
    return (
        (not rule.role or rule.role in who.roles)
        and (rule.department_id is None or rule.department_id == who.department_id)
        and (rule.site_id is None or rule.site_id == who.site_id)
    )


def covers(course: Course, who: Person) -> bool:
    """Whether ``course`` applies to ``who`` (see the module's docstring)."""
    rules = Assignment.objects.filter(course=course, active=True)
    if any(rule_covers(rule, who) for rule in rules):
        return True
    if Enrolment.objects.filter(OPEN_ENROLMENT, course=course, user_id=who.user_id).exists():
        return True
    return Certificate.objects.filter(course=course, user_id=who.user_id).exists()


def duty_courses(duty: str) -> list[Course]:
    """The active courses whose certificate gates ``duty`` (a CourseDuty value)."""
    return list(Course.objects.filter(duty=duty, active=True).order_by("title"))


@dataclass(frozen=True)
class Holding:
    """What someone holds of one course: a current certificate, and the newest one at all."""

    current: Certificate | None
    latest: Certificate | None


def holding(course: Course, user_id: int, now: datetime | None = None) -> Holding:
    now = now or clock.now()
    certs = Certificate.objects.filter(course=course, user_id=user_id).order_by("-expires_at")
    current = certs.filter(revoked_at__isnull=True, expires_at__gt=now).first()
    return Holding(current=current, latest=current or certs.first())


# ----------------------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class Filters:
    site: str | None = None  # a site's code
    department: int | None = None  # a department's id
    course: str | None = None  # a course's slug
    standing: str | None = None  # for the list of people only


@dataclass
class Counts:
    current: int = 0
    due_soon: int = 0
    expired: int = 0
    never: int = 0

    def add(self, standing: Standing) -> None:
        setattr(self, standing.value, getattr(self, standing.value) + 1)

    @property
    def total(self) -> int:
        return self.current + self.due_soon + self.expired + self.never

    def percent(self, standing: Standing) -> float:
        """Share of people in ``standing``, in percent; 0 for nobody at all."""
        total = self.total
        return round(100 * getattr(self, standing.value) / total, 1) if total else 0.0

    @property
    def compliant_percent(self) -> float:
        """Current or due soon: they hold a certificate today."""
        total = self.total
        return round(100 * (self.current + self.due_soon) / total, 1) if total else 0.0


@dataclass(frozen=True)
class PersonStanding:
    person: Person
    site: str
    department: str
    course: Course
    standing: Standing
    expires_at: datetime | None  # of the current or newest certificate
    due_at: datetime | None  # of the open enrolment


@dataclass(frozen=True)
class Group:
    site: str
    department: str
    course: Course
    counts: Counts


@dataclass(frozen=True)
class DrillsAtSite:
    site: str
    drills: int
    people: int
    entries: int


@dataclass(frozen=True)
class ParcelsAtSite:
    site: str
    registered: int  # not withdrawn, whatever became of them
    scored: int
    passed: int

    @property
    def passed_percent(self) -> float | None:
        """None when none has been scored yet: there is no share to give."""
        return round(100 * self.passed / self.scored, 1) if self.scored else None


@dataclass
class Board:
    filters: Filters
    people: list[PersonStanding] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    by_place: list[tuple[str, Counts]] = field(default_factory=list)
    by_course: list[tuple[Course, Counts]] = field(default_factory=list)
    totals: Counts = field(default_factory=Counts)
    drills: list[DrillsAtSite] = field(default_factory=list)
    parcels: list[ParcelsAtSite] = field(default_factory=list)


def check_filters(filters: Filters) -> tuple[Site | None, Department | None, Course | None]:
    """The filters' objects; an unknown one is refused (NotFound naming the field), never an
    empty board that looks like nobody needs training."""
    site = site_by_code(filters.site) if filters.site else None
    department = None
    if filters.department is not None:
        department = Department.objects.filter(pk=filters.department).first()
        if department is None:
            raise NotFound(f"no department {filters.department}", "department")
    course = None
    if filters.course:
        course = Course.objects.filter(slug=filters.course).first()
        if course is None:
            raise NotFound(f"no course {filters.course!r}", "course")
    if filters.standing and filters.standing not in {s.value for s in Standing}:
        raise NotFound(
            f"no standing {filters.standing!r}: use one of {', '.join(Standing)}", "standing"
        )
    return site, department, course


def _people() -> list[Person]:
    directory = {
        r["user_id"]: r
        for r in Recipient.objects.filter(user__isnull=False).values(
            "user_id", "department_id", "site_id", "first_name", "preferred_name", "last_name"
        )
    }
    users = get_user_model().objects.filter(is_active=True).prefetch_related("groups")
    found = []
    for user in users.order_by("username"):
        row = directory.get(user.pk)
        found.append(
            Person(
                user_id=user.pk,
                username=user.get_username(),
                name=_name(row) if row else user.get_username(),
                roles=frozenset(g.name for g in user.groups.all()),
                site_id=row["site_id"] if row else None,
                department_id=row["department_id"] if row else None,
            )
        )
    return found


def standings(filters: Filters, now: datetime | None = None) -> list[PersonStanding]:
    """Everyone covered by an active course (or the chosen one), with where they stand in it;
    the worst first, then by site, department and name."""
    now = now or clock.now()
    site, department, course = check_filters(filters)
    courses = [course] if course else list(Course.objects.filter(active=True))
    if not courses:
        return []
    rules: dict[int, list[Assignment]] = defaultdict(list)
    for rule in Assignment.objects.filter(active=True, course__in=courses):
        rules[rule.course_id].append(rule)
    due: dict[tuple[int, int], datetime | None] = {
        (e.course_id, e.user_id): e.due_at
        for e in Enrolment.objects.filter(OPEN_ENROLMENT, course__in=courses)
    }
    current: dict[tuple[int, int], Certificate] = {}
    latest: dict[tuple[int, int], Certificate] = {}
    for cert in Certificate.objects.filter(course__in=courses).order_by("expires_at"):
        key = (cert.course_id, cert.user_id)
        latest[key] = cert  # ascending: the newest wins
        if cert.revoked_at is None and cert.expires_at > now:
            current[key] = cert
    site_names = dict(Site.objects.values_list("pk", "name"))
    department_names = dict(Department.objects.values_list("pk", "name"))
    found = []
    for who in _people():
        if site is not None and who.site_id != site.pk:
            continue
        if department is not None and who.department_id != department.pk:
            continue
        for c in courses:
            key = (c.pk, who.user_id)
            covered = key in due or key in latest or any(rule_covers(r, who) for r in rules[c.pk])
            if not covered:
                continue
            standing = _standing(c, current.get(key), key in latest, due.get(key), now)
            if filters.standing and standing != filters.standing:
                continue
            shown = current.get(key) or latest.get(key)
            found.append(
                PersonStanding(
                    person=who,
                    site=site_names.get(who.site_id or 0, NO_SITE),
                    department=department_names.get(who.department_id or 0, NO_DEPARTMENT),
                    course=c,
                    standing=standing,
                    expires_at=shown.expires_at if shown else None,
                    due_at=due.get(key),
                )
            )
    order = {s: n for n, s in enumerate(FOLLOW_UP_ORDER)}
    found.sort(
        key=lambda p: (order[p.standing], p.site, p.department, p.person.name, p.course.title)
    )
    return found


def _standing(
    course: Course,
    current: Certificate | None,
    held_before: bool,
    due_at: datetime | None,
    now: datetime,
) -> Standing:
    if current is not None:
        if current.expires_at <= now + timedelta(days=course.renew_within_days):
            return Standing.DUE_SOON
        return Standing.CURRENT
    if held_before:
        return Standing.EXPIRED
    if due_at is not None and now <= due_at <= now + timedelta(days=DUE_SOON_DAYS):
        return Standing.DUE_SOON
    return Standing.NEVER


def board(filters: Filters, now: datetime | None = None) -> Board:
    """The dashboard: counts per site, department and course, the people behind them, drill
    participation and test-parcel results per site."""
    now = now or clock.now()
    people = standings(Filters(filters.site, filters.department, filters.course), now)
    result = Board(filters=filters)
    groups: dict[tuple[str, str, int], Counts] = {}
    places: dict[str, Counts] = {}
    per_course: dict[int, Counts] = {}
    courses: dict[int, Course] = {}
    for p in people:
        groups.setdefault((p.site, p.department, p.course.pk), Counts()).add(p.standing)
        places.setdefault(f"{p.site} · {p.department}", Counts()).add(p.standing)
        per_course.setdefault(p.course.pk, Counts()).add(p.standing)
        courses[p.course.pk] = p.course
        result.totals.add(p.standing)
    result.groups = sorted(
        (Group(s, d, courses[c], counts) for (s, d, c), counts in groups.items()),
        key=lambda g: (g.site, g.department, g.course.title),
    )
    result.by_place = sorted(places.items())
    result.by_course = sorted(
        ((courses[c], counts) for c, counts in per_course.items()), key=lambda x: x[0].title
    )
    result.people = [p for p in people if not filters.standing or p.standing == filters.standing]
    result.drills = drills_by_site(filters.site, now)
    result.parcels = parcels_by_site(filters.site)
    return result


def drills_by_site(site_code: str | None = None, now: datetime | None = None) -> list[DrillsAtSite]:
    """Drill participation over the last PARTICIPATION_DAYS days, per site."""
    since = (now or clock.now()) - timedelta(days=PARTICIPATION_DAYS)
    rows = Participation.objects.filter(kind="drill", occurred_at__gte=since)
    if site_code:
        rows = rows.filter(site__code=site_code)
    people: dict[str, set[str]] = defaultdict(set)
    drills: dict[str, set[str]] = defaultdict(set)
    entries: dict[str, int] = defaultdict(int)
    for site_name, ref, user_id, recipient_id in rows.values_list(
        "site__name", "ref", "user_id", "recipient_id"
    ):
        name = site_name or NO_SITE
        drills[name].add(ref)
        people[name].add(f"u{user_id}" if user_id else f"r{recipient_id}")
        entries[name] += 1
    return [
        DrillsAtSite(site=name, drills=len(drills[name]), people=len(people[name]), entries=n)
        for name, n in sorted(entries.items())
    ]


def parcels_by_site(site_code: str | None = None) -> list[ParcelsAtSite]:
    """Planted test parcels per site: how many were sent through and scored, and passed."""
    rows = PlantedParcel.objects.exclude(status="withdrawn")
    if site_code:
        rows = rows.filter(site__code=site_code)
    counted = (
        rows.values("site__name")
        .annotate(
            registered=Count("id"),
            scored=Count("id", filter=Q(scored_at__isnull=False)),
            passed=Count("id", filter=Q(scored_at__isnull=False, passed=True)),
        )
        .order_by("site__name")
    )
    return [
        ParcelsAtSite(
            site=r["site__name"], registered=r["registered"], scored=r["scored"], passed=r["passed"]
        )
        for r in counted
    ]


# ----------------------------------------------------------------------------- participation


def participation_of(user_id: int) -> list[Participation]:
    """The drills someone took part in (as themselves, or through their directory entry when
    they answered a roll call before their account was linked), newest first; for the learner's
    "My training" page."""
    recipient_ids = list(Recipient.objects.filter(user_id=user_id).values_list("pk", flat=True))
    return list(
        Participation.objects.filter(
            Q(user_id=user_id) | Q(user__isnull=True, recipient_id__in=recipient_ids)
        ).select_related("site", "user", "recipient")
    )


def participation(site_code: str | None = None, limit: int = 200) -> Sequence[Participation]:
    """Drill participation, newest first, optionally at one site."""
    rows = Participation.objects.select_related("site", "user", "recipient")
    if site_code:
        site_by_code(site_code)
        rows = rows.filter(site__code=site_code)
    return list(rows[:limit])
