"""Escalations under real concurrent transactions (PostgreSQL): two job runners move an
escalation once, and two acknowledgements meeting a quorum together stop it once."""

from __future__ import annotations

import pytest

from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.incidents.models import Delivery, Escalation, EscalationState
from mailwarden.incidents.services import escalation as services
from tests.conftest import race
from tests.factories import make_site
from tests.incidents.escalation_helpers import as_actor, open_incident, person, policy, target


@pytest.fixture
def crew(pg, frozen_clock):
    make_site()
    return {"ann": person("ann"), "bob": person("bob"), "cat": person("cat", Role.CLERK)}


def test_two_runners_move_an_escalation_once(crew, frozen_clock):
    from mailwarden.directory.models import Site

    policy(
        "Two levels",
        [([target("user", crew["ann"])], 5), ([target("user", crew["cat"])], 5)],
    )
    open_incident(Site.objects.get())
    frozen_clock.advance(minutes=5)
    moved = race(
        lambda: services.advance_due(services.JOB), lambda: services.advance_due(services.JOB)
    )
    assert sorted(moved) == [0, 1]
    assert Delivery.objects.filter(user=crew["cat"]).count() == 2  # in-app and email, once
    assert Escalation.objects.get().level == 1


def test_two_acknowledgements_meet_the_quorum_together(crew):
    from mailwarden.directory.models import Site

    policy(
        "Both",
        [([target("user", crew["ann"]), target("user", crew["bob"])], 5, 2)],
    )
    open_incident(Site.objects.get())
    escalation = Escalation.objects.get()
    results = race(
        lambda: services.acknowledge(as_actor(crew["ann"]), escalation.pk),
        lambda: services.acknowledge(as_actor(crew["bob"]), escalation.pk),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(r.stopped for r in results) == [False, True]
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.ACKNOWLEDGED
    assert OutboxEvent.objects.filter(topic="incidents.escalation.acknowledged").count() == 1
