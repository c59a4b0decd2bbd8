"""The compliance dashboard: who each course covers and where they stand (current, due soon,
expired, never completed) per site, department and course; its filters, chart and CSV file;
drill participation and test-parcel results per site; and who may see it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client

from mailwarden.core import clock
from mailwarden.core.errors import NotFound
from mailwarden.core.roles import Role
from mailwarden.directory.models import Department
from mailwarden.training import compliance_chart
from mailwarden.training.models import Participation, PlantedParcel
from mailwarden.training.queries import compliance as queries
from mailwarden.training.queries.compliance import Counts, Filters, Standing
from mailwarden.training.services import courses
from tests.factories import MANAGER, make_site
from tests.training.helpers_b import (
    assign,
    certify,
    fast_passwords,  # noqa: F401
    intake_course,
    person,
    screener_course,
)


@pytest.fixture
def town(db, frozen_clock):
    """Two sites; screeners in every standing of the screener course; a clerk at hq whose
    mail-handling enrolment falls due in five days; a clerk at the annex no rule covers."""
    hq, annex = make_site("hq"), make_site("annex")
    screening = screener_course(renew_within_days=30)
    handling = intake_course()
    assign(screening, role="screener")
    assign(handling, role="clerk", site=hq)
    now = frozen_clock.current
    sam = person("sam", Role.SCREENER, site="hq", department="Security")
    certify(screening, sam)
    sky = person("sky", Role.SCREENER, site="hq", department="Security")
    certify(screening, sky, issued=now - timedelta(days=355), days=365)
    ed = person("ed", Role.SCREENER, site="annex", department="Security")
    certify(screening, ed, issued=now - timedelta(days=400), days=365)
    person("nat", Role.SCREENER, site="annex")
    cleo = person("cleo", Role.CLERK, site="hq", department="Mailroom")
    courses.enrol(MANAGER, handling.slug, cleo.pk, reason="new starter", due_days=5)
    person("carl", Role.CLERK, site="annex", department="Mailroom")
    person("mona", Role.SECURITY_MANAGER, site="hq")
    person("audrey", Role.AUDITOR)
    return hq, annex


def standing_of(rows) -> dict[tuple[str, str], str]:
    return {(r.person.username, r.course.slug): r.standing.value for r in rows}


def test_everyone_covered_stands_somewhere_and_nobody_else_is_listed(town):
    assert standing_of(queries.standings(Filters())) == {
        ("sam", "site-screener-cert"): "current",
        ("sky", "site-screener-cert"): "due_soon",  # expires within the 30-day renewal window
        ("ed", "site-screener-cert"): "expired",
        ("nat", "site-screener-cert"): "never",
        ("cleo", "site-mail-handling"): "due_soon",  # never completed, enrolment due in 5 days
    }
    # the worst first
    assert [r.standing for r in queries.standings(Filters())][:2] == ["expired", "never"]


def test_counts_per_site_department_and_course(town):
    board = queries.board(Filters())
    assert (board.totals.current, board.totals.due_soon) == (1, 2)
    assert (board.totals.expired, board.totals.never, board.totals.total) == (1, 1, 5)
    groups = {(g.site, g.department, g.course.slug): g.counts for g in board.groups}
    assert groups == {
        ("Site hq", "Security", "site-screener-cert"): Counts(current=1, due_soon=1),
        ("Site annex", "Security", "site-screener-cert"): Counts(expired=1),
        ("Site annex", "No department", "site-screener-cert"): Counts(never=1),
        ("Site hq", "Mailroom", "site-mail-handling"): Counts(due_soon=1),
    }
    assert groups[("Site hq", "Security", "site-screener-cert")].compliant_percent == 100.0
    assert dict(board.by_place)["Site annex · Security"] == Counts(expired=1)


def test_filters_narrow_the_people_and_unknown_ones_are_named(town):
    security = Department.objects.get(name="Security").pk
    assert {r.person.username for r in queries.standings(Filters(site="annex"))} == {"ed", "nat"}
    assert {r.person.username for r in queries.standings(Filters(department=security))} == {
        "sam",
        "sky",
        "ed",
    }
    assert [r.person.username for r in queries.standings(Filters(course="site-mail-handling"))] == [
        "cleo"
    ]
    expired = queries.board(Filters(standing="expired"))
    assert [r.person.username for r in expired.people] == ["ed"]
    assert expired.totals.total == 5  # the counts stay whole; only the list is narrowed
    for bad, field in (
        (Filters(site="nowhere"), "site"),
        (Filters(department=99999), "department"),
        (Filters(course="no-such-course"), "course"),
        (Filters(standing="lapsed"), "standing"),
    ):
        with pytest.raises(NotFound) as refused:
            queries.standings(bad)
        assert refused.value.field == field


def test_time_moves_people_from_current_to_due_soon_to_expired(town, frozen_clock):
    def sam_now() -> str:
        return standing_of(queries.standings(Filters()))[("sam", "site-screener-cert")]

    assert sam_now() == "current"
    frozen_clock.advance(days=340)
    assert sam_now() == "due_soon"
    frozen_clock.advance(days=30)
    assert sam_now() == "expired"


def test_an_empty_mailroom_has_no_shares_to_divide(db, frozen_clock):
    board = queries.board(Filters())
    assert board.totals.total == 0
    assert board.totals.compliant_percent == 0.0
    assert board.totals.percent(Standing.CURRENT) == 0.0
    chart = compliance_chart.stacked([("Nobody", Counts())])
    assert chart.bars[0].segments == ()


def test_the_chart_splits_each_bar_by_share(town):
    chart = compliance_chart.stacked(queries.board(Filters()).by_place)
    bars = {b.label: b for b in chart.bars}
    hq = bars["Site hq · Security"]
    assert [(s.standing.value, s.count) for s in hq.segments] == [("current", 1), ("due_soon", 1)]
    assert hq.segments[0].width == pytest.approx(chart.bar_width / 2, abs=0.01)
    assert hq.segments[1].x == pytest.approx(chart.label_width + chart.bar_width / 2, abs=0.01)
    assert "1 current, 1 due soon" in hq.description


def make_parcel(site, barcode: str, *, scored: bool = False, passed: bool | None = None):
    return PlantedParcel.objects.create(
        barcode=barcode,
        site=site,
        indicators=["no-return-address"],
        expected_tier="elevated",
        registered_by="user:mona",
        registered_at=clock.now(),
        status="scored" if scored else "registered",
        scored_at=clock.now() if scored else None,
        passed=passed,
    )


def test_test_parcels_and_drills_per_site(town):
    hq, annex = town
    make_parcel(hq, "1ZTEST0001", scored=True, passed=True)
    make_parcel(hq, "1ZTEST0002", scored=True, passed=False)
    make_parcel(hq, "1ZTEST0003")
    make_parcel(annex, "1ZTEST0004")
    parcels = {p.site: p for p in queries.parcels_by_site()}
    assert (parcels["Site hq"].registered, parcels["Site hq"].scored) == (3, 2)
    assert parcels["Site hq"].passed_percent == 50.0
    assert parcels["Site annex"].passed_percent is None  # none scored: no share, no error

    sam = person("sam", Role.SCREENER)
    Participation.objects.create(
        ref="INC-00001", title="Drill", site=hq, user=sam, occurred_at=clock.now()
    )
    Participation.objects.create(
        ref="INC-00001",
        title="Drill",
        site=hq,
        user=person("sky", Role.SCREENER),
        occurred_at=clock.now(),
    )
    Participation.objects.create(
        ref="INC-00000",
        title="Last year's drill",
        site=hq,
        user=sam,
        occurred_at=clock.now() - timedelta(days=400),
    )
    [drills] = queries.drills_by_site()
    assert (drills.drills, drills.people, drills.entries) == (1, 2, 2)


# ----------------------------------------------------------------------------- the page


def signed_in(username: str) -> Client:
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_page_shows_counts_chart_people_drills_and_parcels(town):
    hq, _annex = town
    make_parcel(hq, "1ZTEST0001", scored=True, passed=True)
    response = signed_in("mona").get("/training/compliance/")
    assert response.status_code == 200
    body = unescape(response.content.decode())
    assert 'data-total="expired">1<' in body
    assert 'data-total="due_soon">2<' in body
    assert '<svg class="compliance-chart"' in body
    assert 'data-bar="Site hq · Security"' in body
    assert 'data-segment="current" data-count="1"' in body
    assert 'data-person="ed" data-standing="expired"' in body
    assert 'data-parcels="Site hq"' in body and "1 (100 %)" in body
    assert "No drill has counted yet." in body


def test_the_page_filters_and_names_a_bad_filter(town):
    mona = signed_in("mona")
    body = mona.get("/training/compliance/", {"site": "annex"}).content.decode()
    assert 'data-person="ed"' in body and 'data-person="sam"' not in body
    assert "export.csv?site=annex" in body
    bad = mona.get("/training/compliance/", {"site": "nowhere"})
    assert bad.status_code == 400
    assert "Check the filters: site: no site" in unescape(bad.content.decode())
    worse = mona.get("/training/compliance/", {"department": "x"})
    assert worse.status_code == 400
    assert "department" in worse.content.decode()


def test_the_csv_file_has_everyone_with_their_standing(town):
    response = signed_in("audrey").get(
        "/training/compliance/export.csv", {"course": "site-screener-cert"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "training-compliance-20260302.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(r["username"], r["standing"]) for r in rows} == {
        ("sam", "current"),
        ("sky", "due_soon"),
        ("ed", "expired"),
        ("nat", "never"),
    }
    ed = next(r for r in rows if r["username"] == "ed")
    assert ed["certificate_expires_at"] == "2026-01-26T09:00:00+00:00"
    assert ed["site"] == "Site annex" and ed["department"] == "Security"
    refused = signed_in("audrey").get("/training/compliance/export.csv", {"course": "nope"})
    assert refused.status_code == 404


@pytest.mark.parametrize(
    "role", [Role.CLERK, Role.SCREENER, Role.SECURITY_OPERATOR, Role.RECIPIENT]
)
def test_other_roles_may_not_see_compliance(town, role):
    person(f"someone-{role.value}", role)
    client = signed_in(f"someone-{role.value}")
    assert client.get("/training/compliance/").status_code == 403
    assert client.get("/training/compliance/export.csv").status_code == 403


def test_signed_out_people_are_sent_to_sign_in(town):
    response = Client().get("/training/compliance/")
    assert response.status_code == 302
    assert "login" in response["Location"]
