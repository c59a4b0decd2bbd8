"""The compliance API's shapes: the dashboard's counts, the people behind them, and drill
participation. Inputs are bounded like the columns they are matched against."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from mailwarden.core.api import Input
from mailwarden.directory.schemas import Limit, Offset, SiteCode
from mailwarden.training.models import Participation
from mailwarden.training.queries import compliance as queries

CourseSlug = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")]
StandingName = Literal["current", "due_soon", "expired", "never"]


class ComplianceFilter(Input):
    site: SiteCode | None = Field(None, description="Only people at this site (its code).")
    department: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Only people in this department (its ID)."
    )
    course: CourseSlug | None = Field(None, description="Only this course (its slug).")


class PeopleFilter(ComplianceFilter):
    standing: StandingName | None = Field(None, description="Only people in this standing.")
    limit: Limit = 200
    offset: Offset = 0


class CountsOut(Schema):
    current: int
    due_soon: int = Field(
        description="Certificate expiring within the course's renewal window, "
        "or an enrolment due within two weeks."
    )
    expired: int = Field(description="Held a certificate; none is current (expired or revoked).")
    never: int = Field(description="Covered by the course, never completed it.")
    total: int
    compliant_percent: float = Field(description="Current or due soon, in percent of total.")


class GroupOut(Schema):
    site: str
    department: str
    course: str
    counts: CountsOut


class DrillsOut(Schema):
    site: str
    drills: int = Field(description="Distinct drills anyone took part in.")
    people: int = Field(description="Distinct people who took part.")
    entries: int = Field(description="People times drills.")


class ParcelsOut(Schema):
    site: str
    registered: int
    scored: int
    passed: int
    passed_percent: float | None = Field(description="None until a test parcel is scored.")


class ComplianceOut(Schema):
    totals: CountsOut
    groups: list[GroupOut]
    drills: list[DrillsOut] = Field(
        description=f"Drill participation over the last {queries.PARTICIPATION_DAYS} days."
    )
    test_parcels: list[ParcelsOut]


class PersonStandingOut(Schema):
    username: str
    name: str
    site: str
    department: str
    course: str
    standing: StandingName
    certificate_expires_at: datetime | None
    enrolment_due_at: datetime | None


class ParticipationOut(Schema):
    kind: str
    ref: str = Field(description="The exercise incident's reference.")
    title: str
    site: str | None
    username: str | None
    recipient: str | None = Field(description="The person's employee ID in the directory.")
    role_played: str
    occurred_at: datetime


class ParticipationFilter(Input):
    site: SiteCode | None = None
    limit: Limit = 200


def counts_out(counts: queries.Counts) -> CountsOut:
    return CountsOut(
        current=counts.current,
        due_soon=counts.due_soon,
        expired=counts.expired,
        never=counts.never,
        total=counts.total,
        compliant_percent=counts.compliant_percent,
    )


def compliance_out(board: queries.Board) -> ComplianceOut:
    return ComplianceOut(
        totals=counts_out(board.totals),
        groups=[
            GroupOut(
                site=g.site,
                department=g.department,
                course=g.course.slug,
                counts=counts_out(g.counts),
            )
            for g in board.groups
        ],
        drills=[
            DrillsOut(site=d.site, drills=d.drills, people=d.people, entries=d.entries)
            for d in board.drills
        ],
        test_parcels=[
            ParcelsOut(
                site=p.site,
                registered=p.registered,
                scored=p.scored,
                passed=p.passed,
                passed_percent=p.passed_percent,
            )
            for p in board.parcels
        ],
    )


def person_standing_out(row: queries.PersonStanding) -> PersonStandingOut:
    return PersonStandingOut(
        username=row.person.username,
        name=row.person.name,
        site=row.site,
        department=row.department,
        course=row.course.slug,
        standing=row.standing.value,
        certificate_expires_at=row.expires_at,
        enrolment_due_at=row.due_at,
    )


def participation_out(row: Participation) -> ParticipationOut:
    return ParticipationOut(
        kind=row.kind,
        ref=row.ref,
        title=row.title,
        site=row.site.code if row.site else None,
        username=row.user.get_username() if row.user else None,
        recipient=row.recipient.employee_id if row.recipient else None,
        role_played=row.role_played,
        occurred_at=row.occurred_at,
    )
