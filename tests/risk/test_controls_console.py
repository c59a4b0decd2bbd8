"""The controls pages: the list shows claimed status, evidence and the flag; a manager records,
changes and measures controls there, with refusals next to their fields; an auditor reads only;
a clerk is refused."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.test import Client

from mailwarden.access.models import AlarmKind
from mailwarden.core.roles import Role
from mailwarden.risk.models import Control
from mailwarden.risk.services import controls
from tests.factories import MANAGER, make_site
from tests.risk import evidence_data as made
from tests.training.helpers_b import fast_passwords, person  # noqa: F401

pytestmark = pytest.mark.django_db

LIST = "/risk/controls/"


@pytest.fixture
def hq(frozen_clock):
    site = make_site("hq")
    made.door(site)
    return site


def signed_in(username: str, role: Role) -> Client:
    client = Client()
    client.force_login(person(username, role))
    return client


@pytest.fixture
def manager(hq) -> Client:
    return signed_in("mona", Role.SECURITY_MANAGER)


@pytest.fixture
def flagged(hq, frozen_clock) -> Control:
    now = frozen_clock.current
    made.alarm(hq, AlarmKind.FORCED_OPEN, now - timedelta(days=1), hq.doors.get())
    control = controls.record_control(
        MANAGER,
        site="hq",
        title="Quarantine door stays shut",
        link_kind="access.door",
        link_ref="quarantine-door",
        measure="door_alarms",
        expectation={"max": 0},
    )
    return controls.evaluate(MANAGER, control.pk, now - timedelta(days=30), now)


def text(response) -> str:
    return unescape(response.content.decode())


def test_the_list_shows_the_flag_the_evidence_and_the_link(manager, flagged):
    controls.record_control(MANAGER, site="hq", title="Visitor book kept")
    page = manager.get(LIST)
    assert page.status_code == 200
    body = text(page)
    assert "1 control contradicted by its evidence" in body
    assert 'data-flag="contradicted"' in body and 'data-flag="unmeasured"' in body
    assert "Door Quarantine Door" in body and "/access/log/?site=hq&door=" in body
    assert "1 forced-open and 0 held-open alarms" in body
    only = text(manager.get(LIST, {"flag": "contradicted"}))
    assert "Quarantine door stays shut" in only and "Visitor book kept" not in only


def test_the_control_page_says_what_contradicts_the_claim(manager, flagged):
    body = text(manager.get(f"{LIST}{flagged.pk}/"))
    assert "Contradicted." in body and "data-evidence-summary" in body
    assert "Forced open" in body  # the detail table
    assert manager.get(f"{LIST}9999/").status_code == 404


def test_a_manager_records_a_control_and_refusals_land_on_their_fields(manager):
    refused = manager.post(
        LIST,
        {
            "site": "hq",
            "title": "Cage door",
            "claimed": "implemented",
            "link_kind": "access.door",
            "link_ref": "no-such-door",
            "measure": "door_alarms",
        },
    )
    assert refused.status_code == 400
    assert 'data-field-error="link_ref"' in text(refused)
    bounds = manager.post(
        LIST,
        {
            "site": "hq",
            "title": "Cage door",
            "claimed": "implemented",
            "measure": "door_alarms",
            "expectation_min": "5",
            "expectation_max": "1",
        },
    )
    assert 'data-field-error="expectation_min"' in text(bounds)
    made_one = manager.post(
        LIST,
        {
            "site": "hq",
            "title": "Cage door",
            "claimed": "implemented",
            "link_kind": "access.door",
            "link_ref": "quarantine-door",
            "measure": "door_alarms",
        },
    )
    control = Control.objects.get(title="Cage door")
    assert made_one.status_code == 302 and made_one["Location"] == f"{LIST}{control.pk}/"
    assert control.expectation == {"max": 2.0} and control.created_by == "user:mona"


def test_a_manager_measures_and_changes_a_control(manager, hq, flagged):
    measured = manager.post(
        f"{LIST}{flagged.pk}/evaluate/", {"start": "2026-01-01", "end": "2026-01-31"}
    )
    assert measured.status_code == 302
    flagged.refresh_from_db()
    assert flagged.contradicted is False  # no alarm in January
    assert flagged.last_evidence["start"].startswith("2026-01-01T00:00:00")
    backwards = manager.post(
        f"{LIST}{flagged.pk}/evaluate/", {"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert backwards.status_code == 400 and 'data-field-error="end"' in text(backwards)
    changed = manager.post(
        f"{LIST}{flagged.pk}/edit/",
        {
            "title": "Cage door shut",
            "claimed": "planned",
            "measure": "door_alarms",
            "expectation_max": "0",
            "link_kind": "",
            "link_ref": "",
        },
    )
    assert changed.status_code == 302
    flagged.refresh_from_db()
    assert (flagged.title, flagged.claimed, flagged.link_kind) == ("Cage door shut", "planned", "")


def test_a_manager_measures_a_whole_site(manager, flagged):
    response = manager.post(
        f"{LIST}evaluate/", {"site": "hq", "start": "2026-02-01", "end": "2026-03-02"}, follow=True
    )
    assert "1 controls at Site hq measured; 1 contradicted" in text(response)


def test_an_auditor_reads_but_gets_no_forms_and_a_clerk_is_refused(hq, flagged):
    auditor = signed_in("audrey", Role.AUDITOR)
    page = text(auditor.get(LIST))
    assert "Quarantine door stays shut" in page and "Record a control" not in page
    assert "Change the control" not in text(auditor.get(f"{LIST}{flagged.pk}/"))
    assert auditor.post(LIST, {"site": "hq", "title": "x"}).status_code == 403
    assert auditor.post(f"{LIST}{flagged.pk}/evaluate/", {}).status_code == 403
    clerk = signed_in("carl", Role.CLERK)
    assert clerk.get(LIST).status_code == 403
