"""Every access page and action is shown to, or refused for, each role by the services' tuples."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from mailwarden.access.services import (
    HANDLE_ALARMS,
    LOCKDOWN,
    MANAGE_ACCESS,
    REVOKE_CREDENTIALS,
    VIEW_ACCESS,
)
from mailwarden.core.roles import Role

from .conftest import state


def _allowed(role: Role, roles: tuple[Role, ...]) -> bool:
    return role == Role.ADMIN or role in roles


def pages(m) -> list[tuple[str, tuple[Role, ...]]]:
    return [
        ("/access/", VIEW_ACCESS),
        ("/access/log/", VIEW_ACCESS),
        ("/access/report/", VIEW_ACCESS),
        ("/access/report.csv", VIEW_ACCESS),
        ("/access/cardholders/", VIEW_ACCESS),
        (f"/access/cardholders/{m.alice.pk}/", VIEW_ACCESS),
        ("/access/credentials/", VIEW_ACCESS),
        (f"/access/credentials/{m.alice_card.pk}/", VIEW_ACCESS),
        ("/access/levels/", VIEW_ACCESS),
        ("/access/schedules/", VIEW_ACCESS),
        ("/access/cardholders/new/", MANAGE_ACCESS),
        (f"/access/cardholders/{m.alice.pk}/edit/", MANAGE_ACCESS),
        ("/access/levels/new/?site=hq", MANAGE_ACCESS),
        (f"/access/levels/{m.staff.pk}/edit/", MANAGE_ACCESS),
        ("/access/schedules/new/?site=hq", MANAGE_ACCESS),
        (f"/access/schedules/{m.office.pk}/edit/", MANAGE_ACCESS),
        (f"/access/credentials/{m.bob_card.pk}/revoke/", REVOKE_CREDENTIALS),
        ("/access/lockdown/?site=hq", LOCKDOWN),
        ("/access/lockdown/lift/?site=hq", LOCKDOWN),
    ]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_page_is_shown_or_refused_by_role(as_role, mailroom, role):
    client = as_role(role)
    refused = 0
    for url, roles in pages(mailroom):
        response = client.get(url)
        if _allowed(role, roles):
            assert response.status_code == 200, (url, role, response.status_code)
        else:
            refused += 1
            assert response.status_code == 403, (url, role, response.status_code)
            body = response.content.decode()
            assert "This page is not available to you" in body
            assert "needs one of these roles" in body
    # The security manager holds every access role; everyone else meets at least one refusal.
    assert (refused == 0) == (role in (Role.ADMIN, Role.SECURITY_MANAGER))


def actions(m) -> list[tuple[str, dict[str, str], tuple[Role, ...]]]:
    """Valid requests: each would change something if the role allowed it."""
    return [
        ("/access/cardholders/new/", {"name": "Mallory", "kind": "staff"}, MANAGE_ACCESS),
        (
            f"/access/cardholders/{m.bob.pk}/edit/",
            {"name": "Mallory", "kind": "visitor"},
            MANAGE_ACCESS,
        ),
        (
            f"/access/cardholders/{m.bob.pk}/issue/",
            {"kind": "card", "format": "H10301", "facility": "10", "card": "4040"},
            MANAGE_ACCESS,
        ),
        (
            f"/access/credentials/{m.bob_card.pk}/levels/",
            {"levels": str(m.screeners.pk)},
            MANAGE_ACCESS,
        ),
        (f"/access/credentials/{m.bob_card.pk}/revoke/", {"reason": "lost"}, REVOKE_CREDENTIALS),
        (
            "/access/levels/new/",
            {"site": "hq", "name": "night", "schedule": str(m.always.pk)},
            MANAGE_ACCESS,
        ),
        (
            f"/access/levels/{m.staff.pk}/edit/",
            {"schedule": str(m.always.pk), "doors": str(m.lobby.pk)},
            MANAGE_ACCESS,
        ),
        (
            "/access/schedules/new/",
            {
                "site": "hq",
                "name": "weekend",
                "w0_days": "sat",
                "w0_start": "09:00",
                "w0_end": "13:00",
            },
            MANAGE_ACCESS,
        ),
        (
            f"/access/schedules/{m.office.pk}/edit/",
            {"w0_days": "mon", "w0_start": "07:00", "w0_end": "19:00"},
            MANAGE_ACCESS,
        ),
        ("/access/schedules/holidays/", {"site": "hq", "date": "2026-12-25"}, MANAGE_ACCESS),
        ("/access/lockdown/", {"site": "hq", "confirm": "hq", "reason": "drill"}, LOCKDOWN),
    ]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_change_is_refused_to_roles_without_it_and_changes_nothing(as_role, mailroom, role):
    client = as_role(role)
    for url, data, roles in actions(mailroom):
        if _allowed(role, roles):
            continue
        before = state()
        response = client.post(url, data)
        assert response.status_code == 403, (url, role, response.status_code)
        assert state() == before, (url, role)


@pytest.mark.parametrize(
    "role", [r for r in Role if not _allowed(r, HANDLE_ALARMS)], ids=lambda r: r.value
)
def test_acknowledging_an_alarm_is_refused_without_the_role(as_role, mailroom, frozen_clock, role):
    from .conftest import event, ingest

    ingest(mailroom, event("door.event", frozen_clock(), door_id="dock", kind="forced_open"))
    from mailwarden.access.models import AccessAlarm

    alarm = AccessAlarm.objects.get()
    response = as_role(role).post(f"/access/alarms/{alarm.pk}/acknowledge/", {"note": "seen"})
    assert response.status_code == 403
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_board_stream_answers_only_those_who_may_see_the_board(person, mailroom, role):
    user = person(role)

    async def first_bytes() -> tuple[int, str, bytes]:
        client = AsyncClient()
        await client.aforce_login(user)
        response = await client.get("/access/board/stream?site=hq")
        if not response.streaming:
            return response.status_code, response["Content-Type"], response.content
        chunks = aiter(response.streaming_content)
        first = await anext(chunks)
        await chunks.aclose()
        return response.status_code, response["Content-Type"], first

    status, content_type, body = async_to_sync(first_bytes)()
    if _allowed(role, VIEW_ACCESS):
        assert (status, content_type) == (200, "text/event-stream")
        assert body.startswith(b"retry: ")
    else:
        assert status == 403
        assert b"needs one of these roles" in body


def test_a_signed_out_visitor_gets_no_stream_and_no_pages(mailroom):
    async def stream_status() -> int:
        return (await AsyncClient().get("/access/board/stream")).status_code

    assert async_to_sync(stream_status)() == 401
    response = Client().get("/access/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_navigation_offers_access_control_to_those_who_may_open_it(as_role, db, role):
    body = as_role(role).get("/settings/security/").content.decode()
    nav = re.search(r'<nav class="nav".*?</nav>', body, re.S)
    assert nav is not None
    assert ('href="/access/"' in nav.group(0)) == _allowed(role, VIEW_ACCESS)
