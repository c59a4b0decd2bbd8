"""Playbooks: the steps of each incident type's response, copied onto an incident when it opens.

INTERFACE PLACEHOLDER, replaced by the playbooks work before release: ``start_playbook`` is what
opening an incident calls, inside its transaction.
"""

from __future__ import annotations

from mailwarden.core.actor import Actor
from mailwarden.incidents.models import Incident


def start_playbook(actor: Actor, incident: Incident) -> None:
    """Copy the incident type's playbook steps onto the incident (to be written)."""
