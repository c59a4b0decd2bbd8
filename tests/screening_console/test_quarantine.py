"""The quarantine register: why and how long each item is held, and the two-person rule for
letting it go."""

from __future__ import annotations

import re

import pytest

from mailwarden.core import ledger
from mailwarden.core.roles import Role
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.screening import services
from mailwarden.screening.models import QuarantineRequest, RequestStatus
from tests.screening.conftest import SCREENER_A, snapshot
from tests.screening_console.conftest import alerts


@pytest.fixture
def held(item, frozen_clock):
    """The item, quarantined by a screener's decision an hour and a half ago."""
    services.screen_item(
        SCREENER_A, item.uid, services.Checklist(indicators=["protruding-wires"], notes="wires")
    )
    frozen_clock.advance(hours=1, minutes=30)
    return MailItem.objects.get(pk=item.pk)


def register(client) -> str:
    response = client.get("/screening/quarantine/")
    assert response.status_code == 200
    return response.content.decode()


def row(body: str, uid: str) -> str:
    found = re.search(rf'<tr data-uid="{uid}">(.*?)</tr>', body, re.S)
    assert found, f"{uid} is not in the register"
    return found.group(1)


def propose(client, uid: str, outcome: str = "released", reason: str = "opened: a book"):
    return client.post(
        f"/screening/quarantine/{uid}/propose/", {"outcome": outcome, "reason": reason}
    )


def test_the_register_shows_dwell_location_and_reasons(signed_in, held, site, recipient):
    from tests.factories import intake

    other = intake(site, recipient)
    custody.transition(SCREENER_A, other.uid, "quarantined", reason="leaking powder")
    body = register(signed_in(Role.AUDITOR))
    assert re.findall(r'<tr data-uid="([^"]+)"', body) == [held.uid, other.uid]
    mine = row(body, held.uid)
    assert "1 h 30 min" in mine
    assert "quarantine" in mine  # the location
    assert "indicator protruding-wires (+5)" in mine
    assert 'tier tier-danger">high<' in mine
    assert "leaking powder" in row(body, other.uid)
    # An auditor reads the register but is offered nothing to do.
    assert "data-propose=" not in body


def test_a_proposal_shows_who_made_it_and_the_time_left(signed_in, held, frozen_clock):
    manager = signed_in(Role.SECURITY_MANAGER, "mona")
    response = propose(manager, held.uid)
    assert response.status_code == 302
    body = manager.get(response["Location"]).content.decode()
    assert "A security manager other than you must confirm within 30 minutes" in body
    entry = row(body, held.uid)
    assert "Release</strong> proposed by <strong>mona</strong> (you)" in entry
    assert "30 min left" in entry
    assert "You proposed this" in entry
    frozen_clock.advance(minutes=12)
    assert "18 min left" in row(register(signed_in(Role.SECURITY_MANAGER, "max")), held.uid)
    assert MailItem.objects.get(pk=held.pk).state == State.QUARANTINED


def test_a_different_manager_confirms_and_the_item_is_released(signed_in, held):
    propose(signed_in(Role.SECURITY_MANAGER, "mona"), held.uid)
    request = QuarantineRequest.objects.get(item=held)
    confirmer = signed_in(Role.SECURITY_MANAGER, "max")
    response = confirmer.post(f"/screening/quarantine/requests/{request.pk}/confirm/")
    assert response.status_code == 302
    assert MailItem.objects.get(pk=held.pk).state == State.RELEASED
    request.refresh_from_db()
    assert (request.status, request.confirmed_by) == (RequestStatus.CONFIRMED, "user:max")
    entries = ledger.entries_for("mailitem", held.uid)
    assert [e.action for e in entries[-3:]] == [
        "screening.quarantine_outcome.proposed",
        "screening.quarantine_outcome.confirmed",
        "custody.item.transitioned",
    ]
    transition = ledger.entry_data(entries[-1])
    assert (transition["to"], transition["proposed_by"], transition["confirmed_by"]) == (
        "released",
        "user:mona",
        "user:max",
    )
    body = confirmer.get(response["Location"]).content.decode()
    assert "Proposed by mona, confirmed by you" in body
    assert f'<tr data-uid="{held.uid}">' not in body
    assert "Recently decided" in body


