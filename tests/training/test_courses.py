"""Courses: the shipped content, quizzes drawn and scored on the server, certificates issued
when every module is passed (and, for the screener course, the TIP record is good enough)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth.models import User

from mailwarden.core import clock, ledger
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import OutboxEvent
from mailwarden.incidents.queries.playbooks import playbooks
from mailwarden.screening.models import Indicator
from mailwarden.training.codes import normalise_code
from mailwarden.training.models import (
    Certificate,
    Course,
    CourseDuty,
    Enrolment,
    EnrolmentStatus,
    Module,
    Question,
    QuizAttempt,
    TipMode,
    TipOutcome,
    TipTrial,
)
from mailwarden.training.queries import courses as queries
from mailwarden.training.services import courses as services
from tests.factories import MANAGER
from tests.training import conftest_a
from tests.training.conftest_a import actor, right_answers, wrong_answers

person = conftest_a.person

pytestmark = pytest.mark.django_db


def _pass_course(user: User, slug: str) -> services.QuizResult:
    result = None
    for module in Module.objects.filter(course__slug=slug):
        attempt = services.start_quiz(actor(user), module.pk)
        result = services.submit_quiz(actor(user), attempt.pk, right_answers(attempt))
        assert result.attempt.passed
    assert result is not None
    return result


# ----------------------------------------------------------------------------- shipped content


def test_the_shipped_courses_are_there_after_migrate_with_banks_big_enough_to_vary() -> None:
    courses = list(Course.objects.filter(shipped=True))
    assert len(courses) >= 6
    for course in courses:
        modules = list(course.modules.all())
        assert (1 if course.refresher else 2) <= len(modules) <= 4, course.slug
        sizes = queries.bank_sizes(course)
        for module in modules:
            assert sizes.get(module.quiz_category, 0) >= 2 * module.quiz_size, module
            assert len(module.body) > 400, module
    duties = Counter(c.duty for c in courses)
    assert duties[CourseDuty.SCREENING] == 1 and duties[CourseDuty.INTAKE] == 1
    screener = next(c for c in courses if c.duty == CourseDuty.SCREENING)
    assert screener.min_tip_trials == 40 and screener.min_dprime == 1.5
    assert sum(c.refresher for c in courses) == 1
    [refresher] = [c for c in courses if c.refresher]
    assert refresher.modules.count() == 1


def test_shipped_content_is_checked_before_install() -> None:
    assert all(isinstance(c, str) for q in Question.objects.all() for c in q.choices)
    bad = {
        "slug": "x",
        "title": "x",
        "modules": [{"title": "t", "body": 3, "category": "c"}],
        "questions": [{"text": "q", "choices": ["Yes", False], "correct": [5]}],
    }
    assert services._content_problems(bad) == [
        "module 1: body must be text",
        "question 1: every choice must be text (quote it)",
        "question 1: correct must list positions of its choices",
    ]


def test_installing_again_changes_nothing() -> None:
    before = (Course.objects.count(), Module.objects.count(), Course.objects.first())
    assert services.install_shipped() == 0
    assert (Course.objects.count(), Module.objects.count(), Course.objects.first()) == before


def test_a_sites_settings_survive_a_reinstall() -> None:
    services.update_course(
        MANAGER,
        "access-hygiene",
        services.CourseSettings(pass_mark=90, valid_days=200, renew_within_days=10, active=False),
    )
    services.install_shipped()
    course = Course.objects.get(slug="access-hygiene")
    assert (course.pass_mark, course.valid_days, course.active) == (90, 200, False)


def test_the_suspicious_mail_course_lists_the_screening_checklist_as_it_is_now() -> None:
    module = Module.objects.get(course__slug="suspicious-mail", position=1)
    html = queries.module_html(module)
    for indicator in Indicator.objects.all():
        assert indicator.label in html
    Indicator.objects.create(
        code="glitter", label="Glitter everywhere", default_weight=1, position=99
    )
    assert "Glitter everywhere" in queries.module_html(module)


def test_the_package_and_powder_modules_follow_the_incident_playbooks() -> None:
    books = {p.incident_type: p for p in playbooks()}
    for position, kind in ((1, "suspicious_package"), (2, "suspicious_substance")):
        html = queries.module_html(
            Module.objects.get(course__slug="suspicious-package", position=position)
        )
        titles = [s.title for s in books[kind].steps.all()]
        assert titles
        where = [html.find(t) for t in titles]
        assert all(i >= 0 for i in where) and where == sorted(where), kind


def test_module_text_never_carries_raw_html() -> None:
    module = Module.objects.get(course__slug="reporting-chain", position=1)
    Module.objects.filter(pk=module.pk).update(body="Hello <script>alert(1)</script> **there**")
    module.refresh_from_db()
    html = queries.module_html(module)
    assert "<script>" not in html and "<strong>there</strong>" in html


# ----------------------------------------------------------------------------- quizzes


def test_a_quiz_draws_its_size_from_the_modules_category_and_shuffles_the_choices(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="suspicious-mail", position=1)
    orders, drawn = set(), set()
    for _ in range(8):
        attempt = services.start_quiz(actor(learner), module.pk)
        ids = [e["question"] for e in attempt.questions]
        assert len(ids) == module.quiz_size == len(set(ids))
        drawn.update(ids)
        orders.update(tuple(e["order"]) for e in attempt.questions)
        services.submit_quiz(actor(learner), attempt.pk, wrong_answers(attempt))
    categories = set(
        module.course.questions.filter(pk__in=drawn).values_list("category", flat=True)
    )
    assert categories == {module.quiz_category}
    assert len(drawn) > module.quiz_size  # quizzes vary
    assert len(orders) > 1  # and so does the order of the choices


def test_reloading_a_quiz_gives_back_the_same_questions(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="reporting-chain", position=1)
    first = services.start_quiz(actor(learner), module.pk)
    again = services.start_quiz(actor(learner), module.pk)
    assert again.pk == first.pk and again.questions == first.questions


def test_wrong_answers_fail_and_a_submitted_attempt_cannot_be_resubmitted(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="reporting-chain", position=1)
    attempt = services.start_quiz(actor(learner), module.pk)
    result = services.submit_quiz(actor(learner), attempt.pk, wrong_answers(attempt))
    assert result.attempt.score == 0 and result.attempt.passed is False
    with pytest.raises(Conflict, match="submitted already"):
        services.submit_quiz(actor(learner), attempt.pk, right_answers(attempt))
    attempt.refresh_from_db()
    assert attempt.score == 0


def test_a_score_is_the_share_of_questions_answered_exactly(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="suspicious-mail", position=1)  # 4 questions
    attempt = services.start_quiz(actor(learner), module.pk)
    answers = right_answers(attempt)
    answers[0] = wrong_answers(attempt)[0]
    result = services.submit_quiz(actor(learner), attempt.pk, answers)
    assert result.attempt.score == 75 and not result.attempt.passed  # pass mark 80


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([[0]], "answer each of the 3 questions"),
        ([[0], [0], [9]], "question 3 has no such choice"),
        ([[0], [], [0]], "question 2 has no answer"),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(person, answers, message) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="reporting-chain", position=1)
    attempt = services.start_quiz(actor(learner), module.pk)
    with pytest.raises(ServiceError, match=message) as caught:
        services.submit_quiz(actor(learner), attempt.pk, answers)
    assert caught.value.field == "answers"
    attempt.refresh_from_db()
    assert attempt.submitted_at is None and attempt.score is None


def test_a_quiz_with_no_questions_is_a_clear_message_not_a_division_by_zero(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="access-hygiene", position=1)
    module.course.questions.filter(category=module.quiz_category).update(active=False)
    with pytest.raises(ServiceError, match="this quiz has no questions yet"):
        services.start_quiz(actor(learner), module.pk)
    assert not QuizAttempt.objects.exists()
    assert not Enrolment.objects.exists()


def test_a_withdrawn_course_refuses_quizzes_and_enrolment(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="access-hygiene", position=1)
    attempt = services.start_quiz(actor(learner), module.pk)
    services.update_course(
        MANAGER,
        "access-hygiene",
        services.CourseSettings(pass_mark=80, valid_days=365, renew_within_days=30, active=False),
    )
    with pytest.raises(ServiceError, match="withdrawn"):
        services.submit_quiz(actor(learner), attempt.pk, right_answers(attempt))
    with pytest.raises(ServiceError, match="withdrawn"):
        services.start_quiz(actor(learner), module.pk)
    with pytest.raises(ServiceError, match="withdrawn"):
        services.enrol(MANAGER, "access-hygiene", learner.pk, reason="x")
    attempt.refresh_from_db()
    assert attempt.submitted_at is None


def test_someone_elses_attempt_is_not_found(person) -> None:
    a, b = person("a"), person("b")
    module = Module.objects.get(course__slug="access-hygiene", position=1)
    attempt = services.start_quiz(actor(a), module.pk)
    with pytest.raises(NotFound):
        services.submit_quiz(actor(b), attempt.pk, right_answers(attempt))


def test_a_recipient_takes_no_courses(person) -> None:
    recipient = person("someone", role="recipient")
    module = Module.objects.get(course__slug="access-hygiene", position=1)
    with pytest.raises(Forbidden):
        services.start_quiz(actor(recipient), module.pk)


# ----------------------------------------------------------------------------- certificates


def test_passing_every_module_issues_the_certificate(person, frozen_clock) -> None:
    learner = person("learner", first_name="Ada", last_name="Byron")
    result = _pass_course(learner, "access-hygiene")
    certificate = result.certificate
    assert certificate is not None
    assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", certificate.code)
    assert certificate.holder_name == "Ada Byron"
    assert certificate.score == 100
    assert certificate.expires_at == clock.now() + timedelta(days=365)
    enrolment = Enrolment.objects.get(user=learner)
    assert enrolment.status == EnrolmentStatus.COMPLETED
    [entry] = ledger.entries_for("certificate", certificate.code)
    assert entry.action == "training.certificate.issued"
    event = OutboxEvent.objects.get(topic="training.certificate.issued")
    assert event.payload["code"] == certificate.code


def test_one_module_passed_is_not_enough(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="access-hygiene", position=1)
    attempt = services.start_quiz(actor(learner), module.pk)
    result = services.submit_quiz(actor(learner), attempt.pk, right_answers(attempt))
    assert result.attempt.passed and result.certificate is None
    assert not Certificate.objects.exists()


def test_codes_are_unguessable_and_read_back_however_typed() -> None:
    from mailwarden.training.codes import new_code

    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = "ABCD-EFGH-IJKL"
    assert normalise_code("abcd efgh ijkl") == code
    assert normalise_code("ABCDEFGH1JKL") == code  # a 1 typed for the I
    assert normalise_code("short") == ""


def _trials(user: User, hits: int, misses: int, false_alarms: int, rejections: int) -> None:
    now = clock.now()
    rows = []
    for outcome, n in (
        (TipOutcome.HIT, hits),
        (TipOutcome.MISS, misses),
        (TipOutcome.FALSE_ALARM, false_alarms),
        (TipOutcome.CORRECT_REJECTION, rejections),
    ):
        signal = outcome in (TipOutcome.HIT, TipOutcome.MISS)
        rows += [
            TipTrial(
                user=user,
                mode=TipMode.TRAINING,
                category="knife" if signal else "",
                background="simulated",
                image_sha256="0" * 64,
                width=512,
                height=384,
                presented_at=now,
                answered_at=now,
                response="threat"
                if outcome in (TipOutcome.HIT, TipOutcome.FALSE_ALARM)
                else "clear",
                outcome=outcome,
            )
            for _ in range(n)
        ]
    TipTrial.objects.bulk_create(rows)


def test_the_screener_certificate_waits_for_tip_trials_and_dprime(person) -> None:
    screener = person("scr", role="screener")
    result = _pass_course(screener, "screener-certification")
    assert result.certificate is None
    assert result.pending and result.pending.startswith("no TIP trials yet")
    _trials(screener, 6, 0, 0, 6)
    with pytest.raises(Conflict, match="you have 12 of the 40 TIP trials"):
        services.claim_certificate(actor(screener), "screener-certification")
    _trials(screener, 10, 10, 10, 10)  # chance performance: d′ well under 1.5
    with pytest.raises(Conflict, match=r"your d′ over 52 TIP trials is .*needs at least 1\.5"):
        services.claim_certificate(actor(screener), "screener-certification")
    TipTrial.objects.all().delete()
    _trials(screener, 27, 3, 3, 27)
    certificate = services.claim_certificate(actor(screener), "screener-certification")
    assert certificate.tip_trials == 60
    assert certificate.dprime is not None and certificate.dprime > 1.5


def test_claiming_before_the_quizzes_are_passed_says_which(person) -> None:
    learner = person("learner")
    services.join(actor(learner), "reporting-chain")
    with pytest.raises(Conflict, match="pass the quiz of Who to tell"):
        services.claim_certificate(actor(learner), "reporting-chain")


def test_a_revoked_certificate_reads_as_revoked(person) -> None:
    learner = person("learner")
    code = _pass_course(learner, "access-hygiene").certificate.code  # type: ignore[union-attr]
    with pytest.raises(ServiceError, match="say why"):
        services.revoke_certificate(MANAGER, code, " ")
    services.revoke_certificate(MANAGER, code.lower(), "issued by mistake")
    assert queries.verify(code).status == "revoked"  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        services.revoke_certificate(MANAGER, code, "again")


def test_verification_says_valid_then_expired(person, frozen_clock) -> None:
    learner = person("learner")
    code = _pass_course(learner, "access-hygiene").certificate.code  # type: ignore[union-attr]
    assert queries.verify(code.replace("-", " ").lower()).status == "valid"  # type: ignore[union-attr]
    frozen_clock.advance(days=366)
    assert queries.verify(code).status == "expired"  # type: ignore[union-attr]
    assert queries.verify("AAAA-AAAA-AAAA") is None
    assert queries.verify("") is None


def test_the_certificate_pdf_is_a_pdf(person) -> None:
    from mailwarden.training.certificates import certificate_html, certificate_pdf

    learner = person("learner", first_name="Grace", last_name="Hopper")
    certificate = _pass_course(learner, "access-hygiene").certificate
    assert certificate is not None
    html = certificate_html(certificate)
    assert certificate.code in html and "Grace Hopper" in html and "/training/verify/" in html
    assert certificate_pdf(certificate).startswith(b"%PDF")


def test_enrol_keeps_one_open_enrolment(person) -> None:
    learner = person("learner")
    first = services.enrol(MANAGER, "reporting-chain", learner.pk, reason="test parcel feedback")
    second = services.enrol(MANAGER, "reporting-chain", learner.pk, reason="again", due_days=5)
    assert first.pk == second.pk
    with pytest.raises(ServiceError) as caught:
        services.enrol(MANAGER, "reporting-chain", learner.pk, reason="x", due_days=0)
    assert caught.value.field == "due_days"
    with pytest.raises(NotFound):
        services.enrol(MANAGER, "no-such-course", learner.pk, reason="x")


def test_course_settings_are_checked(person) -> None:
    for wanted, field in (
        (services.CourseSettings(0, 365, 30, True), "pass_mark"),
        (services.CourseSettings(80, 0, 0, True), "valid_days"),
        (services.CourseSettings(80, 30, 30, True), "renew_within_days"),
        (services.CourseSettings(80, 365, 30, True, min_dprime=9.0), "min_dprime"),
    ):
        with pytest.raises(ServiceError) as caught:
            services.update_course(MANAGER, "access-hygiene", wanted)
        assert caught.value.field == field
    with pytest.raises(Forbidden):
        services.update_course(
            actor(person("clerk")), "access-hygiene", services.CourseSettings(80, 365, 30, True)
        )


def test_scores_never_divide_by_zero_even_for_an_emptied_bank(person) -> None:
    learner = person("learner")
    module = Module.objects.get(course__slug="access-hygiene", position=1)
    attempt = services.start_quiz(actor(learner), module.pk)
    module.course.questions.all().delete()  # the questions it showed are gone
    result = services.submit_quiz(actor(learner), attempt.pk, [[0]] * len(attempt.questions))
    assert result.attempt.score == 0
    assert np.isfinite(result.attempt.score)
