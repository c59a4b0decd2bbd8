"""Outbox handlers that follow planted test parcels: recognised when logged at intake, scored
when first screened (services.parcels does both)."""

from __future__ import annotations

from mailwarden.contracts.events import ItemReceived, ScreeningDecisionRecorded
from mailwarden.core import outbox
from mailwarden.training.services import parcels


@outbox.handles(ItemReceived)
def recognise_test_parcel(event: ItemReceived) -> None:
    parcels.record_received(parcels.JOB, event.uid)


@outbox.handles(ScreeningDecisionRecorded)
def score_test_parcel(event: ScreeningDecisionRecorded) -> None:
    parcels.score(parcels.JOB, event)
