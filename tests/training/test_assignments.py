"""Assignment rules: who they cover (role, and the department and site of the person's
directory entry), enrolment by the periodic job, renewal before expiry with a reminder email
and a second reminder at expiry, sent to a real SMTP server as time moves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from mailwarden.core import clock, ledger
from mailwarden.core.errors import Forbidden, NotFound, ServiceError
from mailwarden.core.runner import run_pending
from mailwarden.directory.models import Recipient
from mailwarden.training.models import Assignment, Enrolment, EnrolmentStatus, Module
from mailwarden.training.services import assignments, courses
from tests.factories import MANAGER, make_recipient, make_site
from tests.notify import conftest as notify_fixtures
from tests.training import conftest_a
from tests.training.conftest_a import actor, right_answers

person = conftest_a.person
smtp_server = notify_fixtures.smtp_server

SECOND = timedelta(seconds=1)


def _works_in(user: User, department: str, site: str | None) -> None:
    entry = make_recipient(department=department, site=site, email=f"{user.username}@example.org")
    # No service links a directory entry to a sign-in account yet; the demo does the same.
    Recipient.objects.filter(pk=entry.pk).update(user=user)


def _pass(user: User, slug: str) -> None:
    for module in Module.objects.filter(course__slug=slug):
        attempt = courses.start_quiz(actor(user), module.pk)
        assert courses.submit_quiz(actor(user), attempt.pk, right_answers(attempt)).attempt.passed


@pytest.fixture
def office(db, frozen_clock, person):
    make_site("hq")
    make_site("north")
    people = {
        "alice": person("alice", role="clerk", email="alice@example.org"),
        "bob": person("bob", role="clerk", email="bob@example.org"),
        "carol": person("carol", role="screener", email="carol@example.org"),
        "dan": person("dan", role="clerk", email="dan@example.org"),
        "erin": person("erin", role="clerk"),  # no directory entry
    }
    _works_in(people["alice"], "Finance", "hq")
    _works_in(people["bob"], "Legal", "hq")
    _works_in(people["carol"], "Finance", "hq")
    _works_in(people["dan"], "Finance", "north")
    return people


def _enrolled(slug: str) -> set[str]:
    return set(Enrolment.objects.filter(course__slug=slug).values_list("user__username", flat=True))


@pytest.mark.django_db
def test_a_rule_covers_role_department_and_site(office) -> None:
    rule = assignments.create_assignment(
        MANAGER,
        assignments.AssignmentSpec("mail-handling", role="clerk", department="Finance", site="hq"),
    )
    assert assignments.describe(rule) == "mailroom clerks in Finance at hq"
    assert assignments.run() == 1
    assert _enrolled("mail-handling") == {"alice"}
    [enrolment] = Enrolment.objects.filter(course__slug="mail-handling")
    assert enrolment.assignment_id == rule.pk
    assert enrolment.due_at == clock.now() + timedelta(days=30)
    assert assignments.run() == 0  # idempotent

    assignments.create_assignment(
        MANAGER, assignments.AssignmentSpec("reporting-chain", role="clerk")
    )
    assignments.run()
    assert _enrolled("reporting-chain") == {"alice", "bob", "dan", "erin"}
    assignments.create_assignment(MANAGER, assignments.AssignmentSpec("access-hygiene"))
    assignments.run()
    assert _enrolled("access-hygiene") >= {"alice", "bob", "carol", "dan", "erin"}


@pytest.mark.django_db
def test_bad_rules_name_the_field_and_change_nothing(office, person) -> None:
    for spec, field in (
        (assignments.AssignmentSpec("nope"), "course"),
        (assignments.AssignmentSpec("mail-handling", role="wizard"), "role"),
        (assignments.AssignmentSpec("mail-handling", department="Nowhere"), "department"),
        (assignments.AssignmentSpec("mail-handling", site="mars"), "site"),
        (assignments.AssignmentSpec("mail-handling", due_days=0), "due_days"),
    ):
        with pytest.raises(ServiceError) as caught:
            assignments.create_assignment(MANAGER, spec)
        assert caught.value.field == field
    with pytest.raises(Forbidden):
        assignments.create_assignment(
            actor(office["alice"]), assignments.AssignmentSpec("mail-handling")
        )
    assert not Assignment.objects.exists()
    with pytest.raises(NotFound):
        assignments.delete_assignment(MANAGER, 999)


@pytest.mark.django_db
def test_changing_and_removing_a_rule(office) -> None:
    rule = assignments.create_assignment(MANAGER, assignments.AssignmentSpec("mail-handling"))
    changed = assignments.update_assignment(
        MANAGER, rule.pk, assignments.AssignmentSpec("mail-handling", role="screener", due_days=7)
    )
    assert (changed.role, changed.due_days) == ("screener", 7)
    assignments.run()
    assert _enrolled("mail-handling") == {"carol"}
    assignments.delete_assignment(MANAGER, rule.pk)
    assert Enrolment.objects.get(user=office["carol"]).assignment_id is None
    actions = [e.action for e in ledger.entries_for("assignment", str(rule.pk))]
    assert actions == [
        "training.assignment.created",
        "training.assignment.changed",
        "training.assignment.deleted",
    ]


@pytest.mark.django_db
def test_a_current_certificate_holder_is_not_enrolled_again(office) -> None:
    _pass(office["alice"], "mail-handling")
    assignments.create_assignment(
        MANAGER, assignments.AssignmentSpec("mail-handling", role="clerk")
    )
    assignments.run()
    open_ones = Enrolment.objects.filter(course__slug="mail-handling").exclude(
        status=EnrolmentStatus.COMPLETED
    )
    assert set(open_ones.values_list("user__username", flat=True)) == {"bob", "dan", "erin"}


@pytest.mark.django_db(transaction=True)
def test_renewal_opens_before_expiry_with_an_email_and_expiry_reminds_once(
    smtp_server, office, frozen_clock
) -> None:
    alice = office["alice"]
    assignments.create_assignment(
        MANAGER, assignments.AssignmentSpec("mail-handling", role="clerk")
    )
    run_pending()
    _pass(alice, "mail-handling")
    certificate = alice.certificates.get()
    renew_at = certificate.expires_at - timedelta(days=certificate.course.renew_within_days)

    frozen_clock.current = renew_at - SECOND
    run_pending()
    assert smtp_server.to("alice@example.org") == []
    assert not Enrolment.objects.filter(user=alice, reason__startswith="renewal").exists()

    frozen_clock.current = renew_at
    run_pending()
    frozen_clock.advance(hours=3)
    run_pending()
    [renewal] = smtp_server.to("alice@example.org")
    assert renewal["Subject"].startswith("Renew your training: Mail handling for clerks")
    body = renewal.get_body(("plain",)).get_content()
    assert certificate.code in body and "/training/" in body
    enrolment = Enrolment.objects.get(user=alice, status=EnrolmentStatus.ASSIGNED)
    assert enrolment.due_at == certificate.expires_at

    frozen_clock.current = certificate.expires_at
    run_pending()
    frozen_clock.advance(days=5)
    run_pending()
    [_, expired] = smtp_server.to("alice@example.org")
    assert expired["Subject"] == "Your training has expired: Mail handling for clerks"
    assert "warned without it" in expired.get_body(("plain",)).get_content()
    actions = [e.action for e in ledger.entries_for("certificate", certificate.code)]
    assert actions == [
        "training.certificate.issued",
        "training.renewal.opened",
        "training.expiry.reminded",
    ]


@pytest.mark.django_db(transaction=True)
def test_renewing_in_time_stops_the_expiry_reminder(smtp_server, office, frozen_clock) -> None:
    alice = office["alice"]
    _pass(alice, "mail-handling")
    first = alice.certificates.get()
    frozen_clock.current = first.expires_at - timedelta(days=10)
    run_pending()  # renewal opened, email 1
    _pass(alice, "mail-handling")  # renewed in the open enrolment
    assert alice.certificates.count() == 2
    frozen_clock.current = first.expires_at + timedelta(days=1)
    run_pending()
    assert len(smtp_server.to("alice@example.org")) == 1
