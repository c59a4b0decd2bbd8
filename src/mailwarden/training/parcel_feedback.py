"""The email that tells a clerk or a screener, after the fact, that an item they handled was a
planted test parcel, and how they did. Rendered from the parcel each time it is sent (core.notify),
so a retry carries the current refresher enrolment."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from mailwarden.core import notify
from mailwarden.core.errors import NotFound
from mailwarden.screening.models import Indicator
from mailwarden.training.models import Course, PlantedParcel

KIND = "test_parcel_feedback"
CLERK = "clerk"
SCREENER = "screener"
ROLES = (CLERK, SCREENER)


def subject_ref(parcel_id: int, role: str) -> str:
    return f"test_parcel:{parcel_id}:{role}"


def _parse(ref: str) -> tuple[int, str]:
    _, number, role = ref.split(":", 2)
    if role not in ROLES or not number.isdigit():
        raise NotFound(f"no test parcel feedback {ref!r}", "subject_ref")
    return int(number), role


def context(parcel: PlantedParcel, role: str) -> dict[str, Any]:
    """What the message (and the parcel's score sheet) says, in words."""
    labels = dict(Indicator.objects.values_list("code", "label"))

    def named(codes: list[str]) -> list[str]:
        return [labels.get(c, c) for c in codes]

    planted, ticked = list(parcel.indicators), list(parcel.indicators_ticked)
    refresher = Course.objects.filter(refresher=True, active=True).order_by("pk").first()
    return {
        "parcel": parcel,
        "role": role,
        "planted": named(planted),
        "hit": named([c for c in planted if c in ticked]),
        "missed": named([c for c in planted if c not in ticked]),
        "extra": named([c for c in ticked if c not in planted]),
        "refresher": refresher,
    }


@notify.renders(KIND)
def feedback_message(ref: str) -> notify.Message:
    parcel_id, role = _parse(ref)
    parcel = PlantedParcel.objects.select_related("site").filter(pk=parcel_id).first()
    if parcel is None:
        raise NotFound(f"no test parcel {parcel_id}", "subject_ref")
    data = context(parcel, role)
    subject = f"Feedback: {parcel.item_uid} was a test parcel"
    return notify.Message(
        subject=subject,
        text=render_to_string("training/parcels_feedback_email.txt", data),
        html=render_to_string("training/parcels_feedback_email.html", data),
    )
