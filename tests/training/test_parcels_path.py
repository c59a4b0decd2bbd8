"""A planted test parcel's whole path: registered, logged at intake with its barcode, screened,
scored, feedback emailed to a real SMTP server, a refresher enrolment, and stopped at hand-over
with the item left as it was."""

from __future__ import annotations

import pytest

from mailwarden.core.models import LedgerEntry, Notification, OutboxEvent, OutboxStatus
from mailwarden.core.runner import run_pending
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem
from mailwarden.screening import services as screening
from mailwarden.training.models import Enrolment, PlantedParcel, PlantedStatus
from mailwarden.training.services import parcels
from tests.factories import VALID_UPS
from tests.notify.conftest import smtp_server
from tests.training.parcels_fixtures import (
    PLANTED,
    Mailroom,
    mailroom,
    make_refresher,
    no_refresher,
)

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["mailroom", "smtp_server"]


def log_it(room: Mailroom, *, suspicious: bool = False, number: str = VALID_UPS) -> MailItem:
    return custody.intake(
        room.actor(room.clerk),
        custody.IntakeRequest(
            site=room.site.code,
            recipient_id=room.recipient.pk,
            kind="parcel",
            tracking_number=number,
            suspicious=suspicious,
        ),
    )


def screen(room: Mailroom, uid: str, ticked: list[str], seconds: int = 95) -> None:
    screening.screen_item(
        room.actor(room.screener),
        uid,
        screening.Checklist(indicators=ticked, seconds_on_item=seconds),
    )


def test_a_missed_parcel_is_scored_fed_back_and_never_handed_over(
    mailroom: Mailroom, smtp_server, frozen_clock
):
    make_refresher()
    spaced = " ".join([VALID_UPS[:6].lower(), VALID_UPS[6:]])
    parcel = parcels.register(
        mailroom.actor(mailroom.manager),
        barcode=spaced,
        site="hq",
        indicators=PLANTED,
        notes="brown box, three signs",
    )
    assert parcel.barcode == VALID_UPS
    assert parcel.expected_tier == "high"

    item = log_it(mailroom, suspicious=True)
    run_pending()
    parcel.refresh_from_db()
    assert parcel.status == PlantedStatus.RECEIVED
    assert parcel.item_uid == item.uid
    assert parcel.clerk == "user:cleo"
    assert parcel.clerk_user_id == mailroom.clerk.pk
    assert parcel.flagged_at_intake is True

    frozen_clock.advance(minutes=4)
    # One planted sign and one that was not: 2 + 1 points, elevated, lower than high.
    screen(mailroom, item.uid, ["excessive-postage", "no-return-address"])
    run_pending()

    parcel.refresh_from_db()
    assert parcel.status == PlantedStatus.SCORED
    assert parcel.tier_reached == "elevated"
    assert parcel.passed is False
    assert parcel.seconds_to_decision == 240
    assert parcel.seconds_on_item == 95
    assert parcel.screener_user_id == mailroom.screener.pk
    result = parcels.score_of(parcel)
    assert result.hit == ["excessive-postage"]
    assert result.missed == ["restrictive-markings", "excessive-tape"]
    assert result.extra == ["no-return-address"]

    [event] = OutboxEvent.objects.filter(topic="training.test_parcel.scored")
    assert event.payload["passed"] is False
    assert event.payload["indicators_missed"] == ["restrictive-markings", "excessive-tape"]
    assert event.payload["flagged_at_intake"] is True
    assert event.payload["seconds_to_decision"] == 240

    [to_clerk] = smtp_server.to("cleo@example.org")
    [to_screener] = smtp_server.to("sam@example.org")
    assert item.uid in to_clerk["Subject"]
    clerk_text = to_clerk.get_body(preferencelist=("plain",)).get_content()
    assert "flagged as looking suspicious" in clerk_text
    screener_text = to_screener.get_body(preferencelist=("plain",)).get_content()
    assert "lower than the high" in screener_text
    assert "Excessive tape or string" in screener_text  # missed, by its checklist label
    assert "240 seconds" in screener_text
    assert "Suspicious mail refresher" in screener_text
    # The queued row was rendered from the scored parcel, not from the one before scoring.
    queued = Notification.objects.get(to_address="sam@example.org")
    assert "240 seconds" in queued.body

    enrolled = set(
        Enrolment.objects.filter(course__slug="suspicious-mail-refresher").values_list(
            "user_id", flat=True
        )
    )
    assert enrolled == {mailroom.clerk.pk, mailroom.screener.pk}

    # A second screener confirms; the item goes to the shelf, and then nobody may hand it over.
    second = parcels.JOB  # an administrator's job stands in for the confirming screener
    custody.transition(second, item.uid, "cleared", reason="confirmed")
    custody.transition(second, item.uid, "ready_for_pickup")
    before = MailItem.objects.get(uid=item.uid)
    with pytest.raises(parcels.Conflict) as refused:
        custody.hand_over(
            mailroom.actor(mailroom.clerk),
            item.uid,
            method="code",
            proof="000000",
        )
    assert "test parcel planted by security" in refused.value.message
    assert "take it to the security manager" in refused.value.message
    after = MailItem.objects.get(uid=item.uid)
    assert (after.state, after.version, after.pickup_failures) == (
        before.state,
        before.version,
        before.pickup_failures,
    )
    parcel.refresh_from_db()
    assert parcel.status == PlantedStatus.STOPPED
    assert parcel.stopped_by == "user:cleo"
    assert LedgerEntry.objects.filter(
        action="training.test_parcel.stopped", subject_id=str(parcel.pk)
    ).exists()
    # Nothing about the test went on the item's own record.
    assert not LedgerEntry.objects.filter(
        subject_type="mailitem", subject_id=item.uid, action__startswith="training."
    ).exists()


