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
from mailwarden.incidents.models.casework import (
    AlarmIncident,
    IncidentAssignee,
    IncidentEvidence,
    IncidentLink,
    IncidentTask,
    LinkKind,
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
    "AlarmIncident",
    "AlarmOccurrence",
    "AlarmRule",
    "AlarmSource",
    "AlarmState",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "ExerciseType",
    "Incident",
    "IncidentAssignee",
    "IncidentEvidence",
    "IncidentLink",
    "IncidentSeverity",
    "IncidentState",
    "IncidentStep",
    "IncidentTask",
    "IncidentType",
    "LinkKind",
    "Playbook",
    "PlaybookStep",
    "RuleAction",
    "Severity",
    "StepAction",
    "TimelineEntry",
]
