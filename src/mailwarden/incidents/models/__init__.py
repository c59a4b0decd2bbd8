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
from mailwarden.incidents.models.delivery import Channel, Delivery, DeliveryStatus
from mailwarden.incidents.models.incidents import (
    ExerciseType,
    Incident,
    IncidentSeverity,
    IncidentState,
    IncidentType,
)

__all__ = [
    "Alarm",
    "AlarmOccurrence",
    "AlarmRule",
    "AlarmSource",
    "AlarmState",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "ExerciseType",
    "Incident",
    "IncidentSeverity",
    "IncidentState",
    "IncidentType",
    "RuleAction",
    "Severity",
]