def test_a_parcel_screened_to_its_tier_passes_without_a_refresher_course(
    mailroom: Mailroom, smtp_server
):
    no_refresher()
    parcel = parcels.register(
        mailroom.actor(mailroom.manager), barcode=VALID_UPS, site="hq", indicators=PLANTED
    )
    item = log_it(mailroom)
    run_pending()
    screen(mailroom, item.uid, PLANTED)
    run_pending()

    parcel.refresh_from_db()
    assert parcel.tier_reached == "high"
    assert parcel.passed is True
    assert parcel.flagged_at_intake is False
    assert not Enrolment.objects.exists()
    [to_clerk] = smtp_server.to("cleo@example.org")
    text = to_clerk.get_body(preferencelist=("plain",)).get_content()
    assert "not flagged as looking suspicious" in text
    assert "no refresher course set up yet" in text

    # At-least-once delivery may hand both events over again: nothing is scored or sent twice.
    OutboxEvent.objects.filter(
        topic__in=["custody.item.received", "screening.decision.recorded"]
    ).update(status=OutboxStatus.PENDING)
    run_pending()
    assert len(smtp_server.to("cleo@example.org")) == 1
    assert Notification.objects.filter(kind="test_parcel_feedback").count() == 2
    assert LedgerEntry.objects.filter(action="training.test_parcel.scored").count() == 1


def test_an_ordinary_item_and_a_parcel_at_another_site_are_left_alone(mailroom: Mailroom):
    from tests.factories import make_site

    make_site("annex")
    parcel = parcels.register(
        mailroom.actor(mailroom.manager), barcode=VALID_UPS, site="annex", indicators=PLANTED
    )
    item = log_it(mailroom)
    run_pending()
    screen(mailroom, item.uid, [])
    run_pending()
    parcel.refresh_from_db()
    assert parcel.status == PlantedStatus.REGISTERED
    assert PlantedParcel.objects.filter(item_uid=item.uid).count() == 0
    # An ordinary item is handed over as ever (here: refused only for the wrong code).
    custody.transition(parcels.JOB, item.uid, "ready_for_pickup")
    with pytest.raises(custody.ServiceError, match="wrong pickup code"):
        custody.hand_over(mailroom.actor(mailroom.clerk), item.uid, method="code", proof="000000")
