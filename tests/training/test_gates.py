"""Certificates gate duties in the services: a screener a screening course covers cannot record
a decision without its current certificate (and the refusal changes nothing); a clerk an intake
course covers is warned at intake, and the intake still happens; nobody else is touched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden
from mailwarden.core.roles import Role
from mailwarden.custody import services as custody
from mailwarden.directory.models import Department
from mailwarden.screening import services as screening
from mailwarden.screening.services import Checklist
from mailwarden.training.services import certification, courses
from tests.factories import MANAGER as TRAINING_MANAGER
from tests.factories import intake, make_recipient, make_site
from tests.screening.conftest import snapshot
from tests.training.helpers_b import (
    assign,
    certify,
    fast_passwords,  # noqa: F401
    intake_course,
    make_course,
    person,
    screener_course,
)


@pytest.fixture
def site(db):
    return make_site("hq")


@pytest.fixture
def item(site):
    return intake(site, make_recipient(department="Finance"))


def screen(user, uid: str):
    return screening.screen_item(Actor.for_user(user), uid, Checklist(indicators=[]))


def test_a_screener_no_course_covers_screens_as_before(item, frozen_clock):
    course = screener_course()
    assign(course, role="clerk")  # a rule for someone else
    sam = person("sam", Role.SCREENER)
    assert screen(sam, item.uid).tier == "low"


def test_a_covered_screener_who_never_held_it_is_refused_and_nothing_changes(item, frozen_clock):
    assign(screener_course(), role="screener")
    sam = person("sam", Role.SCREENER)
    before = snapshot()
    with pytest.raises(Forbidden) as refused:
        screen(sam, item.uid)
    assert "you have never held the Screener certification certificate" in str(refused.value)
    assert refused.value.status == 403
    assert snapshot() == before


def test_an_expired_certificate_is_named_with_its_date(item, frozen_clock):
    course = screener_course()
    assign(course, role="screener")
    sam = person("sam", Role.SCREENER)
    certify(course, sam, issued=frozen_clock.current - timedelta(days=366), days=365)
    with pytest.raises(Forbidden) as refused:
        screen(sam, item.uid)
    assert "your Screener certification certificate expired on 1 March 2026" in str(refused.value)


def test_a_revoked_certificate_says_so(item, frozen_clock):
    course = screener_course()
    assign(course, role="screener")
    sam = person("sam", Role.SCREENER)
    certify(course, sam, revoked=frozen_clock.current, reason="failed a covert test")
    with pytest.raises(Forbidden, match="revoked on 2 March 2026 \\(failed a covert test\\)"):
        screen(sam, item.uid)


def test_a_current_certificate_lets_them_screen_until_it_expires(site, frozen_clock):
    course = screener_course()
    assign(course, role="screener")
    sam = person("sam", Role.SCREENER)
    certify(course, sam, days=30)
    first = intake(site, make_recipient())
    assert screen(sam, first.uid).tier == "low"
    frozen_clock.advance(days=30)
    second = intake(site, make_recipient())
    with pytest.raises(Forbidden, match="expired on 1 April 2026"):
        screen(sam, second.uid)


def test_rules_by_site_and_department_cover_only_the_people_there(item, frozen_clock):
    course = screener_course()
    annex = make_site("annex")
    assign(course, role="screener", site=annex)
    at_hq = person("sam", Role.SCREENER, site="hq")
    at_annex = person("ann", Role.SCREENER, site="annex")
    assert screen(at_hq, item.uid).tier == "low"
    other = intake(make_site("third"), make_recipient())
    with pytest.raises(Forbidden):
        screen(at_annex, other.uid)

    by_department = make_course("x-ray-basics", "screening", title="X-ray basics")
    make_recipient(department="Security")  # creates the department
    assign(by_department, department=Department.objects.get(name="Security"))
    guarded = person("gus", Role.SCREENER, department="Security")
    third = intake(make_site("fourth"), make_recipient())
    with pytest.raises(Forbidden, match="X-ray basics"):
        screen(guarded, third.uid)


def test_withdrawn_rules_and_courses_cover_nobody(item, frozen_clock):
    assign(screener_course(), role="screener", active=False)
    withdrawn = make_course("old-screening", "screening", active=False)
    assign(withdrawn, role="screener")
    sam = person("sam", Role.SCREENER)
    assert screen(sam, item.uid).tier == "low"


def test_an_open_enrolment_covers_without_a_rule(item, frozen_clock):
    screener_course()
    sam = person("sam", Role.SCREENER)
    courses.enrol(TRAINING_MANAGER, "site-screener-cert", sam.pk, reason="new starter")
    with pytest.raises(Forbidden, match="never held"):
        screen(sam, item.uid)


def test_every_lacking_course_is_named(item, frozen_clock):
    assign(screener_course(), role="screener")
    assign(make_course("x-ray-basics", "screening", title="X-ray basics"), role="screener")
    sam = person("sam", Role.SCREENER)
    with pytest.raises(Forbidden) as refused:
        screen(sam, item.uid)
    assert "Screener certification" in str(refused.value)
    assert "X-ray basics" in str(refused.value)


def test_devices_and_jobs_hold_no_certificate_and_are_not_gated(frozen_clock, db):
    assign(screener_course(), role="screener")
    certification.refuse_uncertified_screener(Actor.device("dock-scanner", Role.SCREENER))
    certification.refuse_uncertified_screener(Actor.job("nightly"))


# ----------------------------------------------------------------------------- intake


def test_a_covered_clerk_is_warned_and_the_item_is_still_logged(site, frozen_clock):
    course = intake_course()
    assign(course, role="clerk")
    cleo = person("cleo", Role.CLERK)
    item = custody.intake(
        Actor.for_user(cleo),
        custody.IntakeRequest(site="hq", recipient_id=make_recipient().pk, kind="parcel"),
    )
    assert item.state == "awaiting_screening"
    [warning] = item.intake_warnings
    assert warning.startswith("You have never held the Safe mail handling certificate")
    assert "the item is logged" in warning
    entry = next(
        e for e in ledger.entries_for("mailitem", item.uid) if e.action == "custody.item.received"
    )
    assert ledger.entry_data(entry)["warnings"] == [warning]


def test_an_expired_intake_certificate_warns_with_its_date_and_a_current_one_does_not(
    site, frozen_clock
):
    course = intake_course()
    assign(course, role="clerk")
    cleo = person("cleo", Role.CLERK)
    certify(course, cleo, issued=frozen_clock.current - timedelta(days=400), days=365)
    [warning] = certification.intake_warnings(Actor.for_user(cleo))
    assert warning.startswith("Your Safe mail handling certificate expired on 26 January 2026")
    certify(course, cleo)
    assert certification.intake_warnings(Actor.for_user(cleo)) == []
    item = custody.intake(
        Actor.for_user(cleo),
        custody.IntakeRequest(site="hq", recipient_id=make_recipient().pk, kind="parcel"),
    )
    assert item.intake_warnings == ()
    entry = next(
        e for e in ledger.entries_for("mailitem", item.uid) if e.action == "custody.item.received"
    )
    assert "warnings" not in ledger.entry_data(entry)


def test_the_screening_course_does_not_warn_at_intake(site, frozen_clock):
    assign(screener_course(), role="clerk")
    assert certification.intake_warnings(Actor.for_user(person("cleo", Role.CLERK))) == []
