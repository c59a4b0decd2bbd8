"""What the access services share: their checks of the actor and of input, the site's rules
version, and who may speak for a controller. For the services in this package only: views and the
API read a site's rule state with :func:`mailwarden.access.queries.site_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mailwarden.access.models import AccessController, SiteRules
from mailwarden.contracts.events import AccessRulesChanged
from mailwarden.core import ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.directory.models import Site

# Who may do what. Admin passes every check (Actor.has).
MANAGE_ACCESS = (Role.SECURITY_MANAGER,)
# Revoking only ever takes access away, so the operator on duty can do it for a lost card.
REVOKE_CREDENTIALS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
LOCKDOWN = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
HANDLE_ALARMS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
VIEW_ACCESS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR)
# Enrolling a controller issues a device token, which only an administrator may do.
ENROL_CONTROLLERS: tuple[Role, ...] = ()

MAX_DB_INT = 2**31 - 1


def _refuse_devices(actor: Actor, what: str) -> None:
    # Device tokens carry an operator's role so they can sync; that must not let a stolen
    # controller's token change rules or lock a site down.
    if actor.kind == "device":
        raise Forbidden(f"{what} is not for a device token", "Authorization")


def authorise(actor: Actor, what: str, roles: Sequence[Role] = MANAGE_ACCESS) -> None:
    _refuse_devices(actor, what)
    require(actor, roles, what)


def check_seconds(value: int, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(f"must be a whole number of seconds from {low} to {high}", field_name)
    return value


def check_choice(value: str, choices: type[Any], field_name: str) -> str:
    if value not in choices.values:
        raise ServiceError(
            f"unknown value {value!r}; choose one of {', '.join(choices.values)}", field_name
        )
    return value


def check_aware(value: datetime | None, field_name: str) -> datetime | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ServiceError("must carry a time zone or UTC offset", field_name)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ServiceError("is outside the range of dates that can be stored", field_name) from None


# ----------------------------------------------------------------------------- rule versions


def site_rules(site: Site, *, lock: bool = False) -> SiteRules:
    """The site's rule state, made with its defaults on first use."""
    query = SiteRules.objects.select_for_update() if lock else SiteRules.objects
    rules, _ = query.get_or_create(site=site)
    return rules


def bump_rules(site: Site) -> int:
    """Move the site's rules version on; every controller there rebuilds on its next poll."""
    rules = site_rules(site, lock=True)
    rules.version += 1
    rules.save(update_fields=["version"])
    return rules.version


def rule_changed(
    actor: Actor,
    site: Site,
    event: type[AccessRulesChanged],
    subject_type: str,
    subject_id: str,
    **data: Any,
) -> None:
    """The tail of every rule change: version bump, domain event, ledger entry.

    ``event`` is the change's model in the catalogue and ``data`` its own fields, as JSON values
    (a time in ISO format: the model parses it); the ledger entry is named after the event's topic
    and records the same fields.
    """
    version = bump_rules(site)
    payload = {"site": site.code, "rules_version": version, **data}
    outbox.emit(event(subject=f"{subject_type}:{subject_id}", **payload))
    # Last, because the ledger's head stays locked until the commit.
    ledger.append(actor, event.TOPIC, subject_type, subject_id, payload)


def speaks_for(actor: Actor, controller: str, what: str) -> None:
    """Only the controller itself (or an administrator's job) may speak for controller
    ``controller`` (its name)."""
    if actor.kind == "device":
        if actor.name != controller:
            raise Forbidden(f"device {actor.name!r} is not controller {controller}", None)
        return
    require(actor, (), what)


def controller_with_site(name: str, *, lock: bool = False) -> AccessController:
    """Controller ``name`` with its site; with ``lock``, locked for the rest of the transaction."""
    query = AccessController.objects.select_for_update() if lock else AccessController.objects
    controller = query.select_related("site").filter(name=name).first()
    if controller is None:
        raise NotFound(f"no controller {name!r}", "controller")
    return controller
