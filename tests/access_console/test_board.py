"""The door board page, lockdown with its typed confirmation, and alarms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mailwarden.access.models import AccessAlarm, SiteRules
from mailwarden.core.roles import Role

from .conftest import badge, event, ingest, state


def door_card(body: str, door_pk: int) -> str:
    found = re.search(rf'<article id="door-{door_pk}".*?</article>', body, re.S)
    assert found, f"door {door_pk} is not on the board"
    return found.group(0)


def test_the_board_shows_each_door_as_the_controllers_report_it(as_role, mailroom, frozen_clock):
    m = mailroom
    now = frozen_clock()
    ingest(
        m,
        event(
            "reader.status", now - timedelta(seconds=30), reader_id="q-in", online=True, secure=True
        ),
        event(
            "reader.status",
            now - timedelta(seconds=30),
            reader_id="q-out",
            online=False,
            secure=False,
        ),
        badge(
            m, now - timedelta(seconds=20), m.alice, m.alice_card, reader="q-in", door="quarantine"
        ),
        event("door.event", now - timedelta(seconds=19), door_id="quarantine", kind="unlocked"),
        event("door.event", now - timedelta(seconds=18), door_id="quarantine", kind="opened"),
        badge(
            m,
            now - timedelta(seconds=10),
            m.bob,
            m.bob_card,
            reader="dock-in",
            door="dock",
            granted=False,
            reason="outside_schedule",
        ),
    )
    body = as_role(Role.AUDITOR).get("/access/").content.decode()
    quarantine = door_card(body, m.quarantine.pk)
    assert 'data-mode="unlocked"' in quarantine and 'data-contact="open"' in quarantine
    assert "Access granted" in quarantine and "Alice" in quarantine
    assert re.search(r'data-reader="q-in" data-online="yes"', quarantine)
    assert re.search(r'data-reader="q-out" data-online="no"', quarantine)
    dock = door_card(body, m.dock.pk)
    assert 'data-mode="locked"' in dock and 'data-contact="unknown"' in dock
    assert "Refused: outside its schedule" in dock and "Bob Baker" in dock
    # edge-2 never spoke: it is offline and its reader's state is not known.
    lobby = door_card(body, m.lobby.pk)
    assert 'data-reader="lobby-in" data-online="unknown"' in lobby
    assert 'data-controller="edge-2" data-online="no"' in body
    assert 'data-controller="edge-1" data-online="yes"' in body
    # The page subscribes to the stream for its site; an auditor gets no lockdown button.
    assert 'data-board-stream="/access/board/stream?site=hq"' in body
    assert "lockdown-dialog" not in body


class TestLockdown:
    def test_the_site_code_must_be_typed_to_lock_down(self, as_role, mailroom):
        operator = as_role(Role.SECURITY_OPERATOR)
        board = operator.get("/access/").content.decode()
        assert 'data-open-dialog="lockdown-dialog"' in board
        assert 'data-confirm-code="hq"' in board
        before = state()
        response = operator.post(
            "/access/lockdown/", {"site": "hq", "confirm": "HQ!", "reason": "x"}
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert 'data-field-error="confirm">type hq exactly' in body
        assert state() == before

    def test_lockdown_shows_on_the_board_and_is_lifted(self, as_role, mailroom):
        m = mailroom
        operator = as_role(Role.SECURITY_OPERATOR)
        response = operator.post(
            "/access/lockdown/", {"site": "hq", "confirm": " hq ", "reason": "suspicious parcel"}
        )
        assert response.status_code == 302 and response["Location"] == "/access/?site=hq"
        rules = SiteRules.objects.get(site=m.site)
        assert rules.lockdown and rules.lockdown_reason == "suspicious parcel"
        board = operator.get(response["Location"]).content.decode()
        assert "is in lockdown" in board  # the message after the redirect
        assert 'data-lockdown="on"' in board and "suspicious parcel" in board
        for door in (m.quarantine, m.dock, m.lobby):
            assert 'data-mode="lockdown"' in door_card(board, door.pk)
        assert 'data-open-dialog="lift-dialog"' in board
        again = operator.post("/access/lockdown/", {"site": "hq", "confirm": "hq"})
        assert again.status_code == 400 and "in lockdown already" in again.content.decode()
        lifted = operator.post("/access/lockdown/lift/", {"site": "hq", "reason": "all clear"})
        assert lifted.status_code == 302
        assert not SiteRules.objects.get(site=m.site).lockdown
        twice = operator.post("/access/lockdown/lift/", {"site": "hq"})
        assert twice.status_code == 400 and "not in lockdown" in twice.content.decode()

    def test_an_unknown_site_is_not_found(self, as_role, mailroom):
        response = as_role(Role.SECURITY_MANAGER).post(
            "/access/lockdown/", {"site": "nope", "confirm": "nope"}
        )
        assert response.status_code == 404


def test_an_operator_acknowledges_an_alarm_from_the_board(as_role, mailroom, frozen_clock):
    ingest(mailroom, event("door.event", frozen_clock(), door_id="dock", kind="held_open"))
    operator = as_role(Role.SECURITY_OPERATOR)
    board = operator.get("/access/").content.decode()
    assert 'data-alarm-count="1"' in board and "Door held open" in board
    assert "1 alarm" in door_card(board, mailroom.dock.pk)
    alarm = AccessAlarm.objects.get()
    response = operator.post(f"/access/alarms/{alarm.pk}/acknowledge/", {"note": "checked"})
    assert response.status_code == 302
    alarm.refresh_from_db()
    assert (alarm.acknowledged_by, alarm.note) == ("user:security_operator", "checked")
    # Still going on (the door has not closed), so still open, but no longer awaiting anyone.
    board = operator.get("/access/").content.decode()
    assert "acknowledged by" in board
    assert f'action="/access/alarms/{alarm.pk}/acknowledge/"' not in board


@pytest.mark.parametrize("role", [Role.SECURITY_MANAGER, Role.AUDITOR])
def test_a_board_with_no_sites_says_so(as_role, db, role):
    body = as_role(role).get("/access/").content.decode()
    assert "No sites yet" in body
