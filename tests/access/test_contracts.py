"""The shared wire models: importable without Django, and the same classes the edge writes."""

from __future__ import annotations

import subprocess
import sys

from mailwarden.contracts import access as contract
from mailwarden.edge import edge_events

CHECK = """
import sys
import mailwarden.contracts.access
print("\\n".join(sorted(m for m in sys.modules if m.split(".")[0] in ("django", "mailwarden"))))
"""


def test_contracts_load_without_django():
    loaded = subprocess.run(
        [sys.executable, "-c", CHECK], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "mailwarden.contracts.access" in loaded
    assert not [m for m in loaded if m == "django" or m.startswith("django.")], loaded
    assert all(
        m.startswith(("mailwarden.contracts", "mailwarden.edge")) or m == "mailwarden"
        for m in loaded
    ), loaded


def test_every_edge_event_type_has_its_model():
    constants = {
        value
        for name, value in vars(edge_events).items()
        if name.isupper() and isinstance(value, str)
    }
    assert set(contract.EVENT_MODELS) == constants
    assert contract.EVENT_MODELS[edge_events.ACCESS_DECISION] is edge_events.AccessDecisionEvent


def test_an_outbox_event_fits_the_envelope():
    from datetime import UTC, datetime

    payload = edge_events.DoorEventRecord(
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC), door_id="dock", kind="opened"
    )
    envelope = contract.EventEnvelope.model_validate(
        {
            "key": "6f1c1f0e-3b8e-4c59-9b8a-2d4f7c1e0a11",
            "type": edge_events.DOOR_EVENT,
            "event": payload.model_dump(mode="json"),
        }
    )
    assert contract.EVENT_MODELS[envelope.type].model_validate(envelope.event) == payload
