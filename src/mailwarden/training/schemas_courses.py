"""API shapes of courses, quizzes, certificates and assignment rules, bounded like their
columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

from mailwarden.training.certificates import verify_url
from mailwarden.training.models import Assignment, Certificate, Course, Enrolment
from mailwarden.training.queries.courses import CourseCard, ShownQuestion, certificate_status

Slug = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")]
Code = Annotated[str, Field(min_length=1, max_length=40)]


class ModuleOut(Schema):
    position: int
    title: str
    quiz_category: str
    quiz_size: int
    questions_in_bank: int
    latest_score: int | None = None
    passed: bool = False


class CourseOut(Schema):
    slug: str
    title: str
    summary: str
    duty: str
    pass_mark: int
    valid_days: int
    renew_within_days: int
    min_tip_trials: int | None
    min_dprime: float | None
    refresher: bool
    active: bool
    shipped: bool


class CourseDetailOut(CourseOut):
    modules: list[ModuleOut]
    status: str = Field(description="current, due, expired, revoked, in_progress, not_started")


class ModuleTextOut(Schema):
    position: int
    title: str
    html: str = Field(description="The module's text as HTML (from Markdown, no raw HTML).")


class CourseEnrolmentOut(Schema):
    id: int
    course: str
    user: str
    reason: str
    status: str
    enrolled_at: datetime
    due_at: datetime | None
    completed_at: datetime | None


class QuestionOut(Schema):
    number: int
    text: str
    choices: list[str]
    multiple: bool
    picked: list[int]
    right: list[int] = Field(description="Positions of the right choices; empty until submitted.")
    correct: bool | None
    explanation: str


class AttemptOut(Schema):
    id: int
    course: str
    module: int
    started_at: datetime
    submitted_at: datetime | None
    score: int | None
    passed: bool | None
    questions: list[QuestionOut]
    certificate: str | None = Field(None, description="The certificate code this issued.")
    pending: str | None = Field(None, description="Why no certificate came yet, if so.")


class StartQuizIn(Schema):
    course: Slug
    module: int = Field(ge=1, le=100, description="The module's position in the course.")


class SubmitQuizIn(Schema):
    answers: list[Annotated[list[Annotated[int, Field(ge=0, le=50)]], Field(max_length=20)]] = (
        Field(
            max_length=100,
            description="Per question, the positions (as shown) of the choices picked.",
        )
    )


class CertificateOut(Schema):
    code: str
    course: str
    course_title: str
    holder: str
    score: int
    dprime: float | None
    tip_trials: int | None
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    status: str
    verify_url: str


class VerifyOut(Schema):
    holder: str
    course: str
    issued_at: datetime
    expires_at: datetime
    status: str = Field(description="valid, expired or revoked")


class AssignmentIn(Schema):
    course: Slug
    role: str = Field("", max_length=40)
    department: str = Field("", max_length=120)
    site: str = Field("", max_length=40)
    due_days: int = Field(30, ge=1, le=3650)
    active: bool = True


class AssignmentOut(Schema):
    id: int
    course: str
    role: str
    department: str
    site: str
    due_days: int
    active: bool
    covers: str
    created_by: str
    created_at: datetime


class EnrolIn(Schema):
    user_id: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=200)
    due_days: int | None = Field(None, ge=1, le=3650)


class CourseSettingsIn(Schema):
    pass_mark: int | None = Field(None, ge=1, le=100)
    valid_days: int | None = Field(None, ge=1, le=3650)
    renew_within_days: int | None = Field(None, ge=0, le=3649)
    min_tip_trials: int | None = Field(None, ge=0, le=10000, description="0 removes it")
    min_dprime: float | None = Field(None, ge=0, le=6, description="0 removes it")
    active: bool | None = None


class CertificateRevokeIn(Schema):
    reason: str = Field(min_length=1, max_length=300)


def course_out(course: Course) -> dict[str, Any]:
    return {
        "slug": course.slug,
        "title": course.title,
        "summary": course.summary,
        "duty": course.duty,
        "pass_mark": course.pass_mark,
        "valid_days": course.valid_days,
        "renew_within_days": course.renew_within_days,
        "min_tip_trials": course.min_tip_trials,
        "min_dprime": course.min_dprime,
        "refresher": course.refresher,
        "active": course.active,
        "shipped": course.shipped,
    }


def course_detail_out(card: CourseCard) -> CourseDetailOut:
    modules = [
        ModuleOut(
            position=m.module.position,
            title=m.module.title,
            quiz_category=m.module.quiz_category,
            quiz_size=m.module.quiz_size,
            questions_in_bank=m.questions_in_bank,
            latest_score=m.attempt.score if m.attempt else None,
            passed=m.passed,
        )
        for m in card.modules
    ]
    return CourseDetailOut(**course_out(card.course), modules=modules, status=card.status)


def enrolment_out(e: Enrolment) -> CourseEnrolmentOut:
    return CourseEnrolmentOut(
        id=e.pk,
        course=e.course.slug,
        user=e.user.get_username(),
        reason=e.reason,
        status=e.status,
        enrolled_at=e.enrolled_at,
        due_at=e.due_at,
        completed_at=e.completed_at,
    )


def question_out(q: ShownQuestion) -> QuestionOut:
    return QuestionOut(
        number=q.number,
        text=q.text,
        choices=q.choices,
        multiple=q.multiple,
        picked=q.picked,
        right=q.right,
        correct=q.correct,
        explanation=q.explanation,
    )


def certificate_out(c: Certificate) -> CertificateOut:
    return CertificateOut(
        code=c.code,
        course=c.course.slug,
        course_title=c.course.title,
        holder=c.holder_name,
        score=c.score,
        dprime=c.dprime,
        tip_trials=c.tip_trials,
        issued_at=c.issued_at,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
        status=certificate_status(c),
        verify_url=verify_url(c.code),
    )


def assignment_out(a: Assignment, covers: str) -> AssignmentOut:
    return AssignmentOut(
        id=a.pk,
        course=a.course.slug,
        role=a.role,
        department=a.department.name if a.department else "",
        site=a.site.code if a.site else "",
        due_days=a.due_days,
        active=a.active,
        covers=covers,
        created_by=a.created_by,
        created_at=a.created_at,
    )
