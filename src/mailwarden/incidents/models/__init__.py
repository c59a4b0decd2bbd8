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
from mailwarden.incidents.models.cap import ReceivedAlert, ReceivedOutcome
from mailwarden.incidents.models.casework import (
    AlarmIncident,
    IncidentAssignee,
    IncidentEvidence,
    IncidentLink,
    IncidentTask,
    LinkKind,
)
from mailwarden.incidents.models.delivery import Channel, Delivery, DeliveryStatus, WebhookEndpoint
from mailwarden.incidents.models.exercises import (
    AfterActionReport,
    CorrectiveAction,
    CorrectiveActionStatus,
    Exercise,
    ObjectiveRating,
)
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
    "AfterActionReport",
    "Alarm",
    "AlarmIncident",
    "AlarmOccurrence",
    "AlarmRule",
    "AlarmSource",
    "AlarmState",
    "Answer",
    "Broadcast",
    "BroadcastKind",
    "Channel",
    "CorrectiveAction",
    "CorrectiveActionStatus",
    "Delivery",
    "DeliveryStatus",
    "Exercise",
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
    "ObjectiveRating",
    "Playbook",
    "PlaybookStep",
    "ReceivedAlert",
    "ReceivedOutcome",
    "RollCallAnswer",
    "RuleAction",
    "Severity",
    "StepAction",
    "TimelineEntry",
    "WebhookEndpoint",
]
