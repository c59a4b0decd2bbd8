"""Courses, enrolment, quizzes and certificates (docs/architecture.md rule 1).

:func:`enrol` is shared with the test-parcel feedback (services/parcels.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from mailwarden.contracts.events import TrainingCertificateIssued
from mailwarden.core import clock, ledger, media, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.training.codes import new_code, normalise_code
from mailwarden.training.models import (
    OPEN_ENROLMENT,
    Certificate,
    Course,
    CourseDuty,
    Enrolment,
    EnrolmentStatus,
    Module,
    Question,
    QuizAttempt,
)
from mailwarden.training.permissions import LEARN, MANAGE_TRAINING
from mailwarden.training.queries import tip

MAX_DUE_DAYS = 3650
CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"


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
    course = _active_course(course_slug)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound(f"no active user with id {user_id}", "user_id")
    now = clock.now()
    with transaction.atomic():
        return open_enrolment(
            actor,
            course,
            user,
            reason=reason,
            due_at=now + timedelta(days=due_days) if due_days else None,
        )


def open_enrolment(
    actor: Actor,
    course: Course,
    user: User,
    *,
    reason: str,
    due_at: Any = None,
    assignment_id: int | None = None,
) -> Enrolment:
    """The person's open enrolment in the course, made now if they have none. Runs inside the
    caller's transaction, after the caller's role check (assignments and renewals share it)."""
    open_one = (
        Enrolment.objects.select_for_update()
        .filter(OPEN_ENROLMENT, course=course, user=user)
        .first()
    )
    if open_one is not None:
        return open_one
    now = clock.now()
    enrolment = Enrolment.objects.create(
        course=course,
        user=user,
        assignment_id=assignment_id,
        reason=reason[:200],
        enrolled_at=now,
        due_at=due_at,
    )
    ledger.append(
        actor,
        "training.enrolment.created",
        "enrolment",
        str(enrolment.pk),
        {"course": course.slug, "user": user.get_username(), "reason": reason[:200]},
        at=now,
    )
    return enrolment


def _course(slug: str) -> Course:
    course = Course.objects.filter(slug=slug).first()
    if course is None:
        raise NotFound(f"no course {slug!r}", "course")
    return course


def _active_course(slug: str) -> Course:
    course = _course(slug)
    if not course.active:
        raise ServiceError(f"{course.title} is withdrawn; nobody can take it now", "course")
    return course


def _person(actor: Actor, what: str) -> User:
    require(actor, LEARN, what)
    if actor.kind != "user" or actor.user_id is None:
        raise Forbidden(f"{what} is for a signed-in person", "user")
    user = get_user_model().objects.filter(pk=actor.user_id, is_active=True).first()
    if user is None:
        raise Forbidden(f"{what} is for an active person", "user")
    return user


def join(actor: Actor, course_slug: str) -> Enrolment:
    """Enrol oneself in a course (anyone on the staff may take any active course)."""
    user = _person(actor, "taking a course")
    course = _active_course(course_slug)
    with transaction.atomic():
        return open_enrolment(actor, course, user, reason="chose to take it")


# ----------------------------------------------------------------------------- quizzes


@dataclass(frozen=True)
class QuizResult:
    attempt: QuizAttempt
    certificate: Certificate | None
    # Why the course is not complete yet, when every quiz is passed but no certificate came.
    pending: str | None = None


def start_quiz(actor: Actor, module_id: int) -> QuizAttempt:
    """Draw ``quiz_size`` questions at random from the module's category and shuffle each one's
    choices; what was shown is stored, so scoring never trusts the browser. An attempt started
    and not yet submitted is returned as it is, so reloading the page does not redraw."""
    user = _person(actor, "taking a quiz")
    module = Module.objects.select_related("course").filter(pk=module_id).first()
    if module is None:
        raise NotFound(f"no module {module_id}", "module")
    course = module.course
    if not course.active:
        raise ServiceError(f"{course.title} is withdrawn; its quizzes are closed", "course")
    bank = list(
        Question.objects.filter(course=course, category=module.quiz_category, active=True)
        .order_by("id")
        .values_list("id", "choices")
    )
    if not bank:
        raise ServiceError("this quiz has no questions yet", "module")
    with transaction.atomic():
        enrolment = open_enrolment(actor, course, user, reason="chose to take it")
        waiting = QuizAttempt.objects.filter(
            enrolment=enrolment, module=module, submitted_at__isnull=True
        ).first()
        if waiting is not None:
            return waiting
        rng = random.SystemRandom()
        drawn = rng.sample(bank, min(module.quiz_size, len(bank)))
        shown = []
        for question_id, choices in drawn:
            order = list(range(len(choices)))
            rng.shuffle(order)
            shown.append({"question": question_id, "order": order})
        now = clock.now()
        attempt = QuizAttempt.objects.create(
            enrolment=enrolment, module=module, questions=shown, started_at=now
        )
        if enrolment.status == EnrolmentStatus.ASSIGNED:
            enrolment.status = EnrolmentStatus.IN_PROGRESS
            enrolment.save(update_fields=["status"])
        ledger.append(
            actor,
            "training.quiz.started",
            "quiz_attempt",
            str(attempt.pk),
            {"course": course.slug, "module": module.position, "questions": len(shown)},
            at=now,
        )
    return attempt


def _check_answers(attempt: QuizAttempt, answers: list[list[int]]) -> list[list[int]]:
    shown: list[dict[str, Any]] = attempt.questions
    if len(answers) != len(shown):
        raise ServiceError(
            f"answer each of the {len(shown)} questions (got {len(answers)} answers)", "answers"
        )
    clean: list[list[int]] = []
    for n, (chosen, entry) in enumerate(zip(answers, shown, strict=True), start=1):
        picked = sorted(set(chosen))
        if not picked:
            raise ServiceError(f"question {n} has no answer", "answers")
        if any(not 0 <= i < len(entry["order"]) for i in picked):
            raise ServiceError(f"question {n} has no such choice", "answers")
        clean.append(picked)
    return clean


def submit_quiz(actor: Actor, attempt_id: int, answers: list[list[int]]) -> QuizResult:
    """Score an attempt on the server. ``answers`` holds, per question, the positions of the
    choices picked as they were shown. A question counts when exactly its right choices are
    picked. Once every module's latest attempt is passed the certificate is issued."""
    user = _person(actor, "submitting a quiz")
    now = clock.now()
    with transaction.atomic():
        attempt = (
            QuizAttempt.objects.select_for_update()
            .select_related("enrolment", "module", "module__course")
            .filter(pk=attempt_id, enrolment__user=user)
            .first()
        )
        if attempt is None:
            raise NotFound(f"you have no quiz attempt {attempt_id}", "attempt")
        if attempt.submitted_at is not None:
            raise Conflict("this quiz was submitted already; start a new attempt", "attempt")
        course = attempt.module.course
        if not course.active:
            raise ServiceError(f"{course.title} is withdrawn; its quizzes are closed", "course")
        if attempt.enrolment.status not in (EnrolmentStatus.ASSIGNED, EnrolmentStatus.IN_PROGRESS):
            raise Conflict("this enrolment is closed; start the course again", "attempt")
        picked = _check_answers(attempt, answers)
        ids = [entry["question"] for entry in attempt.questions]
        correct_of = dict(Question.objects.filter(pk__in=ids).values_list("id", "correct"))
        right = 0
        for entry, chosen in zip(attempt.questions, picked, strict=True):
            original = {entry["order"][i] for i in chosen}
            if original == set(correct_of.get(entry["question"], [])):
                right += 1
        # _check_answers refused an empty attempt, and start_quiz never draws one.
        score = round(100 * right / len(ids))
        attempt.answers = picked
        attempt.score = score
        attempt.passed = score >= course.pass_mark
        attempt.submitted_at = now
        attempt.save(update_fields=["answers", "score", "passed", "submitted_at"])
        ledger.append(
            actor,
            "training.quiz.submitted",
            "quiz_attempt",
            str(attempt.pk),
            {
                "course": course.slug,
                "module": attempt.module.position,
                "score": score,
                "passed": attempt.passed,
            },
            at=now,
        )
        certificate, pending = None, None
        if attempt.passed:
            certificate, pending = _complete_if_due(actor, attempt.enrolment)
    return QuizResult(attempt, certificate, pending)


