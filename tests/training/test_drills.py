"""Drills count as training participation: whoever moves an exercise incident on and everyone who
answers its roll call, once per drill, through the real incidents services and the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.directory.models import Recipient
from mailwarden.incidents.services import broadcasts, exercises
from mailwarden.incidents.services import incidents as incident_services
from mailwarden.training.models import Participation
from mailwarden.training.queries.compliance import drills_by_site, participation_of
from mailwarden.training.services import participation
from tests.factories import make_recipient, make_site
from tests.incidents.broadcast_helpers import token
from tests.incidents.exercise_helpers import request
from tests.training.helpers_b import (
    fast_passwords,  # noqa: F401
    person,
)


def deliver() -> int:
    return outbox.dispatch_due(clock.now() + timedelta(seconds=1), limit=1000)


@pytest.fixture
def drill(db, frozen_clock):
    """An exercise under way at hq, started by the manager, with people at the site."""
    site = make_site("hq")
    mona = person("mona", Role.SECURITY_MANAGER)
    manager = Actor.for_user(mona)
    planned = exercises.plan_exercise(manager, request())
    incident = exercises.start_exercise(manager, planned.pk, confirm=True)
    return site, mona, manager, incident


def test_moving_an_exercise_on_counts_once_for_whoever_moved_it(drill, frozen_clock):
    _site, mona, manager, incident = drill
    incident_services.move(manager, incident.pk, "contained")
    moved_at = clock.now()
    frozen_clock.advance(minutes=90)  # the event is delivered late: the drill keeps its own time
    deliver()
    incident_services.move(manager, incident.pk, "resolved")
    deliver()
    [row] = Participation.objects.all()
    assert (row.kind, row.ref, row.user_id, row.site.code) == (
        "drill",
        incident.reference,
        mona.pk,
        "hq",
    )
    assert row.title == incident.title
    assert row.role_played == "moved the exercise to contained"
    assert row.occurred_at == moved_at
    entries = LedgerEntry.objects.filter(action="training.participation.recorded")
    assert entries.count() == 1
    assert ledger.entry_data(entries.get())["user"] == "mona"


def test_roll_call_answers_count_for_the_person_and_their_account(drill, frozen_clock):
    site, _mona, manager, incident = drill
    linked_user = person("carol", Role.CLERK)
    carol = make_recipient(first_name="Carol", site="hq")
    Recipient.objects.filter(pk=carol.pk).update(user=linked_user)
    alice = make_recipient(first_name="Alice", site="hq")
    sent = broadcasts.send_broadcast(
        manager,
        broadcasts.BroadcastRequest(
            site="hq",
            kind="evacuate",
            headline="Leave the building now (exercise)",
            text="Go to assembly point B.",
            incident=incident.pk,
        ),
        confirm=True,
    )
    broadcasts.answer_roll_call(token(sent, carol), "safe")
    broadcasts.answer_roll_call(token(sent, alice), "need_help")
    broadcasts.answer_roll_call(token(sent, alice), "safe")  # changed her answer
    answered_at = clock.now()
    frozen_clock.advance(minutes=5)
    deliver()
    rows = {r.recipient_id: r for r in Participation.objects.all()}
    assert set(rows) == {carol.pk, alice.pk}
    assert rows[carol.pk].user_id == linked_user.pk
    assert rows[alice.pk].user_id is None
    assert rows[alice.pk].role_played == "answered the roll call: need help"
    assert {r.ref for r in rows.values()} == {incident.reference}
    assert rows[carol.pk].occurred_at == answered_at

    assert [p.ref for p in participation_of(linked_user.pk)] == [incident.reference]
    [at_hq] = drills_by_site()
    assert (at_hq.site, at_hq.drills, at_hq.people, at_hq.entries) == (site.name, 1, 2, 2)


def test_real_incidents_and_tokens_acting_for_nobody_count_for_nothing(drill):
    _site, _mona, manager, incident = drill
    token_actor = Actor("user", "token-abc123", frozenset({Role.SECURITY_MANAGER}))
    incident_services.move(token_actor, incident.pk, "contained")
    real = incident_services.open_incident(
        manager,
        incident_services.OpenIncidentRequest(
            type="suspicious_package", severity=2, site="hq", title="Leaking parcel"
        ),
    )
    incident_services.move(manager, real.pk, "contained")
    deliver()
    assert not Participation.objects.exists()


def test_a_drill_answer_counts_before_and_after_an_account_is_linked(drill):
    _site, _mona, _manager, incident = drill
    dan = make_recipient(first_name="Dan", site="hq")
    part = participation.DrillPart(
        ref=incident.reference,
        title="Spring drill",
        site="hq",
        role_played="answered the roll call: safe",
        occurred_at=clock.now(),
        recipient_id=dan.pk,
    )
    first = participation.record_drill(Actor.job("t"), part)
    again = participation.record_drill(Actor.job("t"), part)
    assert first.pk == again.pk
    account = person("dan", Role.CLERK)
    Recipient.objects.filter(pk=dan.pk).update(user=account)
    assert [p.pk for p in participation_of(account.pk)] == [first.pk]


def test_bad_participation_is_refused_naming_the_field(db, frozen_clock):
    make_site("hq")
    base = dict(title="x", site="hq", role_played="", occurred_at=clock.now())
    with pytest.raises(ServiceError) as nobody:
        participation.record_drill(Actor.job("t"), participation.DrillPart(ref="INC-1", **base))
    assert nobody.value.field == "user_id"
    with pytest.raises(NotFound) as unknown:
        participation.record_drill(
            Actor.job("t"), participation.DrillPart(ref="INC-1", user_id=999999, **base)
        )
    assert unknown.value.field == "user_id"
    with pytest.raises(ServiceError) as blank:
        participation.record_drill(
            Actor.job("t"), participation.DrillPart(ref="  ", recipient_id=1, **base)
        )
    assert blank.value.field == "ref"
    clerk = Actor("user", "cleo", frozenset({Role.CLERK}), user_id=1)
    with pytest.raises(ServiceError) as forbidden:
        participation.record_drill(
            clerk, participation.DrillPart(ref="INC-1", recipient_id=1, **base)
        )
    assert forbidden.value.status == 403
    assert not Participation.objects.exists()


def test_the_learners_page_lists_the_drills_they_took_part_in(drill, client):
    _site, mona, manager, incident = drill
    incident_services.move(manager, incident.pk, "contained")
    deliver()
    client.force_login(mona)
    page = client.get(reverse("training:my")).content.decode()
    assert f'data-drill="{incident.reference}"' in page
    assert "moved the exercise to contained" in page
