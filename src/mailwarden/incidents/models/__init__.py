"""The incidents app's tables, one module per topic (as NetBox's ``dcim.models``)."""

from mailwarden.incidents.models.alarms import (
    Alarm,
    AlarmOccurrence,
    AlarmRule,
    AlarmSource,
    AlarmState,
    RuleAction,
    Severity,
)
from mailwarden.incidents.models.broadcasts import (
    Answer,
    Broadcast,
    BroadcastKind,
    RollCallAnswer,
)
from mailwarden.incidents.models.delivery import Channel, Delivery, DeliveryStatus
from mailwarden.incidents.models.incidents import (
    ActionStatus,
    ExerciseType,
    Incident,
    IncidentSeverity,
    IncidentState,
    IncidentStep,
    IncidentType,
    Playbook,
    PlaybookStep,
    StepAction,
    TimelineEntry,
)

__all__ = [
    "ActionStatus",
    "Alarm",
    "AlarmOccurrence",
    "AlarmRule",
    "AlarmSource",
    "AlarmState",
    "Answer",
    "Broadcast",
    "BroadcastKind",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "ExerciseType",
    "Incident",
    "IncidentSeverity",
    "IncidentState",
    "IncidentStep",
    "IncidentType",
    "Playbook",
    "PlaybookStep",
    "RollCallAnswer",
    "RuleAction",
    "Severity",
    "StepAction",
    "TimelineEntry",
]