# ----------------------------------------------------------------------------- certificates


def latest_scores(enrolment: Enrolment) -> dict[int, QuizAttempt]:
    """Each module's latest submitted attempt in the enrolment, by module id."""
    latest: dict[int, QuizAttempt] = {}
    for attempt in enrolment.attempts.filter(submitted_at__isnull=False).order_by(
        "submitted_at", "id"
    ):
        latest[attempt.module_id] = attempt
    return latest


def tip_shortfall(course: Course, user_id: int) -> str | None:
    """Why the person's TIP record does not yet meet the course's requirement, or None."""
    if not course.min_tip_trials and course.min_dprime is None:
        return None
    measures = tip.screener_measures(user_id)
    wanted = course.min_tip_trials or 0
    if measures.trials == 0:
        return f"no TIP trials yet: {course.title} needs {wanted} answered threat-image trials" + (
            f" with d′ of at least {course.min_dprime:.1f}" if course.min_dprime else ""
        )
    if measures.trials < wanted:
        return f"you have {measures.trials} of the {wanted} TIP trials {course.title} needs"
    dprime = measures.dprime
    if course.min_dprime is not None:
        if dprime is None:
            return "your TIP trials need both threat and clear images before d′ can be measured"
        if dprime < course.min_dprime:
            return (
                f"your d′ over {measures.trials} TIP trials is {dprime:.2f}; "
                f"{course.title} needs at least {course.min_dprime:.1f}"
            )
    return None