def test_the_proposer_confirming_is_refused_clearly(signed_in, held):
    manager = signed_in(Role.SECURITY_MANAGER, "mona")
    propose(manager, held.uid)
    request = QuarantineRequest.objects.get(item=held)
    before = snapshot()
    response = manager.post(f"/screening/quarantine/requests/{request.pk}/confirm/")
    assert response.status_code == 403
    assert any(
        "the person who proposed the outcome cannot confirm it" in a
        for a in alerts(response.content.decode())
    )
    assert snapshot() == before


def test_screeners_propose_but_only_managers_confirm(signed_in, held):
    screener = signed_in(Role.SCREENER)
    assert (
        propose(screener, held.uid, "destroyed", "IED confirmed by the bomb squad").status_code
        == 302
    )
    request = QuarantineRequest.objects.get(item=held)
    body = register(screener)
    assert "data-confirm-request" not in body
    refused = signed_in(Role.SCREENER, "sky").post(
        f"/screening/quarantine/requests/{request.pk}/confirm/"
    )
    assert refused.status_code == 403
    assert MailItem.objects.get(pk=held.pk).state == State.QUARANTINED


def test_final_outcomes_ask_before_they_are_confirmed(signed_in, held):
    propose(signed_in(Role.SCREENER), held.uid, "destroyed", "IED")
    request = QuarantineRequest.objects.get(item=held)
    entry = row(register(signed_in(Role.SECURITY_MANAGER)), held.uid)
    # The button opens a dialog; only the dialog's own button sends the confirmation.
    assert f'data-open-dialog="confirm-{request.pk}"' in entry
    assert re.search(
        rf'<dialog id="confirm-{request.pk}".*?This is final.*?type="submit"', entry, re.S
    )


def test_a_proposal_needs_a_reason(signed_in, held):
    manager = signed_in(Role.SECURITY_MANAGER)
    before = snapshot()
    response = propose(manager, held.uid, "released", "   ")
    assert response.status_code == 400
    body = response.content.decode()
    assert f"Propose an outcome for {held.uid}" in body
    assert re.search(r'data-field-error="reason">[^<]*(required|say why)', body)
    assert snapshot() == before


def test_a_lapsed_proposal_cannot_be_confirmed_and_may_be_made_again(signed_in, held, frozen_clock):
    propose(signed_in(Role.SECURITY_MANAGER, "mona"), held.uid)
    request = QuarantineRequest.objects.get(item=held)
    frozen_clock.advance(minutes=31)
    confirmer = signed_in(Role.SECURITY_MANAGER, "max")
    body = register(confirmer)
    assert "expired at" in row(body, held.uid)
    assert f'data-propose="{held.uid}"' in row(body, held.uid)
    refused = confirmer.post(f"/screening/quarantine/requests/{request.pk}/confirm/")
    assert refused.status_code == 409
    assert "expired" in " ".join(alerts(refused.content.decode()))
    assert propose(confirmer, held.uid).status_code == 302


def test_a_second_proposal_while_one_is_open_is_refused(signed_in, held):
    propose(signed_in(Role.SECURITY_MANAGER, "mona"), held.uid)
    response = propose(signed_in(Role.SECURITY_MANAGER, "max"), held.uid, "destroyed", "no")
    assert response.status_code == 409
    assert "awaits confirmation" in response.content.decode()


def test_the_register_names_people_not_usernames(signed_in, person, held):
    from django.contrib.auth.models import User

    for username, first, last in (("sam", "Sam", "Okafor"), ("mona", "Mona", "Lindqvist")):
        person(Role.SCREENER, username)
        User.objects.filter(username=username).update(first_name=first, last_name=last)
    proposer = signed_in(Role.SECURITY_MANAGER, "mona")
    propose(proposer, held.uid)
    entry = row(register(proposer), held.uid)
    assert "— Sam Okafor" in entry
    assert "proposed by <strong>Mona Lindqvist</strong> (you)" in entry
    assert ">sam<" not in entry and "mona" not in entry
    request = QuarantineRequest.objects.get(item=held)
    assert (
        signed_in(Role.SECURITY_MANAGER, "max")
        .post(f"/screening/quarantine/requests/{request.pk}/confirm/")
        .status_code
        == 302
    )
    recent = register(proposer).split('class="recent-list"')[1]
    assert "proposed by Mona Lindqvist, confirmed by max" in recent
