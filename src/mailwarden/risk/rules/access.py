"""Access-control rules: stale credentials, untrained people who can enter the quarantine room,
doors that keep alarming, readers not on Secure Channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from mailwarden.access import queries
from mailwarden.access.models import AlarmKind, Cardholder
from mailwarden.directory.models import LocationKind
from mailwarden.risk.rules import Context, Proposed, rule
from mailwarden.training.queries import compliance, courses


@rule(
    "stale-credentials",
    "Credentials not used for a long time",
    uses=("stale_credential_days",),
)
def stale_credentials(ctx: Context) -> Iterator[Proposed]:
    days = int(ctx.thresholds["stale_credential_days"])
    cutoff = ctx.now - timedelta(days=days)
    for credential, last_used in queries.site_credentials(ctx.site, ctx.now):
        # A credential issued inside the window has not had the chance to go stale.
        if credential.issued_at > cutoff or (last_used is not None and last_used > cutoff):
            continue
        yield Proposed(
            subject=f"credential:{credential.pk}",
            title=f"{credential.holder.name}'s credential has not been used for {days} days",
            evidence={
                "credential": credential.pk,
                "holder": credential.holder.name,
                "issued_at": credential.issued_at.isoformat(),
                "last_used": last_used.isoformat() if last_used else "never",
                "threshold_days": days,
            },
            suggested_treatment=(
                "Revoke the credential, or confirm with the holder's manager that it is still "
                "needed and record why."
            ),
            threat="unauthorised-access",
        )


def _user_id(holder: Cardholder) -> int | None:
    if holder.user_id is not None:
        return holder.user_id
    return holder.recipient.user_id if holder.recipient is not None else None


def _current_training(user_id: int, ctx: Context) -> bool:
    """A current certificate of a screening course; any current certificate where the site
    has no screening course."""
    screening = compliance.duty_courses("screening")
    if screening:
        return any(compliance.holding(c, user_id, ctx.now).current for c in screening)
    return any(
        c.revoked_at is None and c.expires_at > ctx.now for c in courses.certificates_of(user_id)
    )


@rule("quarantine-untrained", "People who can enter the quarantine room without current training")
def quarantine_untrained(ctx: Context) -> Iterator[Proposed]:
    for holder, doors in queries.holders_with_access(ctx.site, LocationKind.QUARANTINE, ctx.now):
        user_id = _user_id(holder)
        if user_id is not None and _current_training(user_id, ctx):
            continue
        yield Proposed(
            subject=f"cardholder:{holder.pk}",
            title=f"{holder.name} can open the quarantine room without current training",
            evidence={
                "cardholder": holder.pk,
                "name": holder.name,
                "doors": ", ".join(d.code for d in doors),
                "account": "none linked" if user_id is None else "no current certificate",
            },
            suggested_treatment=(
                "Enrol them in the screening course, or remove the quarantine room from their "
                "access levels until they hold a current certificate."
            ),
            threat="insider",
        )


_DOOR_ALARMS = (AlarmKind.FORCED_OPEN, AlarmKind.HELD_OPEN)


@rule(
    "door-alarms",
    "Doors with repeated forced or held-open alarms",
    uses=("door_alarm_repeats",),
)
def door_alarms(ctx: Context) -> Iterator[Proposed]:
    repeats = int(ctx.thresholds["door_alarm_repeats"])
    for door, counts in queries.door_alarm_counts(
        ctx.site, _DOOR_ALARMS, ctx.period_start, ctx.period_end
    ):
        total = sum(counts.values())
        if total < repeats:
            continue
        forced = counts.get(AlarmKind.FORCED_OPEN, 0)
        held = counts.get(AlarmKind.HELD_OPEN, 0)
        yield Proposed(
            subject=f"door:{door.pk}",
            title=f"Door {door} raised {total} forced or held-open alarms",
            evidence={
                "door": door.code,
                "forced_open": forced,
                "held_open": held,
                "period_start": ctx.period_start.isoformat(),
                "period_end": ctx.period_end.isoformat(),
                "threshold": repeats,
            },
            suggested_treatment=(
                "Check the door's closer, lock and contact; remind staff not to prop it; "
                "review the video of the alarms."
                if held >= forced
                else "Inspect the door and lock for damage, review the video of each forced "
                "opening, and consider a stronger lock or a camera on the door."
            ),
            threat="unauthorised-access",
        )


@rule("insecure-readers", "Readers not on OSDP Secure Channel")
def insecure_readers(ctx: Context) -> Iterator[Proposed]:
    for channel in queries.reader_channels(ctx.site):
        # A reader that never reported, or is offline, says nothing about its channel.
        if not channel.online or channel.secure:
            continue
        reader = channel.reader
        yield Proposed(
            subject=f"reader:{reader.pk}",
            title=f"Reader {reader.code} at door {reader.door} is online without Secure Channel",
            evidence={
                "reader": reader.code,
                "door": reader.door.code,
                "controller": reader.controller.name,
                "reported_at": channel.reported_at.isoformat() if channel.reported_at else "",
            },
            suggested_treatment=(
                "Give the reader its own Secure Channel key (mailwarden edge provision) "
                "so card data cannot be read or replayed on its wires."
            ),
            threat="unauthorised-access",
        )