def _complete_if_due(actor: Actor, enrolment: Enrolment) -> tuple[Certificate | None, str | None]:
    course = enrolment.course
    modules = list(course.modules.values_list("id", flat=True))
    latest = latest_scores(enrolment)
    if not modules or any(m not in latest or not latest[m].passed for m in modules):
        return None, None
    shortfall = tip_shortfall(course, enrolment.user_id)
    if shortfall is not None:
        return None, shortfall
    scores = [latest[m].score or 0 for m in modules]
    return _issue(actor, enrolment, round(sum(scores) / len(scores))), None


def _holder_name(user: Any) -> str:
    full = f"{user.first_name} {user.last_name}".strip()
    recipient = getattr(user, "recipient", None)
    if not full and recipient is not None:
        full = recipient.display_name
    return (full or user.get_username())[:150]


def _issue(actor: Actor, enrolment: Enrolment, score: int) -> Certificate:
    course, user = enrolment.course, enrolment.user
    now = clock.now()
    dprime, trials = None, None
    if course.min_tip_trials or course.min_dprime is not None:
        measures = tip.screener_measures(user.pk)
        dprime, trials = measures.dprime, measures.trials
    for _ in range(5):
        try:
            with transaction.atomic():
                certificate = Certificate.objects.create(
                    course=course,
                    user=user,
                    enrolment=enrolment,
                    code=new_code(),
                    holder_name=_holder_name(user),
                    score=score,
                    dprime=dprime,
                    tip_trials=trials,
                    issued_at=now,
                    expires_at=now + timedelta(days=course.valid_days),
                )
            break
        except IntegrityError:  # a code drawn twice in 2**60: draw again
            continue
    else:  # pragma: no cover
        raise Conflict("could not draw a fresh certificate code; try again", "code")
    enrolment.status = EnrolmentStatus.COMPLETED
    enrolment.completed_at = now
    enrolment.save(update_fields=["status", "completed_at"])
    ledger.append(
        actor,
        "training.certificate.issued",
        "certificate",
        certificate.code,
        {
            "course": course.slug,
            "user": user.get_username(),
            "score": score,
            "expires_at": certificate.expires_at.isoformat(),
            "dprime": dprime,
            "tip_trials": trials,
        },
        at=now,
    )
    outbox.emit(
        TrainingCertificateIssued(
            certificate=certificate.pk,
            code=certificate.code,
            course=course.slug,
            user=user.get_username(),
            score=score,
            expires_at=certificate.expires_at,
        )
    )
    return certificate


def claim_certificate(actor: Actor, course_slug: str) -> Certificate:
    """Issue the certificate of a course whose quizzes are all passed, once what held it back
    (the TIP trials of a screener course) is met."""
    user = _person(actor, "claiming a certificate")
    course = _active_course(course_slug)
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update()
            .filter(OPEN_ENROLMENT, course=course, user=user)
            .first()
        )
        if enrolment is None:
            raise Conflict(f"you have no open enrolment in {course.title}", "course")
        latest = latest_scores(enrolment)
        missing = [
            m.title for m in course.modules.all() if m.pk not in latest or not latest[m.pk].passed
        ]
        if missing:
            raise Conflict(f"pass the quiz of {', '.join(missing)} first", "course")
        certificate, pending = _complete_if_due(actor, enrolment)
        if certificate is None:
            raise Conflict(pending or "the course is not complete yet", "course")
    return certificate


