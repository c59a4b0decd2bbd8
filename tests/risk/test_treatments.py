"""Treatments: planning each kind, an acceptance approved only by someone other than its
proposer, status changes that the risk's state follows, and the overdue alert sent once per due
date (an email through the outbox and ``risk.treatment.lapsed``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core import mail

from mailwarden.core import ledger, notify
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import Notification, OutboxEvent
from mailwarden.risk import jobs
from mailwarden.risk.models import Risk, RiskState, Treatment, TreatmentStatus
from mailwarden.risk.services import treatments
from tests.conftest import race
from tests.factories import ADMIN, AUDITOR, make_site
from tests.risk import treatment_fixtures
from tests.risk.treatment_fixtures import (
    Office,
    make_assessment,
    make_control,
    make_risk,
    make_user,
)

office = treatment_fixtures.office

DUE = date(2026, 3, 20)


def _plan(o: Office, kind: str = "mitigate", **kw: object) -> Treatment:
    values: dict[str, object] = {
        "kind": kind,
        "description": "Two-person rule on the quarantine door",
        "owner": "olly",
        "due": DUE,
        **kw,
    }
    return treatments.plan_treatment(o.actor(o.mia), o.risk.pk, **values)  # type: ignore[arg-type]


def _risk_state(o: Office) -> str:
    return Risk.objects.get(pk=o.risk.pk).state


def test_a_mitigation_is_planned_with_its_control_and_an_acceptance_is_proposed(office):
    control = make_control(office.site)
    mitigation = _plan(office, control_id=control.pk)
    assert (mitigation.status, mitigation.control, mitigation.owner) == (
        TreatmentStatus.PLANNED,
        control,
        office.olly,
    )
    assert mitigation.proposed_by == office.mia
    acceptance = _plan(office, "accept", description="Accept: the annex is staffed")
    assert acceptance.status == TreatmentStatus.PROPOSED
    [entry] = ledger.entries_for("risk_treatment", str(mitigation.pk))
    assert entry.action == "risk.treatment.planned"
    assert (
        ledger.entry_data(entry)["owner"] == "olly"
        and ledger.entry_data(entry)["control"] == control.pk
    )
    assert _risk_state(office) == RiskState.OPEN


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"kind": "ignore"}, "kind", ServiceError),
        ({"description": "   "}, "description", ServiceError),
        ({"description": "x" * 2001}, "description", ServiceError),
        ({"owner": "nobody"}, "owner", NotFound),
        ({"owner": ""}, "owner", ServiceError),
        ({"due": date(2026, 3, 1)}, "due", ServiceError),
        ({"due": date(2040, 1, 1)}, "due", ServiceError),
        ({"kind": "transfer", "control_id": -1}, "control", ServiceError),
        ({"control_id": 99999}, "control", NotFound),
    ],
)
def test_bad_plans_name_the_field_and_change_nothing(office, changes, field, error):
    with pytest.raises(error) as refused:
        _plan(office, **changes)
    assert refused.value.field == field
    assert not Treatment.objects.exists()


def test_a_control_of_another_site_and_a_closed_risk_are_refused(office):
    elsewhere = make_control(make_site("annex"))
    with pytest.raises(ServiceError, match="another site") as refused:
        _plan(office, control_id=elsewhere.pk)
    assert refused.value.field == "control"
    Risk.objects.filter(pk=office.risk.pk).update(state=RiskState.CLOSED)
    with pytest.raises(Conflict) as closed:
        _plan(office)
    assert closed.value.field == "risk"
    with pytest.raises(NotFound):
        treatments.plan_treatment(
            office.actor(office.mia), 99999, kind="avoid", description="x", owner="olly", due=DUE
        )


def test_only_a_named_security_manager_plans(office):
    for who in (AUDITOR, office.actor(office.olly), office.actor(office.aud)):
        with pytest.raises(Forbidden):
            treatments.plan_treatment(
                who, office.risk.pk, kind="avoid", description="x", owner="olly", due=DUE
            )
    # A job passes the role check but is nobody to hold to the two-person rule.
    with pytest.raises(Forbidden, match="named person"):
        treatments.plan_treatment(
            ADMIN, office.risk.pk, kind="avoid", description="x", owner="olly", due=DUE
        )


def test_an_acceptance_is_approved_by_someone_other_than_its_proposer(office):
    acceptance = _plan(office, "accept", description="Accept the residual risk")
    with pytest.raises(Forbidden) as own:
        treatments.approve_acceptance(office.actor(office.mia), acceptance.pk)
    assert own.value.field == "approver"
    for who in (office.actor(office.aud), office.actor(office.olly)):
        with pytest.raises(Forbidden):
            treatments.approve_acceptance(who, acceptance.pk)
    assert Treatment.objects.get(pk=acceptance.pk).status == TreatmentStatus.PROPOSED
    assert _risk_state(office) == RiskState.OPEN

    approved = treatments.approve_acceptance(office.actor(office.sam), acceptance.pk)
    assert (approved.status, approved.approved_by, approved.approved_at) == (
        TreatmentStatus.DONE,
        office.sam,
        approved.updated_at,
    )
    assert _risk_state(office) == RiskState.TREATED
    entry = ledger.entries_for("risk_treatment", str(acceptance.pk))[-1]
    assert entry.action == "risk.treatment.approved"
    assert (
        ledger.entry_data(entry)["proposed_by"] == "mia"
        and ledger.entry_data(entry)["risk_state"] == "treated"
    )

    with pytest.raises(Conflict, match="not waiting for approval"):
        treatments.approve_acceptance(office.actor(office.sam), acceptance.pk)
    # Withdrawing the acceptance leaves the risk open again.
    treatments.set_status(office.actor(office.mia), acceptance.pk, "cancelled")
    assert _risk_state(office) == RiskState.OPEN


def test_only_acceptances_are_approved(office):
    mitigation = _plan(office)
    with pytest.raises(Conflict, match="not an acceptance"):
        treatments.approve_acceptance(office.actor(office.sam), mitigation.pk)
    with pytest.raises(NotFound):
        treatments.approve_acceptance(office.actor(office.sam), 99999)


def test_the_risk_state_follows_its_treatments(office):
    manager = office.actor(office.mia)
    mitigation = _plan(office)
    treatments.set_status(manager, mitigation.pk, "in_progress")
    assert _risk_state(office) == RiskState.OPEN
    treatments.set_status(manager, mitigation.pk, "done")
    assert _risk_state(office) == RiskState.TREATED
    # The control turned out not to work: back in progress, the risk is open again.
    treatments.set_status(manager, mitigation.pk, "in_progress")
    assert _risk_state(office) == RiskState.OPEN
    actions = [e.action for e in ledger.entries_for("risk_treatment", str(mitigation.pk))]
    assert actions == ["risk.treatment.planned", *["risk.treatment.status_changed"] * 3]


def test_status_changes_that_make_no_sense_are_refused(office):
    manager = office.actor(office.mia)
    acceptance = _plan(office, "accept")
    with pytest.raises(Conflict, match="approves it") as refused:
        treatments.set_status(manager, acceptance.pk, "done")
    assert refused.value.field == "status"
    mitigation = _plan(office)
    with pytest.raises(ServiceError) as unknown:
        treatments.set_status(manager, mitigation.pk, "finished")
    assert unknown.value.field == "status"
    treatments.set_status(manager, mitigation.pk, "cancelled")
    with pytest.raises(Conflict, match="final"):
        treatments.set_status(manager, mitigation.pk, "planned")
    with pytest.raises(Forbidden):
        treatments.set_status(office.actor(office.aud), acceptance.pk, "cancelled")


def _lapsed_events() -> list[dict[str, object]]:
    return list(
        OutboxEvent.objects.filter(topic="risk.treatment.lapsed").values_list("payload", flat=True)
    )


def test_an_overdue_treatment_alerts_its_owner_once_per_due_date(office, frozen_clock):
    mitigation = _plan(office)
    done = _plan(office, "avoid", description="Stop taking courier drops at the side door")
    treatments.set_status(office.actor(office.mia), done.pk, "done")

    # London is on GMT in March: the due day ends at midnight UTC.
    frozen_clock.current = datetime(2026, 3, 20, 23, 59, tzinfo=frozen_clock.current.tzinfo)
    assert treatments.alert_overdue(frozen_clock.current) == 0
    frozen_clock.advance(minutes=1)
    assert jobs.overdue_treatments(frozen_clock.current) == 1
    assert treatments.alert_overdue(frozen_clock.current) == 0
    frozen_clock.advance(days=3)
    assert treatments.alert_overdue(frozen_clock.current) == 0

    [note] = Notification.objects.filter(kind=treatments.OVERDUE)
    assert note.to_address == "olly@example.org"
    assert note.key == f"risk.treatment_overdue:{mitigation.pk}:2026-03-20"
    assert note.subject == "Overdue risk treatment: Unauthorised access (due 20 Mar 2026)"
    assert _lapsed_events() == [
        {
            "treatment": mitigation.pk,
            "risk": "Unauthorised access",
            "site": "hq",
            "owner": "olly",
            "due": "2026-03-20",
        }
    ]
    entry = ledger.entries_for("risk_treatment", str(mitigation.pk))[-1]
    assert entry.action == "risk.treatment.lapsed" and ledger.entry_data(entry)["emailed"] is True

    assert notify.send(note.pk) == "sent"
    [email] = mail.outbox
    assert email.to == ["olly@example.org"]
    assert "Hello Olly Owens" in email.body
    assert "Two-person rule on the quarantine door" in email.body
    # A clerk cannot open the risk pages, so the email sends them to their manager instead.
    assert "tell your security manager" in email.body and "/risk/" not in email.body

    # A new due date that passes alerts again, once.
    treatments.reschedule(office.actor(office.mia), mitigation.pk, date(2026, 4, 1), owner="sam")
    frozen_clock.current = datetime(2026, 4, 2, 9, 0, tzinfo=frozen_clock.current.tzinfo)
    assert treatments.alert_overdue(frozen_clock.current) == 1
    assert treatments.alert_overdue(frozen_clock.current) == 0
    assert [e["due"] for e in _lapsed_events()] == ["2026-03-20", "2026-04-01"]
    second = Notification.objects.get(to_address="sam@example.org")
    assert notify.send(second.pk) == "sent"
    assert f"/risk/risks/{office.risk.pk}/treatments/" in mail.outbox[-1].body


def test_a_site_ahead_of_utc_is_overdue_by_its_own_calendar(office, frozen_clock):
    site = make_site("tokyo")
    site.timezone = "Asia/Tokyo"
    site.save(update_fields=["timezone"])
    risk = make_risk(make_assessment(site), "theft-of-mail")
    treatments.plan_treatment(
        office.actor(office.mia), risk.pk, kind="avoid", description="x", owner="olly", due=DUE
    )
    # 16:00 UTC on the 20th is already the 21st in Tokyo.
    frozen_clock.current = datetime(2026, 3, 20, 16, 0, tzinfo=frozen_clock.current.tzinfo)
    assert treatments.alert_overdue(frozen_clock.current) == 1


def test_an_owner_without_an_address_is_still_recorded_and_a_finished_one_withdrawn(
    office, frozen_clock
):
    office.olly.email = ""
    office.olly.save(update_fields=["email"])
    _plan(office)
    frozen_clock.advance(days=30)
    assert treatments.alert_overdue(frozen_clock.current) == 1
    assert not Notification.objects.exists()
    assert _lapsed_events()[0]["owner"] == "olly"

    office.olly.email = "olly@example.org"
    office.olly.save(update_fields=["email"])
    other = _plan(office, due=date(2026, 4, 30))
    frozen_clock.advance(days=40)
    assert treatments.alert_overdue(frozen_clock.current) == 1
    [note] = Notification.objects.all()
    treatments.set_status(office.actor(office.mia), other.pk, "done")
    assert notify.send(note.pk) == "withdrawn"
    assert mail.outbox == []


def test_rescheduling_is_for_unfinished_treatments(office):
    mitigation = _plan(office)
    treatments.set_status(office.actor(office.mia), mitigation.pk, "done")
    with pytest.raises(Conflict) as refused:
        treatments.reschedule(office.actor(office.mia), mitigation.pk, date(2026, 5, 1))
    assert refused.value.field == "treatment"
    other = _plan(office)
    with pytest.raises(ServiceError) as past:
        treatments.reschedule(office.actor(office.mia), other.pk, date(2026, 1, 1))
    assert past.value.field == "due"
    moved = treatments.reschedule(office.actor(office.mia), other.pk, date(2026, 6, 1), owner="sam")
    assert (moved.due, moved.owner) == (date(2026, 6, 1), office.sam)
    assert timedelta(0) == moved.updated_at - moved.created_at


def test_two_jobs_at_once_alert_once_and_two_approvals_approve_once(pg, office, frozen_clock):
    _plan(office)
    frozen_clock.advance(days=30)
    now = frozen_clock.current
    alerted = race(lambda: treatments.alert_overdue(now), lambda: treatments.alert_overdue(now))
    assert sorted(alerted) == [0, 1]
    assert Notification.objects.count() == 1 and len(_lapsed_events()) == 1

    acceptance = _plan(office, "accept", due=date(2026, 5, 1))
    third = office.actor(make_user("tess", "security_manager"))
    results = race(
        lambda: treatments.approve_acceptance(office.actor(office.sam), acceptance.pk),
        lambda: treatments.approve_acceptance(third, acceptance.pk),
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Treatment"]
    entries = ledger.entries_for("risk_treatment", str(acceptance.pk))
    assert [e.action for e in entries] == ["risk.treatment.planned", "risk.treatment.approved"]


def test_two_treatments_of_one_risk_changed_at_once_leave_the_right_state(pg, office):
    manager = office.actor(office.mia)
    mitigation = _plan(office)
    acceptance = _plan(office, "accept")
    treatments.approve_acceptance(office.actor(office.sam), acceptance.pk)
    for _ in range(3):
        race(
            lambda: treatments.set_status(manager, mitigation.pk, "done"),
            lambda pk=acceptance.pk: treatments.set_status(manager, pk, "cancelled"),
        )
        assert _risk_state(office) == RiskState.TREATED
        treatments.set_status(manager, mitigation.pk, "in_progress")
        assert _risk_state(office) == RiskState.OPEN
        acceptance = _plan(office, "accept")
        treatments.approve_acceptance(office.actor(office.sam), acceptance.pk)
