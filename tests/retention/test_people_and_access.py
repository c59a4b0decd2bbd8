"""Departed people are anonymised N days after deactivation (by their site's rule or the
default), never while active; their items still work. Access events lose who made them after N
months. Each run is on the ledger, which still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import Client

from mailwarden.access import services as access
from mailwarden.access import snapshots
from mailwarden.access.models import AccessEvent, Cardholder
from mailwarden.access.retention import purge_events
from mailwarden.core import ledger, outbox
from mailwarden.core.services import create_user
from mailwarden.directory import services as directory
from mailwarden.directory.models import Recipient
from mailwarden.directory.retention import anonymise_departed, months_before, set_site_retention
from tests.access.conftest import MANAGER as ACCESS_MANAGER
from tests.access.conftest import decision, device, mailroom  # noqa: F401 (a fixture)
from tests.factories import ADMIN, MANAGER, make_recipient
from tests.retention.conftest import picked_up


def rules(site_code: str, **values: int | None) -> None:
    wanted = {"media_days": None, "access_event_months": None, "departed_person_days": None}
    set_site_retention(MANAGER, site_code, **{**wanted, **values})


def test_a_departed_person_is_anonymised_after_the_days_and_their_items_still_show(
    site, clock, defaults
):
    defaults.departed_person_days = 90
    rules("hq", departed_person_days=30)
    at_hq = make_recipient(first_name="Grace", last_name="Hopper", site="hq", phone="+44 1")
    nowhere = make_recipient(first_name="Alan", last_name="Turing")
    staying = make_recipient(first_name="Ada", last_name="King", site="hq")
    item = picked_up(site, at_hq)
    holder = access.credentials.create_cardholder(ACCESS_MANAGER, employee_id=at_hq.employee_id)
    for person in (at_hq, nowhere):
        directory.deactivate_recipient(MANAGER, person.employee_id, reason="left the company")

    assert anonymise_departed(clock.advance(days=29)).subjects == []
    now = clock.advance(days=2)
    run = anonymise_departed(now)
    assert [s.split(":")[0] for s in run.subjects] == [f"recipient {at_hq.pk}"]
    gone = Recipient.objects.get(pk=at_hq.pk)
    assert gone.display_name == f"Former recipient {at_hq.pk}"
    assert (gone.employee_id, gone.phone, gone.anonymised_at) == (f"former-{at_hq.pk}", "", now)
    assert "Hopper" not in gone.email and gone.active is False
    entry = ledger.entries_for("recipient", gone.employee_id)[-1]
    assert entry.action == "directory.recipient.anonymised"
    assert "Hopper" not in entry.body and "30 days" in ledger.entry_data(entry)["rule"]
    assert ledger.verify().ok

    # The access app hears of it and renames the person's cardholder.
    outbox.dispatch_due(now)
    assert Cardholder.objects.get(pk=holder.pk).name == f"Former recipient {at_hq.pk}"

    # The default rule takes the person without a site; the active one is never touched.
    run = anonymise_departed(clock.advance(days=60))
    assert [s.split(":")[0] for s in run.subjects] == [f"recipient {nowhere.pk}"]
    assert Recipient.objects.get(pk=staying.pk).last_name == "King"
    assert anonymise_departed(clock.advance(days=3650)).subjects == []

    user = create_user(
        ADMIN, "mona", password="x", roles=["security_manager"], check_password=False
    )
    client = Client()
    client.force_login(user)
    page = client.get(f"/items/{item.uid}/")
    assert page.status_code == 200
    assert f"Former recipient {at_hq.pk}" in page.content.decode()
    assert "Hopper" not in page.content.decode()


def test_reactivation_resets_the_clock(site, clock):
    rules("hq", departed_person_days=30)
    person = make_recipient(site="hq")
    directory.deactivate_recipient(MANAGER, person.employee_id)
    clock.advance(days=20)
    directory.reactivate_recipient(MANAGER, person.employee_id)
    directory.deactivate_recipient(MANAGER, person.employee_id)
    assert anonymise_departed(clock.advance(days=15)).subjects == []
    assert anonymise_departed(clock.advance(days=16)).subjects


def test_access_events_lose_who_made_them_after_the_months(mailroom, frozen_clock):  # noqa: F811
    m = mailroom
    rules("hq", access_event_months=6)
    now = frozen_clock()
    alice = {
        "holder": snapshots.holder_id(m.alice.pk),
        "credential": snapshots.credential_id(m.alice_card.pk),
    }
    access.ingest.ingest_events(
        device(m.edge1),
        m.edge1.name,
        [decision(now, "q-in", granted=True, reason="granted", door="quarantine", **alice)],
    )
    [event] = AccessEvent.objects.all()
    assert event.cardholder_id == m.alice.pk

    assert purge_events(months_before(now, -6) - timedelta(minutes=1)).subjects == []
    later = months_before(now, -6) + timedelta(minutes=1)
    run = purge_events(later)
    assert len(run.subjects) == 1 and "6 months" in run.subjects[0]
    stripped = AccessEvent.objects.get(pk=event.pk)
    assert (stripped.cardholder_id, stripped.credential_id, stripped.holder_ref) == (None, None, "")
    assert stripped.payload == {} and stripped.personal_purged_at == later
    # What the door saw stays: when, which door, and the outcome.
    assert (stripped.door_id, stripped.granted, stripped.occurred_at) == (
        event.door_id,
        True,
        event.occurred_at,
    )
    entry = ledger.entries_for("site", "hq")[-1]
    assert entry.action == "access.events.purged"
    assert ledger.entry_data(entry)["events"] == [str(event.key)]
    assert ledger.verify().ok
    assert purge_events(later + timedelta(days=1)).subjects == []


def test_months_are_calendar_months():
    at = datetime(2027, 3, 31, 12, 0, tzinfo=UTC)
    assert months_before(at, 1) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert months_before(at, 13) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert months_before(at, -1) == datetime(2027, 4, 30, 12, 0, tzinfo=UTC)
