"""Builders for the escalation tests: people by role, schedules and policies through the
services, and incidents opened and moved as the incidents service announces them (their
catalogue events through the real outbox and handlers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from mailwarden.contracts.events import IncidentOpened, IncidentStateChanged
from mailwarden.core import clock, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.models import Site
from mailwarden.incidents.models import Delivery, Incident
from mailwarden.incidents.services import escalation as services
from tests.factories import ADMIN
from tests.incidents.conftest import deliver

PASSWORD = "Correct-Horse-9-Battery"
BOSS = Actor("user", "boss", frozenset({Role.SECURITY_MANAGER}), user_id=None)


def person(username: str, role: Role = Role.SECURITY_OPERATOR, *, email: bool = True) -> User:
    user = create_user(
        ADMIN,
        username,
        password=PASSWORD,
        roles=[role.value],
        email=f"{username}@example.org" if email else "",
        check_password=False,
    )
    assert isinstance(user, User)
    return user


def as_actor(user: User) -> Actor:
    return Actor.for_user(user)


def target(kind: str, value: Any = None, **kw: Any) -> services.TargetRequest:
    if kind == "user":
        return services.TargetRequest(kind="user", user_id=value.pk)
    if kind == "role":
        return services.TargetRequest(kind="role", role=value, role_scope=kw.get("scope", "all"))
    if kind == "schedule":
        return services.TargetRequest(kind="schedule", schedule_id=value.pk)
    return services.TargetRequest(kind=kind, address=value)


def policy(
    name: str,
    levels: Sequence[tuple[Sequence[services.TargetRequest], int] | tuple[Any, int, int]],
    *,
    repeat: int = 0,
    matches: Sequence[services.MatchRequest] = (services.MatchRequest(),),
    alarm_rules: Sequence[int] = (),
) -> Any:
    return services.create_policy(
        BOSS,
        services.PolicyRequest(
            name=name,
            repeat=repeat,
            levels=[
                services.LevelRequest(
                    targets=list(level[0]),
                    delay_minutes=level[1],
                    quorum=level[2] if len(level) > 2 else 1,
                )
                for level in levels
            ],
            matches=matches,
            alarm_rules=alarm_rules,
        ),
    )


def weekly(name: str, members: Sequence[User], starts_at: datetime, **kw: Any) -> Any:
    return services.create_schedule(
        BOSS,
        services.ScheduleRequest(
            name=name,
            timezone=kw.pop("timezone", "Europe/London"),
            layers=[
                services.LayerRequest(
                    name=kw.pop("layer", "Week"),
                    kind=kw.pop("kind", "weekly"),
                    starts_at=starts_at,
                    members=[m.pk for m in members],
                    **kw,
                )
            ],
        ),
    )


_refs = iter(range(1, 10_000))


def open_incident(
    site: Site,
    *,
    type: str = "suspicious_package",
    severity: int = 1,
    exercise: bool = False,
    title: str = "Parcel with wires",
) -> Incident:
    """Open an incident as the incidents service does: the row and its catalogue event in one
    transaction, then let the outbox deliver it to the handlers."""
    with transaction.atomic():
        incident = Incident.objects.create(
            reference=f"INC-{next(_refs):05d}",
            type=type,
            severity=severity,
            title=title,
            site=site,
            opened_at=clock.now(),
            opened_by="user:mona",
            exercise=exercise,
        )
        outbox.emit(
            IncidentOpened(
                incident=incident.pk,
                reference=incident.reference,
                type=type,
                severity=severity,
                site=site.code,
                title=title,
                exercise=exercise,
            )
        )
    deliver()
    return incident


def move(incident: Incident, state: str) -> None:
    with transaction.atomic():
        previous = incident.state
        Incident.objects.filter(pk=incident.pk).update(state=state)
        outbox.emit(
            IncidentStateChanged(
                incident=incident.pk,
                reference=incident.reference,
                site=incident.site.code,
                previous=previous,
                state=state,
                by="user:mona",
                exercise=incident.exercise,
            )
        )
    deliver()


def run_job() -> int:
    return services.escalation_job(clock.now())


def queued(**filters: Any) -> list[tuple[str, str]]:
    """(channel, address) of the queued messages, oldest first."""
    return list(Delivery.objects.filter(**filters).order_by("id").values_list("channel", "address"))


def webhook_endpoint(name: str) -> None:
    """Register a webhook endpoint where the delivery channels keep a table of them (policies
    may only name known ones); without the table any slug-shaped name is taken."""
    from django.apps import apps

    try:
        model = apps.get_model("incidents", "WebhookEndpoint")
    except LookupError:
        return
    now = clock.now()
    model.objects.get_or_create(
        name=name,
        defaults={"url": "http://127.0.0.1:9/hook", "created_at": now, "updated_at": now},
    )
