"""Every change to access-control data is one function in this package (docs/architecture.md,
rule 1), in the module of its topic:

- ``doors``: edge controllers (enrol, re-key), anti-passback areas, doors and readers
- ``levels``: schedules, holidays and access levels
- ``credentials``: cardholders, credentials and the PIN salt
- ``lockdown``: locking a site down and lifting it
- ``alarms``: acknowledging alarms, alarm thresholds, and the controller watch (a periodic job)
- ``sync``: answering a controller's poll for its rules
- ``ingest``: applying the events a controller delivers

Each takes an explicit actor first, then what it changes by its identifier (a site's code, a
controller's name, a door's or an area's code at its site, or an id) or a typed request naming
things the same way; it finds them after checking the actor, validates, writes, appends to the
ledger and emits its domain event in one transaction. Every change that an edge controller's rules
depend on also moves the site's rules version on (:func:`common.bump_rules`), which is how
controllers learn on their next poll that their rules must be rebuilt.

Callers import the package and name the topic: ``services.credentials.issue_credential(...)``. Who
may do what (``services.MANAGE_ACCESS`` and the others) is defined in ``common`` and named here
too, since views and the API check it before showing a page or a button.
"""

from __future__ import annotations

from mailwarden.access.services import alarms, credentials, doors, ingest, levels, lockdown, sync
from mailwarden.access.services.common import (
    ENROL_CONTROLLERS,
    HANDLE_ALARMS,
    LOCKDOWN,
    MANAGE_ACCESS,
    REVOKE_CREDENTIALS,
    VIEW_ACCESS,
)

__all__ = [
    "ENROL_CONTROLLERS",
    "HANDLE_ALARMS",
    "LOCKDOWN",
    "MANAGE_ACCESS",
    "REVOKE_CREDENTIALS",
    "VIEW_ACCESS",
    "alarms",
    "credentials",
    "doors",
    "ingest",
    "levels",
    "lockdown",
    "sync",
]
