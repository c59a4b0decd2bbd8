"""Courses in the API: the course list and a course's progress, module text, enrolling oneself,
taking and submitting a quiz, one's certificates and their PDF, checking a code, and for
managers course settings, enrolling someone, revoking, assignment rules and the xAPI export.

Every change goes through ``services.courses`` or ``services.assignments``, which check the
caller's role again.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Schema, Status

from mailwarden.config import get_settings
from mailwarden.core.actor import Actor
from mailwarden.core.api import ERRORS, IsoDateTime, actor_of, allow
from mailwarden.core.errors import Forbidden, NotFound
from mailwarden.core.roles import Role
from mailwarden.training import xapi
from mailwarden.training.certificates import certificate_pdf
from mailwarden.training.codes import normalise_code
from mailwarden.training.models import Assignment, Certificate, Course, Module, QuizAttempt
from mailwarden.training.permissions import LEARN, MANAGE_TRAINING, VIEW_COMPLIANCE
from mailwarden.training.queries import courses as queries
from mailwarden.training.schemas_courses import (
    AssignmentIn,
    AssignmentOut,
    AttemptOut,
    CertificateOut,
    CertificateRevokeIn,
    Code,
    CourseDetailOut,
    CourseEnrolmentOut,
    CourseOut,
    CourseSettingsIn,
    EnrolIn,
    ModuleTextOut,
    Slug,
    StartQuizIn,
    SubmitQuizIn,
    VerifyOut,
    assignment_out,
    certificate_out,
    course_detail_out,
    course_out,
    enrolment_out,
    question_out,
)
from mailwarden.training.services import assignments as assignment_services
from mailwarden.training.services import courses as services
from mailwarden.training.services.courses import QuizResult

router = Router()

EVERYONE = tuple(Role)


def _course(slug: str) -> Course:
    course = Course.objects.filter(slug=slug).prefetch_related("modules").first()
    if course is None:
        raise NotFound(f"no course {slug!r}", "course")
    return course


def _user_id(actor: Actor, what: str) -> int:
    if actor.kind != "user" or actor.user_id is None:
        raise Forbidden(f"{what} needs a token that acts for a person", "Authorization")
    return actor.user_id


def _attempt_out(attempt: QuizAttempt, result: QuizResult | None = None) -> AttemptOut:
    return AttemptOut(
        id=attempt.pk,
        course=attempt.module.course.slug,
        module=attempt.module.position,
        started_at=attempt.started_at,
        submitted_at=attempt.submitted_at,
        score=attempt.score,
        passed=attempt.passed,
        questions=[question_out(q) for q in queries.shown_questions(attempt)],
        certificate=result.certificate.code if result and result.certificate else None,
        pending=result.pending if result else None,
    )


# ----------------------------------------------------------------------------- learners


@router.get("/training/courses", response={200: list[CourseOut], **ERRORS}, summary="The courses")
@allow(LEARN, "listing courses")
def list_courses(request: HttpRequest) -> list[dict[str, Any]]:
    return [course_out(c) for c in Course.objects.all()]


@router.get(
    "/training/courses/{slug}",
    response={200: CourseDetailOut, **ERRORS},
    summary="A course, with the caller's progress in each module",
)
@allow(LEARN, "viewing a course")
def get_course(request: HttpRequest, slug: Path[Slug]) -> CourseDetailOut:
    user_id = _user_id(actor_of(request), "viewing your progress")
    return course_detail_out(queries.course_card(_course(slug), user_id))


@router.get(
    "/training/courses/{slug}/modules/{position}",
    response={200: ModuleTextOut, **ERRORS},
    summary="A module's text",
)
@allow(LEARN, "reading a module")
def get_module(request: HttpRequest, slug: Path[Slug], position: Path[int]) -> ModuleTextOut:
    module = Module.objects.filter(course__slug=slug, position=position).first()
    if module is None:
        raise NotFound(f"no module {position} in {slug!r}", "position")
    return ModuleTextOut(
        position=module.position, title=module.title, html=str(queries.module_html(module))
    )


@router.post(
    "/training/courses/{slug}/join",
    response={201: CourseEnrolmentOut, **ERRORS},
    summary="Enrol yourself in a course (your open enrolment, if you have one)",
)
@allow(LEARN, "taking a course")
def join_course(request: HttpRequest, slug: Path[Slug]) -> Status[CourseEnrolmentOut]:
    return Status(201, enrolment_out(services.join(actor_of(request), slug)))


@router.get(
    "/training/enrolments/mine",
    response={200: list[CourseEnrolmentOut], **ERRORS},
    summary="Your enrolments, newest first",
)
@allow(LEARN, "listing your enrolments")
def my_enrolments(request: HttpRequest) -> list[CourseEnrolmentOut]:
    user_id = _user_id(actor_of(request), "listing your enrolments")
    found = queries.enrolments_of(user_id)
    return [enrolment_out(e) for e in found]


@router.post(
    "/training/quizzes",
    response={201: AttemptOut, **ERRORS},
    summary="Start a module's quiz (or get back the attempt you have open)",
)
@allow(LEARN, "taking a quiz")
def start_quiz(request: HttpRequest, payload: StartQuizIn) -> Status[AttemptOut]:
    module = Module.objects.filter(course__slug=payload.course, position=payload.module).first()
    if module is None:
        raise NotFound(f"no module {payload.module} in {payload.course!r}", "module")
    attempt = services.start_quiz(actor_of(request), module.pk)
    return Status(201, _attempt_out(attempt))


def _own_attempt(request: HttpRequest, attempt: int) -> QuizAttempt:
    user_id = _user_id(actor_of(request), "taking a quiz")
    found = queries.attempt_of(attempt, user_id)
    if found is None:
        raise NotFound(f"you have no quiz attempt {attempt}", "attempt")
    return found


@router.get(
    "/training/quizzes/{attempt}",
    response={200: AttemptOut, **ERRORS},
    summary="A quiz attempt: its questions, and once submitted, the right answers",
)
@allow(LEARN, "viewing a quiz")
def get_quiz(request: HttpRequest, attempt: Path[int]) -> AttemptOut:
    return _attempt_out(_own_attempt(request, attempt))


@router.post(
    "/training/quizzes/{attempt}/submit",
    response={200: AttemptOut, **ERRORS},
    summary="Submit a quiz's answers; it is scored on the server",
)
@allow(LEARN, "submitting a quiz")
def submit_quiz(request: HttpRequest, attempt: Path[int], payload: SubmitQuizIn) -> AttemptOut:
    result = services.submit_quiz(actor_of(request), attempt, payload.answers)
    return _attempt_out(_own_attempt(request, attempt), result)


@router.get(
    "/training/certificates/mine",
    response={200: list[CertificateOut], **ERRORS},
    summary="Your certificates, newest first",
)
@allow(LEARN, "listing your certificates")
def my_certificates(request: HttpRequest) -> list[CertificateOut]:
    user_id = _user_id(actor_of(request), "listing your certificates")
    return [certificate_out(c) for c in queries.certificates_of(user_id)]


@router.post(
    "/training/courses/{slug}/certificate",
    response={201: CertificateOut, **ERRORS},
    summary="Claim a course's certificate once every quiz is passed and its TIP need is met",
)
@allow(LEARN, "claiming a certificate")
def claim_certificate(request: HttpRequest, slug: Path[Slug]) -> Status[CertificateOut]:
    certificate = services.claim_certificate(actor_of(request), slug)
    return Status(201, certificate_out(certificate))


def _certificate(code: str) -> Certificate:
    found = (
        Certificate.objects.select_related("course", "user")
        .filter(code=normalise_code(code))
        .first()
    )
    if found is None:
        raise NotFound("no certificate with that code", "code")
    return found


@router.get(
    "/training/certificates/{code}/pdf",
    response=ERRORS,
    summary="A certificate as PDF (your own, or anyone's for compliance viewers)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The certificate",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
@allow(LEARN, "downloading a certificate")
def get_certificate_pdf(request: HttpRequest, code: Path[Code]) -> HttpResponse:
    actor = actor_of(request)
    found = _certificate(code)
    if found.user_id != actor.user_id and not actor.has(*VIEW_COMPLIANCE):
        raise NotFound("no certificate with that code", "code")
    response = HttpResponse(certificate_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{found.code}.pdf"'
    return response


@router.get(
    "/training/certificates/{code}/verify",
    response={200: VerifyOut, **ERRORS},
    summary="Check a certificate by its code (what the public page shows)",
)
@allow(EVERYONE, "checking a certificate")
def verify_certificate(request: HttpRequest, code: Path[Code]) -> VerifyOut:
    found = queries.verify(code)
    if found is None:
        raise NotFound("no certificate with that code", "code")
    return VerifyOut(
        holder=found.holder,
        course=found.course,
        issued_at=found.issued_at,
        expires_at=found.expires_at,
        status=found.status,
    )


# ----------------------------------------------------------------------------- managers


@router.patch(
    "/training/courses/{slug}",
    response={200: CourseOut, **ERRORS},
    summary="Change a course's settings, or withdraw or reinstate it",
)
@allow(MANAGE_TRAINING, "changing a course")
def change_course(request: HttpRequest, slug: Path[Slug], payload: CourseSettingsIn) -> Any:
    course = _course(slug)

    def given(name: str, now: Any) -> Any:
        value = getattr(payload, name)
        return now if value is None else value

    tip_trials = given("min_tip_trials", course.min_tip_trials)
    dprime = given("min_dprime", course.min_dprime)
    changed = services.update_course(
        actor_of(request),
        slug,
        services.CourseSettings(
            pass_mark=given("pass_mark", course.pass_mark),
            valid_days=given("valid_days", course.valid_days),
            renew_within_days=given("renew_within_days", course.renew_within_days),
            active=given("active", course.active),
            min_tip_trials=tip_trials or None,
            min_dprime=dprime or None,
        ),
    )
    return course_out(changed)


@router.post(
    "/training/courses/{slug}/enrolments",
    response={201: CourseEnrolmentOut, **ERRORS},
    summary="Enrol someone in a course (their open enrolment, if they have one)",
)
@allow(MANAGE_TRAINING, "enrolling someone in a course")
def enrol_someone(
    request: HttpRequest, slug: Path[Slug], payload: EnrolIn
) -> Status[CourseEnrolmentOut]:
    enrolment = services.enrol(
        actor_of(request),
        slug,
        payload.user_id,
        reason=payload.reason,
        due_days=payload.due_days,
    )
    return Status(201, enrolment_out(enrolment))


@router.post(
    "/training/certificates/{code}/revoke",
    response={200: CertificateOut, **ERRORS},
    summary="Revoke a certificate",
)
@allow(MANAGE_TRAINING, "revoking a certificate")
def revoke_certificate(request: HttpRequest, code: Path[Code], payload: CertificateRevokeIn) -> Any:
    certificate = services.revoke_certificate(actor_of(request), code, payload.reason)
    return certificate_out(_certificate(certificate.code))


def _spec(payload: AssignmentIn) -> assignment_services.AssignmentSpec:
    return assignment_services.AssignmentSpec(
        course=payload.course,
        role=payload.role,
        department=payload.department,
        site=payload.site,
        due_days=payload.due_days,
        active=payload.active,
    )


def _assignment_out(a: Assignment) -> AssignmentOut:
    found = queries.assignments().get(pk=a.pk)
    return assignment_out(found, assignment_services.describe(found))


@router.get(
    "/training/assignments",
    response={200: list[AssignmentOut], **ERRORS},
    summary="The assignment rules",
)
@allow(VIEW_COMPLIANCE, "listing assignment rules")
def list_assignments(request: HttpRequest) -> list[AssignmentOut]:
    return [assignment_out(a, assignment_services.describe(a)) for a in queries.assignments()]


@router.post(
    "/training/assignments",
    response={201: AssignmentOut, **ERRORS},
    summary="Add an assignment rule (people it covers are enrolled at the next tick)",
)
@allow(MANAGE_TRAINING, "assigning a course")
def create_assignment(request: HttpRequest, payload: AssignmentIn) -> Status[AssignmentOut]:
    found = assignment_services.create_assignment(actor_of(request), _spec(payload))
    return Status(201, _assignment_out(found))


@router.put(
    "/training/assignments/{assignment}",
    response={200: AssignmentOut, **ERRORS},
    summary="Change an assignment rule",
)
@allow(MANAGE_TRAINING, "changing an assignment")
def update_assignment(
    request: HttpRequest, assignment: Path[int], payload: AssignmentIn
) -> AssignmentOut:
    found = assignment_services.update_assignment(actor_of(request), assignment, _spec(payload))
    return _assignment_out(found)


@router.delete(
    "/training/assignments/{assignment}",
    response={204: None, **ERRORS},
    summary="Remove an assignment rule (its enrolments stay)",
)
@allow(MANAGE_TRAINING, "removing an assignment")
def delete_assignment(request: HttpRequest, assignment: Path[int]) -> Status[None]:
    assignment_services.delete_assignment(actor_of(request), assignment)
    return Status(204, None)


class XapiQuery(Schema):
    since: IsoDateTime | None = None
    course: str | None = None
    verb: Literal["passed", "completed"] = "passed"


@router.get(
    "/training/xapi/statements",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="Completions as xAPI 1.0.3 statements (one per certificate, stable ids)",
)
@allow(VIEW_COMPLIANCE, "exporting completions")
def xapi_statements(request: HttpRequest, query: Query[XapiQuery]) -> list[dict[str, Any]]:
    found = queries.certificates_for_export(since=query.since, course=query.course)
    return list(xapi.statements(found, get_settings().base_url, query.verb))
