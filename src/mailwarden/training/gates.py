"""The training app's word on duties other apps own (core.duties): a screener needs a current
screener certificate to record a decision, a clerk without current mail-handling training is
warned at intake, and a planted test parcel is never handed over."""

from __future__ import annotations

from mailwarden.core.actor import Actor
from mailwarden.core.duties import Duty
from mailwarden.training.services import certification, parcels


def gate(actor: Actor, duty: Duty, item_uid: str | None) -> list[str]:
    if duty == Duty.SCREEN:
        certification.refuse_uncertified_screener(actor)
        return []
    if duty == Duty.INTAKE:
        return certification.intake_warnings(actor)
    if duty == Duty.HAND_OVER and item_uid:
        parcels.stop_hand_over(actor, item_uid)
    return []