def revoke_certificate(actor: Actor, code: str, reason: str) -> Certificate:
    require(actor, MANAGE_TRAINING, "revoking a certificate")
    reason = reason.strip()[:300]
    if not reason:
        raise ServiceError("say why the certificate is revoked", "reason")
    wanted = normalise_code(code)
    now = clock.now()
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().filter(code=wanted).first()
        if certificate is None:
            raise NotFound("no certificate with that code", "code")
        if certificate.revoked_at is not None:
            raise Conflict("this certificate is revoked already", "code")
        certificate.revoked_at, certificate.revoked_reason = now, reason
        certificate.save(update_fields=["revoked_at", "revoked_reason"])
        ledger.append(
            actor,
            "training.certificate.revoked",
            "certificate",
            certificate.code,
            {"reason": reason},
            at=now,
        )
    return certificate


# ----------------------------------------------------------------------------- course settings


@dataclass(frozen=True)
class CourseSettings:
    pass_mark: int
    valid_days: int
    renew_within_days: int
    active: bool
    min_tip_trials: int | None = None
    min_dprime: float | None = None


def update_course(actor: Actor, slug: str, wanted: CourseSettings) -> Course:
    """Change a course's pass mark, validity, renewal window, TIP requirement, or withdraw or
    reinstate it. Certificates already issued keep their expiry."""
    require(actor, MANAGE_TRAINING, "changing a course")
    if not 1 <= wanted.pass_mark <= 100:
        raise ServiceError("must be a percentage from 1 to 100", "pass_mark")
    if not 1 <= wanted.valid_days <= MAX_DUE_DAYS:
        raise ServiceError(f"must be from 1 to {MAX_DUE_DAYS} days", "valid_days")
    if not 0 <= wanted.renew_within_days < wanted.valid_days:
        raise ServiceError("must be from 0 days to less than the validity", "renew_within_days")
    if wanted.min_tip_trials is not None and not 1 <= wanted.min_tip_trials <= 10000:
        raise ServiceError("must be from 1 to 10000 trials", "min_tip_trials")
    if wanted.min_dprime is not None and not 0 < wanted.min_dprime <= 6:
        raise ServiceError("must be above 0 and at most 6", "min_dprime")
    with transaction.atomic():
        course = Course.objects.select_for_update().filter(slug=slug).first()
        if course is None:
            raise NotFound(f"no course {slug!r}", "course")
        before = _settings_of(course)
        course.pass_mark = wanted.pass_mark
        course.valid_days = wanted.valid_days
        course.renew_within_days = wanted.renew_within_days
        course.active = wanted.active
        course.min_tip_trials = wanted.min_tip_trials
        course.min_dprime = wanted.min_dprime
        course.updated_at = clock.now()
        course.save()
        after = _settings_of(course)
        changed = {k: v for k, v in after.items() if before[k] != v}
        if changed:
            ledger.append(actor, "training.course.changed", "course", course.slug, changed)
    return course


def _settings_of(course: Course) -> dict[str, Any]:
    return {
        "pass_mark": course.pass_mark,
        "valid_days": course.valid_days,
        "renew_within_days": course.renew_within_days,
        "active": course.active,
        "min_tip_trials": course.min_tip_trials,
        "min_dprime": course.min_dprime,
    }


