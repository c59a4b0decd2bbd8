"""Locking a whole site down, and lifting it."""

from __future__ import annotations

from django.db import transaction

from mailwarden.access import queries
from mailwarden.access.models import SiteRules
from mailwarden.access.services.common import LOCKDOWN, authorise, rule_changed, site_rules
from mailwarden.contracts import events
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, ServiceError
from mailwarden.core.validation import check_text

# ----------------------------------------------------------------------------- lockdown


def lockdown_site(actor: Actor, site: str, confirm: bool, *, reason: str = "") -> SiteRules:
    """Put every door of the site with code ``site`` in lockdown; only a door's lockdown levels
    still pass.

    Exit (request-to-exit) keeps working at the edge: nobody is locked in.
    """
    authorise(actor, "locking a site down", LOCKDOWN)
    at = queries.site_named(site)
    if confirm is not True:
        raise ServiceError(
            f"locking down {at.name} refuses every card at every door there; confirm to go ahead",
            "confirm",
        )
    reason = check_text(reason, "reason", max_length=200)
    with transaction.atomic():
        rules = site_rules(at, lock=True)
        if rules.lockdown:
            raise Conflict(f"{at.name} is in lockdown already", "site")
        rules.lockdown, rules.lockdown_at = True, clock.now()
        rules.lockdown_by, rules.lockdown_reason = actor.label, reason
        rules.save(update_fields=["lockdown", "lockdown_at", "lockdown_by", "lockdown_reason"])
        rule_changed(actor, at, events.LockdownStarted, "site", at.code, reason=reason)
    rules.refresh_from_db()
    return rules


def lift_lockdown(actor: Actor, site: str, *, reason: str = "") -> SiteRules:
    authorise(actor, "lifting a lockdown", LOCKDOWN)
    at = queries.site_named(site)
    reason = check_text(reason, "reason", max_length=200)
    with transaction.atomic():
        rules = site_rules(at, lock=True)
        if not rules.lockdown:
            raise Conflict(f"{at.name} is not in lockdown", "site")
        since = rules.lockdown_at
        rules.lockdown, rules.lockdown_at, rules.lockdown_by, rules.lockdown_reason = (
            False,
            None,
            "",
            "",
        )
        rules.save(update_fields=["lockdown", "lockdown_at", "lockdown_by", "lockdown_reason"])
        rule_changed(
            actor,
            at,
            events.LockdownLifted,
            "site",
            at.code,
            reason=reason,
            since=since.isoformat() if since else None,
        )
    rules.refresh_from_db()
    return rules
