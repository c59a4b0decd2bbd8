"""Read-side queries on courses: a module's text as HTML, a learner's courses and progress, a
quiz as it was shown, and what the public verification page may say about a certificate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from mailwarden.core import clock
from mailwarden.core.plugins import text_block
from mailwarden.screening.models import Indicator
from mailwarden.training.codes import normalise_code
from mailwarden.training.models import (
    OPEN_ENROLMENT,
    Assignment,
    Certificate,
    Course,
    Enrolment,
    Module,
    Question,
    QuizAttempt,
)

# A line of its own in a module's body that stands for live content from another app, so the
# course never drifts from what the workstation and the playbooks say.
_DIRECTIVE = re.compile(r"^::(indicators|playbook)(?:\s+([a-z_]+))?::\s*$", re.MULTILINE)
# Raw HTML in a body is shown as text: module text is Markdown only.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def _indicators_md() -> str:
    rows = list(Indicator.objects.order_by("position", "code"))
    if not rows:
        return "*(The screening checklist is empty at this site.)*"
    lines = []
    for i in rows:
        strength = (
            "strong" if i.default_weight >= 4 else "medium" if i.default_weight >= 2 else "weak"
        )
        text = f"- **{i.label}** ({strength} sign, weight {i.default_weight})"
        if i.description:
            text += f": {i.description}"
        lines.append(text)
    return "\n".join(lines)


def _playbook_md(incident_type: str) -> str:
    found = text_block("playbook", incident_type)
    return found if found is not None else "*(No app publishes playbooks here.)*"


def expand(body: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "indicators":
            return _indicators_md()
        return _playbook_md(match.group(2) or "")

    return _DIRECTIVE.sub(replace, body)


def module_html(module: Module) -> SafeString:
    # markdown-it escapes text and drops raw HTML ("html": False), so its output is safe.
    return mark_safe(_markdown.render(expand(module.body)))


# ----------------------------------------------------------------------------- a learner's view


@dataclass(frozen=True)
class ModuleProgress:
    module: Module
    attempt: QuizAttempt | None  # the latest submitted one
    questions_in_bank: int

    @property
    def passed(self) -> bool:
        return bool(self.attempt and self.attempt.passed)


@dataclass(frozen=True)
class CourseCard:
    course: Course
    enrolment: Enrolment | None  # open, else None
    certificate: Certificate | None  # the latest, current or not
    modules: list[ModuleProgress]
    status: str  # "current", "due", "expired", "in_progress", "not_started", "revoked"

    @property
    def passed_modules(self) -> int:
        return sum(1 for m in self.modules if m.passed)

    @property
    def all_passed(self) -> bool:
        return bool(self.modules) and all(m.passed for m in self.modules)


def latest_certificate(course_id: int, user_id: int) -> Certificate | None:
    return Certificate.objects.filter(course_id=course_id, user_id=user_id).first()


def certificate_status(certificate: Certificate, now: datetime | None = None) -> str:
    now = now or clock.now()
    if certificate.revoked_at is not None:
        return "revoked"
    if certificate.expires_at <= now:
        return "expired"
    if certificate.expires_at - timedelta(days=certificate.course.renew_within_days) <= now:
        return "due"
    return "current"


def course_card(course: Course, user_id: int) -> CourseCard:
    enrolment = Enrolment.objects.filter(OPEN_ENROLMENT, course=course, user_id=user_id).first()
    certificate = latest_certificate(course.pk, user_id)
    latest: dict[int, QuizAttempt] = {}
    if enrolment is not None:
        for attempt in enrolment.attempts.filter(submitted_at__isnull=False).order_by(
            "submitted_at", "id"
        ):
            latest[attempt.module_id] = attempt
    banks = dict(
        Question.objects.filter(course=course, active=True)
        .values("category")
        .annotate(n=Count("id"))
        .values_list("category", "n")
    )
    modules = [
        ModuleProgress(m, latest.get(m.pk), banks.get(m.quiz_category, 0))
        for m in course.modules.all()
    ]
    if certificate is not None and (enrolment is None or certificate.enrolment_id == enrolment.pk):
        status = certificate_status(certificate)
    elif certificate is not None and certificate_status(certificate) in ("current", "due"):
        status = "due"  # a renewal is open while the certificate still holds
    elif enrolment is not None and latest:
        status = "in_progress"
    else:
        status = "not_started"
    return CourseCard(course, enrolment, certificate, modules, status)


def my_courses(user_id: int) -> list[CourseCard]:
    """The courses the person is enrolled in or holds a certificate of, first; then the other
    active courses they may take."""
    mine = set(Enrolment.objects.filter(user_id=user_id).values_list("course_id", flat=True)) | set(
        Certificate.objects.filter(user_id=user_id).values_list("course_id", flat=True)
    )
    courses = Course.objects.filter(Q(active=True) | Q(pk__in=mine)).prefetch_related("modules")
    cards = [course_card(c, user_id) for c in courses]
    return sorted(cards, key=lambda c: (c.course.pk not in mine, c.course.title))


def certificates_of(user_id: int) -> QuerySet[Certificate]:
    return Certificate.objects.filter(user_id=user_id).select_related("course")


def open_enrolments(user_id: int) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(OPEN_ENROLMENT, user_id=user_id).select_related("course")


@dataclass(frozen=True)
class ShownQuestion:
    number: int
    text: str
    choices: list[str]  # in the order shown
    multiple: bool
    # After submission:
    picked: list[int]
    right: list[int]  # positions as shown
    correct: bool | None
    explanation: str


def shown_questions(attempt: QuizAttempt) -> list[ShownQuestion]:
    """The attempt's questions as the learner saw them; the right answers only once submitted."""
    ids = [entry["question"] for entry in attempt.questions]
    bank = {q.pk: q for q in Question.objects.filter(pk__in=ids)}
    submitted = attempt.submitted_at is not None
    out = []
    for n, entry in enumerate(attempt.questions):
        question = bank.get(entry["question"])
        if question is None:
            continue
        order: list[int] = entry["order"]
        right = [pos for pos, original in enumerate(order) if original in question.correct]
        picked = attempt.answers[n] if submitted and n < len(attempt.answers) else []
        out.append(
            ShownQuestion(
                number=n + 1,
                text=question.text,
                choices=[question.choices[i] for i in order],
                multiple=len(question.correct) > 1,
                picked=picked,
                right=right if submitted else [],
                correct=(sorted(picked) == sorted(right)) if submitted else None,
                explanation=question.explanation if submitted else "",
            )
        )
    return out


