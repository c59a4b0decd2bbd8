"""The alarm console page, its bulk acknowledgement form and its live stream, through the
Django test client."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents.models import Alarm
from tests.factories import ADMIN
from tests.incidents.conftest import deliver, forced, threat

pytestmark = pytest.mark.django_db


def signed_in(role: Role) -> Client:
    user = User.objects.filter(username=role.value).first() or create_user(
        ADMIN,
        role.value,
        password="Correct-Horse-9-Battery",
        roles=[role.value],
        check_password=False,
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alarms(site, frozen_clock) -> list[Alarm]:
    deliver(forced(1), forced(2), threat())
    return list(Alarm.objects.order_by("id"))


def test_the_console_lists_open_alarms_with_their_evidence(alarms):
    page = signed_in(Role.SECURITY_OPERATOR).get("/incidents/alarms/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Door forced open: LOBBY" in html and "Do not open: MW-ABCDEFGH" in html
    assert 'href="/items/MW-ABCDEFGH/"' in html and 'href="/access/?site=hq"' in html
    assert 'data-critical="' in html and "Acknowledge selected" in html
    assert 'src="/static/incidents/alarms.js"' in html
    assert "<script>" not in html.split("</head>")[1]  # no inline script: CSP forbids them


def test_auditors_read_without_the_acknowledge_form(alarms):
    html = signed_in(Role.AUDITOR).get("/incidents/alarms/").content.decode()
    assert "Door forced open: LOBBY" in html and "Acknowledge selected" not in html


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER])
def test_other_staff_are_refused(alarms, role):
    assert signed_in(role).get("/incidents/alarms/").status_code == 403


def test_the_menu_shows_the_console_to_operators(alarms):
    html = signed_in(Role.SECURITY_OPERATOR).get("/incidents/alarms/").content.decode()
    assert 'href="/incidents/alarms/"' in html and "Alarm console" in html


def test_filters(alarms):
    html = signed_in(Role.AUDITOR).get("/incidents/alarms/?source=screening").content.decode()
    assert "Do not open" in html and "Door forced open" not in html


def test_bulk_acknowledge_with_a_note(alarms):
    client = signed_in(Role.SECURITY_OPERATOR)
    response = client.post(
        "/incidents/alarms/acknowledge/",
        {"alarm_ids": [a.pk for a in alarms], "note": "all checked"},
        follow=True,
    )
    assert "2 alarms acknowledged." in response.content.decode()
    assert set(Alarm.objects.values_list("note", flat=True)) == {"all checked"}


def test_acknowledging_nothing_is_refused_with_a_reason(alarms):
    client = signed_in(Role.SECURITY_OPERATOR)
    response = client.post("/incidents/alarms/acknowledge/", {"note": "x"}, follow=True)
    assert "Nothing was acknowledged: tick an alarm first." in response.content.decode()
    response = client.post(
        "/incidents/alarms/acknowledge/",
        {"alarm_ids": [alarms[0].pk], "note": "x" * 501},
        follow=True,
    )
    assert "Nothing was acknowledged" in response.content.decode()
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


def test_auditors_cannot_acknowledge(alarms):
    response = signed_in(Role.AUDITOR).post(
        "/incidents/alarms/acknowledge/", {"alarm_ids": [alarms[0].pk]}
    )
    assert response.status_code == 403
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


def test_the_stream_sends_the_list_and_the_critical_alarms(alarms):
    # Without ASGI the stream sends the state once and tells the browser when to ask again.
    response = signed_in(Role.AUDITOR).get("/incidents/alarms/stream?source=access")
    assert response["Content-Type"] == "text/event-stream"

    async def read() -> list[bytes]:
        return [chunk async for chunk in response.streaming_content]

    chunks = b"".join(async_to_sync(read)()).decode().split("\n\n")
    assert chunks[0] == "retry: 10000"
    event, data = chunks[1].split("\n")
    assert event == "event: alarms"
    payload = json.loads(data.removeprefix("data: "))
    assert payload["count"] == 1 and payload["critical"] == str(alarms[0].pk)
    assert "Door forced open: LOBBY" in payload["html"] and "Do not open" not in payload["html"]


def test_the_stream_refuses_other_roles(alarms):
    assert signed_in(Role.CLERK).get("/incidents/alarms/stream").status_code == 403
    assert Client().get("/incidents/alarms/stream").status_code == 401
