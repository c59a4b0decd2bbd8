"""Site mail holds: while one stands at a site, no item there is handed over to anyone.

An incident's playbook places one when a suspicious item turns up (so nothing that may have been
near it leaves the mailroom), and a security manager releases it once the site is safe. Every
change is one function here, recorded on the ledger in the change's transaction.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.validation import check_text
from mailwarden.custody.models import MailItem, SiteMailHold
from mailwarden.custody.states import OPEN_STATES
from mailwarden.directory.models import Site

# Holding only ever stops hand-overs, so whoever is on duty may do it; lifting it is a decision.
PLACE_HOLDS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.CLERK)
RELEASE_HOLDS = (Role.SECURITY_MANAGER,)
VIEW_HOLDS = (
    Role.SECURITY_MANAGER,
    Role.SECURITY_OPERATOR,
    Role.CLERK,
    Role.SCREENER,
    Role.AUDITOR,
)


class SiteHeld(Conflict):
    """Refusal of a hand-over at a site under a hold; names the hold and its cause."""

    def __init__(self, hold: SiteMailHold) -> None:
        super().__init__(
            f"all mail at {hold.site.name} is held (hold {hold.pk}: {hold.reason}); "
            "nothing there is handed over until a security manager releases the hold",
            "uid",
        )
        self.hold = hold


def items_held_count(site: Site) -> int:
    """How many items at the site a hold stops: every one not yet at the end of its custody."""
    return MailItem.objects.filter(site=site, state__in=[s.value for s in OPEN_STATES]).count()


def standing_holds(site_id: int) -> list[SiteMailHold]:
    return list(
        SiteMailHold.objects.filter(site_id=site_id, released_at__isnull=True)
        .select_related("site")
        .order_by("placed_at", "id")
    )


def refuse_if_held(item: MailItem) -> None:
    """Raise :class:`SiteHeld` when a hold stands at the item's site (called by hand-overs)."""
    hold = (
        SiteMailHold.objects.filter(site_id=item.site_id, released_at__isnull=True)
        .select_related("site")
        .order_by("placed_at", "id")
        .first()
    )
    if hold is not None:
        raise SiteHeld(hold)


def _site(code: str) -> Site:
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site {code!r}", "site")
    return site


def place_site_hold(actor: Actor, site: str, *, reason: str, ref: str = "") -> SiteMailHold:
    """Hold every item at the site with code ``site``. ``ref`` names the cause (``incident:12``);
    a second hold for the same cause while the first stands is refused."""
    require(actor, PLACE_HOLDS, "holding a site's mail")
    at = _site(site)
    reason = check_text(reason, "reason", max_length=300, required=True)
    ref = check_text(ref, "ref", max_length=100)
    with transaction.atomic():
        if ref and SiteMailHold.objects.filter(site=at, ref=ref, released_at__isnull=True).exists():
            raise Conflict(f"mail at {at.name} is held for {ref} already", "site")
        try:
            with transaction.atomic():
                hold = SiteMailHold.objects.create(
                    site=at, reason=reason, ref=ref, placed_at=clock.now(), placed_by=actor.label
                )
        except IntegrityError:
            raise Conflict(f"mail at {at.name} is held for {ref} already", "site") from None
        # Lock every open item at the site: a hand-over under way (it holds its item's lock)
        # finishes first, and one that starts now waits and then sees this hold.
        items = len(
            MailItem.objects.select_for_update()
            .filter(site=at, state__in=[s.value for s in OPEN_STATES])
            .values_list("pk", flat=True)
        )
        ledger.append(
            actor,
            "custody.site_hold.placed",
            "site",
            at.code,
            {"hold": hold.pk, "reason": reason, "ref": ref, "items": items},
        )
    return hold


def release_site_hold(actor: Actor, hold_id: int, *, reason: str = "") -> SiteMailHold:
    """Lift a hold; items at the site can be handed over again once no other hold stands."""
    require(actor, RELEASE_HOLDS, "releasing a site's mail hold")
    reason = check_text(reason, "reason", max_length=300)
    with transaction.atomic():
        hold = (
            SiteMailHold.objects.select_for_update()
            .filter(pk=hold_id)
            .select_related("site")
            .first()
        )
        if hold is None:
            raise NotFound(f"no site mail hold {hold_id}", "hold_id")
        if hold.released_at is not None:
            raise Conflict(
                f"hold {hold.pk} was released by {hold.released_by} at "
                f"{hold.released_at:%Y-%m-%d %H:%M} UTC",
                "hold_id",
            )
        hold.released_at, hold.released_by, hold.release_reason = (
            clock.now(),
            actor.label,
            reason,
        )
        hold.save(update_fields=["released_at", "released_by", "release_reason"])
        ledger.append(
            actor,
            "custody.site_hold.released",
            "site",
            hold.site.code,
            {"hold": hold.pk, "reason": reason, "ref": hold.ref},
        )
    return hold
