"""``POST /api/cap``: every example and hostile message of the OASIS test set, the site rule,
alarms on the console, idempotence, roles and the CAP feed's device token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.services import issue_token
from mailwarden.incidents import cap
from mailwarden.incidents.models import Alarm, AlarmSource, AlarmState, ReceivedAlert
from tests.api.conftest import assert_refused, token_for
from tests.factories import ADMIN, make_site

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "cap"
SENT = datetime(2026, 3, 2, 8, 55, tzinfo=UTC)


def post(secret: str | None, body: bytes, content_type: str = "application/cap+xml") -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return Client(enforce_csrf_checks=True).post(
        "/api/cap", body, content_type=content_type, headers=headers
    )


@pytest.fixture
def operator(db) -> str:
    return token_for(Role.SECURITY_OPERATOR)


@pytest.fixture
def sites(db) -> None:
    make_site("hq")
    make_site("annex")


def ours(identifier: str = "mw-1", **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "site_name": "Site hq",
        "kind": "evacuate",
        "headline": "Leave the building",
        "text": "Go to the car park.",
        "identifier": identifier,
        "sent": SENT,
        "exercise": False,
        "site_code": "hq",
    }
    args.update(kw)
    return cap.cap_for_site_message(**args)


def test_the_valid_example_is_kept_and_names_no_site(sites, operator, frozen_clock):
    response = post(operator, (DATA / "43b080713727.cap").read_bytes())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "no_site" and body["sites"] == [] and body["alarms"] == []
    assert body["outcome_text"] == "No site of ours named"
    assert body["identifier"] == "43b080713727" and body["sender"] == "hsas@dhs.gov"
    assert not Alarm.objects.exists()
    assert ReceivedAlert.objects.get().xml.startswith("<alert")
    assert LedgerEntry.objects.filter(action="incidents.cap.received").count() == 1


def test_the_xxe_example_is_refused_and_nothing_is_kept(sites, operator):
    response = post(operator, (DATA / "xee.cap").read_bytes())
    body = assert_refused(response, 400, "body")
    assert "DOCTYPE" in body["message"]
    assert "root:" not in response.content.decode()  # /etc/passwd's first line
    assert not ReceivedAlert.objects.exists() and not Alarm.objects.exists()


def test_a_file_entity_never_reaches_the_answer_or_the_database(sites, operator, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENTS")
    body = (
        ours()
        .decode()
        .split("?>", 1)[1]
        .replace("<headline>Leave the building</headline>", "<headline>&xxe;</headline>")
    )
    xml = f'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>{body}'.encode()
    response = post(operator, xml)
    assert_refused(response, 400, "body")
    assert b"TOP-SECRET" not in response.content
    assert not ReceivedAlert.objects.exists()


def test_the_invalid_example_is_refused_with_the_schema_reason(sites, operator):
    body = assert_refused(post(operator, (DATA / "invalid.cap").read_bytes()), 400, "body")
    assert body["message"].startswith("not valid CAP 1.2")
    assert "scope" in body["message"]


@pytest.mark.parametrize(
    "name", ["KAR0-0306112239-SW.cap", "earthquake.cap", "weather.cap", "no_optional_fields.cap"]
)
def test_cap_11_examples_are_refused_naming_the_version(sites, operator, name):
    body = assert_refused(post(operator, (DATA / name).read_bytes()), 400, "body")
    assert "CAP 1.1" in body["message"]


def test_a_message_over_the_limit_is_answered_413(sites, operator):
    assert_refused(post(operator, b" " * (cap.MAX_BYTES + 1)), 413, "body")


def test_an_alert_for_a_site_raises_one_alarm_once(sites, operator, frozen_clock):
    first = post(operator, ours())
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["outcome"] == "alarm" and body["sites"] == ["hq"] and not body["duplicate"]
    alarm = Alarm.objects.get()
    assert alarm.pk in body["alarms"]
    assert alarm.source == AlarmSource.CAP and alarm.site.code == "hq"
    assert alarm.title == "CAP: Leave the building" and alarm.severity == 3
    assert alarm.evidence[0]["url"] == f"/incidents/cap/{body['id']}/"
    # The same alert again (a feed retrying): answered 200 with the first receipt, no new alarm.
    again = post(operator, ours())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == body["id"]
    assert Alarm.objects.get().count == 1
    assert ReceivedAlert.objects.count() == 1


def test_an_area_description_names_a_site_by_name_or_code(sites, operator, frozen_clock):
    by_name = ours("a-1", site_code="", site_name="site ANNEX", site_address="2 Low Road")
    assert post(operator, by_name).json()["sites"] == ["annex"]
    by_code = ours("a-2", site_code="", site_name="hq")
    assert post(operator, by_code).json()["sites"] == ["hq"]
    elsewhere = ours("a-3", site_code="", site_name="Somewhere else")
    assert post(operator, elsewhere).json()["outcome"] == "no_site"


def test_an_exercise_alert_is_titled_exercise(sites, operator, frozen_clock):
    post(operator, ours(exercise=True))
    assert Alarm.objects.get().title.startswith("EXERCISE: CAP: EXERCISE: Leave")


def test_an_update_folds_into_the_alarm_and_a_cancel_ends_it(sites, operator, frozen_clock):
    post(operator, ours("mw-1"))
    update = ours("mw-2", kind="all_clear", references=[("mailwarden@localhost", "mw-1", SENT)])
    assert post(operator, update).json()["outcome"] == "alarm"
    alarm = Alarm.objects.get()
    assert alarm.count == 2
    cancel = update.replace(b"<identifier>mw-2<", b"<identifier>mw-3<").replace(
        b"<msgType>Update<", b"<msgType>Cancel<"
    )
    assert post(operator, cancel).json()["outcome"] == "cancelled"
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLEARED


def test_an_overlong_identifier_is_refused(sites, operator):
    body = assert_refused(post(operator, ours("x" * 201)), 400, "body")
    assert "identifier" in body["message"]


def test_test_messages_are_kept_without_an_alarm(sites, operator):
    xml = ours().replace(b"<status>Actual<", b"<status>Test<")
    assert post(operator, xml).json()["outcome"] == "not_actionable"
    assert not Alarm.objects.exists()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_only_managers_operators_and_feeds_may_send(sites, role):
    assert_refused(post(token_for(role), ours()), 403, None)
    assert not ReceivedAlert.objects.exists()


def test_no_token_is_answered_401(sites):
    assert_refused(post(None, ours()), 401, "Authorization")


def test_a_cap_feed_device_token_may_send_and_nothing_else(sites, frozen_clock):
    feed = issue_token(ADMIN, name="met feed", role="security_operator", device="cap-met").secret
    assert post(feed, ours()).status_code == 201
    headers = {"Authorization": f"Bearer {feed}"}
    refused = Client().get("/api/alarms", headers=headers)
    assert refused.status_code == 403


def test_received_alerts_are_listed_for_auditors(sites, operator, frozen_clock):
    post(operator, ours())
    post(operator, (DATA / "43b080713727.cap").read_bytes())
    auditor = {"Authorization": f"Bearer {token_for(Role.AUDITOR)}"}
    listed = Client().get("/api/cap", headers=auditor).json()
    assert {a["outcome"] for a in listed} == {"alarm", "no_site"}
    only = Client().get("/api/cap", {"outcome": "alarm"}, headers=auditor).json()
    assert [a["identifier"] for a in only] == ["mw-1"]
    one = Client().get(f"/api/cap/{only[0]['id']}", headers=auditor).json()
    assert one["sites"] == ["hq"]
    missing = Client().get("/api/cap/999999", headers=auditor)
    assert_refused(missing, 404, "alert_id")
