"""Handling a video event: acknowledged or a false positive, once, by an operator or manager,
never by a device token; the ledger and VideoEventHandled record it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.surveillance.models import EventState
from mailwarden.surveillance.services import events
from tests.access.conftest import AUDITOR, CLERK, MANAGER, OPERATOR
from tests.surveillance.conftest import DOCK_LINE, WORKER, record

pytestmark = pytest.mark.django_db


def handled() -> list[dict]:
    return [e.payload for e in OutboxEvent.objects.filter(topic="surveillance.video_event.handled")]


def test_an_operator_acknowledges_an_event(camera, frozen_clock):
    event = record(camera, "loitering", frozen_clock())
    user = User.objects.create_user("otto")
    operator = Actor("user", "otto", frozenset({Role.SECURITY_OPERATOR}), user_id=user.pk)
    done = events.handle(operator, event.pk, false_positive=False, note="guard sent")
    assert done.state == EventState.ACKNOWLEDGED
    assert (done.handled_by, done.handled_by_label) == (user, "user:otto")
    assert done.handled_at == frozen_clock() and done.note == "guard sent"
    assert handled() == [
        {"event": event.pk, "by": "user:otto", "false_positive": False, "note": "guard sent"}
    ]
    [entry] = LedgerEntry.objects.filter(action="surveillance.video_event.handled")
    assert ledger.entry_data(entry) == {
        "type": "loitering",
        "false_positive": False,
        "note": "guard sent",
    }


def test_a_manager_marks_a_false_positive(camera, frozen_clock):
    event = record(camera, "unattended", frozen_clock())
    done = events.handle(MANAGER, event.pk, false_positive=True, note="a coat on a chair")
    assert done.state == EventState.FALSE_POSITIVE
    # The test actor's user does not exist: the label alone names them.
    assert done.handled_by is None and done.handled_by_label == "user:mona"
    assert handled()[0]["false_positive"] is True


def test_an_event_is_handled_once(camera, frozen_clock):
    event = record(camera, "loitering", frozen_clock())
    events.handle(OPERATOR, event.pk, false_positive=True)
    with pytest.raises(Conflict) as refused:
        events.handle(MANAGER, event.pk, false_positive=False)
    assert refused.value.field == "event_id"
    assert "was marked as a false positive already, by user:otto at 2026-03-02 09:00" in (
        refused.value.message
    )
    assert len(handled()) == 1


def test_a_recorded_crossing_needs_no_handling(camera, frozen_clock):
    crossing = record(camera, "line_crossing", frozen_clock(), zone=DOCK_LINE, direction="exit")
    with pytest.raises(Conflict, match="only recorded"):
        events.handle(OPERATOR, crossing.pk, false_positive=False)


@pytest.mark.parametrize("who", [CLERK, AUDITOR, WORKER])
def test_only_operators_and_managers_handle_events(camera, frozen_clock, who):
    event = record(camera, "loitering", frozen_clock())
    with pytest.raises(Forbidden):
        events.handle(who, event.pk, false_positive=False)
    event.refresh_from_db()
    assert event.state == EventState.NEW and handled() == []


def test_bad_input_names_the_field(camera, frozen_clock):
    event = record(camera, "loitering", frozen_clock())
    with pytest.raises(NotFound) as missing:
        events.handle(OPERATOR, 999_999, false_positive=False)
    assert missing.value.field == "event_id"
    with pytest.raises(ServiceError) as long_note:
        events.handle(OPERATOR, event.pk, false_positive=False, note="x" * 501)
    assert long_note.value.field == "note"
    with pytest.raises(ServiceError) as not_bool:
        events.handle(OPERATOR, event.pk, false_positive="yes")  # type: ignore[arg-type]
    assert not_bool.value.field == "false_positive"