# ----------------------------------------------------------------------------- module media

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 20_000_000
VIDEO_MAX_BYTES = 200 * 1024 * 1024
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def video_type(data: bytes) -> str | None:
    """The content type of an MP4 or WebM file by its first bytes; None for anything else."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


def set_module_media(
    actor: Actor, course_slug: str, position: int, kind: str, data: bytes | None
) -> Module:
    """Give a module an illustration (PNG, JPEG or WebP) or a video (MP4 or WebM), or remove it
    (``data=None``). Files live in the media store; the module keeps their SHA-256."""
    require(actor, MANAGE_TRAINING, "changing a module's pictures and video")
    if kind not in ("image", "video"):
        raise ServiceError("must be image or video", "kind")
    digest = ""
    if data is not None:
        if kind == "image":
            checked = media.check_image(
                data, field="image", max_bytes=IMAGE_MAX_BYTES, max_pixels=IMAGE_MAX_PIXELS
            )
            if checked.format not in IMAGE_TYPES:
                raise ServiceError("a module's image must be PNG, JPEG or WebP", "image")
        else:
            if not data:
                raise ServiceError("the file is empty", "video")
            if len(data) > VIDEO_MAX_BYTES:
                raise ServiceError(
                    f"the file is {len(data)} bytes; the limit is {VIDEO_MAX_BYTES}", "video"
                )
            if video_type(data) is None:
                raise ServiceError("a module's video must be MP4 or WebM", "video")
    with transaction.atomic():
        module = (
            Module.objects.select_for_update()
            .select_related("course")
            .filter(course__slug=course_slug, position=position)
            .first()
        )
        if module is None:
            raise NotFound(f"no module {position} in {course_slug!r}", "module")
        if data is not None:
            digest = media.put(data)
        setattr(module, f"{kind}_sha256", digest)
        module.save(update_fields=[f"{kind}_sha256"])
        ledger.append(
            actor,
            "training.module.changed",
            "module",
            f"{course_slug}/{position}",
            {kind: digest or None},
        )
    return module


# ----------------------------------------------------------------------------- shipped content


def _content_problems(data: Any) -> list[str]:
    # YAML reads a bare No as false and "a: b" as a mapping; a choice must stay the text written.
    if not isinstance(data, dict):
        return ["not a mapping"]
    found = [f"{k} is missing" for k in ("slug", "title", "modules", "questions") if k not in data]
    for n, module in enumerate(data.get("modules") or [], start=1):
        for key in ("title", "body", "category"):
            if not isinstance(module.get(key), str):
                found.append(f"module {n}: {key} must be text")
    for n, question in enumerate(data.get("questions") or [], start=1):
        choices = question.get("choices")
        if not isinstance(question.get("text"), str) or not isinstance(choices, list):
            found.append(f"question {n}: needs text and a list of choices")
            continue
        if not all(isinstance(c, str) for c in choices):
            found.append(f"question {n}: every choice must be text (quote it)")
        correct = question.get("correct")
        if not correct or not all(isinstance(i, int) and 0 <= i < len(choices) for i in correct):
            found.append(f"question {n}: correct must list positions of its choices")
    return found


def shipped_content() -> list[dict[str, Any]]:
    """The courses shipped in ``training/content``, as their YAML files say; a file that breaks
    the shape stops the install with its name and what is wrong."""
    out = []
    for path in sorted(CONTENT_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        problems = _content_problems(data)
        if problems:
            raise ValueError(f"{path.name}: {'; '.join(problems)}")
        out.append(data)
    return out


def install_shipped() -> int:
    """Add the shipped courses and bring their modules and question banks up to date; returns
    how many courses were added. Idempotent. A course's settings (pass mark, validity, whether
    it is active) are the site's once installed and are never overwritten; the text is ours."""
    added = 0
    now = clock.now()
    with transaction.atomic():
        for data in shipped_content():
            course = Course.objects.filter(slug=data["slug"]).first()
            if course is None:
                course = Course.objects.create(
                    slug=data["slug"],
                    title=data["title"],
                    summary=data.get("summary", ""),
                    duty=data.get("duty", CourseDuty.NONE),
                    pass_mark=data.get("pass_mark", 80),
                    valid_days=data.get("valid_days", 365),
                    renew_within_days=data.get("renew_within_days", 30),
                    min_tip_trials=data.get("min_tip_trials"),
                    min_dprime=data.get("min_dprime"),
                    refresher=data.get("refresher", False),
                    shipped=True,
                    created_at=now,
                    updated_at=now,
                )
                added += 1
            elif not course.shipped:
                continue  # a site's own course that took the slug first
            else:
                Course.objects.filter(pk=course.pk).update(
                    title=data["title"], summary=data.get("summary", "")
                )
            _sync_modules(course, data["modules"])
            _sync_questions(course, data["questions"])
    return added


def _sync_modules(course: Course, modules: list[dict[str, Any]]) -> None:
    for position, module in enumerate(modules, start=1):
        Module.objects.update_or_create(
            course=course,
            position=position,
            defaults={
                "title": module["title"],
                "body": module["body"],
                "quiz_category": module["category"],
                "quiz_size": module.get("quiz_size", 5),
            },
        )


def _sync_questions(course: Course, questions: list[dict[str, Any]]) -> None:
    have = {(q.category, q.text): q for q in Question.objects.filter(course=course)}
    keep = set()
    for q in questions:
        key = (q["category"], q["text"])
        keep.add(key)
        values = {
            "choices": q["choices"],
            "correct": q["correct"],
            "explanation": q.get("explanation", ""),
            "active": True,
        }
        row = have.get(key)
        if row is None:
            Question.objects.create(course=course, category=q["category"], text=q["text"], **values)
        elif any(getattr(row, k) != v for k, v in values.items()):
            Question.objects.filter(pk=row.pk).update(**values)
    # Questions dropped from the content stay for the attempts that showed them, unused.
    retired = [q.pk for key, q in have.items() if key not in keep and q.active]
    Question.objects.filter(pk__in=retired).update(active=False)