def attempt_of(attempt_id: int, user_id: int) -> QuizAttempt | None:
    return (
        QuizAttempt.objects.select_related("module", "module__course", "enrolment")
        .filter(pk=attempt_id, enrolment__user_id=user_id)
        .first()
    )


# ----------------------------------------------------------------------------- managers


@dataclass(frozen=True)
class CourseRow:
    course: Course
    modules: int
    questions: int
    enrolled: int
    current: int


def course_rows() -> list[CourseRow]:
    now = clock.now()
    rows = []
    for course in Course.objects.annotate(
        n_modules=Count("modules", distinct=True),
        n_questions=Count("questions", filter=Q(questions__active=True), distinct=True),
    ):
        rows.append(
            CourseRow(
                course,
                course.n_modules,
                course.n_questions,
                Enrolment.objects.filter(OPEN_ENROLMENT, course=course).count(),
                Certificate.objects.filter(
                    course=course, revoked_at__isnull=True, expires_at__gt=now
                )
                .values("user_id")
                .distinct()
                .count(),
            )
        )
    return rows


def bank_sizes(course: Course) -> dict[str, int]:
    return dict(
        Question.objects.filter(course=course, active=True)
        .values("category")
        .annotate(n=Count("id"))
        .values_list("category", "n")
    )


def assignments() -> QuerySet[Assignment]:
    return Assignment.objects.select_related("course", "department", "site")


def recent_enrolments(limit: int = 50) -> QuerySet[Enrolment]:
    return Enrolment.objects.select_related("course", "user")[:limit]


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verified:
    """All the public page shows: nothing about the holder beyond their name."""

    holder: str
    course: str
    issued_at: datetime
    expires_at: datetime
    status: str  # valid, expired, revoked


def verify(code: str) -> Verified | None:
    wanted = normalise_code(code)
    if not wanted:
        return None
    certificate = Certificate.objects.select_related("course").filter(code=wanted).first()
    if certificate is None:
        return None
    if certificate.revoked_at is not None:
        status = "revoked"
    else:
        status = "valid" if certificate.expires_at > clock.now() else "expired"
    return Verified(
        certificate.holder_name,
        certificate.course.title,
        certificate.issued_at,
        certificate.expires_at,
        status,
    )


def certificates_for_export(
    *, since: datetime | None = None, course: str | None = None
) -> QuerySet[Certificate]:
    found = Certificate.objects.select_related("course", "user").order_by("issued_at", "id")
    if since is not None:
        found = found.filter(issued_at__gte=since)
    if course:
        found = found.filter(course__slug=course)
    return found


def enrolments_of(user_id: int) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(user_id=user_id).select_related("course", "user")
