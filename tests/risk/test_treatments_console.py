"""The treatment pages: a security manager plans one (errors beside their fields), a second
approves an acceptance (the proposer is never offered it), statuses move on, overdue ones are
marked; auditors read without buttons and clerks are refused."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from mailwarden.risk.models import Risk, Treatment
from mailwarden.risk.services import treatments
from tests.risk import treatment_fixtures
from tests.risk.treatment_fixtures import Office, make_control, make_user

office = treatment_fixtures.office


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _plan(o: Office, kind: str = "mitigate", due: date = date(2026, 3, 20)) -> Treatment:
    return treatments.plan_treatment(
        o.actor(o.mia),
        o.risk.pk,
        kind=kind,
        description="Badge the side door",
        owner="olly",
        due=due,
    )


def test_a_manager_plans_a_mitigation_with_its_control(office):
    control = make_control(office.site)
    mia = _client(office.mia)
    url = reverse("risk:risk_treatments", args=[office.risk.pk])
    page = mia.get(url)
    assert page.status_code == 200
    assert b"Plan a treatment" in page.content and b"Olly Owens" in page.content
    sent = mia.post(
        url,
        {
            "kind": "mitigate",
            "description": "Two-person rule on the quarantine door",
            "owner": "olly",
            "due": "2026-04-01",
            "control": str(control.pk),
        },
        follow=True,
    )
    assert sent.status_code == 200
    assert b"Mitigate planned." in sent.content
    made = Treatment.objects.get()
    assert (made.control, made.owner, made.proposed_by) == (control, office.olly, office.mia)


def test_refusals_land_beside_their_fields(office):
    mia = _client(office.mia)
    url = reverse("risk:risk_treatments", args=[office.risk.pk])
    page = mia.post(
        url, {"kind": "avoid", "description": "x", "owner": "olly", "due": "2026-01-01"}
    )
    assert page.status_code == 400
    assert b'data-field-error="due"' in page.content and b"in the past" in page.content
    control = make_control(office.site)
    page = mia.post(
        url,
        {
            "kind": "avoid",
            "description": "x",
            "owner": "olly",
            "due": "2026-04-01",
            "control": str(control.pk),
        },
    )
    assert page.status_code == 400 and b'data-field-error="control"' in page.content
    assert not Treatment.objects.exists()


def test_an_acceptance_is_approved_by_the_second_manager_only(office):
    acceptance = _plan(office, "accept")
    mia, sam = _client(office.mia), _client(office.sam)
    own = mia.get(reverse("risk:treatments"))
    approve = reverse("risk:treatment_approve", args=[acceptance.pk]).encode()
    assert approve not in own.content
    assert approve in sam.get(reverse("risk:treatments")).content
    # Posted anyway, the service refuses it and says why.
    refused = mia.post(reverse("risk:treatment_approve", args=[acceptance.pk]), follow=True)
    assert b"someone other than the person who proposed it" in refused.content
    done = sam.post(
        reverse("risk:treatment_approve", args=[acceptance.pk]),
        {"next": reverse("risk:treatments")},
    )
    assert done.status_code == 302 and done["Location"] == reverse("risk:treatments")
    assert Risk.objects.get(pk=office.risk.pk).state == "treated"


def test_status_moves_and_overdue_marks(office, frozen_clock):
    mitigation = _plan(office)
    mia = _client(office.mia)
    status_url = reverse("risk:treatment_status", args=[mitigation.pk])
    assert mia.post(status_url, {"status": "in_progress"}).status_code == 302
    assert Treatment.objects.get().status == "in_progress"
    refused = mia.post(status_url, {"status": "proposed"}, follow=True)
    assert b"it can become" in refused.content
    frozen_clock.advance(days=30)
    listed = mia.get(reverse("risk:treatments"), {"overdue": "1", "site": "hq"})
    assert b'data-overdue="1"' in listed.content and b"Badge the side door" in listed.content
    assert (
        mia.post(reverse("risk:treatment_status", args=[99999]), {"status": "done"}).status_code
        == 404
    )


def test_auditors_read_and_clerks_are_refused(office):
    _plan(office)
    aud = _client(office.aud)
    page = aud.get(reverse("risk:risk_treatments", args=[office.risk.pk]))
    assert page.status_code == 200
    assert b"Badge the side door" in page.content
    assert b"Plan a treatment" not in page.content and b"treatment_status" not in page.content
    assert b"/status/" not in page.content
    refused = aud.post(
        reverse("risk:risk_treatments", args=[office.risk.pk]),
        {"kind": "avoid", "description": "x", "owner": "olly", "due": "2026-04-01"},
    )
    assert refused.status_code == 403
    assert (
        aud.post(reverse("risk:treatment_status", args=[1]), {"status": "done"}).status_code == 403
    )
    clerk = _client(make_user("cleo", "clerk"))
    assert clerk.get(reverse("risk:treatments")).status_code == 403
    assert clerk.get(reverse("risk:risk_treatments", args=[office.risk.pk])).status_code == 403
    assert _client(office.mia).get(reverse("risk:risk_treatments", args=[99999])).status_code == 404
    assert Treatment.objects.count() == 1


@pytest.mark.parametrize("query", [{"site": "nowhere"}, {"status": "bogus"}])
def test_unknown_filters_show_everything(office, query):
    _plan(office)
    page = _client(office.aud).get(reverse("risk:treatments"), query)
    assert page.status_code == 200 and b"Badge the side door" in page.content
