"""The site's thresholds for the automatic findings (risk.rules.THRESHOLDS): what a site has set
over the defaults, and setting them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.directory.models import Site
from mailwarden.directory.queries import site_by_code
from mailwarden.risk.models import RiskSitePolicy
from mailwarden.risk.permissions import MANAGE_RISK
from mailwarden.risk.rules import DEFAULTS, THRESHOLDS, Threshold


def site_overrides(site: Site) -> dict[str, Any]:
    """What the site has set, known names only (a name a later version dropped is ignored)."""
    policy = RiskSitePolicy.objects.filter(site=site).first()
    stored = policy.thresholds if policy is not None else {}
    return {k: v for k, v in stored.items() if k in THRESHOLDS}


def thresholds_of(site: Site) -> dict[str, Any]:
    """Every threshold as the site's rules use it: the defaults with the site's own values."""
    return {**DEFAULTS, **site_overrides(site)}


def _checked(spec: Threshold, value: Any) -> float | int | None:
    field = f"thresholds.{spec.name}"
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ServiceError(f"{spec.name} must be a number", field)
    if spec.kind is int:
        if value != int(value):
            raise ServiceError(f"{spec.name} must be a whole number", field)
        value = int(value)
    else:
        value = float(value)
    if not spec.low <= value <= spec.high:
        raise ServiceError(f"{spec.name} must be between {spec.low:g} and {spec.high:g}", field)
    return value


def set_thresholds(actor: Actor, site: Site | str, thresholds: Mapping[str, Any]) -> dict[str, Any]:
    """Set some of the site's thresholds; a value of None puts that one back to its default.
    Returns every threshold as the site now uses it."""
    require(actor, MANAGE_RISK, "setting the automatic findings' thresholds")
    at = site if isinstance(site, Site) else site_by_code(site)
    if not isinstance(thresholds, Mapping):
        raise ServiceError("thresholds must be an object of names and values", "thresholds")
    changes: dict[str, float | int | None] = {}
    for name, value in thresholds.items():
        spec = THRESHOLDS.get(name)
        if spec is None:
            known = ", ".join(sorted(THRESHOLDS))
            raise ServiceError(f"no threshold {name!r}; the thresholds are {known}", "thresholds")
        changes[name] = _checked(spec, value)
    with transaction.atomic():
        policy = RiskSitePolicy.objects.select_for_update().filter(site=at).first()
        current = dict(policy.thresholds) if policy is not None else {}
        for name, value in changes.items():
            if value is None:
                current.pop(name, None)
            else:
                current[name] = value
        now = clock.now()
        if policy is None:
            policy = RiskSitePolicy(site=at)
        policy.thresholds = current
        policy.updated_by = actor.label
        policy.updated_at = now
        policy.save()
        ledger.append(
            actor, "risk.thresholds.changed", "site", at.code, {"changed": changes, "now": current}
        )
    return thresholds_of(at)
